#!/usr/bin/env python3
"""Check the tiny zoo models against ONNX Runtime.

For each tiny zoo model: build it (zoo_dump), run it in ONNX Runtime on seeded inputs at two shapes,
write an ONNX test_data_set from ORT's outputs, and run our engine on it with
`ort-bench verify MODEL DATASET --rtol R --atol A`. Also checks in ORT alone that the folded and
explicit-BatchNormalization variants of resnet-tiny agree (they share weights).

Exit codes: 0 all agree, 1 a disagreement or error, 77 skipped (no onnxruntime, or `ort-bench
verify` not implemented yet). Python: runs under any python3 and re-executes itself with
$ORTKIT_PYTHON, <repo>/.venv/bin/python or /work/venv/bin/python when the current one has no
onnxruntime.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["bert-tiny", "roberta-tiny", "distilbert-tiny", "gpt2-tiny", "resnet-tiny", "resnet-tiny-bn",
        "mobilenet-tiny"]


def ensure_onnxruntime():
    """Import onnxruntime, or re-exec under a Python that has it, or exit 77."""
    try:
        import onnxruntime  # noqa: F401
        import onnx  # noqa: F401
        import numpy  # noqa: F401
        return
    except ImportError:
        pass
    if os.environ.get("ORTKIT_REEXEC"):
        print("SKIP: onnxruntime/onnx/numpy not importable", file=sys.stderr)
        sys.exit(SKIP)
    for py in [os.environ.get("ORTKIT_PYTHON"), os.path.join(REPO, ".venv", "bin", "python"),
               "/work/venv/bin/python"]:
        if py and os.path.isfile(py) and os.access(py, os.X_OK) and \
                os.path.abspath(py) != os.path.abspath(sys.executable):
            ok = subprocess.run([py, "-c", "import onnxruntime, onnx, numpy"], capture_output=True).returncode == 0
            if ok:
                env = dict(os.environ, ORTKIT_REEXEC="1")
                os.execve(py, [py] + sys.argv, env)
    print("SKIP: no Python with onnxruntime (set ORTKIT_PYTHON or run scripts/setup.sh --peers)",
          file=sys.stderr)
    sys.exit(SKIP)


def find_binary(name, explicit):
    if explicit:
        return explicit
    for d in [os.environ.get("ORTKIT_BUILD_DIR"), os.path.join(REPO, "build")]:
        if not d:
            continue
        for sub in ["", "apps", os.path.join("apps", "ort-bench"), "tests", "bin"]:
            p = os.path.join(d, sub, name)
            if os.path.isfile(p) and os.access(p, os.X_OK):
                return p
    return shutil.which(name)


def verb_missing(bench, verb):
    """The reason our engine cannot be checked, or None. The skeleton's placeholder verbs say
    "(not built yet)" in their help."""
    if not bench:
        return "ort-bench not found"
    r = subprocess.run([bench, verb, "--help"], capture_output=True, text=True)
    text = r.stdout + r.stderr
    if r.returncode != 0 or "not built yet" in text or "not implemented" in text:
        return f"`ort-bench {verb}` is not implemented in this build"
    return None


def make_inputs(sess, meta, batch, seq, rng):
    import numpy as np
    vocab = int(meta.get("ortkit.zoo.vocab_size", "1000"))
    feeds = {}
    for i in sess.get_inputs():
        if i.type == "tensor(int64)":
            if i.name == "attention_mask":
                a = np.ones((batch, seq), np.int64)
                if batch > 1:
                    a[-1, seq - seq // 4:] = 0  # a padded row exercises the mask
            elif i.name == "token_type_ids":
                a = np.zeros((batch, seq), np.int64)
                a[:, seq // 2:] = 1
            else:
                a = rng.integers(2, vocab, (batch, seq)).astype(np.int64)
        else:
            shape = [batch if isinstance(d, str) or d is None else d for d in i.shape]
            a = rng.standard_normal(shape).astype(np.float32)
        feeds[i.name] = a
    return feeds


def write_dataset(d, feeds, names, outs):
    from onnx import numpy_helper
    os.makedirs(d, exist_ok=True)
    for k, (n, a) in enumerate(feeds.items()):
        with open(os.path.join(d, f"input_{k}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(a, n).SerializeToString())
    for k, (n, a) in enumerate(zip(names, outs)):
        with open(os.path.join(d, f"output_{k}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(a, n).SerializeToString())


def main():
    ap = argparse.ArgumentParser(description="tiny zoo models: ONNX Runtime vs ortkit")
    ap.add_argument("--zoo-dump", help="path to the zoo_dump helper (default: build dir)")
    ap.add_argument("--ort-bench", help="path to ort-bench (default: build dir)")
    ap.add_argument("--models", nargs="*", default=TINY)
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--atol", type=float, default=1e-4)
    ap.add_argument("--keep", help="keep the models and data sets in this folder")
    ap.add_argument("--golden", help="also copy each model's 2x16 data set (ORT's outputs) to GOLDEN/<name>/"
                                     "test_data_set_0 (how tests/data/zoo was made)")
    args = ap.parse_args()
    ensure_onnxruntime()
    import numpy as np
    import onnx
    import onnxruntime as ort

    zoo_dump = find_binary("zoo_dump", args.zoo_dump)
    bench = find_binary("ort-bench", args.ort_bench)
    if not zoo_dump:
        print("error: zoo_dump not found (build the zoo_dump target or pass --zoo-dump)", file=sys.stderr)
        return 1
    work = args.keep or tempfile.mkdtemp(prefix="zoo_vs_ort_")
    failures, ort_outs = [], {}
    ours_missing = verb_missing(bench, "verify")
    try:
        for name in args.models:
            d = os.path.join(work, name)
            os.makedirs(d, exist_ok=True)
            model = os.path.join(d, "model.onnx")
            subprocess.run([zoo_dump, name, model], check=True)
            onnx.checker.check_model(onnx.load(model), full_check=True)
            so = ort.SessionOptions()
            so.intra_op_num_threads = 1
            sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
            meta = sess.get_modelmeta().custom_metadata_map
            rng = np.random.default_rng(1234)
            out_names = [o.name for o in sess.get_outputs()]
            for k, (batch, seq) in enumerate([(1, 7), (2, 16)]):
                feeds = make_inputs(sess, meta, batch, seq, rng)
                outs = sess.run(None, feeds)
                if not all(np.isfinite(o).all() for o in outs):
                    failures.append(f"{name}: ORT output not finite")
                ort_outs[(name, k)] = outs
                ds = os.path.join(d, f"test_data_set_{k}")
                write_dataset(ds, feeds, out_names, outs)
                if args.golden and (batch, seq) == (2, 16):
                    write_dataset(os.path.join(args.golden, name, "test_data_set_0"), feeds, out_names, outs)
                if ours_missing:
                    continue
                r = subprocess.run([bench, "verify", model, ds, "--rtol", str(args.rtol), "--atol", str(args.atol)],
                                   capture_output=True, text=True)
                text = (r.stdout + r.stderr).strip()
                if r.returncode != 0:
                    failures.append(f"{name} [{batch}x{seq}]: ort-bench verify failed ({r.returncode}): {text[-400:]}")
                else:
                    print(f"ok   {name} [{batch}x{seq}] ours == ORT")
        # The folded and explicit-BN ResNets share weights: ORT must give the same outputs.
        for k in range(2):
            a, b = ort_outs.get(("resnet-tiny", k)), ort_outs.get(("resnet-tiny-bn", k))
            if a is not None and b is not None and not np.allclose(a[0], b[0], rtol=1e-4, atol=1e-5):
                failures.append("resnet-tiny and resnet-tiny-bn disagree in ORT (BN folding in the zoo is wrong)")
    except subprocess.CalledProcessError as e:
        failures.append(f"{e.cmd}: exit {e.returncode}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    if failures:
        return 1
    if ours_missing:
        print(f"SKIP: ORT ran every tiny zoo model fine, but our engine cannot be checked: {ours_missing}")
        return SKIP
    print(f"all {len(args.models)} tiny zoo models agree with ONNX Runtime (rtol {args.rtol}, atol {args.atol})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
