// ai.onnx.preview.training optimizer steps at a step count T > 0 (Adam's bias correction, Adagrad's
// decay, Nesterov's beta): expected values from the onnx 1.23 reference implementation. The backend
// suites cover T = 0; here also a model that imports only the training domain, and a mismatched state.
#include <catch2/catch.hpp>

#include "engine_model_builder.h"
#include "ortkit/session.h"

using namespace ortkit;
using ortkit::testing::error_of;
using ortkit::testing::make_f32;
using ortkit::testing::make_i64;
using ortkit::testing::ModelBuilder;

namespace {

/// A model of one training-domain node over R, T and the given tensors ([2] floats; the last one
/// [last_len]).
std::string step_model(const std::string& op, const std::vector<std::string>& tensors,
                       const std::vector<std::string>& outs,
                       const std::vector<std::pair<std::string, float>>& fattrs, const std::string& mode = {},
                       int64_t last_len = 2) {
  ModelBuilder mb(1);
  auto& imports = *mb.proto().mutable_opset_import();
  imports.Mutable(0)->set_domain(std::string("ai.onnx.preview.training"));
  mb.input("R", {}, onnx::TensorProto::FLOAT);
  mb.input("T", {}, onnx::TensorProto::INT64);
  std::vector<std::string> ins = {"R", "T"};
  for (const auto& t : tensors) {
    mb.input(t, {t == tensors.back() ? last_len : int64_t{2}});
    ins.push_back(t);
  }
  auto& n = mb.node(op, ins, outs, "step", "ai.onnx.preview.training");
  for (const auto& [k, v] : fattrs) ModelBuilder::attr_float(n, k, v);
  if (!mode.empty()) {
    auto* a = n.add_attribute();
    a->set_name(std::string("mode"));
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(mode);
  }
  for (const auto& o : outs) mb.output(o);
  return mb.bytes();
}

std::vector<NamedTensor> feeds(const std::vector<std::string>& names) {
  const std::vector<Tensor> vals = {make_f32({2}, {1.f, -2.f}), make_f32({2}, {0.5f, -1.5f}),
                                    make_f32({2}, {0.2f, 0.3f}), make_f32({2}, {0.4f, 1.f})};
  std::vector<NamedTensor> f = {{"R", make_f32({}, {0.1f})}, {"T", make_i64({}, {3})}};
  for (size_t i = 0; i < names.size(); ++i) f.push_back({names[i], vals[i]});
  return f;
}

void check(const std::vector<Tensor>& got, const std::vector<std::vector<double>>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t o = 0; o < want.size(); ++o)
    for (size_t i = 0; i < 2; ++i) CHECK(got[o].data_as<float>()[i] == Approx(want[o][i]).epsilon(1e-5));
}

}  // namespace

TEST_CASE("Training steps: Adam, Adagrad and Nesterov momentum at T = 3", "[ops][training]") {
  {
    INFO("Adam");
    auto s = Session::from_bytes(step_model("Adam", {"X", "G", "V", "H"}, {"X_new", "V_new", "H_new"},
                                            {{"norm_coefficient", 0.01f},
                                             {"norm_coefficient_post", 0.1f},
                                             {"alpha", 0.9f},
                                             {"beta", 0.99f},
                                             {"epsilon", 1e-6f}}));
    check(s->run(feeds({"X", "G", "V", "H"})),
          {{0.8790588348, -1.8067098594}, {0.2309999913, 0.1180000156}, {0.3986009955, 1.0131039619}});
  }
  {
    INFO("Adagrad (the state is the third tensor: X, G, H)");
    auto s = Session::from_bytes(
        step_model("Adagrad", {"X", "G", "H"}, {"X_new", "H_new"},
                   {{"norm_coefficient", 0.01f}, {"epsilon", 1e-6f}, {"decay_factor", 0.5f}}));
    auto f = feeds({"X", "G", "V", "H"});
    f.erase(f.begin() + 4);  // no V
    check(s->run(f), {{0.9748912454, -1.9665833712}, {0.6600999832, 3.3104000092}});
  }
  {
    INFO("Momentum, nesterov");
    auto s = Session::from_bytes(step_model("Momentum", {"X", "G", "V"}, {"X_new", "V_new"},
                                            {{"norm_coefficient", 0.01f}, {"alpha", 0.9f}, {"beta", 0.5f}},
                                            "nesterov"));
    check(s->run(feeds({"X", "G", "V"})), {{0.9098500013, -1.8039000034}, {0.4350000024, -0.4899999797}});
  }
}

TEST_CASE("Training steps: a state shaped unlike its weights is an error", "[ops][training]") {
  auto s = Session::from_bytes(step_model("Adagrad", {"X", "G", "H"}, {"X_new", "H_new"}, {}, {}, 1));
  auto f = feeds({"X", "G", "H"});
  f[4].tensor = make_f32({1}, {0.f});
  CHECK_THAT(error_of([&] { s->run(f); }),
             Catch::Contains("input 4 is float32 [1], its tensor X is float32 [2]"));
}
