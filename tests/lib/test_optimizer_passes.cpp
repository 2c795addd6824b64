// Optimizer passes, one section each: the rewrite happens for the exporters' variants (operand order,
// constants as initializers or Constant nodes) and does not happen when the pattern is not safe.
#include <catch2/catch.hpp>
#include <cmath>

#include "engine_model_builder.h"
#include "graph/from_onnx.h"
#include "graph/optimizer.h"
#include "ortkit/session.h"

using namespace ortkit;
using namespace ortkit::graph;
using ortkit::testing::make_f32;
using ortkit::testing::make_i64;
using ortkit::testing::make_random;
using ortkit::testing::ModelBuilder;

namespace {

Graph load(ModelBuilder& mb) {
  return from_onnx(mb.proto(), "test", ".");
}

int count_op(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op_type == op;
  return n;
}

Tensor scalar(float v) {
  return make_f32({}, {v});
}

/// x = a @ W (+ bias) followed by a GELU written by `variant`.
ModelBuilder gelu_model(int variant, bool with_bias, bool constant_nodes) {
  ModelBuilder mb;
  mb.input("a", {"m", int64_t{8}});
  mb.init("W", make_random({8, 5}, 11));
  auto c = [&](const std::string& name, float v) {
    if (constant_nodes)
      ModelBuilder::attr_tensor(mb.node("Constant", {}, {name}), "value", scalar(v));
    else
      mb.init(name, scalar(v));
    return name;
  };
  if (with_bias) {
    mb.init("bias", make_random({5}, 12));
    mb.node("MatMul", {"a", "W"}, {"mm"});
    mb.node("Add", {"bias", "mm"}, {"x"});  // bias first: exporters vary
  } else {
    mb.node("MatMul", {"a", "W"}, {"x"});
  }
  switch (variant) {
    case 0:  // erf: Div by sqrt2, (x * e) * 0.5
      mb.node("Div", {"x", c("sqrt2", std::sqrt(2.f))}, {"t"});
      mb.node("Erf", {"t"}, {"e"});
      mb.node("Add", {"e", c("one", 1.f)}, {"e1"});
      mb.node("Mul", {"x", "e1"}, {"xe"});
      mb.node("Mul", {"xe", c("half", 0.5f)}, {"y"});
      break;
    case 1:  // erf: Mul by 1/sqrt2, x * (e * 0.5)
      mb.node("Mul", {c("isqrt2", 1.f / std::sqrt(2.f)), "x"}, {"t"});
      mb.node("Erf", {"t"}, {"e"});
      mb.node("Add", {c("one", 1.f), "e"}, {"e1"});
      mb.node("Mul", {"e1", c("half", 0.5f)}, {"eh"});
      mb.node("Mul", {"eh", "x"}, {"y"});
      break;
    case 2:  // erf: (x * 0.5) * e
      mb.node("Div", {"x", c("sqrt2", std::sqrt(2.f))}, {"t"});
      mb.node("Erf", {"t"}, {"e"});
      mb.node("Add", {"e", c("one", 1.f)}, {"e1"});
      mb.node("Mul", {"x", c("half", 0.5f)}, {"xh"});
      mb.node("Mul", {"xh", "e1"}, {"y"});
      break;
    case 3:  // tanh with Pow(x, 3)
    case 4:  // tanh with x * x * x
      if (variant == 3) {
        mb.node("Pow", {"x", c("three", 3.f)}, {"x3"});
      } else {
        mb.node("Mul", {"x", "x"}, {"xx"});
        mb.node("Mul", {"xx", "x"}, {"x3"});
      }
      mb.node("Mul", {c("k", 0.044715f), "x3"}, {"kx3"});
      mb.node("Add", {"x", "kx3"}, {"inner"});
      mb.node("Mul", {"inner", c("s2pi", std::sqrt(2.f / static_cast<float>(M_PI)))}, {"t"});
      mb.node("Tanh", {"t"}, {"e"});
      mb.node("Add", {"e", c("one", 1.f)}, {"e1"});
      mb.node("Mul", {"x", "e1"}, {"xe"});
      mb.node("Mul", {"xe", c("half", 0.5f)}, {"y"});
      break;
  }
  mb.output("y");
  return mb;
}

}  // namespace

