// ai.onnx.ml tree ensembles through Session, on trees small enough to follow by hand: every rule, missing
// values, aggregation, base values, the classifier's labels and two-class scores, TreeEnsemble (opset 5)
// with set membership, and malformed tables. scripts/ml_ops_check.py compares many random forests and
// sklearn-onnx conversions with ONNX Runtime (ctest peers:ml_ops_vs_ort).
#include <catch2/catch.hpp>
#include <cmath>

#include "engine_model_builder.h"
#include "ortkit/session.h"

using namespace ortkit;
using ortkit::testing::error_of;
using ortkit::testing::floats_of;
using ortkit::testing::make_f32;
using ortkit::testing::ModelBuilder;
using ortkit::testing::strings_of;

namespace {

constexpr int kF = onnx::TensorProto::FLOAT;

/// One tree per call: root `rule` on feature 0 at 0.5 (missing values go to `missing_true`), leaves 1 and 2.
/// Two such trees make a forest whose leaves weigh (tree + 1) * 10 + leaf.
struct TreeTable {
  std::vector<int64_t> tree, node, feature, yes, no, missing;
  std::vector<std::string> modes;
  std::vector<float> values;
  void add_tree(int64_t t, const std::string& rule, bool missing_true) {
    for (int64_t i = 0; i < 3; ++i) {
      tree.push_back(t);
      node.push_back(i);
      feature.push_back(0);
      modes.push_back(i == 0 ? rule : "LEAF");
      values.push_back(i == 0 ? 0.5f : 0.f);
      yes.push_back(i == 0 ? 1 : 0);
      no.push_back(i == 0 ? 2 : 0);
      missing.push_back(i == 0 && missing_true ? 1 : 0);
    }
  }
  void write(onnx::NodeProto& n) const {
    ModelBuilder::attr_ints(n, "nodes_treeids", tree);
    ModelBuilder::attr_ints(n, "nodes_nodeids", node);
    ModelBuilder::attr_ints(n, "nodes_featureids", feature);
    ModelBuilder::attr_strings(n, "nodes_modes", modes);
    ModelBuilder::attr_floats(n, "nodes_values", values);
    ModelBuilder::attr_ints(n, "nodes_truenodeids", yes);
    ModelBuilder::attr_ints(n, "nodes_falsenodeids", no);
    ModelBuilder::attr_ints(n, "nodes_missing_value_tracks_true", missing);
  }
};

std::unique_ptr<Session> regressor(const TreeTable& tt, const std::string& agg,
                                   const std::vector<float>& base) {
  ModelBuilder mb(17);
  mb.import("ai.onnx.ml", 1);
  mb.input("X", {std::string("N"), int64_t{1}});
  auto& n = mb.node("TreeEnsembleRegressor", {"X"}, {"Y"}, "reg", "ai.onnx.ml");
  tt.write(n);
  std::vector<int64_t> t_ids, n_ids;
  std::vector<float> w;
  for (int64_t t = 0; t < 2; ++t)
    for (int64_t leaf = 1; leaf <= 2; ++leaf) {
      t_ids.push_back(t);
      n_ids.push_back(leaf);
      w.push_back(static_cast<float>((t + 1) * 10 + leaf));
    }
  ModelBuilder::attr_ints(n, "target_treeids", t_ids);
  ModelBuilder::attr_ints(n, "target_nodeids", n_ids);
  ModelBuilder::attr_ints(n, "target_ids", {0, 0, 0, 0});
  ModelBuilder::attr_floats(n, "target_weights", w);
  ModelBuilder::attr_int(n, "n_targets", 1);
  ModelBuilder::attr_string(n, "aggregate_function", agg);
  if (!base.empty()) ModelBuilder::attr_floats(n, "base_values", base);
  mb.output("Y", kF);
  return Session::from_bytes(mb.bytes());
}

}  // namespace

