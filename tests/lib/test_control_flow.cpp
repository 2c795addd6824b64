// Control flow (If, Loop, Scan): models built in code with subgraph attributes, run through Session.
// Covers bodies reading outer-scope values (inputs and initializers), branches of different shapes,
// running sums with scan outputs over 5 and 0 iterations, a while-style Loop, a Loop nested in an If,
// a reversed Scan, plan reuse across runs, and malformed bodies (clear Error, no crash).
#include <catch2/catch.hpp>

#include "engine_model_builder.h"
#include "graph/from_onnx.h"
#include "ortkit/session.h"

using namespace ortkit;
using ortkit::testing::make_f32;
using ortkit::testing::make_i64;
using ortkit::testing::ModelBuilder;

namespace {

constexpr int kF32 = onnx::TensorProto::FLOAT, kI64 = onnx::TensorProto::INT64,
              kBool = onnx::TensorProto::BOOL;

void g_in(onnx::GraphProto* g, const std::string& name, int elem, const std::vector<int64_t>& dims) {
  auto* v = g->add_input();
  v->set_name(name);
  std::vector<ortkit::testing::DimSpec> d(dims.begin(), dims.end());
  ModelBuilder::set_type(v, elem, d);
}
void g_out(onnx::GraphProto* g, const std::string& name, int elem, const std::vector<int64_t>& dims) {
  auto* v = g->add_output();
  v->set_name(name);
  std::vector<ortkit::testing::DimSpec> d(dims.begin(), dims.end());
  ModelBuilder::set_type(v, elem, d);
}
onnx::NodeProto& g_node(onnx::GraphProto* g, const std::string& op, const std::vector<std::string>& ins,
                        const std::vector<std::string>& outs) {
  return ModelBuilder::graph_node(g, op, ins, outs);
}
Tensor make_bool(bool v) {
  Tensor t(DType::boolean, {});
  *t.data_as<uint8_t>() = v ? 1 : 0;
  return t;
}
Tensor scalar_i64(int64_t v) {
  return make_i64({}, {v});
}
std::vector<float> values(const Tensor& t) {
  REQUIRE(t.dtype() == DType::f32);
  return {t.data_as<float>(), t.data_as<float>() + t.numel()};
}

/// out = Relu(If(cond, then: x + w, else: Concat(x, -x))): both branches read outer values (input x,
/// initializer w) and have different output shapes.
ModelBuilder if_model() {
  ModelBuilder mb(13);
  mb.input("cond", {}, kBool);
  mb.input("x", {int64_t{2}});
  mb.init("w", make_f32({2}, {10.f, 20.f}));
  auto& n = mb.node("If", {"cond"}, {"r"}, "if");
  auto* t = ModelBuilder::graph_attr(n, "then_branch");
  g_node(t, "Add", {"x", "w"}, {"t_out"});
  g_out(t, "t_out", kF32, {2});
  auto* e = ModelBuilder::graph_attr(n, "else_branch");
  g_node(e, "Neg", {"x"}, {"neg"});
  auto& cat = g_node(e, "Concat", {"x", "neg"}, {"e_out"});
  ModelBuilder::attr_int(cat, "axis", 0);
  g_out(e, "e_out", kF32, {4});
  mb.node("Relu", {"r"}, {"out"});
  mb.output("out");
  return mb;
}

/// Loop(M, cond, s0) with body: s = s_in + float(i) + bias (bias an outer input); scan output s.
/// `cond_input`: "" omits cond (a for loop); `while_limit` >= 0 makes cond_out = i < while_limit.
ModelBuilder loop_model(const std::string& m_input, const std::string& cond_input, int64_t while_limit = -1) {
  ModelBuilder mb(13);
  if (!m_input.empty()) mb.input("M", {}, kI64);
  if (!cond_input.empty()) mb.input("cond", {}, kBool);
  mb.input("s0", {int64_t{1}});
  mb.input("bias", {int64_t{1}});
  auto& n = mb.node("Loop", {m_input, cond_input, "s0"}, {"s_final", "s_scan"}, "loop");
  auto* b = ModelBuilder::graph_attr(n, "body");
  g_in(b, "i", kI64, {});
  g_in(b, "c_in", kBool, {});
  g_in(b, "s_in", kF32, {1});
  auto& cast = g_node(b, "Cast", {"i"}, {"fi"});
  ModelBuilder::attr_int(cast, "to", kF32);
  g_node(b, "Add", {"s_in", "fi"}, {"s_a"});
  g_node(b, "Add", {"s_a", "bias"}, {"s_out"});
  g_node(b, "Identity", {"s_out"}, {"scan_out"});
  if (while_limit >= 0) {
    auto* lim = b->add_initializer();
    *lim = onnxio::tensor_to_proto(scalar_i64(while_limit), "limit");
    g_node(b, "Less", {"i", "limit"}, {"c_out"});
  } else {
    g_node(b, "Identity", {"c_in"}, {"c_out"});
  }
  g_out(b, "c_out", kBool, {});
  g_out(b, "s_out", kF32, {1});
  g_out(b, "scan_out", kF32, {1});
  mb.output("s_final");
  mb.output("s_scan");
  return mb;
}

}  // namespace