TEST_CASE("constant folding evaluates all-constant nodes, not overridable ones", "[optimizer]") {
  ModelBuilder mb(13, 4);
  mb.input("x", {int64_t{2}});
  mb.init("c1", make_f32({2}, {1, -2}));
  mb.init("c2", make_f32({2}, {3, 4}));
  mb.init("ov", make_f32({2}, {5, 6}), /*also_input=*/true);
  mb.node("Add", {"c1", "c2"}, {"s"});
  mb.node("Relu", {"s"}, {"r"});        // folds too, once s is constant
  mb.node("Add", {"ov", "c1"}, {"o"});  // overridable: stays
  mb.node("Add", {"x", "r"}, {"y1"});
  mb.node("Add", {"y1", "o"}, {"y"});
  mb.output("y");
  Graph g = load(mb);
  CHECK(fold_constants(g) == 2);
  CHECK(g.nodes.size() == 3);
  REQUIRE(g.constant("r"));
  CHECK(g.constant("r")->data_as<float>()[0] == 4);
  CHECK(g.constant("r")->data_as<float>()[1] == 2);
  CHECK(remove_dead_nodes(g) == 0);
  CHECK_FALSE(g.initializers.count("s"));  // no longer read: dropped
}

TEST_CASE("dead node removal keeps what outputs need", "[optimizer]") {
  ModelBuilder mb;
  mb.input("x", {int64_t{2}});
  mb.init("unused_w", make_f32({2}, {1, 2}));
  mb.node("Relu", {"x"}, {"a"});
  mb.node("Add", {"a", "unused_w"}, {"dead1"});
  mb.node("Relu", {"dead1"}, {"dead2"});
  mb.node("Relu", {"a"}, {"y"});
  mb.output("y");
  Graph g = load(mb);
  CHECK(remove_dead_nodes(g) == 2);
  CHECK(g.nodes.size() == 2);
  CHECK_FALSE(g.initializers.count("unused_w"));
}

TEST_CASE("MatMul + Add(bias) becomes FusedMatMul in either operand order", "[optimizer]") {
  for (int order = 0; order < 3; ++order) {
    ModelBuilder mb;
    mb.input("a", {"m", int64_t{4}});
    mb.init("W", make_random({4, 3}, 2));
    mb.init("b", order == 2 ? make_random({1, 3}, 3) : make_random({3}, 3));
    mb.node("MatMul", {"a", "W"}, {"mm"});
    if (order == 1)
      mb.node("Add", {"b", "mm"}, {"y"});
    else
      mb.node("Add", {"mm", "b"}, {"y"});
    mb.output("y");
    Graph g = load(mb);
    CHECK(fuse_matmul_add(g) == 1);
    REQUIRE(g.nodes.size() == 1);
    CHECK(g.nodes[0].op_type == "FusedMatMul");
    CHECK(g.nodes[0].outputs[0] == "y");
    // Same numbers as the unfused graph.
    SessionOptions o0, o99;
    o0.optimization_level = 0;
    auto s0 = Session::from_bytes(mb.bytes(), o0), s1 = Session::from_bytes(mb.bytes(), o99);
    CHECK(s1->op_counts().count("FusedMatMul") == 1);
    Tensor a = make_random({5, 4}, 9);
    Tensor y0 = s0->run({{"a", a}})[0].clone(), y1 = s1->run({{"a", a}})[0];
    for (int64_t i = 0; i < y0.numel(); ++i) CHECK(y1.data_as<float>()[i] == Approx(y0.data_as<float>()[i]));
  }
  // Not when the Add is not a bias (a non-constant operand) or the MatMul output has other readers.
  ModelBuilder mb;
  mb.input("a", {int64_t{2}, int64_t{4}});
  mb.input("z", {int64_t{2}, int64_t{3}});
  mb.init("W", make_random({4, 3}, 2));
  mb.node("MatMul", {"a", "W"}, {"mm"});
  mb.node("Add", {"mm", "z"}, {"y"});
  mb.output("y");
  Graph g = load(mb);
  CHECK(fuse_matmul_add(g) == 0);
}

