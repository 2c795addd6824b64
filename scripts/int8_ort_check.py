#!/usr/bin/env python3
"""Quantize a tiny MatMul(+bias) model with ONNX Runtime's quantize_dynamic, run it in ONNX Runtime and
in ortkit (`ort-bench verify`), and compare. Exit 0 on agreement, 1 on a mismatch, 77 (skip) when
onnxruntime is not installed.

    int8_ort_check.py ORT_BENCH WORKDIR [--per-channel]
"""
import os
import subprocess
import sys


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    ort_bench, work = sys.argv[1], sys.argv[2]
    per_channel = "--per-channel" in sys.argv[3:]
    try:
        import numpy as np
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as e:
        print(f"SKIP: onnxruntime/onnx/numpy not available ({e})")
        return 77

    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(7)
    k, n = 64, 48
    w = rng.standard_normal((k, n)).astype(np.float32) * 0.2
    b = rng.standard_normal(n).astype(np.float32) * 0.1
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["mm"], name="proj"),
         helper.make_node("Add", ["mm", "B"], ["y"], name="bias")],
        "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    fp32 = os.path.join(work, "tiny_fp32.onnx")
    int8 = os.path.join(work, "tiny_int8.onnx")
    onnx.save(model, fp32)
    quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, per_channel=per_channel)
    ops = sorted({nd.op_type for nd in onnx.load(int8).graph.node})
    print("quantized model ops:", ", ".join(ops))

    x = rng.standard_normal((2, 16, k)).astype(np.float32)
    y = ort.InferenceSession(int8, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    data = os.path.join(work, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    onnx.save_tensor(numpy_helper.from_array(x, "x"), os.path.join(data, "input_0.pb"))
    onnx.save_tensor(numpy_helper.from_array(y, "y"), os.path.join(data, "output_0.pb"))
    # Both engines quantize x the same way up to one rounding step: allow a few quantization steps.
    atol = float(np.abs(y).max()) * 0.02
    r = subprocess.run([ort_bench, "verify", int8, data, "--rtol", "0", "--atol", f"{atol:g}",
                        "--precision", "int8"], capture_output=True, text=True)
    print(r.stdout, r.stderr, sep="")
    return 0 if r.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
