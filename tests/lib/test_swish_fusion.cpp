// The swish fusion pass (passes/swish_fusion.cpp) and the activations it hands to the convs and GEMMs:
// every exporter form of SiLU and HardSwish after every conv form and a MatMul fuses, gives what the
// unfused graph gives, and nothing fuses where the pattern is not safe.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <string>

#include "engine_model_builder.h"
#include "graph/from_onnx.h"
#include "graph/optimizer.h"
#include "ops/act_rows.h"
#include "ortkit/kernels/epilogue.h"
#include "ortkit/session.h"

using namespace ortkit;
using ortkit::testing::make_f32;
using ortkit::testing::make_random;
using ortkit::testing::ModelBuilder;

namespace {

// How the activation is written: x * Sigmoid(x) in both operand orders, ONNX Swish (opset 24), ONNX
// HardSwish (opset 14), x * HardSigmoid(x) with alpha 1/6 and beta 1/2.
enum Form { sig_mul, mul_sig, swish, hard_swish, hard_sig_mul, kForms };
const char* kFormNames[] = {"x*Sigmoid(x)", "Sigmoid(x)*x", "Swish", "HardSwish", "x*HardSigmoid(x)"};

/// Appends the activation of `x` as `form`, writing `y`. `alpha` goes to Swish / HardSigmoid when set.
void add_activation(ModelBuilder& mb, Form form, const std::string& x, const std::string& y,
                    float alpha = -1.f) {
  switch (form) {
    case sig_mul:
    case mul_sig:
      mb.node("Sigmoid", {x}, {"sig"});
      mb.node("Mul",
              form == sig_mul ? std::vector<std::string>{x, "sig"} : std::vector<std::string>{"sig", x}, {y});
      break;
    case swish: {
      auto& n = mb.node("Swish", {x}, {y});
      if (alpha >= 0.f) ModelBuilder::attr_float(n, "alpha", alpha);
      break;
    }
    case hard_swish: mb.node("HardSwish", {x}, {y}); break;
    case hard_sig_mul: {
      auto& n = mb.node("HardSigmoid", {x}, {"hs"});
      ModelBuilder::attr_float(n, "alpha", alpha >= 0.f ? alpha : 1.f / 6.f);
      ModelBuilder::attr_float(n, "beta", 0.5f);
      mb.node("Mul", {x, "hs"}, {y});
      break;
    }
    default: break;
  }
}

struct ConvCase {
  const char* name;
  int64_t cin, cout, hw, k, stride, group;
  const char* form;  ///< ORTKIT_CONV_FORM, or null for the default choice
  bool residual = false;
};

ModelBuilder conv_model(const ConvCase& c, Form form) {
  ModelBuilder mb(24);
  mb.input("x", {int64_t{1}, c.cin, c.hw, c.hw});
  // Weights of order one so the activations see both signs and the saturated ends of HardSwish.
  Tensor w = make_random({c.cout, c.cin / c.group, c.k, c.k}, 5);
  for (int64_t i = 0; i < w.numel(); ++i) w.data_as<float>()[i] *= 3.f;
  mb.init("w", w);
  mb.init("b", make_random({c.cout}, 6));
  auto& n = mb.node("Conv", {"x", "w", "b"}, {"c"});
  const int64_t p = c.k / 2;
  ModelBuilder::attr_ints(n, "pads", {p, p, p, p});
  ModelBuilder::attr_ints(n, "strides", {c.stride, c.stride});
  ModelBuilder::attr_int(n, "group", c.group);
  const char* x = "c";  // a char pointer: assigning a literal to a std::string trips GCC 12's -Wrestrict
  if (c.residual) {
    const int64_t oh = (c.hw + 2 * p - c.k) / c.stride + 1;
    mb.input("r", {int64_t{1}, c.cout, oh, oh});
    mb.node("Add", {"c", "r"}, {"s"});
    x = "s";
  }
  add_activation(mb, form, x, "y");
  mb.output("y");
  return mb;
}

int count(const std::map<std::string, int>& m, const std::string& op) {
  const auto it = m.find(op);
  return it == m.end() ? 0 : it->second;
}

/// Runs `mb` unoptimized and optimized on the same inputs; checks the outputs agree.
void check_against_unfused(ModelBuilder& mb, const std::vector<NamedTensor>& feeds, float tol) {
  SessionOptions o0, o99;
  o0.optimization_level = 0;
  auto s0 = Session::from_bytes(mb.bytes(), o0), s1 = Session::from_bytes(mb.bytes(), o99);
  const Tensor y0 = s0->run(feeds)[0].clone();
  const Tensor y1 = s1->run(feeds)[0];
  REQUIRE(y1.shape() == y0.shape());
  for (int64_t i = 0; i < y0.numel(); ++i) {
    const float a = y0.data_as<float>()[i], b = y1.data_as<float>()[i];
    CHECK(b == Approx(a).margin(tol).epsilon(tol));
  }
}

}  // namespace

