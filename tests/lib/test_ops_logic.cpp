// Comparison/logic ops and Where with three-way broadcasting.
#include <catch2/catch.hpp>

#include "ops/eval.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

TEST_CASE("comparisons produce bool with broadcasting", "[ops][logic]") {
  const Tensor a = i64({2, 2}, {1, 2, 3, 4}), b = i64({2}, {2, 2});
  CHECK(vals<bool>(eval_single("Equal", {a, b})[0]) == std::vector<bool>{false, true, false, false});
  CHECK(vals<bool>(eval_single("Less", {a, b})[0]) == std::vector<bool>{true, false, false, false});
  CHECK(vals<bool>(eval_single("GreaterOrEqual", {a, b})[0]) == std::vector<bool>{false, true, true, true});
  const Tensor x = f32({3}, {1, 2, 3});
  CHECK(vals<bool>(eval_single("LessOrEqual", {x, f32({}, {2})})[0]) == std::vector<bool>{true, true, false});
  CHECK(eval_single("Greater", {x, x})[0].dtype() == DType::boolean);
  CHECK_THROWS_AS(eval_single("And", {x, x}), Error);  // And needs bool
}

TEST_CASE("And/Or/Xor/Not", "[ops][logic]") {
  const Tensor p = bools({4}, {true, true, false, false}), q = bools({4}, {true, false, true, false});
  CHECK(vals<bool>(eval_single("And", {p, q})[0]) == std::vector<bool>{true, false, false, false});
  CHECK(vals<bool>(eval_single("Or", {p, q})[0]) == std::vector<bool>{true, true, true, false});
  CHECK(vals<bool>(eval_single("Xor", {p, q})[0]) == std::vector<bool>{false, true, true, false});
  CHECK(vals<bool>(eval_single("Not", {p})[0]) == std::vector<bool>{false, false, true, true});
}

TEST_CASE("Where broadcasts condition, X and Y", "[ops][logic]") {
  const Tensor c = bools({2, 1}, {true, false});
  const Tensor x = f32({3}, {1, 2, 3}), y = f32({}, {-1});
  const Tensor o = eval_single("Where", {c, x, y})[0];
  REQUIRE(o.shape() == Shape{2, 3});
  CHECK(vals<float>(o) == std::vector<float>{1, 2, 3, -1, -1, -1});
  // int64 and the same-shape fast path, on a pool.
  EvalOptions opt;
  opt.threading = test_threads(2);
  const Tensor o2 = eval_single(
      "Where", {bools({3}, {false, true, false}), i64({3}, {1, 2, 3}), i64({3}, {7, 8, 9})}, {}, opt)[0];
  CHECK(vals<int64_t>(o2) == std::vector<int64_t>{7, 2, 9});
  CHECK_THROWS_AS(eval_single("Where", {c, x, i64({1}, {1})}), Error);
}
