// Cast, CastLike, QuantizeLinear and DequantizeLinear with the narrow types (float8, float4, int4 /
// uint4, int2 / uint2, float8e8m0 scales), blocked quantization, and a standard int4 weight-only model
// (blocked DequantizeLinear of a constant in front of MatMul) through a Session.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "engine_model_builder.h"
#include "ops/eval.h"
#include "ortkit/narrow_types.h"
#include "ortkit/session.h"

using namespace ortkit;
using ops::Attrs;
using ops::eval_single;
using testing::make_f32;

namespace {

ops::EvalOptions opset(int v) {
  ops::EvalOptions o;
  o.opset = v;
  return o;
}
Tensor bytes(DType t, Shape s, std::vector<uint8_t> v) {
  Tensor x(t, std::move(s));
  REQUIRE(static_cast<size_t>(x.numel()) == v.size());
  std::copy(v.begin(), v.end(), x.data_as<uint8_t>());
  return x;
}
std::vector<int> as_ints(const Tensor& t) {
  std::vector<int> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(t.data_as<uint8_t>()[i]);
  return v;
}
std::vector<float> as_floats(const Tensor& t) {
  REQUIRE(t.dtype() == DType::f32);
  return {t.data_as<float>(), t.data_as<float>() + t.numel()};
}
Attrs attrs(std::initializer_list<std::pair<const char*, int64_t>> ints) {
  Attrs a;
  for (const auto& [k, v] : ints) a.set_int(k, v);
  return a;
}

}  // namespace

TEST_CASE("Cast to float8 rounds to nearest even and saturates unless saturate=0", "[ops][narrow]") {
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor x = make_f32({5}, {1.0625f, 465.f, -inf, 0.5f, -0.f});
  Tensor y = eval_single("Cast", {x}, attrs({{"to", 17}}), opset(19))[0];
  REQUIRE(y.dtype() == DType::f8e4m3fn);
  CHECK(as_ints(y) == std::vector<int>{0x38, 0x7e, 0xfe, 0x30, 0x80});
  y = eval_single("Cast", {x}, attrs({{"to", 17}, {"saturate", 0}}), opset(19))[0];
  CHECK(as_ints(y) == std::vector<int>{0x38, 0x7f, 0xff, 0x30, 0x80});
  y = eval_single("Cast", {x}, attrs({{"to", 19}, {"saturate", 0}}), opset(19))[0];  // E5M2 has Inf
  CHECK(as_ints(y) == std::vector<int>{0x3c, 0x5f, 0xfc, 0x38, 0x80});
  // And back to float32, exactly.
  const Tensor back = eval_single("Cast", {y}, attrs({{"to", 1}}), opset(19))[0];
  CHECK(as_floats(back)[0] == 1.f);
  CHECK(as_floats(back)[1] == 448.f);
  CHECK(as_floats(back)[2] == -inf);
}

TEST_CASE("Cast between small integers wraps, from floats truncates", "[ops][narrow]") {
  Tensor x(DType::i32, {4});
  const int32_t v[4] = {-9, 7, 8, 200};
  std::copy(v, v + 4, x.data_as<int32_t>());
  Tensor y = eval_single("Cast", {x}, attrs({{"to", 22}}), opset(21))[0];
  REQUIRE(y.dtype() == DType::i4);
  CHECK(as_ints(y) == std::vector<int>{0x07, 0x07, 0xf8, 0xf8});  // int4 sign-extended in its byte
  Tensor i8 = eval_single("Cast", {y}, attrs({{"to", 3}}), opset(21))[0];
  REQUIRE(i8.dtype() == DType::i8);
  CHECK(i8.data_as<int8_t>()[2] == -8);
  y = eval_single("Cast", {make_f32({3}, {-1.5f, 15.9f, 16.f})}, attrs({{"to", 21}}), opset(21))[0];
  CHECK(as_ints(y) == std::vector<int>{15, 15, 0});
  // uint4 -> float4 converts the value (9 saturates to 6); float4 -> int4 truncates 1.5 to 1.
  const Tensor f4 = eval_single("Cast", {bytes(DType::u4, {2}, {9, 1})}, attrs({{"to", 23}}), opset(23))[0];
  CHECK(as_ints(f4) == std::vector<int>{7, 2});
  const Tensor i4 =
      eval_single("Cast", {bytes(DType::f4e2m1, {2}, {3, 0xb})}, attrs({{"to", 22}}), opset(23))[0];
  CHECK(as_ints(i4) == std::vector<int>{1, 0xff});  // 1.5 -> 1, -1.5 -> -1
}

