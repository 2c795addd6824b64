// Ops of recent opsets (recent_*.cpp): values by hand or from an independent formula, edge cases (size-1
// dims, negative axes, data-dependent output shapes) and the errors a bad model must get.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "ops/eval.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

namespace {
Tensor f64(Shape s, std::vector<double> v) {
  return make<double>(DType::f64, std::move(s), std::move(v));
}
Tensor u8(Shape s, std::vector<uint8_t> v) {
  return make<uint8_t>(DType::u8, std::move(s), std::move(v));
}

/// eval_single with the value inputs constant (static output shape) or not (data-dependent shape).
EvalOptions opts(int opset, bool constant = false) {
  EvalOptions o = at(opset);
  o.inputs_constant = constant;
  return o;
}

void check_close(const std::vector<float>& got, const std::vector<float>& want, float tol = 1e-5f) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(tol));
}
}  // namespace

// ---------------------------------------------------------------------------------------------- activations

TEST_CASE("Mish, Swish and SwiGLU match their formulas", "[ops][recent]") {
  const std::vector<float> xs = {-3, -0.5f, 0, 0.7f, 4, 100};
  std::vector<float> mish, swish;
  for (float v : xs) {
    const double x = v, sp = std::log(1 + std::exp(x));
    mish.push_back(static_cast<float>(x * (std::exp(2 * sp) - 1) / (std::exp(2 * sp) + 1)));
    swish.push_back(static_cast<float>(x / (1 + std::exp(-0.5 * x))));
  }
  check_close(vals<float>(eval_single("Mish", {f32({6}, xs)}, {}, at(18))[0]), mish);
  CHECK(vals<float>(eval_single("Mish", {f32({1}, {1000})}, {}, at(22))[0])[0] == 1000);  // no overflow
  Attrs half;
  half.set_float("alpha", 0.5f);
  check_close(vals<float>(eval_single("Swish", {f32({2, 3}, xs)}, half, at(24))[0]), swish);
  // SwiGLU: Swish(a) * b; float64 too.
  const auto y = eval_single("SwiGLU", {f64({2}, {1, -2}), f64({2}, {3, 5})}, half, at(28))[0];
  CHECK(y.dtype() == DType::f64);
  CHECK(vals<double>(y)[0] == Approx(3 / (1 + std::exp(-0.5))));
  CHECK(vals<double>(y)[1] == Approx(5 * -2 / (1 + std::exp(1.0))));
}

TEST_CASE("Mish and SwiGLU reject integers and mismatched shapes", "[ops][recent]") {
  CHECK_THROWS_WITH(eval_single("Mish", {i32({2}, {1, 2})}, {}, at(18)), Catch::Contains("not supported"));
  CHECK_THROWS_WITH(eval_single("SwiGLU", {f32({2}, {1, 2}), f32({1}, {1})}, {}, at(28)),
                    Catch::Contains("must have the same shape"));
}

// ---------------------------------------------------------------------------------------------- bitwise

TEST_CASE("Bitwise ops broadcast like numpy and keep the integer type", "[ops][recent]") {
  const Tensor a = i32({2, 2}, {12, -1, 0, 0x0F0F});
  const Tensor b = i32({2}, {10, 0x00FF});  // broadcast over rows
  CHECK(vals<int32_t>(eval_single("BitwiseAnd", {a, b}, {}, at(18))[0]) ==
        std::vector<int32_t>{12 & 10, 0x00FF, 0, 0x0F0F & 0x00FF});
  CHECK(vals<int32_t>(eval_single("BitwiseOr", {a, b}, {}, at(18))[0]) ==
        std::vector<int32_t>{12 | 10, -1, 10, 0x0F0F | 0x00FF});
  CHECK(vals<int32_t>(eval_single("BitwiseXor", {a, b}, {}, at(18))[0]) ==
        std::vector<int32_t>{12 ^ 10, ~0x00FF, 10, 0x0F0F ^ 0x00FF});
  CHECK(vals<uint8_t>(eval_single("BitwiseNot", {u8({3}, {0x0F, 0, 0xFF})}, {}, at(18))[0]) ==
        std::vector<uint8_t>{0xF0, 0xFF, 0});
  const auto y = eval_single("BitwiseAnd", {u8({1}, {0x3C}), u8({3, 1}, {0xF0, 0x0F, 0xFF})}, {}, at(18))[0];
  CHECK(y.shape() == Shape{3, 1});
  CHECK(vals<uint8_t>(y) == std::vector<uint8_t>{0x30, 0x0C, 0x3C});
}

