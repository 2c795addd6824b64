#!/usr/bin/env python3
"""Write the GEMMs of one BERT layer (x[1, SEQ, H] through 4 x HxH, Hx4H, 4HxH MatMul+bias) as an fp32
model and its ONNX Runtime quantize_dynamic int8 version, for timing fp32 vs int8 in ortkit:

    int8_bench_models.py OUTDIR [--hidden 768] [--seq 128] [--per-channel]
    ORTKIT_INT8_BENCH="OUTDIR/layer_fp32.onnx OUTDIR/layer_int8.onnx" build/tests/test_lib "[.int8-bench]"

Exit 77 when onnxruntime is not installed.
"""
import argparse
import os
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--per-channel", action="store_true")
    a = ap.parse_args()
    try:
        import numpy as np
        import onnx
        from onnx import TensorProto, helper, numpy_helper
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as e:
        print(f"SKIP: onnxruntime/onnx/numpy not available ({e})")
        return 77
    os.makedirs(a.outdir, exist_ok=True)
    rng = np.random.default_rng(1)
    h = a.hidden
    dims = [(h, h)] * 4 + [(h, 4 * h), (4 * h, h)]
    nodes, inits, cur = [], [], "x"
    for i, (k, n) in enumerate(dims):
        w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
        b = (rng.standard_normal(n) * 0.1).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"W{i}"), numpy_helper.from_array(b, f"B{i}")]
        nodes += [helper.make_node("MatMul", [cur, f"W{i}"], [f"mm{i}"], name=f"mm{i}"),
                  helper.make_node("Add", [f"mm{i}", f"B{i}"], [f"y{i}"], name=f"add{i}")]
        cur = f"y{i}"
    g = helper.make_graph(nodes, "bert_layer_gemms",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, a.seq, h])],
                          [helper.make_tensor_value_info(cur, TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    fp32 = os.path.join(a.outdir, "layer_fp32.onnx")
    onnx.save(m, fp32)
    quantize_dynamic(fp32, os.path.join(a.outdir, "layer_int8.onnx"), weight_type=QuantType.QInt8,
                     per_channel=a.per_channel)
    print("wrote", fp32, "and layer_int8.onnx")
    return 0


if __name__ == "__main__":
    sys.exit(main())
