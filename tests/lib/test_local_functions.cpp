// Model-local functions (graph/local_functions.h): nested calls, attribute references with call values,
// defaults (attribute_proto) and omissions, outputs passed straight through, omitted optional inputs and
// outputs, overloads, a body's own opset, subgraphs in and around bodies, the ModelProto-level inliner
// ort-quantize uses, and malformed functions (clear Error, no crash).
#include <google/protobuf/unknown_field_set.h>

#include <catch2/catch.hpp>

#include "engine_model_builder.h"
#include "graph/local_functions.h"
#include "ortkit/error.h"
#include "ortkit/session.h"

using namespace ortkit;
using ortkit::testing::error_of;
using ortkit::testing::make_f32;
using ortkit::testing::ModelBuilder;

namespace {

constexpr int kF32 = onnx::TensorProto::FLOAT;
constexpr int kBool = onnx::TensorProto::BOOL;

onnx::FunctionProto& add_function(ModelBuilder& mb, const std::string& domain, const std::string& name,
                                  const std::vector<std::string>& ins, const std::vector<std::string>& outs,
                                  const std::vector<std::string>& attrs = {}, int onnx_opset = 0) {
  auto* f = mb.proto().add_functions();
  f->set_domain(domain);
  f->set_name(name);
  for (const auto& i : ins) f->add_input(i);
  for (const auto& o : outs) f->add_output(o);
  for (const auto& a : attrs) f->add_attribute(a);
  if (onnx_opset > 0) {
    auto* op = f->add_opset_import();
    op->set_domain("");
    op->set_version(onnx_opset);
  }
  return *f;
}

onnx::NodeProto& body_node(onnx::FunctionProto& f, const std::string& op, const std::vector<std::string>& ins,
                           const std::vector<std::string>& outs, const std::string& domain = {}) {
  auto* n = f.add_node();
  n->set_op_type(op);
  n->set_domain(domain);
  for (const auto& i : ins) n->add_input(i);
  for (const auto& o : outs) n->add_output(o);
  return *n;
}

/// An attribute of a body node that takes the value of the function's attribute `ref`.
void attr_ref(onnx::NodeProto& n, const std::string& name, const std::string& ref,
              onnx::AttributeProto::AttributeType type) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_ref_attr_name(ref);
  a->set_type(type);
}

/// FunctionProto.attribute_proto (IR 9): newer than the protos ortkit builds against, so written as the
/// unknown field an IR 9 file carries.
void default_float(onnx::FunctionProto& f, const std::string& name, float v) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::FLOAT);
  a.set_f(v);
  f.mutable_unknown_fields()->AddLengthDelimited(11, a.SerializeAsString());
}

std::vector<float> values(const Tensor& t) {
  REQUIRE(t.dtype() == DType::f32);
  return {t.data_as<float>(), t.data_as<float>() + t.numel()};
}

/// custom.Scale(X) -> (Y, Xpass): Y = AddOne(X * alpha) (alpha: the call's, else 2), Xpass = X (a formal
/// output that is the formal input). custom.AddOne(Z) -> W = Z + 1. custom.Leaky(X) -> LeakyRelu with
/// alpha from the call's `slope`, or LeakyRelu's own default when the call has none.
ModelBuilder functions_model() {
  ModelBuilder mb(17, 9);
  mb.import("custom", 1);
  mb.input("x", {int64_t{3}});
  auto& scale = add_function(mb, "custom", "Scale", {"X"}, {"Y", "X"}, {"alpha"});
  attr_ref(body_node(scale, "Constant", {}, {"A"}), "value_float", "alpha", onnx::AttributeProto::FLOAT);
  body_node(scale, "Mul", {"X", "A"}, {"Y0"});
  body_node(scale, "AddOne", {"Y0"}, {"Y"}, "custom");
  default_float(scale, "alpha", 2.f);
  auto& add_one = add_function(mb, "custom", "AddOne", {"Z"}, {"W"});
  ModelBuilder::attr_float(body_node(add_one, "Constant", {}, {"one"}), "value_float", 1.f);
  body_node(add_one, "Add", {"Z", "one"}, {"W"});
  auto& leaky = add_function(mb, "custom", "Leaky", {"X"}, {"Y"}, {"slope"});
  attr_ref(body_node(leaky, "LeakyRelu", {"X"}, {"Y"}), "alpha", "slope", onnx::AttributeProto::FLOAT);

  ModelBuilder::attr_float(mb.node("Scale", {"x"}, {"y3", "xp"}, "scale3", "custom"), "alpha", 3.f);
  mb.node("Scale", {"x"}, {"y2"}, "scale_default", "custom");  // the default alpha; Xpass unused
  ModelBuilder::attr_float(mb.node("Leaky", {"x"}, {"l5"}, "", "custom"), "slope", 0.5f);
  mb.node("Leaky", {"x"}, {"l_default"}, "", "custom");
  for (const char* o : {"y3", "xp", "y2", "l5", "l_default"}) mb.output(o);
  return mb;
}

