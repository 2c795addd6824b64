// The math lane's ops: ConvTranspose against a naive scatter reference (1-3 spatial dims, groups,
// strides, dilations, pads, output_padding, output_shape, auto_pad; constant and per-run weights; a
// thread pool), and edge cases of the smaller ops the backend suite does not reach (error paths,
// negative axes, broadcasting, ties, dtypes).
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "ops/eval.h"
#include "ops/registry.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

namespace {

// Naive ConvTranspose by scattering every input pixel's weighted kernel window; nd spatial dims
// normalised to 3 (leading 1s). pb = begin pads, out = output spatial size (3 dims each).
Tensor ref_convt(const Tensor& x, const Tensor& w, const Tensor* bias, int64_t group, std::array<int64_t, 3> s,
                 std::array<int64_t, 3> d, std::array<int64_t, 3> pb, std::array<int64_t, 3> out) {
  const int nd = static_cast<int>(x.rank()) - 2;
  std::array<int64_t, 3> in{1, 1, 1}, k{1, 1, 1};
  for (int i = 0; i < nd; ++i) {
    in[3 - nd + i] = x.shape()[2 + i];
    k[3 - nd + i] = w.shape()[2 + i];
  }
  const int64_t N = x.shape()[0], C = x.shape()[1], mg = w.shape()[1], cg = C / group, M = mg * group;
  Shape ys = {N, M};
  for (int i = 3 - nd; i < 3; ++i) ys.push_back(out[i]);
  std::vector<double> acc(static_cast<size_t>(shape_numel(ys)), 0.0);
  const int64_t P = out[0] * out[1] * out[2], Pin = in[0] * in[1] * in[2], K = k[0] * k[1] * k[2];
  const float *px = x.data_as<float>(), *pw = w.data_as<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const int64_t g = c / cg;
      for (int64_t i0 = 0; i0 < in[0]; ++i0)
        for (int64_t i1 = 0; i1 < in[1]; ++i1)
          for (int64_t i2 = 0; i2 < in[2]; ++i2) {
            const double xv = px[(n * C + c) * Pin + (i0 * in[1] + i1) * in[2] + i2];
            for (int64_t m = 0; m < mg; ++m)
              for (int64_t k0 = 0; k0 < k[0]; ++k0)
                for (int64_t k1 = 0; k1 < k[1]; ++k1)
                  for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                    const int64_t o0 = i0 * s[0] - pb[0] + k0 * d[0], o1 = i1 * s[1] - pb[1] + k1 * d[1],
                                  o2 = i2 * s[2] - pb[2] + k2 * d[2];
                    if (o0 < 0 || o0 >= out[0] || o1 < 0 || o1 >= out[1] || o2 < 0 || o2 >= out[2]) continue;
                    acc[static_cast<size_t>((n * M + g * mg + m) * P + (o0 * out[1] + o1) * out[2] + o2)] +=
                        xv * pw[(c * mg + m) * K + (k0 * k[1] + k1) * k[2] + k2];
                  }
          }
    }
  Tensor y(DType::f32, ys);
  for (int64_t i = 0; i < y.numel(); ++i) {
    const int64_t m = (i / P) % M;
    y.data_as<float>()[i] = static_cast<float>(acc[static_cast<size_t>(i)] + (bias ? bias->data_as<float>()[m] : 0));
  }
  return y;
}

struct CtCase {
  const char* name;
  Shape x, w;
  int64_t group;
  std::vector<int64_t> s, d, pads, opad;
};

}  // namespace

