// The quantized operators against hand-computed values and naive integer references: exact integer
// results, round half to even, saturation at the u8/s8 limits, per-axis parameters, zero points at the
// extremes, constant (prepacked) and per-run B.
#include <catch2/catch.hpp>
#include <cmath>

#include "int8_test_util.h"
#include "ops/eval.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::testing;
using ops::Attrs;
using ops::eval_single;

namespace {

ops::EvalOptions opset(int v, bool constant = false, int outputs = 1) {
  ops::EvalOptions o;
  o.opset = v;
  o.inputs_constant = constant;
  o.num_outputs = outputs;
  return o;
}

template <class T>
std::vector<int32_t> ints(const Tensor& t) {
  std::vector<int32_t> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(static_cast<int32_t>(t.data_as<T>()[i]));
  return v;
}

/// Naive (A - za) @ (B - zb[n]) for A [batch, M, K] and 2-D B [K, N].
std::vector<int32_t> ref_matmul(const Tensor& a, const Tensor& b, int32_t za,
                                const std::vector<int32_t>& zb) {
  const int64_t k = a.shape().back(), m = a.numel() / k, n = b.shape().back();
  std::vector<int32_t> y(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int32_t s = 0;
      for (int64_t p = 0; p < k; ++p)
        s += (ival(a, i * k + p) - za) * (ival(b, p * n + j) - zb[zb.size() == 1 ? 0 : j]);
      y[i * n + j] = s;
    }
  return y;
}

}  // namespace

