// ai.onnx.ml linear models, scalers and encoders through Session, on values small enough to check by hand
// (scripts/ml_ops_check.py compares them and sklearn-onnx pipelines with ONNX Runtime).
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>

#include "engine_model_builder.h"
#include "onnx/model_io.h"
#include "ortkit/session.h"
#include "ortkit/verify.h"

using namespace ortkit;
using ortkit::testing::error_of;
using ortkit::testing::floats_of;
using ortkit::testing::make_f32;
using ortkit::testing::make_i64;
using ortkit::testing::make_strings;
using ortkit::testing::ModelBuilder;
using ortkit::testing::strings_of;

namespace {

struct MlModel {
  ModelBuilder mb{17};
  onnx::NodeProto* node = nullptr;
  MlModel(const std::string& op, std::vector<std::pair<std::string, int>> ins,
          std::vector<std::pair<std::string, int>> outs, const std::vector<ortkit::testing::DimSpec>& dims) {
    mb.import("ai.onnx.ml", 1);
    std::vector<std::string> in_names, out_names;
    for (const auto& [n, t] : ins) {
      mb.input(n, dims, t);
      in_names.push_back(n);
    }
    for (const auto& [n, t] : outs) out_names.push_back(n);
    node = &mb.node(op, in_names, out_names, "ml", "ai.onnx.ml");
    for (const auto& [n, t] : outs) mb.output(n, t);
  }
};

const std::vector<ortkit::testing::DimSpec> kRows2 = {std::string("N"), int64_t{2}};

}  // namespace

TEST_CASE("LinearRegressor and LinearClassifier: X W^T + b, labels, finished scores", "[ops][ml][linear]") {
  const Tensor x = make_f32({2, 2}, {1.f, 2.f, -1.f, 0.5f});
  SECTION("regressor with two targets and softmax") {
    MlModel m("LinearRegressor", {{"X", 1}}, {{"Y", 1}}, kRows2);
    ModelBuilder::attr_floats(*m.node, "coefficients", {1.f, 0.f, 0.f, 1.f});  // target 0 = x0, target 1 = x1
    ModelBuilder::attr_floats(*m.node, "intercepts", {0.f, 1.f});
    ModelBuilder::attr_int(*m.node, "targets", 2);
    ModelBuilder::attr_string(*m.node, "post_transform", "SOFTMAX");
    auto y = floats_of(Session::from_bytes(m.mb.bytes())->run({{"X", x}})[0]);
    // Row 0 scores (1, 3), row 1 (-1, 1.5).
    CHECK(y[0] == Approx(1 / (1 + std::exp(2.0))));
    CHECK(y[3] == Approx(1 / (1 + std::exp(-2.5))));
  }
  SECTION("classifier with three string labels: the first highest score") {
    MlModel m("LinearClassifier", {{"X", 1}}, {{"label", onnx::TensorProto::STRING}, {"scores", 1}}, kRows2);
    ModelBuilder::attr_floats(*m.node, "coefficients", {1.f, 0.f, 0.f, 1.f, 1.f, 1.f});
    ModelBuilder::attr_floats(*m.node, "intercepts", {0.f, 0.f, -2.f});
    ModelBuilder::attr_strings(*m.node, "classlabels_strings", {"a", "b", "c"});
    auto sess_y = Session::from_bytes(m.mb.bytes());
    auto y = sess_y->run({{"X", x}});
    // Row 0 scores (1, 2, 1): b; row 1 (-1, 0.5, -2.5): b.
    CHECK(strings_of(y[0]) == std::vector<std::string>{"b", "b"});
    CHECK(floats_of(y[1]) == std::vector<float>{1, 2, 1, -1, 0.5f, -2.5f});
  }
  SECTION("one score, two labels: [1 - p, p] with p the logistic of the score") {
    MlModel m("LinearClassifier", {{"X", 1}}, {{"label", onnx::TensorProto::INT64}, {"scores", 1}}, kRows2);
    ModelBuilder::attr_floats(*m.node, "coefficients", {1.f, -1.f});
    ModelBuilder::attr_floats(*m.node, "intercepts", {0.f});
    ModelBuilder::attr_ints(*m.node, "classlabels_ints", {4, 7});
    ModelBuilder::attr_string(*m.node, "post_transform", "LOGISTIC");
    auto sess_y = Session::from_bytes(m.mb.bytes());
    auto y = sess_y->run({{"X", x}});
    // Scores -1 and -1.5: label 4 (score not above 0).
    CHECK(std::vector<int64_t>(y[0].data_as<int64_t>(), y[0].data_as<int64_t>() + 2) ==
          std::vector<int64_t>{4, 4});
    const auto z = floats_of(y[1]);
    REQUIRE(z.size() == 4);
    CHECK(z[1] == Approx(1 / (1 + std::exp(1.0))));
    CHECK(z[0] + z[1] == Approx(1.0));
  }
  SECTION("a coefficient count that does not fit X is named") {
    MlModel m("LinearRegressor", {{"X", 1}}, {{"Y", 1}}, kRows2);
    ModelBuilder::attr_floats(*m.node, "coefficients", {1.f, 2.f, 3.f});
    CHECK_THAT(error_of([&] {
                 Session::from_bytes(m.mb.bytes())->run({{"X", x}});
               }),
               Catch::Contains("3 coefficients for 1 targets of 2 features"));
  }
}