TEST_CASE("ConvTranspose matches a naive scatter reference", "[ops][math]") {
  const CtCase cases[] = {
      {"2-D plain", {2, 3, 5, 4}, {3, 4, 3, 3}, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, {0, 0}},
      {"2-D stride 2 pads", {1, 4, 6, 5}, {4, 3, 3, 2}, 1, {2, 3}, {1, 1}, {1, 0, 2, 1}, {0, 0}},
      {"2-D dilated output_padding", {1, 2, 4, 4}, {2, 2, 3, 3}, 1, {2, 2}, {2, 1}, {0, 1, 1, 0}, {1, 1}},
      {"2-D grouped", {2, 6, 5, 5}, {6, 2, 3, 3}, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}, {0, 0}},
      {"2-D many chunks", {1, 3, 40, 40}, {3, 5, 4, 4}, 1, {2, 2}, {1, 1}, {1, 1, 1, 1}, {0, 0}},
      {"1-D", {2, 3, 7}, {3, 2, 4}, 1, {3}, {1}, {1, 2}, {2}},
      {"3-D grouped", {1, 4, 3, 4, 3}, {4, 1, 2, 3, 2}, 2, {2, 1, 2}, {1, 2, 1}, {0, 1, 0, 1, 0, 0}, {1, 0, 0}},
  };
  for (const CtCase& c : cases) {
    const int nd = static_cast<int>(c.x.size()) - 2;
    std::array<int64_t, 3> s{1, 1, 1}, d{1, 1, 1}, pb{0, 0, 0}, out{1, 1, 1};
    for (int i = 0; i < nd; ++i) {
      const int j = 3 - nd + i;
      s[j] = c.s[i], d[j] = c.d[i], pb[j] = c.pads[i];
      out[j] = s[j] * (c.x[2 + i] - 1) + c.opad[i] + (c.w[2 + i] - 1) * d[j] + 1 - c.pads[i] - c.pads[i + nd];
    }
    const Tensor x = rnd(c.x, 3), w = rnd(c.w, 5), b = rnd({c.w[1] * c.group}, 7);
    Attrs a;
    a.set_int("group", c.group);
    a.set_ints("strides", c.s);
    a.set_ints("dilations", c.d);
    a.set_ints("pads", c.pads);
    a.set_ints("output_padding", c.opad);
    const Tensor r = ref_convt(x, w, &b, c.group, s, d, pb, out);
    for (int variant = 0; variant < 3; ++variant) {
      INFO(c.name << " variant " << variant);
      EvalOptions o;
      o.opset = 11;
      if (variant >= 1) o.inputs_constant = true;
      if (variant == 2) o.threading = test_threads(4);
      const Tensor y = eval_single("ConvTranspose", {x, w, b}, a, o)[0];
      REQUIRE(y.shape() == r.shape());
      CHECK(max_abs_diff(y, r) < 1e-4f);
    }
  }
}

TEST_CASE("ConvTranspose output_shape and auto_pad place the padding", "[ops][math]") {
  const Tensor x = rnd({1, 2, 3, 3}, 1), w = rnd({2, 3, 3, 3}, 2);
  // Full output 7x7 (stride 2); SAME_UPPER asks for 6x6: total padding 1, at the end.
  Attrs a;
  a.set_ints("strides", {2, 2});
  a.set_string("auto_pad", "SAME_UPPER");
  const Tensor y = eval_single("ConvTranspose", {x, w}, a)[0];
  REQUIRE(y.shape() == Shape{1, 3, 6, 6});
  CHECK(max_abs_diff(y, ref_convt(x, w, nullptr, 1, {1, 2, 2}, {1, 1, 1}, {0, 0, 0}, {1, 6, 6})) < 1e-5f);
  // SAME_LOWER: at the beginning.
  a.set_string("auto_pad", "SAME_LOWER");
  const Tensor yl = eval_single("ConvTranspose", {x, w}, a)[0];
  CHECK(max_abs_diff(yl, ref_convt(x, w, nullptr, 1, {1, 2, 2}, {1, 1, 1}, {0, 1, 1}, {1, 6, 6})) < 1e-5f);
  // output_shape (given with N and C too) larger than the full output: extra zeros at the end.
  Attrs o;
  o.set_ints("strides", {2, 2});
  o.set_ints("output_shape", {1, 3, 8, 7});
  const Tensor yo = eval_single("ConvTranspose", {x, w}, o)[0];
  REQUIRE(yo.shape() == Shape{1, 3, 8, 7});
  CHECK(max_abs_diff(yo, ref_convt(x, w, nullptr, 1, {1, 2, 2}, {1, 1, 1}, {0, 0, 0}, {1, 8, 7})) < 1e-5f);
  // Errors: channel/group mismatch, wrong attribute lengths, kernel_shape disagreeing with W.
  Attrs g;
  g.set_int("group", 3);
  CHECK_THROWS_AS(eval_single("ConvTranspose", {x, w}, g), Error);
  Attrs bad;
  bad.set_ints("strides", {2});
  CHECK_THROWS_AS(eval_single("ConvTranspose", {x, w}, bad), Error);
  Attrs ks;
  ks.set_ints("kernel_shape", {2, 2});
  CHECK_THROWS_AS(eval_single("ConvTranspose", {x, w}, ks), Error);
  CHECK_THROWS_AS(eval_single("ConvTranspose", {x, rnd({3, 3, 3, 3})}), Error);
}

