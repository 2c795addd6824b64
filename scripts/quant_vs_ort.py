#!/usr/bin/env python3
"""ONNX Runtime as the oracle for ort-quantize.

For small fp32 models (MatMul, Gemm+bias, Conv, a tiny CNN classifier) it
  1. computes activation ranges with ONNX Runtime (intermediates added as graph outputs, min/max over
     the calibration samples) and writes them as a --ranges JSON and the samples as test_data_set_*,
  2. runs ort-quantize in every mode and format (dynamic s8/u8/per-channel/reduce-range, static QDQ
     u8/s8/per-channel, static QOperator),
  3. checks that ONNX Runtime loads every model it wrote, that the model passes onnx.checker, and that
     ORT's int8 outputs are close to ORT's fp32 outputs (cosine similarity).

--engine adds our engine: ort-quantize calibrates with ortkit::Session (its --dump-ranges must match
ORT's ranges) and reports accuracy measured by our engine (it must match ORT's within a tolerance).

Exit 0 pass, 1 fail, 77 skip (no onnxruntime). Finds a Python with onnxruntime: this one, $ORTKIT_PYTHON,
or .venv in the repository root.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77


def reexec_with_modules():
    """Re-runs this script under a Python that has the modules it needs (onnx only for --cli-only)."""
    mods = "onnx, numpy" if "--cli-only" in sys.argv else "onnxruntime, onnx, numpy"
    try:
        exec("import " + mods)
        return
    except ImportError:
        pass
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for py in (os.environ.get("ORTKIT_PYTHON"), os.path.join(root, ".venv", "bin", "python"), "/usr/bin/python3"):
        if py and os.path.exists(py) and os.path.realpath(py) != os.path.realpath(sys.executable):
            r = subprocess.run([py, "-c", "import " + mods], capture_output=True)
            if r.returncode == 0:
                os.execv(py, [py] + sys.argv)
    print(f"quant_vs_ort: SKIP: no Python with {mods} (scripts/setup.sh --peers)")
    sys.exit(SKIP)


reexec_with_modules()

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

if "--cli-only" not in sys.argv:
    import onnxruntime as ort  # noqa: E402


def init(rng, name, shape, scale=0.5):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def model(nodes, inputs, outputs, inits, opset=13):
    g = helper.make_graph(nodes, "g", inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def build_models():
    rng = np.random.default_rng(0)
    ms = {}
    # An MLP: MatMul + Add + Relu, then Gemm(transB) with bias -> [batch, classes] logits.
    ms["mlp"] = model(
        [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
         helper.make_node("Add", ["h", "b1"], ["hb"], name="fc1_bias"),
         helper.make_node("Relu", ["hb"], ["r"], name="relu"),
         helper.make_node("Gemm", ["r", "w2", "b2"], ["logits"], name="fc2", transB=1)],
        [vi("x", ["batch", 32])], [vi("logits", ["batch", 10])],
        [init(rng, "w1", (32, 64)), init(rng, "b1", (64,)), init(rng, "w2", (10, 64)), init(rng, "b2", (10,))])
    # A tiny CNN classifier: Conv+Relu, Conv+Relu, GlobalAveragePool, Flatten, Gemm.
    ms["cnn"] = model(
        [helper.make_node("Conv", ["img", "c1w", "c1b"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
         helper.make_node("Conv", ["r1", "c2w", "c2b"], ["c2"], name="conv2", pads=[1, 1, 1, 1], strides=[2, 2]),
         helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
         helper.make_node("GlobalAveragePool", ["r2"], ["gap"], name="gap"),
         helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
         helper.make_node("Gemm", ["flat", "fcw", "fcb"], ["probs"], name="fc", transB=1)],
        [vi("img", [1, 3, 16, 16])], [vi("probs", [1, 5])],
        [init(rng, "c1w", (8, 3, 3, 3)), init(rng, "c1b", (8,)), init(rng, "c2w", (16, 8, 3, 3)),
         init(rng, "c2b", (16,)), init(rng, "fcw", (5, 16)), init(rng, "fcb", (5,))])
    # MatMul on a 3-D activation (transformer-like [batch, seq, hidden]).
    ms["seq"] = model(
        [helper.make_node("MatMul", ["hs", "wq"], ["q"], name="proj"),
         helper.make_node("Tanh", ["q"], ["t"], name="act"),
         helper.make_node("MatMul", ["t", "wo"], ["out"], name="out_proj")],
        [vi("hs", [1, "seq", 16])], [vi("out", [1, "seq", 8])],
        [init(rng, "wq", (16, 24)), init(rng, "wo", (24, 8))])
    return ms


def samples(m, n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        feed = {}
        for i in m.graph.input:
            dims = [d.dim_value if d.HasField("dim_value") else (1 if k == 0 else 12)
                    for k, d in enumerate(i.type.tensor_type.shape.dim)]
            feed[i.name] = rng.standard_normal(dims).astype(np.float32)
        out.append(feed)
    return out


def write_data(m, feeds, d):
    for k, feed in enumerate(feeds):
        s = os.path.join(d, f"test_data_set_{k}")
        os.makedirs(s)
        for j, i in enumerate(m.graph.input):
            t = numpy_helper.from_array(feed[i.name], i.name)
            with open(os.path.join(s, f"input_{j}.pb"), "wb") as f:
                f.write(t.SerializeToString())


def ort_ranges(path, feeds):
    """Min/max of every node output (and graph input) over the samples, computed by ONNX Runtime."""
    m = onnx.load(path)
    names = [i.name for i in m.graph.input]
    existing = {o.name for o in m.graph.output}
    for n in m.graph.node:
        for o in n.output:
            names.append(o)
            if o not in existing:
                m.graph.output.append(helper.make_tensor_value_info(o, TensorProto.FLOAT, None))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    outs = [o.name for o in sess.get_outputs()]
    r = {}
    for feed in feeds:
        vals = dict(zip(outs, sess.run(None, feed)))
        vals.update(feed)
        for n in names:
            v = vals[n]
            lo, hi = float(v.min()), float(v.max())
            r[n] = [min(lo, r[n][0]), max(hi, r[n][1])] if n in r else [lo, hi]
    return r


def cosine(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    d = np.linalg.norm(a) * np.linalg.norm(b)
    return 1.0 if d == 0 else float(a @ b / d)


CONFIGS = [
    ("dyn_s8", ["--mode", "dynamic"], 0.995),
    ("dyn_u8", ["--mode", "dynamic", "--weight-type", "u8"], 0.995),
    ("dyn_s8_pc", ["--mode", "dynamic", "--per-channel"], 0.995),
    ("dyn_rr", ["--mode", "dynamic", "--reduce-range", "--per-channel"], 0.99),
    ("qdq_u8", ["--mode", "static"], 0.99),
    ("qdq_s8_pc", ["--mode", "static", "--activation-type", "s8", "--per-channel"], 0.99),
    ("qdq_sym", ["--mode", "static", "--symmetric-activations", "--per-channel"], 0.99),
    ("qop_u8", ["--mode", "static", "--format", "qoperator"], 0.99),
    ("qop_u8_pc", ["--mode", "static", "--format", "qoperator", "--per-channel"], 0.99),
    ("qop_s8", ["--mode", "static", "--format", "qoperator", "--activation-type", "s8", "--per-channel"], 0.99),
    ("keepfl", ["--mode", "dynamic", "--keep-first-last"], 0.995),
]


def cli_checks(binary, work):
    """Error paths and atomic output of the CLI; needs only the onnx module (no runtime)."""
    failures = []
    m = build_models()["mlp"]
    fp32 = os.path.join(work, "cli.onnx")
    onnx.save(m, fp32)
    garbage = os.path.join(work, "garbage.onnx")
    with open(garbage, "wb") as f:
        f.write(b"this is not a protobuf \xff\xfe")
    opset9 = os.path.join(work, "opset9.onnx")
    old = onnx.ModelProto()
    old.CopyFrom(m)
    old.opset_import[0].version = 9
    onnx.save(old, opset9)
    out = os.path.join(work, "out.onnx")

    def run(args, want_rc, what, msg=None):
        if os.path.exists(out):
            os.remove(out)
        r = subprocess.run([binary] + args, capture_output=True, text=True)
        ok = r.returncode == want_rc if isinstance(want_rc, int) else r.returncode in want_rc
        err_lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        if not ok:
            failures.append(f"{what}: exit {r.returncode}, expected {want_rc}: {r.stderr.strip()}")
        elif r.returncode == 2:
            if len(err_lines) != 1 or not err_lines[0].startswith("ort-quantize: error:"):
                failures.append(f"{what}: expected one 'ort-quantize: error:' line, got {r.stderr!r}")
            if msg and msg not in r.stderr:
                failures.append(f"{what}: message lacks {msg!r}: {r.stderr.strip()}")
            if os.path.exists(out):
                failures.append(f"{what}: left a partial output file")
        leftovers = [f for f in os.listdir(work) if ".tmp" in f]
        if leftovers:
            failures.append(f"{what}: left temporary files {leftovers}")
        print(f"cli: {what}: exit {r.returncode}")
        return r

    run([fp32, "-o", out, "--mode", "fast"], 2, "bad --mode", "--mode")
    run([fp32, "-o", out, "--weight-type", "s4"], 2, "bad --weight-type", "s4")
    run([fp32, "-o", out, "--op-types", "Attention"], 2, "unsupported --op-types", "Attention")
    run([fp32, "-o", out, "--calibrate", "magic", "--mode", "static"], 2, "bad --calibrate", "magic")
    run([os.path.join(work, "missing.onnx"), "-o", out], 2, "missing model", "missing.onnx")
    run([garbage, "-o", out, "--no-eval"], 2, "garbage model", "not a valid ONNX model")
    run([opset9, "-o", out, "--no-eval"], 2, "opset too old", "opset 9")
    run([fp32, "-o", os.path.join(work, "no_such_dir", "o.onnx"), "--no-eval"], 2, "output folder missing",
        "does not exist")
    run([fp32, "-o", out, "--mode", "static", "--calibration-data", os.path.join(work, "nodata")], 2,
        "missing calibration folder", "nodata")
    bad_ranges = os.path.join(work, "bad_ranges.json")
    with open(bad_ranges, "w") as f:
        f.write('{"x": [0, 1]}')
    run([fp32, "-o", out, "--mode", "static", "--ranges", bad_ranges, "--no-eval"], 2, "range missing",
        "no calibration range")
    run([fp32, "-o", out, "--min-cosine", "1.5"], (1, 2), "unreachable --min-cosine fails")
    r = run([fp32, "-o", out, "--no-eval", "--report", os.path.join(work, "r.json")], 0, "dynamic ok")
    if r.returncode == 0:
        if "2 quantized" not in r.stdout:
            failures.append(f"dynamic ok: report text lacks '2 quantized': {r.stdout}")
        rep = json.load(open(os.path.join(work, "r.json")))
        if rep.get("schema") != "ortkit.quantize/1" or rep["size_bytes"]["after"] <= 0:
            failures.append(f"dynamic ok: bad JSON report {rep}")
        onnx.checker.check_model(onnx.load(out))
    r = run([fp32, "-o", out, "--no-eval", "--exclude-nodes", "fc1", "--exclude-ops", "Gemm"], 0, "exclusions")
    if r.returncode == 0 and "excluded by --exclude-nodes" not in r.stdout:
        failures.append(f"exclusions: no reason in {r.stdout}")
    r = run([fp32, "-o", out, "--no-eval", "--exclude-nodes", "fc_typo"], 0, "unknown excluded node warns")
    if "no MatMul/Gemm/Conv node named 'fc_typo'" not in r.stderr:
        failures.append(f"unknown excluded node: no warning in {r.stderr!r}")
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="ort-quantize executable")
    ap.add_argument("--engine", action="store_true", help="also check our engine (calibration and evaluation)")
    ap.add_argument("--keep", help="keep the work folder here")
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--cli-only", action="store_true", help="only the CLI's error paths (needs onnx, not ORT)")
    a = ap.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix="quant_vs_ort_")
    os.makedirs(work, exist_ok=True)
    if a.cli_only:
        failures = cli_checks(a.bin, work)
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        for f in failures:
            print("FAIL:", f)
        return 1 if failures else 0
    failures = []
    checked = 0
    for mname, m in build_models().items():
        fp32 = os.path.join(work, mname + ".onnx")
        onnx.save(m, fp32)
        calib, evals = samples(m, a.samples, 1), samples(m, 4, 2)
        data = os.path.join(work, mname + "_data")
        shutil.rmtree(data, ignore_errors=True)
        write_data(m, calib, data)
        eval_data = os.path.join(work, mname + "_eval")
        shutil.rmtree(eval_data, ignore_errors=True)
        write_data(m, evals, eval_data)
        ranges = ort_ranges(fp32, calib)
        rfile = os.path.join(work, mname + "_ranges.json")
        with open(rfile, "w") as f:
            json.dump(ranges, f)
        ref = ort.InferenceSession(fp32, providers=["CPUExecutionProvider"])
        for cname, flags, min_cos in CONFIGS:
            out = os.path.join(work, f"{mname}_{cname}.onnx")
            rep = out + ".json"
            static = "static" in flags
            cmd = [a.bin, fp32, "-o", out, "--report", rep] + flags
            if static:
                cmd += ["--calibration-data", data] if a.engine else ["--ranges", rfile]
            if a.engine and static:
                cmd += ["--dump-ranges", out + ".ranges.json"]
            # The engine measures accuracy on the same inputs as ORT does below.
            cmd += ["--eval-data", eval_data] if a.engine else ["--no-eval"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            tag = f"{mname}/{cname}"
            if r.returncode != 0:
                failures.append(f"{tag}: ort-quantize exit {r.returncode}: {r.stderr.strip()}")
                continue
            try:
                q = onnx.load(out)
                onnx.checker.check_model(q)
                sess = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
            except Exception as e:  # noqa: BLE001
                failures.append(f"{tag}: ONNX Runtime / checker rejected the model: {e}")
                continue
            report = json.load(open(rep))
            candidates = len(report["nodes"])
            expect = max(0, candidates - 2) if "--keep-first-last" in flags else candidates
            if report["quantized_nodes"] != expect:
                failures.append(f"{tag}: {report['quantized_nodes']} nodes quantized, expected {expect}")
            ops = {n.op_type for n in q.graph.node}
            want = ({"DynamicQuantizeLinear"} if not static else
                    {"QLinearMatMul", "QLinearConv"} if "qoperator" in flags else {"QuantizeLinear", "DequantizeLinear"})
            if expect and not ops & want:
                failures.append(f"{tag}: expected one of {sorted(want)} in {sorted(ops)}")
            worst = 1.0
            for feed in evals:
                for x, y in zip(ref.run(None, feed), sess.run(None, feed)):
                    worst = min(worst, cosine(x, y))
            checked += 1
            status = "ok" if worst >= min_cos else "FAIL"
            print(f"{tag:24s} {report['quantized_nodes']} nodes  ORT cosine {worst:.6f}  {status}")
            if worst < min_cos:
                failures.append(f"{tag}: ORT int8 vs fp32 cosine {worst:.6f} < {min_cos}")
            if a.engine:
                failures += engine_checks(tag, report, worst, ranges, out + ".ranges.json" if static else None)
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL:", f)
    print(f"quant_vs_ort: {checked} models checked, {len(failures)} failures")
    return 1 if failures or checked == 0 else 0


def engine_checks(tag, report, ort_cos, ranges, dumped):
    """Our engine vs ONNX Runtime: the same calibration ranges, the same accuracy."""
    out = []
    acc = report.get("accuracy", {})
    if "outputs" not in acc:
        return [f"{tag}: engine evaluation missing: {acc.get('skipped')}"]
    ours = min(o["cosine"] for o in acc["outputs"])
    if abs(ours - ort_cos) > 0.01:
        out.append(f"{tag}: engine cosine {ours:.6f} vs ORT {ort_cos:.6f}")
    if dumped:
        for k, (lo, hi) in json.load(open(dumped)).items():
            rl, rh = ranges[k]
            tol = 1e-3 * max(1.0, abs(rl), abs(rh))
            if abs(lo - rl) > tol or abs(hi - rh) > tol:
                out.append(f"{tag}: range of {k}: engine [{lo}, {hi}] vs ORT [{rl}, {rh}]")
    return out


if __name__ == "__main__":
    sys.exit(main())
