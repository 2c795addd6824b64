// ONNX Runtime's QOperator contrib ops (QLinearAdd, QLinearMul, QLinearGlobalAveragePool, QLinearConcat,
// QLinearSigmoid, QLinearLeakyRelu, QGemm) on values worked out by hand. scripts/contrib_ops_check.py
// checks them bit for bit against ONNX Runtime when it is installed.
#include <catch2/catch.hpp>
#include <cmath>

#include "ops/eval.h"
#include "ops/registry.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

namespace {
Tensor u8(Shape s, std::vector<uint8_t> v) {
  return make<uint8_t>(DType::u8, std::move(s), std::move(v));
}
Tensor s8(Shape s, std::vector<int8_t> v) {
  return make<int8_t>(DType::i8, std::move(s), std::move(v));
}
Tensor sc(float v) {
  return f32({}, {v});
}
}  // namespace

TEST_CASE("QLinearAdd and QLinearMul requantize the real sum and product", "[ops][int8][contrib]") {
  // a = (q - 10) * 0.5, b = (q - 0) * 0.25 broadcast over rows; c at scale 1, zero point 100.
  const Tensor a = u8({2, 2}, {10, 14, 20, 0}), b = u8({2}, {4, 8});
  // real a: 0, 2, 5, -5; real b: 1, 2. Sums 1, 4, 6, -3 -> 101, 104, 106, 97.
  CHECK(vals<uint8_t>(eval_single(
            "QLinearAdd", {a, sc(0.5f), u8({}, {10}), b, sc(0.25f), u8({}, {0}), sc(1.f), u8({}, {100})}, {},
            ms())[0]) == std::vector<uint8_t>{101, 104, 106, 97});
  // Products 0, 4, 5, -10 at scale 0.5 -> 0, 8, 10, -20, + 100; saturation: scale 0.01 clips to 255 / 0.
  CHECK(vals<uint8_t>(eval_single(
            "QLinearMul", {a, sc(0.5f), u8({}, {10}), b, sc(0.25f), u8({}, {0}), sc(0.5f), u8({}, {100})}, {},
            ms())[0]) == std::vector<uint8_t>{100, 108, 110, 80});
  CHECK(vals<uint8_t>(eval_single(
            "QLinearMul", {a, sc(0.5f), u8({}, {10}), b, sc(0.25f), u8({}, {0}), sc(0.01f), u8({}, {100})},
            {}, ms())[0]) == std::vector<uint8_t>{100, 255, 255, 0});
  // s8, zero points absent (0): 3 * 0.1 + -2 * 0.1 = 0.1 -> 1 at scale 0.1; half to even at 0.25 / 0.5.
  CHECK(vals<int8_t>(eval_single(
            "QLinearAdd",
            {s8({1}, {3}), sc(0.1f), Tensor(), s8({1}, {-2}), sc(0.1f), Tensor(), sc(0.1f), Tensor()}, {},
            ms())[0]) == std::vector<int8_t>{1});
  CHECK_THROWS_WITH(
      eval_single("QLinearAdd",
                  {a, f32({2}, {1, 2}), u8({}, {10}), b, sc(0.25f), u8({}, {0}), sc(1.f), u8({}, {100})}, {},
                  ms()),
      Catch::Contains("A_scale must be a scalar"));
}

TEST_CASE("QLinearGlobalAveragePool averages the integers and requantizes once", "[ops][int8][contrib]") {
  // One image, 2 channels of 4 values: means of (q - 2) are 3 and 0.5; x_scale 1, y_scale 0.5, y_zp 1.
  const Tensor x = u8({1, 2, 2, 2}, {3, 5, 5, 7, 2, 2, 3, 3});
  const auto y =
      eval_single("QLinearGlobalAveragePool", {x, sc(1.f), u8({}, {2}), sc(0.5f), u8({}, {1})}, {}, ms())[0];
  CHECK(y.shape() == Shape{1, 2, 1, 1});
  CHECK(vals<uint8_t>(y) == std::vector<uint8_t>{7, 2});  // 3 / 0.5 + 1, 0.5 / 0.5 + 1
  // channels_last: the same values laid out NHWC.
  const Tensor xl = u8({1, 2, 2, 2}, {3, 2, 5, 2, 5, 3, 7, 3});
  Attrs last;
  last.set_int("channels_last", 1);
  const auto yl = eval_single("QLinearGlobalAveragePool", {xl, sc(1.f), u8({}, {2}), sc(0.5f), u8({}, {1})},
                              last, ms())[0];
  CHECK(yl.shape() == Shape{1, 1, 1, 2});
  CHECK(vals<uint8_t>(yl) == std::vector<uint8_t>{7, 2});
}