void check_functions_model(Session& s) {
  const auto y = s.run({{"x", make_f32({3}, {1.f, -2.f, 0.5f})}});
  REQUIRE(y.size() == 5);
  CHECK(values(y[0]) == std::vector<float>{4.f, -5.f, 2.5f});
  CHECK(values(y[1]) == std::vector<float>{1.f, -2.f, 0.5f});
  CHECK(values(y[2]) == std::vector<float>{3.f, -3.f, 2.f});
  CHECK(values(y[3]) == std::vector<float>{1.f, -1.f, 0.5f});
  CHECK(values(y[4]) == std::vector<float>{1.f, -0.02f, 0.5f});
}

}  // namespace

TEST_CASE("local functions: nested calls, attribute references, defaults, passed-through outputs",
          "[onnx][functions]") {
  ModelBuilder mb = functions_model();
  check_functions_model(*Session::from_bytes(mb.bytes()));

  // The ModelProto-level inliner (ort-quantize): no functions left, same results.
  onnx::ModelProto m = mb.proto();
  graph::inline_local_functions(m, "test");
  CHECK(m.functions_size() == 0);
  for (const auto& n : m.graph().node()) CHECK(n.domain() != "custom");
  check_functions_model(*Session::from_bytes(m.SerializeAsString()));
}

TEST_CASE("local functions: omitted optional inputs and overloads", "[onnx][functions]") {
  ModelBuilder mb(17, 10);
  mb.import("custom", 1);
  mb.input("x", {int64_t{4}});
  mb.init("lo", make_f32({}, {-1.f}));
  // custom.Clamp(X, Lo, Hi) -> Clip(X, Lo, Hi): the call leaves Hi out, so Clip sees no max.
  auto& clamp = add_function(mb, "custom", "Clamp", {"X", "Lo", "Hi"}, {"Y"});
  body_node(clamp, "Clip", {"X", "Lo", "Hi"}, {"Y"});
  // Two overloads of custom.Op: "neg" and "abs" (FunctionProto.overload 13, NodeProto.overload 8).
  auto& neg = add_function(mb, "custom", "Op", {"X"}, {"Y"});
  body_node(neg, "Neg", {"X"}, {"Y"});
  neg.mutable_unknown_fields()->AddLengthDelimited(13, "neg");
  auto& abs = add_function(mb, "custom", "Op", {"X"}, {"Y"});
  body_node(abs, "Abs", {"X"}, {"Y"});
  abs.mutable_unknown_fields()->AddLengthDelimited(13, "abs");
  mb.node("Clamp", {"x", "lo"}, {"c"}, "clamp", "custom");
  mb.node("Op", {"x"}, {"n"}, "op_neg", "custom").mutable_unknown_fields()->AddLengthDelimited(8, "neg");
  mb.node("Op", {"x"}, {"a"}, "op_abs", "custom").mutable_unknown_fields()->AddLengthDelimited(8, "abs");
  for (const char* o : {"c", "n", "a"}) mb.output(o);
  auto s = Session::from_bytes(mb.bytes());
  const auto y = s->run({{"x", make_f32({4}, {-3.f, -0.5f, 2.f, 7.f})}});
  CHECK(values(y[0]) == std::vector<float>{-1.f, -0.5f, 2.f, 7.f});
  CHECK(values(y[1]) == std::vector<float>{3.f, 0.5f, -2.f, -7.f});
  CHECK(values(y[2]) == std::vector<float>{3.f, 0.5f, 2.f, 7.f});
}

