#!/usr/bin/env python3
"""Writes structure-aware mutants of ONNX models for the fuzz target (scripts/fuzz.sh --mutants).

Byte-level fuzzing mostly breaks the protobuf encoding and stops at the parser; these mutants stay valid
protobuf and break the *model* instead, the way real bad input does: a declared input dim changed (0, 1,
an odd size, a symbol), an element type swapped, an attribute's value pushed out of range, a node input
dropped, renamed to a missing value or repeated, an initializer's data cut short, an opset changed.
The engine must answer each with an error or a result, never a crash.

  fuzz_mutants.py OUT_DIR [MODEL_OR_DIR ...] [--per-model N] [--seed S]

Default models: Debian's ONNX node tests (/usr/include/onnx/backend/test/data/node). Needs the onnx
Python package (Debian's python3-onnx).
"""
import argparse
import copy
import os
import random
import sys

import onnx
from onnx import TensorProto


def models(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in os.walk(p):
                for f in sorted(files):
                    if f.endswith(".onnx"):
                        yield os.path.join(root, f)
        else:
            yield p


ELEM_TYPES = [TensorProto.FLOAT, TensorProto.INT64, TensorProto.INT32, TensorProto.UINT8, TensorProto.INT8,
              TensorProto.BOOL, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.STRING, 0, 999]


def mutate_dim(m, rng):
    vis = [v for v in m.graph.input if v.type.HasField("tensor_type")]
    if not vis:
        return False
    tt = rng.choice(vis).type.tensor_type
    dims = tt.shape.dim
    choice = rng.random()
    if not dims or choice < 0.15:
        tt.shape.dim.add().dim_value = rng.choice([1, 2, 3])  # rank + 1
        return True
    if choice < 0.3:
        del dims[rng.randrange(len(dims))]  # rank - 1
        return True
    d = rng.choice(dims)
    if rng.random() < 0.2:
        d.dim_param = rng.choice(["n", "batch", "seq"])
    else:
        d.dim_value = rng.choice([0, 1, 2, 3, 5, 7, 17])
    return True


def mutate_elem_type(m, rng):
    vis = [v for v in list(m.graph.input) + list(m.graph.output) if v.type.HasField("tensor_type")]
    if not vis:
        return False
    rng.choice(vis).type.tensor_type.elem_type = rng.choice(ELEM_TYPES)
    return True


def mutate_attribute(m, rng):
    attrs = [a for n in m.graph.node for a in n.attribute]
    if not attrs:
        return False
    a = rng.choice(attrs)
    if a.type == onnx.AttributeProto.INT:
        a.i = rng.choice([-(2 ** 40), -5, -2, -1, 0, 1, 2, 3, 7, 2 ** 40])
    elif a.type == onnx.AttributeProto.INTS:
        r = rng.random()
        if r < 0.3 and len(a.ints):
            a.ints[rng.randrange(len(a.ints))] = rng.choice([-3, -1, 0, 1, 9, 2 ** 33])
        elif r < 0.6 and len(a.ints):
            del a.ints[rng.randrange(len(a.ints))]
        else:
            a.ints.append(rng.choice([-1, 0, 1, 4]))
    elif a.type == onnx.AttributeProto.FLOAT:
        a.f = rng.choice([0.0, -1.0, 1e30, float("nan"), float("inf")])
    elif a.type == onnx.AttributeProto.STRING:
        a.s = rng.choice([b"", b"bogus", b"NOTSET", b"SAME_UPPER"])
    elif a.type == onnx.AttributeProto.TENSOR:
        t = a.t
        if t.raw_data:
            t.raw_data = t.raw_data[: len(t.raw_data) // 2]
        elif len(t.dims):
            t.dims[0] = t.dims[0] + 3
        else:
            t.dims.append(4)
    else:
        a.type = onnx.AttributeProto.INT  # a kind mismatch
        a.i = 1
    return True


def mutate_node_inputs(m, rng):
    if not m.graph.node:
        return False
    n = rng.choice(m.graph.node)
    r = rng.random()
    if r < 0.3 and len(n.input):
        del n.input[rng.randrange(len(n.input))]
    elif r < 0.5 and len(n.input):
        n.input[rng.randrange(len(n.input))] = "missing_value"
    elif r < 0.7 and len(n.input):
        n.input[rng.randrange(len(n.input))] = ""
    elif r < 0.85 and len(n.input):
        n.input.append(n.input[0])
    elif len(n.output):
        n.output.append("extra_output")
    else:
        return False
    return True


def mutate_initializer(m, rng):
    inits = list(m.graph.initializer)
    if not inits:
        # Promote an input to a constant with a bad size instead.
        return False
    t = rng.choice(inits)
    r = rng.random()
    if t.raw_data and r < 0.5:
        t.raw_data = t.raw_data[: max(0, len(t.raw_data) - rng.choice([1, 4, len(t.raw_data)]))]
    elif len(t.dims) and r < 0.8:
        t.dims[rng.randrange(len(t.dims))] = rng.choice([0, 1, 1000, 2 ** 31, -1])
    else:
        t.data_type = rng.choice(ELEM_TYPES)
    return True


def mutate_opset(m, rng):
    if not m.opset_import:
        return False
    m.opset_import[0].version = rng.choice([1, 5, 7, 9, 11, 13, 18, 99])
    return True


MUTATORS = [mutate_dim, mutate_dim, mutate_elem_type, mutate_attribute, mutate_attribute, mutate_node_inputs,
            mutate_initializer, mutate_opset]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("models", nargs="*", default=["/usr/include/onnx/backend/test/data/node"])
    ap.add_argument("--per-model", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    written = 0
    for path in models(a.models):
        try:
            base = onnx.load(path, load_external_data=False)
        except Exception:  # noqa: BLE001 - not a model we can mutate
            continue
        # Node tests are DIR/model.onnx: name mutants after DIR.
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem == "model":
            stem = os.path.basename(os.path.dirname(os.path.abspath(path)))
        for i in range(a.per_model):
            m = copy.deepcopy(base)
            # One to three mutations each: a single one is what an exporter bug looks like, a few find
            # interactions.
            done = 0
            for _ in range(rng.choice([1, 1, 2, 3])):
                done += bool(rng.choice(MUTATORS)(m, rng))
            if not done:
                continue
            with open(os.path.join(a.out, f"{stem}-{i}"), "wb") as f:
                f.write(m.SerializeToString())
            written += 1
    print(f"fuzz_mutants: {written} mutants in {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
