// ai.onnx.ml SVMClassifier and SVMRegressor through Session, on models small enough to check by hand
// (scripts/ml_ops_check.py compares every kernel, post transform and sklearn's SVC / SVR / NuSVC / NuSVR /
// OneClassSVM conversions with ONNX Runtime).
#include <catch2/catch.hpp>
#include <cmath>

#include "engine_model_builder.h"
#include "ortkit/session.h"

using namespace ortkit;
using ortkit::testing::error_of;
using ortkit::testing::floats_of;
using ortkit::testing::make_f32;
using ortkit::testing::ModelBuilder;
using ortkit::testing::strings_of;

namespace {

struct SvmModel {
  ModelBuilder mb{17};
  onnx::NodeProto* node = nullptr;
  explicit SvmModel(bool classifier, int label_type = onnx::TensorProto::INT64) {
    mb.import("ai.onnx.ml", 1);
    mb.input("X", {std::string("N"), int64_t{2}});
    if (classifier) {
      node = &mb.node("SVMClassifier", {"X"}, {"label", "scores"}, "svm", "ai.onnx.ml");
      mb.output("label", label_type);
      mb.output("scores");
    } else {
      node = &mb.node("SVMRegressor", {"X"}, {"Y"}, "svm", "ai.onnx.ml");
      mb.output("Y");
    }
  }
  std::vector<Tensor> run(const Tensor& x) {
    session = Session::from_bytes(mb.bytes());
    return session->run({{"X", x}});
  }
  std::unique_ptr<Session> session;  // outputs live as long as their session
};

std::vector<int64_t> ints_of(const Tensor& t) {
  return {t.data_as<int64_t>(), t.data_as<int64_t>() + t.numel()};
}

}  // namespace

TEST_CASE("SVMRegressor: liblinear weights, support vectors under each kernel, one class", "[ops][ml][svm]") {
  const Tensor x = make_f32({2, 2}, {1.f, 2.f, -1.f, 0.5f});
  SECTION("no support vectors: x . w + rho, and its sign with one_class") {
    for (int one_class : {0, 1}) {
      SvmModel m(false);
      ModelBuilder::attr_floats(*m.node, "coefficients", {1.f, -1.f});
      ModelBuilder::attr_floats(*m.node, "rho", {0.5f});
      ModelBuilder::attr_int(*m.node, "one_class", one_class);
      const auto y = floats_of(m.run(x)[0]);
      CHECK(y == (one_class ? std::vector<float>{-1, -1} : std::vector<float>{-0.5f, -1.f}));
    }
  }
  SECTION("RBF and POLY over two support vectors") {
    const double gamma = 0.5, coef0 = 1, degree = 2;
    for (const std::string kernel : {"RBF", "POLY", "SIGMOID"}) {
      SvmModel m(false);
      ModelBuilder::attr_int(*m.node, "n_supports", 2);
      ModelBuilder::attr_floats(*m.node, "support_vectors", {0.f, 0.f, 1.f, 2.f});
      ModelBuilder::attr_floats(*m.node, "coefficients", {2.f, -1.f});
      ModelBuilder::attr_floats(*m.node, "rho", {0.1f});
      ModelBuilder::attr_string(*m.node, "kernel_type", kernel);
      ModelBuilder::attr_floats(*m.node, "kernel_params", {float(gamma), float(coef0), float(degree)});
      const auto y = floats_of(m.run(make_f32({1, 2}, {1.f, 2.f}))[0]);
      // k(x, (0, 0)) and k(x, (1, 2)) for x = (1, 2): distances 5 and 0, dot products 0 and 5.
      double k0 = std::exp(-gamma * 5), k1 = 1;
      if (kernel == "POLY") k0 = std::pow(coef0, degree), k1 = std::pow(gamma * 5 + coef0, degree);
      if (kernel == "SIGMOID") k0 = std::tanh(coef0), k1 = std::tanh(gamma * 5 + coef0);
      CHECK(y[0] == Approx(2 * k0 - k1 + 0.1));
    }
  }
  SECTION("a feature count other than the support vectors' is named") {
    SvmModel m(false);
    ModelBuilder::attr_int(*m.node, "n_supports", 1);
    ModelBuilder::attr_floats(*m.node, "support_vectors", {1.f, 2.f, 3.f});
    ModelBuilder::attr_floats(*m.node, "coefficients", {1.f});
    ModelBuilder::attr_floats(*m.node, "rho", {0.f});
    CHECK_THAT(error_of([&] { m.run(x); }), Catch::Contains("X has 2 features; the model's support vectors"));
  }
}

