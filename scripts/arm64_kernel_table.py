#!/usr/bin/env python3
"""Inner-loop table of the arm64 GEMM micro-kernels, read from the cross-built objects.

For each entry of kernels/arm64/registry_arm64.cpp it disassembles the kernel function
(aarch64-linux-gnu-objdump -d), finds its inner K loop (the backward branch whose body holds the most
multiply-accumulate instructions), counts MAC instructions, 128-bit load beats, other vector and scalar
instructions, and estimates the fraction of peak on Neoverse N1 / V1 / V2 (Graviton2 / 3 / 4) with a
simple throughput model:

    cycles per iteration >= max(MAC instrs / MAC pipes, load beats / load pipes,
                                vector instrs / vector pipes, instrs / issue width, MAC latency)

MAC latency counts because every accumulator is updated once per iteration (a dependency chain).
Throughputs and latencies come from the Arm Software Optimization Guides as encoded in LLVM's
scheduling models (see THROUGHPUT below and kernels/arm64/README.md for the sources). Qemu timings are
never used: this is a static estimate of what the instruction mix allows, not a measurement.

Usage: scripts/arm64_kernel_table.py [--build build-arm64] [--update kernels/arm64/README.md]
"""
import argparse
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OBJDUMP = os.environ.get("OBJDUMP", "aarch64-linux-gnu-objdump")

# The cores, what they support (ortkit Feature names) and their SVE vector length.
CORES = {
    "N1 (Graviton2)": {"features": {"asimd", "asimddp"}, "sve_bits": 0,
                       "load_beats": 2, "vec_pipes": 2, "issue": 4},
    "V1 (Graviton3)": {"features": {"asimd", "asimddp", "i8mm", "bf16", "sve"}, "sve_bits": 256,
                       "load_beats": 3, "vec_pipes": 4, "issue": 8},
    "V2 (Graviton4)": {"features": {"asimd", "asimddp", "i8mm", "bf16", "sve", "sve2"}, "sve_bits": 128,
                       "load_beats": 3, "vec_pipes": 4, "issue": 8},
}
# MAC instruction -> per core (instructions per cycle, latency in cycles). Keys "fmla" (NEON .4s) and
# "fmla_z" (SVE) differ because V1 runs SVE FMLA on 2 x 256-bit pipes but NEON FMLA on 4 x 128-bit.
THROUGHPUT = {
    "fmla":   {"N1 (Graviton2)": (2, 4), "V1 (Graviton3)": (4, 4), "V2 (Graviton4)": (4, 4)},
    "fmla_z": {"V1 (Graviton3)": (2, 4), "V2 (Graviton4)": (4, 4)},
    "sdot":   {"N1 (Graviton2)": (2, 3), "V1 (Graviton3)": (4, 3), "V2 (Graviton4)": (4, 3)},
    "smmla":  {"V1 (Graviton3)": (4, 3), "V2 (Graviton4)": (4, 3)},
    "usmmla": {"V1 (Graviton3)": (4, 3), "V2 (Graviton4)": (4, 3)},
    "bfmmla": {"V1 (Graviton3)": (4, 5), "V2 (Graviton4)": (4, 6)},
    "smlal":  {"N1 (Graviton2)": (1, 4), "V1 (Graviton3)": (2, 4), "V2 (Graviton4)": (2, 4)},
    "smlal2": {"N1 (Graviton2)": (1, 4), "V1 (Graviton3)": (2, 4), "V2 (Graviton4)": (2, 4)},
}
# Best multiply-accumulate rate of the core for the kernel's data type (MACs per cycle).
DTYPE_PEAK = {
    "f32":  {"N1 (Graviton2)": 8, "V1 (Graviton3)": 16, "V2 (Graviton4)": 16},     # FMLA
    "bf16": {"N1 (Graviton2)": 8, "V1 (Graviton3)": 64, "V2 (Graviton4)": 64},    # FMLA on N1, else BFMMLA
    "int8": {"N1 (Graviton2)": 32, "V1 (Graviton3)": 128, "V2 (Graviton4)": 128},  # SDOT / SMMLA
}
FEATURE_MASKS = {"kNeon": {"asimd"}, "kDot": {"asimd", "asimddp"}, "kI8mm": {"asimd", "i8mm"},
                 "kBf16": {"asimd", "bf16"}, "kSve": {"asimd", "sve"}}