TEST_CASE("Cast from float8 to integers: out of range as the reference (ml_dtypes)", "[ops][narrow]") {
  const Tensor x = bytes(DType::f8e5m2, {4}, {0x7c, 0xfc, 0x7e, 0x5f});  // Inf, -Inf, NaN, 448
  const Tensor i8 = eval_single("Cast", {x}, attrs({{"to", 3}}), opset(21))[0];
  // Inf saturates, NaN gives 0, a finite value truncates and wraps (448 = 0x1c0: 0xc0 = -64).
  CHECK(std::vector<int8_t>(i8.data_as<int8_t>(), i8.data_as<int8_t>() + 4) ==
        std::vector<int8_t>{127, -128, 0, -64});
  const Tensor i4 = eval_single("Cast", {x}, attrs({{"to", 22}}), opset(21))[0];
  CHECK(as_ints(i4) == std::vector<int>{0xff, 0, 0, 0});  // Inf: the int64 limit's low bits
}

TEST_CASE("CastLike passes saturate on, float8e8m0 takes round_mode", "[ops][narrow]") {
  const Tensor like = bytes(DType::f8e5m2fnuz, {1}, {0});
  Tensor y = eval_single("CastLike", {make_f32({1}, {1e6f}), like}, attrs({{"saturate", 0}}), opset(19))[0];
  CHECK(as_ints(y) == std::vector<int>{0x80});
  y = eval_single("CastLike", {make_f32({1}, {1e6f}), like}, {}, opset(19))[0];
  CHECK(as_ints(y) == std::vector<int>{0x7f});
  Attrs a = attrs({{"to", 24}});
  a.set_string("round_mode", "down");
  y = eval_single("Cast", {make_f32({2}, {3.f, 0.25f})}, a, opset(24))[0];
  CHECK(as_ints(y) == std::vector<int>{0x80, 0x7d});
  a.set_string("round_mode", "sideways");
  CHECK_THROWS_WITH(eval_single("Cast", {make_f32({1}, {1.f})}, a, opset(24)), Catch::Contains("round_mode"));
}

TEST_CASE("QuantizeLinear to int4, uint2, float8, float4 and DequantizeLinear back", "[ops][quant][narrow]") {
  const Tensor x = make_f32({2, 3}, {-20.f, 1.f, 2.5f, 3.f, 100.f, -0.5f});
  const Tensor scale = make_f32({2}, {2.f, 1.f});
  SECTION("int4, per axis, saturating with the zero point") {
    const Tensor zp = bytes(DType::i4, {2}, {1, 0xff});  // 1, -1
    const Tensor q = eval_single("QuantizeLinear", {x, scale, zp}, attrs({{"axis", 0}}), opset(21))[0];
    REQUIRE(q.dtype() == DType::i4);
    // row 0: -10+1 -> -8 (clamped), 0.5 -> 0 (+1), 1.25 -> 1 (+1); row 1: 3-1, 100 -> 7, -0.5 -> -0 (-1)
    CHECK(as_ints(q) == std::vector<int>{0xf8, 1, 2, 2, 7, 0xff});
    const Tensor d = eval_single("DequantizeLinear", {q, scale, zp}, attrs({{"axis", 0}}), opset(21))[0];
    CHECK(as_floats(d) == std::vector<float>{-18.f, 0.f, 2.f, 3.f, 8.f, 0.f});
  }
  SECTION("uint2 through output_dtype, no zero point") {
    const Tensor q =
        eval_single("QuantizeLinear", {x, make_f32({}, {1.f})}, attrs({{"output_dtype", 25}}), opset(25))[0];
    REQUIRE(q.dtype() == DType::u2);
    CHECK(as_ints(q) == std::vector<int>{0, 1, 2, 3, 3, 0});
  }
  SECTION("float8 E4M3FN: saturate, or NaN with saturate=0") {
    const Tensor zp = bytes(DType::f8e4m3fn, {}, {0});
    Tensor q = eval_single("QuantizeLinear", {x, make_f32({}, {0.1f}), zp}, {}, opset(19))[0];
    CHECK(as_ints(q)[4] == 0x7e);  // 1000 > 448
    q = eval_single("QuantizeLinear", {x, make_f32({}, {0.1f}), zp}, attrs({{"saturate", 0}}), opset(19))[0];
    CHECK(as_ints(q)[4] == 0x7f);
    const Tensor d = eval_single("DequantizeLinear", {q, make_f32({}, {0.1f}), zp}, {}, opset(19))[0];
    CHECK(std::isnan(as_floats(d)[4]));
    CHECK(as_floats(d)[1] == 10.f * 0.1f);
  }
  SECTION("float4 E2M1") {
    const Tensor q = eval_single("QuantizeLinear", {x, make_f32({}, {1.f}), bytes(DType::f4e2m1, {}, {0})},
                                 {}, opset(23))[0];
    CHECK(as_ints(q) == std::vector<int>{0xf, 2, 4, 5, 7, 0x9});
  }
  SECTION("an output_dtype that differs from the zero point's is an error naming the node") {
    std::string msg;
    try {
      eval_single("QuantizeLinear", {x, make_f32({}, {1.f}), bytes(DType::u4, {}, {0})},
                  attrs({{"output_dtype", 22}}), opset(21));
    } catch (const Error& e) {
      msg = e.message();
    }
    CHECK_THAT(msg,
               Catch::Contains("QuantizeLinear") && Catch::Contains("output_dtype int4 differs from the zero "
                                                                    "point's uint4"));
  }
}

