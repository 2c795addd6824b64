#!/usr/bin/env python3
"""Writes the ONNX backend tests of the installed `onnx` Python package (PyPI: newer than Debian's
libonnx-testdata) in the backend-test layout, for tests/backend/backend_main.cpp to run:

    gen_onnx_node_tests.py OUT_DIR      # OUT_DIR/node/<case>/{model.onnx, test_data_set_N/*.pb}
                                        # OUT_DIR/light/<model>/... (the "light" CNNs it ships)

Node cases: the expected outputs come from onnx's own reference implementation, computed here,
offline. Light models (AlexNet, DenseNet-121, Inception v1/v2, ResNet-50, ShuffleNet, SqueezeNet,
VGG-19, ZFNet-512 with small random weights): the input onnx's runner uses (arange(n) / n) and the
output the package stores. Exit 77
(skip) when the onnx package is missing or too old to have the generators.
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
        import numpy as np
        import onnx
        from onnx import TensorProto, numpy_helper
        from onnx.backend.test.case import node
    except ImportError as e:
        print(f"SKIP: the onnx package is not available ({e})")
        return 77
    # The generators compute edge cases on purpose (log(0), float8 overflow): keep the log readable.
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    out = os.path.join(sys.argv[1], "node")
    shutil.rmtree(out, ignore_errors=True)
    cases = node.collect_testcases(None)
    for case in cases:
        d = os.path.join(out, case.name)
        os.makedirs(d)
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        for i, (inputs, outputs) in enumerate(case.data_sets):
            ds = os.path.join(d, f"test_data_set_{i}")
            os.makedirs(ds)
            for kind, values, infos in (("input", inputs, case.model.graph.input),
                                        ("output", outputs, case.model.graph.output)):
                for j, v in enumerate(values):
                    t = infos[j].type
                    if t.HasField("sequence_type"):
                        pb = numpy_helper.from_list(v, infos[j].name)
                    elif t.HasField("optional_type"):
                        pb = numpy_helper.from_optional(v, infos[j].name)
                    elif t.HasField("map_type"):
                        pb = numpy_helper.from_dict(v, infos[j].name)
                    else:
                        pb = v if isinstance(v, TensorProto) else numpy_helper.from_array(v, infos[j].name)
                    with open(os.path.join(ds, f"{kind}_{j}.pb"), "wb") as f:
                        f.write(pb.SerializeToString())
    print(f"onnx {onnx.__version__}: {len(cases)} node test cases in {out}")
    light_src = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
    light_out = os.path.join(sys.argv[1], "light")
    shutil.rmtree(light_out, ignore_errors=True)
    n = 0
    for f in sorted(os.listdir(light_src)) if os.path.isdir(light_src) else []:
        if not f.endswith(".onnx") or not os.path.exists(os.path.join(light_src, f[:-5] + "_output_0.pb")):
            continue
        model = onnx.load(os.path.join(light_src, f))
        d = os.path.join(light_out, f[:-5])
        ds = os.path.join(d, "test_data_set_0")
        os.makedirs(ds)
        shutil.copy(os.path.join(light_src, f), os.path.join(d, "model.onnx"))
        shutil.copy(os.path.join(light_src, f[:-5] + "_output_0.pb"), os.path.join(ds, "output_0.pb"))
        inits = {i.name for i in model.graph.initializer}
        k = 0
        for x in model.graph.input:
            if x.name in inits:
                continue
            shape = tuple(dm.dim_value if dm.HasField("dim_value") else 1 for dm in x.type.tensor_type.shape.dim)
            size = int(np.prod(shape))
            value = (np.arange(size).reshape(shape) / size).astype(np.float32)
            with open(os.path.join(ds, f"input_{k}.pb"), "wb") as fo:
                fo.write(numpy_helper.from_array(value, x.name).SerializeToString())
            k += 1
        n += 1
    print(f"{n} light models in {light_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
