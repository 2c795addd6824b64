#!/usr/bin/env python3
"""Median over rounds of ab.sh's CSVs -> one markdown table: ours vs measured peak vs oneDNN/OpenBLAS."""
import csv, glob, statistics, sys
from collections import defaultdict

out, clock = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "cpu")
ours = defaultdict(list)   # (m,n,k,prec,t) -> [(gops, pct, kernel, b_gbs, mem_gbs)]
peers = defaultdict(list)  # (lib,m,n,k,prec,t) -> [gops]
for f in glob.glob(f"{out}/ours_*.csv"):
    for r in csv.DictReader(open(f)):
        key = (int(r["m"]), int(r["n"]), int(r["k"]), r["precision"], int(r["threads"]))
        ours[key].append((float(r["gops"]), float(r["pct_peak"]), r["kernel"], float(r["b_gbs"]), float(r["mem_gbs_same_size"])))
for f in glob.glob(f"{out}/peer_*.csv"):
    for row in csv.reader(open(f)):
        lib, prec, m, n, k, t = row[0], row[1], int(row[2]), int(row[3]), int(row[4]), int(row[5])
        gops = float(row[9] if clock == "cpu" else row[7])
        peers[(lib, m, n, k, prec, t)].append(gops)

def med(v):
    return statistics.median(v) if v else float("nan")

peer_lib = {"fp32": "onednn_sgemm", "bf16": "onednn_matmul", "int8": "onednn_matmul"}
print(f"| M x N x K | prec | thr | kernel | ours GOP/s | % peak | oneDNN GOP/s | ours/oneDNN | OpenBLAS | B GB/s (mem GB/s) |")
print("|---|---|---|---|---:|---:|---:|---:|---:|---|")
order = ["fp32", "bf16", "int8"]
for key in sorted(ours, key=lambda k: (k[0] <= 16, -k[0] * k[1] * k[2], k[:3], order.index(k[3]) if k[3] in order else 9, k[4])):
    m, n, k, prec, t = key
    v = ours[key]
    g, pct = med([x[0] for x in v]), med([x[1] for x in v])
    dn = med(peers.get((peer_lib[prec], m, n, k, prec, t), []))
    ob = med(peers.get(("openblas_sgemm", m, n, k, prec, t), [])) if prec == "fp32" else float("nan")
    bw = f"{med([x[3] for x in v]):.0f} ({med([x[4] for x in v]):.0f})" if m <= 16 else ""
    ratio = g / dn if dn == dn and dn > 0 else float("nan")
    obs = f"{ob:.0f}" if ob == ob else "-"
    print(f"| {m}x{n}x{k} | {prec} | {t} | {v[0][2]} | {g:.0f} | {pct:.0f}% | {dn:.0f} | {ratio:.2f}x | {obs} | {bw} |")
