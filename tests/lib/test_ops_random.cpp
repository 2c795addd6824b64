// Random generators through Session: the distributions' moments over many draws (bounds a correct
// generator fails with probability far below 1e-6), seeds that repeat across sessions, runs that do not
// repeat (never folded into constants), the *Like forms' shape and type, and bad input.
#include <catch2/catch.hpp>
#include <cmath>

#include "engine_model_builder.h"
#include "ortkit/session.h"

using namespace ortkit;
using ortkit::testing::error_of;
using ortkit::testing::make_f32;
using ortkit::testing::ModelBuilder;

namespace {

std::vector<double> as_doubles(const Tensor& t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.numel(); ++i)
    v.push_back(t.dtype() == DType::f64 ? t.data_as<double>()[i] : t.data_as<float>()[i]);
  return v;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double stddev_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

/// A model of one generator node with no inputs: y = op(shape=[n]).
std::string source_model(const std::string& op, int64_t n, float a, float b, bool seeded) {
  ModelBuilder mb(17);
  auto& node = mb.node(op, {}, {"y"});
  ModelBuilder::attr_ints(node, "shape", {n});
  ModelBuilder::attr_float(node, op == "RandomNormal" ? "mean" : "low", a);
  ModelBuilder::attr_float(node, op == "RandomNormal" ? "scale" : "high", b);
  if (seeded) ModelBuilder::attr_float(node, "seed", 7.f);
  mb.output("y");
  return mb.bytes();
}

}  // namespace

TEST_CASE("RandomNormal and RandomUniform: moments, seeds, fresh draws per run", "[ops][random]") {
  constexpr int64_t n = 40000;
  SECTION("normal") {
    auto s = Session::from_bytes(source_model("RandomNormal", n, 3.f, 2.f, true));
    const auto v = as_doubles(s->run({})[0]);
    REQUIRE(v.size() == static_cast<size_t>(n));
    CHECK(std::fabs(mean_of(v) - 3.0) < 0.06);  // 6 standard errors (2 / sqrt(n) = 0.01)
    CHECK(std::fabs(stddev_of(v) - 2.0) < 0.05);
  }
  SECTION("uniform") {
    auto s = Session::from_bytes(source_model("RandomUniform", n, -1.f, 3.f, true));
    const auto v = as_doubles(s->run({})[0]);
    for (double x : v) REQUIRE((x >= -1.0 && x < 3.0));
    CHECK(std::fabs(mean_of(v) - 1.0) < 0.04);
  }
  SECTION("a seed repeats across sessions; the next run continues the sequence") {
    auto s1 = Session::from_bytes(source_model("RandomNormal", 64, 0.f, 1.f, true));
    auto s2 = Session::from_bytes(source_model("RandomNormal", 64, 0.f, 1.f, true));
    const auto first = as_doubles(s1->run({})[0]);
    CHECK(first == as_doubles(s2->run({})[0]));
    CHECK(first != as_doubles(s1->run({})[0]));
    auto u1 = Session::from_bytes(source_model("RandomUniform", 64, 0.f, 1.f, false));
    auto u2 = Session::from_bytes(source_model("RandomUniform", 64, 0.f, 1.f, false));
    CHECK(as_doubles(u1->run({})[0]) != as_doubles(u2->run({})[0]));
  }
  SECTION("low above high is an error") {
    auto s = Session::from_bytes(source_model("RandomUniform", 4, 2.f, 1.f, true));
    CHECK_THAT(error_of([&] { s->run({}); }), Catch::Contains("is above high"));
  }
}

