// float16 / bfloat16 models (graph pass narrow_float_compute): weights widened to fp32, narrow graph
// inputs and outputs keep their types, explicit Casts to float16 still round, subgraphs and overridable
// initializers follow, and the session says what it did. ONNX Runtime comparisons of whole fp16 models
// are in scripts/contrib_ops_check.py.
#include <catch2/catch.hpp>

#include "engine_model_builder.h"
#include "ortkit/error.h"
#include "ortkit/float16.h"
#include "ortkit/kernels/epilogue.h"
#include "ortkit/quantize.h"
#include "ortkit/session.h"

using namespace ortkit;
using ortkit::testing::make_f32;
using ortkit::testing::ModelBuilder;

namespace {

constexpr int kF32 = onnx::TensorProto::FLOAT, kF16 = onnx::TensorProto::FLOAT16,
              kBF16 = onnx::TensorProto::BFLOAT16, kBool = onnx::TensorProto::BOOL;

Tensor make_f16(Shape s, const std::vector<float>& v) {
  Tensor t(DType::f16, std::move(s));
  for (size_t i = 0; i < v.size(); ++i) t.data_as<uint16_t>()[i] = f32_to_f16(v[i]);
  return t;
}
Tensor make_bf16(Shape s, const std::vector<float>& v) {
  Tensor t(DType::bf16, std::move(s));
  for (size_t i = 0; i < v.size(); ++i) t.data_as<uint16_t>()[i] = kernels::f32_to_bf16(v[i]);
  return t;
}
std::vector<float> f16_values(const Tensor& t) {
  REQUIRE(t.dtype() == DType::f16);
  std::vector<float> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(f16_to_f32(t.data_as<uint16_t>()[i]));
  return v;
}
std::vector<float> f32_values(const Tensor& t) {
  REQUIRE(t.dtype() == DType::f32);
  return {t.data_as<float>(), t.data_as<float>() + t.numel()};
}

}  // namespace

TEST_CASE("float16 model: MatMul + Add with float16 weights, float16 in and out", "[narrow_float]") {
  ModelBuilder mb(17);
  mb.input("x", {int64_t{2}, int64_t{3}}, kF16);
  mb.init("w", make_f16({3, 2}, {1, 2, 3, 4, 5, 6}));
  mb.init("b", make_f16({2}, {0.5f, -0.25f}));
  mb.node("MatMul", {"x", "w"}, {"xw"});
  mb.node("Add", {"xw", "b"}, {"y"});
  mb.output("y", kF16);
  auto s = Session::from_bytes(mb.bytes());
  REQUIRE(s->inputs()[0].dtype == DType::f16);  // the model's interface is kept
  const auto out = s->run({{"x", make_f16({2, 3}, {1, 0.5f, -1, 2, 0, 0.25f})}});
  REQUIRE(out.size() == 1);
  // Small halves: exact in fp32, so the only rounding is the one to float16 at the output.
  CHECK(f16_values(out[0]) == std::vector<float>{1 + 1.5f - 5 + 0.5f, 2 + 2 - 6 - 0.25f, 2 + 0 + 1.25f + 0.5f,
                                                 4 + 0 + 1.5f - 0.25f});
  REQUIRE(s->notes().size() == 1);
  CHECK(s->notes()[0].find("float16") != std::string::npos);
}

TEST_CASE("float16 model: an explicit Cast to float16 still rounds", "[narrow_float]") {
  // keep_io_types style: fp32 in and out, the body in float16 between two Casts.
  ModelBuilder mb(17);
  mb.input("x", {int64_t{3}});
  ModelBuilder::attr_int(mb.node("Cast", {"x"}, {"x16"}), "to", kF16);
  mb.init("k", make_f16({1}, {3}));
  mb.node("Mul", {"x16", "k"}, {"m16"});
  ModelBuilder::attr_int(mb.node("Cast", {"m16"}, {"y"}), "to", kF32);
  mb.output("y", kF32);
  auto s = Session::from_bytes(mb.bytes());
  // 1 + 2^-12 is not a float16: it rounds to 1 before the Mul (fp32 alone would give 3.00073).
  const auto out = s->run({{"x", make_f32({3}, {1.f + 1.f / 4096, 2048.f + 1.f, -0.5f})}});
  CHECK(f32_values(out[0]) == std::vector<float>{3.f, 3.f * 2048.f, -1.5f});
}

TEST_CASE("float16 model: a Cast to float16 that is a graph output and also read on", "[narrow_float]") {
  ModelBuilder mb(17);
  mb.input("x", {int64_t{2}});
  ModelBuilder::attr_int(mb.node("Cast", {"x"}, {"h"}), "to", kF16);
  mb.node("Neg", {"h"}, {"n"});
  mb.output("h", kF16);
  mb.output("n", kF16);
  auto s = Session::from_bytes(mb.bytes());
  const auto out = s->run({{"x", make_f32({2}, {0.1f, 70000.f})}});
  REQUIRE(out.size() == 2);
  CHECK(out[0].dtype() == DType::f16);
  CHECK(out[0].data_as<uint16_t>()[0] == f32_to_f16(0.1f));
  CHECK(std::isinf(f16_values(out[0])[1]));  // past float16's range, as the model asks
  CHECK(f16_values(out[1])[0] == -f16_to_f32(f32_to_f16(0.1f)));
}

