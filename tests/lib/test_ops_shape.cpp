// Shape ops: Reshape (0, -1, allowzero, errors, aliasing), Flatten, Squeeze/Unsqueeze across opsets,
// Cast (incl. f16 round trip), ConstantOfShape, Range, Expand; data-dependent shapes (non-constant
// shape inputs) and constant ones give the same result.
#include <catch2/catch.hpp>

#include "ops/eval.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

namespace {
Shape shape_of(const std::string& op, std::vector<Tensor> in, const Attrs& a = {}, int opset = 17) {
  EvalOptions o;
  o.opset = opset;
  const Shape s1 = eval_single(op, in, a, o)[0].shape();
  o.inputs_constant = true;  // static-shape path
  const Shape s2 = eval_single(op, in, a, o)[0].shape();
  CHECK(s1 == s2);
  return s1;
}
}  // namespace

TEST_CASE("Reshape: 0 copies, -1 infers, allowzero keeps zeros", "[ops][shape]") {
  const Tensor x = rnd({2, 3, 4});
  CHECK(shape_of("Reshape", {x, i64({3}, {0, -1, 2})}) == Shape{2, 6, 2});
  CHECK(shape_of("Reshape", {x, i64({1}, {-1})}) == Shape{24});
  const Tensor y = eval_single("Reshape", {x, i64({2}, {4, 6})})[0];
  CHECK(vals<float>(y) == vals<float>(x));
  Attrs az;
  az.set_int("allowzero", 1);
  CHECK(shape_of("Reshape", {Tensor(DType::f32, {0, 3}), i64({2}, {3, 0})}, az) == Shape{3, 0});
  CHECK_THROWS_AS(eval_single("Reshape", {x, i64({2}, {-1, -1})}), Error);
  CHECK_THROWS_AS(eval_single("Reshape", {x, i64({2}, {5, 5})}), Error);
}

TEST_CASE("Flatten, Squeeze and Unsqueeze by opset", "[ops][shape]") {
  const Tensor x = rnd({2, 1, 3, 1});
  Attrs f;
  f.set_int("axis", -1);
  CHECK(shape_of("Flatten", {x}, f) == Shape{6, 1});
  CHECK(shape_of("Squeeze", {x}) == Shape{2, 3});
  CHECK(shape_of("Squeeze", {x, i64({1}, {-1})}) == Shape{2, 1, 3});
  Attrs ax;
  ax.set_ints("axes", {0, 3});
  CHECK(shape_of("Unsqueeze", {rnd({2, 3})}, ax, 11) == Shape{1, 2, 3, 1});
  CHECK(shape_of("Unsqueeze", {rnd({2, 3}), i64({2}, {0, -1})}) == Shape{1, 2, 3, 1});
  CHECK(shape_of("Squeeze", {rnd({2, 1}), i64({1}, {1})}, {}, 13) == Shape{2});
  CHECK_THROWS_AS(eval_single("Squeeze", {x, i64({1}, {0})}), Error);  // dim 0 has size 2
}

TEST_CASE("Cast between floats, ints, bool and float16", "[ops][shape]") {
  Attrs to;
  to.set_int("to", 7);  // INT64
  CHECK(vals<int64_t>(eval_single("Cast", {f32({3}, {-1.7f, 0.2f, 2.9f})}, to)[0]) ==
        std::vector<int64_t>{-1, 0, 2});
  to.set_int("to", 9);  // BOOL
  CHECK(vals<bool>(eval_single("Cast", {i64({3}, {0, 5, -1})}, to)[0]) ==
        std::vector<bool>{false, true, true});
  to.set_int("to", 10);  // FLOAT16
  const Tensor h = eval_single("Cast", {f32({4}, {1.f, -2.5f, 65504.f, 1e-7f})}, to)[0];
  CHECK(h.dtype() == DType::f16);
  CHECK(h.data_as<uint16_t>()[0] == 0x3c00);
  to.set_int("to", 1);  // back to FLOAT
  const Tensor f = eval_single("Cast", {h}, to)[0];
  CHECK(f.data_as<float>()[1] == -2.5f);
  CHECK(f.data_as<float>()[2] == 65504.f);
  CHECK(f.data_as<float>()[3] == Approx(1.19e-7f).epsilon(0.01));  // nearest f16 subnormal
}

TEST_CASE("ConstantOfShape, Range and Expand", "[ops][shape]") {
  Attrs v;
  Attribute t;
  t.kind = Attribute::Kind::t;
  t.t = i64({1}, {7});
  v.set("value", t);
  const Tensor c = eval_single("ConstantOfShape", {i64({2}, {2, 2})}, v)[0];
  CHECK(c.dtype() == DType::i64);
  CHECK(vals<int64_t>(c) == std::vector<int64_t>{7, 7, 7, 7});
  CHECK(shape_of("ConstantOfShape", {i64({2}, {3, 0})}) == Shape{3, 0});
  CHECK(vals<int64_t>(eval_single("Range", {i64({}, {10}), i64({}, {4}), i64({}, {-3})})[0]) ==
        std::vector<int64_t>{10, 7});
  CHECK(shape_of("Range", {f32({}, {0}), f32({}, {1}), f32({}, {0.25f})}) == Shape{4});
  const Tensor e = eval_single("Expand", {f32({2, 1}, {1, 2}), i64({3}, {2, 1, 3})})[0];
  CHECK(e.shape() == Shape{2, 2, 3});
  CHECK(vals<float>(e) == std::vector<float>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2});
  CHECK_THROWS_AS(eval_single("Expand", {f32({2}, {1, 2}), i64({1}, {3})}), Error);
}