TEST_CASE("If: branches read outer-scope values and may differ in shape", "[control]") {
  auto s = Session::from_bytes(if_model().bytes());
  const Tensor x = make_f32({2}, {1.f, -2.f});
  for (int rep = 0; rep < 2; ++rep) {  // the second round reuses the cached branch plans
    auto y = s->run({{"cond", make_bool(true)}, {"x", x}});
    REQUIRE(y[0].shape() == Shape{2});
    CHECK(values(y[0]) == std::vector<float>{11.f, 18.f});
    y = s->run({{"cond", make_bool(false)}, {"x", x}});
    REQUIRE(y[0].shape() == Shape{4});
    CHECK(values(y[0]) == std::vector<float>{1.f, 0.f, 0.f, 2.f});
  }
}

TEST_CASE("If: outer-scope values become explicit inputs of the node", "[control]") {
  const ModelBuilder mb = if_model();
  const graph::Graph g = graph::from_onnx(const_cast<ModelBuilder&>(mb).proto(), "if", ".");
  const graph::Node* n = nullptr;
  for (const auto& node : g.nodes)
    if (node.op_type == "If") n = &node;
  REQUIRE(n);
  CHECK(n->inputs == std::vector<std::string>{"cond", "x", "w"});
  CHECK(n->attrs.get_graph("else_branch").outer_refs == std::vector<std::string>{"x"});
}

TEST_CASE("Loop: running sum with a scan output over 5 and 0 iterations", "[control]") {
  auto s = Session::from_bytes(loop_model("M", "").bytes());
  const Tensor s0 = make_f32({1}, {100.f}), bias = make_f32({1}, {1.f});
  auto y = s->run({{"M", scalar_i64(5)}, {"s0", s0}, {"bias", bias}});
  CHECK(values(y[0]) == std::vector<float>{115.f});
  REQUIRE(y[1].shape() == Shape{5, 1});
  CHECK(values(y[1]) == std::vector<float>{101.f, 103.f, 106.f, 110.f, 115.f});

  y = s->run({{"M", scalar_i64(0)}, {"s0", s0}, {"bias", bias}});
  CHECK(values(y[0]) == std::vector<float>{100.f});  // the initial value
  CHECK(y[1].shape() == Shape{0, 1});                // empty, with the body's declared slice shape

  y = s->run({{"M", scalar_i64(2)}, {"s0", s0}, {"bias", bias}});
  CHECK(values(y[1]) == std::vector<float>{101.f, 103.f});
}

TEST_CASE("Loop: while-style loop ends when the body's condition turns false", "[control]") {
  auto s = Session::from_bytes(loop_model("", "cond", 3).bytes());
  const Tensor s0 = make_f32({1}, {0.f}), bias = make_f32({1}, {0.f});
  auto y = s->run({{"cond", make_bool(true)}, {"s0", s0}, {"bias", bias}});
  // i = 0..3 run (the condition computed in iteration 3 is false): 0 + 1 + 2 + 3
  CHECK(values(y[0]) == std::vector<float>{6.f});
  CHECK(y[1].shape() == Shape{4, 1});
  y = s->run({{"cond", make_bool(false)}, {"s0", s0}, {"bias", bias}});
  CHECK(values(y[0]) == std::vector<float>{0.f});
  CHECK(y[1].shape()[0] == 0);
}