TEST_CASE("blocked QuantizeLinear / DequantizeLinear along an axis, a last partial block",
          "[ops][quant][narrow]") {
  // x [2, 5], blocks of 2 along axis 1: scales [2, 3], the last block one column wide.
  const Tensor x = make_f32({2, 5}, {1, 2, 3, 4, 5, -1, -2, -3, -4, -5});
  const Tensor scale = make_f32({2, 3}, {1, 2, 4, 0.5f, 1, 8});
  const Attrs a = attrs({{"axis", 1}, {"block_size", 2}});
  const Tensor q = eval_single(
      "QuantizeLinear", {x, scale},
      [&] {
        Attrs b = a;
        b.set_int("output_dtype", 22);
        return b;
      }(),
      opset(21))[0];
  REQUIRE(q.dtype() == DType::i4);
  // row 0: 1/1, 2/1, 3/2=1.5->2, 4/2, 5/4=1.25->1; row 1: -2, -4, -3, -4, -5/8=-0.625->-1
  CHECK(as_ints(q) == std::vector<int>{1, 2, 2, 2, 1, 0xfe, 0xfc, 0xfd, 0xfc, 0xff});
  const Tensor d = eval_single("DequantizeLinear", {q, scale}, a, opset(21))[0];
  CHECK(as_floats(d) == std::vector<float>{1, 2, 4, 4, 4, -1, -2, -3, -4, -8});
  // A scale that does not fit the blocks: a clear error.
  CHECK_THROWS_WITH(eval_single("DequantizeLinear", {q, make_f32({2, 2}, {1, 1, 1, 1})}, a, opset(21)),
                    Catch::Contains("block_size 2") && Catch::Contains("needs [2, 3]"));
}

TEST_CASE("DequantizeLinear with float8e8m0 scales (MX)", "[ops][quant][narrow]") {
  const Tensor x = bytes(DType::f8e4m3fn, {4}, {0x38, 0xb8, 0x40, 0x7f});  // 1, -1, 2, NaN
  const Tensor s = bytes(DType::f8e8m0, {}, {0x81});                       // 4
  const Tensor d = eval_single("DequantizeLinear", {x, s}, {}, opset(25))[0];
  CHECK(as_floats(d)[0] == 4.f);
  CHECK(as_floats(d)[1] == -4.f);
  CHECK(as_floats(d)[2] == 8.f);
  CHECK(std::isnan(as_floats(d)[3]));
}