TEST_CASE("bfloat16 model: weights and input in bfloat16", "[narrow_float]") {
  ModelBuilder mb(17);
  mb.input("x", {int64_t{1}, int64_t{2}}, kBF16);
  mb.init("w", make_bf16({2, 2}, {1, 2, 3, 4}));
  mb.node("MatMul", {"x", "w"}, {"y"});
  mb.output("y", kBF16);
  auto s = Session::from_bytes(mb.bytes());
  const auto out = s->run({{"x", make_bf16({1, 2}, {1.f, 0.5f})}});
  REQUIRE(out[0].dtype() == DType::bf16);
  CHECK(kernels::bf16_to_f32(out[0].data_as<uint16_t>()[0]) == 2.5f);
  CHECK(kernels::bf16_to_f32(out[0].data_as<uint16_t>()[1]) == 4.f);
}

TEST_CASE("float16 model: ConstantOfShape and EyeLike with float16 types", "[narrow_float]") {
  ModelBuilder mb(17);
  mb.input("shape", {int64_t{1}}, onnx::TensorProto::INT64);
  mb.input("sq", {int64_t{2}, int64_t{2}}, kF16);
  ModelBuilder::attr_tensor(mb.node("ConstantOfShape", {"shape"}, {"c"}), "value", make_f16({1}, {1.5f}));
  ModelBuilder::attr_int(mb.node("EyeLike", {"sq"}, {"eye"}), "dtype", kF16);
  mb.node("Add", {"eye", "sq"}, {"sum"});
  mb.output("c", kF16);
  mb.output("sum", kF16);
  auto s = Session::from_bytes(mb.bytes());
  Tensor shape(DType::i64, {1});
  shape.data_as<int64_t>()[0] = 3;
  const auto out = s->run({{"shape", shape}, {"sq", make_f16({2, 2}, {1, 2, 3, 4})}});
  CHECK(f16_values(out[0]) == std::vector<float>{1.5f, 1.5f, 1.5f});
  CHECK(f16_values(out[1]) == std::vector<float>{2, 2, 3, 5});
}

TEST_CASE("float16 model: an If branch with its own float16 initializer reads a float16 input",
          "[narrow_float]") {
  ModelBuilder mb(13);
  mb.input("cond", {}, kBool);
  mb.input("x", {int64_t{2}}, kF16);
  auto& n = mb.node("If", {"cond"}, {"r"}, "if");
  for (const char* branch : {"then_branch", "else_branch"}) {
    const bool then = std::string(branch) == "then_branch";
    auto* g = ModelBuilder::graph_attr(n, branch);
    *g->add_initializer() = onnxio::tensor_to_proto(make_f16({2}, {then ? 10.f : -10.f, 0.5f}), "w");
    ModelBuilder::graph_node(g, "Add", {"x", "w"}, {"o"});
    auto* o = g->add_output();
    o->set_name("o");
    ModelBuilder::set_type(o, kF16, {int64_t{2}});
  }
  mb.output("r", kF16);
  auto s = Session::from_bytes(mb.bytes());
  Tensor c(DType::boolean, {});
  for (bool v : {true, false}) {
    *c.data_as<uint8_t>() = v;
    const auto out = s->run({{"cond", c}, {"x", make_f16({2}, {1, 2})}});
    CHECK(f16_values(out[0]) == std::vector<float>{v ? 11.f : -9.f, 2.5f});
  }
}

TEST_CASE("float16 model: an overridable float16 initializer takes a float16 override", "[narrow_float]") {
  ModelBuilder mb(13);
  mb.input("x", {int64_t{2}}, kF16);
  mb.init("w", make_f16({2}, {1, 1}), /*also_input=*/true);
  mb.node("Mul", {"x", "w"}, {"y"});
  mb.output("y", kF16);
  auto s = Session::from_bytes(mb.bytes());
  const Tensor x = make_f16({2}, {3, 4});
  CHECK(f16_values(s->run({{"x", x}})[0]) == std::vector<float>{3, 4});
  CHECK(f16_values(s->run({{"x", x}, {"w", make_f16({2}, {2, 0.5f})}})[0]) == std::vector<float>{6, 2});
  // The declared type is still what the caller must pass.
  CHECK_THROWS_AS(s->run({{"x", make_f32({2}, {3, 4})}}), Error);
}

TEST_CASE("fp32 model: no narrow-float note", "[narrow_float]") {
  ModelBuilder mb(17);
  mb.input("x", {int64_t{2}});
  mb.node("Relu", {"x"}, {"y"});
  mb.output("y");
  CHECK(Session::from_bytes(mb.bytes())->notes().empty());
}

TEST_CASE("dynamic quantization of a float16 model quantizes nothing and says why", "[narrow_float]") {
  ModelBuilder mb(17);
  mb.input("x", {int64_t{2}, int64_t{3}}, kF16);
  mb.init("w", make_f16({3, 2}, {1, 2, 3, 4, 5, 6}));
  mb.node("MatMul", {"x", "w"}, {"y"}, "mm");
  mb.output("y", kF16);
  QuantizeOptions o;
  o.mode = QuantMode::dynamic;
  const QuantizeResult r = quantize_model_bytes(mb.bytes(), o);
  CHECK(r.quantized_count() == 0);
  REQUIRE(r.nodes.size() == 1);
  CHECK(r.nodes[0].reason.find("float16") != std::string::npos);
}