TEST_CASE("RandomNormalLike / RandomUniformLike take the input's shape and, by default, its type",
          "[ops][random]") {
  ModelBuilder mb(17);
  mb.input("x", {int64_t{3}, int64_t{5}});
  mb.node("RandomUniformLike", {"x"}, {"u"});
  auto& n = mb.node("RandomNormalLike", {"x"}, {"z"});
  ModelBuilder::attr_int(n, "dtype", onnx::TensorProto::DOUBLE);
  mb.output("u");
  mb.output("z", onnx::TensorProto::DOUBLE);
  auto s = Session::from_bytes(mb.bytes());
  auto y = s->run({{"x", make_f32({3, 5}, std::vector<float>(15, 100.f))}});
  CHECK(y[0].dtype() == DType::f32);
  CHECK(y[0].shape() == Shape{3, 5});
  for (double v : as_doubles(y[0])) CHECK((v >= 0.0 && v < 1.0));  // the input's values do not matter
  CHECK(y[1].dtype() == DType::f64);
  CHECK(y[1].shape() == Shape{3, 5});
}

TEST_CASE("Bernoulli draws 1 with the input's probability", "[ops][random]") {
  constexpr int64_t n = 40000;
  ModelBuilder mb(15);
  mb.input("p", {n});
  auto& node = mb.node("Bernoulli", {"p"}, {"y"});
  ModelBuilder::attr_int(node, "dtype", onnx::TensorProto::BOOL);
  ModelBuilder::attr_float(node, "seed", 1.f);
  mb.output("y", onnx::TensorProto::BOOL);
  auto s = Session::from_bytes(mb.bytes());
  auto count = [&](float p) {
    auto y = s->run({{"p", make_f32({n}, std::vector<float>(n, p))}});
    REQUIRE(y[0].dtype() == DType::boolean);
    int64_t ones = 0;
    for (int64_t i = 0; i < n; ++i) ones += y[0].data_as<uint8_t>()[i];
    return ones;
  };
  CHECK(count(0.f) == 0);
  CHECK(count(1.f) == n);
  CHECK(std::fabs(static_cast<double>(count(0.3f)) / n - 0.3) < 0.014);  // 6 standard errors
  std::vector<float> bad(n, 0.5f);
  bad[9] = 1.5f;
  CHECK_THAT(error_of([&] {
               s->run({{"p", make_f32({n}, bad)}});
             }),
             Catch::Contains("probability 1.500000 at index 9 is outside [0, 1]"));
}

TEST_CASE("Multinomial samples classes by their log-probabilities", "[ops][random]") {
  constexpr int64_t samples = 20000;
  ModelBuilder mb(13);
  mb.input("logits", {int64_t{2}, int64_t{3}});
  auto& node = mb.node("Multinomial", {"logits"}, {"y"});
  ModelBuilder::attr_int(node, "sample_size", samples);
  ModelBuilder::attr_int(node, "dtype", onnx::TensorProto::INT64);
  ModelBuilder::attr_float(node, "seed", 3.f);
  mb.output("y", onnx::TensorProto::INT64);
  auto s = Session::from_bytes(mb.bytes());
  // Row 0: probabilities 0.2 / 0.8 / 0 (log 0 = -inf); row 1: all the weight on class 2.
  const float l2 = std::log(0.2f), l8 = std::log(0.8f);
  auto y = s->run({{"logits", make_f32({2, 3}, {l2, l8, -INFINITY, -INFINITY, -INFINITY, 5.f})}});
  REQUIRE(y[0].shape() == Shape{2, samples});
  const int64_t* v = y[0].data_as<int64_t>();
  int64_t ones = 0, twos = 0;
  for (int64_t i = 0; i < samples; ++i) {
    ones += v[i] == 1;
    twos += v[i] == 2;
    CHECK(v[samples + i] == 2);
  }
  CHECK(twos == 0);
  CHECK(std::fabs(static_cast<double>(ones) / samples - 0.8) < 0.018);  // 6 standard errors
  CHECK_THAT(error_of([&] {
               s->run({{"logits", make_f32({2, 3}, {-INFINITY, -INFINITY, -INFINITY, 0, 0, 0})}});
             }),
             Catch::Contains("row 0 has no finite log-probability"));
}