TEST_CASE("Scaler, Normalizer, Imputer", "[ops][ml][linear]") {
  const Tensor x = make_f32({2, 2}, {1.f, -3.f, 0.f, 0.f});
  MlModel s("Scaler", {{"X", 1}}, {{"Y", 1}}, kRows2);
  ModelBuilder::attr_floats(*s.node, "offset", {1.f, -1.f});
  ModelBuilder::attr_floats(*s.node, "scale", {2.f});
  CHECK(floats_of(Session::from_bytes(s.mb.bytes())->run({{"X", x}})[0]) == std::vector<float>{0, -4, -2, 2});
  for (const auto& [norm, want] : std::vector<std::pair<std::string, std::vector<float>>>{
           {"MAX", {1, -3, 0, 0}},
           {"L1", {0.25f, -0.75f, 0, 0}},
           {"L2", {1 / std::sqrt(10.f), -3 / std::sqrt(10.f), 0, 0}}}) {
    MlModel n("Normalizer", {{"X", 1}}, {{"Y", 1}}, kRows2);
    ModelBuilder::attr_string(*n.node, "norm", norm);
    const auto y = floats_of(Session::from_bytes(n.mb.bytes())->run({{"X", x}})[0]);
    for (size_t i = 0; i < 4; ++i) CHECK(y[i] == Approx(want[i]));  // the zero row stays as it is
  }
  MlModel im("Imputer", {{"X", 1}}, {{"Y", 1}}, kRows2);
  ModelBuilder::attr_floats(*im.node, "imputed_value_floats", {7.f, 8.f});
  ModelBuilder::attr_float(*im.node, "replaced_value_float", NAN);
  CHECK(floats_of(
            Session::from_bytes(im.mb.bytes())->run({{"X", make_f32({2, 2}, {NAN, 1.f, 2.f, NAN})}})[0]) ==
        std::vector<float>{7, 1, 2, 8});
}