TEST_CASE("local functions: a body runs at the function's own opset", "[onnx][functions]") {
  // The model imports ai.onnx 13 (ReduceSum's axes an input); the function imports 11 (axes an attribute).
  ModelBuilder mb(13, 8);
  mb.import("custom", 1);
  mb.input("x", {int64_t{2}, int64_t{3}});
  auto& f = add_function(mb, "custom", "RowSum", {"X"}, {"Y"}, {}, 11);
  auto& rs = body_node(f, "ReduceSum", {"X"}, {"Y"});
  ModelBuilder::attr_ints(rs, "axes", {1});
  ModelBuilder::attr_int(rs, "keepdims", 0);
  mb.node("RowSum", {"x"}, {"y"}, "rowsum", "custom");
  mb.output("y");
  auto s = Session::from_bytes(mb.bytes());
  const auto y = s->run({{"x", make_f32({2, 3}, {1, 2, 3, 4, 5, 6})}});
  CHECK(values(y[0]) == std::vector<float>{6.f, 15.f});

  // One ModelProto holds one version per domain: the proto-level inliner says why it cannot.
  onnx::ModelProto m = mb.proto();
  CHECK_THAT(error_of([&] { graph::inline_local_functions(m, "m.onnx"); }),
             Catch::Contains("runs at ai.onnx opset 11, the model imports 13"));
}

TEST_CASE("local functions: subgraphs inside a body and calls inside subgraphs", "[onnx][functions]") {
  ModelBuilder mb(17, 8);
  mb.import("custom", 1);
  mb.input("cond", {}, kBool);
  mb.input("x", {int64_t{2}});
  // custom.Pick(C, X) -> If(C, then: X + D, else: X - D) with D = X * X, a body value the branches read.
  auto& pick = add_function(mb, "custom", "Pick", {"C", "X"}, {"Y"});
  body_node(pick, "Mul", {"X", "X"}, {"D"});
  auto& iff = body_node(pick, "If", {"C"}, {"Y"});
  auto* t = ModelBuilder::graph_attr(iff, "then_branch");
  ModelBuilder::graph_node(t, "Add", {"X", "D"}, {"T"});
  ModelBuilder::set_type(t->add_output(), kF32, {int64_t{2}});
  t->mutable_output(0)->set_name("T");
  auto* e = ModelBuilder::graph_attr(iff, "else_branch");
  ModelBuilder::graph_node(e, "Sub", {"X", "D"}, {"E"});
  ModelBuilder::set_type(e->add_output(), kF32, {int64_t{2}});
  e->mutable_output(0)->set_name("E");
  // custom.Twice(X) -> X + X, called from a branch of the main graph's If.
  auto& twice = add_function(mb, "custom", "Twice", {"X"}, {"Y"});
  body_node(twice, "Add", {"X", "X"}, {"Y"});

  mb.node("Pick", {"cond", "x"}, {"p1"}, "pick1", "custom");
  mb.node("Pick", {"cond", "x"}, {"p2"}, "pick2", "custom");  // a second copy of the same body names
  auto& outer = mb.node("If", {"cond"}, {"o"}, "outer_if");
  auto* ot = ModelBuilder::graph_attr(outer, "then_branch");
  ModelBuilder::graph_node(ot, "Twice", {"x"}, {"tw"}).set_domain("custom");
  ModelBuilder::set_type(ot->add_output(), kF32, {int64_t{2}});
  ot->mutable_output(0)->set_name("tw");
  auto* oe = ModelBuilder::graph_attr(outer, "else_branch");
  ModelBuilder::graph_node(oe, "Identity", {"x"}, {"id"});
  ModelBuilder::set_type(oe->add_output(), kF32, {int64_t{2}});
  oe->mutable_output(0)->set_name("id");
  for (const char* o : {"p1", "p2", "o"}) mb.output(o);

  auto check = [](Session& s) {
    Tensor c(DType::boolean, {});
    for (bool v : {true, false}) {
      *c.data_as<uint8_t>() = v;
      const auto y = s.run({{"cond", c}, {"x", make_f32({2}, {2.f, -3.f})}});
      const std::vector<float> want = v ? std::vector<float>{6.f, 6.f} : std::vector<float>{-2.f, -12.f};
      CHECK(values(y[0]) == want);
      CHECK(values(y[1]) == want);
      CHECK(values(y[2]) == (v ? std::vector<float>{4.f, -6.f} : std::vector<float>{2.f, -3.f}));
    }
  };
  check(*Session::from_bytes(mb.bytes()));
  onnx::ModelProto m = mb.proto();
  graph::inline_local_functions(m, "test");
  check(*Session::from_bytes(m.SerializeAsString()));
}