TEST_CASE("QuantizeLinear rounds half to even and saturates", "[ops][quant]") {
  Tensor x = f32({8}, {0.f, 1.5f, 2.5f, -1.5f, -2.5f, 1000.f, -1000.f, 0.49f});
  SECTION("u8, zero point 128") {
    Tensor y = eval_single("QuantizeLinear", {x, f32({}, {1.f}), u8({}, {128})}, {}, opset(10))[0];
    REQUIRE(y.dtype() == DType::u8);
    CHECK(ints<uint8_t>(y) == std::vector<int32_t>{128, 130, 130, 126, 126, 255, 0, 128});
  }
  SECTION("s8, scale 0.5") {
    Tensor y = eval_single("QuantizeLinear", {x, f32({}, {0.5f}), s8({}, {-1})}, {}, opset(13))[0];
    REQUIRE(y.dtype() == DType::i8);
    CHECK(ints<int8_t>(y) == std::vector<int32_t>{-1, 2, 4, -4, -6, 127, -128, 0});
  }
  SECTION("no zero point: u8, zero point 0") {
    Tensor y = eval_single("QuantizeLinear", {x, f32({}, {1.f}), Tensor()}, {}, opset(13))[0];
    CHECK(ints<uint8_t>(y) == std::vector<int32_t>{0, 2, 2, 0, 0, 255, 0, 0});
  }
  SECTION("int32 input") {
    Tensor y = eval_single("QuantizeLinear", {i32({3}, {-300, 5, 300}), f32({}, {2.f}), s8({}, {0})}, {},
                           opset(13))[0];
    CHECK(ints<int8_t>(y) == std::vector<int32_t>{-128, 2, 127});  // 5 / 2 = 2.5 -> 2
  }
  SECTION("per axis (opset 13)") {
    Attrs a;
    a.set_int("axis", 1);
    Tensor xs = f32({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
    Tensor y = eval_single("QuantizeLinear", {xs, f32({2}, {1.f, 2.f}), u8({2}, {0, 10})}, a, opset(13))[0];
    CHECK(ints<uint8_t>(y) == std::vector<int32_t>{1, 2, 12, 12, 5, 6, 14, 14});
  }
  SECTION("a [1]-shaped scale is per tensor, whatever the axis") {
    Attrs a;
    a.set_int("axis", 0);
    Tensor y = eval_single("QuantizeLinear", {x, f32({1}, {1.f}), u8({1}, {128})}, a, opset(13))[0];
    CHECK(ints<uint8_t>(y) == std::vector<int32_t>{128, 130, 130, 126, 126, 255, 0, 128});
  }
  SECTION("16-bit outputs saturate at their own limits (the ONNX 1.23 test data)") {
    const Tensor x16 = f32({16}, {0.f, -514.f, 3.f, -3.f, 2.9f, -2.9f, 3.1f, -3.1f, 65022.f, -66046.f,
                                  65023.f, -66047.f, 65024.f, -66048.f, 70000.f, -70000.f});
    Tensor y = eval_single("QuantizeLinear", {x16, f32({}, {2.f}), make_t<int16_t>(DType::i16, {}, {256})},
                           {}, opset(21))[0];
    REQUIRE(y.dtype() == DType::i16);
    CHECK(ints<int16_t>(y) == std::vector<int32_t>{256, -1, 258, 254, 257, 255, 258, 254, 32767, -32767,
                                                   32767, -32768, 32767, -32768, 32767, -32768});
    const Tensor xu =
        f32({12}, {0.f, -128.f, 3.f, -3.f, 2.9f, -2.9f, 3.1f, -3.1f, 65536.f, -65534.f, 70000.f, -70000.f});
    Tensor yu = eval_single("QuantizeLinear", {xu, f32({}, {2.f}), make_t<uint16_t>(DType::u16, {}, {32767})},
                            {}, opset(21))[0];
    REQUIRE(yu.dtype() == DType::u16);
    CHECK(ints<uint16_t>(yu) ==
          std::vector<int32_t>{32767, 32703, 32769, 32765, 32768, 32766, 32769, 32765, 65535, 0, 65535, 0});
    // int32 input to int16, rounding half to even (5 / 2 = 2.5 -> 2).
    Tensor yi =
        eval_single("QuantizeLinear",
                    {i32({3}, {-70000, 5, 70000}), f32({}, {2.f}), make_t<int16_t>(DType::i16, {}, {0})}, {},
                    opset(21))[0];
    CHECK(ints<int16_t>(yi) == std::vector<int32_t>{-32768, 2, 32767});
  }
  SECTION("per-axis scale before opset 13 is an error") {
    CHECK_THROWS_AS(
        eval_single("QuantizeLinear", {x, f32({8}, {1, 1, 1, 1, 1, 1, 1, 1}), u8({8}, {})}, {}, opset(10)),
        Error);
  }
}

TEST_CASE("DequantizeLinear: u8, s8, u16, s16 and int32 inputs, per tensor and per axis", "[ops][quant]") {
  SECTION("u8 extremes") {
    Tensor y = eval_single("DequantizeLinear", {u8({3}, {0, 128, 255}), f32({}, {0.5f}), u8({}, {128})}, {},
                           opset(10))[0];
    CHECK(y.data_as<float>()[0] == -64.f);
    CHECK(y.data_as<float>()[1] == 0.f);
    CHECK(y.data_as<float>()[2] == 63.5f);
  }
  SECTION("s8 extremes with zero point -128") {
    Tensor y = eval_single("DequantizeLinear", {s8({2}, {-128, 127}), f32({}, {2.f}), s8({}, {-128})}, {},
                           opset(13))[0];
    CHECK(y.data_as<float>()[0] == 0.f);
    CHECK(y.data_as<float>()[1] == 510.f);
  }
  SECTION("int32 without zero point") {
    Tensor y = eval_single("DequantizeLinear", {i32({2}, {-2147483647 - 1, 1000}), f32({}, {0.25f})}, {},
                           opset(13))[0];
    CHECK(y.data_as<float>()[0] == -536870912.f);
    CHECK(y.data_as<float>()[1] == 250.f);
  }
  SECTION("per axis 0") {
    Attrs a;
    a.set_int("axis", 0);
    Tensor y =
        eval_single("DequantizeLinear",
                    {u8({2, 2}, {10, 20, 10, 20}), f32({2}, {1.f, 0.5f}), u8({2}, {10, 0})}, a, opset(13))[0];
    CHECK(std::vector<float>(y.data_as<float>(), y.data_as<float>() + 4) == std::vector<float>{0, 10, 5, 10});
  }
  SECTION("u16 and s16 with zero points at the type's extremes") {
    Tensor yu = eval_single("DequantizeLinear",
                            {make_t<uint16_t>(DType::u16, {4}, {30000, 31000, 32768, 65535}), f32({}, {2.f}),
                             make_t<uint16_t>(DType::u16, {}, {32767})},
                            {}, opset(21))[0];
    CHECK(std::vector<float>(yu.data_as<float>(), yu.data_as<float>() + 4) ==
          std::vector<float>{-5534.f, -3534.f, 2.f, 65536.f});
    Tensor ys = eval_single("DequantizeLinear",
                            {make_t<int16_t>(DType::i16, {3}, {-32768, 32767, -1025}), f32({}, {0.5f}),
                             make_t<int16_t>(DType::i16, {}, {-32768})},
                            {}, opset(21))[0];
    CHECK(std::vector<float>(ys.data_as<float>(), ys.data_as<float>() + 3) ==
          std::vector<float>{0.f, 32767.5f, 15871.5f});
  }
  SECTION("zero point of another dtype is an error") {
    CHECK_THROWS_AS(
        eval_single("DequantizeLinear", {u8({1}, {1}), f32({}, {1.f}), s8({}, {0})}, {}, opset(13)), Error);
  }
}

TEST_CASE("DynamicQuantizeLinear follows the ONNX reference", "[ops][quant]") {
  // The ONNX spec example: min -3, max 2 -> scale 5/255, zero point round(3 / scale) = 153.
  Tensor x = f32({6}, {0.f, 2.f, -3.f, -2.5f, 1.34f, 0.5f});
  auto outs = eval_single("DynamicQuantizeLinear", {x}, {}, opset(11, false, 3));
  REQUIRE(outs.size() == 3);
  CHECK(ints<uint8_t>(outs[0]) == std::vector<int32_t>{153, 255, 0, 26, 221, 179});
  CHECK(outs[1].data_as<float>()[0] == Approx(5.f / 255.f));
  CHECK(outs[2].data_as<uint8_t>()[0] == 153);
  SECTION("all positive: the range still includes 0") {
    auto o = eval_single("DynamicQuantizeLinear", {f32({3}, {1.f, 2.f, 2.55f})}, {}, opset(11, false, 3));
    CHECK(o[2].data_as<uint8_t>()[0] == 0);
    CHECK(o[0].data_as<uint8_t>()[2] == 255);
    CHECK(o[0].data_as<uint8_t>()[0] == 100);
  }
}

TEST_CASE("MatMulInteger is exact for every signedness and zero-point form", "[ops][quant]") {
  struct Case {
    DType a, b;
    int32_t za;
    std::vector<int32_t> zb;
  };
  const Case cases[] = {
      {DType::u8, DType::u8, 7, {200}},
      {DType::u8, DType::i8, 255, {0}},
      {DType::i8, DType::i8, -128, {5}},
      {DType::i8, DType::u8, 3, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
  };
  for (const Case& c : cases) {
    for (bool constant : {false, true}) {
      DYNAMIC_SECTION("A " << dtype_name(c.a) << " B " << dtype_name(c.b) << (constant ? " const" : "")) {
        const int alo = c.a == DType::u8 ? 0 : -128, ahi = c.a == DType::u8 ? 255 : 127;
        const int blo = c.b == DType::u8 ? 0 : -128, bhi = c.b == DType::u8 ? 255 : 127;
        Tensor a = random_int8(c.a, {2, 5, 37}, alo, ahi, 3);
        Tensor b = random_int8(c.b, {37, 17}, blo, bhi, 4);
        Tensor za =
            c.a == DType::u8 ? u8({}, {static_cast<uint8_t>(c.za)}) : s8({}, {static_cast<int8_t>(c.za)});
        Tensor zb(c.b, {static_cast<int64_t>(c.zb.size())});
        for (size_t i = 0; i < c.zb.size(); ++i) {
          if (c.b == DType::u8)
            zb.data_as<uint8_t>()[i] = static_cast<uint8_t>(c.zb[i]);
          else
            zb.data_as<int8_t>()[i] = static_cast<int8_t>(c.zb[i]);
        }
        Tensor y = eval_single("MatMulInteger", {a, b, za, zb}, {}, opset(10, constant))[0];
        REQUIRE(y.dtype() == DType::i32);
        REQUIRE(y.shape() == Shape{2, 5, 17});
        CHECK(ints<int32_t>(y) == ref_matmul(a, b, c.za, c.zb));
      }
    }
  }
  SECTION("extreme values do not saturate: 255 * -128 over K = 300") {
    Tensor a(DType::u8, {3, 300}), b(DType::i8, {300, 4});
    std::fill_n(a.data_as<uint8_t>(), a.numel(), uint8_t{255});
    std::fill_n(b.data_as<int8_t>(), b.numel(), int8_t{-128});
    Tensor y = eval_single("MatMulInteger", {a, b}, {}, opset(10))[0];
    for (int32_t v : ints<int32_t>(y)) CHECK(v == 255 * -128 * 300);
  }
  SECTION("batched B") {
    Tensor a = random_int8(DType::u8, {3, 4, 6}, 0, 255, 8), b = random_int8(DType::u8, {3, 6, 5}, 0, 255, 9);
    Tensor y = eval_single("MatMulInteger", {a, b, u8({}, {1}), u8({}, {2})}, {}, opset(10))[0];
    REQUIRE(y.shape() == Shape{3, 4, 5});
    for (int64_t bi = 0; bi < 3; ++bi) {
      Tensor ab = Tensor::view(DType::u8, {4, 6}, a.data_as<uint8_t>() + bi * 24);
      Tensor bb = Tensor::view(DType::u8, {6, 5}, b.data_as<uint8_t>() + bi * 30);
      const std::vector<int32_t> r = ref_matmul(ab, bb, 1, {2});
      CHECK(std::vector<int32_t>(y.data_as<int32_t>() + bi * 20, y.data_as<int32_t>() + bi * 20 + 20) == r);
    }
  }
  SECTION("inner dimensions must match") {
    CHECK_THROWS_AS(eval_single("MatMulInteger", {u8({2, 3}, {}), u8({4, 2}, {})}, {}, opset(10)), Error);
  }
}

TEST_CASE("QLinearMatMul requantizes with saturation", "[ops][quant]") {
  // The ONNX 2-D example: exact expected bytes.
  Tensor a = u8({2, 4}, {208, 236, 0, 238, 3, 214, 255, 29});
  Tensor b = u8({4, 3}, {152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247});
  for (bool constant : {false, true}) {
    Tensor y = eval_single("QLinearMatMul",
                           {a, f32({}, {0.0066f}), u8({}, {113}), b, f32({}, {0.00705f}), u8({}, {114}),
                            f32({}, {0.0107f}), u8({}, {118})},
                           {}, opset(10, constant))[0];
    REQUIRE(y.dtype() == DType::u8);
    CHECK(ints<uint8_t>(y) == std::vector<int32_t>{168, 115, 255, 1, 66, 151});
  }
  SECTION("s8 output with per-column b_scale saturates at both ends") {
    Tensor aa = s8({1, 2}, {127, -128}), bb = s8({2, 3}, {127, -128, 1, -128, 127, 1});
    Tensor y = eval_single("QLinearMatMul",
                           {aa, f32({}, {1.f}), s8({}, {0}), bb, f32({3}, {1.f, 1.f, 0.001f}), s8({}, {0}),
                            f32({}, {1.f}), s8({}, {0})},
                           {}, opset(10))[0];
    // acc = 127*127 + 128*128 > 127; -(127*128) - 128*127 < -128; 127 - 128 = -1 -> -0.001 -> 0
    CHECK(ints<int8_t>(y) == std::vector<int32_t>{127, -128, 0});
  }
}

namespace {
/// Naive integer 2-D convolution: acc[b, m, oy, ox] with zero points, groups, pads, strides, dilations.
std::vector<int32_t> ref_conv(const Tensor& x, const Tensor& w, int32_t zx, const std::vector<int32_t>& zw,
                              int64_t group, int64_t pad, int64_t stride, int64_t dil, int64_t& oh,
                              int64_t& ow) {
  const int64_t n = x.shape()[0], c = x.shape()[1], h = x.shape()[2], wd = x.shape()[3];
  const int64_t m = w.shape()[0], cg = w.shape()[1], kh = w.shape()[2], kw = w.shape()[3];
  oh = (h + 2 * pad - ((kh - 1) * dil + 1)) / stride + 1;
  ow = (wd + 2 * pad - ((kw - 1) * dil + 1)) / stride + 1;
  std::vector<int32_t> y;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < m; ++oc) {
      const int64_t g = oc / (m / group);
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          int32_t s = 0;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t ky = 0; ky < kh; ++ky)
              for (int64_t kx = 0; kx < kw; ++kx) {
                const int64_t iy = oy * stride - pad + ky * dil, ix = ox * stride - pad + kx * dil;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const int32_t xv = ival(x, ((b * c + g * cg + ci) * h + iy) * wd + ix) - zx;
                const int32_t wv =
                    ival(w, ((oc * cg + ci) * kh + ky) * kw + kx) - zw[zw.size() == 1 ? 0 : oc];
                s += xv * wv;
              }
          y.push_back(s);
        }
    }
  return y;
}
}  // namespace

