// Softmax/LogSoftmax opset semantics (coerce-to-2D before 13, one axis after; strided axes),
// LayerNormalization (ONNX and ortkit domains, Mean/InvStdDev outputs), BatchNormalization inference.
#include <catch2/catch.hpp>
#include <cmath>

#include "ops/eval.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

namespace {
// Reference softmax over `len` elements at stride `inner`.
void ref_softmax(const float* x, float* y, int64_t len, int64_t inner, bool lg) {
  double m = -1e30, s = 0;
  for (int64_t k = 0; k < len; ++k) m = std::max<double>(m, x[k * inner]);
  for (int64_t k = 0; k < len; ++k) s += std::exp(x[k * inner] - m);
  for (int64_t k = 0; k < len; ++k)
    y[k * inner] = static_cast<float>(lg ? x[k * inner] - m - std::log(s) : std::exp(x[k * inner] - m) / s);
}
}  // namespace

TEST_CASE("Softmax axis semantics differ between opset 11 and 13", "[ops][normalization]") {
  const Tensor x = rnd({2, 3, 5}, 4);
  Attrs a;
  a.set_int("axis", 1);
  EvalOptions o11, o13;
  o11.opset = 11;
  o13.opset = 13;
  for (bool lg : {false, true}) {
    const char* op = lg ? "LogSoftmax" : "Softmax";
    // opset 11: rows of 15 (dims 1.. flattened).
    const Tensor y11 = eval_single(op, {x}, a, o11)[0];
    Tensor r11(DType::f32, x.shape());
    for (int64_t b = 0; b < 2; ++b)
      ref_softmax(x.data_as<float>() + b * 15, r11.data_as<float>() + b * 15, 15, 1, lg);
    CHECK(max_abs_diff(y11, r11) < 1e-5f);
    // opset 13: along dim 1 only (stride 5), also on a pool.
    o13.threading = test_threads(3);
    const Tensor y13 = eval_single(op, {x}, a, o13)[0];
    Tensor r13(DType::f32, x.shape());
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t i = 0; i < 5; ++i)
        ref_softmax(x.data_as<float>() + b * 15 + i, r13.data_as<float>() + b * 15 + i, 3, 5, lg);
    CHECK(max_abs_diff(y13, r13) < 1e-5f);
  }
}

TEST_CASE("Softmax on long rows over a pool and with large values", "[ops][normalization]") {
  Tensor x = rnd({64, 1000}, 9);
  x.data_as<float>()[5] = 80.f;  // exp would overflow without the max shift
  EvalOptions o;
  o.threading = test_threads(4);
  const Tensor y = eval_single("Softmax", {x}, {}, o)[0];
  Tensor r(DType::f32, x.shape());
  for (int64_t b = 0; b < 64; ++b)
    ref_softmax(x.data_as<float>() + b * 1000, r.data_as<float>() + b * 1000, 1000, 1, false);
  CHECK(max_abs_diff(y, r) < 1e-6f);
  double s = 0;
  for (int64_t i = 0; i < 1000; ++i) s += y.data_as<float>()[i];
  CHECK(s == Approx(1.0).epsilon(1e-5));
}