TEST_CASE("TreeEnsembleRegressor: rules, missing values, aggregation, base values", "[ops][ml][trees]") {
  TreeTable tt;
  tt.add_tree(0, "BRANCH_LEQ", false);
  tt.add_tree(1, "BRANCH_LT", true);
  const Tensor x = make_f32({4, 1}, {0.5f, 0.6f, NAN, -1.f});
  // 0.5: LEQ yes (11), LT no (22); 0.6: no (12), no (22); NaN: LEQ no (12), LT missing -> yes (21);
  // -1: yes (11), yes (21).
  CHECK(floats_of(regressor(tt, "SUM", {})->run({{"X", x}})[0]) == std::vector<float>{33, 34, 33, 32});
  CHECK(floats_of(regressor(tt, "SUM", {1.5f})->run({{"X", x}})[0]) ==
        std::vector<float>{34.5f, 35.5f, 34.5f, 33.5f});
  CHECK(floats_of(regressor(tt, "AVERAGE", {})->run({{"X", x}})[0]) ==
        std::vector<float>{16.5f, 17, 16.5f, 16});
  CHECK(floats_of(regressor(tt, "MIN", {})->run({{"X", x}})[0]) == std::vector<float>{11, 12, 12, 11});
  CHECK(floats_of(regressor(tt, "MAX", {})->run({{"X", x}})[0]) == std::vector<float>{22, 22, 21, 21});

  for (const char* rule : {"BRANCH_LT", "BRANCH_GTE", "BRANCH_EQ", "BRANCH_NEQ"}) {
    TreeTable one;
    one.add_tree(0, rule, false);
    one.add_tree(1, "BRANCH_LEQ", false);
    const auto y = floats_of(regressor(one, "SUM", {})->run({{"X", make_f32({2, 1}, {0.5f, 0.4f})}})[0]);
    const std::string r = rule;
    // Tree 1 adds 21 at 0.5 and 0.4 (LEQ yes).
    const bool at_half = r == "BRANCH_GTE" || r == "BRANCH_EQ", below = r == "BRANCH_LT" || r == "BRANCH_NEQ";
    CHECK(y == std::vector<float>{(at_half ? 11.f : 12.f) + 21, (below ? 11.f : 12.f) + 21});
  }
}

