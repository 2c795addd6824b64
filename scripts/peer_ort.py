#!/usr/bin/env python3
"""Time a model with our engine (ort-bench) and with ONNX Runtime, interleaved, and print ours/ORT.

    scripts/peer_ort.py bert-base --batch 1 --seq 128 --threads 1 2
    scripts/peer_ort.py model.onnx resnet50 --threads 1 2 4 --precision int8 --json out.json

Models are zoo names or .onnx paths; a zoo name is built once into the zoo cache (the same file
ortkit uses), so both engines run identical bytes. Per point (model, batch, seq, threads) and per
repeat, ours and ORT run back to back, alternating which goes first; each reports the p50 of
--iterations timed runs after --warmup, and the table shows the median over --repeats.

ORT settings: CPUExecutionProvider, intra_op_num_threads = threads, inter_op 1, ORT_SEQUENTIAL,
ORT_ENABLE_ALL; its session is made for each timing and destroyed before ours runs (its idle workers
spin, which took the cores from ours). Ours: `ort-bench run --model M --batch B [--seq S] --precision P --threads T
--warmup W --iterations N --json` (JSON points[].stats.p50_ms / mean_ms).

--precision int8: ORT runs onnxruntime.quantization.quantize_dynamic (QInt8 weights) of the fp32
file. Ours (--ours-int8): `quantize` runs ort-quantize --mode dynamic on the fp32 file and times that
model; `ort-model` times ORT's quantized file; `precision` times the fp32 file with --precision int8.
`auto` (default) is `quantize` when ort-quantize is built, else `precision`.

Exit codes: 0 done; 1 error; 77 skipped: no Python with onnxruntime, or ours cannot run (then the
ORT column is still printed). Runs under any python3: re-executes itself with $ORTKIT_PYTHON,
<repo>/.venv/bin/python or /work/venv/bin/python when the current one has no onnxruntime.
"""
import argparse
import gc
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SKIP = 77
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ensure_onnxruntime():
    """Import onnxruntime, or re-exec under a Python that has it, or exit 77."""
    try:
        import onnxruntime  # noqa: F401
        import numpy  # noqa: F401
        return
    except ImportError:
        pass
    if not os.environ.get("ORTKIT_REEXEC"):
        for py in [os.environ.get("ORTKIT_PYTHON"), os.path.join(REPO, ".venv", "bin", "python"),
                   "/work/venv/bin/python"]:
            if py and os.path.isfile(py) and os.access(py, os.X_OK) and \
                    os.path.abspath(py) != os.path.abspath(sys.executable):
                if subprocess.run([py, "-c", "import onnxruntime, numpy"], capture_output=True).returncode == 0:
                    os.execve(py, [py] + sys.argv, dict(os.environ, ORTKIT_REEXEC="1"))
    print("SKIP: no Python with onnxruntime (set ORTKIT_PYTHON or run scripts/setup.sh --peers)",
          file=sys.stderr)
    sys.exit(SKIP)


def find_binary(name, explicit):
    if explicit:
        return explicit
    for d in [os.environ.get("ORTKIT_BUILD_DIR"), os.path.join(REPO, "build")]:
        if not d:
            continue
        for sub in ["", "apps", os.path.join("apps", name), "tests", "bin"]:
            p = os.path.join(d, sub, name)
            if os.path.isfile(p) and os.access(p, os.X_OK):
                return p
    return shutil.which(name)


def is_placeholder(binary, verb=None):
    """True when the binary (or its verb) is the skeleton's "(not built yet)" placeholder."""
    if not binary:
        return True
    r = subprocess.run([binary] + ([verb] if verb else []) + ["--help"], capture_output=True, text=True)
    text = r.stdout + r.stderr
    return r.returncode != 0 or "not built yet" in text or "not implemented" in text


