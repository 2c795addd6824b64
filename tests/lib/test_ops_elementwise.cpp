// Elementwise ops: integer semantics (Div truncation, Mod sign, wrap-around, no trap on division by zero)
// on every integer type, broadcasting, the Pow fast paths and saturating float exponents on integers, Clip
// across opsets, numerically safe Sigmoid, variadic Min/Max, and thread-pool equivalence.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "ops/eval.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

TEST_CASE("integer Sub/Mul/Div follow C semantics with broadcasting", "[ops][elementwise]") {
  const Tensor a = i64({2, 2}, {7, -7, 9, 10}), b = i64({2}, {2, -3});
  CHECK(vals<int64_t>(eval_single("Div", {a, b})[0]) == std::vector<int64_t>{3, 2, 4, -3});
  CHECK(vals<int64_t>(eval_single("Mul", {a, b})[0]) == std::vector<int64_t>{14, 21, 18, -30});
  CHECK(vals<int64_t>(eval_single("Sub", {a, b})[0]) == std::vector<int64_t>{5, -4, 7, 13});
  const Tensor c = i32({3}, {5, 6, 7}), d = i32({}, {2});
  CHECK(vals<int32_t>(eval_single("Div", {c, d})[0]) == std::vector<int32_t>{2, 3, 3});
  CHECK_THROWS_AS(eval_single("Mul", {a, f32({2}, {1, 2})}), Error);  // mixed types
}

TEST_CASE("Add/Sub/Mul/Div/Mod on narrow and unsigned integers wrap, truncate and never trap",
          "[ops][elementwise]") {
  const Tensor a = make<int8_t>(DType::i8, {5}, {127, -128, -7, 100, -128});
  const Tensor b = make<int8_t>(DType::i8, {5}, {1, -1, 2, 0, 0});
  CHECK(vals<int8_t>(eval_single("Add", {a, b})[0]) == std::vector<int8_t>{-128, 127, -5, 100, -128});
  CHECK(vals<int8_t>(eval_single("Sub", {a, b})[0]) == std::vector<int8_t>{126, -127, -9, 100, -128});
  CHECK(vals<int8_t>(eval_single("Mul", {a, b})[0]) == std::vector<int8_t>{127, -128, -14, 0, 0});
  // lowest / -1 wraps to lowest; -7 / 2 truncates toward zero; division by zero gives 0.
  CHECK(vals<int8_t>(eval_single("Div", {a, b})[0]) == std::vector<int8_t>{127, -128, -3, 0, 0});
  CHECK(vals<int8_t>(eval_single("Mod", {a, b})[0]) == std::vector<int8_t>{0, 0, 1, 0, 0});
  Attrs f;
  f.set_int("fmod", 1);
  CHECK(vals<int8_t>(eval_single("Mod", {a, b}, f)[0]) == std::vector<int8_t>{0, 0, -1, 0, 0});
  constexpr int64_t kMin64 = std::numeric_limits<int64_t>::min();
  CHECK(vals<int64_t>(eval_single("Div", {i64({2}, {kMin64, 9}), i64({2}, {-1, 0})})[0]) ==
        std::vector<int64_t>{kMin64, 0});
  CHECK(vals<int32_t>(eval_single("Add", {i32({1}, {2147483647}), i32({1}, {1})})[0]) ==
        std::vector<int32_t>{-2147483647 - 1});
  // uint16 * uint16 is computed in int after promotion: 65535^2 overflows int, so it must wrap unsigned.
  const Tensor u16 = make<uint16_t>(DType::u16, {2}, {65535, 300});
  CHECK(vals<uint16_t>(eval_single("Mul", {u16, u16})[0]) == std::vector<uint16_t>{1, 24464});
  CHECK(vals<uint16_t>(eval_single("Add", {u16, u16})[0]) == std::vector<uint16_t>{65534, 600});
  const Tensor u8a = make<uint8_t>(DType::u8, {3}, {200, 7, 0}), u8b = make<uint8_t>(DType::u8, {}, {100});
  CHECK(vals<uint8_t>(eval_single("Add", {u8a, u8b})[0]) == std::vector<uint8_t>{44, 107, 100});
  CHECK(vals<uint8_t>(eval_single("Sub", {u8a, u8b})[0]) == std::vector<uint8_t>{100, 163, 156});
  CHECK(vals<uint8_t>(eval_single("Div", {u8a, u8b})[0]) == std::vector<uint8_t>{2, 0, 0});
  const Tensor u64 = make<uint64_t>(DType::u64, {2}, {0, 18446744073709551615ull});
  const Tensor one64 = make<uint64_t>(DType::u64, {}, {1});
  CHECK(vals<uint64_t>(eval_single("Sub", {u64, one64})[0]) ==
        std::vector<uint64_t>{18446744073709551615ull, 18446744073709551614ull});
  CHECK(vals<uint64_t>(eval_single("Add", {u64, one64})[0]) == std::vector<uint64_t>{1, 0});
  const Tensor u32 = make<uint32_t>(DType::u32, {2}, {4000000000u, 5});
  CHECK(vals<uint32_t>(eval_single("Max", {u32, make<uint32_t>(DType::u32, {}, {7})})[0]) ==
        std::vector<uint32_t>{4000000000u, 7});
  const Tensor s1 = make<int16_t>(DType::i16, {2}, {32767, -5}), s2 = make<int16_t>(DType::i16, {2}, {1, 5});
  CHECK(vals<int16_t>(eval_single("Sum", {s1, s2, s2})[0]) == std::vector<int16_t>{-32767, 5});
}