TEST_CASE("TreeEnsembleClassifier: labels by the highest score, two-class scores as ONNX Runtime writes them",
          "[ops][ml][trees]") {
  TreeTable tt;
  tt.add_tree(0, "BRANCH_LEQ", false);
  auto build = [&](const std::vector<int64_t>& class_ids, const std::vector<float>& weights, int n_labels,
                   const std::string& post, bool strings) {
    ModelBuilder mb(17);
    mb.import("ai.onnx.ml", 1);
    mb.input("X", {std::string("N"), int64_t{1}});
    auto& n = mb.node("TreeEnsembleClassifier", {"X"}, {"label", "scores"}, "cls", "ai.onnx.ml");
    tt.write(n);
    std::vector<int64_t> t_ids(class_ids.size(), 0), n_ids;
    for (size_t k = 0; k < class_ids.size(); ++k) n_ids.push_back(k < class_ids.size() / 2 ? 1 : 2);
    ModelBuilder::attr_ints(n, "class_treeids", t_ids);
    ModelBuilder::attr_ints(n, "class_nodeids", n_ids);
    ModelBuilder::attr_ints(n, "class_ids", class_ids);
    ModelBuilder::attr_floats(n, "class_weights", weights);
    if (strings) {
      std::vector<std::string> labels;
      for (int k = 0; k < n_labels; ++k) {  // not "c" + to_string: GCC 12 warns (-Wrestrict) on that
        std::string label(1, 'c');
        label += std::to_string(k);
        labels.push_back(label);
      }
      ModelBuilder::attr_strings(n, "classlabels_strings", labels);
    } else {
      std::vector<int64_t> labels;
      for (int k = 0; k < n_labels; ++k) labels.push_back(100 + k);
      ModelBuilder::attr_ints(n, "classlabels_int64s", labels);
    }
    ModelBuilder::attr_string(n, "post_transform", post);
    mb.output("label", strings ? onnx::TensorProto::STRING : onnx::TensorProto::INT64);
    mb.output("scores", kF);
    return Session::from_bytes(mb.bytes());
  };
  const Tensor x = make_f32({2, 1}, {0.f, 1.f});  // leaf 1, then leaf 2
  SECTION("three classes, string labels, softmax") {
    // Leaf 1 weighs class 2 most, leaf 2 class 0.
    auto s = build({0, 1, 2, 0, 1, 2}, {0.1f, 0.2f, 0.7f, 0.6f, 0.3f, 0.1f}, 3, "SOFTMAX", true);
    auto y = s->run({{"X", x}});
    CHECK(strings_of(y[0]) == std::vector<std::string>{"c2", "c0"});
    const auto z = floats_of(y[1]);
    const double e0 = std::exp(0.1), e1 = std::exp(0.2), e2 = std::exp(0.7);
    CHECK(z[0] == Approx(e0 / (e0 + e1 + e2)).epsilon(1e-6));
    CHECK(z[2] == Approx(e2 / (e0 + e1 + e2)).epsilon(1e-6));
  }
  SECTION("two labels, weights for one class only: the score and its complement") {
    // Positive weights: label by score > 0.5, scores [1 - s, s].
    auto s = build({0, 0}, {0.3f, 0.8f}, 2, "NONE", false);
    auto y = s->run({{"X", x}});
    CHECK(std::vector<int64_t>(y[0].data_as<int64_t>(), y[0].data_as<int64_t>() + 2) ==
          std::vector<int64_t>{100, 101});
    const auto zp = floats_of(y[1]);
    CHECK(zp[0] == Approx(0.7f));
    CHECK(zp[1] == Approx(0.3f));
    CHECK(zp[2] == Approx(0.2f));
    CHECK(zp[3] == Approx(0.8f));
    // Mixed weights with LOGISTIC: label by score > 0, scores [logistic(-s), logistic(s)].
    auto m = build({0, 0}, {-0.4f, 1.2f}, 2, "LOGISTIC", false);
    y = m->run({{"X", x}});
    CHECK(std::vector<int64_t>(y[0].data_as<int64_t>(), y[0].data_as<int64_t>() + 2) ==
          std::vector<int64_t>{100, 101});
    const auto z = floats_of(y[1]);
    CHECK(z[1] == Approx(1 / (1 + std::exp(0.4))).epsilon(1e-6));
    CHECK(z[3] == Approx(1 / (1 + std::exp(-1.2))).epsilon(1e-6));
    CHECK(z[0] + z[1] == Approx(1.0));
  }
}

