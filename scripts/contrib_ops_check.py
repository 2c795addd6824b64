#!/usr/bin/env python3
"""ONNX Runtime's contrib ops (transformer optimizer, quantize_dynamic, QOperator quantize_static) in
ortkit, checked against ONNX Runtime itself.

1. Single-node models of com.microsoft Attention (every mask_index form, unidirectional, past/present,
   attention_bias, qkv_hidden_sizes, scale) and QAttention, SkipLayerNormalization and
   SkipSimplifiedLayerNormalization (every optional input and output), EmbedLayerNormalization and
   QEmbedLayerNormalization, Gelu / BiasGelu / FastGelu / QuickGelu, SimplifiedLayerNormalization,
   LayerNormalization at opset 14 (as ORT's optimizer writes it) and ONNX Gelu (opset 20), run in ONNX
   Runtime and in ortkit (`ort-bench verify`).
2. The PyTorch exports of scripts/export_models.py (BERT, RoBERTa, DistilBERT, GPT-2) passed through
   onnxruntime.transformers.optimizer, compared with torch's own outputs; and those optimized graphs
   after ORT's quantize_dynamic (QAttention, QEmbedLayerNormalization, MatMulInteger), compared with
   ONNX Runtime running the same int8 model.
3. The QOperator ops (QLinearAdd, QLinearMul, QLinearGlobalAveragePool, QLinearConcat, QLinearSigmoid,
   QLinearLeakyRelu, QGemm) as single nodes, u8 and s8, and the resnet_tiny / mobilenet_tiny exports
   after quantize_static in the QOperator format, against ONNX Runtime.
4. com.microsoft.MatMulNBits single nodes (2/4/8 bits, packed, float and default zero points, bias) and
   BERT after ORT's MatMulNBitsQuantizer, against ONNX Runtime.
5. MultiHeadAttention, GroupQueryAttention and RotaryEmbedding single nodes, and a one-layer decoder in
   the layout of ORT GenAI's model builder (GQA with rotary, MatMulNBits, Skip/SimplifiedLayerNorm).
6. float16 models (ORT's float16 converter over the torch exports and the ORT-optimized BERT), against
   ONNX Runtime running the same float16 model: ortkit computes them in fp32 (narrow_float_compute).

    contrib_ops_check.py ORT_BENCH WORKDIR

Exit 0 when every case agrees, 1 on a mismatch, 77 (skip) when onnxruntime is not installed.
"""
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# The tiny PyTorch exports (scripts/export_models.py), which the test build writes (tests/CMakeLists.txt).
TORCH_DATA = os.environ.get("ORTKIT_TORCH_EXPORTS") or os.path.join(HERE, "..", "build", "torch_exports")


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
    if not os.path.exists(os.path.join(TORCH_DATA, "bert_tiny", "model.onnx")):
        print(f"SKIP: no PyTorch exports in {TORCH_DATA} (Debian's python3-torch: scripts/setup.sh --peers; "
              "/usr/bin/python3 scripts/export_models.py --out DIR writes them)")
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

    def write_data_set(data, feeds, out_names, outputs):
        """An ONNX test_data_set: input_N.pb from feeds (name -> array), output_N.pb from outputs."""
        shutil.rmtree(data, ignore_errors=True)  # no stale input_N.pb from an earlier run
        os.makedirs(data)
        for i, (k, v) in enumerate(feeds.items()):
            onnx.save_tensor(numpy_helper.from_array(v, k), os.path.join(data, f"input_{i}.pb"))
        for i, (o, v) in enumerate(zip(out_names, outputs)):
            onnx.save_tensor(numpy_helper.from_array(v, o), os.path.join(data, f"output_{i}.pb"))

    def check(name, node, inputs, n_out=1, opset=14, ms=True, atol="1e-5", inits=()):
        """inputs: list of (name, array or None for an omitted optional input); those named in `inits`
        become initializers. Outputs are float but EmbedLayerNormalization's mask_index."""
        initializers = [numpy_helper.from_array(a, n) for n, a in inputs if n in inits]
        inputs = [(n, a) for n, a in inputs if n not in inits]
        graph_inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
                        for n, a in inputs if a is not None]
        out_type = {"mask_index": I32}
        if node.op_type in ("QLinearAdd", "QLinearMul", "QLinearGlobalAveragePool", "QLinearConcat",
                            "QLinearSigmoid", "QLinearLeakyRelu", "QLinearSoftmax", "QLinearAveragePool") or (
                                node.op_type == "QGemm" and len(node.input) > 7):
            x0 = next(a for n, a in inputs if n in ("a", "x", "x0"))
            out_type["y"] = helper.np_dtype_to_tensor_dtype(x0.dtype) if node.op_type != "QGemm" else TensorProto.UINT8
        outs = [helper.make_tensor_value_info(o, out_type.get(o, F), None) for o in node.output[:n_out] if o]
        imports = [helper.make_opsetid("", opset)]
        if ms:
            imports.append(helper.make_opsetid("com.microsoft", 1))
        model = helper.make_model(helper.make_graph([node], name, graph_inputs, outs, initializers),
                                  opset_imports=imports)
        model.ir_version = 8
        path = os.path.join(work, name + ".onnx")
        onnx.save(model, path)
        feeds = {n: a for n, a in inputs if a is not None}
        ref = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feeds)
        data = os.path.join(work, name)
        write_data_set(data, feeds, [o for o in node.output[:n_out] if o], ref)
        verify(name, path, data, atol=atol)

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

    # ---- QAttention: u8 input as DynamicQuantizeLinear makes it, s8 or u8 weights, scales per tensor or
    # per column. The int32 sums are exact on both sides; the float rest differs by rounding only.
    xq = rng.integers(0, 256, (B, S, Hin)).astype(np.uint8)
    for wtype, per_col in [(np.int8, False), (np.int8, True), (np.uint8, False)]:
        lo, hi = (-128, 128) if wtype == np.int8 else (0, 256)
        wq = rng.integers(lo, hi, (Hin, 3 * D)).astype(wtype)
        ws = (rng.random(3 * D if per_col else 1) * 0.01 + 0.001).astype(np.float32)
        wz = np.array([0 if wtype == np.int8 else 131], wtype)
        ins = [("xq", xq), ("wq", wq), ("bias", bias), ("xs", np.array([0.02], np.float32)),
               ("ws", ws.reshape(-1) if per_col else ws.reshape(())), ("mask", np.array([5, 3], np.int32)),
               ("xz", np.array(7, np.uint8)), ("wz", wz.reshape(()))]
        node = helper.make_node("QAttention", [n for n, _ in ins], ["y"], domain="com.microsoft", num_heads=N)
        check(f"qattention_{np.dtype(wtype).name}{'_per_column' if per_col else ''}", node, ins, atol="1e-4")

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

    qtabs = []
    for tname, arr in [("we", emb[0][1]), ("pe", emb[1][1]), ("se", emb[2][1]), ("g", gamma), ("b", beta)]:
        sc = float(np.abs(arr).max()) / 127
        qtabs.append((tname + "_q", np.clip(np.round(arr / sc) + 128, 0, 255).astype(np.uint8),
                      np.array(sc, np.float32), np.array(128, np.uint8)))
    q_ins = [("ids", ids), ("seg", seg)] + [(n, q) for n, q, _, _ in qtabs] + [("mask", mask)]
    q_ins += [(n + "_s", sc) for n, _, sc, _ in qtabs] + [(n + "_z", z) for n, _, _, z in qtabs]
    node = helper.make_node("QEmbedLayerNormalization", [n for n, _ in q_ins], ["y", "mask_index"],
                            domain="com.microsoft", epsilon=1e-12)
    check("qembed_ln", node, q_ins, n_out=2, atol="1e-4", inits={n for n, _ in q_ins[2:] if n != "mask"})

    # ---- QOperator-format ops (quantize_static QOperator, the ONNX model zoo's int8 CNNs). Outputs are
    # integers: one quantization step apart is the most ONNX Runtime's vectorized rounding can differ.
    def qt(shape, dtype=np.uint8):
        lo, hi = (0, 256) if dtype == np.uint8 else (-128, 128)
        return rng.integers(lo, hi, shape).astype(dtype)

    def sc(v):
        return np.array(v, np.float32)

    for dt in [np.uint8, np.int8]:
        tag = np.dtype(dt).name
        z = lambda v: np.array(v if dt == np.uint8 else v - 128, dt)  # noqa: E731
        for op in ["QLinearAdd", "QLinearMul"]:
            ins = [("a", qt((2, 3, 4), dt)), ("as", sc(0.05)), ("az", z(120)), ("b", qt((3, 1), dt)),
                   ("bs", sc(0.03)), ("bz", z(131)), ("cs", sc(0.07 if op == "QLinearAdd" else 0.4)), ("cz", z(125))]
            check(f"{op.lower()}_{tag}", helper.make_node(op, [n for n, _ in ins], ["y"], domain="com.microsoft"),
                  ins, atol="1")
        for last in [0, 1]:
            ins = [("x", qt((2, 3, 4, 5), dt)), ("xs", sc(0.05)), ("xz", z(120)), ("ys", sc(0.02)), ("yz", z(128))]
            node = helper.make_node("QLinearGlobalAveragePool", [n for n, _ in ins], ["y"], domain="com.microsoft",
                                    channels_last=last)
            check(f"qlinear_global_avgpool_{tag}_last{last}", node, ins, atol="1")
        ins = [("ys", sc(0.05)), ("yz", z(128)), ("x0", qt((2, 3, 2), dt)), ("x0s", sc(0.05)), ("x0z", z(128)),
               ("x1", qt((2, 1, 2), dt)), ("x1s", sc(0.11)), ("x1z", z(100))]
        check(f"qlinear_concat_{tag}", helper.make_node("QLinearConcat", [n for n, _ in ins], ["y"],
                                                          domain="com.microsoft", axis=1), ins, atol="1")
        for op, attrs in [("QLinearSigmoid", {}), ("QLinearLeakyRelu", {"alpha": 0.1})]:
            ins = [("x", qt((3, 7), dt)), ("xs", sc(0.05)), ("xz", z(128)), ("ys", sc(1 / 256)), ("yz", z(0))]
            check(f"{op.lower()}_{tag}", helper.make_node(op, [n for n, _ in ins], ["y"], domain="com.microsoft",
                                                         **attrs), ins, atol="1")
        yz0 = np.array(0 if dt == np.uint8 else -128, dt)  # probabilities in [0, 1] at scale 1/256
        for shape, opset, axis in [((3, 7), 13, -1), ((2, 3, 5), 13, 1), ((2, 3, 5), 12, 1)]:
            ins = [("x", qt(shape, dt)), ("xs", sc(0.08)), ("xz", np.array(128 if dt == np.uint8 else 0, dt)), ("ys", sc(1 / 256)),
                   ("yz", yz0)]
            check(f"qlinear_softmax_{tag}_opset{opset}_axis{axis}_{len(shape)}d",
                  helper.make_node("QLinearSoftmax", [n for n, _ in ins], ["y"], domain="com.microsoft", axis=axis,
                                   opset=opset), ins, atol="1")
        for attrs in [dict(kernel_shape=[3, 3]), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
                      dict(kernel_shape=[2, 3], pads=[1, 0, 1, 2], count_include_pad=1, ceil_mode=1, strides=[2, 2])]:
            ins = [("x", qt((2, 3, 7, 8), dt)), ("xs", sc(0.05)), ("xz", z(120)), ("ys", sc(0.03)), ("yz", z(110))]
            check(f"qlinear_avgpool_{tag}_{len(attrs)}", helper.make_node("QLinearAveragePool", [n for n, _ in ins], ["y"],
                                                                    domain="com.microsoft", **attrs), ins, atol="1")
    # QGemm: u8 A x s8 B (transB, per-column scales, int32 C, alpha), float and u8 outputs.
    a_q, b_q = qt((3, 10)), qt((6, 10), np.int8)
    c_q = rng.integers(-500, 500, 6).astype(np.int32)
    base = [("a", a_q), ("as", sc(0.02)), ("az", np.array(130, np.uint8)), ("b", b_q),
            ("bs", (rng.random(6) * 0.01 + 0.001).astype(np.float32)), ("bz", np.zeros(6, np.int8)), ("c", c_q)]
    check("qgemm_float", helper.make_node("QGemm", [n for n, _ in base], ["y"], domain="com.microsoft", transB=1,
                                          alpha=0.5), base, atol="1e-4")
    outq = base + [("ys", sc(0.003)), ("yz", np.array(128, np.uint8))]
    check("qgemm_u8", helper.make_node("QGemm", [n for n, _ in outq], ["y"], domain="com.microsoft", transB=1),
          outq, atol="1")

    # ---- ORT's FusedMatMul (alpha * op(A) @ op(B)), MatMulIntegerToFloat, DynamicQuantizeMatMul
    for ta, tb in [(0, 0), (0, 1), (1, 0), (1, 1)]:
        a = f32(2, 3, *((7, 5) if ta else (5, 7)))
        b = f32(3, *((4, 7) if tb else (7, 4)))
        node = helper.make_node("FusedMatMul", ["a", "b"], ["y"], domain="com.microsoft", alpha=0.125, transA=ta,
                                transB=tb)
        check(f"fused_matmul_ta{ta}_tb{tb}", node, [("a", a), ("b", b)])
    node = helper.make_node("FusedMatMul", ["a", "w"], ["y"], domain="com.microsoft", alpha=2.0, transB=1)
    check("fused_matmul_const_b", node, [("a", f32(4, 6)), ("w", f32(5, 6))], inits={"w"})
    ins = [("a", qt((2, 3, 8))), ("b", qt((8, 5), np.int8)), ("as", sc(0.03)), ("bs", (rng.random(5) * 0.01).astype(np.float32)),
           ("az", np.array(120, np.uint8)), ("bz", np.zeros(5, np.int8)), ("bias", f32(5))]
    check("matmul_integer_to_float", helper.make_node("MatMulIntegerToFloat", [n for n, _ in ins], ["y"],
                                                      domain="com.microsoft"), ins, atol="1e-5", inits={"b", "bs", "bz"})
    ins = [("a", f32(4, 8)), ("b", qt((8, 5), np.int8)), ("bs", sc(0.02)), ("bz", np.array(0, np.int8)), ("bias", f32(5))]
    check("dynamic_quantize_matmul", helper.make_node("DynamicQuantizeMatMul", [n for n, _ in ins], ["y"],
                                                      domain="com.microsoft"), ins, atol="1e-4", inits={"b", "bs", "bz"})

    # ---- quantize_dynamic of an LSTM -> com.microsoft.DynamicQuantizeLSTM, which ortkit lowers to an fp32
    # LSTM over the dequantized weights: against ONNX Runtime's fp32 LSTM given those same weights (tight),
    # and against ORT's DynamicQuantizeLSTM, which also quantizes X and H on the fly (loose).
    from onnxruntime.quantization import QuantType, quantize_dynamic
    for dirn, per_ch in [("forward", False), ("bidirectional", False), ("forward", True)]:
        T, Bl, I, Hl = 5, 2, 8, 6
        nd = 2 if dirn == "bidirectional" else 1
        inits = [numpy_helper.from_array(f32(nd, 4 * Hl, I, scale=0.3), "W"),
                 numpy_helper.from_array(f32(nd, 4 * Hl, Hl, scale=0.3), "R"),
                 numpy_helper.from_array(f32(nd, 8 * Hl, scale=0.1), "B")]
        outs = [helper.make_tensor_value_info(o, F, None) for o in ("Y", "Yh", "Yc")]
        lstm = helper.make_model(helper.make_graph(
            [helper.make_node("LSTM", ["x", "W", "R", "B"], ["Y", "Yh", "Yc"], hidden_size=Hl, direction=dirn)], "lstm",
            [helper.make_tensor_value_info("x", F, [T, Bl, I])], outs, inits), opset_imports=[helper.make_opsetid("", 14)])
        lstm.ir_version = 8
        tag = f"dq_lstm_{dirn}" + ("_per_channel" if per_ch else "")
        fp, qp = os.path.join(work, tag + "_fp32.onnx"), os.path.join(work, tag + ".onnx")
        onnx.save(lstm, fp)
        quantize_dynamic(fp, qp, weight_type=QuantType.QInt8, op_types_to_quantize=["LSTM"], per_channel=per_ch)
        qm = onnx.load(qp)
        qi = {t.name: numpy_helper.to_array(t) for t in qm.graph.initializer}
        node = next(n for n in qm.graph.node if n.op_type == "DynamicQuantizeLSTM")

        def deq(w, s, z):  # [dirs, rows, 4H] -> [dirs, 4H, rows], scale per direction or per column
            s = s.reshape(s.shape[0], 1, -1)
            z = z.reshape(z.shape[0], 1, -1).astype(np.float32)
            return ((qi[w].astype(np.float32) - z) * s).transpose(0, 2, 1).astype(np.float32)

        wd = deq(node.input[1], qi[node.input[8]], qi[node.input[9]])
        rd = deq(node.input[2], qi[node.input[10]], qi[node.input[11]])
        x = f32(T, Bl, I)
        ref_int8 = ort.InferenceSession(qp, providers=["CPUExecutionProvider"]).run(None, {"x": x})
        deq_model = onnx.load(fp)
        for t in deq_model.graph.initializer:
            if t.name in ("W", "R"):
                t.CopyFrom(numpy_helper.from_array(wd if t.name == "W" else rd, t.name))
        ref_deq = ort.InferenceSession(deq_model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
            None, {"x": x})
        for sfx, ref, rtol, atol in [("", ref_deq, "1e-4", "1e-5"), ("_vs_ort_int8", ref_int8, "0", "2e-2")]:
            data = os.path.join(work, tag + sfx)
            write_data_set(data, {"x": x}, ["Y", "Yh", "Yc"], ref)
            verify(tag + sfx, qp, data, rtol=rtol, atol=atol)

    # ---- MultiHeadAttention (BART / T5 / Whisper / ViT graphs of ORT's optimizer): every q/k/v layout,
    # bias, key padding masks, attention_bias, past/present, unidirectional.
    Nm, Hm, Sm, Lm = 2, 4, 5, 6
    Dm = Nm * Hm

    def mha(name, ins, n_out=1, **attrs):
        outs = ["y", "present_key", "present_value"][:n_out]
        node = helper.make_node("MultiHeadAttention", [n if a is not None else "" for n, a in ins], outs,
                                domain="com.microsoft", num_heads=Nm, **attrs)
        check(name, node, ins, n_out=n_out)

    q3, k3, v3 = f32(B, Sm, Dm), f32(B, Lm, Dm), f32(B, Lm, 2 * Dm)
    mha("mha_cross_bsd", [("q", q3), ("k", k3), ("v", v3)])
    mha("mha_bias", [("q", q3), ("k", k3), ("v", f32(B, Lm, Dm)), ("bias", f32(3 * Dm, scale=0.1))])
    # (packed QKV [B, S, N, 3, H] and packed KV [B, L, N, 2, H]: ORT 1.31 has no CPU kernel for them;
    # tests/lib/test_ops_ms_attention.cpp checks them against the unpacked layouts)
    mha("mha_bnsh_kv", [("q", q3), ("k", f32(B, Nm, Lm, Hm)), ("v", f32(B, Nm, Lm, Hm))], n_out=3)
    mha("mha_mask_lengths", [("q", q3), ("k", k3), ("v", v3), ("bias", None), ("m", np.array([6, 3], np.int32))])
    mha("mha_mask_raw", [("q", q3), ("k", k3), ("v", v3), ("bias", None),
                         ("m", rng.integers(0, 2, (B, Lm)).astype(np.int32) | np.eye(1, Lm, dtype=np.int32))])
    mha("mha_mask_3d_bias", [("q", q3), ("k", k3), ("v", v3), ("bias", None),
                             ("m", np.ones((B, Sm, Lm), np.int32)), ("ab", f32(1, Nm, Sm, Lm))], scale=0.4)
    ks = f32(B, Sm, Dm)
    mha("mha_self_past_present", [("q", q3), ("k", ks), ("v", f32(B, Sm, Dm)), ("bias", f32(3 * Dm, scale=0.1)),
                                  ("m", None), ("ab", None), ("pk", f32(B, Nm, 3, Hm)), ("pv", f32(B, Nm, 3, Hm))],
        n_out=3, unidirectional=1)

    # ---- GroupQueryAttention (ORT GenAI decoders): prompt and decode steps, packed QKV, rotary (plain and
    # interleaved), local window, softcap, attention_bias; seqlens_k / total_sequence_length as ORT's
    # generator feeds them.
    Hq, Hkv, Hg = 4, 2, 16  # ORT rotary: "head_size shall be a multiple of 16"

    def gqa(name, S_, past, packed=False, n_out=3, extra=(), B=B, **attrs):
        total = past + S_
        ins = []
        if packed:
            ins.append(("q", f32(B, S_, (Hq + 2 * Hkv) * Hg)))
            ins += [("k", None), ("v", None)]
        else:
            ins += [("q", f32(B, S_, Hq * Hg)), ("k", f32(B, S_, Hkv * Hg)), ("v", f32(B, S_, Hkv * Hg))]
        if past:
            ins += [("pk", f32(B, Hkv, past, Hg)), ("pv", f32(B, Hkv, past, Hg))]
        else:
            ins += [("pk", None), ("pv", None)]
        ins += [("seqlens_k", np.full(B, total - 1, np.int32)), ("total", np.array(total, np.int32))]
        ins += list(extra)
        node = helper.make_node("GroupQueryAttention", [n if a is not None else "" for n, a in ins],
                                ["y", "present_key", "present_value"][:n_out], domain="com.microsoft",
                                num_heads=Hq, kv_num_heads=Hkv, **attrs)
        check(name, node, ins, n_out=n_out, atol="1e-5")

    cos_sin = np.linspace(0, 3, 32 * Hg // 2).reshape(32, Hg // 2)
    cosc, sinc = np.cos(cos_sin).astype(np.float32), np.sin(cos_sin).astype(np.float32)
    gqa("gqa_prompt", 5, 0)
    gqa("gqa_prompt_packed", 5, 0, packed=True)
    gqa("gqa_decode", 1, 4)
    gqa("gqa_chunk_with_past", 3, 4, B=1)  # ORT: "batch_size must be 1 when sequence_length > 1 and past"
    gqa("gqa_prompt_rotary", 5, 0, extra=[("cos", cosc), ("sin", sinc)], do_rotary=1)
    gqa("gqa_decode_rotary_interleaved", 1, 6, extra=[("cos", cosc), ("sin", sinc)], do_rotary=1,
        rotary_interleaved=1)
    gqa("gqa_local_window", 6, 0, local_window_size=3)
    gqa("gqa_softcap_scale", 4, 2, softcap=2.0, scale=0.5, B=1)
    gqa("gqa_smooth_softmax", 5, 0, smooth_softmax=1)
    gqa("gqa_head_sink", 1, 4, extra=[("cos", None), ("sin", None), ("pos", None), ("ab", None),
                                      ("sink", f32(Hq))])  # gpt-oss

    # ---- com.microsoft.RotaryEmbedding (3-D and 4-D input, start offset or position ids, interleaved)
    def rope(name, x, pos, **attrs):
        node = helper.make_node("RotaryEmbedding", ["x", "pos", "cos", "sin"], ["y"], domain="com.microsoft",
                                **attrs)
        check(name, node, [("x", x), ("pos", pos), ("cos", cosc), ("sin", sinc)])

    rope("ms_rotary_3d_start", f32(B, 5, 2 * Hg), np.array([3], np.int64), num_heads=2)
    rope("ms_rotary_4d_ids_interleaved", f32(B, 2, 5, Hg), rng.integers(0, 32, (B, 5)).astype(np.int64),
         interleaved=1)

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
        import sympy  # noqa: F401  (ORT's transformer optimizer needs it for its shape inference)
        from onnxruntime.transformers.optimizer import optimize_model
    except ImportError as e:
        print(f"SKIPPED: ORT's transformer optimizer is not usable ({e}); its model cases are skipped")
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
            if kind != "bert":
                continue
            # ... then ORT's dynamic quantization, against ORT running the same int8 model.
            from onnxruntime.quantization import QuantType, quantize_dynamic
            q = os.path.join(work, name + "_ort_optimized_int8.onnx")
            quantize_dynamic(out, q, weight_type=QuantType.QInt8,
                             extra_options={"DefaultTensorType": TensorProto.FLOAT})
            ops = sorted({f"{n.domain}.{n.op_type}" for n in onnx.load(q).graph.node if n.domain})
            print(f"{name}: after quantize_dynamic: {', '.join(ops)}")
            model = onnx.load(q)
            feeds = {}
            for i, gi in enumerate(model.graph.input):
                t = onnx.load_tensor(os.path.join(src, "test_data_set_0", f"input_{i}.pb"))
                feeds[t.name] = numpy_helper.to_array(t)
            ref = ort.InferenceSession(q, providers=["CPUExecutionProvider"]).run(None, feeds)
            data = os.path.join(work, name + "_int8_data")
            write_data_set(data, feeds, [o.name for o in model.graph.output], ref)
            # Same int8 model, same quantization rule: only float rounding (and the rare activation
            # value it moves across a quantization step) differs.
            verify(f"{name}_ort_optimized_int8", q, data, rtol="1e-3", atol="2e-3")

    # ---- models saved by ONNX Runtime itself at its extended level (com.microsoft FusedMatMul, FusedConv,
    # DynamicQuantizeMatMul, ...: what `benchmark.py -o by_ort` and optimized_model_filepath write).
    saved = [(os.path.join(TORCH_DATA, n, "model.onnx"), n, n) for n in ["bert_tiny", "gpt2_tiny", "resnet_tiny"]]
    saved += [(os.path.join(work, "bert_tiny_ort_optimized_int8.onnx"), "bert_tiny", "bert_tiny_int8")]
    for src, name, tag in saved:
        if not os.path.exists(src):
            continue
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        out = os.path.join(work, tag + "_ort_saved.onnx")
        so.optimized_model_filepath = out
        ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])
        ops = sorted({f"{n.domain}.{n.op_type}" for n in onnx.load(out).graph.node if n.domain})
        print(f"{os.path.basename(out)}: {', '.join(ops)}")
        data_in = os.path.join(TORCH_DATA, name, "test_data_set_0")
        feeds = {}
        for i in range(len(onnx.load(out).graph.input)):
            t = onnx.load_tensor(os.path.join(data_in, f"input_{i}.pb"))
            feeds[t.name] = numpy_helper.to_array(t)
        ref = ort.InferenceSession(out, providers=["CPUExecutionProvider"]).run(None, feeds)
        data = out[:-5] + "_data"
        write_data_set(data, feeds, [o.name for o in onnx.load(out).graph.output], ref)
        int8 = "int8" in src
        verify(os.path.basename(out)[:-5], out, data, rtol="1e-3" if int8 else "1e-4", atol="2e-3" if int8 else "1e-5")

    # ---- CNN exports through ORT's quantize_static in the QOperator format (QLinearConv, QLinearAdd,
    # QLinearGlobalAveragePool, QGemm), against ONNX Runtime running the same model.
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self, name, shape):
            self.name, self.shape, self.i = name, shape, 0

        def get_next(self):
            if self.i >= 4:
                return None
            self.i += 1
            return {self.name: np.random.default_rng(self.i).standard_normal(self.shape).astype(np.float32)}

    for name in ["resnet_tiny", "mobilenet_tiny"]:
        src = os.path.join(TORCH_DATA, name)
        model = onnx.load(os.path.join(src, "model.onnx"))
        inp = model.graph.input[0].name
        x_in = numpy_helper.to_array(onnx.load_tensor(os.path.join(src, "test_data_set_0", "input_0.pb")))
        q = os.path.join(work, name + "_qoperator.onnx")
        quantize_static(os.path.join(src, "model.onnx"), q, Reader(inp, x_in.shape), quant_format=QuantFormat.QOperator,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        ops = sorted({f"{n.domain}.{n.op_type}" for n in onnx.load(q).graph.node if n.domain})
        print(f"{name}: quantize_static QOperator: {', '.join(ops)}")
        ref = ort.InferenceSession(q, providers=["CPUExecutionProvider"]).run(None, {inp: x_in})
        data = os.path.join(work, name + "_qoperator_data")
        write_data_set(data, {inp: x_in}, [o.name for o in onnx.load(q).graph.output], ref)
        # The logits are dequantized from u8: allow two quantization steps of the output.
        step = float(np.abs(ref[0]).max()) / 127
        verify(f"{name}_qoperator", q, data, rtol="0", atol=f"{2 * step:g}")

    # ---- com.microsoft.MatMulNBits (block-quantized LLM weights): single nodes over bits, zero-point forms,
    # a partial last block and bias; then BERT after ORT's MatMulNBitsQuantizer (needs onnx_ir).
    def nbits_case(tag, bits, block, k, n, zp_kind, bias=False, accuracy_level=0, rows=(2, 3), tol="1e-4"):
        blocks, blob = (k + block - 1) // block, block * bits // 8
        q = rng.integers(0, 2 ** bits, (n, blocks * block))
        packed = np.zeros((n, blocks, blob), np.uint8)
        for j in range(block):  # element j of a block: byte j*bits//8, low bits first
            packed[:, :, j * bits // 8] |= (q.reshape(n, blocks, block)[:, :, j] << (j * bits % 8)).astype(np.uint8)
        inits = [numpy_helper.from_array(packed, "B"),
                 numpy_helper.from_array((rng.random(n * blocks) * 0.1 + 0.01).astype(np.float32), "S")]
        ins = ["A", "B", "S"]
        if zp_kind == "u8":
            zq, row = rng.integers(0, 2 ** bits, (n, blocks)), (blocks * bits + 7) // 8
            zp = np.zeros((n, row), np.uint8)
            for b in range(blocks):
                zp[:, b * bits // 8] |= (zq[:, b] << (b * bits % 8)).astype(np.uint8)
            inits.append(numpy_helper.from_array(zp.reshape(-1), "Z"))
            ins.append("Z")
        elif zp_kind == "float":
            inits.append(numpy_helper.from_array((rng.random(n * blocks) * 2 ** bits).astype(np.float32), "Z"))
            ins.append("Z")
        if bias:
            ins += [""] * (5 - len(ins)) + ["bias"]
            inits.append(numpy_helper.from_array(f32(n), "bias"))
        a = f32(*rows, k)
        extra = {"accuracy_level": accuracy_level} if accuracy_level else {}
        node = helper.make_node("MatMulNBits", ins, ["y"], domain="com.microsoft", K=k, N=n, bits=bits,
                                block_size=block, **extra)
        g = helper.make_graph([node], tag, [helper.make_tensor_value_info("A", F, list(a.shape))],
                              [helper.make_tensor_value_info("y", F, None)], inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
                              ir_version=9)
        path = os.path.join(work, tag + ".onnx")
        onnx.save(m, path)
        y = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"A": a})[0]
        data = os.path.join(work, tag + "_data")
        write_data_set(data, {"A": a}, ["y"], [y])
        verify(tag, path, data, rtol=tol, atol=tol)

    for bits in (2, 4, 8):
        for zk in ("none", "u8", "float"):
            if bits == 8 and zk == "float":
                continue  # ONNX Runtime 1.31: "Only 2b and 4b quantization is supported for unpacked compute"
            nbits_case(f"matmul_nbits_b{bits}_{zk}", bits, 16, 40, 6, zk)
    nbits_case("matmul_nbits_b4_block32_bias", 4, 32, 96, 17, "u8", bias=True)
    # accuracy_level 4: A quantized to int8 per block on both sides. With AVX-512 VNNI ours runs the same
    # arithmetic as ONNX Runtime (agreement to float rounding); without it ours stays fp32 (the level is a
    # floor on accuracy), within int8 quantization error of ORT's int8 result.
    with open("/proc/cpuinfo") as f:
        vnni = "avx512_vnni" in f.read()
    for rows in ((1, 1), (1, 3), (2, 8), (5, 8)):
        for zk in ("none", "u8"):
            nbits_case(f"matmul_nbits_b4_acc4_m{rows[0] * rows[1]}_{zk}", 4, 32, 256, 70, zk, bias=zk == "u8",
                       accuracy_level=4, rows=rows, tol="2e-5" if vnni else "2e-2")
    try:
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    except ImportError as e:
        print(f"SKIPPED: ORT's MatMulNBitsQuantizer is not usable ({e}); its model case is skipped")
        MatMulNBitsQuantizer = None
    if MatMulNBitsQuantizer:
        src = os.path.join(TORCH_DATA, "bert_tiny")
        for sym in (True, False):
            qz = MatMulNBitsQuantizer(onnx.load(os.path.join(src, "model.onnx")), block_size=32, is_symmetric=sym)
            qz.process()
            tag = "bert_tiny_nbits_" + ("sym" if sym else "asym")
            out = os.path.join(work, tag + ".onnx")
            qz.model.save_model_to_file(out, False)
            model = onnx.load(out)
            print(f"{tag}: {sum(n.op_type == 'MatMulNBits' for n in model.graph.node)} MatMulNBits nodes")
            feeds = {}
            for i, gi in enumerate(model.graph.input):
                t = onnx.load_tensor(os.path.join(src, "test_data_set_0", f"input_{i}.pb"))
                feeds[gi.name] = numpy_helper.to_array(t)
            ref = ort.InferenceSession(out, providers=["CPUExecutionProvider"]).run(None, feeds)
            data = out[:-5] + "_data"
            write_data_set(data, feeds, [o.name for o in model.graph.output], ref)
            verify(tag, out, data, rtol="1e-4", atol="1e-4")

    # ---- a one-layer decoder laid out as ORT GenAI's model builder writes Llama/Phi: seqlens_k and
    # total_sequence_length computed from attention_mask in the graph, SimplifiedLayerNormalization,
    # packed-QKV GroupQueryAttention with rotary caches, SkipSimplifiedLayerNormalization, SiLU MLP,
    # 4-bit MatMulNBits weights (ORT's quantizer); a prompt and a decode step against ONNX Runtime.
    if MatMulNBitsQuantizer:
        Dd, Vd, FF, MAXP = 64, 100, 128, 64

        def W(*shape, sc=0.1):
            return (rng.standard_normal(shape) * sc).astype(np.float32)

        ang = np.outer(np.arange(MAXP), 1.0 / (10000 ** (np.arange(0, Hg, 2) / Hg)))
        inits = [numpy_helper.from_array(a, n) for n, a in [
            ("embed", W(Vd, Dd, sc=1.0)), ("ln1", 1 + W(Dd, sc=0.05)), ("wqkv", W(Dd, (Hq + 2 * Hkv) * Hg)),
            ("wo", W(Hq * Hg, Dd)), ("ln2", np.ones(Dd, np.float32)), ("wg", W(Dd, FF)), ("wu", W(Dd, FF)),
            ("wd", W(FF, Dd)), ("lnf", np.ones(Dd, np.float32)), ("lm", W(Dd, Vd)),
            ("one64", np.array([1], np.int64)), ("idx1", np.array(1, np.int64)),
            ("cos", np.cos(ang).astype(np.float32)), ("sin", np.sin(ang).astype(np.float32))]]
        mk = helper.make_node
        nodes = [
            mk("ReduceSum", ["attention_mask", "one64"], ["msum"], keepdims=0), mk("Sub", ["msum", "one64"], ["sk"]),
            mk("Cast", ["sk"], ["seqlens_k"], to=I32), mk("Shape", ["attention_mask"], ["mshape"]),
            mk("Gather", ["mshape", "idx1"], ["tot"], axis=0), mk("Cast", ["tot"], ["total"], to=I32),
            mk("Gather", ["embed", "input_ids"], ["x"]),
            mk("SimplifiedLayerNormalization", ["x", "ln1"], ["h"], epsilon=1e-5, axis=-1),
            mk("MatMul", ["h", "wqkv"], ["qkv"]),
            mk("GroupQueryAttention", ["qkv", "", "", "past_key_values.0.key", "past_key_values.0.value", "seqlens_k",
                                       "total", "cos", "sin"], ["attn", "present.0.key", "present.0.value"],
               domain="com.microsoft", num_heads=Hq, kv_num_heads=Hkv, do_rotary=1),
            mk("MatMul", ["attn", "wo"], ["o"]),
            mk("SkipSimplifiedLayerNormalization", ["o", "x", "ln2"], ["h2", "", "", "x2"], domain="com.microsoft",
               epsilon=1e-5),
            mk("MatMul", ["h2", "wg"], ["g"]), mk("Sigmoid", ["g"], ["sg"]), mk("Mul", ["g", "sg"], ["silu"]),
            mk("MatMul", ["h2", "wu"], ["u"]), mk("Mul", ["silu", "u"], ["act"]), mk("MatMul", ["act", "wd"], ["dn"]),
            mk("Add", ["dn", "x2"], ["x3"]), mk("SimplifiedLayerNormalization", ["x3", "lnf"], ["hf"], epsilon=1e-5,
                                                 axis=-1),
            mk("MatMul", ["hf", "lm"], ["logits"])]
        kv_dims = ["batch_size", Hkv, "past_sequence_length", Hg]
        g_ins = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
                 helper.make_tensor_value_info("attention_mask", TensorProto.INT64,
                                               ["batch_size", "total_sequence_length"]),
                 helper.make_tensor_value_info("past_key_values.0.key", F, kv_dims),
                 helper.make_tensor_value_info("past_key_values.0.value", F, kv_dims)]
        present = ["batch_size", Hkv, "total_sequence_length", Hg]
        g_outs = [helper.make_tensor_value_info("logits", F, ["batch_size", "sequence_length", Vd]),
                  helper.make_tensor_value_info("present.0.key", F, present),
                  helper.make_tensor_value_info("present.0.value", F, present)]
        dec = helper.make_model(helper.make_graph(nodes, "tiny_decoder", g_ins, g_outs, inits), ir_version=9,
                                opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
        qz = MatMulNBitsQuantizer(dec, block_size=32, is_symmetric=True)
        qz.process()
        path = os.path.join(work, "genai_style_decoder.onnx")
        qz.model.save_model_to_file(path, False)
        for tag, Bq, Sq, Pq in [("prompt", 2, 7, 0), ("decode", 2, 1, 6)]:
            feeds = {"input_ids": rng.integers(0, Vd, (Bq, Sq)).astype(np.int64),
                     "attention_mask": np.ones((Bq, Pq + Sq), np.int64),
                     "past_key_values.0.key": W(Bq, Hkv, Pq, Hg, sc=1.0),
                     "past_key_values.0.value": W(Bq, Hkv, Pq, Hg, sc=1.0)}
            ref = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feeds)
            data = os.path.join(work, "genai_style_decoder_" + tag)
            write_data_set(data, feeds, [o.name for o in g_outs], ref)
            verify("genai_style_decoder_" + tag, path, data, rtol="1e-4", atol="1e-4")
        # ort-bench's sweep must find the KV-cache inputs by their dim names and feed a mask that
        # seqlens_k / total_sequence_length are computed from.
        rep = os.path.join(work, "genai_style_decoder_sweep.json")
        r = subprocess.run([ort_bench, "run", "--model", path, "--batch", "2", "--seq", "1,4", "--past", "0,8",
                            "--iterations", "3", "--warmup", "1", "--json", rep], capture_output=True, text=True)
        points = json.load(open(rep))["points"] if r.returncode == 0 else []
        # ... and each point must say that the 4-bit weights ran as fp32 GEMMs.
        ok = len(points) == 4 and all(p["status"] == "ok" and any("MatMulNBits" in n for n in p["notes"])
                                      for p in points)
        print(f"{'PASS' if ok else 'FAIL'} genai_style_decoder_sweep")
        if not ok:
            print(r.stdout, r.stderr, sep="")
            failures.append("genai_style_decoder_sweep")

    # ---- float16 models: the torch exports through ORT's float16 converter (with float16 and with fp32
    # graph inputs/outputs), and the ORT-optimized BERT in float16 (Attention, SkipLayerNormalization,
    # ... on float16), against ONNX Runtime running the same float16 model.
    from onnxruntime.transformers.float16 import convert_float_to_float16

    def fp16_case(tag, model, src):
        path = os.path.join(work, tag + ".onnx")
        onnx.save(model, path)
        feeds = {}
        for i, gi in enumerate(model.graph.input):
            t = numpy_helper.to_array(onnx.load_tensor(os.path.join(src, "test_data_set_0", f"input_{i}.pb")))
            feeds[gi.name] = t.astype(np.float16) if gi.type.tensor_type.elem_type == TensorProto.FLOAT16 else t
        ref = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feeds)
        data = os.path.join(work, tag + "_data")
        write_data_set(data, feeds, [o.name for o in model.graph.output], ref)
        # ORT rounds to float16 where its kernels do, ortkit only where the model casts and at the outputs:
        # a few float16 steps apart (one step is 2^-9 at 2..4, where layer-norm outputs reach).
        verify(tag, path, data, rtol="1e-2", atol="1e-2")

    for name in ["bert_tiny", "gpt2_tiny", "resnet_tiny", "mobilenet_tiny"]:
        src = os.path.join(TORCH_DATA, name)
        for keep_io in (False, True):
            m16 = convert_float_to_float16(onnx.load(os.path.join(src, "model.onnx")), keep_io_types=keep_io)
            fp16_case(f"{name}_fp16" + ("_io32" if keep_io else ""), m16, src)
    if optimize_model:
        src = os.path.join(TORCH_DATA, "bert_tiny")
        m = optimize_model(os.path.join(src, "model.onnx"), model_type="bert", num_heads=2, hidden_size=64,
                           opt_level=0)
        m.convert_float_to_float16(keep_io_types=False)
        fp16_case("bert_tiny_ort_optimized_fp16", m.model, src)

    print(f"{len(failures)} failure(s)" + (": " + ", ".join(failures) if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