TEST_CASE("Mod: Python sign by default, C fmod with fmod=1", "[ops][elementwise]") {
  const Tensor a = i64({4}, {-7, 7, -7, 7}), b = i64({4}, {3, -3, -3, 3});
  CHECK(vals<int64_t>(eval_single("Mod", {a, b})[0]) == std::vector<int64_t>{2, -2, -1, 1});
  Attrs f;
  f.set_int("fmod", 1);
  CHECK(vals<int64_t>(eval_single("Mod", {a, b}, f)[0]) == std::vector<int64_t>{-1, 1, -1, 1});
  // Floats with fmod=0 take the divisor's sign, as numpy.mod (defined by newer opsets; earlier ones
  // required fmod=1 for floats, and ONNX Runtime's answer was the same).
  CHECK(vals<float>(eval_single("Mod", {f32({2}, {-1, 1}), f32({2}, {2, -2})})[0]) ==
        std::vector<float>{1, -1});
}

TEST_CASE("Pow: scalar-exponent fast paths and integer powers", "[ops][elementwise]") {
  const Tensor x = f32({3}, {-2, 3, 4});
  CHECK(vals<float>(eval_single("Pow", {x, f32({}, {2})})[0]) == std::vector<float>{4, 9, 16});
  CHECK(eval_single("Pow", {x, f32({}, {0.5f})})[0].data_as<float>()[2] == 2.f);
  CHECK(eval_single("Pow", {x, i64({}, {3})})[0].data_as<float>()[0] == -8.f);
  // x^3 (GPT-2's tanh GELU) as x * x * x: within an ulp or two of powf, signs and specials kept.
  const Tensor xs = f32({7}, {-1.5f, 0.3f, 1e-12f, -0.f, 1e13f, INFINITY, NAN});
  const std::vector<float> cube = vals<float>(eval_single("Pow", {xs, f32({}, {3.f})})[0]);
  for (int i = 0; i < 4; ++i)
    CHECK(cube[i] == Approx(std::pow(double(xs.data_as<float>()[i]), 3.0)).epsilon(1e-6));
  CHECK(std::signbit(cube[3]));
  CHECK(std::isinf(cube[4]));  // 1e39 overflows float, as powf does
  CHECK(cube[5] == INFINITY);
  CHECK(std::isnan(cube[6]));
  CHECK(vals<int64_t>(eval_single("Pow", {i64({3}, {2, -3, 5}), i64({3}, {10, 3, 0})})[0]) ==
        std::vector<int64_t>{1024, -27, 1});
  // Narrow integer exponents; negative ones give 0 or +-1; the power wraps like the product.
  const Tensor e8 = make<int8_t>(DType::i8, {4}, {3, -1, -3, 2});
  CHECK(vals<int32_t>(eval_single("Pow", {i32({4}, {2, 2, -1, 65536}), e8})[0]) ==
        std::vector<int32_t>{8, 0, -1, 0});
  const Tensor min64 = i64({1}, {std::numeric_limits<int64_t>::min()});
  CHECK(vals<int64_t>(eval_single("Pow", {i64({1}, {-1}), min64})[0]) == std::vector<int64_t>{1});
  CHECK(vals<float>(eval_single("Pow", {x, make<uint16_t>(DType::u16, {}, {3})})[0]) ==
        std::vector<float>{-8, 27, 64});
  // An integer base with a float exponent: results past the type (0^-1 = inf, (-1)^0.5 = NaN) saturate,
  // NaN to 0, instead of an undefined float -> int conversion.
  CHECK(vals<int32_t>(eval_single("Pow", {i32({4}, {0, -1, 2, 3}), f32({4}, {-1, 0.5f, 40, 2})})[0]) ==
        std::vector<int32_t>{std::numeric_limits<int32_t>::max(), 0, std::numeric_limits<int32_t>::max(), 9});
  CHECK(vals<int64_t>(eval_single("Pow", {i64({2}, {-2, 7}), f32({2}, {63, 1})})[0]) ==
        std::vector<int64_t>{std::numeric_limits<int64_t>::min(), 7});
}

