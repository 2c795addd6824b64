#!/usr/bin/env python3
"""Median over rounds of ab.sh's CSVs -> one markdown table: ours vs measured peak vs oneDNN/OpenBLAS.
GOP/s columns are medians over rounds; ratios are medians of per-round ratios (see paired_ratio)."""
import csv, glob, re, statistics, sys
from collections import defaultdict

out, clock = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "cpu")
ours = defaultdict(list)   # (m,n,k,prec,t) -> [(gops, pct, kernel, b_gbs, mem_gbs)]
peers = defaultdict(list)  # (lib,m,n,k,prec,t) -> [gops]
# Per round, for the ratios: ours and a peer's point of the same round ran back to back.
ours_r, peers_r = {}, {}
def round_of(f):
    return re.search(r"_r(\d+)\.csv$", f).group(1)
any_cold = False
for f in glob.glob(f"{out}/ours_*.csv"):
    for r in csv.DictReader(open(f)):
        key = (int(r["m"]), int(r["n"]), int(r["k"]), r["precision"], int(r["threads"]))
        # B from memory (--cold-b: a ring of copies) streams against the DRAM read, not a cached read of its size.
        cold = int(r.get("b_copies") or 1) > 1
        any_cold = any_cold or cold
        mem = float(r["dram_gbs"] if cold else r["mem_gbs_same_size"])
        ours[key].append((float(r["gops"]), float(r["pct_peak"]), r["kernel"], float(r["b_gbs"]), mem))
        ours_r[key + (round_of(f),)] = float(r["gops"])
for f in glob.glob(f"{out}/peer_*.csv"):
    for row in csv.reader(open(f)):
        lib, prec, m, n, k, t = row[0], row[1], int(row[2]), int(row[3]), int(row[4]), int(row[5])
        gops = float(row[9] if clock == "cpu" else row[7])
        peers[(lib, m, n, k, prec, t)].append(gops)
        peers_r[(lib, m, n, k, prec, t, round_of(f))] = gops

def med(v):
    return statistics.median(v) if v else float("nan")

verdicts = defaultdict(int)

def paired_ratio(key, lib):
    """Median over rounds of ours / peer within a round: this box's timings move between rounds (2-thread
    ones jump between two levels), so a ratio of two medians can pair a fast round with a slow one.
    With 4+ rounds the quartiles of those per-round ratios follow in brackets: a cell whose lower quartile
    is above 1 is a lead, one whose upper quartile is below 1 a loss, anything else parity."""
    pk = lambda kr: (lib,) + kr[:3] + (peer_prec(kr[3]),) + kr[4:]
    r = [g / peers_r[pk(kr)] for kr, g in ours_r.items() if kr[:5] == key and peers_r.get(pk(kr), 0) > 0]
    if len(r) < 4:
        return f"{med(r):.2f}x"
    q1, _, q3 = statistics.quantiles(r, n=4)
    verdicts[(f"{key[3]} vs {lib}", "lead" if q1 > 1 else "loss" if q3 < 1 else "parity")] += 1
    return f"{med(r):.2f}x [{q1:.2f}-{q3:.2f}]"

peer_lib = {"fp32": "onednn_sgemm", "bf16": "onednn_matmul", "bf16a": "onednn_matmul", "int8": "onednn_matmul"}
# bf16 (ours rounds fp32 A) also against oneDNN given fp32 A (reorder to bf16 + matmul): the same work.
# bf16a (ours given bf16 A, gemm_bf16) against oneDNN given bf16 A: the same inputs.
def peer_prec(prec):
    return "bf16" if prec == "bf16a" else prec
print(f"| M x N x K | prec | thr | kernel | ours GOP/s | % peak | oneDNN GOP/s | ours/oneDNN | oneDNN fp32 A | ours/that | OpenBLAS | B GB/s ({'dram' if any_cold else 'mem'} GB/s) |")
print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
order = ["fp32", "bf16", "bf16a", "int8"]
for key in sorted(ours, key=lambda k: (k[0] <= 16, -k[0] * k[1] * k[2], k[:3], order.index(k[3]) if k[3] in order else 9, k[4])):
    m, n, k, prec, t = key
    v = ours[key]
    g, pct = med([x[0] for x in v]), med([x[1] for x in v])
    dn = med(peers.get((peer_lib[prec], m, n, k, peer_prec(prec), t), []))
    ob = med(peers.get(("openblas_sgemm", m, n, k, prec, t), [])) if prec == "fp32" else float("nan")
    bw = f"{med([x[3] for x in v]):.0f} ({med([x[4] for x in v]):.0f})" if m <= 16 else ""
    ratio = paired_ratio(key, peer_lib[prec])
    obs = f"{ob:.0f}" if ob == ob else "-"
    fa = med(peers.get(("onednn_matmul_f32a", m, n, k, prec, t), [])) if prec == "bf16" else float("nan")
    fas = f"{fa:.0f} | {paired_ratio(key, 'onednn_matmul_f32a')}" if fa == fa and fa > 0 else "- | -"
    print(f"| {m}x{n}x{k} | {prec} | {t} | {v[0][2]} | {g:.0f} | {pct:.0f}% | {dn:.0f} | {ratio} | {fas} | {obs} | {bw} |")
if verdicts:
    print()
    for what in sorted({w for w, _ in verdicts}):
        print(f"{what}: " + ", ".join(f"{verdicts[(what, v)]} {v}" for v in ("lead", "parity", "loss")) +
              " (per-round ratio quartiles above 1, straddling 1, below 1)")
