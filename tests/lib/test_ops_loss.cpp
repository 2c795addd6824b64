// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: values by hand, ignore_index and weights in
// the mean, and clear errors for bad targets, shapes and reductions. (The ONNX node tests cover the
// reduction x weight x rank grid against numpy.)
#include <catch2/catch.hpp>
#include <cmath>

#include "ops/eval.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

namespace {
Attrs reduce(const std::string& r, bool ignore = false, int64_t ii = 0) {
  Attrs a;
  a.set_string("reduction", r);
  if (ignore) a.set_int("ignore_index", ii);
  return a;
}
}  // namespace

TEST_CASE("NegativeLogLikelihoodLoss picks -x[n, target] and reduces over the weights", "[ops][loss]") {
  // N = 3, C = 2, D = 1 (rank 2 input).
  const Tensor x = f32({3, 2}, {-1, -2, -3, -4, -5, -6});
  const Tensor t = i64({3}, {1, 0, 1});
  CHECK(vals<float>(eval_single("NegativeLogLikelihoodLoss", {x, t}, reduce("none"))[0]) ==
        std::vector<float>{2, 3, 6});
  CHECK(vals<float>(eval_single("NegativeLogLikelihoodLoss", {x, t}, reduce("sum"))[0])[0] == 11);
  CHECK(vals<float>(eval_single("NegativeLogLikelihoodLoss", {x, t}, reduce("mean"))[0])[0] ==
        Approx(11.f / 3));
  // Weights: loss * w[target]; the mean divides by the weights of the elements that count.
  const Tensor w = f32({2}, {10, 1});
  CHECK(vals<float>(eval_single("NegativeLogLikelihoodLoss", {x, t, w}, reduce("mean"))[0])[0] ==
        Approx((2 + 30 + 6) / 12.f));
  // ignore_index: the element adds neither loss nor weight (a target out of range is fine there).
  const Tensor ti = i32({3}, {1, -7, 1});
  CHECK(vals<float>(eval_single("NegativeLogLikelihoodLoss", {x, ti}, reduce("mean", true, -7))[0])[0] == 4);
  // Rank 3: [N, C, D] with the target [N, D].
  const Tensor x3 = f32({1, 2, 2}, {-1, -2, -3, -4});
  CHECK(vals<float>(eval_single("NegativeLogLikelihoodLoss", {x3, i64({1, 2}, {1, 0})}, reduce("none"))[0]) ==
        std::vector<float>{3, 2});
}

TEST_CASE("NegativeLogLikelihoodLoss rejects bad targets, shapes and reductions", "[ops][loss]") {
  const Tensor x = f32({2, 3}, {-1, -2, -3, -4, -5, -6});
  CHECK_THROWS_WITH(eval_single("NegativeLogLikelihoodLoss", {x, i64({2}, {0, 3})}),
                    Catch::Contains("target value 3 out of range [0, 3)"));
  CHECK_THROWS_AS(eval_single("NegativeLogLikelihoodLoss", {x, i64({3}, {0, 1, 2})}), Error);
  CHECK_THROWS_AS(eval_single("NegativeLogLikelihoodLoss", {x, i64({2}, {0, 1}), f32({2}, {1, 1})}), Error);
  CHECK_THROWS_WITH(eval_single("NegativeLogLikelihoodLoss", {x, i64({2}, {0, 1})}, reduce("max")),
                    Catch::Contains("reduction 'max'"));
  CHECK_THROWS_AS(eval_single("NegativeLogLikelihoodLoss", {f32({3}, {1, 2, 3}), i64({}, {0})}), Error);
}

TEST_CASE("SoftmaxCrossEntropyLoss is NLL over LogSoftmax on axis 1, with log_prob out", "[ops][loss]") {
  const Tensor x = f32({2, 3, 1}, {1, 2, 3, 0, 0, 0});
  const Tensor t = i64({2, 1}, {2, 0});
  EvalOptions o;
  o.num_outputs = 2;
  const auto ys = eval_single("SoftmaxCrossEntropyLoss", {x, t}, reduce("none"), o);
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const auto lp = vals<float>(ys[1]);
  REQUIRE(lp.size() == 6);
  CHECK(lp[0] == Approx(1 - lse0));
  CHECK(lp[5] == Approx(-std::log(3.0)));
  CHECK(vals<float>(ys[0]) ==
        std::vector<float>{static_cast<float>(lse0 - 3), static_cast<float>(std::log(3.0))});
  // One output: the log-probabilities live in scratch; mean over N.
  const float mean = vals<float>(eval_single("SoftmaxCrossEntropyLoss", {x, t})[0])[0];
  CHECK(mean == Approx((lse0 - 3 + std::log(3.0)) / 2));
}