TEST_CASE("Clip: attributes before opset 11, optional inputs after", "[ops][elementwise]") {
  const Tensor x = f32({4}, {-5, -0.5f, 0.5f, 5});
  Attrs a;
  a.set_float("min", -1.f);
  a.set_float("max", 1.f);
  EvalOptions o6;
  o6.opset = 6;
  CHECK(vals<float>(eval_single("Clip", {x}, a, o6)[0]) == std::vector<float>{-1, -0.5f, 0.5f, 1});
  // Opset 13: only a max (min absent).
  CHECK(vals<float>(eval_single("Clip", {x, Tensor(), f32({}, {0.f})})[0]) ==
        std::vector<float>{-5, -0.5f, 0, 0});
  CHECK(vals<int64_t>(eval_single("Clip", {i64({3}, {-9, 0, 9}), i64({}, {-2}), i64({}, {2})})[0]) ==
        std::vector<int64_t>{-2, 0, 2});
}

TEST_CASE("activations: Sigmoid is safe at the extremes, HardSwish/LeakyRelu/HardSigmoid",
          "[ops][elementwise]") {
  const Tensor s = eval_single("Sigmoid", {f32({3}, {-200, 0, 200})})[0];
  CHECK(s.data_as<float>()[0] < 1e-30f);
  CHECK(s.data_as<float>()[1] == 0.5f);
  CHECK(s.data_as<float>()[2] == 1.f);
  // The vectorised Sigmoid/Tanh stay within a few ulp of libm.
  const Tensor x = rnd({1000}, 3);
  const Tensor sg = eval_single("Sigmoid", {x})[0], th = eval_single("Tanh", {x})[0];
  for (int64_t i = 0; i < 1000; ++i) {
    CHECK(sg.data_as<float>()[i] ==
          Approx(1.0 / (1.0 + std::exp(-double(x.data_as<float>()[i])))).epsilon(1e-6));
    CHECK(th.data_as<float>()[i] ==
          Approx(std::tanh(double(x.data_as<float>()[i]))).epsilon(1e-5).margin(1e-7));
  }
  // The branch-free select: the series near 0 (relative accuracy), NaN kept, saturation at the ends.
  const Tensor ts =
      eval_single("Tanh", {f32({8}, {1e-30f, -3e-3f, 5e-3f, -0.f, 20.f, -INFINITY, NAN, -NAN})})[0];
  CHECK(ts.data_as<float>()[0] == 1e-30f);
  CHECK(ts.data_as<float>()[1] == Approx(std::tanh(-3e-3)).epsilon(1e-6));
  CHECK(ts.data_as<float>()[2] == Approx(std::tanh(5e-3)).epsilon(1e-5));
  CHECK((ts.data_as<float>()[3] == 0.f && std::signbit(ts.data_as<float>()[3])));
  CHECK(ts.data_as<float>()[4] == 1.f);
  CHECK(ts.data_as<float>()[5] == -1.f);
  CHECK(std::isnan(ts.data_as<float>()[6]));
  CHECK(std::isnan(ts.data_as<float>()[7]));
  const Tensor h = eval_single("HardSwish", {f32({3}, {-4, 1, 4})})[0];
  CHECK(h.data_as<float>()[0] == 0.f);
  CHECK(h.data_as<float>()[1] == Approx(1.f * (1.f / 6.f + 0.5f)));
  CHECK(h.data_as<float>()[2] == 4.f);
  CHECK(eval_single("LeakyRelu", {f32({1}, {-2})})[0].data_as<float>()[0] == Approx(-0.02f));
  CHECK(eval_single("HardSigmoid", {f32({1}, {0})})[0].data_as<float>()[0] == 0.5f);
  CHECK(std::isnan(eval_single("Sqrt", {f32({1}, {-1})})[0].data_as<float>()[0]));
  CHECK(eval_single("Erf", {f32({1}, {0.5f})})[0].data_as<float>()[0] == Approx(std::erf(0.5f)));
}

