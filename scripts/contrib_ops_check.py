#!/usr/bin/env python3
"""ONNX Runtime's transformer-optimizer ops in ortkit, checked against ONNX Runtime itself.

1. Single-node models of com.microsoft Attention (every mask_index form, unidirectional, past/present,
   attention_bias, qkv_hidden_sizes, scale), SkipLayerNormalization and SkipSimplifiedLayerNormalization
   (every optional input and output), EmbedLayerNormalization, Gelu / BiasGelu / FastGelu / QuickGelu,
   SimplifiedLayerNormalization, LayerNormalization at opset 14 (as ORT's optimizer writes it) and ONNX
   Gelu (opset 20), run in ONNX Runtime and in ortkit (`ort-bench verify`).
2. The PyTorch exports in tests/data/torch (BERT, RoBERTa, DistilBERT, GPT-2) passed through
   onnxruntime.transformers.optimizer, compared with torch's own outputs.

    contrib_ops_check.py ORT_BENCH WORKDIR

Exit 0 when every case agrees, 1 on a mismatch, 77 (skip) when onnxruntime is not installed.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_DATA = os.path.join(HERE, "..", "tests", "data", "torch")


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    ort_bench, work = sys.argv[1], sys.argv[2]
    try:
        import numpy as np
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as e:
        print(f"SKIP: onnxruntime/onnx/numpy not available ({e})")
        return 77
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(11)
    failures = []
    F, I32 = TensorProto.FLOAT, TensorProto.INT32

    def verify(name, model_path, data, rtol="1e-4", atol="1e-5"):
        r = subprocess.run([ort_bench, "verify", model_path, data, "--rtol", rtol, "--atol", atol],
                           capture_output=True, text=True)
        ok = r.returncode == 0
        print(f"{'PASS' if ok else 'FAIL'} {name}")
        if not ok:
            print(r.stdout, r.stderr, sep="")
            failures.append(name)

    def check(name, node, inputs, n_out=1, opset=14, ms=True):
        """inputs: list of (name, array or None for an omitted optional input). Outputs are float but
        EmbedLayerNormalization's mask_index."""
        graph_inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
                        for n, a in inputs if a is not None]
        outs = [helper.make_tensor_value_info(o, I32 if o == "mask_index" else F, None)
                for o in node.output[:n_out] if o]
        imports = [helper.make_opsetid("", opset)]
        if ms:
            imports.append(helper.make_opsetid("com.microsoft", 1))
        model = helper.make_model(helper.make_graph([node], name, graph_inputs, outs), opset_imports=imports)
        model.ir_version = 8
        path = os.path.join(work, name + ".onnx")
        onnx.save(model, path)
        feeds = {n: a for n, a in inputs if a is not None}
        ref = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feeds)
        data = os.path.join(work, name)
        os.makedirs(data, exist_ok=True)
        for i, (n, a) in enumerate((n, a) for n, a in inputs if a is not None):
            onnx.save_tensor(numpy_helper.from_array(a, n), os.path.join(data, f"input_{i}.pb"))
        for i, (o, v) in enumerate(zip([o for o in node.output[:n_out] if o], ref)):
            onnx.save_tensor(numpy_helper.from_array(v, o), os.path.join(data, f"output_{i}.pb"))
        verify(name, path, data)

    def f32(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    # ---- Attention
    B, S, Hin, N, hd = 2, 5, 16, 2, 4
    D = N * hd
    x, w, bias = f32(B, S, Hin), f32(Hin, 3 * D, scale=0.3), f32(3 * D, scale=0.1)

    def attention(name, extra_inputs=(), n_out=1, **attrs):
        names = ["x", "w", "bias"] + [n for n, _ in extra_inputs]
        ins = [("x", x), ("w", w), ("bias", bias)] + list(extra_inputs)
        outs = ["y", "present"][:n_out]
        node = helper.make_node("Attention", [n if a is not None else "" for n, a in ins], outs,
                                domain="com.microsoft", num_heads=N, **attrs)
        del names
        check(name, node, ins, n_out=n_out)

    attention("attention_plain")
    attention("attention_mask_end", [("mask", np.array([5, 3], np.int32))])
    attention("attention_mask_end_start", [("mask", np.array([5, 4, 0, 2], np.int32))])
    raw = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], np.int32)
    attention("attention_mask_raw", [("mask", raw)], mask_filter_value=-3.4028234663852886e38)
    attention("attention_mask_3d", [("mask", rng.integers(0, 2, (B, S, S)).astype(np.int32) | np.eye(S, dtype=np.int32))])
    attention("attention_causal", [("mask", raw)], unidirectional=1)
    attention("attention_scale_bias", [("mask", None), ("past", None), ("attn_bias", f32(B, N, S, S))], scale=0.3)
    past = f32(2, B, N, 3, hd)
    attention("attention_past_present", [("mask", np.ones((B, 3 + S), np.int32)), ("past", past)], n_out=2,
              unidirectional=1)
    w2 = f32(Hin, 2 * D + 2 * N, scale=0.3)
    node = helper.make_node("Attention", ["x", "w2", "b2"], ["y"], domain="com.microsoft", num_heads=N,
                            qkv_hidden_sizes=[D, D, 2 * N])
    check("attention_qkv_sizes", node, [("x", x), ("w2", w2), ("b2", f32(2 * D + 2 * N))])

    # ---- SkipLayerNormalization / SkipSimplifiedLayerNormalization
    H = 24
    inp, skip, gamma, beta, sbias = f32(2, 3, H), f32(2, 3, H), f32(H), f32(H), f32(H)
    for name, ins, outs in [
        ("skip_ln_full", [("i", inp), ("s", skip), ("g", gamma), ("b", beta), ("bb", sbias)], ["y", "m", "v", "sum"]),
        ("skip_ln_plain", [("i", inp), ("s", skip), ("g", gamma)], ["y"]),
        ("skip_ln_sum_only", [("i", inp), ("s", skip), ("g", gamma), ("b", None), ("bb", sbias)], ["y", "", "", "sum"]),
        ("skip_ln_broadcast", [("i", inp), ("s", f32(1, 3, H)), ("g", gamma), ("b", beta)], ["y"]),
    ]:
        node = helper.make_node("SkipLayerNormalization", [n if a is not None else "" for n, a in ins], outs,
                                domain="com.microsoft", epsilon=1e-5)
        check(name, node, ins, n_out=len(outs))
    node = helper.make_node("SkipSimplifiedLayerNormalization", ["i", "s", "g", "bb"], ["y", "", "", "sum"],
                            domain="com.microsoft", epsilon=1e-6)
    check("skip_simplified_ln", node, [("i", inp), ("s", skip), ("g", gamma), ("bb", sbias)], n_out=4)
    node = helper.make_node("SimplifiedLayerNormalization", ["i", "g"], ["y"], epsilon=1e-6, axis=-1)
    check("simplified_ln", node, [("i", inp), ("g", gamma)], ms=False)
    node = helper.make_node("LayerNormalization", ["i", "g", "b"], ["y"], epsilon=1e-5, axis=-1)
    check("layer_norm_opset14", node, [("i", inp), ("g", gamma), ("b", beta)], ms=False)

    # ---- EmbedLayerNormalization
    V, P, T = 30, 8, 2
    ids = rng.integers(0, V, (2, 6)).astype(np.int32)
    seg = rng.integers(0, T, (2, 6)).astype(np.int32)
    mask = np.array([[1] * 6, [1] * 4 + [0] * 2], np.int32)
    emb = [("we", f32(V, H)), ("pe", f32(P, H)), ("se", f32(T, H)), ("g", gamma), ("b", beta)]
    node = helper.make_node("EmbedLayerNormalization", ["ids", "seg", "we", "pe", "se", "g", "b", "mask"],
                            ["y", "mask_index", "sum"], domain="com.microsoft", epsilon=1e-12)
    check("embed_ln_full", node, [("ids", ids), ("seg", seg)] + emb + [("mask", mask)], n_out=3)
    node = helper.make_node("EmbedLayerNormalization", ["ids", "", "we", "pe", "", "g", "b"], ["y", "mask_index"],
                            domain="com.microsoft")
    check("embed_ln_no_segment", node, [("ids", ids), ("seg", None), ("we", emb[0][1]), ("pe", emb[1][1]),
                                        ("se", None), ("g", gamma), ("b", beta)], n_out=2)
    pos_ids = np.array([[2, 3, 4, 5, 6, 7]], np.int32)
    node = helper.make_node("EmbedLayerNormalization", ["ids", "seg", "we", "pe", "se", "g", "b", "", "pos"],
                            ["y", "mask_index"], domain="com.microsoft")
    check("embed_ln_position_ids", node, [("ids", ids), ("seg", seg)] + emb + [("mask", None), ("pos", pos_ids)],
          n_out=2)

    # ---- GELU family
    a = f32(3, 4, 20, scale=3.0)
    gb = f32(20)
    for op, ins, attrs in [("Gelu", [("a", a)], {}), ("BiasGelu", [("a", a), ("gb", gb)], {}),
                           ("FastGelu", [("a", a), ("gb", gb)], {}), ("FastGelu", [("a", a)], {}),
                           ("QuickGelu", [("a", a)], {"alpha": 1.5})]:
        node = helper.make_node(op, [n for n, _ in ins], ["y"], domain="com.microsoft", **attrs)
        check(f"ms_{op.lower()}_{len(ins)}", node, ins)
    for approx in ["none", "tanh"]:
        node = helper.make_node("Gelu", ["a"], ["y"], approximate=approx)
        check(f"onnx_gelu_{approx}", node, [("a", a)], opset=20, ms=False)

    # ---- whole models: torch exports through ORT's transformer optimizer
    try:
        from onnxruntime.transformers.optimizer import optimize_model
    except ImportError as e:
        print(f"(onnxruntime.transformers not importable: {e}; model cases skipped)")
        optimize_model = None
    if optimize_model:
        for name, kind in [("bert_tiny", "bert"), ("roberta_tiny", "bert"), ("distilbert_tiny", "bert"),
                           ("gpt2_tiny", "gpt2")]:
            src = os.path.join(TORCH_DATA, name)
            m = optimize_model(os.path.join(src, "model.onnx"), model_type=kind, num_heads=2, hidden_size=64,
                               opt_level=0)
            ops = sorted({f"{n.domain}.{n.op_type}" for n in m.model.graph.node if n.domain})
            out = os.path.join(work, name + "_ort_optimized.onnx")
            m.save_model_to_file(out)
            print(f"{name}: ORT-optimized graph has {', '.join(ops)}")
            verify(f"{name}_ort_optimized", out, os.path.join(src, "test_data_set_0"))

    print(f"{len(failures)} failure(s)" + (": " + ", ".join(failures) if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