TEST_CASE("SiLU and HardSwish after each conv form go into the conv and match the unfused graph",
          "[optimizer][conv]") {
  const ConvCase cases[] = {
      {"im2col 3x3 stride 2", 8, 12, 9, 3, 2, 1, "packed"},
      {"direct 1x1", 16, 24, 12, 1, 1, 1, "direct"},
      {"wide 3x3", 8, 12, 7, 3, 1, 1, "wide"},
      {"winograd 3x3", 8, 12, 10, 3, 1, 1, "winograd"},
      {"few-channel stem", 3, 16, 11, 3, 2, 1, "few"},
      {"depthwise 3x3", 24, 24, 20, 3, 1, 24, nullptr},
      {"depthwise 5x5 stride 2", 20, 20, 17, 5, 2, 20, nullptr},
      {"depthwise row groups", 16, 16, 33, 3, 1, 16, nullptr},
      {"grouped", 16, 16, 9, 3, 1, 4, nullptr},
      {"residual join, direct", 16, 16, 12, 1, 1, 1, "direct", true},
      {"residual join, packed", 8, 8, 9, 3, 1, 1, "packed", true},
  };
  for (const ConvCase& c : cases) {
    if (c.form) ::setenv("ORTKIT_CONV_FORM", c.form, 1);
    for (int f = 0; f < kForms; ++f) {
      CAPTURE(c.name, kFormNames[f]);
      ModelBuilder mb = conv_model(c, static_cast<Form>(f));
      auto s = Session::from_bytes(mb.bytes());
      const auto counts = s->op_counts();
      CHECK(counts.size() == 1);
      CHECK(count(counts, "FusedConv") == 1);
      std::vector<NamedTensor> feeds = {{"x", make_random({1, c.cin, c.hw, c.hw}, 7)}};
      if (c.residual) {
        const int64_t p = c.k / 2, oh = (c.hw + 2 * p - c.k) / c.stride + 1;
        feeds.push_back({"r", make_random({1, c.cout, oh, oh}, 8)});
      }
      check_against_unfused(mb, feeds, 2e-5f);
    }
    ::unsetenv("ORTKIT_CONV_FORM");
  }
}

TEST_CASE("SiLU and HardSwish after a MatMul go into its epilogue", "[optimizer]") {
  for (int f = 0; f < kForms; ++f) {
    CAPTURE(kFormNames[f]);
    ModelBuilder mb(24);
    mb.input("a", {int64_t{2}, "m", int64_t{40}});
    Tensor w = make_random({40, 37}, 3);
    for (int64_t i = 0; i < w.numel(); ++i) w.data_as<float>()[i] *= 2.f;
    mb.init("W", w);
    mb.node("MatMul", {"a", "W"}, {"x"});
    add_activation(mb, static_cast<Form>(f), "x", "y");
    mb.output("y");
    auto s = Session::from_bytes(mb.bytes());
    const auto counts = s->op_counts();
    CHECK(counts.size() == 1);
    CHECK(count(counts, "FusedMatMul") == 1);
    check_against_unfused(mb, {{"a", make_random({2, 19, 40}, 4)}}, 2e-5f);
  }
}