def resolve_model(model, zoo_dump):
    if os.path.isfile(model):
        return os.path.abspath(model)
    if not zoo_dump:
        sys.exit(f"error: '{model}' is not a file and zoo_dump (to build zoo models) was not found")
    r = subprocess.run([zoo_dump, "--resolve", model], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(r.stderr.strip() or f"error: cannot resolve '{model}'")
    return r.stdout.strip()


def ort_inputs(sess, batch, seq):
    import numpy as np
    rng = np.random.default_rng(0)
    meta = sess.get_modelmeta().custom_metadata_map
    vocab = int(meta.get("ortkit.zoo.vocab_size", "1000"))
    feeds = {}
    for i in sess.get_inputs():
        dims = [batch if k == 0 else seq for k in range(len(i.shape))] if i.type == "tensor(int64)" else \
            [batch if (isinstance(d, str) or d is None) else d for d in i.shape]
        if i.type == "tensor(int64)":
            if i.name == "input_ids":
                feeds[i.name] = rng.integers(2, vocab, dims).astype(np.int64)
            elif i.name == "attention_mask":
                feeds[i.name] = np.ones(dims, np.int64)
            else:
                feeds[i.name] = np.zeros(dims, np.int64)
        elif i.type == "tensor(float)":
            feeds[i.name] = rng.standard_normal(dims).astype(np.float32)
        else:
            sys.exit(f"error: input '{i.name}' has type {i.type}, which this script does not generate")
    return feeds


def is_text_model(path):
    import onnxruntime as ort
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return any(i.type == "tensor(int64)" for i in s.get_inputs())


class OrtRunner:
    """An ORT session that exists only while ORT is timed: its intra-op workers keep spinning after a run,
    and while ours ran beside a live session they took the cores from it (resnet50 on 16 threads of a
    16-vCPU Emerald Rapids: ours 124.6 ms beside ORT's session against 18 ms alone)."""

    def __init__(self, path, threads):
        self.path, self.threads, self.sess = path, threads, None
        self.open()
        self.close()  # a model ORT cannot load fails here, before any timing

    def open(self):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.sess = ort.InferenceSession(self.path, so, providers=["CPUExecutionProvider"])

    def close(self):
        self.sess = None  # destroys the session and joins its thread pool
        gc.collect()

    def time(self, batch, seq, warmup, iterations):
        self.open()
        try:
            return self.timed(batch, seq, warmup, iterations)
        finally:
            self.close()

    def timed(self, batch, seq, warmup, iterations):
        feeds = ort_inputs(self.sess, batch, seq)
        for _ in range(warmup):
            self.sess.run(None, feeds)
        lat = []
        for _ in range(iterations):
            t0 = time.perf_counter()
            self.sess.run(None, feeds)
            lat.append((time.perf_counter() - t0) * 1e3)
        return {"p50": statistics.median(lat), "mean": statistics.fmean(lat)}


class OursRunner:
    """ort-bench run; accepts --json as a stdout flag or as --json FILE (whichever this build has)."""

    def __init__(self, bench):
        self.bench = bench
        self.json_to_file = None  # unknown until the first run

    def time(self, path, precision, batch, seq, threads, warmup, iterations):
        base = [self.bench, "run", "--model", path, "--batch", str(batch), "--precision", precision,
                "--threads", str(threads), "--warmup", str(warmup), "--iterations", str(iterations)]
        if seq:
            base += ["--seq", str(seq)]
        modes = [self.json_to_file] if self.json_to_file is not None else [False, True]
        errors = []
        for to_file in modes:
            with tempfile.TemporaryDirectory() as td:
                out = os.path.join(td, "report.json")
                cmd = base + (["--json", out] if to_file else ["--json"])
                r = subprocess.run(cmd, capture_output=True, text=True)
                try:
                    text = open(out).read() if to_file else r.stdout[r.stdout.index("{"):]
                    report = json.loads(text)
                except (OSError, ValueError):
                    errors.append(f"{shlex.join(cmd)} -> exit {r.returncode}: {(r.stderr or r.stdout).strip()[-300:]}")
                    continue
            self.json_to_file = to_file
            return self.pick(report, batch, seq, threads)
        raise RuntimeError("ort-bench run gave no JSON report:\n  " + "\n  ".join(errors))

    @staticmethod
    def latency(point):
        if point.get("status", "ok") != "ok":
            raise RuntimeError(f"ort-bench point {point.get('model')}: {point.get('status')}: {point.get('reason')}")
        st = point["stats"]
        return {"p50": st["p50_ms"], "mean": st["mean_ms"]}

    @staticmethod
    def pick(report, batch, seq, threads):
        points = report.get("points", [])
        for p in points:
            if p.get("batch") == batch and p.get("threads") == threads and (not seq or p.get("seq") == seq):
                return OursRunner.latency(p)
        if len(points) == 1:
            return OursRunner.latency(points[0])
        raise RuntimeError(f"no point for batch {batch} seq {seq} threads {threads} in the ort-bench report")


def quantize_for_ort(fp32, workdir):
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as e:
        print(f"SKIP: onnxruntime.quantization cannot be imported ({e}); it needs onnx >= 1.13 and "
              "ml_dtypes next to onnxruntime (pip install -U onnx ml_dtypes in that Python)", file=sys.stderr)
        sys.exit(SKIP)
    out = os.path.join(workdir, os.path.basename(fp32).replace(".onnx", "") + ".ort-int8.onnx")
    quantize_dynamic(fp32, out, weight_type=QuantType.QInt8)
    return out


def main():
    ap = argparse.ArgumentParser(description="ours vs ONNX Runtime latency", formatter_class=argparse.RawTextHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("models", nargs="+", help="zoo names or .onnx files")
    ap.add_argument("--batch", type=int, nargs="+", default=[1])
    ap.add_argument("--seq", type=int, nargs="+", default=[128], help="ignored for models without int64 inputs")
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    ap.add_argument("--precision", choices=["fp32", "int8"], default="fp32")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats; the table shows their median")
    ap.add_argument("--ours-int8", choices=["auto", "quantize", "ort-model", "precision"], default="auto")
    ap.add_argument("--quantize-cmd", default="{ort_quantize} --mode dynamic {input} -o {output}",
                    help="how ours quantizes in --ours-int8 quantize mode")
    ap.add_argument("--ort-bench", help="path to ort-bench (default: build dir or PATH)")
    ap.add_argument("--ort-quantize", help="path to ort-quantize (default: build dir or PATH)")
    ap.add_argument("--zoo-dump", help="path to the zoo_dump helper (default: build dir)")
    ap.add_argument("--json", dest="json_out", help="also write the results here as JSON")
    args = ap.parse_args()
    ensure_onnxruntime()
    import onnxruntime as ort

    bench = find_binary("ort-bench", args.ort_bench)
    ours_ok = not is_placeholder(bench, "run")
    if not ours_ok:
        print("note: `ort-bench run` is not available in this build; timing ONNX Runtime only", file=sys.stderr)
    zoo_dump = find_binary("zoo_dump", args.zoo_dump)
    quantizer = find_binary("ort-quantize", args.ort_quantize)
    int8_mode = args.ours_int8
    if int8_mode == "auto":
        int8_mode = "quantize" if not is_placeholder(quantizer) else "precision"

    work = tempfile.mkdtemp(prefix="peer_ort_")
    ours = OursRunner(bench) if ours_ok else None
    rows = []
    try:
        for model in args.models:
            fp32 = resolve_model(model, zoo_dump)
            ort_path, ours_path, ours_prec = fp32, fp32, args.precision
            if args.precision == "int8":
                ort_path = quantize_for_ort(fp32, work)
                if int8_mode == "ort-model":
                    ours_path = ort_path
                elif int8_mode == "quantize" and ours_ok:
                    ours_path = os.path.join(work, "ours-int8.onnx")
                    cmd = args.quantize_cmd.format(ort_quantize=quantizer, input=shlex.quote(fp32),
                                                   output=shlex.quote(ours_path))
                    subprocess.run(cmd, shell=True, check=True)
            seqs = args.seq if is_text_model(fp32) else [0]
            for threads in args.threads:
                runner = OrtRunner(ort_path, threads)
                for batch in args.batch:
                    for seq in seqs:
                        o_p50, r_p50, o_mean, r_mean = [], [], [], []
                        for rep in range(args.repeats):
                            order = ["ours", "ort"] if rep % 2 == 0 else ["ort", "ours"]
                            for who in order:
                                if who == "ort":
                                    t = runner.time(batch, seq or 1, args.warmup, args.iterations)
                                    r_p50.append(t["p50"])
                                    r_mean.append(t["mean"])
                                elif ours:
                                    t = ours.time(ours_path, ours_prec, batch, seq, threads, args.warmup,
                                                  args.iterations)
                                    o_p50.append(float(t["p50"]))
                                    o_mean.append(float(t.get("mean", t["p50"])))
                        row = {"model": model, "precision": args.precision, "batch": batch, "seq": seq,
                               "threads": threads, "ort_p50_ms": statistics.median(r_p50),
                               "ort_mean_ms": statistics.median(r_mean), "ort_version": ort.__version__,
                               "repeats": args.repeats, "iterations": args.iterations}
                        if o_p50:
                            row.update(ours_p50_ms=statistics.median(o_p50), ours_mean_ms=statistics.median(o_mean))
                            row["ratio"] = row["ours_p50_ms"] / row["ort_p50_ms"]
                        rows.append(row)
                        print_row(row, header=len(rows) == 1)
    except (RuntimeError, subprocess.CalledProcessError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json_out:
        tmp = args.json_out + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"schema": "ortkit.peer_ort/1", "ours_int8": int8_mode if args.precision == "int8" else None,
                       "rows": rows}, f, indent=2)
        os.replace(tmp, args.json_out)
    if not ours_ok:
        print("SKIP: ours not timed (`ort-bench run` not built); ORT column only")
        return SKIP
    return 0


def print_row(r, header):
    if header:
        print(f"{'model':<18} {'prec':<5} {'batch':>5} {'seq':>5} {'thr':>4} {'ours p50 ms':>12} "
              f"{'ORT p50 ms':>11} {'ours/ORT':>9}")
    ours = f"{r['ours_p50_ms']:12.3f}" if "ours_p50_ms" in r else f"{'n/a':>12}"
    ratio = f"{r['ratio']:9.2f}" if "ratio" in r else f"{'n/a':>9}"
    seq = str(r["seq"]) if r["seq"] else "-"
    print(f"{r['model']:<18} {r['precision']:<5} {r['batch']:>5} {seq:>5} {r['threads']:>4} {ours} "
          f"{r['ort_p50_ms']:11.3f} {ratio}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
