// CausalConvWithState and LinearAttention (opset 27): values worked out by hand, and the property that
// makes the carried state worth having: a prefill split in two calls, the second taking the first's
// present_state, gives what one call over all tokens gives. The onnx 1.23 node suite checks them
// against onnx's reference (ctest backend:onnx_pypi_node_tests).
#include <catch2/catch.hpp>
#include <cmath>

#include "ops/eval.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

namespace {

EvalOptions opset27(int outputs = 2) {
  EvalOptions o = at(27);
  o.num_outputs = outputs;
  return o;
}

/// Tokens [from, from + n) of a [B, T, W] tensor.
Tensor tokens(const Tensor& x, int64_t from, int64_t n) {
  const int64_t B = x.shape()[0], T = x.shape()[1], W = x.shape()[2];
  Tensor r(DType::f32, {B, n, W});
  for (int64_t b = 0; b < B; ++b)
    std::copy_n(x.data_as<float>() + (b * T + from) * W, n * W, r.data_as<float>() + b * n * W);
  return r;
}

}  // namespace

TEST_CASE("CausalConvWithState: depthwise causal conv over the past state, SiLU, present state",
          "[ops][recent]") {
  // One channel, k = 3: y_t = w0 x_{t-2} + w1 x_{t-1} + w2 x_t + bias over [past | input].
  const Tensor x = f32({1, 1, 3}, {1, 2, 3}), w = f32({1, 1, 3}, {0.5f, -1, 2}), b = f32({1}, {0.25f});
  const Tensor past = f32({1, 1, 2}, {4, 5});
  const auto r = eval_single("CausalConvWithState", {x, w, b, past}, {}, opset27());
  // padded = 4 5 1 2 3
  CHECK(vals<float>(r[0]) == std::vector<float>{0.5f * 4 - 5 + 2 * 1 + 0.25f, 0.5f * 5 - 1 + 2 * 2 + 0.25f,
                                                0.5f * 1 - 2 + 2 * 3 + 0.25f});
  CHECK(vals<float>(r[1]) == std::vector<float>{2, 3});
  Attrs silu;
  silu.set_string("activation", "silu");
  const auto s =
      vals<float>(eval_single("CausalConvWithState", {x, w, Tensor(), Tensor()}, silu, opset27())[0]);
  const float y0 = 2 * 1.f;  // no past: zeros before the input
  CHECK(s[0] == Approx(y0 / (1 + std::exp(-y0))));
  Attrs bad;
  bad.set_string("activation", "gelu");
  CHECK_THROWS_AS(eval_single("CausalConvWithState", {x, w}, bad, opset27()), Error);
}

TEST_CASE("CausalConvWithState: two calls with the carried state equal one call", "[ops][recent]") {
  const Tensor x = rnd({2, 3, 7}, 1), w = rnd({3, 1, 4}, 2);
  const auto whole = eval_single("CausalConvWithState", {x, w}, {}, opset27());
  auto cut = [&](int64_t from, int64_t n) {
    Tensor r(DType::f32, {2, 3, n});
    for (int64_t row = 0; row < 6; ++row)
      std::copy_n(x.data_as<float>() + row * 7 + from, n, r.data_as<float>() + row * n);
    return r;
  };
  const auto first = eval_single("CausalConvWithState", {cut(0, 5), w}, {}, opset27());
  const auto second = eval_single("CausalConvWithState", {cut(5, 2), w, Tensor(), first[1]}, {}, opset27());
  for (int64_t row = 0; row < 6; ++row)
    for (int64_t t = 0; t < 2; ++t)
      CHECK(second[0].data_as<float>()[row * 2 + t] == Approx(whole[0].data_as<float>()[row * 7 + 5 + t]));
  CHECK(max_abs_diff(second[1], whole[1]) == 0.f);
}

TEST_CASE("LinearAttention: the linear rule by hand, one head", "[ops][recent]") {
  // d_k = d_v = 1: S_t = S_{t-1} + k_t v_t, o_t = scale * q_t S_t, scale = 1/sqrt(1) = 1.
  Attrs a;
  a.set_int("q_num_heads", 1);
  a.set_int("kv_num_heads", 1);
  a.set_string("update_rule", "linear");
  const Tensor q = f32({1, 3, 1}, {1, 2, -1}), k = f32({1, 3, 1}, {2, 1, 3}),
               v = f32({1, 3, 1}, {1, 4, 0.5f});
  const auto r = eval_single("LinearAttention", {q, k, v}, a, opset27());
  // S: 2, 2 + 4 = 6, 6 + 1.5 = 7.5
  CHECK(vals<float>(r[0]) == std::vector<float>{2, 12, -7.5f});
  CHECK(vals<float>(r[1]) == std::vector<float>{7.5f});
  a.set_string("update_rule", "gated");  // gated needs decay
  CHECK_THROWS_AS(eval_single("LinearAttention", {q, k, v}, a, opset27()), Error);
}

TEST_CASE("LinearAttention: gated delta with GQA, prefill in two calls equals one", "[ops][recent]") {
  const int64_t B = 2, T = 5, Hq = 4, Hkv = 2, dk = 4, dv = 3;
  Attrs a;
  a.set_int("q_num_heads", Hq);
  a.set_int("kv_num_heads", Hkv);
  const Tensor q = rnd({B, T, Hq * dk}, 1), k = rnd({B, T, Hkv * dk}, 2), v = rnd({B, T, Hkv * dv}, 3);
  Tensor decay = rnd({B, T, Hkv * dk}, 4), beta = rnd({B, T, Hkv}, 5);
  for (int64_t i = 0; i < decay.numel(); ++i)
    decay.data_as<float>()[i] = -std::fabs(decay.data_as<float>()[i]);
  for (int64_t i = 0; i < beta.numel(); ++i)
    beta.data_as<float>()[i] = 0.5f + 0.4f * beta.data_as<float>()[i];
  const auto whole = eval_single("LinearAttention", {q, k, v, Tensor(), decay, beta}, a, opset27());
  const auto first = eval_single(
      "LinearAttention",
      {tokens(q, 0, 3), tokens(k, 0, 3), tokens(v, 0, 3), Tensor(), tokens(decay, 0, 3), tokens(beta, 0, 3)},
      a, opset27());
  const auto rest = eval_single(
      "LinearAttention",
      {tokens(q, 3, 2), tokens(k, 3, 2), tokens(v, 3, 2), first[1], tokens(decay, 3, 2), tokens(beta, 3, 2)},
      a, opset27());
  CHECK(max_abs_diff(rest[0], tokens(whole[0], 3, 2)) < 1e-5f);
  CHECK(max_abs_diff(rest[1], whole[1]) < 1e-5f);
}