TEST_CASE("the swish fusion leaves unsafe patterns alone", "[optimizer]") {
  using graph::from_onnx;
  auto build = [](int variant) {
    ModelBuilder mb(24);
    mb.input("a", {int64_t{3}, int64_t{8}});
    mb.input("z", {int64_t{3}, int64_t{5}});
    mb.init("W", make_random({8, 5}, 11));
    mb.node("MatMul", {"a", "W"}, {"x"});
    switch (variant) {
      case 0:  // x has a reader outside the pattern
        add_activation(mb, sig_mul, "x", "y");
        mb.node("Relu", {"x"}, {"other"});
        mb.output("other");
        break;
      case 1:  // x * Sigmoid(z): not x's own gate
        mb.node("Sigmoid", {"z"}, {"sig"});
        mb.node("Mul", {"x", "sig"}, {"y"});
        break;
      case 2: add_activation(mb, swish, "x", "y", 2.f); break;          // Swish with alpha != 1
      case 3: add_activation(mb, hard_sig_mul, "x", "y", 0.2f); break;  // HardSigmoid's default alpha
      case 4:                                                           // the gate has a second reader
        add_activation(mb, sig_mul, "x", "y");
        mb.output("sig");
        break;
      case 5:  // x is a graph output
        add_activation(mb, hard_swish, "x", "y");
        mb.output("x");
        break;
    }
    mb.output("y");
    return mb;
  };
  for (int v = 0; v < 6; ++v) {
    CAPTURE(v);
    ModelBuilder mb = build(v);
    graph::Graph g = from_onnx(mb.proto(), "test", ".");
    CHECK(graph::fuse_swish(g) == 0);
    // And the session's outputs still match the unfused run.
    SessionOptions o0;
    o0.optimization_level = 0;
    auto s0 = Session::from_bytes(mb.bytes(), o0), s1 = Session::from_bytes(mb.bytes());
    const std::vector<NamedTensor> feeds = {{"a", make_random({3, 8}, 1)}, {"z", make_random({3, 5}, 2)}};
    std::vector<Tensor> y0;
    for (const Tensor& t : s0->run(feeds)) y0.push_back(t.clone());
    const auto y1 = s1->run(feeds);
    REQUIRE(y1.size() == y0.size());
    for (size_t o = 0; o < y0.size(); ++o)
      for (int64_t i = 0; i < y0[o].numel(); ++i)
        CHECK(y1[o].template data_as<float>()[i] == Approx(y0[o].template data_as<float>()[i]).margin(1e-6));
  }
}

TEST_CASE("act_inplace agrees with the scalar activation over signs, extremes and NaN", "[ops]") {
  std::vector<float> v;
  for (int i = -400; i <= 400; ++i) v.push_back(static_cast<float>(i) * 0.05f);
  for (float e : {-3e38f, -1e36f, -1e30f, -200.f, -88.f, -87.f, -3.f, -2.99999f, 3.f, 3.00001f, 87.f, 89.f,
                  200.f, 1e30f, 3e38f, 0.f, -0.f})
    v.push_back(e);
  v.push_back(std::nanf(""));
  using kernels::Act;
  for (Act a : {Act::none, Act::relu, Act::clip, Act::gelu_erf, Act::gelu_tanh, Act::silu, Act::hardswish}) {
    CAPTURE(kernels::act_name(a));
    std::vector<float> y = v;
    ops::act_inplace(y.data(), static_cast<int64_t>(y.size()), a, -1.5f, 2.5f);
    for (size_t i = 0; i < v.size(); ++i) {
      CAPTURE(v[i]);
      const float want = kernels::apply_act(v[i], a, -1.5f, 2.5f);
      if (std::isnan(want)) {
        CHECK(std::isnan(y[i]));
        continue;
      }
      CHECK(y[i] == Approx(want).margin(1e-6).epsilon(1e-6));
    }
  }
}

TEST_CASE("activation names round-trip and unknown names are refused", "[ops]") {
  using kernels::Act;
  for (Act a : {Act::none, Act::relu, Act::clip, Act::gelu_erf, Act::gelu_tanh, Act::silu, Act::hardswish}) {
    Act back = Act::relu;
    REQUIRE(kernels::act_from_name(kernels::act_name(a), back));
    CHECK(back == a);
  }
  Act a;
  CHECK(kernels::act_from_name("", a));
  CHECK(a == Act::none);
  CHECK_FALSE(kernels::act_from_name("swish2", a));
}