TEST_CASE("Softmax and LogSoftmax on float64, contiguous and strided axes", "[ops][normalization]") {
  Tensor x(DType::f64, {2, 3, 2});
  const double xv[12] = {1, -2, 0.5, 3, 1e-9, 700, -1, 2, 0, 0, 4, -700};
  std::copy(xv, xv + 12, x.data_as<double>());
  for (int64_t axis : {1, 2}) {
    Attrs a;
    a.set_int("axis", axis);
    const Tensor y = eval_single("Softmax", {x}, a, at(13))[0];
    const Tensor ly = eval_single("LogSoftmax", {x}, a, at(13))[0];
    REQUIRE(y.dtype() == DType::f64);
    REQUIRE(ly.dtype() == DType::f64);
    // Reference in long double over the same rows (len 3 stride 2, or len 2 stride 1).
    const int64_t len = axis == 1 ? 3 : 2, inner = axis == 1 ? 2 : 1;
    for (int64_t o = 0; o < 2; ++o)
      for (int64_t i = 0; i < (axis == 1 ? 2 : 3); ++i) {
        const int64_t base = axis == 1 ? o * 6 + i : o * 6 + i * 2;
        long double m = xv[base], s = 0;
        for (int64_t k = 1; k < len; ++k) m = std::max<long double>(m, xv[base + k * inner]);
        for (int64_t k = 0; k < len; ++k) s += std::exp(static_cast<long double>(xv[base + k * inner]) - m);
        for (int64_t k = 0; k < len; ++k) {
          const int64_t at_k = base + k * inner;
          const long double ref = std::exp(static_cast<long double>(xv[at_k]) - m) / s;
          CHECK(y.data_as<double>()[at_k] == Approx(static_cast<double>(ref)).epsilon(1e-14).margin(1e-300));
          CHECK(ly.data_as<double>()[at_k] ==
                Approx(static_cast<double>(xv[at_k] - m - std::log(s))).epsilon(1e-14));
        }
      }
  }
  // Values only double holds: e^-1400 underflows to 0 in float but log-softmax stays exact.
  Attrs last;
  last.set_int("axis", 2);
  CHECK(eval_single("LogSoftmax", {x}, last, at(13))[0].data_as<double>()[11] ==
        Approx(-704.0).epsilon(1e-14));
}

TEST_CASE("LayerNormalization: ONNX 17 and the ortkit-domain fused form agree", "[ops][normalization]") {
  const Tensor x = rnd({3, 4, 16}, 5), sc = rnd({16}, 6), b = rnd({16}, 7);
  EvalOptions o;
  o.num_outputs = 3;
  const auto ys = eval_single("LayerNormalization", {x, sc, b}, {}, o);
  REQUIRE(ys[1].shape() == Shape{3, 4, 1});
  for (int64_t r = 0; r < 12; ++r) {
    const float* xr = x.data_as<float>() + r * 16;
    double m = 0, v = 0;
    for (int i = 0; i < 16; ++i) m += xr[i];
    m /= 16;
    for (int i = 0; i < 16; ++i) v += (xr[i] - m) * (xr[i] - m);
    const double inv = 1.0 / std::sqrt(v / 16 + 1e-5);
    CHECK(ys[1].data_as<float>()[r] == Approx(m).margin(1e-6));
    CHECK(ys[2].data_as<float>()[r] == Approx(inv).epsilon(1e-5));
    for (int i = 0; i < 16; ++i)
      CHECK(ys[0].data_as<float>()[r * 16 + i] ==
            Approx((xr[i] - m) * inv * sc.data_as<float>()[i] + b.data_as<float>()[i]).margin(1e-5));
  }
  EvalOptions ok;
  ok.domain = "ortkit";
  ok.opset = 1;
  ok.threading = test_threads(2);
  CHECK(max_abs_diff(eval_single("LayerNormalization", {x, sc, b}, {}, ok)[0], ys[0]) < 1e-6f);
  EvalOptions o16;
  o16.opset = 16;
  // Not an ONNX op before 17, but ONNX Runtime runs it at any opset and its transformer optimizer writes
  // it into opset 11-16 models, so it runs here too, with the same semantics.
  CHECK(max_abs_diff(eval_single("LayerNormalization", {x, sc, b}, {}, o16)[0], ys[0]) < 1e-6f);
}

TEST_CASE("BatchNormalization inference and training rejection", "[ops][normalization]") {
  const Tensor x = f32({1, 2, 2}, {1, 2, 3, 4});
  const Tensor sc = f32({2}, {1, 2}), b = f32({2}, {0, 1}), m = f32({2}, {1, 3}), v = f32({2}, {4, 1});
  Attrs a;
  a.set_float("epsilon", 0.f);
  const Tensor y = eval_single("BatchNormalization", {x, sc, b, m, v}, a, at(15))[0];
  CHECK(vals<float>(y) == std::vector<float>{0.f, 0.5f, 1.f, 3.f});
  Attrs t;
  t.set_int("training_mode", 1);
  CHECK_THROWS_AS(eval_single("BatchNormalization", {x, sc, b, m, v}, t, at(15)), Unsupported);
}
