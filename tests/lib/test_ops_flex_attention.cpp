// FlexAttention (ai.onnx.preview 1) through Session: without modifiers it equals ONNX Attention (23) on
// the same inputs (GQA included); a score_mod reading an outer-scope bias, and a prob_mod, change the
// result as their formulas say; a modifier returning another shape is an error naming it. The onnx 1.23
// node suite compares it with onnx's reference (ctest backend:onnx_pypi_node_tests).
#include <catch2/catch.hpp>

#include "engine_model_builder.h"
#include "ops_test_util.h"
#include "ortkit/error.h"
#include "ortkit/session.h"

using namespace ortkit;
using ortkit::testing::ModelBuilder;

namespace {

constexpr int kF32 = onnx::TensorProto::FLOAT;

ModelBuilder flex_model(int64_t hq, int64_t hkv) {
  ModelBuilder mb(26);
  mb.import("ai.onnx.preview", 1);
  mb.input("Q", {int64_t{1}, hq, int64_t{3}, int64_t{4}});
  mb.input("K", {int64_t{1}, hkv, int64_t{5}, int64_t{4}});
  mb.input("V", {int64_t{1}, hkv, int64_t{5}, int64_t{2}});
  return mb;
}

void io(onnx::GraphProto* g, const std::string& in, const std::string& out) {
  auto* i = g->add_input();
  i->set_name(in);
  ModelBuilder::set_type(i, kF32, {}, false);
  auto* o = g->add_output();
  o->set_name(out);
  ModelBuilder::set_type(o, kF32, {}, false);
}

std::vector<NamedTensor> inputs(int64_t hq, int64_t hkv) {
  return {{"Q", ops::testing::rnd({1, hq, 3, 4}, 1)},
          {"K", ops::testing::rnd({1, hkv, 5, 4}, 2)},
          {"V", ops::testing::rnd({1, hkv, 5, 2}, 3)}};
}

}  // namespace

TEST_CASE("FlexAttention without modifiers equals Attention-23, GQA included", "[ops][flex]") {
  for (auto [hq, hkv] : {std::pair<int64_t, int64_t>{2, 2}, {4, 2}}) {
    ModelBuilder flex = flex_model(hq, hkv);
    flex.node("FlexAttention", {"Q", "K", "V"}, {"Y"}, "flex", "ai.onnx.preview");
    flex.output("Y");
    ModelBuilder att = flex_model(hq, hkv);
    att.node("Attention", {"Q", "K", "V"}, {"Y"}, "att");
    att.output("Y");
    const auto in = inputs(hq, hkv);
    auto sf = Session::from_bytes(flex.bytes()), sa = Session::from_bytes(att.bytes());  // outputs are views
    const Tensor a = sf->run(in)[0];
    const Tensor b = sa->run(in)[0];
    CHECK(ops::testing::max_abs_diff(a, b) < 1e-6f);
  }
}

TEST_CASE("FlexAttention: score_mod with an outer-scope bias, prob_mod scaling", "[ops][flex]") {
  // score_mod: scores + bias (an outer input); prob_mod: probs * 2. With bias = c * ones, softmax is
  // unchanged, so Y = 2 * plain; with a bias on one key only, that key gains weight.
  ModelBuilder mb = flex_model(2, 2);
  mb.input("bias", {int64_t{5}});
  auto& n = mb.node("FlexAttention", {"Q", "K", "V"}, {"Y"}, "flex", "ai.onnx.preview");
  auto* sm = ModelBuilder::graph_attr(n, "score_mod");
  io(sm, "s", "s_out");
  ModelBuilder::graph_node(sm, "Add", {"s", "bias"}, {"s_out"});
  auto* pm = ModelBuilder::graph_attr(n, "prob_mod");
  io(pm, "p", "p_out");
  *pm->add_initializer() = onnxio::tensor_to_proto(ops::testing::f32({}, {2.f}), "two");
  ModelBuilder::graph_node(pm, "Mul", {"p", "two"}, {"p_out"});
  mb.output("Y");
  auto s = Session::from_bytes(mb.bytes());
  ModelBuilder plain = flex_model(2, 2);
  plain.node("FlexAttention", {"Q", "K", "V"}, {"Y"}, "flex", "ai.onnx.preview");
  plain.output("Y");
  auto in = inputs(2, 2);
  auto sp = Session::from_bytes(plain.bytes());  // kept: its outputs are views into its arena
  const Tensor base = sp->run(in)[0];
  in.push_back({"bias", ops::testing::f32({5}, {3, 3, 3, 3, 3})});
  const Tensor y = s->run(in)[0];
  for (int64_t i = 0; i < y.numel(); ++i)
    CHECK(y.data_as<float>()[i] == Approx(2 * base.data_as<float>()[i]));
  // A huge bias on key 4 only: every query attends to it alone, Y = 2 * V[key 4].
  in.back().tensor = ops::testing::f32({5}, {0, 0, 0, 0, 1e4f});
  const Tensor y4 = s->run(in)[0];
  const Tensor& v = in[2].tensor;
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t d = 0; d < 2; ++d)
        CHECK(y4.data_as<float>()[(h * 3 + i) * 2 + d] ==
              Approx(2 * v.data_as<float>()[(h * 5 + 4) * 2 + d]));
}

TEST_CASE("FlexAttention: a score_mod that changes the shape is an error", "[ops][flex]") {
  ModelBuilder mb = flex_model(2, 2);
  auto& n = mb.node("FlexAttention", {"Q", "K", "V"}, {"Y"}, "flex", "ai.onnx.preview");
  auto* sm = ModelBuilder::graph_attr(n, "score_mod");
  io(sm, "s", "s_out");
  *sm->add_initializer() = onnxio::tensor_to_proto(ops::testing::i64({1}, {-1}), "axes");
  ModelBuilder::graph_node(sm, "ReduceSum", {"s", "axes"}, {"s_out"});
  mb.output("Y");
  CHECK_THROWS_WITH(Session::from_bytes(mb.bytes())->run(inputs(2, 2)), Catch::Contains("score_mod"));
}