TEST_CASE("QLinearConcat requantizes inputs with other scales", "[ops][int8][contrib]") {
  Attrs axis;
  axis.set_int("axis", 1);
  // Output scale 1, zp 0. x0 already at it (copied); x1 at scale 2, zp 10: 12 -> 4, 9 -> -2 -> saturates to
  // 0.
  const auto y = eval_single("QLinearConcat",
                             {sc(1.f), u8({}, {0}), u8({1, 2}, {7, 8}), sc(1.f), u8({}, {0}),
                              u8({1, 2}, {12, 9}), sc(2.f), u8({}, {10})},
                             axis, ms())[0];
  CHECK(y.shape() == Shape{1, 4});
  CHECK(vals<uint8_t>(y) == std::vector<uint8_t>{7, 8, 4, 0});
  CHECK_THROWS_WITH(
      eval_single("QLinearConcat", {sc(1.f), u8({}, {0}), u8({1, 2}, {7, 8}), sc(1.f)}, axis, ms()),
      Catch::Contains("triples"));
}

TEST_CASE("QLinearSigmoid and QLinearLeakyRelu map through the real function", "[ops][int8][contrib]") {
  const Tensor x = u8({4}, {128, 148, 108, 255});  // real 0, 2, -2, 12.7 at scale 0.1, zp 128
  const auto sig = vals<uint8_t>(
      eval_single("QLinearSigmoid", {x, sc(0.1f), u8({}, {128}), sc(1.f / 256), u8({}, {0})}, {}, ms())[0]);
  for (size_t i = 0; i < 4; ++i) {
    const double r = (static_cast<int>(vals<uint8_t>(x)[i]) - 128) * 0.1;
    CHECK(sig[i] == std::min(255.0, std::nearbyint(256 / (1 + std::exp(-r)))));
  }
  Attrs alpha;
  alpha.set_float("alpha", 0.5f);
  CHECK(vals<uint8_t>(eval_single("QLinearLeakyRelu", {x, sc(0.1f), u8({}, {128}), sc(0.1f), u8({}, {128})},
                                  alpha, ms())[0]) == std::vector<uint8_t>{128, 148, 118, 255});
}

TEST_CASE("QGemm computes alpha * (A B + C) at a_scale * b_scale", "[ops][int8][contrib]") {
  // A (u8, zp 1) [2, 3] x B^T (s8, B stored [2, 3], transB); C int32 per column.
  const Tensor a = u8({2, 3}, {2, 3, 4, 1, 1, 5}), b = s8({2, 3}, {1, -1, 2, 3, 0, -2});
  // A - 1 = [[1, 2, 3], [0, 0, 4]]; A B^T = [[1 - 2 + 6, 3 - 6], [8, -8]] = [[5, -3], [8, -8]]; + C [1, 2].
  Attrs at;
  at.set_int("transB", 1);
  at.set_float("alpha", 2.f);
  const Tensor c = i32({2}, {1, 2});
  const auto yf = vals<float>(
      eval_single("QGemm", {a, sc(0.5f), u8({}, {1}), b, f32({2}, {0.1f, 0.2f}), Tensor(), c}, at, ms())[0]);
  // alpha * sa * sb[n] * (acc + C): 2 * 0.5 * 0.1 * 6, 2 * 0.5 * 0.2 * -1, 2 * 0.5 * 0.1 * 9, 2 * 0.5 * 0.2 *
  // -6
  REQUIRE(yf.size() == 4);
  CHECK(yf[0] == Approx(0.6f));
  CHECK(yf[1] == Approx(-0.2f));
  CHECK(yf[2] == Approx(0.9f));
  CHECK(yf[3] == Approx(-1.2f));
  // Requantized: y_scale 0.1, y_zp 20 -> 26, 18, 29, 8.
  const auto yq = eval_single(
      "QGemm", {a, sc(0.5f), u8({}, {1}), b, f32({2}, {0.1f, 0.2f}), Tensor(), c, sc(0.1f), u8({}, {20})}, at,
      ms())[0];
  CHECK(yq.dtype() == DType::u8);
  CHECK(vals<uint8_t>(yq) == std::vector<uint8_t>{26, 18, 29, 8});
  Attrs ta;
  ta.set_int("transA", 1);
  CHECK_THROWS_AS(eval_single("QGemm", {a, sc(0.5f), u8({}, {1}), b, sc(0.1f)}, ta, ms()), Unsupported);
  CHECK_THROWS_WITH(eval_single("QGemm", {a, sc(0.5f), u8({}, {1}), b, sc(0.1f)}, {}, ms()),
                    Catch::Contains("inner dimensions differ"));
}