TEST_CASE("ConvInteger matches a naive convolution", "[ops][quant]") {
  struct Case {
    int64_t group, pad, stride, dil;
    DType w;
    int64_t m = 6;  // output channels; group 4 with m 4 is depthwise (the direct loop, quant_depthwise.h)
    DType x = DType::u8;
  };
  for (const Case& c : {Case{1, 0, 1, 1, DType::u8}, Case{1, 1, 2, 1, DType::i8}, Case{2, 2, 1, 2, DType::i8},
                        Case{4, 1, 1, 1, DType::i8, 4}, Case{4, 1, 2, 1, DType::u8, 4},
                        Case{4, 3, 2, 2, DType::i8, 4, DType::i8}, Case{4, 0, 3, 1, DType::i8, 4}}) {
    for (bool constant : {false, true}) {
      DYNAMIC_SECTION("group " << c.group << " m " << c.m << " pad " << c.pad << " stride " << c.stride
                               << " dil " << c.dil << (c.x == DType::i8 ? " s8 x" : "")
                               << (constant ? " const" : "")) {
        const bool sx = c.x == DType::i8;
        Tensor x = random_int8(c.x, {2, 4, 7, 6}, sx ? -128 : 0, sx ? 127 : 255, 21);
        const int wlo = c.w == DType::u8 ? 0 : -128, whi = c.w == DType::u8 ? 255 : 127;
        Tensor w = random_int8(c.w, {c.m, 4 / c.group, 3, 3}, wlo, whi, 22);
        std::vector<int32_t> zw = {3, -2, 0, 7, -128, 127};
        zw.resize(static_cast<size_t>(c.m));
        Tensor tzw(c.w, {c.m});
        for (int i = 0; i < c.m; ++i) {
          if (c.w == DType::u8) zw[i] = std::abs(zw[i]);
          if (c.w == DType::u8)
            tzw.data_as<uint8_t>()[i] = static_cast<uint8_t>(zw[i]);
          else
            tzw.data_as<int8_t>()[i] = static_cast<int8_t>(zw[i]);
        }
        Attrs at;
        at.set_int("group", c.group);
        at.set_ints("pads", {c.pad, c.pad, c.pad, c.pad});
        at.set_ints("strides", {c.stride, c.stride});
        at.set_ints("dilations", {c.dil, c.dil});
        const int32_t zx = sx ? -37 : 200;
        Tensor y = eval_single("ConvInteger", {x, w, sx ? s8({}, {-37}) : u8({}, {200}), tzw}, at,
                               opset(10, constant))[0];
        int64_t oh = 0, ow = 0;
        const std::vector<int32_t> r = ref_conv(x, w, zx, zw, c.group, c.pad, c.stride, c.dil, oh, ow);
        REQUIRE(y.shape() == Shape{2, c.m, oh, ow});
        CHECK(ints<int32_t>(y) == r);
        // On 3 threads (the depthwise planes are spread over them, emitted concurrently): the same.
        ops::EvalOptions o3 = opset(10, constant);
        o3.threading = ops::testing::test_threads(3);
        CHECK(ints<int32_t>(eval_single("ConvInteger", {x, w, sx ? s8({}, {-37}) : u8({}, {200}), tzw}, at,
                                        o3)[0]) == r);
      }
    }
  }
}

