// ai.onnx.ml ArrayFeatureExtractor and Binarizer through Session, with expected values from ONNX Runtime
// (2-D indices flatten into the last axis; NaN is an error for Binarizer, as there).
#include <catch2/catch.hpp>
#include <cmath>

#include "engine_model_builder.h"
#include "ortkit/session.h"

using namespace ortkit;
using ortkit::testing::error_of;
using ortkit::testing::floats_of;
using ortkit::testing::make_f32;
using ortkit::testing::make_i64;
using ortkit::testing::ModelBuilder;

namespace {
ModelBuilder ml_model() {
  ModelBuilder mb(13);
  mb.import("ai.onnx.ml", 1);
  return mb;
}
}  // namespace

TEST_CASE("ArrayFeatureExtractor: columns of the last axis by index", "[ops][ml]") {
  ModelBuilder mb = ml_model();
  mb.input("x", {int64_t{2}, int64_t{3}});
  mb.input("i", {int64_t{2}, int64_t{2}}, onnx::TensorProto::INT64);
  mb.node("ArrayFeatureExtractor", {"x", "i"}, {"y"}, "afe", "ai.onnx.ml");
  mb.output("y");
  auto s = Session::from_bytes(mb.bytes());
  const Tensor x = make_f32({2, 3}, {0, 1, 2, 3, 4, 5});
  auto y = s->run({{"x", x}, {"i", make_i64({2, 2}, {2, 0, 1, 1})}});
  REQUIRE(y[0].shape() == Shape{2, 4});
  CHECK(floats_of(y[0]) == std::vector<float>{2, 0, 1, 1, 5, 3, 4, 4});
  CHECK_THAT(error_of([&] {
               s->run({{"x", x}, {"i", make_i64({2, 2}, {2, 0, 3, 1})}});
             }),
             Catch::Contains("index 3 is out of range for the last axis of [2, 3]"));
}

TEST_CASE("Binarizer: 1 above the threshold, 0 otherwise; NaN is an error", "[ops][ml]") {
  ModelBuilder mb = ml_model();
  mb.input("x", {int64_t{4}});
  auto& n = mb.node("Binarizer", {"x"}, {"y"}, "bin", "ai.onnx.ml");
  ModelBuilder::attr_float(n, "threshold", 0.5f);
  mb.output("y");
  auto s = Session::from_bytes(mb.bytes());
  auto y = s->run({{"x", make_f32({4}, {0.5f, 0.6f, -1.f, 7.f})}});
  CHECK(floats_of(y[0]) == std::vector<float>{0, 1, 0, 1});
  CHECK_THAT(error_of([&] {
               s->run({{"x", make_f32({4}, {0.f, NAN, 1.f, 2.f})}});
             }),
             Catch::Contains("input value 1 is NaN"));
}