TEST_CASE("OneHotEncoder, CategoryMapper, FeatureVectorizer", "[ops][ml][linear][strings]") {
  MlModel oh("OneHotEncoder", {{"X", onnx::TensorProto::STRING}}, {{"Y", 1}}, {std::string("N")});
  ModelBuilder::attr_strings(*oh.node, "cats_strings", {"red", "green"});
  auto s = Session::from_bytes(oh.mb.bytes());
  CHECK(floats_of(s->run({{"X", make_strings({3}, {"green", "blue", "red"})}})[0]) ==
        std::vector<float>{0, 1, 0, 0, 1, 0});
  MlModel strict("OneHotEncoder", {{"X", onnx::TensorProto::INT64}}, {{"Y", 1}}, {std::string("N")});
  ModelBuilder::attr_ints(*strict.node, "cats_int64s", {3, 5});
  ModelBuilder::attr_int(*strict.node, "zeros", 0);
  CHECK_THAT(error_of([&] {
               Session::from_bytes(strict.mb.bytes())->run({{"X", make_i64({2}, {5, 4})}});
             }),
             Catch::Contains("element 1 is in no category"));

  MlModel cm("CategoryMapper", {{"X", onnx::TensorProto::STRING}}, {{"Y", onnx::TensorProto::INT64}},
             {std::string("N")});
  ModelBuilder::attr_strings(*cm.node, "cats_strings", {"a", "b"});
  ModelBuilder::attr_ints(*cm.node, "cats_int64s", {10, 20});
  auto sess_y = Session::from_bytes(cm.mb.bytes());
  auto y = sess_y->run({{"X", make_strings({3}, {"b", "z", "a"})}});
  CHECK(std::vector<int64_t>(y[0].data_as<int64_t>(), y[0].data_as<int64_t>() + 3) ==
        std::vector<int64_t>{20, -1, 10});

  MlModel fv("FeatureVectorizer", {{"A", 1}, {"B", 1}}, {{"Y", 1}}, kRows2);
  ModelBuilder::attr_ints(*fv.node, "inputdimensions", {1, 3});  // A cut to 1 column, B padded to 3
  auto sess_v = Session::from_bytes(fv.mb.bytes());
  auto v = sess_v->run({{"A", make_f32({2, 2}, {1, 2, 3, 4})}, {"B", make_f32({2, 2}, {5, 6, 7, 8})}});
  CHECK(floats_of(v[0]) == std::vector<float>{1, 5, 6, 0, 3, 7, 8, 0});
}

TEST_CASE("ZipMap: each row of scores as a label -> score map; maps compare and save in any key order",
          "[ops][ml][linear]") {
  ModelBuilder mb(17);
  mb.import("ai.onnx.ml", 1);
  mb.input("X", {std::string("N"), int64_t{3}});
  auto& n = mb.node("ZipMap", {"X"}, {"Z"}, "zip", "ai.onnx.ml");
  ModelBuilder::attr_strings(n, "classlabels_strings", {"b", "a", "c"});
  auto* z = mb.proto().mutable_graph()->add_output();
  z->set_name("Z");
  auto* m = z->mutable_type()->mutable_sequence_type()->mutable_elem_type()->mutable_map_type();
  m->set_key_type(onnx::TensorProto::STRING);
  m->mutable_value_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  auto s = Session::from_bytes(mb.bytes());
  auto y = s->run({{"X", make_f32({2, 3}, {0.1f, 0.2f, 0.7f, 0.5f, 0.25f, 0.25f})}});
  REQUIRE(y[0].dtype() == DType::sequence);
  REQUIRE(y[0].items().size() == 2);
  const Tensor& row1 = y[0].items()[1];
  REQUIRE(row1.dtype() == DType::map);
  CHECK(strings_of(row1.items()[0]) == std::vector<std::string>{"b", "a", "c"});
  CHECK(floats_of(row1.items()[1]) == std::vector<float>{0.5f, 0.25f, 0.25f});

  // The same map with its entries in another order compares equal; another value does not.
  const Tensor reordered =
      Tensor::map_of(make_strings({3}, {"a", "b", "c"}), make_f32({3}, {0.25f, 0.5f, 0.25f}));
  CHECK(compare_tensors(row1, reordered, 1e-6, 1e-6).ok);
  const Tensor other = Tensor::map_of(make_strings({3}, {"a", "b", "c"}), make_f32({3}, {0.25f, 0.5f, 0.3f}));
  CHECK_THAT(compare_tensors(row1, other, 1e-6, 1e-6).reason, Catch::Contains("values (in key order)"));

  // A sequence of maps round-trips through a SequenceProto file.
  const auto path = std::filesystem::temp_directory_path() / "ortkit_zipmap_seq.pb";
  onnxio::save_tensor_file(y[0], "Z", path.string());
  const Tensor back = onnxio::load_value_file(path.string(), DType::sequence);
  std::filesystem::remove(path);
  CHECK(compare_tensors(back, y[0], 0, 0).ok);
  CHECK_THAT(error_of([&] {
               Tensor::map_of(make_i64({2}, {1, 2}), make_f32({3}, {0, 0, 0}));
             }),
             Catch::Contains("a map needs 1-D keys and values of one length"));
}