TEST_CASE("Loop nested inside If reads a top-level value through both scopes", "[control]") {
  ModelBuilder mb(13);
  mb.input("cond", {}, kBool);
  mb.input("x", {int64_t{1}});
  mb.init("M", scalar_i64(3));
  auto& n = mb.node("If", {"cond"}, {"r"}, "if");
  auto* t = ModelBuilder::graph_attr(n, "then_branch");
  auto& loop = g_node(t, "Loop", {"M", "", "x"}, {"t_out"});
  auto* b = ModelBuilder::graph_attr(loop, "body");
  g_in(b, "i", kI64, {});
  g_in(b, "c_in", kBool, {});
  g_in(b, "v_in", kF32, {1});
  g_node(b, "Add", {"v_in", "x"}, {"v_out"});  // x: the top-level input
  g_node(b, "Identity", {"c_in"}, {"c_out"});
  g_out(b, "c_out", kBool, {});
  g_out(b, "v_out", kF32, {1});
  g_out(t, "t_out", kF32, {1});
  auto* e = ModelBuilder::graph_attr(n, "else_branch");
  g_node(e, "Identity", {"x"}, {"e_out"});
  g_out(e, "e_out", kF32, {1});
  mb.output("r");
  auto s = Session::from_bytes(mb.bytes());
  auto y = s->run({{"cond", make_bool(true)}, {"x", make_f32({1}, {2.f})}});
  CHECK(values(y[0]) == std::vector<float>{8.f});  // x + 3 * x
  y = s->run({{"cond", make_bool(false)}, {"x", make_f32({1}, {2.f})}});
  CHECK(values(y[0]) == std::vector<float>{2.f});
}

TEST_CASE("Scan: reverse input direction and reverse output direction", "[control]") {
  for (int out_dir = 0; out_dir < 2; ++out_dir) {
    ModelBuilder mb(11);
    mb.input("init", {int64_t{2}});
    mb.input("x", {int64_t{3}, int64_t{2}});
    auto& n = mb.node("Scan", {"init", "x"}, {"sum", "partial"}, "scan");
    ModelBuilder::attr_int(n, "num_scan_inputs", 1);
    ModelBuilder::attr_ints(n, "scan_input_directions", {1});
    ModelBuilder::attr_ints(n, "scan_output_directions", {out_dir});
    auto* b = ModelBuilder::graph_attr(n, "body");
    g_in(b, "s_in", kF32, {2});
    g_in(b, "row", kF32, {2});
    g_node(b, "Add", {"s_in", "row"}, {"s_out"});
    g_node(b, "Identity", {"s_out"}, {"p_out"});
    g_out(b, "s_out", kF32, {2});
    g_out(b, "p_out", kF32, {2});
    mb.output("sum");
    mb.output("partial");
    auto s = Session::from_bytes(mb.bytes());
    auto y = s->run({{"init", make_f32({2}, {0.f, 0.f})}, {"x", make_f32({3, 2}, {1, 2, 3, 4, 5, 6})}});
    CHECK(values(y[0]) == std::vector<float>{9.f, 12.f});
    REQUIRE(y[1].shape() == Shape{3, 2});
    // Rows visited last to first: partial sums [5,6], [8,10], [9,12]; a reversed output stores them back.
    if (out_dir == 0)
      CHECK(values(y[1]) == std::vector<float>{5, 6, 8, 10, 9, 12});
    else
      CHECK(values(y[1]) == std::vector<float>{9, 12, 8, 10, 5, 6});
  }
}

TEST_CASE("Scan: scan axis 1 of the input and axis 1 of the output", "[control]") {
  ModelBuilder mb(11);
  mb.input("init", {int64_t{2}});
  mb.input("x", {int64_t{2}, int64_t{3}});
  auto& n = mb.node("Scan", {"init", "x"}, {"sum", "partial"}, "scan");
  ModelBuilder::attr_int(n, "num_scan_inputs", 1);
  ModelBuilder::attr_ints(n, "scan_input_axes", {1});
  ModelBuilder::attr_ints(n, "scan_output_axes", {-1});
  auto* b = ModelBuilder::graph_attr(n, "body");
  g_in(b, "s_in", kF32, {2});
  g_in(b, "col", kF32, {2});
  g_node(b, "Add", {"s_in", "col"}, {"s_out"});
  g_node(b, "Identity", {"s_out"}, {"p_out"});
  g_out(b, "s_out", kF32, {2});
  g_out(b, "p_out", kF32, {2});
  mb.output("sum");
  mb.output("partial");
  auto s = Session::from_bytes(mb.bytes());
  auto y = s->run({{"init", make_f32({2}, {0.f, 0.f})}, {"x", make_f32({2, 3}, {1, 2, 3, 4, 5, 6})}});
  CHECK(values(y[0]) == std::vector<float>{6.f, 15.f});
  REQUIRE(y[1].shape() == Shape{2, 3});
  CHECK(values(y[1]) == std::vector<float>{1, 3, 6, 4, 9, 15});
}