TEST_CASE("PRelu broadcasts the slope one way only", "[ops][math]") {
  const Tensor x = f32({2, 3}, {-1, 2, -3, 4, -5, 6});
  CHECK(vals<float>(eval_single("PRelu", {x, f32({3}, {0.5f, 1, 2})})[0]) ==
        std::vector<float>{-0.5f, 2, -6, 4, -5, 6});
  CHECK(vals<float>(eval_single("PRelu", {x, f32({2, 1}, {0.1f, 0.f})})[0])[2] == Approx(-0.3f));
  CHECK_THROWS_AS(eval_single("PRelu", {x, f32({2, 2, 3}, std::vector<float>(12, 1.f))}), Error);
  const Tensor xi = i64({3}, {-4, 0, 5});
  CHECK(vals<int64_t>(eval_single("PRelu", {xi, i64({1}, {2})})[0]) == std::vector<int64_t>{-8, 0, 5});
}

TEST_CASE("Hardmax: coerced 2-D before opset 13, one axis from 13, first maximum wins", "[ops][math]") {
  const Tensor x = f32({2, 2, 2}, {1, 3, 3, 0, 5, 5, 1, 2});
  // opset 11, axis 1: rows of 4 -> one 1 per batch at the first maximum.
  CHECK(vals<float>(eval_single("Hardmax", {x}, {}, at(11))[0]) == std::vector<float>{0, 1, 0, 0, 1, 0, 0, 0});
  // opset 13, default axis -1: per pair.
  CHECK(vals<float>(eval_single("Hardmax", {x}, {}, at(13))[0]) == std::vector<float>{0, 1, 1, 0, 1, 0, 0, 1});
  Attrs a;
  a.set_int("axis", -2);
  CHECK(vals<float>(eval_single("Hardmax", {x}, a, at(13))[0]) == std::vector<float>{0, 1, 1, 0, 1, 1, 0, 0});
  a.set_int("axis", 3);
  CHECK_THROWS_AS(eval_single("Hardmax", {x}, a, at(13)), Error);
}

TEST_CASE("Dropout is the identity in inference, training with a ratio is refused", "[ops][math]") {
  const Tensor x = rnd({3, 4}, 9);
  EvalOptions o = at(13);
  o.num_outputs = 2;
  auto ys = eval_single("Dropout", {x}, {}, o);
  CHECK(max_abs_diff(ys[0], x) == 0.f);
  REQUIRE(ys[1].dtype() == DType::boolean);
  for (int64_t i = 0; i < ys[1].numel(); ++i) CHECK(ys[1].data_as<bool>()[i]);
  // training_mode = true with ratio 0 is still the identity.
  ys = eval_single("Dropout", {x, f32({}, {0.f}), bools({}, {true})}, {}, o);
  CHECK(max_abs_diff(ys[0], x) == 0.f);
  CHECK_THROWS_AS(eval_single("Dropout", {x, f32({}, {0.3f}), bools({}, {true})}, {}, o), Unsupported);
  // Old opsets: mask has X's type.
  EvalOptions o7 = at(7);
  o7.num_outputs = 2;
  CHECK(eval_single("Dropout", {x}, {}, o7)[1].dtype() == DType::f32);
  CHECK_THROWS_AS(eval_single("Dropout", {i64({1}, {1})}, {}, o), Unsupported);
}

TEST_CASE("InstanceNormalization, LRN, MeanVarianceNormalization", "[ops][math]") {
  const Tensor x = f32({1, 2, 3}, {1, 2, 3, 4, 4, 4});
  const Tensor y = eval_single("InstanceNormalization", {x, f32({2}, {2, 1}), f32({2}, {0, 5})}, {}, at(6))[0];
  const float k = 2.f / std::sqrt(2.f / 3.f + 1e-5f);
  CHECK(vals<float>(y)[0] == Approx(-k));
  CHECK(vals<float>(y)[4] == Approx(5.f));  // zero variance: only the bias
  CHECK_THROWS_AS(eval_single("InstanceNormalization", {x, f32({3}, {1, 1, 1}), f32({2}, {0, 0})}, {}, at(6)),
                  Error);
  // LRN, size 2: channel c sums c-0 .. c+1.
  Attrs l;
  l.set_int("size", 2);
  l.set_float("alpha", 2.f);
  l.set_float("beta", 1.f);
  const Tensor xl = f32({1, 2, 1}, {1, 2});
  const std::vector<float> yl = vals<float>(eval_single("LRN", {xl}, l)[0]);
  CHECK(yl[0] == Approx(1.f / 6.f));
  CHECK(yl[1] == Approx(2.f / 5.f));
  CHECK_THROWS_AS(eval_single("LRN", {xl}), Error);  // size is required
  // MVN over axes {-1}: each row normalised.
  Attrs m;
  m.set_ints("axes", {-1});
  const Tensor ym = eval_single("MeanVarianceNormalization", {f32({2, 2}, {1, 3, 5, 5})}, m, at(13))[0];
  CHECK(vals<float>(ym)[0] == Approx(-1.f));
  CHECK(vals<float>(ym)[1] == Approx(1.f));
  CHECK(vals<float>(ym)[2] == 0.f);
}