TEST_CASE("an opset 6 Add with broadcast=1 and an axis stays out of the bias fusion", "[optimizer][legacy]") {
  // b [2] over axis 0 of mm [2, 2] adds b[i] to row i; a bias fusion would add b[j] to column j.
  ModelBuilder mb(6);
  mb.input("a", {int64_t{2}, int64_t{3}});
  mb.init("W", make_random({3, 2}, 2));
  mb.init("b", make_f32({2}, {100, -100}));
  mb.node("MatMul", {"a", "W"}, {"mm"});
  auto& add = mb.node("Add", {"mm", "b"}, {"y"});
  ModelBuilder::attr_int(add, "broadcast", 1);
  ModelBuilder::attr_int(add, "axis", 0);
  mb.output("y");
  auto s = Session::from_bytes(mb.bytes());
  CHECK(s->op_counts().count("FusedMatMul") == 0);
  const Tensor a = make_random({2, 3}, 9), W = make_random({3, 2}, 2);
  const Tensor y = s->run({{"a", a}})[0];
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 2; ++j) {
      double x = i == 0 ? 100 : -100;
      for (int64_t k = 0; k < 3; ++k) x += a.data_as<float>()[i * 3 + k] * W.data_as<float>()[k * 2 + j];
      CHECK(y.data_as<float>()[i * 2 + j] == Approx(x).margin(1e-4));
    }
}

TEST_CASE("GELU (erf and tanh forms, any order) goes into the GEMM epilogue", "[optimizer]") {
  for (int variant = 0; variant < 5; ++variant) {
    for (bool bias : {false, true}) {
      for (bool cnodes : {false, true}) {
        CAPTURE(variant, bias, cnodes);
        ModelBuilder mb = gelu_model(variant, bias, cnodes);
        auto s = Session::from_bytes(mb.bytes());
        const auto counts = s->op_counts();
        CHECK(counts.size() == 1);
        CHECK(counts.count("FusedMatMul") == 1);
        // Numbers: the fused GEMM against GELU computed here.
        Tensor a = make_random({3, 8}, 5);
        Tensor y = s->run({{"a", a}})[0];
        const Tensor W = make_random({8, 5}, 11), b = make_random({5}, 12);
        for (int64_t i = 0; i < 3; ++i)
          for (int64_t j = 0; j < 5; ++j) {
            double x = bias ? b.data_as<float>()[j] : 0.0;
            for (int64_t k = 0; k < 8; ++k)
              x += a.data_as<float>()[i * 8 + k] * W.data_as<float>()[k * 5 + j];
            const double ref =
                variant < 3 ? 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)))
                            : 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
            CHECK(y.data_as<float>()[i * 5 + j] == Approx(ref).margin(1e-4));
          }
      }
    }
  }
}

TEST_CASE("GELU is not fused when x has readers outside the pattern", "[optimizer]") {
  ModelBuilder mb = gelu_model(0, true, false);
  mb.node("Relu", {"x"}, {"other"});
  mb.output("other");
  Graph g = load(mb);
  fuse_matmul_add(g);
  CHECK(fuse_gelu(g) == 0);
  CHECK(count_op(g, "Erf") == 1);
}

