// Reductions: suffix (contiguous) and general axis patterns, keepdims, ReduceSum-13 axes input and
// noop_with_empty_axes, ArgMax/ArgMin with select_last_index.
#include <catch2/catch.hpp>

#include "ops/eval.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

TEST_CASE("ReduceMean/Max over suffix and non-contiguous axes", "[ops][reduce]") {
  const Tensor x = rnd({3, 4, 5}, 8);
  const float* p = x.data_as<float>();
  Attrs last;
  last.set_ints("axes", {-1});
  const Tensor m = eval_single("ReduceMean", {x}, last, at(13))[0];
  REQUIRE(m.shape() == Shape{3, 4, 1});
  double s0 = 0;
  for (int i = 0; i < 5; ++i) s0 += p[i];
  CHECK(m.data_as<float>()[0] == Approx(s0 / 5).margin(1e-6));
  Attrs mid;
  mid.set_ints("axes", {0, 2});
  mid.set_int("keepdims", 0);
  const Tensor mx = eval_single("ReduceMax", {x}, mid, at(13))[0];
  REQUIRE(mx.shape() == Shape{4});
  for (int j = 0; j < 4; ++j) {
    float best = -1e9f;
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 5; ++k) best = std::max(best, p[(i * 4 + j) * 5 + k]);
    CHECK(mx.data_as<float>()[j] == best);
  }
  Attrs all;
  all.set_int("keepdims", 0);
  const Tensor sm = eval_single("ReduceSum", {x}, all, at(11))[0];
  CHECK(sm.shape() == Shape{});
}

TEST_CASE("ReduceSum 13: axes input, empty axes, noop", "[ops][reduce]") {
  const Tensor x = f32({2, 2}, {1, 2, 3, 4});
  CHECK(vals<float>(eval_single("ReduceSum", {x, i64({1}, {0})})[0]) == std::vector<float>{4, 6});
  CHECK(vals<float>(eval_single("ReduceSum", {x})[0]) == std::vector<float>{10});
  Attrs noop;
  noop.set_int("noop_with_empty_axes", 1);
  CHECK(vals<float>(eval_single("ReduceSum", {x, i64({0}, {})}, noop)[0]) == vals<float>(x));
  EvalOptions c;
  c.inputs_constant = true;
  CHECK(vals<float>(eval_single("ReduceSum", {x, i64({1}, {1})}, {}, c)[0]) == std::vector<float>{3, 7});
  CHECK(vals<int64_t>(eval_single("ReduceSum", {i64({3}, {1, 2, 3})})[0]) == std::vector<int64_t>{6});
}

TEST_CASE("ArgMax/ArgMin with ties", "[ops][reduce]") {
  const Tensor x = f32({2, 3}, {1, 5, 5, 2, 0, 2});
  Attrs a;
  a.set_int("axis", 1);
  a.set_int("keepdims", 0);
  CHECK(vals<int64_t>(eval_single("ArgMax", {x}, a)[0]) == std::vector<int64_t>{1, 0});
  a.set_int("select_last_index", 1);
  CHECK(vals<int64_t>(eval_single("ArgMax", {x}, a)[0]) == std::vector<int64_t>{2, 2});
  CHECK(vals<int64_t>(eval_single("ArgMin", {x}, a)[0]) == std::vector<int64_t>{0, 1});
}

TEST_CASE("ReduceMax/Min on bool and narrow integers, and over an empty set", "[ops][reduce]") {
  const Tensor b = bools({2, 3}, {true, false, false, true, true, true});
  const Tensor axis1 = i64({1}, {1});
  CHECK(vals<bool>(eval_single("ReduceMax", {b, axis1}, {}, at(20))[0]) == std::vector<bool>{true, true});
  CHECK(vals<bool>(eval_single("ReduceMin", {b, axis1}, {}, at(20))[0]) == std::vector<bool>{false, true});
  // Axis 0 takes the strided (non-suffix) path.
  CHECK(vals<bool>(eval_single("ReduceMin", {b, i64({1}, {0})}, {}, at(20))[0]) ==
        std::vector<bool>{true, false, false});
  // The empty set gives the combine's identity: false / true for bool, lowest / max for integers.
  const Tensor e = bools({2, 0}, {});
  const Tensor ymax = eval_single("ReduceMax", {e, axis1}, {}, at(20))[0];
  CHECK(ymax.shape() == Shape{2, 1});
  CHECK(vals<bool>(ymax) == std::vector<bool>{false, false});
  CHECK(vals<bool>(eval_single("ReduceMin", {e, axis1}, {}, at(20))[0]) == std::vector<bool>{true, true});
  CHECK(vals<int8_t>(eval_single("ReduceMax", {make<int8_t>(DType::i8, {2, 0}, {}), axis1}, {}, at(18))[0]) ==
        std::vector<int8_t>{-128, -128});
  CHECK(vals<uint8_t>(eval_single("ReduceMin", {make<uint8_t>(DType::u8, {1, 0}, {}), axis1}, {},
                                  at(18))[0]) == std::vector<uint8_t>{255});
  CHECK(vals<int32_t>(eval_single("ReduceMax", {i32({1, 0}, {}), axis1}, {}, at(18))[0]) ==
        std::vector<int32_t>{-2147483647 - 1});
  CHECK(vals<uint64_t>(eval_single("ReduceMax",
                                   {make<uint64_t>(DType::u64, {3}, {5, 18446744073709551615ull, 7})}, {},
                                   at(18))[0]) == std::vector<uint64_t>{18446744073709551615ull});
  // Integer sums wrap instead of overflowing (undefined for signed types in C++).
  CHECK(vals<int32_t>(eval_single("ReduceSum", {i32({2}, {2147483647, 1})})[0]) ==
        std::vector<int32_t>{-2147483647 - 1});
}