TEST_CASE("elementwise additions: trig, activations, IsInf/IsNaN, Shrink, BitShift", "[ops][math]") {
  const Tensor x = f32({3}, {-0.5f, 0.f, 0.5f});
  CHECK(vals<float>(eval_single("Asin", {x})[0])[2] == Approx(std::asin(0.5f)));
  CHECK(vals<float>(eval_single("Atanh", {x})[0])[0] == Approx(std::atanh(-0.5f)));
  CHECK(vals<float>(eval_single("Softsign", {x})[0])[0] == Approx(-1.f / 3.f));
  Attrs c;
  c.set_float("alpha", 0.f);
  CHECK_THROWS_AS(eval_single("Celu", {x}, c), Error);
  CHECK(vals<float>(eval_single("ThresholdedRelu", {f32({3}, {1.f, 1.5f, 0.f})})[0]) ==
        std::vector<float>{0.f, 1.5f, 0.f});
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor xi = f32({4}, {inf, -inf, nan, 1.f});
  Attrs pos;
  pos.set_int("detect_negative", 0);
  const Tensor yi = eval_single("IsInf", {xi}, pos)[0];
  CHECK(vals<bool>(yi) == std::vector<bool>{true, false, false, false});
  CHECK(vals<bool>(eval_single("IsNaN", {xi})[0]) == std::vector<bool>{false, false, true, false});
  // Shrink on int32: computed in double, truncated back.
  Attrs s;
  s.set_float("lambd", 1.5f);
  s.set_float("bias", 1.f);
  CHECK(vals<int32_t>(eval_single("Shrink", {i32({3}, {-3, 1, 4})}, s)[0]) == std::vector<int32_t>{-2, 0, 3});
  // BitShift broadcast, and shifts past the width give 0.
  Tensor a(DType::u8, {3}), b(DType::u8, {1});
  a.data_as<uint8_t>()[0] = 1, a.data_as<uint8_t>()[1] = 2, a.data_as<uint8_t>()[2] = 128;
  b.data_as<uint8_t>()[0] = 1;
  Attrs l;
  l.set_string("direction", "LEFT");
  CHECK(vals<uint8_t>(eval_single("BitShift", {a, b}, l)[0]) == std::vector<uint8_t>{2, 4, 0});
  b.data_as<uint8_t>()[0] = 9;
  CHECK(vals<uint8_t>(eval_single("BitShift", {a, b}, l)[0]) == std::vector<uint8_t>{0, 0, 0});
  l.set_string("direction", "UP");
  CHECK_THROWS_AS(eval_single("BitShift", {a, b}, l), Error);
  CHECK_THROWS_AS(eval_single("BitShift", {x, x}, l), Unsupported);
}

TEST_CASE("BitShift on signed integers (opset 28): negative and over-wide shifts, overflow", "[ops][math]") {
  Attrs l, r;
  l.set_string("direction", "LEFT");
  r.set_string("direction", "RIGHT");
  // Left: bits shifted out are dropped (two's complement wrap); shifts < 0 or >= width give 0.
  const Tensor x8 = make<int8_t>(DType::i8, {6}, {1, -1, 64, 5, 3, -128});
  const Tensor s8 = make<int8_t>(DType::i8, {6}, {7, 1, 1, -1, 8, 0});
  CHECK(vals<int8_t>(eval_single("BitShift", {x8, s8}, l, at(28))[0]) ==
        std::vector<int8_t>{-128, -2, -128, 0, 0, -128});
  // Right: arithmetic (sign-filling); out-of-range shifts give -1 for negative values, else 0.
  const Tensor y8 = make<int8_t>(DType::i8, {6}, {-128, -1, 64, -5, 5, -7});
  const Tensor t8 = make<int8_t>(DType::i8, {6}, {7, 3, 8, -1, 9, 1});
  CHECK(vals<int8_t>(eval_single("BitShift", {y8, t8}, r, at(28))[0]) ==
        std::vector<int8_t>{-1, -1, 0, -1, 0, -4});
  constexpr int64_t kMin64 = std::numeric_limits<int64_t>::min();
  CHECK(vals<int64_t>(eval_single("BitShift", {i64({3}, {1, 1, 3}), i64({3}, {63, 64, 62})}, l, at(28))[0]) ==
        std::vector<int64_t>{kMin64, 0, kMin64 + (int64_t{1} << 62)});
  CHECK(vals<int32_t>(eval_single("BitShift", {i32({3}, {-8, -8, 8}), i32({}, {-40})}, r, at(28))[0]) ==
        std::vector<int32_t>{-1, -1, 0});
  const Tensor x16 = make<int16_t>(DType::i16, {2}, {-32768, 16384});
  const Tensor s16 = make<int16_t>(DType::i16, {2}, {15, 1});
  CHECK(vals<int16_t>(eval_single("BitShift", {x16, s16}, r, at(28))[0]) == std::vector<int16_t>{-1, 8192});
}