TEST_CASE("Bitwise ops reject floats and mixed dtypes", "[ops][recent]") {
  CHECK_THROWS_WITH(eval_single("BitwiseNot", {f32({1}, {1})}, {}, at(18)), Catch::Contains("not supported"));
  CHECK_THROWS_WITH(eval_single("BitwiseOr", {i32({1}, {1}), i64({1}, {1})}, {}, at(18)),
                    Catch::Contains("same dtype"));
  CHECK_THROWS_AS(eval_single("BitwiseXor", {i32({2}, {1, 2}), i32({3}, {1, 2, 3})}, {}, at(18)), Error);
}

// ---------------------------------------------------------------------------------------------- CumProd

TEST_CASE("CumProd: inclusive, exclusive, reverse, negative axis", "[ops][recent]") {
  const Tensor x = f32({3}, {1, 2, 3});
  auto run = [&](const Tensor& in, int64_t axis, int exclusive, int reverse) {
    Attrs a;
    a.set_int("exclusive", exclusive);
    a.set_int("reverse", reverse);
    return eval_single("CumProd", {in, i64({}, {axis})}, a, at(26))[0];
  };
  CHECK(vals<float>(run(x, 0, 0, 0)) == std::vector<float>{1, 2, 6});
  CHECK(vals<float>(run(x, 0, 1, 0)) == std::vector<float>{1, 1, 2});
  CHECK(vals<float>(run(x, 0, 0, 1)) == std::vector<float>{6, 6, 3});
  CHECK(vals<float>(run(x, 0, 1, 1)) == std::vector<float>{6, 3, 1});
  const Tensor m = i64({2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(vals<int64_t>(run(m, -1, 0, 0)) == std::vector<int64_t>{1, 2, 6, 4, 20, 120});
  CHECK(vals<int64_t>(run(m, 0, 0, 0)) == std::vector<int64_t>{1, 2, 3, 4, 10, 18});
  CHECK(vals<int64_t>(run(i64({1, 1}, {7}), 1, 1, 0)) == std::vector<int64_t>{1});
}

TEST_CASE("CumProd rejects a non-scalar or out-of-range axis", "[ops][recent]") {
  const Tensor x = f32({3}, {1, 2, 3});
  CHECK_THROWS_WITH(eval_single("CumProd", {x, i64({2}, {0, 0})}, {}, at(26)),
                    Catch::Contains("axis must be a scalar"));
  CHECK_THROWS_AS(eval_single("CumProd", {x, i64({}, {1})}, {}, at(26)), Error);
}

// ---------------------------------------------------------------------------------------------- BitCast

TEST_CASE("BitCast keeps the bits and checks the width", "[ops][recent]") {
  Attrs to_i32, to_f32, to_i64;
  to_i32.set_int("to", 6);
  to_f32.set_int("to", 1);
  to_i64.set_int("to", 7);
  const auto bits = eval_single("BitCast", {f32({2}, {1.0f, -2.0f})}, to_i32, at(26))[0];
  CHECK(bits.dtype() == DType::i32);
  CHECK(vals<int32_t>(bits) == std::vector<int32_t>{0x3F800000, static_cast<int32_t>(0xC0000000u)});
  CHECK(vals<float>(eval_single("BitCast", {bits}, to_f32, at(26))[0]) == std::vector<float>{1.0f, -2.0f});
  const auto scalar = eval_single("BitCast", {f32({}, {0.5f})}, to_i32, at(26))[0];
  CHECK(scalar.shape().empty());
  CHECK(vals<int32_t>(scalar)[0] == 0x3F000000);
  CHECK_THROWS_WITH(eval_single("BitCast", {f32({1}, {1})}, to_i64, at(26)), Catch::Contains("same width"));
}

// ---------------------------------------------------------------------------------------------- norms

TEST_CASE("LpNormalization divides by the L1 or L2 norm along the axis", "[ops][recent]") {
  const Tensor x = f32({2, 2}, {3, 4, -1, 3});
  check_close(vals<float>(eval_single("LpNormalization", {x}, {}, at(1))[0]),
              {0.6f, 0.8f, -1 / std::sqrt(10.f), 3 / std::sqrt(10.f)});
  Attrs l1;
  l1.set_int("p", 1);
  l1.set_int("axis", 0);
  // Along axis 0: columns (3, -1) and (4, 3); the L1 norm uses absolute values.
  check_close(vals<float>(eval_single("LpNormalization", {x}, l1, at(22))[0]),
              {0.75f, 4 / 7.f, -0.25f, 3 / 7.f});
  CHECK(vals<float>(eval_single("LpNormalization", {f32({1, 2}, {0, 0})}, {}, at(1))[0]) ==
        std::vector<float>{0, 0});  // a zero vector stays zero
  Attrs p3;
  p3.set_int("p", 3);
  CHECK_THROWS_WITH(eval_single("LpNormalization", {x}, p3, at(1)), Catch::Contains("p must be 1 or 2"));
}

TEST_CASE("GroupNormalization: opset 21 scales per channel, opset 18 per group", "[ops][recent]") {
  // N = 1, C = 4, 2 values per channel, 2 groups: group 0 = channels 0-1, group 1 = channels 2-3.
  const Tensor x = f32({1, 4, 2}, {1, 2, 3, 4, 10, 10, 10, 10});
  Attrs a;
  a.set_int("num_groups", 2);
  // Group 0: mean 2.5, variance 1.25; group 1 is constant (normalised to 0 thanks to epsilon).
  const float sd = std::sqrt(1.25f + 1e-5f);
  const auto y21 =
      eval_single("GroupNormalization", {x, f32({4}, {1, 2, 1, 1}), f32({4}, {0, 0, 5, 6})}, a, at(21))[0];
  check_close(vals<float>(y21), {-1.5f / sd, -0.5f / sd, 2 * 0.5f / sd, 2 * 1.5f / sd, 5, 5, 6, 6});
  const auto y18 = eval_single("GroupNormalization", {x, f32({2}, {2, 1}), f32({2}, {1, 0})}, a, at(18))[0];
  check_close(vals<float>(y18), {1 - 3 / sd, 1 - 1 / sd, 1 + 1 / sd, 1 + 3 / sd, 0, 0, 0, 0});
  // One group over a single channel with one value: (x - mean) = 0.
  Attrs one;
  one.set_int("num_groups", 1);
  CHECK(vals<float>(eval_single("GroupNormalization", {f32({1, 1}, {7}), f32({1}, {3}), f32({1}, {0.5f})},
                                one, at(21))[0]) == std::vector<float>{0.5f});
  CHECK_THROWS_WITH(eval_single("GroupNormalization", {x, f32({2}, {1, 1}), f32({2}, {0, 0})}, a, at(21)),
                    Catch::Contains("scale must have shape [4]"));
  Attrs three;
  three.set_int("num_groups", 3);
  CHECK_THROWS_WITH(
      eval_single("GroupNormalization", {x, f32({4}, {1, 1, 1, 1}), f32({4}, {0, 0, 0, 0})}, three, at(21)),
      Catch::Contains("must divide the channel count"));
}

// ---------------------------------------------------------------------------------------------- pooling

TEST_CASE("LpPool and GlobalLpPool take the p-norm of each window", "[ops][recent]") {
  const Tensor x = f32({1, 1, 4}, {3, -4, 0, 12});
  Attrs a;
  a.set_ints("kernel_shape", {2});
  CHECK(vals<float>(eval_single("LpPool", {x}, a, at(18))[0]) == std::vector<float>{5, 4, 12});
  // Padding adds zeros (nothing to the sum); p = 1 sums absolute values; opset 1 has a float p.
  Attrs padded;
  padded.set_ints("kernel_shape", {2});
  padded.set_ints("strides", {2});
  padded.set_ints("pads", {1, 1});
  padded.set_float("p", 1.f);
  CHECK(vals<float>(eval_single("LpPool", {x}, padded, at(1))[0]) == std::vector<float>{3, 4, 12});
  // 2-D, p = 3, dilation 2 over a 3x3 plane: corners only.
  Attrs d;
  d.set_ints("kernel_shape", {2, 2});
  d.set_ints("dilations", {2, 2});
  d.set_int("p", 3);
  const auto y = eval_single("LpPool", {f32({1, 1, 3, 3}, {1, 9, 2, 9, 9, 9, 2, 9, 3})}, d, at(22))[0];
  CHECK(y.shape() == Shape{1, 1, 1, 1});
  CHECK(vals<float>(y)[0] == Approx(std::cbrt(1 + 8 + 8 + 27.f)));
  const auto g = eval_single("GlobalLpPool", {f32({1, 2, 1, 2}, {3, -4, 1, 0})}, {}, at(2))[0];
  CHECK(g.shape() == Shape{1, 2, 1, 1});
  CHECK(vals<float>(g) == std::vector<float>{5, 1});
  CHECK_THROWS_WITH(eval_single("LpPool", {x}, {}, at(18)), Catch::Contains("kernel_shape"));
  Attrs neg;
  neg.set_int("p", 0);
  CHECK_THROWS_WITH(eval_single("GlobalLpPool", {x}, neg, at(2)), Catch::Contains("p must be positive"));
}

// ---------------------------------------------------------------------------------------------- geometry

TEST_CASE("CenterCropPad crops and zero-pads around the centre", "[ops][recent]") {
  for (bool constant : {false, true}) {
    const Tensor v = f32({5}, {1, 2, 3, 4, 5});
    CHECK(vals<float>(eval_single("CenterCropPad", {v, i64({1}, {3})}, {}, opts(18, constant))[0]) ==
          std::vector<float>{2, 3, 4});
    // Odd difference: the extra element is cut (or padded) at the end.
    CHECK(vals<float>(eval_single("CenterCropPad", {v, i64({1}, {2})}, {}, opts(18, constant))[0]) ==
          std::vector<float>{2, 3});
    CHECK(vals<float>(eval_single("CenterCropPad", {f32({2}, {1, 2}), i64({1}, {5})}, {},
                                  opts(18, constant))[0]) == std::vector<float>{0, 1, 2, 0, 0});
    // 2-D, only the last axis (negative): crop 3 -> 1 and keep rows.
    Attrs last;
    last.set_ints("axes", {-1});
    const auto y = eval_single("CenterCropPad", {f32({2, 3}, {1, 2, 3, 4, 5, 6}), i32({1}, {1})}, last,
                               opts(18, constant))[0];
    CHECK(y.shape() == Shape{2, 1});
    CHECK(vals<float>(y) == std::vector<float>{2, 5});
  }
  CHECK_THROWS_WITH(eval_single("CenterCropPad", {f32({2, 2}, {1, 2, 3, 4}), i64({1}, {1})}, {}, at(18)),
                    Catch::Contains("shape has 1 values for 2 axes"));
}

TEST_CASE("Col2Im sums overlapping blocks back into the image", "[ops][recent]") {
  for (bool constant : {false, true}) {
    // 1-D: block 2 over an image of 4: 3 positions; pixel p gets column (k, b) with b + k = p.
    const Tensor x = f32({1, 2, 3}, {1, 2, 3, 10, 20, 30});
    const auto y = eval_single("Col2Im", {x, i64({1}, {4}), i64({1}, {2})}, {}, opts(18, constant))[0];
    CHECK(y.shape() == Shape{1, 1, 4});
    CHECK(vals<float>(y) == std::vector<float>{1, 12, 23, 30});
    // Stride 2 and pads 1 on both sides: positions cover pixels (-1, 0), (1, 2), (3, 4) of an image of 4.
    Attrs a;
    a.set_ints("strides", {2});
    a.set_ints("pads", {1, 1});
    const auto z = eval_single("Col2Im", {x, i64({1}, {4}), i64({1}, {2})}, a, opts(18, constant))[0];
    CHECK(vals<float>(z) == std::vector<float>{10, 2, 20, 3});
  }
  // 2-D, 2 channels, 1x1 blocks: a plain reshape.
  const auto r = eval_single("Col2Im", {f32({1, 2, 2}, {1, 2, 3, 4}), i64({2}, {1, 2}), i64({2}, {1, 1})}, {},
                             at(18))[0];
  CHECK(r.shape() == Shape{1, 2, 1, 2});
  CHECK(vals<float>(r) == std::vector<float>{1, 2, 3, 4});
  CHECK_THROWS_WITH(
      eval_single("Col2Im", {f32({1, 2, 2}, {1, 2, 3, 4}), i64({1}, {4}), i64({1}, {2})}, {}, at(18)),
      Catch::Contains("number of sliding blocks (3)"));
}

TEST_CASE("AffineGrid maps normalised coordinates through theta", "[ops][recent]") {
  const Tensor identity = f32({1, 2, 3}, {1, 0, 0, 0, 1, 0});
  for (bool constant : {false, true}) {
    const auto g = eval_single("AffineGrid", {identity, i64({4}, {1, 1, 2, 3})}, {}, opts(20, constant))[0];
    CHECK(g.shape() == Shape{1, 2, 3, 2});
    // (x, y) per pixel; x over W = 3 at pixel centres, y over H = 2.
    check_close(vals<float>(g),
                {-2 / 3.f, -0.5f, 0, -0.5f, 2 / 3.f, -0.5f, -2 / 3.f, 0.5f, 0, 0.5f, 2 / 3.f, 0.5f});
  }
  Attrs corners;
  corners.set_int("align_corners", 1);
  // Swap x and y and shift x by 1: out = (y + 1, x).
  const Tensor swap = f32({1, 2, 3}, {0, 1, 1, 1, 0, 0});
  check_close(vals<float>(eval_single("AffineGrid", {swap, i64({4}, {1, 1, 2, 2})}, corners, at(20))[0]),
              {0, -1, 0, 1, 2, -1, 2, 1});
  // 3-D with a size-1 depth: z sits at the centre (0) without align_corners.
  const Tensor t3 = f32({1, 3, 4}, {0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  const auto g3 = eval_single("AffineGrid", {t3, i64({5}, {1, 1, 1, 1, 1})}, {}, at(20))[0];
  CHECK(g3.shape() == Shape{1, 1, 1, 1, 3});
  CHECK(vals<float>(g3) == std::vector<float>{0, 0, 0});
  CHECK_THROWS_WITH(eval_single("AffineGrid", {identity, i64({5}, {1, 1, 1, 2, 2})}, {}, at(20)),
                    Catch::Contains("size must have 4 values"));
}

// ---------------------------------------------------------------------------------------------- LLM ops

TEST_CASE("TensorScatter writes updates at the write indices, circular or linear", "[ops][recent]") {
  const Tensor past = f32({2, 4, 1}, {1, 1, 1, 1, 2, 2, 2, 2});
  const Tensor upd = f32({2, 2, 1}, {7, 8, 9, 10});
  Attrs circ;
  circ.set_string("mode", "circular");
  circ.set_int("axis", 1);
  CHECK(vals<float>(eval_single("TensorScatter", {past, upd, i64({2}, {1, 3})}, circ, at(24))[0]) ==
        std::vector<float>{1, 7, 8, 1, 10, 2, 2, 9});
  // No write_indices: from position 0; default axis -2.
  CHECK(vals<float>(eval_single("TensorScatter", {past, upd}, {}, at(24))[0]) ==
        std::vector<float>{7, 8, 1, 1, 9, 10, 2, 2});
  CHECK_THROWS_WITH(eval_single("TensorScatter", {past, upd, i64({2}, {0, 3})}, {}, at(24)),
                    Catch::Contains("does not fit the cache length 4"));
  Attrs axis0;
  axis0.set_int("axis", 0);
  CHECK_THROWS_WITH(eval_single("TensorScatter", {past, past}, axis0, at(24)),
                    Catch::Contains("cannot be 0"));
}

TEST_CASE("RotaryEmbedding rotates halves or interleaved pairs", "[ops][recent]") {
  const float c0 = 0.5f, c1 = 0.8f, s0 = 0.25f, s1 = -0.6f;
  const std::vector<float> xv = {1, 2, 3, 4};
  const Tensor x = f32({1, 1, 1, 4}, xv);  // [B, H, S, D]
  // Position 1 of a 2-row table.
  const Tensor cos = f32({2, 2}, {9, 9, c0, c1}), sin = f32({2, 2}, {9, 9, s0, s1});
  const Tensor pos = i64({1, 1}, {1});
  check_close(vals<float>(eval_single("RotaryEmbedding", {x, cos, sin, pos}, {}, at(23))[0]),
              {c0 * 1 - s0 * 3, c1 * 2 - s1 * 4, s0 * 1 + c0 * 3, s1 * 2 + c1 * 4});
  Attrs inter;
  inter.set_int("interleaved", 1);
  check_close(vals<float>(eval_single("RotaryEmbedding", {x, cos, sin, pos}, inter, at(23))[0]),
              {c0 * 1 - s0 * 2, s0 * 1 + c0 * 2, c1 * 3 - s1 * 4, s1 * 3 + c1 * 4});
  // Partial rotation (first 2 values) without position_ids: caches are [B, S, 1]; the rest is copied.
  Attrs part;
  part.set_int("rotary_embedding_dim", 2);
  check_close(
      vals<float>(eval_single("RotaryEmbedding", {x, f32({1, 1, 1}, {c0}), f32({1, 1, 1}, {s0}), Tensor()},
                              part, at(23))[0]),
      {c0 * 1 - s0 * 2, s0 * 1 + c0 * 2, 3, 4});
  // 3-D [B, S, H * D] equals 4-D [B, H, S, D] transposed: with S = 1 the layouts coincide.
  const Tensor x3 = f32({1, 1, 8}, {1, 2, 3, 4, 5, 6, 7, 8});
  const Tensor x4 = f32({1, 2, 1, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  Attrs heads;
  heads.set_int("num_heads", 2);
  CHECK(vals<float>(eval_single("RotaryEmbedding", {x3, cos, sin, pos}, heads, at(23))[0]) ==
        vals<float>(eval_single("RotaryEmbedding", {x4, cos, sin, pos}, {}, at(23))[0]));
  CHECK_THROWS_WITH(eval_single("RotaryEmbedding", {x, cos, sin, i64({1, 1}, {2})}, {}, at(23)),
                    Catch::Contains("position id 2 out of range [0, 2)"));
  CHECK_THROWS_WITH(eval_single("RotaryEmbedding", {x3, cos, sin, pos}, {}, at(23)),
                    Catch::Contains("num_heads must be given"));
}