TEST_CASE("variadic Min/Max/Sum/Mean broadcast over all inputs", "[ops][elementwise]") {
  const Tensor a = f32({3}, {1, 5, 3}), b = f32({2, 1}, {2, 4}), c = f32({}, {3.5f});
  const Tensor mx = eval_single("Max", {a, b, c})[0];
  REQUIRE(mx.shape() == Shape{2, 3});
  CHECK(vals<float>(mx) == std::vector<float>{3.5f, 5, 3.5f, 4, 5, 4});
  CHECK(vals<float>(eval_single("Mean", {a, a})[0]) == vals<float>(a));
  CHECK(vals<float>(eval_single("Min", {a})[0]) == vals<float>(a));
}

TEST_CASE("big elementwise ops give identical results on a thread pool", "[ops][elementwise]") {
  const Tensor a = rnd({4, 300, 70}, 1), b = rnd({300, 1}, 2);
  EvalOptions o;
  o.threading = test_threads(4);
  for (const char* op : {"Sub", "Mul", "Div", "Pow", "Max"}) {
    INFO(op);
    const Tensor y1 = eval_single(op, {a, b})[0], y2 = eval_single(op, {a, b}, {}, o)[0];
    REQUIRE(y1.shape() == Shape{4, 300, 70});
    const std::vector<float> v1 = vals<float>(y1), v2 = vals<float>(y2);
    CHECK(std::equal(v1.begin(), v1.end(), v2.begin(),
                     [](float p, float q) { return p == q || (std::isnan(p) && std::isnan(q)); }));
  }
  const Tensor t1 = eval_single("Tanh", {a})[0], t2 = eval_single("Tanh", {a}, {}, o)[0];
  CHECK(max_abs_diff(t1, t2) == 0.f);
}

TEST_CASE("broadcasting over every pattern of size-1 and merged dimensions matches index arithmetic",
          "[ops][elementwise]") {
  // Rank 1..5 shapes of dims in {1, 2, 3}, each dim of b either equal, 1, or missing on the left: the
  // broadcast index drops size-1 dims and merges neighbours both inputs walk alike, which must not
  // change a single offset.
  uint32_t seed = 12345;
  auto next = [&] {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
  };
  for (int trial = 0; trial < 300; ++trial) {
    const int rank = 1 + static_cast<int>(next() % 5);
    Shape sa(static_cast<size_t>(rank)), sb;
    for (int d = 0; d < rank; ++d) sa[static_cast<size_t>(d)] = 1 + next() % 3;
    const int rb = 1 + static_cast<int>(next() % rank);
    for (int d = rank - rb; d < rank; ++d) sb.push_back(next() % 2 ? sa[static_cast<size_t>(d)] : 1);
    if (next() % 2) std::swap(sa, sb);  // either side may be the broadcast one
    const int ro = static_cast<int>(std::max(sa.size(), sb.size()));
    Shape so(static_cast<size_t>(ro));
    for (int d = 0; d < ro; ++d) {
      const int da = d - (ro - static_cast<int>(sa.size())), db = d - (ro - static_cast<int>(sb.size()));
      so[static_cast<size_t>(d)] =
          std::max(da >= 0 ? sa[static_cast<size_t>(da)] : 1, db >= 0 ? sb[static_cast<size_t>(db)] : 1);
    }
    auto fill = [](const Shape& s, float base) {
      std::vector<float> v(static_cast<size_t>(shape_numel(s)));
      for (size_t i = 0; i < v.size(); ++i) v[i] = base + static_cast<float>(i);
      return f32(s, v);
    };
    const Tensor a = fill(sa, 1.f), b = fill(sb, 1000.f);
    const Tensor y = eval_single("Mul", {a, b})[0];
    REQUIRE(y.shape() == so);
    auto offset = [&](const Shape& s, int64_t flat) {
      int64_t off = 0, stride = 1;
      for (int d = ro - 1; d >= 0; --d) {
        const int64_t idx = flat % so[static_cast<size_t>(d)];
        flat /= so[static_cast<size_t>(d)];
        const int ds = d - (ro - static_cast<int>(s.size()));
        if (ds < 0) continue;
        if (s[static_cast<size_t>(ds)] != 1) off += idx * stride;
        stride *= s[static_cast<size_t>(ds)];
      }
      return off;
    };
    for (int64_t i = 0; i < y.numel(); ++i) {
      CAPTURE(trial, shape_str(sa), shape_str(sb), i);
      REQUIRE(y.data_as<float>()[i] == a.data_as<float>()[offset(sa, i)] * b.data_as<float>()[offset(sb, i)]);
    }
  }
}