TEST_CASE("window functions, Det, MaxUnpool", "[ops][math]") {
  EvalOptions o = at(17);
  o.inputs_constant = true;
  const Tensor hann = eval_single("HannWindow", {i64({}, {4})}, {}, o)[0];
  const std::vector<float> hv = vals<float>(hann);
  REQUIRE(hv.size() == 4);
  CHECK(hv[0] == Approx(0.f).margin(1e-7));
  CHECK(hv[1] == Approx(0.5f));
  CHECK(hv[2] == Approx(1.f));
  Attrs sym;
  sym.set_int("periodic", 0);
  sym.set_int("output_datatype", 11);  // double
  const Tensor hs = eval_single("HannWindow", {i32({}, {3})}, sym, o)[0];
  REQUIRE(hs.dtype() == DType::f64);
  REQUIRE(hs.numel() == 3);
  CHECK(vals<double>(hs)[0] == Approx(0.0).margin(1e-12));
  CHECK(vals<double>(hs)[1] == Approx(1.0));
  CHECK(vals<double>(hs)[2] == Approx(0.0).margin(1e-12));
  CHECK(vals<float>(eval_single("BlackmanWindow", {i64({}, {0})}, {}, o)[0]).empty());
  CHECK_THROWS_AS(eval_single("HammingWindow", {i64({}, {-1})}, {}, o), Error);

  const Tensor det = eval_single("Det", {f32({2, 3, 3}, {2, 0, 1, 1, 3, 2, 1, 1, 2, 0, 1, 0, 1, 0, 0, 0, 0, 1})},
                                 {}, at(11))[0];
  REQUIRE(det.shape() == Shape{2});
  CHECK(vals<float>(det)[0] == Approx(6.f));
  CHECK(vals<float>(det)[1] == Approx(-1.f));
  CHECK_THROWS_AS(eval_single("Det", {rnd({2, 3})}, {}, at(11)), Error);

  Attrs u;
  u.set_ints("kernel_shape", {2});
  u.set_ints("strides", {2});
  const Tensor y = eval_single("MaxUnpool", {f32({1, 1, 2}, {7, 9}), i64({1, 1, 2}, {1, 2})}, u, at(11))[0];
  CHECK(vals<float>(y) == std::vector<float>{0, 7, 9, 0});
  CHECK_THROWS_AS(eval_single("MaxUnpool", {f32({1, 1, 2}, {7, 9}), i64({1, 1, 2}, {1, 4})}, u, at(11)), Error);
  // A larger output_shape keeps each index's coordinates (padding at the end).
  EvalOptions oc = at(11);
  oc.inputs_constant = true;
  const Tensor yp =
      eval_single("MaxUnpool", {f32({1, 1, 2}, {7, 9}), i64({1, 1, 2}, {1, 2}), i64({3}, {1, 1, 5})}, u, oc)[0];
  CHECK(vals<float>(yp) == std::vector<float>{0, 7, 9, 0, 0});
  CHECK_THROWS_AS(
      eval_single("MaxUnpool", {f32({1, 1, 2}, {7, 9}), i64({1, 1, 2}, {1, 2}), i64({3}, {1, 1, 3})}, u, oc),
      Error);
}

TEST_CASE("ConvTranspose under bf16 precision stays close to fp32", "[ops][math]") {
  const Tensor x = rnd({1, 8, 6, 6}, 41), w = rnd({8, 4, 3, 3}, 42);
  Attrs a;
  a.set_ints("strides", {2, 2});
  const Tensor y32 = eval_single("ConvTranspose", {x, w}, a)[0];
  EvalOptions o;
  o.precision = Precision::bf16;
  o.inputs_constant = true;
  const Tensor y16 = eval_single("ConvTranspose", {x, w}, a, o)[0];
  CHECK(max_abs_diff(y32, y16) < 0.1f);
}