TEST_CASE("local functions: malformed functions and calls are clear errors", "[onnx][functions]") {
  auto base = [] {
    ModelBuilder mb(17, 8);
    mb.import("custom", 1);
    mb.input("x", {int64_t{2}});
    mb.output("y");
    return mb;
  };
  SECTION("recursion") {
    ModelBuilder mb = base();
    auto& f = add_function(mb, "custom", "Loop1", {"X"}, {"Y"});
    body_node(f, "Loop1", {"X"}, {"Y"}, "custom");
    mb.node("Loop1", {"x"}, {"y"}, "call", "custom");
    CHECK_THAT(error_of([&] { Session::from_bytes(mb.bytes()); }),
               Catch::Contains("custom.Loop1") && Catch::Contains("nest more than 64 deep"));
  }
  SECTION("more inputs than the function declares") {
    ModelBuilder mb = base();
    auto& f = add_function(mb, "custom", "One", {"X"}, {"Y"});
    body_node(f, "Relu", {"X"}, {"Y"});
    mb.node("One", {"x", "x"}, {"y"}, "call", "custom");
    CHECK_THAT(error_of([&] { Session::from_bytes(mb.bytes()); }),
               Catch::Contains("node 'call' calling local function 'custom.One'") &&
                   Catch::Contains("the call has 2 inputs and 1 outputs, the function declares 1 and 1"));
  }
  SECTION("an output the body never produces") {
    ModelBuilder mb = base();
    auto& f = add_function(mb, "custom", "Lazy", {"X"}, {"Y"});
    body_node(f, "Relu", {"X"}, {"Z"});
    mb.node("Lazy", {"x"}, {"y"}, "call", "custom");
    CHECK_THAT(error_of([&] { Session::from_bytes(mb.bytes()); }),
               Catch::Contains("the body never produces output 'Y'"));
  }
  SECTION("a function defined twice") {
    ModelBuilder mb = base();
    for (int i = 0; i < 2; ++i)
      body_node(add_function(mb, "custom", "Dup", {"X"}, {"Y"}), "Relu", {"X"}, {"Y"});
    mb.node("Dup", {"x"}, {"y"}, "call", "custom");
    CHECK_THAT(error_of([&] { Session::from_bytes(mb.bytes()); }),
               Catch::Contains("local function 'custom.Dup' is defined twice"));
  }
  SECTION("a malformed default attribute") {
    ModelBuilder mb = base();
    auto& f = add_function(mb, "custom", "Bad", {"X"}, {"Y"}, {"a"});
    body_node(f, "Relu", {"X"}, {"Y"});
    f.mutable_unknown_fields()->AddLengthDelimited(11, std::string("\xff\xff\xff", 3));
    mb.node("Bad", {"x"}, {"y"}, "call", "custom");
    CHECK_THAT(error_of([&] { Session::from_bytes(mb.bytes()); }),
               Catch::Contains("malformed default attribute"));
  }
}