TEST_CASE("QLinearConv: per-channel weight scales, int32 bias, requantized output", "[ops][quant]") {
  Tensor x = random_int8(DType::u8, {1, 3, 5, 5}, 0, 255, 31);
  Tensor w = random_int8(DType::i8, {4, 3, 3, 3}, -128, 127, 32);
  const std::vector<float> ws = {0.001f, 0.002f, 0.0005f, 0.003f};
  const std::vector<int32_t> bias = {1000, -2000, 0, 12345678};
  Attrs at;
  at.set_ints("pads", {1, 1, 1, 1});
  const float sx = 0.02f, sy = 0.5f;
  Tensor y = eval_single("QLinearConv",
                         {x, f32({}, {sx}), u8({}, {100}), w, f32({4}, ws), s8({}, {0}), f32({}, {sy}),
                          u8({}, {128}), i32({4}, bias)},
                         at, opset(10))[0];
  int64_t oh = 0, ow = 0;
  const std::vector<int32_t> acc = ref_conv(x, w, 100, {0}, 1, 1, 1, 1, oh, ow);
  REQUIRE(y.shape() == Shape{1, 4, 5, 5});
  const std::vector<int32_t> got = ints<uint8_t>(y);
  int saturated = 0;
  for (int64_t oc = 0; oc < 4; ++oc)
    for (int64_t p = 0; p < 25; ++p) {
      const float v = static_cast<float>(acc[oc * 25 + p] + bias[oc]) * (sx * ws[oc] / sy);
      const int32_t e = static_cast<int32_t>(std::clamp(std::nearbyint(v) + 128.f, 0.f, 255.f));
      saturated += e == 0 || e == 255;
      CHECK(got[oc * 25 + p] == e);
    }
  CHECK(saturated > 0);  // channel 3's bias pushes it to the limit
}
