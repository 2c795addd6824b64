// Data movement: Transpose fast paths vs a naive reference, Slice clamping and negative steps, Split
// forms, Gather (negative indices, errors), Concat, Tile, CumSum.
#include <catch2/catch.hpp>

#include "ops/eval.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

namespace {
Tensor ref_transpose(const Tensor& x, const std::vector<int64_t>& perm) {
  const Shape& s = x.shape();
  Shape o;
  for (int64_t p : perm) o.push_back(s[p]);
  Tensor y(DType::f32, o);
  const std::vector<int64_t> st = strides_of(s);
  std::vector<int64_t> idx(o.size(), 0);
  for (int64_t i = 0; i < y.numel(); ++i) {
    int64_t rem = i, off = 0;
    for (int64_t d = static_cast<int64_t>(o.size()) - 1; d >= 0; --d) {
      off += (rem % o[d]) * st[perm[d]];
      rem /= o[d];
    }
    y.data_as<float>()[i] = x.data_as<float>()[off];
  }
  return y;
}
}  // namespace

TEST_CASE("Transpose: attention permutations, batched 2-D and general", "[ops][movement]") {
  const Tensor x = rnd({2, 5, 3, 7}, 2);
  const std::vector<std::vector<int64_t>> perms = {{0, 2, 1, 3}, {0, 2, 3, 1}, {0, 3, 1, 2}, {3, 2, 1, 0},
                                                   {1, 0, 2, 3}, {2, 0, 3, 1}, {0, 1, 2, 3}};
  for (const auto& p : perms) {
    Attrs a;
    a.set_ints("perm", p);
    EvalOptions o;
    o.threading = test_threads(3);
    const Tensor y = eval_single("Transpose", {x}, a, o)[0];
    CHECK(max_abs_diff(y, ref_transpose(x, p)) == 0.f);
  }
  // Big batched 2-D transpose (tiles) and size-1 dims that coalesce away.
  const Tensor b = rnd({3, 70, 1, 45}, 3);
  Attrs a;
  a.set_ints("perm", {0, 3, 2, 1});
  CHECK(max_abs_diff(eval_single("Transpose", {b}, a)[0], ref_transpose(b, {0, 3, 2, 1})) == 0.f);
  CHECK(eval_single("Transpose", {rnd({2, 3})})[0].shape() == Shape{3, 2});  // default: reverse
}

TEST_CASE("Slice: clamping, negative steps, opset 1 attributes", "[ops][movement]") {
  const Tensor x = f32({2, 5}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  // all rows, columns from the end backwards in steps of 2
  const Tensor y =
      eval_single("Slice", {x, i64({1}, {-1}), i64({1}, {-1000}), i64({1}, {1}), i64({1}, {-2})})[0];
  CHECK(y.shape() == Shape{2, 3});
  CHECK(vals<float>(y) == std::vector<float>{4, 2, 0, 9, 7, 5});
  const Tensor z = eval_single("Slice", {x, i64({2}, {1, 1}), i64({2}, {INT64_MAX, 3})})[0];
  CHECK(vals<float>(z) == std::vector<float>{6, 7});
  Attrs a;
  a.set_ints("starts", {0});
  a.set_ints("ends", {2});
  a.set_ints("axes", {1});
  CHECK(vals<float>(eval_single("Slice", {x}, a, at(9))[0]) == std::vector<float>{0, 1, 5, 6});
  EvalOptions c;
  c.inputs_constant = true;
  CHECK(eval_single("Slice", {x, i64({1}, {3}), i64({1}, {1})}, {}, c)[0].shape() == Shape{0, 5});
}

TEST_CASE("Split: attribute, input and opset-18 num_outputs", "[ops][movement]") {
  const Tensor x = f32({5}, {1, 2, 3, 4, 5});
  Attrs a;
  a.set_ints("split", {2, 3});
  EvalOptions o;
  o.opset = 11;
  o.num_outputs = 2;
  auto ys = eval_single("Split", {x}, a, o);
  CHECK(vals<float>(ys[1]) == std::vector<float>{3, 4, 5});
  o.opset = 13;
  ys = eval_single("Split", {x, i64({2}, {4, 1})}, {}, o);
  CHECK(vals<float>(ys[0]) == std::vector<float>{1, 2, 3, 4});
  Attrs n;
  n.set_int("num_outputs", 2);
  o.opset = 18;
  ys = eval_single("Split", {x}, n, o);
  CHECK(ys[0].numel() == 3);
  CHECK(ys[1].numel() == 2);
  o.opset = 13;
  CHECK_THROWS_AS(eval_single("Split", {x}, {}, o), Error);  // 5 is not divisible by 2
}

TEST_CASE("Gather, Concat, Tile, CumSum", "[ops][movement]") {
  const Tensor d = f32({3, 2}, {1, 2, 3, 4, 5, 6});
  const Tensor g = eval_single("Gather", {d, i64({2, 1}, {-1, 0})})[0];
  CHECK(g.shape() == Shape{2, 1, 2});
  CHECK(vals<float>(g) == std::vector<float>{5, 6, 1, 2});
  Attrs ax1;
  ax1.set_int("axis", 1);
  CHECK(vals<float>(eval_single("Gather", {d, i32({}, {1})}, ax1)[0]) == std::vector<float>{2, 4, 6});
  CHECK_THROWS_AS(eval_single("Gather", {d, i64({1}, {3})}), Error);
  Attrs c;
  c.set_int("axis", -1);
  const Tensor cc = eval_single("Concat", {d, f32({3, 1}, {7, 8, 9})}, c)[0];
  CHECK(vals<float>(cc) == std::vector<float>{1, 2, 7, 3, 4, 8, 5, 6, 9});
  CHECK_THROWS_AS(eval_single("Concat", {d, f32({2, 1}, {7, 8})}, c), Error);
  const Tensor t = eval_single("Tile", {f32({2}, {1, 2}), i64({1}, {3})})[0];
  CHECK(vals<float>(t) == std::vector<float>{1, 2, 1, 2, 1, 2});
  Attrs ex;
  ex.set_int("exclusive", 1);
  ex.set_int("reverse", 1);
  CHECK(vals<float>(eval_single("CumSum", {f32({4}, {1, 2, 3, 4}), i64({}, {0})}, ex)[0]) ==
        std::vector<float>{9, 7, 4, 0});
  CHECK(vals<int64_t>(eval_single("CumSum", {i64({2, 2}, {1, 2, 3, 4}), i32({}, {1})})[0]) ==
        std::vector<int64_t>{1, 3, 3, 7});
}