TEST_CASE("MatMulIntegerToFloat and DynamicQuantizeMatMul dequantize in the GEMM", "[ops][int8][contrib]") {
  // A u8 (zp 2, scale 0.5) [2, 3] @ B s8 [3, 2] (per-column scales 0.1, 0.2) + bias.
  const Tensor a = u8({2, 3}, {3, 2, 6, 2, 4, 2}), b = s8({3, 2}, {1, -1, 2, 0, -3, 4});
  // A - 2 = [[1, 0, 4], [0, 2, 0]]; (A - 2) @ B = [[1 - 12, -1 + 16], [4, 0]] = [[-11, 15], [4, 0]].
  for (bool constant : {false, true}) {
    EvalOptions o = ms();
    o.inputs_constant = constant;
    const auto y = vals<float>(eval_single(
        "MatMulIntegerToFloat",
        {a, b, sc(0.5f), f32({2}, {0.1f, 0.2f}), u8({}, {2}), Tensor(), f32({2}, {1, -1})}, {}, o)[0]);
    REQUIRE(y.size() == 4);
    CHECK(y[0] == Approx(-11 * 0.05 + 1));
    CHECK(y[1] == Approx(15 * 0.1 - 1));
    CHECK(y[2] == Approx(4 * 0.05 + 1));
    CHECK(y[3] == Approx(-1));
  }
  // DynamicQuantizeMatMul: float A quantized on the fly; with A exactly representable the result is exact.
  const auto yd = vals<float>(eval_single("DynamicQuantizeMatMul",
                                          {f32({1, 3}, {0, 1, 2}), b, sc(1.f), Tensor(), f32({2}, {0.5f, 0})},
                                          {}, ms())[0]);
  REQUIRE(yd.size() == 2);
  CHECK(yd[0] == Approx(0 * 1 + 1 * 2 + 2 * -3 + 0.5).margin(0.02));
  CHECK(yd[1] == Approx(0 * -1 + 1 * 0 + 2 * 4).margin(0.02));
}

TEST_CASE("com.microsoft.FusedMatMul is alpha * op(A) @ op(B), batched", "[ops][contrib]") {
  // A [2, 2, 3] used transposed ([2, 3, 2]); B [2, 2] used transposed; alpha 0.5.
  const std::vector<float> av = {1, 2, 3, 4, 5, 6, -1, 0, 1, 2, 3, 4}, bv = {1, 2, 3, 4};
  Attrs t;
  t.set_int("transA", 1);
  t.set_int("transB", 1);
  t.set_float("alpha", 0.5f);
  for (bool constant : {false, true}) {
    EvalOptions o = ms();
    o.inputs_constant = constant;
    const auto y = eval_single("FusedMatMul", {f32({2, 2, 3}, av), f32({2, 2}, bv)}, t, o)[0];
    REQUIRE(y.shape() == Shape{2, 3, 2});
    for (int64_t bi = 0; bi < 2; ++bi)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 2; ++j) {
          double want = 0;
          for (int64_t k = 0; k < 2; ++k)
            want += av[bi * 6 + k * 3 + i] * bv[j * 2 + k];  // A^T[i,k] B^T[k,j]
          CHECK(y.data_as<float>()[(bi * 3 + i) * 2 + j] == Approx(0.5 * want));
        }
  }
  Attrs tb;
  tb.set_int("transBatchA", 1);
  CHECK_THROWS_AS(eval_single("FusedMatMul", {f32({2, 2, 3}, av), f32({3, 2}, {1, 2, 3, 4, 5, 6})}, tb, ms()),
                  Unsupported);
}

TEST_CASE("QLinearSoftmax: equal logits share the probability, a large gap takes it all",
          "[ops][int8][contrib]") {
  Attrs at;
  at.set_int("opset", 13);
  // Row 0: two equal values -> 0.5 each = 128 at scale 1/256; row 1: a gap of 40 * 0.5 = 20 -> ~1 and ~0.
  const Tensor x = u8({2, 2}, {7, 7, 50, 10});
  const auto y = vals<uint8_t>(
      eval_single("QLinearSoftmax", {x, sc(0.5f), u8({}, {3}), sc(1.f / 256), u8({}, {0})}, at, ms())[0]);
  CHECK(y == std::vector<uint8_t>{128, 128, 255, 0});
  at.set_int("opset", 12);  // before 13: the flattened dims [axis, rank) are one row
  at.set_int("axis", 0);
  const auto flat = vals<uint8_t>(eval_single(
      "QLinearSoftmax", {u8({2, 2}, {9, 9, 9, 9}), sc(0.5f), u8({}, {0}), sc(1.f / 256), u8({}, {0})}, at,
      ms())[0]);
  CHECK(flat == std::vector<uint8_t>{64, 64, 64, 64});
}

TEST_CASE("QLinearAveragePool: the mean of the real values, requantized", "[ops][int8][contrib]") {
  Attrs at;
  at.set_ints("kernel_shape", {2, 2});
  // Real values (q - 10) * 0.5: 0, 1, 2, 3 -> mean 1.5; at scale 0.25, zero point 100 -> 106.
  const Tensor x = u8({1, 1, 2, 2}, {10, 12, 14, 16});
  CHECK(vals<uint8_t>(eval_single("QLinearAveragePool", {x, sc(0.5f), u8({}, {10}), sc(0.25f), u8({}, {100})},
                                  at, ms())[0]) == std::vector<uint8_t>{106});
  // count_include_pad counts the whole kernel (ONNX Runtime's rule): a 2x2 window over one real value 4 -> 1.
  Attrs pad;
  pad.set_ints("kernel_shape", {2, 2});
  pad.set_ints("pads", {1, 1, 0, 0});
  pad.set_int("count_include_pad", 1);
  CHECK(vals<uint8_t>(eval_single("QLinearAveragePool",
                                  {u8({1, 1, 1, 1}, {8}), sc(1.f), u8({}, {4}), sc(1.f), u8({}, {0})}, pad,
                                  ms())[0]) == std::vector<uint8_t>{1});
}