namespace {
ModelBuilder layernorm_model(bool use_pow, bool axes_input, bool swap) {
  ModelBuilder mb(axes_input ? 18 : 13);
  mb.input("x", {"b", int64_t{4}, int64_t{6}});
  mb.init("gamma", make_random({6}, 1));
  mb.init("beta", make_random({6}, 2));
  mb.init("eps", scalar(1e-5f));
  mb.init("two", scalar(2.f));
  mb.init("axes", make_i64({1}, {-1}));
  auto rm = [&](const std::string& in, const std::string& out) {
    auto& n =
        mb.node("ReduceMean",
                axes_input ? std::vector<std::string>{in, "axes"} : std::vector<std::string>{in}, {out});
    if (!axes_input) ModelBuilder::attr_ints(n, "axes", {-1});
  };
  rm("x", "mean");
  mb.node("Sub", {"x", "mean"}, {"d"});
  if (use_pow)
    mb.node("Pow", {"d", "two"}, {"d2"});
  else
    mb.node("Mul", {"d", "d"}, {"d2"});
  rm("d2", "var");
  mb.node("Add", swap ? std::vector<std::string>{"eps", "var"} : std::vector<std::string>{"var", "eps"},
          {"ve"});
  mb.node("Sqrt", {"ve"}, {"sd"});
  mb.node("Div", {"d", "sd"}, {"n"});
  mb.node("Mul", swap ? std::vector<std::string>{"gamma", "n"} : std::vector<std::string>{"n", "gamma"},
          {"ng"});
  mb.node("Add", swap ? std::vector<std::string>{"beta", "ng"} : std::vector<std::string>{"ng", "beta"},
          {"y"});
  mb.output("y");
  return mb;
}
}  // namespace

TEST_CASE("decomposed LayerNorm becomes LayerNormalization", "[optimizer]") {
  for (bool use_pow : {true, false})
    for (bool axes_input : {false, true})
      for (bool swap : {false, true}) {
        CAPTURE(use_pow, axes_input, swap);
        ModelBuilder mb = layernorm_model(use_pow, axes_input, swap);
        Graph g = load(mb);
        CHECK(fuse_layer_norm(g, /*require_kernel=*/false) == 1);
        REQUIRE(g.nodes.size() == 1);
        const Node& n = g.nodes[0];
        CHECK(n.op_type == "LayerNormalization");
        CHECK(n.opset == 17);
        CHECK(n.inputs == std::vector<std::string>{"x", "gamma", "beta"});
        CHECK(n.outputs[0] == "y");
        CHECK(n.attrs.get_int("axis") == -1);
        CHECK(n.attrs.get_float("epsilon") == Approx(1e-5f));
      }
  // The centred value d read elsewhere: no fusion.
  ModelBuilder mb = layernorm_model(true, false, false);
  mb.node("Relu", {"d"}, {"other"});
  mb.output("other");
  Graph g = load(mb);
  CHECK(fuse_layer_norm(g, false) == 0);
}

TEST_CASE("Conv + BatchNormalization folds into the Conv's weights and bias", "[optimizer]") {
  for (bool conv_bias : {false, true}) {
    ModelBuilder mb;
    mb.input("x", {int64_t{1}, int64_t{2}, int64_t{4}, int64_t{4}});
    const Tensor W = make_random({3, 2, 1, 1}, 4), B = make_f32({3}, {0.1f, 0.2f, 0.3f});
    const Tensor sc = make_f32({3}, {1, 2, 0.5f}), bi = make_f32({3}, {0, 1, -1}),
                 mean = make_f32({3}, {0.5f, 0, 1}), var = make_f32({3}, {1, 4, 0.25f});
    mb.init("W", W).init("B", B).init("sc", sc).init("bi", bi).init("mean", mean).init("var", var);
    mb.node("Conv", conv_bias ? std::vector<std::string>{"x", "W", "B"} : std::vector<std::string>{"x", "W"},
            {"c"}, "conv");
    auto& bn = mb.node("BatchNormalization", {"c", "sc", "bi", "mean", "var"}, {"y"});
    ModelBuilder::attr_float(bn, "epsilon", 0.f);
    mb.output("y");
    Graph g = load(mb);
    CHECK(fold_conv_batchnorm(g) == 1);
    REQUIRE(g.nodes.size() == 1);
    const Node& c = g.nodes[0];
    CHECK(c.outputs[0] == "y");
    const Tensor* w2 = g.constant(c.inputs[1]);
    const Tensor* b2 = g.constant(c.inputs[2]);
    REQUIRE(w2);
    REQUIRE(b2);
    for (int oc = 0; oc < 3; ++oc) {
      const float s = sc.data_as<float>()[oc] / std::sqrt(var.data_as<float>()[oc]);
      for (int i = 0; i < 2; ++i)
        CHECK(w2->data_as<float>()[oc * 2 + i] == Approx(W.data_as<float>()[oc * 2 + i] * s));
      const float b0 = conv_bias ? B.data_as<float>()[oc] : 0.f;
      CHECK(b2->data_as<float>()[oc] ==
            Approx((b0 - mean.data_as<float>()[oc]) * s + bi.data_as<float>()[oc]));
    }
  }
}