TEST_CASE("int4 weight-only MatMul: blocked DequantizeLinear of a constant folds to fp32",
          "[ops][quant][narrow]") {
  // ONNX Runtime's QDQ int4 weight form: W_q int4 [K, N], axis 0, block 2, scales and zero points [K/2, N].
  testing::ModelBuilder mb(21);
  mb.input("x", {int64_t{1}, int64_t{4}});
  Tensor wq(DType::i4, {4, 2});
  const int8_t w[8] = {1, -2, 3, -4, 5, -6, 7, -8};
  std::copy(w, w + 8, wq.data_as<int8_t>());
  mb.init("wq", wq);
  mb.init("ws", make_f32({2, 2}, {0.5f, 1.f, 2.f, 0.25f}));
  Tensor wz(DType::i4, {2, 2});
  const int8_t z[4] = {0, 1, -1, 0};
  std::copy(z, z + 4, wz.data_as<int8_t>());
  mb.init("wz", wz);
  auto& dq = mb.node("DequantizeLinear", {"wq", "ws", "wz"}, {"w"});
  testing::ModelBuilder::attr_int(dq, "axis", 0);
  testing::ModelBuilder::attr_int(dq, "block_size", 2);
  mb.node("MatMul", {"x", "w"}, {"y"});
  mb.output("y");
  auto s = Session::from_bytes(mb.bytes());
  CHECK(s->op_counts().count("DequantizeLinear") == 0);  // folded into an fp32 weight at open
  const auto out = s->run({{"x", make_f32({1, 4}, {1, 1, 1, 1})}});
  // W = (wq - zp) * s: rows 0-1 use block 0, rows 2-3 block 1.
  //   col 0: (1-0)*.5 + (3-0)*.5 + (5+1)*2 + (7+1)*2 = 30; col 1: (-2-1)*1 + (-4-1)*1 + (-6)*.25 + (-8)*.25 =
  //   -11.5
  CHECK(as_floats(out[0]) == std::vector<float>{30.f, -11.5f});
}

TEST_CASE("data movement ops carry int4 and float8 as bytes", "[ops][narrow]") {
  // Transpose -> Reshape -> Concat with an int4 constant -> Gather -> Slice, on an int4 graph input; and a
  // float8 value through Where and Expand. Outputs keep their types and exact bytes.
  testing::ModelBuilder mb(21);
  mb.input("x", {int64_t{2}, int64_t{3}}, 22);
  mb.input("f", {int64_t{2}}, 17);
  mb.input("c", {int64_t{2}}, 9);
  Tensor k(DType::i4, {1, 2});
  k.data_as<int8_t>()[0] = -8;
  k.data_as<int8_t>()[1] = 7;
  mb.init("k", k);
  mb.init("shape", testing::make_i64({2}, {3, 2}));
  mb.init("idx", testing::make_i64({2}, {3, 0}));
  mb.init("starts", testing::make_i64({1}, {1}));
  mb.init("ends", testing::make_i64({1}, {2}));
  mb.init("axes", testing::make_i64({1}, {1}));
  mb.init("eshape", testing::make_i64({2}, {2, 2}));
  mb.node("Transpose", {"x"}, {"t"});
  mb.node("Reshape", {"t", "shape"}, {"r"});
  auto& cat = mb.node("Concat", {"r", "k"}, {"cat"});
  testing::ModelBuilder::attr_int(cat, "axis", 0);
  mb.node("Gather", {"cat", "idx"}, {"g"});
  mb.node("Slice", {"g", "starts", "ends", "axes"}, {"y"});
  mb.node("Where", {"c", "f", "f"}, {"w"});
  mb.node("Expand", {"w", "eshape"}, {"e"});
  mb.output("y", 22);
  mb.output("e", 17);
  auto s = Session::from_bytes(mb.bytes());
  Tensor x(DType::i4, {2, 3});
  const int8_t xv[6] = {1, 2, 3, -1, -2, -3};
  std::copy(xv, xv + 6, x.data_as<int8_t>());
  const Tensor f = bytes(DType::f8e4m3fn, {2}, {0x38, 0xff});
  Tensor c(DType::boolean, {2});
  const auto out = s->run({{"x", x}, {"f", f}, {"c", c}});
  REQUIRE(out[0].dtype() == DType::i4);
  // x^T = [[1,-1],[2,-2],[3,-3]]; with k: row 3 = [-8, 7]; rows 3 and 0, column 1: [7, -1]
  REQUIRE(out[0].shape() == Shape{2, 1});
  CHECK(out[0].data_as<int8_t>()[0] == 7);
  CHECK(out[0].data_as<int8_t>()[1] == -1);
  REQUIRE(out[1].dtype() == DType::f8e4m3fn);
  CHECK(as_ints(out[1]) == std::vector<int>{0x38, 0xff, 0x38, 0xff});
}
