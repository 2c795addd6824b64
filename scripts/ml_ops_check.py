#!/usr/bin/env python3
"""The ai.onnx.ml ops (tree ensembles, SVMs, linear models, encoders, LabelEncoder) and the string ops in
ortkit, checked against ONNX Runtime.

1. Random forests built with onnx.helper: TreeEnsembleRegressor (1 and 3 targets; SUM, AVERAGE, MIN, MAX;
   every post transform; base values; BRANCH_* rules; NaN inputs with and without
   nodes_missing_value_tracks_true; opset 3's *_as_tensor attributes) and TreeEnsembleClassifier (two
   classes with weights for both or for one, all positive or mixed; several classes; int64 and string
   labels; every post transform; base values), and TreeEnsemble (opset 5, with set membership).
2. SVMRegressor and SVMClassifier under every kernel (one-vs-one with and without probabilities, liblinear
   weights, one class, two-class post transforms), the linear models, scalers and encoders.
3. LabelEncoder (string / int64 / float tables, opset 2 and 4) and StringNormalizer, StringSplit,
   StringConcat, RegexFullMatch on word lists.
4. When scikit-learn and skl2onnx are installed (`.venv/bin/pip install scikit-learn skl2onnx`), real
   sklearn-onnx conversions: decision trees, random forests, extra trees and gradient boosting, linear
   models and support vector machines, regressors and classifiers (binary, multiclass, string labels),
   with and without ZipMap.

Each case runs in ONNX Runtime, its outputs become an ONNX test_data_set, and `ort-bench verify` checks
ortkit against it.

    ml_ops_check.py ORT_BENCH WORKDIR

Exit 0 when every case agrees, 1 on a mismatch, 77 (skip) when onnxruntime is not installed.
"""
import os
import shutil
import subprocess
import sys


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
    rng = np.random.default_rng(5)
    failures = []
    count = [0]
    F, D, I64, STR = TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT64, TensorProto.STRING

    def run_case(name, model, feeds, rtol="1e-4", atol="1e-5", ort_model=None, threads=2):
        """Runs `model` (or `ort_model`, the same computation as ONNX Runtime spells it) in ONNX Runtime,
        writes the test_data_set and checks ortkit on `model` against it."""
        count[0] += 1
        d = os.path.join(work, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(os.path.join(d, "test_data_set_0"))
        path = os.path.join(d, "model.onnx")
        onnx.save(model, path)
        try:
            sess = ort.InferenceSession((ort_model or model).SerializeToString(),
                                        providers=["CPUExecutionProvider"])
        except Exception as e:  # a model ONNX Runtime refuses is a bug in this script
            print(f"FAIL {name}: ONNX Runtime refused the model: {e}")
            failures.append(name)
            return
        outs = sess.run(None, feeds)
        data = os.path.join(d, "test_data_set_0")
        for i, (k, v) in enumerate(feeds.items()):
            onnx.save_tensor(numpy_helper.from_array(v, k), os.path.join(data, f"input_{i}.pb"))
        for i, (o, v) in enumerate(zip([o.name for o in sess.get_outputs()], outs)):
            path_i = os.path.join(data, f"output_{i}.pb")
            if isinstance(v, list):  # ZipMap's sequence of maps, as a SequenceProto of MapProtos
                maps = []
                for m in v:
                    keys = list(m.keys())
                    key_type = STR if keys and isinstance(keys[0], str) else I64
                    values = helper.make_sequence("", onnx.SequenceProto.TENSOR,
                                                  [numpy_helper.from_array(np.array(m[k], np.float32)) for k in keys])
                    maps.append(helper.make_map("", key_type, [k.encode() for k in keys] if key_type == STR else keys,
                                                values))
                seq = helper.make_sequence(o, onnx.SequenceProto.MAP, maps)
                with open(path_i, "wb") as f:
                    f.write(seq.SerializeToString())
            else:
                onnx.save_tensor(numpy_helper.from_array(np.asarray(v), o), path_i)
        r = subprocess.run([ort_bench, "verify", path, data, "--rtol", rtol, "--atol", atol, "--threads", str(threads)],
                           capture_output=True, text=True)
        ok = r.returncode == 0
        print(f"{'PASS' if ok else 'FAIL'} {name}")
        if not ok:
            print(r.stdout[-3000:], r.stderr[-2000:], sep="")
            failures.append(name)

    def model_of(node, inputs, outputs, ml_opset, opset=17):
        g = helper.make_graph([node], "g", inputs, outputs)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset),
                                                helper.make_opsetid("ai.onnx.ml", ml_opset)])
        m.ir_version = 8 if ml_opset < 4 else 9
        return m

    # ------------------------------------------------------------------------------------------ forests
    def random_forest(n_trees, depth, n_features, modes=("BRANCH_LEQ",), missing=False):
        """Old-style node table: full binary trees, random features, thresholds and rules."""
        t_ids, n_ids, feats, rules, vals, yes, no, miss, leaves = [], [], [], [], [], [], [], [], []
        for t in range(n_trees):
            n_nodes = 2 ** (depth + 1) - 1
            for i in range(n_nodes):
                t_ids.append(t)
                n_ids.append(i)
                if i < 2 ** depth - 1:
                    feats.append(int(rng.integers(n_features)))
                    rules.append(str(rng.choice(modes)))
                    vals.append(float(np.round(rng.normal(), 1)))
                    yes.append(2 * i + 1)
                    no.append(2 * i + 2)
                    miss.append(int(rng.integers(2)) if missing else 0)
                else:
                    feats.append(0)
                    rules.append("LEAF")
                    vals.append(0.0)
                    yes.append(0)
                    no.append(0)
                    miss.append(0)
                    leaves.append((t, i))
        attrs = dict(nodes_treeids=t_ids, nodes_nodeids=n_ids, nodes_featureids=feats, nodes_modes=rules,
                     nodes_values=vals, nodes_truenodeids=yes, nodes_falsenodeids=no)
        if missing:
            attrs["nodes_missing_value_tracks_true"] = miss
        return attrs, leaves

    def inputs_for(n_rows, n_features, nan=False):
        x = rng.normal(size=(n_rows, n_features)).astype(np.float32)
        x = np.round(x, 1)  # some values land on the thresholds (EQ / NEQ / LEQ vs LT)
        if nan:
            x[rng.random(x.shape) < 0.15] = np.nan
        return x

    all_modes = ("BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ")
    for targets in (1, 3):
        for agg in ("SUM", "AVERAGE", "MIN", "MAX"):
            for post in ("NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO", "PROBIT"):
                if post == "PROBIT" and targets > 1:
                    continue
                attrs, leaves = random_forest(4, 3, 5, all_modes, missing=agg == "SUM")
                tt, tn, ti, tw = [], [], [], []
                for (t, i) in leaves:
                    for k in range(targets):
                        if targets > 1 and rng.random() < 0.2:
                            continue  # a leaf without a weight for some target
                        tt.append(t), tn.append(i), ti.append(k)
                        tw.append(float(rng.uniform(0.05, 0.45)) if post == "PROBIT" else float(rng.normal()))
                extra = {}
                if agg == "SUM":
                    extra["base_values"] = [float(v) for v in rng.normal(size=targets)]
                elif agg == "AVERAGE" and targets == 1:
                    extra["base_values"] = [0.25]
                node = helper.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain="ai.onnx.ml",
                                        n_targets=targets, aggregate_function=agg, post_transform=post,
                                        target_treeids=tt, target_nodeids=tn, target_ids=ti, target_weights=tw,
                                        **attrs, **extra)
                m = model_of(node, [helper.make_tensor_value_info("X", F, [None, 5])],
                             [helper.make_tensor_value_info("Y", F, [None, targets])], 1)
                # ONNX Runtime approximates erfinv (Winitzki's formula: ~3e-4 relative, ~1e-4 absolute near 0);
                # ortkit's is exact.
                run_case(f"regressor_t{targets}_{agg}_{post}", m, {"X": inputs_for(64, 5, nan=agg == "SUM")},
                         rtol="1e-3" if post == "PROBIT" else "1e-4", atol="2e-4" if post == "PROBIT" else "1e-5")

    # Enough rows and trees that the rows are split over the threads (the tree kernels' per-thread scratch),
    # and the same model on one thread.
    for cls in (False, True):
        attrs, leaves = random_forest(60, 4, 5, all_modes, missing=True)
        kind = "TreeEnsembleClassifier" if cls else "TreeEnsembleRegressor"
        pre = "class_" if cls else "target_"
        w = {pre + "treeids": [t for t, _ in leaves], pre + "nodeids": [i for _, i in leaves],
             pre + "ids": [int(rng.integers(3)) for _ in leaves], pre + "weights": [float(v) for v in rng.normal(size=len(leaves))]}
        extra = {"classlabels_strings": ["a", "b", "c"]} if cls else {"n_targets": 3, "aggregate_function": "AVERAGE"}
        outs = ([helper.make_tensor_value_info("label", STR, [None]), helper.make_tensor_value_info("scores", F, [None, 3])]
                if cls else [helper.make_tensor_value_info("Y", F, [None, 3])])
        node = helper.make_node(kind, ["X"], [o.name for o in outs], domain="ai.onnx.ml", **attrs, **w, **extra)
        m = model_of(node, [helper.make_tensor_value_info("X", F, [None, 5])], outs, 1)
        x = inputs_for(300, 5, nan=True)
        for t in (1, 2):
            run_case(f"{'classifier' if cls else 'regressor'}_60_trees_300_rows_t{t}", m, {"X": x}, threads=t)

    # opset 3: thresholds and weights as double tensors, double input.
    attrs, leaves = random_forest(3, 3, 4)
    vals = attrs.pop("nodes_values")
    node = helper.make_node(
        "TreeEnsembleRegressor", ["X"], ["Y"], domain="ai.onnx.ml", n_targets=1,
        nodes_values_as_tensor=numpy_helper.from_array(np.array(vals, np.float64)),
        target_treeids=[t for t, _ in leaves], target_nodeids=[i for _, i in leaves], target_ids=[0] * len(leaves),
        target_weights_as_tensor=numpy_helper.from_array(rng.normal(size=len(leaves))),
        base_values_as_tensor=numpy_helper.from_array(np.array([0.5])), **attrs)
    m = model_of(node, [helper.make_tensor_value_info("X", D, [None, 4])],
                 [helper.make_tensor_value_info("Y", F, [None, 1])], 3)
    run_case("regressor_opset3_tensors_double", m, {"X": inputs_for(32, 4).astype(np.float64)})

    def classifier(name, n_classes, label_kind, weight_classes, positive, post, base, nan=False):
        attrs, leaves = random_forest(5, 3, 6, all_modes, missing=nan)
        ct, cn, ci, cw = [], [], [], []
        for (t, i) in leaves:
            for k in weight_classes:
                ct.append(t), cn.append(i), ci.append(k)
                # PROBIT: scores inside (0, 1) and away from its ends, where ONNX Runtime's approximate erfinv
                # drifts (14% at p = 0.998).
                cw.append(float(rng.uniform(0.01, 0.15)) if post == "PROBIT" else
                          float(rng.uniform(0, 0.3)) if positive else float(rng.normal()))
        labels = ({"classlabels_int64s": [int(v) for v in rng.permutation(10)[:n_classes] * 3]}
                  if label_kind == "int" else {"classlabels_strings": [f"c{k}" for k in range(n_classes)]})
        extra = {"base_values": base} if base is not None else {}
        node = helper.make_node("TreeEnsembleClassifier", ["X"], ["label", "scores"], domain="ai.onnx.ml",
                                post_transform=post, class_treeids=ct, class_nodeids=cn, class_ids=ci,
                                class_weights=cw, **labels, **attrs, **extra)
        m = model_of(node, [helper.make_tensor_value_info("X", F, [None, 6])],
                     [helper.make_tensor_value_info("label", I64 if label_kind == "int" else STR, [None]),
                      helper.make_tensor_value_info("scores", F, [None, n_classes])], 1)
        run_case(name, m, {"X": inputs_for(64, 6, nan)}, rtol="1e-3" if post == "PROBIT" else "1e-4",
                 atol="2e-4" if post == "PROBIT" else "1e-5")

    for post in ("NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO", "PROBIT"):
        classifier(f"classifier_multi_{post}", 4, "int", [0, 1, 2, 3], False, post, None)
    classifier("classifier_multi_base_nan", 3, "str", [0, 2], False, "NONE", [0.1, -0.2, 0.3], nan=True)
    for positive in (True, False):
        # (PROBIT with one score: ONNX Runtime leaves the second score unwritten, so it is not compared.)
        for post in ("NONE", "LOGISTIC", "SOFTMAX"):
            for base in (None, [0.2]):
                tag = f"{'pos' if positive else 'mixed'}_{post}_{'base' if base else 'nobase'}"
                classifier(f"classifier_binary_one_class_{tag}", 2, "int", [0], positive, post, base)
        classifier(f"classifier_binary_one_class_{'pos' if positive else 'mixed'}_strings", 2, "str", [1],
                   positive, "NONE", None)
    for post in ("NONE", "LOGISTIC", "SOFTMAX"):
        classifier(f"classifier_binary_two_classes_{post}", 2, "int", [0, 1], False, post, None)
    classifier("classifier_binary_two_classes_base2", 2, "str", [0, 1], True, "NONE", [0.1, 0.4])

    # TreeEnsemble (opset 5): the same forests by index, with a set-membership node.
    for agg, post in ((1, 0), (0, 0), (2, 0), (3, 0), (1, 2), (1, 1)):
        n_nodes, leaves_w, leaves_t = 7, rng.normal(size=8), [int(v) for v in rng.integers(2, size=8)]
        modes = np.array([0, 6, 4, 1, 2, 3, 5], np.uint8)
        node = helper.make_node(
            "TreeEnsemble", ["X"], ["Y"], domain="ai.onnx.ml", n_targets=2, aggregate_function=agg,
            post_transform=post, tree_roots=[0, 3],
            nodes_featureids=[0, 1, 2, 0, 1, 2, 3], nodes_modes=numpy_helper.from_array(modes),
            nodes_splits=numpy_helper.from_array(np.array([0.1, 0, 0.5, -0.2, 0.3, 0.0, 1.0], np.float32)),
            nodes_truenodeids=[1, 0, 2, 4, 4, 6, 6], nodes_trueleafs=[0, 1, 1, 0, 1, 1, 1],
            nodes_falsenodeids=[2, 1, 3, 5, 5, 7, 7], nodes_falseleafs=[0, 1, 1, 0, 1, 1, 1],
            nodes_missing_value_tracks_true=[1, 0, 0, 0, 1, 0, 0],
            # ONNX Runtime takes integer members only.
            membership_values=numpy_helper.from_array(np.array([5.0, -1.0, 2.0, np.nan], np.float32)),
            leaf_targetids=leaves_t, leaf_weights=numpy_helper.from_array(leaves_w.astype(np.float32)))
        del n_nodes
        m = model_of(node, [helper.make_tensor_value_info("X", F, [None, 4])],
                     [helper.make_tensor_value_info("Y", F, [None, 2])], 5, opset=21)
        x = inputs_for(48, 4, nan=True)
        # ONNX Runtime casts the feature to an integer before the set lookup (-1.1 is a member of {-1}):
        # integers and NaN only in the set-membership feature.
        x[:, 1] = rng.choice([5.0, -1.0, 2.0, 0.0, 3.0, np.nan], size=len(x))
        # ONNX Runtime reads post_transform 1 as LOGISTIC and 2 as SOFTMAX; the spec (and ortkit) 1 as
        # SOFTMAX and 2 as LOGISTIC: ONNX Runtime runs the model with the two codes exchanged.
        ort_m = None
        if post in (1, 2):
            ort_m = onnx.ModelProto()
            ort_m.CopyFrom(m)
            for a in ort_m.graph.node[0].attribute:
                if a.name == "post_transform":
                    a.i = 3 - post
        run_case(f"tree_ensemble_v5_agg{agg}_post{post}", m, {"X": x}, ort_model=ort_m)

    # --------------------------------------------------------------------------- linear models, encoders
    xl = inputs_for(32, 4)
    for targets, post in ((1, "NONE"), (3, "SOFTMAX"), (3, "LOGISTIC"), (2, "SOFTMAX_ZERO")):
        node = helper.make_node("LinearRegressor", ["X"], ["Y"], domain="ai.onnx.ml", targets=targets,
                                coefficients=[float(v) for v in rng.normal(size=4 * targets)],
                                intercepts=[float(v) for v in rng.normal(size=targets)], post_transform=post)
        m = model_of(node, [helper.make_tensor_value_info("X", F, [None, 4])],
                     [helper.make_tensor_value_info("Y", F, [None, targets])], 1)
        run_case(f"linear_regressor_t{targets}_{post}", m, {"X": xl})
    for scores, labels, post in ((3, "int", "SOFTMAX"), (3, "str", "LOGISTIC"), (1, "int", "NONE"),
                                 (1, "str", "LOGISTIC"), (2, "int", "NONE")):
        n_labels = max(scores, 2)
        lab = ({"classlabels_strings": [f"k{i}" for i in range(n_labels)]} if labels == "str"
               else {"classlabels_ints": [int(3 * i + 1) for i in range(n_labels)]})
        node = helper.make_node("LinearClassifier", ["X"], ["label", "scores"], domain="ai.onnx.ml",
                                coefficients=[float(v) for v in rng.normal(size=4 * scores)],
                                intercepts=[float(v) for v in rng.normal(size=scores)], post_transform=post, **lab)
        m = model_of(node, [helper.make_tensor_value_info("X", F, [None, 4])],
                     [helper.make_tensor_value_info("label", STR if labels == "str" else I64, [None]),
                      helper.make_tensor_value_info("scores", F, None)], 1)
        run_case(f"linear_classifier_{scores}_{labels}_{post}", m, {"X": xl})
    for norm in ("MAX", "L1", "L2"):
        node = helper.make_node("Normalizer", ["X"], ["Y"], domain="ai.onnx.ml", norm=norm)
        m = model_of(node, [helper.make_tensor_value_info("X", F, [None, 4])],
                     [helper.make_tensor_value_info("Y", F, [None, 4])], 1)
        xz = xl.copy()
        xz[0] = 0
        run_case(f"normalizer_{norm}", m, {"X": xz})
    node = helper.make_node("Scaler", ["X"], ["Y"], domain="ai.onnx.ml", offset=[0.5, -1.0, 0.0, 2.0],
                            scale=[2.0, 0.5, 1.0, -1.0])
    run_case("scaler", model_of(node, [helper.make_tensor_value_info("X", D, [None, 4])],
                                [helper.make_tensor_value_info("Y", F, [None, 4])], 1), {"X": xl.astype(np.float64)})
    node = helper.make_node("Imputer", ["X"], ["Y"], domain="ai.onnx.ml", imputed_value_floats=[1.0, 2.0, 3.0, 4.0],
                            replaced_value_float=float("nan"))
    run_case("imputer_nan", model_of(node, [helper.make_tensor_value_info("X", F, [None, 4])],
                                     [helper.make_tensor_value_info("Y", F, [None, 4])], 1),
             {"X": inputs_for(16, 4, nan=True)})
    node = helper.make_node("OneHotEncoder", ["X"], ["Y"], domain="ai.onnx.ml", cats_strings=["apple", "kiwi", ""])
    run_case("one_hot_strings", model_of(node, [helper.make_tensor_value_info("X", STR, [None, 2])],
                                         [helper.make_tensor_value_info("Y", F, [None, 2, 3])], 1),
             {"X": np.array([["apple", "x"], ["", "kiwi"]], dtype=object)})
    node = helper.make_node("CategoryMapper", ["X"], ["Y"], domain="ai.onnx.ml", cats_strings=["a", "b"],
                            cats_int64s=[7, 9], default_string="?")
    run_case("category_mapper_to_strings", model_of(node, [helper.make_tensor_value_info("X", I64, [None])],
                                                    [helper.make_tensor_value_info("Y", STR, [None])], 1),
             {"X": np.array([9, 8, 7], np.int64)})
    for labels in ({"classlabels_int64s": [3, 1, 4]}, {"classlabels_strings": ["x", "y", "z"]}):
        node = helper.make_node("ZipMap", ["X"], ["Z"], domain="ai.onnx.ml", **labels)
        key = I64 if "classlabels_int64s" in labels else STR
        z_type = helper.make_sequence_type_proto(helper.make_map_type_proto(key, helper.make_tensor_type_proto(F, [])))
        m = model_of(node, [helper.make_tensor_value_info("X", F, [None, 3])],
                     [helper.make_value_info("Z", z_type)], 1)
        run_case(f"zipmap_{'ints' if key == I64 else 'strings'}", m, {"X": xl[:6, :3].copy()})
    node = helper.make_node("FeatureVectorizer", ["A", "B"], ["Y"], domain="ai.onnx.ml", inputdimensions=[2, 3])
    run_case("feature_vectorizer", model_of(node, [helper.make_tensor_value_info("A", F, [None, 2]),
                                                   helper.make_tensor_value_info("B", F, [None, 3])],
                                            [helper.make_tensor_value_info("Y", F, [None, 5])], 1),
             {"A": xl[:5, :2].copy(), "B": np.arange(15, dtype=np.float32).reshape(5, 3)})

    # ------------------------------------------------------------------------------ support vector machines
    xs = inputs_for(40, 4)
    sv = [float(v) for v in rng.normal(size=5 * 4)]
    kernels = (("LINEAR", []), ("POLY", [0.3, 1.0, 3.0]), ("RBF", [0.4, 0.0, 0.0]), ("SIGMOID", [0.2, -0.5, 0.0]))
    for kernel, params in kernels:
        for one_class in (0, 1):
            node = helper.make_node("SVMRegressor", ["X"], ["Y"], domain="ai.onnx.ml", kernel_type=kernel,
                                    kernel_params=params or [0.0, 0.0, 0.0], n_supports=5, support_vectors=sv,
                                    coefficients=[float(v) for v in rng.normal(size=5)], rho=[0.25],
                                    one_class=one_class)
            m = model_of(node, [helper.make_tensor_value_info("X", F, [None, 4])],
                         [helper.make_tensor_value_info("Y", F, [None, 1])], 1)
            run_case(f"svm_regressor_{kernel}_oneclass{one_class}", m, {"X": xs})
    node = helper.make_node("SVMRegressor", ["X"], ["Y"], domain="ai.onnx.ml", coefficients=[0.5, -1.0, 2.0, 0.1],
                            rho=[-0.3], kernel_type="RBF", kernel_params=[0.1, 0.0, 0.0])
    run_case("svm_regressor_liblinear", model_of(node, [helper.make_tensor_value_info("X", F, [None, 4])],
                                                 [helper.make_tensor_value_info("Y", F, [None, 1])], 1), {"X": xs})
    for classes, per_class, proba, post, labels, kernel in (
            (2, [2, 3], False, "NONE", "int", "RBF"), (2, [3, 2], False, "LOGISTIC", "str", "LINEAR"), (2, [3, 2], False, "SOFTMAX_ZERO", "int", "SIGMOID"),
            (3, [2, 1, 2], False, "NONE", "int", "POLY"), (3, [1, 2, 2], False, "SOFTMAX", "str", "SIGMOID"),
            (3, [2, 2, 1], True, "NONE", "int", "RBF"), (2, [2, 3], True, "NONE", "str", "RBF"),
            (4, [1, 1, 2, 1], True, "LOGISTIC", "int", "LINEAR"), (1, [], False, "NONE", "int", "LINEAR"),
            (2, [], False, "NONE", "int", "LINEAR"), (3, [], False, "SOFTMAX", "str", "LINEAR"),
            (2, [], False, "NONE", "positive", "LINEAR")):
        n_pairs = classes * (classes - 1) // 2
        lab = ({"classlabels_strings": [f"c{i}" for i in range(classes)]} if labels == "str"
               else {"classlabels_ints": [int(2 * i + 5) for i in range(classes)]})
        attrs = dict(kernel_type=kernel, kernel_params=dict(kernels)[kernel] or [0.0, 0.0, 0.0], post_transform=post,
                     **lab)
        if per_class:
            attrs.update(vectors_per_class=per_class, support_vectors=sv,
                         coefficients=[float(v) for v in rng.normal(size=(classes - 1) * 5)],
                         rho=[float(v) for v in rng.normal(size=n_pairs)])
        else:
            coefs = rng.normal(size=classes * 4)
            attrs.update(coefficients=[float(abs(v) if labels == "positive" else v) for v in coefs],
                         rho=[float(rng.normal())])
        if proba:
            attrs.update(prob_a=[float(v) for v in rng.normal(-2, 0.5, size=n_pairs)],
                         prob_b=[float(v) for v in rng.normal(0, 0.2, size=n_pairs)])
        node = helper.make_node("SVMClassifier", ["X"], ["label", "scores"], domain="ai.onnx.ml", **attrs)
        m = model_of(node, [helper.make_tensor_value_info("X", F, [None, 4])],
                     [helper.make_tensor_value_info("label", STR if labels == "str" else I64, [None]),
                      helper.make_tensor_value_info("scores", F, None)], 1)
        run_case(f"svm_classifier_{classes}_{'svc' if per_class else 'linear'}_{kernel}_{post}_{labels}"
                 f"{'_proba' if proba else ''}", m, {"X": xs})

    # ------------------------------------------------------------------------------------- label, text
    # ONNX Runtime changes case through the named locale; with C's, only ASCII letters change (ortkit's
    # UTF-8 mapping would upper-case "ça" too), so the non-ASCII words have no case to change.
    words = np.array(["apple", "Banana", "cherry", "APPLE", "kiwi", "", "straße", "日本"], dtype=object)
    node = helper.make_node("LabelEncoder", ["x"], ["y"], domain="ai.onnx.ml",
                            keys_strings=["apple", "cherry", "kiwi"], values_int64s=[3, 1, 4], default_int64=-7)
    run_case("label_encoder_strings", model_of(node, [helper.make_tensor_value_info("x", STR, [None])],
                                               [helper.make_tensor_value_info("y", I64, [None])], 2), {"x": words})
    node = helper.make_node("LabelEncoder", ["x"], ["y"], domain="ai.onnx.ml",
                            keys_floats=[0.5, -1.0, 2.0], values_strings=["half", "minus one", "two"])
    run_case("label_encoder_floats", model_of(node, [helper.make_tensor_value_info("x", F, [None])],
                                              [helper.make_tensor_value_info("y", STR, [None])], 2),
             {"x": np.array([0.5, 2.0, 3.0, -1.0], np.float32)})
    for action in ("LOWER", "UPPER", "NONE"):
        for sensitive in (0, 1):
            # ONNX Runtime needs the locale installed (en_US, its default, often is not): C's UTF-8 one.
            node = helper.make_node("StringNormalizer", ["x"], ["y"], case_change_action=action,
                                    is_case_sensitive=sensitive, stopwords=["apple", "kiwi"], locale="C")
            m = model_of(node, [helper.make_tensor_value_info("x", STR, [None])],
                         [helper.make_tensor_value_info("y", STR, [None])], 2)
            run_case(f"string_normalizer_{action}_{sensitive}", m, {"x": words})
    for delim, maxsplit in ((None, None), (" ", None), ("an", 1), (None, 1)):
        kw = {k: v for k, v in (("delimiter", delim), ("maxsplit", maxsplit)) if v is not None}
        node = helper.make_node("StringSplit", ["x"], ["y", "n"], **kw)
        m = model_of(node, [helper.make_tensor_value_info("x", STR, [None])],
                     [helper.make_tensor_value_info("y", STR, None), helper.make_tensor_value_info("n", I64, None)], 2,
                     opset=20)
        run_case(f"string_split_{delim!r}_{maxsplit}".replace("'", "").replace(" ", "space"), m,
                 {"x": np.array(["a banana  split ", "", "  ", "banana"], dtype=object)})
    node = helper.make_node("RegexFullMatch", ["x"], ["y"], pattern=r"[A-Za-z]+\d*(\.[a-z]{2,3})?")
    m = model_of(node, [helper.make_tensor_value_info("x", STR, [None])],
                 [helper.make_tensor_value_info("y", TensorProto.BOOL, [None])], 2, opset=20)
    run_case("regex_full_match", m, {"x": np.array(["abc12.com", "abc", "12abc", "a.b", ""], dtype=object)})

    # ----------------------------------------------------------------------------------- sklearn-onnx
    try:
        from skl2onnx import to_onnx
        from sklearn.ensemble import (ExtraTreesClassifier, GradientBoostingClassifier,
                                      GradientBoostingRegressor, RandomForestClassifier, RandomForestRegressor)
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, Normalizer, StandardScaler
        from sklearn.svm import SVC, SVR, LinearSVC, LinearSVR, NuSVC, NuSVR, OneClassSVM
    except ImportError:
        print("sklearn-onnx cases skipped: scikit-learn or skl2onnx is not installed")
    else:
        X = rng.normal(size=(300, 8)).astype(np.float32)
        y_reg = X[:, 0] * 2 + np.sin(X[:, 1]) + 0.1 * rng.normal(size=300)
        y_multi = np.stack([y_reg, X[:, 2] - X[:, 3]], axis=1)
        y_bin = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
        y_cls = np.digitize(X[:, 0] + 0.5 * X[:, 2], [-1, 0, 1]).astype(np.int64)
        y_str = np.array(["low", "mid", "high", "top"], dtype=object)[y_cls]
        models = [
            ("sk_decision_tree_regressor", DecisionTreeRegressor(max_depth=6), y_reg),
            ("sk_random_forest_regressor", RandomForestRegressor(n_estimators=12, max_depth=6, random_state=0), y_reg),
            ("sk_random_forest_regressor_2targets", RandomForestRegressor(n_estimators=8, max_depth=5,
                                                                          random_state=0), y_multi),
            ("sk_gradient_boosting_regressor", GradientBoostingRegressor(n_estimators=20, max_depth=3), y_reg),
            ("sk_decision_tree_classifier_binary", DecisionTreeClassifier(max_depth=6), y_bin),
            ("sk_random_forest_classifier_multi", RandomForestClassifier(n_estimators=10, max_depth=6,
                                                                         random_state=0), y_cls),
            ("sk_extra_trees_classifier_strings", ExtraTreesClassifier(n_estimators=10, max_depth=6,
                                                                       random_state=0), y_str),
            ("sk_gradient_boosting_classifier_binary", GradientBoostingClassifier(n_estimators=15, max_depth=3), y_bin),
            ("sk_gradient_boosting_classifier_multi", GradientBoostingClassifier(n_estimators=10, max_depth=3), y_cls),
            ("sk_linear_regression", make_pipeline(StandardScaler(), LinearRegression()), y_reg),
            ("sk_ridge_2targets", make_pipeline(MinMaxScaler(), Ridge()), y_multi),
            ("sk_logistic_binary", make_pipeline(StandardScaler(), LogisticRegression()), y_bin),
            ("sk_logistic_multi_strings", make_pipeline(MaxAbsScaler(), LogisticRegression()), y_str),
            ("sk_normalizer_logistic_multi", make_pipeline(Normalizer(), LogisticRegression()), y_cls),
            ("sk_svc_rbf_binary", make_pipeline(StandardScaler(), SVC()), y_bin),
            ("sk_svc_poly_multi", SVC(kernel="poly", degree=2), y_cls),
            ("sk_svc_sigmoid_multi_strings", SVC(kernel="sigmoid", gamma=0.05), y_str),
            ("sk_svc_linear_proba", SVC(kernel="linear", probability=True, random_state=0), y_cls),
            ("sk_svc_rbf_proba_binary", SVC(probability=True, random_state=0), y_bin),
            ("sk_nusvc_multi", NuSVC(nu=0.3), y_cls),
            ("sk_linear_svc_multi", LinearSVC(), y_cls),
            ("sk_svr_rbf", SVR(), y_reg),
            ("sk_nusvr_poly", NuSVR(kernel="poly", degree=3), y_reg),
            ("sk_linear_svr", LinearSVR(), y_reg),
            ("sk_one_class_svm", OneClassSVM(nu=0.2), None),
            ("sk_imputer_forest", make_pipeline(SimpleImputer(), RandomForestRegressor(n_estimators=5, max_depth=4,
                                                                                       random_state=0)), y_reg),
        ]
        for name, est, y in models:
            est.fit(X, y) if y is not None else est.fit(X)
            for ml in (1, 3, "zipmap"):
                final = est.steps[-1][1] if hasattr(est, "steps") else est
                if ml == "zipmap":  # the default conversion of a classifier: probabilities through ZipMap
                    if not hasattr(final, "predict_proba"):
                        continue
                    onx = to_onnx(est, X[:1], target_opset={"": 17, "ai.onnx.ml": 3})
                    run_case(f"{name}_zipmap", onx, {onx.graph.input[0].name: X[:64]})
                    continue
                try:  # classifiers without ZipMap; a converter without that option refuses it by name
                    onx = to_onnx(est, X[:1], options={id(final): {"zipmap": False}},
                                  target_opset={"": 17, "ai.onnx.ml": ml})
                except NameError:
                    onx = to_onnx(est, X[:1], target_opset={"": 17, "ai.onnx.ml": ml})
                except Exception as e:  # the converter's own limits (versions of sklearn it does not know)
                    print(f"SKIP {name}_ml{ml}: skl2onnx cannot convert it ({type(e).__name__})")
                    continue
                run_case(f"{name}_ml{ml}", onx, {onx.graph.input[0].name: X[:64]})

    print(f"ml ops vs ONNX Runtime: {count[0] - len(failures)} of {count[0]} cases agree")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