TEST_CASE("Conv + Relu / Clip becomes FusedConv with the activation attributes", "[optimizer]") {
  for (int form = 0; form < 3; ++form) {
    ModelBuilder mb(form == 1 ? 6 : 13);
    mb.input("x", {int64_t{1}, int64_t{2}, int64_t{4}, int64_t{4}});
    mb.init("W", make_random({3, 2, 1, 1}, 4));
    mb.init("lo", scalar(0.f)).init("hi", scalar(6.f));
    mb.node("Conv", {"x", "W"}, {"c"});
    if (form == 0) {
      mb.node("Relu", {"c"}, {"y"});
    } else if (form == 1) {
      auto& n = mb.node("Clip", {"c"}, {"y"});
      ModelBuilder::attr_float(n, "min", 0.f);
      ModelBuilder::attr_float(n, "max", 6.f);
    } else {
      mb.node("Clip", {"c", "lo", "hi"}, {"y"});
    }
    mb.output("y");
    Graph g = load(mb);
    CHECK(fuse_conv_activation(g, /*require_kernel=*/false) == 1);
    REQUIRE(g.nodes.size() == 1);
    const Node& n = g.nodes[0];
    CHECK(n.op_type == "FusedConv");
    CHECK(n.domain == "ortkit");
    CHECK(n.outputs[0] == "y");
    CHECK(n.attrs.get_string("activation") == (form == 0 ? "relu" : "clip"));
    if (form) {
      CHECK(n.attrs.get_float("clip_min") == 0.f);
      CHECK(n.attrs.get_float("clip_max") == 6.f);
    }
  }
}

TEST_CASE("Conv + Add [+ Relu] becomes FusedConv with Z, at the Add's place", "[optimizer]") {
  for (int form = 0; form < 4; ++form) {
    INFO("form " << form);
    const bool relu = form != 1, bias = form != 2, z_first = form == 3;
    ModelBuilder mb;
    mb.input("x", {int64_t{1}, int64_t{3}, int64_t{6}, int64_t{6}});
    mb.input("r", {int64_t{1}, int64_t{4}, int64_t{6}, int64_t{6}});
    mb.init("W", make_random({4, 3, 3, 3}, 4));
    mb.init("B", make_random({4}, 5));
    auto& conv = mb.node(
        "Conv", bias ? std::vector<std::string>{"x", "W", "B"} : std::vector<std::string>{"x", "W"}, {"c"});
    ModelBuilder::attr_ints(conv, "pads", {1, 1, 1, 1});
    mb.node("Sigmoid", {"r"}, {"z"});  // Z's producer comes after the conv
    mb.node("Add", z_first ? std::vector<std::string>{"z", "c"} : std::vector<std::string>{"c", "z"},
            {relu ? "s" : "y"});
    if (relu) mb.node("Relu", {"s"}, {"y"});
    mb.output("y");
    Graph g = load(mb);
    CHECK(fuse_conv_add(g, /*require_kernel=*/false) == 1);
    REQUIRE(g.nodes.size() == 2);
    CHECK(g.nodes[0].op_type == "Sigmoid");
    const Node& n = g.nodes[1];
    CHECK(n.op_type == "FusedConv");
    CHECK(n.domain == "ortkit");
    REQUIRE(n.inputs.size() == 4);
    CHECK(n.inputs[2] == (bias ? "B" : ""));
    CHECK(n.inputs[3] == "z");
    CHECK(n.outputs[0] == "y");
    CHECK(n.attrs.get_string("activation") == (relu ? "relu" : "none"));
    CHECK(n.attrs.get_ints("pads") == std::vector<int64_t>{1, 1, 1, 1});
    // Same numbers as the unfused graph.
    SessionOptions o0, o99;
    o0.optimization_level = 0;
    auto s0 = Session::from_bytes(mb.bytes(), o0), s1 = Session::from_bytes(mb.bytes(), o99);
    CHECK(s1->op_counts().count("FusedConv") == 1);
    CHECK(s1->op_counts().count("Add") == 0);
    const Tensor x = make_random({1, 3, 6, 6}, 7), r = make_random({1, 4, 6, 6}, 8);
    const Tensor y0 = s0->run({{"x", x}, {"r", r}})[0].clone();
    const Tensor y1 = s1->run({{"x", x}, {"r", r}})[0];
    for (int64_t i = 0; i < y0.numel(); ++i)
      CHECK(y1.data_as<float>()[i] == Approx(y0.data_as<float>()[i]).margin(1e-5));
  }
  // Not when the conv output has another reader, or the Add adds the conv output to itself.
  for (int form = 0; form < 2; ++form) {
    ModelBuilder mb;
    mb.input("x", {int64_t{1}, int64_t{2}, int64_t{4}, int64_t{4}});
    mb.input("z", {int64_t{1}, int64_t{3}, int64_t{4}, int64_t{4}});
    mb.init("W", make_random({3, 2, 1, 1}, 4));
    mb.node("Conv", {"x", "W"}, {"c"});
    mb.node("Add", {"c", form ? "c" : "z"}, {"y"});
    mb.output("y");
    if (!form) {
      mb.node("Neg", {"c"}, {"y2"});
      mb.output("y2");
    }
    Graph g = load(mb);
    CHECK(fuse_conv_add(g, /*require_kernel=*/false) == 0);
  }
}

