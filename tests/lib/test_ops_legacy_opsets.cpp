// Opset 1-6 forms that PyTorch's early exporters wrote (the ONNX suite's pytorch-converted and
// pytorch-operator cases): binary ops with broadcast=1 and an axis, a per-channel PRelu slope, and the
// ops whose early versions differ only by the ignored consumed_inputs attribute.
#include <catch2/catch.hpp>

#include "ops/eval.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

namespace {
Attrs legacy(int64_t axis) {
  Attrs a;
  a.set_int("broadcast", 1);
  a.set_int("axis", axis);
  return a;
}
}  // namespace

TEST_CASE("opset < 7 binary ops line B up with A from the axis", "[ops][legacy]") {
  const Tensor a = f32({2, 3, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  const Tensor b = f32({3}, {10, 20, 30});
  // B over dimension 1: each (i, j, k) gets b[j]; numpy would need B's length to match the last dim.
  CHECK(vals<float>(eval_single("Add", {a, b}, legacy(1), at(6))[0]) ==
        std::vector<float>{11, 12, 23, 24, 35, 36, 17, 18, 29, 30, 41, 42});
  CHECK(vals<float>(eval_single("Mul", {a, b}, legacy(-2), at(6))[0])[2] == 60);
  CHECK(vals<float>(eval_single("Sub", {a, b}, legacy(1), at(1))[0])[11] == -18);
  CHECK(vals<float>(eval_single("Div", {a, b}, legacy(1), at(6))[0])[4] == Approx(5.f / 30));
  CHECK(vals<float>(eval_single("Pow", {a, f32({2}, {1, 2})}, legacy(0), at(1))[0])[7] == 64);
  const Tensor e =
      eval_single("Equal", {i64({2, 3}, {1, 2, 3, 5, 5, 5}), i64({2}, {1, 5})}, legacy(0), at(1))[0];
  CHECK(vals<bool>(e) == std::vector<bool>{true, false, false, true, true, true});
  // B of size 1 along the axis broadcasts too.
  CHECK(vals<float>(eval_single("Add", {a, f32({2, 1}, {100, 200})}, legacy(0), at(6))[0])[6] == 207);
  // Without an axis, broadcast=1 aligns B's trailing dimensions (numpy's rule).
  Attrs trailing;
  trailing.set_int("broadcast", 1);
  CHECK(vals<float>(eval_single("Add", {a, f32({2}, {100, 200})}, trailing, at(6))[0])[1] == 202);
  // B must fit inside A from the axis.
  CHECK_THROWS_AS(eval_single("Add", {a, b}, legacy(2), at(6)), Error);
  CHECK_THROWS_AS(eval_single("Add", {a, b}, legacy(-4), at(6)), Error);
  // From opset 7 the attributes are gone: numpy broadcasting, so [3] against a last dim of 2 fails.
  CHECK_THROWS_AS(eval_single("Add", {a, b}, {}, at(7)), Error);
}

TEST_CASE("opset < 7 PRelu takes a slope of C values per channel", "[ops][legacy]") {
  const Tensor x = f32({1, 3, 3}, {-1, -1, -1, -2, -2, -2, -3, -3, 3});
  const Tensor s = f32({3}, {1, 10, 100});
  // Opset 6: slope[c] scales channel c (PyTorch's PReLU), even where C equals the last dimension.
  CHECK(vals<float>(eval_single("PRelu", {x, s}, {}, at(6))[0]) ==
        std::vector<float>{-1, -1, -1, -20, -20, -20, -300, -300, 3});
  // Opset 7+: numpy broadcasting, so the slope runs along the last dimension.
  CHECK(vals<float>(eval_single("PRelu", {x, s}, {}, at(9))[0]) ==
        std::vector<float>{-1, -10, -100, -2, -20, -200, -3, -30, 3});
  const Tensor x4 = f32({2, 2, 1, 3}, {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 1});
  const auto y = vals<float>(eval_single("PRelu", {x4, f32({2}, {2, 3})}, {}, at(6))[0]);
  CHECK(y == std::vector<float>{-2, -2, -2, -3, -3, -3, -2, -2, -2, -3, -3, 1});
}

TEST_CASE("early opsets of elementwise ops, Gemm and variadic ops resolve", "[ops][legacy]") {
  const Tensor x = f32({2, 2}, {-1, 4, 9, -16});
  Attrs consumed;
  consumed.set_ints("consumed_inputs", {0});
  CHECK(vals<float>(eval_single("Abs", {x}, consumed, at(1))[0]) == std::vector<float>{1, 4, 9, 16});
  CHECK(vals<float>(eval_single("Relu", {x}, consumed, at(1))[0]) == std::vector<float>{0, 4, 9, 0});
  CHECK(vals<float>(eval_single("Max", {x, f32({2, 2}, {0, 0, 0, 0})}, consumed, at(1))[0]) ==
        std::vector<float>{0, 4, 9, 0});
  CHECK(vals<float>(eval_single("Sum", {x, x, x}, {}, at(6))[0])[1] == 12);
  Attrs g;
  g.set_int("broadcast", 1);
  g.set_int("transB", 1);
  const Tensor y = eval_single("Gemm", {x, f32({2, 2}, {1, 0, 0, 1}), f32({2}, {1, 2})}, g, at(6))[0];
  CHECK(vals<float>(y) == std::vector<float>{0, 6, 10, -14});
}