TEST_CASE("SVMClassifier: one-vs-one votes, ONNX Runtime's two-class scores, coupled probabilities",
          "[ops][ml][svm]") {
  // One support vector per class: (1, 0), (0, 1), (-1, -1); a linear kernel, so k is x's dot with each.
  const std::vector<float> sv = {1.f, 0.f, 0.f, 1.f, -1.f, -1.f};
  SECTION("three classes: pair (i, j) weighs class i's vectors by row j - 1, class j's by row i") {
    SvmModel m(true, onnx::TensorProto::STRING);
    ModelBuilder::attr_ints(*m.node, "vectors_per_class", {1, 1, 1});
    ModelBuilder::attr_floats(*m.node, "support_vectors", sv);
    ModelBuilder::attr_floats(*m.node, "coefficients", {1.f, -1.f, -1.f, 1.f, 1.f, -1.f});
    ModelBuilder::attr_floats(*m.node, "rho", {0.f, 0.f, 0.f});
    ModelBuilder::attr_strings(*m.node, "classlabels_strings", {"a", "b", "c"});
    const auto y = m.run(make_f32({2, 2}, {2.f, 0.f, 0.f, 3.f}));
    // Row 0: k = (2, 0, -2); pairs 01 = 2, 02 = 4, 12 = 2; votes 2, 1, 0.
    // Row 1: k = (0, 3, -3); pairs 01 = -3, 02 = 3, 12 = 6; votes 1, 2, 0.
    CHECK(strings_of(y[0]) == std::vector<std::string>{"a", "b"});
    CHECK(floats_of(y[1]) == std::vector<float>{2, 4, 2, -3, 3, 6});
  }
  SECTION("two classes: -f and f, or their logistics") {
    for (const std::string post : {"NONE", "LOGISTIC"}) {
      SvmModel m(true);
      ModelBuilder::attr_ints(*m.node, "vectors_per_class", {1, 1});
      ModelBuilder::attr_floats(*m.node, "support_vectors", {1.f, 0.f, 0.f, 1.f});
      ModelBuilder::attr_floats(*m.node, "coefficients", {1.f, -1.f});
      ModelBuilder::attr_floats(*m.node, "rho", {0.5f});
      ModelBuilder::attr_ints(*m.node, "classlabels_ints", {3, 8});
      ModelBuilder::attr_string(*m.node, "post_transform", post);
      const auto y = m.run(make_f32({2, 2}, {2.f, 0.f, 0.f, 1.f}));
      CHECK(ints_of(y[0]) == std::vector<int64_t>{3, 8});  // f = 2.5 votes for the first, -0.5 the second
      const auto z = floats_of(y[1]);
      const auto lg = [](double v) { return 1 / (1 + std::exp(-v)); };
      if (post == "NONE") {
        CHECK(z == std::vector<float>{-2.5f, 2.5f, 0.5f, -0.5f});
      } else {
        CHECK(z[0] == Approx(lg(-2.5)));
        CHECK(z[1] == Approx(lg(2.5)));
        CHECK(z[3] == Approx(lg(-0.5)));
      }
    }
  }
  SECTION("probabilities: Platt's sigmoid per pair, coupled; two classes couple to the pair's") {
    SvmModel m(true);
    ModelBuilder::attr_ints(*m.node, "vectors_per_class", {1, 1});
    ModelBuilder::attr_floats(*m.node, "support_vectors", {1.f, 0.f, 0.f, 1.f});
    ModelBuilder::attr_floats(*m.node, "coefficients", {1.f, -1.f});
    ModelBuilder::attr_floats(*m.node, "rho", {0.f});
    ModelBuilder::attr_floats(*m.node, "prob_a", {-2.f});
    ModelBuilder::attr_floats(*m.node, "prob_b", {0.25f});
    ModelBuilder::attr_ints(*m.node, "classlabels_ints", {0, 1});
    const auto z = floats_of(m.run(make_f32({1, 2}, {0.5f, 0.f}))[1]);
    const double p = 1 - 1 / (1 + std::exp(-(0.5 * -2 + 0.25)));  // f = 0.5
    REQUIRE(z.size() == 2);
    CHECK(z[0] == Approx(p).margin(1e-3));  // the coupling stops within 0.005 / classes
    CHECK(z[0] + z[1] == Approx(1.0));
  }
  SECTION("no support vectors: one row of weights per class, the first highest score") {
    SvmModel m(true);
    ModelBuilder::attr_floats(*m.node, "coefficients", {1.f, 0.f, 0.f, 1.f, -1.f, -1.f});
    ModelBuilder::attr_floats(*m.node, "rho", {1.f});
    ModelBuilder::attr_ints(*m.node, "classlabels_ints", {10, 20, 30});
    ModelBuilder::attr_string(*m.node, "kernel_type", "RBF");  // liblinear models are linear whatever it says
    const auto y = m.run(make_f32({1, 2}, {-1.f, -2.f}));
    CHECK(ints_of(y[0]) == std::vector<int64_t>{30});
    CHECK(floats_of(y[1]) == std::vector<float>{0, -1, 4});
  }
  SECTION("malformed models are named") {
    SvmModel m(true);
    ModelBuilder::attr_ints(*m.node, "vectors_per_class", {1, 2});
    ModelBuilder::attr_floats(*m.node, "support_vectors", sv);
    ModelBuilder::attr_floats(*m.node, "coefficients", {1.f, 1.f, 1.f});
    ModelBuilder::attr_floats(*m.node, "rho", {0.f});
    ModelBuilder::attr_ints(*m.node, "classlabels_ints", {0, 1, 2});
    CHECK_THAT(error_of([&] {
                 m.run(make_f32({1, 2}, {0.f, 0.f}));
               }),
               Catch::Contains("vectors_per_class has 2 entries for 3 classes"));
    SvmModel k(true);
    ModelBuilder::attr_floats(*k.node, "coefficients", {1.f, 1.f});
    ModelBuilder::attr_floats(*k.node, "rho", {0.f});
    ModelBuilder::attr_ints(*k.node, "classlabels_ints", {0});
    ModelBuilder::attr_string(*k.node, "kernel_type", "CUBIC");
    CHECK_THAT(error_of([&] {
                 k.run(make_f32({1, 2}, {0.f, 0.f}));
               }),
               Catch::Contains("kernel_type must be LINEAR, POLY, RBF or SIGMOID, got 'CUBIC'"));
    SvmModel p(true);
    ModelBuilder::attr_ints(*p.node, "vectors_per_class", {1, 1});
    ModelBuilder::attr_floats(*p.node, "support_vectors", {1.f, 0.f, 0.f, 1.f});
    ModelBuilder::attr_floats(*p.node, "coefficients", {1.f, -1.f});
    ModelBuilder::attr_floats(*p.node, "rho", {0.f});
    ModelBuilder::attr_floats(*p.node, "prob_a", {1.f});
    ModelBuilder::attr_ints(*p.node, "classlabels_ints", {0, 1});
    CHECK_THAT(error_of([&] {
                 p.run(make_f32({1, 2}, {0.f, 0.f}));
               }),
               Catch::Contains("prob_a holds 1 values and prob_b 0"));
  }
}