def macs_per_instr(mnemonic, operands, vl_bits):
    if mnemonic == "fmla":
        return (vl_bits // 32) if operands.startswith("z") else 4
    return {"sdot": 16, "smmla": 32, "usmmla": 32, "bfmmla": 16, "smlal": 4, "smlal2": 4}.get(mnemonic, 0)


def read_registry():
    """The GemmKernel entries of registry_arm64.cpp (positional aggregate initializers)."""
    src = open(os.path.join(ROOT, "kernels/arm64/registry_arm64.cpp")).read()
    src = re.sub(r"/\*.*?\*/|//[^\n]*", "", src, flags=re.S)
    out = []
    blocks = re.findall(r"GemmKernel\s+\w+\s*\{(.*?)\};", src, flags=re.S)
    for block in blocks:
        f = [x.strip() for x in block.split(",")]
        name, kind, isa, mask, mr, nr, kr, fn = f[:8]
        out.append(dict(name=name.strip('"'), kind=kind.split("::")[1], isa=isa.strip('"'),
                        features=FEATURE_MASKS[mask], mr=int(mr), nr=int(nr), kr=int(kr), fn=fn,
                        sve_bits=int(f[9]) if len(f) > 9 else 0))
    if not out or len(out) != src.count("const GemmKernel k"):
        sys.exit("could not read every kernel entry of registry_arm64.cpp")
    return out


def disassemble(objs):
    """function name -> list of (address, mnemonic, operands)."""
    funcs = {}
    for obj in objs:
        text = subprocess.run([OBJDUMP, "-d", "--no-show-raw-insn", "-C", obj], capture_output=True, text=True,
                              check=True).stdout
        cur = None
        for line in text.splitlines():
            h = re.match(r"^[0-9a-f]+ <(?:ortkit::kernels::)?(\w+)\(", line)
            if h:
                cur = funcs.setdefault(h.group(1), [])
                continue
            m = re.match(r"\s*([0-9a-f]+):\s+(\S+)\s*(.*)", line)
            if m and cur is not None:
                cur.append((int(m.group(1), 16), m.group(2), m.group(3).split("//")[0].strip()))
    return funcs


def inner_loop(funcs, fn, vl_bits):
    body = funcs.get(fn)
    if body is None:
        sys.exit(f"{fn}: not found in the objects (build {fn} first)")
    best = None
    for addr, mn, ops in body:
        t = re.match(r"([0-9a-f]+) <", ops)
        if not t:
            continue
        target = int(t.group(1), 16)
        if mn in ("b", "bl") and "+" not in ops and "<" in ops:  # tail call to another kernel function
            callee = re.search(r"<(?:ortkit::kernels::)?(\w+)\(", ops)
            if mn == "b" and callee and callee.group(1) != fn:
                return inner_loop(funcs, callee.group(1), vl_bits)
        if target < addr and re.match(r"(b|b\.\w+|cbn?z|tbn?z)$", mn):
            loop = [x for x in body if target <= x[0] <= addr]
            macs = sum(1 for x in loop if macs_per_instr(x[1], x[2], vl_bits))
            key = (macs, -len(loop))
            if best is None or key > best[0]:
                best = (key, loop)
    if best is None or best[0][0] == 0:
        sys.exit(f"{fn}: no loop with multiply-accumulate instructions")
    return best[1]


def load_beats(mn, ops):
    if mn == "ldp" and ops.startswith("q"):
        return 2
    if mn in ("ldr", "ldur") and ops[:1] in "qd":
        return 1
    if mn.startswith("ld1"):
        return 1 if ops.startswith("{z") else ops.count(",", 0, ops.find("}")) + 1
    return 0


def analyse(entry, funcs, vl_bits):
    loop = inner_loop(funcs, entry["fn"], vl_bits)
    mac = [x for x in loop if macs_per_instr(x[1], x[2], vl_bits)]
    mac_kinds = sorted({x[1] + ("_z" if x[2].startswith("z") else "") for x in mac})
    loads = sum(load_beats(x[1], x[2]) for x in loop)
    load_instrs = sum(1 for x in loop if load_beats(x[1], x[2]))
    vector_other = sum(1 for x in loop if x not in mac and not load_beats(x[1], x[2])
                       and re.match(r"[vzq]\d", x[2]))
    stack = sum(1 for x in loop if "[sp" in x[2])
    return dict(loop=loop, mac=len(mac), mac_kinds=mac_kinds, macs=sum(macs_per_instr(x[1], x[2], vl_bits) for x in mac),
                loads=loads, load_instrs=load_instrs, vector_other=vector_other,
                scalar=len(loop) - len(mac) - load_instrs - vector_other, stack=stack)


def dtype_of(kind):
    return {"f32": "f32", "bf16": "bf16", "u8s8": "int8", "s8s8": "int8"}[kind]


def estimate(a, core, entry):
    c = CORES[core]
    mk = a["mac_kinds"][0]
    tput, lat = THROUGHPUT[mk][core]
    bounds = {
        "MAC": a["mac"] / tput,
        "load": a["loads"] / c["load_beats"],
        "vector": (a["mac"] + a["vector_other"]) / c["vec_pipes"] if mk != "fmla_z" or core != "V1 (Graviton3)"
        else a["mac"] / tput,
        "issue": len(a["loop"]) / c["issue"],
        "latency": lat,
    }
    limit = max(bounds, key=bounds.get)
    cycles = bounds[limit]
    of_instr = bounds["MAC"] / cycles
    of_dtype = a["macs"] / cycles / DTYPE_PEAK[dtype_of(entry["kind"])][core]
    return cycles, limit, of_instr, of_dtype


def table(build):
    objs = glob.glob(os.path.join(build, "kernels/CMakeFiles/ortkit_k_arm64_*.dir/**/*.o"), recursive=True)
    if not objs:
        sys.exit(f"no arm64 kernel objects under {build} (run scripts/test-arm64.sh first)")
    funcs = disassemble(objs)
    lines = ["| kernel | core | MAC instr | MACs/instr | loop: MAC / load (128-bit beats) / other vector / scalar "
             "instrs | stack refs | MACs/iter | cycles/iter (limit) | % of instr peak | % of dtype peak |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for e in read_registry():
        for core, c in CORES.items():
            if not e["features"] <= c["features"] or (e["sve_bits"] and e["sve_bits"] != c["sve_bits"]):
                continue
            vl = c["sve_bits"] or 128
            a = analyse(e, funcs, vl)
            cycles, limit, of_instr, of_dtype = estimate(a, core, e)
            lines.append(
                f"| {e['name']} | {core} | {', '.join(k.replace('_z', ' (SVE)') for k in a['mac_kinds'])} | "
                f"{a['macs'] // a['mac']} | {a['mac']} / {a['loads']} / {a['vector_other']} / {a['scalar']} | "
                f"{a['stack']} | {a['macs']} | {cycles:.2f} ({limit}) | {100 * of_instr:.0f}% | {100 * of_dtype:.0f}% |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build-arm64"))
    ap.add_argument("--update", help="replace the table between the markers in this markdown file")
    ap.add_argument("--dump", help="print the inner loop of this kernel entry")
    args = ap.parse_args()
    if args.dump:
        objs = glob.glob(os.path.join(args.build, "kernels/CMakeFiles/ortkit_k_arm64_*.dir/**/*.o"), recursive=True)
        e = next(e for e in read_registry() if e["name"] == args.dump)
        for _, mn, ops in inner_loop(disassemble(objs), e["fn"], e["sve_bits"] or 128):
            print(f"  {mn:8s} {ops}")
        return
    t = table(args.build)
    if not args.update:
        print(t)
        return
    begin, end = "<!-- kernel-table:begin -->", "<!-- kernel-table:end -->"
    doc = open(args.update).read()
    if begin not in doc or end not in doc:
        sys.exit(f"{args.update}: markers {begin} / {end} not found")
    new = doc[: doc.index(begin) + len(begin)] + "\n" + t + "\n" + doc[doc.index(end):]
    tmp = args.update + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, args.update)


if __name__ == "__main__":
    main()