TEST_CASE("optimize() runs the pipeline by level and logs rewrites", "[optimizer]") {
  ModelBuilder mb = gelu_model(0, true, true);
  Graph g = load(mb);
  OptimizeOptions o;
  o.level = 1;
  auto log1 = optimize(g, o);
  CHECK(count_op(g, "Erf") == 1);  // level 1: no fusions
  o.level = 99;
  auto log = optimize(g, o);
  CHECK(g.nodes.size() == 1);
  bool saw = false;
  for (const auto& l : log) saw = saw || l.rfind("gelu_fusion", 0) == 0;
  CHECK(saw);
}

TEST_CASE("single-node GELUs (ONNX Gelu, ORT's BiasGelu / FastGelu / Gelu) go into the GEMM epilogue",
          "[optimizer][contrib]") {
  struct Case {
    const char* op;
    const char* domain;
    bool bias;
  };
  for (const Case c : {Case{"BiasGelu", "com.microsoft", true}, Case{"FastGelu", "com.microsoft", true},
                       Case{"FastGelu", "com.microsoft", false}, Case{"Gelu", "com.microsoft", false},
                       Case{"Gelu", "", false}}) {
    for (bool mm_has_bias : {false, true}) {
      CAPTURE(c.op, c.domain, c.bias, mm_has_bias);
      ModelBuilder mb(c.domain[0] ? 14 : 20);
      mb.import("com.microsoft", 1);
      mb.input("a", {int64_t{3}, int64_t{4}});
      mb.init("W", make_random({4, 5}, 2));
      mb.init("b", make_random({5}, 3));
      mb.init("gb", make_random({5}, 4));
      mb.node("MatMul", {"a", "W"}, {"mm"});
      std::string x = "mm";
      if (mm_has_bias) {
        mb.node("Add", {"mm", "b"}, {"mmb"});
        x = "mmb";
      }
      std::vector<std::string> ins = {x};
      if (c.bias) ins.push_back("gb");
      mb.node(c.op, ins, {"y"}, "", c.domain);
      mb.output("y");
      SessionOptions o0, o99;
      o0.optimization_level = 0;
      auto s0 = Session::from_bytes(mb.bytes(), o0), s1 = Session::from_bytes(mb.bytes(), o99);
      // A GELU bias cannot join a GEMM that already took the Add's bias: that GELU node stays.
      const bool fused = !(c.bias && mm_has_bias);
      CHECK(s1->op_counts().count(c.op) == (fused ? 0u : 1u));
      CHECK(s1->op_counts().count("FusedMatMul") == 1);
      const Tensor a = make_random({3, 4}, 9);
      Tensor y0 = s0->run({{"a", a}})[0].clone(), y1 = s1->run({{"a", a}})[0];
      for (int64_t i = 0; i < y0.numel(); ++i)
        CHECK(y1.data_as<float>()[i] == Approx(y0.data_as<float>()[i]).margin(1e-6));
    }
  }
}