TEST_CASE("Control flow: malformed bodies give a clear Error", "[control]") {
  SECTION("Loop body with the wrong number of inputs") {
    ModelBuilder mb(13);
    mb.input("M", {}, kI64);
    mb.input("v", {int64_t{1}});
    auto& n = mb.node("Loop", {"M", "", "v"}, {"v_out"}, "loop");
    auto* b = ModelBuilder::graph_attr(n, "body");
    g_in(b, "i", kI64, {});
    g_in(b, "c_in", kBool, {});  // v_in missing
    g_node(b, "Identity", {"c_in"}, {"c_out"});
    g_node(b, "Identity", {"v"}, {"v_next"});
    g_out(b, "c_out", kBool, {});
    g_out(b, "v_next", kF32, {1});
    mb.output("v_out");
    auto s = Session::from_bytes(mb.bytes());
    CHECK_THROWS_WITH(s->run({{"M", scalar_i64(2)}, {"v", make_f32({1}, {1.f})}}),
                      Catch::Contains("the body takes 2 inputs, expected 2 + 1"));
  }
  SECTION("If with a float condition") {
    ModelBuilder mb = if_model();
    mb.proto().mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(kF32);
    auto s = Session::from_bytes(mb.bytes());
    Tensor c(DType::f32, {});
    CHECK_THROWS_WITH(s->run({{"cond", c}, {"x", make_f32({2}, {1.f, 2.f})}}),
                      Catch::Contains("cond must be bool"));
  }
  SECTION("If branches with different output counts") {
    ModelBuilder mb = if_model();
    auto* e = mb.proto().mutable_graph()->mutable_node(0)->mutable_attribute(1)->mutable_g();
    g_out(e, "neg", kF32, {2});
    auto s = Session::from_bytes(mb.bytes());
    CHECK_THROWS_WITH(s->run({{"cond", make_bool(true)}, {"x", make_f32({2}, {1.f, 2.f})}}),
                      Catch::Contains("has 2 outputs, the node has 1"));
  }
  SECTION("Loop body whose condition output is not bool") {
    ModelBuilder mb = loop_model("M", "");
    auto* b = mb.proto().mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_g();
    b->mutable_output(0)->set_name("s_out");  // a float where the condition goes
    auto s = Session::from_bytes(mb.bytes());
    CHECK_THROWS_AS(
        s->run({{"M", scalar_i64(1)}, {"s0", make_f32({1}, {0.f})}, {"bias", make_f32({1}, {0.f})}}), Error);
  }
  SECTION("an error inside a body names the body and its node") {
    ModelBuilder mb = if_model();
    *mb.proto().mutable_graph()->mutable_initializer(0) =
        onnxio::tensor_to_proto(make_f32({3}, {1, 2, 3}), "w");
    auto s = Session::from_bytes(mb.bytes());
    std::string msg;
    try {
      s->run({{"cond", make_bool(true)}, {"x", make_f32({2}, {1.f, 2.f})}});
    } catch (const Error& e) {
      msg = e.message();
    }
    CHECK_THAT(msg,
               Catch::Contains("cannot be broadcast") && Catch::Contains("in 'then_branch' of node 'if'"));
    // The other branch still runs.
    CHECK(s->run({{"cond", make_bool(false)}, {"x", make_f32({2}, {1.f, 2.f})}})[0].shape() == Shape{4});
  }
  SECTION("a body reading a value no scope defines") {
    ModelBuilder mb = if_model();
    auto* t = mb.proto().mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_g();
    t->mutable_node(0)->set_input(1, "nowhere");
    CHECK_THROWS_WITH(Session::from_bytes(mb.bytes()), Catch::Contains("nowhere"));
  }
}
