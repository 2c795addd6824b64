#!/usr/bin/env python3
"""Writes ONNX backend-test cases for the narrow element types (float8, float4, int4 / uint4, int2 /
uint2) beyond the onnx package's own suite, with expected outputs from onnx's reference implementation
(ml_dtypes underneath), for tests/backend/backend_main.cpp to run:

    gen_narrow_type_tests.py OUT_DIR    # OUT_DIR/<case>/{model.onnx, test_data_set_0/*.pb}

- Cast between every narrow type and every other type the reference can run, both directions, with
  saturate 1 and 0 for float8 destinations; the inputs hold ties, overflow, subnormals, NaN and Inf.
- QuantizeLinear and DequantizeLinear to / from every quantized type, per tensor, per axis and blocked
  (a last partial block), with random zero points. QuantizeLinear inputs are finite and within int32
  after scaling: the reference's numpy cast of Inf / NaN / huge values to int32 is undefined behaviour.

Exit 77 (skip) when numpy, onnx or ml_dtypes is missing, or onnx is too old (before 1.18: no int2).
"""
import os
import shutil
import sys
import warnings


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    try:
        import ml_dtypes as md
        import numpy as np
        import onnx
        from onnx import TensorProto as TP, helper, numpy_helper
        from onnx.reference import ReferenceEvaluator
        if not hasattr(TP, "INT2"):
            raise ImportError(f"onnx {onnx.__version__} has no INT2")
    except ImportError as e:
        print(f"SKIP: {e}")
        return 77
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    out = sys.argv[1]
    shutil.rmtree(out, ignore_errors=True)
    rng = np.random.default_rng(1)

    def write(name, model, feeds):
        y = ReferenceEvaluator(model).run(None, feeds)[0]
        ds = os.path.join(out, name, "test_data_set_0")
        os.makedirs(ds)
        onnx.save(model, os.path.join(out, name, "model.onnx"))
        for i, (k, v) in enumerate(feeds.items()):
            onnx.save_tensor(numpy_helper.from_array(np.asarray(v), k), os.path.join(ds, f"input_{i}.pb"))
        onnx.save_tensor(numpy_helper.from_array(np.asarray(y), "y"), os.path.join(ds, "output_0.pb"))

    def model(node, inputs, out_type, shape):
        g = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
                              [helper.make_tensor_value_info("y", out_type, shape)])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 25)])
        m.ir_version = 11
        return m

    small_ints = {"INT4": md.int4, "UINT4": md.uint4, "INT2": md.int2, "UINT2": md.uint2}
    narrow = {"FLOAT8E4M3FN": md.float8_e4m3fn, "FLOAT8E4M3FNUZ": md.float8_e4m3fnuz,
              "FLOAT8E5M2": md.float8_e5m2, "FLOAT8E5M2FNUZ": md.float8_e5m2fnuz,
              "FLOAT4E2M1": md.float4_e2m1fn, **small_ints}
    others = {"FLOAT": np.float32, "DOUBLE": np.float64, "FLOAT16": np.float16, "INT8": np.int8,
              "UINT8": np.uint8, "INT32": np.int32, "INT64": np.int64, "UINT64": np.uint64, "BOOL": np.bool_}
    types = {**narrow, **others}
    values = np.concatenate([rng.standard_normal(64) * 50, [0, -0.0, 1e6, -1e6, np.inf, -np.inf, np.nan, 448,
                             464, 465, 57344, 61440, 2.5, 7.5, -8.5, 15.5, 300, 2**-9, 3 * 2**-10]])
    values = values.astype(np.float32)
    n = 0
    for a, b in sorted({(a, b) for a in narrow for b in types if a != b} |
                       {(b, a) for a in narrow for b in types if a != b}):
        finite = np.nan_to_num(values, posinf=0, neginf=0)
        if a in small_ints:  # ml_dtypes converts floats to int4 through int32: go through int64 first
            x = finite.astype(np.int64).astype(types[a])
        elif a in ("INT8", "UINT8", "INT32", "INT64", "UINT64", "BOOL"):
            x = finite.astype(types[a])
        else:
            x = values.astype(types[a])
        for sat in (1, 0) if b.startswith("FLOAT8") else (1,):
            node = helper.make_node("Cast", ["x"], ["y"], to=getattr(TP, b), saturate=sat)
            m = model(node, [("x", getattr(TP, a), [len(x)])], getattr(TP, b), [len(x)])
            try:
                write(f"cast_{a}_to_{b}_saturate{sat}", m, {"x": x})
                n += 1
            except Exception:  # pairs the reference does not implement (int4 <-> uint2 ...)
                shutil.rmtree(os.path.join(out, f"cast_{a}_to_{b}_saturate{sat}"), ignore_errors=True)

    x = (rng.standard_normal((4, 7, 5)) * 20).astype(np.float32)
    x.flat[:5] = [-1e6, 2.5, -3.5, -0.0, 1e6]
    quant = {**narrow, "INT8": np.int8, "UINT8": np.uint8, "INT16": np.int16}
    for name, t in quant.items():
        floats = name.startswith("FLOAT")
        for mode, sshape, attrs in (("tensor", [], {}), ("axis", [7], {"axis": 1}),
                                    ("blocked", [4, 3, 5], {"axis": 1, "block_size": 3})):
            s = np.asarray(rng.random(sshape) * 2 + 0.1, dtype=np.float32)
            if floats:
                zp = np.zeros(sshape, np.float32).astype(t)
            else:
                info = md.iinfo(t) if name in small_ints else np.iinfo(t)
                zp = rng.integers(int(info.min), int(info.max) + 1, size=sshape).astype(t)
            for sat in (1, 0) if name.startswith("FLOAT8") else (1,):
                node = helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["y"], saturate=sat, **attrs)
                m = model(node, [("x", TP.FLOAT, list(x.shape)), ("s", TP.FLOAT, sshape),
                                 ("zp", getattr(TP, name), sshape)], getattr(TP, name), list(x.shape))
                write(f"quantize_{name}_{mode}_saturate{sat}", m, {"x": x, "s": s, "zp": zp})
                q = ReferenceEvaluator(m).run(None, {"x": x, "s": s, "zp": zp})[0]
                node = helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"], **attrs)
                m = model(node, [("q", getattr(TP, name), list(x.shape)), ("s", TP.FLOAT, sshape),
                                 ("zp", getattr(TP, name), sshape)], TP.FLOAT, list(x.shape))
                write(f"dequantize_{name}_{mode}_saturate{sat}", m, {"q": q, "s": s, "zp": zp})
                n += 2
    print(f"onnx {onnx.__version__}: {n} narrow-type cases in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