namespace {
/// Gemm(a2, W[, C]) with a2 = a [2, 3, 8] flattened to [6, 8] (torch's addmm for a Linear / GPT-2's Conv1D:
/// Reshape -> Gemm -> Reshape back to [2, 3, 5]) or a itself [6, 8] (no Reshapes), then a tanh GELU as
/// HF's NewGELUActivation exports it (Pow(x, 3)), or ONNX Gelu-20 with approximate = tanh.
struct GemmGelu {
  bool reshape = true, trans_b = false, onnx_gelu = false;
  int c_kind = 1;  // 0: no C, 1: C [5], 2: C [1, 5], 3: C [6, 5] (not a bias), 4: C [5] with beta 0
  float alpha = 1.f;
  bool extra_reader = false;  // the Gemm's output also feeds a graph output
};

ModelBuilder gemm_gelu_model(const GemmGelu& v) {
  ModelBuilder mb(v.onnx_gelu ? 20 : 17);
  mb.input("a", v.reshape ? std::vector<ortkit::testing::DimSpec>{int64_t{2}, int64_t{3}, int64_t{8}}
                          : std::vector<ortkit::testing::DimSpec>{int64_t{6}, int64_t{8}});
  mb.init("W", make_random(v.trans_b ? Shape{5, 8} : Shape{8, 5}, 21));
  std::vector<std::string> gin = {v.reshape ? "a2" : "a", "W"};
  if (v.c_kind > 0) {
    mb.init("C", make_random(v.c_kind == 2 ? Shape{1, 5} : v.c_kind == 3 ? Shape{6, 5} : Shape{5}, 22));
    gin.push_back("C");
  }
  if (v.reshape) {
    mb.init("flat", make_i64({2}, {-1, 8}));
    mb.init("back", make_i64({3}, {2, 3, 5}));
    mb.node("Reshape", {"a", "flat"}, {"a2"});
  }
  auto& gemm = mb.node("Gemm", gin, {v.reshape ? "g" : "x"});
  if (v.trans_b) ModelBuilder::attr_int(gemm, "transB", 1);
  if (v.alpha != 1.f) ModelBuilder::attr_float(gemm, "alpha", v.alpha);
  if (v.c_kind == 4) ModelBuilder::attr_float(gemm, "beta", 0.f);
  if (v.reshape) mb.node("Reshape", {"g", "back"}, {"x"});
  if (v.extra_reader) {
    mb.node("Neg", {v.reshape ? "g" : "x"}, {"other"});
    mb.output("other");
  }
  if (v.onnx_gelu) {
    ModelBuilder::attr_string(mb.node("Gelu", {"x"}, {"y"}), "approximate", "tanh");
  } else {
    mb.init("three", scalar(3.f));
    mb.init("k", scalar(0.044715f));
    mb.init("s2pi", scalar(std::sqrt(2.f / static_cast<float>(M_PI))));
    mb.init("one", scalar(1.f));
    mb.init("half", scalar(0.5f));
    mb.node("Mul", {"x", "half"}, {"xh"});  // HF: 0.5 * x * (1.0 + tanh(...))
    mb.node("Pow", {"x", "three"}, {"x3"});
    mb.node("Mul", {"k", "x3"}, {"kx3"});
    mb.node("Add", {"x", "kx3"}, {"inner"});
    mb.node("Mul", {"s2pi", "inner"}, {"t"});
    mb.node("Tanh", {"t"}, {"e"});
    mb.node("Add", {"one", "e"}, {"e1"});
    mb.node("Mul", {"xh", "e1"}, {"y"});
  }
  mb.output("y");
  return mb;
}
}  // namespace