TEST_CASE("TreeEnsemble (opset 5): set membership, leaf targets, and its errors", "[ops][ml][trees]") {
  auto build = [](const std::vector<float>& members, const std::vector<int64_t>& yes,
                  const std::vector<int64_t>& roots) {
    ModelBuilder mb(21);
    mb.import("ai.onnx.ml", 5);
    mb.input("X", {std::string("N"), int64_t{2}});
    auto& n = mb.node("TreeEnsemble", {"X"}, {"Y"}, "te", "ai.onnx.ml");
    // Node 0: x[1] in {1, 4}? -> node 1 : leaf 2.  Node 1: x[0] <= 0 -> leaf 0 : leaf 1.
    Tensor modes(DType::u8, {2});
    modes.data_as<uint8_t>()[0] = 6;
    modes.data_as<uint8_t>()[1] = 0;
    ModelBuilder::attr_tensor(n, "nodes_modes", modes);
    ModelBuilder::attr_ints(n, "nodes_featureids", {1, 0});
    ModelBuilder::attr_tensor(n, "nodes_splits", make_f32({2}, {0.f, 0.f}));
    ModelBuilder::attr_ints(n, "nodes_truenodeids", yes);
    ModelBuilder::attr_ints(n, "nodes_trueleafs", {0, 1});
    ModelBuilder::attr_ints(n, "nodes_falsenodeids", {2, 1});
    ModelBuilder::attr_ints(n, "nodes_falseleafs", {1, 1});
    ModelBuilder::attr_ints(n, "tree_roots", roots);
    ModelBuilder::attr_tensor(n, "membership_values",
                              make_f32({static_cast<int64_t>(members.size())}, members));
    ModelBuilder::attr_ints(n, "leaf_targetids", {0, 1, 1});
    ModelBuilder::attr_tensor(n, "leaf_weights", make_f32({3}, {1.f, 2.f, 3.f}));
    ModelBuilder::attr_int(n, "n_targets", 2);
    mb.output("Y", kF);
    return Session::from_bytes(mb.bytes());
  };
  auto s = build({1.f, 4.f, NAN}, {1, 0}, {0});
  auto y = s->run({{"X", make_f32({4, 2}, {-1.f, 4.f, 1.f, 1.f, -1.f, 2.f, 0.f, NAN})}});
  CHECK(floats_of(y[0]) == std::vector<float>{1, 0, 0, 2, 0, 3, 0, 3});
  CHECK_THAT(error_of([&] {
               build({1.f, 4.f}, {1, 0}, {0})->run({{"X", make_f32({1, 2}, {0.f, 0.f})}});
             }),
             Catch::Contains("membership_values has fewer sets than the member nodes"));
  CHECK_THAT(error_of([&] {
               build({1.f, NAN}, {1, 7}, {0})->run({{"X", make_f32({1, 2}, {0.f, 0.f})}});
             }),
             Catch::Contains("nodes_truenodeids holds 7, outside the leaves"));
  CHECK_THAT(error_of([&] {
               build({1.f, NAN}, {1, 0}, {0})->run({{"X", make_f32({1, 1}, {0.f})}});
             }),
             Catch::Contains("input 'X' has shape"));
}

TEST_CASE("Tree tables that do not make trees are errors naming the attribute", "[ops][ml][trees]") {
  TreeTable tt;
  tt.add_tree(0, "BRANCH_LEQ", false);
  tt.yes[0] = 5;  // no node 5 in tree 0
  CHECK_THAT(error_of([&] {
               regressor(tt, "SUM", {})->run({{"X", make_f32({1, 1}, {0.f})}});
             }),
             Catch::Contains("nodes_truenodeids names node 5 of tree 0"));
  TreeTable bad_mode;
  bad_mode.add_tree(0, "BRANCH_SOMETIMES", false);
  CHECK_THAT(error_of([&] {
               regressor(bad_mode, "SUM", {})->run({{"X", make_f32({1, 1}, {0.f})}});
             }),
             Catch::Contains("nodes_modes holds 'BRANCH_SOMETIMES'"));
  TreeTable wide;
  wide.add_tree(0, "BRANCH_LEQ", false);
  wide.add_tree(1, "BRANCH_LEQ", false);
  wide.feature[0] = 3;  // X has one feature
  CHECK_THAT(error_of([&] {
               regressor(wide, "SUM", {})->run({{"X", make_f32({1, 1}, {0.f})}});
             }),
             Catch::Contains("the trees read feature 3 but X has 1"));
  TreeTable plain;
  plain.add_tree(0, "BRANCH_LEQ", false);
  plain.add_tree(1, "BRANCH_LEQ", false);
  CHECK_THAT(error_of([&] {
               regressor(plain, "MEDIAN", {})->run({{"X", make_f32({1, 1}, {0.f})}});
             }),
             Catch::Contains("aggregate_function must be SUM, AVERAGE, MIN or MAX, got 'MEDIAN'"));
}