TEST_CASE("GELU after an ONNX Gemm, also through torch's Reshape -> Gemm -> Reshape, goes into the epilogue",
          "[optimizer]") {
  std::vector<GemmGelu> cases;
  for (bool reshape : {true, false})
    for (bool trans_b : {false, true})
      for (int c_kind : {0, 1, 2, 4})
        for (bool onnx_gelu : {false, true}) {
          GemmGelu v;
          v.reshape = reshape;
          v.trans_b = trans_b;
          v.c_kind = c_kind;
          v.onnx_gelu = onnx_gelu;
          cases.push_back(v);
        }
  // Not fusable: alpha != 1 (FusedMatMul has no alpha), a C that is not a bias, another reader of the
  // GEMM's output.
  GemmGelu scaled, full_c, shared;
  scaled.alpha = 0.5f;
  full_c.c_kind = 3;
  full_c.reshape = false;
  shared.extra_reader = true;
  for (const GemmGelu& v : {scaled, full_c, shared}) cases.push_back(v);
  for (const GemmGelu& v : cases) {
    CAPTURE(v.reshape, v.trans_b, v.c_kind, v.onnx_gelu, v.alpha, v.extra_reader);
    const bool fusable = v.alpha == 1.f && v.c_kind != 3 && !v.extra_reader;
    ModelBuilder mb = gemm_gelu_model(v);
    SessionOptions o0, o99;
    o0.optimization_level = 0;
    auto s0 = Session::from_bytes(mb.bytes(), o0), s1 = Session::from_bytes(mb.bytes(), o99);
    const auto counts = s1->op_counts();
    CHECK(counts.count("FusedMatMul") == (fusable ? 1u : 0u));
    CHECK(counts.count("Gemm") == (fusable ? 0u : 1u));
    CHECK(counts.count(v.onnx_gelu ? "Gelu" : "Tanh") == (fusable ? 0u : 1u));
    CHECK((counts.count("Reshape") ? counts.at("Reshape") : 0) == (v.reshape ? 2 : 0));
    const Tensor a = make_random(v.reshape ? Shape{2, 3, 8} : Shape{6, 8}, 9);
    std::vector<Tensor> y0;
    for (const Tensor& t : s0->run({{"a", a}})) y0.push_back(t.clone());
    const auto y1 = s1->run({{"a", a}});
    REQUIRE(y1.size() == y0.size());
    for (size_t o = 0; o < y0.size(); ++o) {
      REQUIRE(y1[o].shape() == y0[o].shape());
      for (int64_t i = 0; i < y0[o].numel(); ++i)
        CHECK(y1[o].data_as<float>()[i] == Approx(y0[o].data_as<float>()[i]).margin(2e-6));
    }
  }
}

TEST_CASE("index_bound reads the tables of ORT's EmbedLayerNormalization", "[optimizer][contrib][session]") {
  ModelBuilder mb(14);
  mb.import("com.microsoft", 1);
  mb.input("input_ids", {std::string("batch"), std::string("sequence")}, 7);
  mb.input("token_type_ids", {std::string("batch"), std::string("sequence")}, 7);
  mb.init("we", make_random({37, 4}, 1));
  mb.init("pe", make_random({16, 4}, 2));
  mb.init("se", make_random({3, 4}, 3));
  mb.init("g", make_random({4}, 4));
  mb.init("b", make_random({4}, 5));
  auto& ids = mb.node("Cast", {"input_ids"}, {"ids32"});
  ModelBuilder::attr_int(ids, "to", 6);
  auto& seg = mb.node("Cast", {"token_type_ids"}, {"seg32"});
  ModelBuilder::attr_int(seg, "to", 6);
  mb.node("EmbedLayerNormalization", {"ids32", "seg32", "we", "pe", "se", "g", "b"}, {"y"}, "", "com.microsoft");
  mb.output("y");
  auto s = Session::from_bytes(mb.bytes());
  CHECK(s->index_bound("input_ids") == 37);
  CHECK(s->index_bound("token_type_ids") == 3);
}
