// QDQ Add fusion (graph/passes/qdq_add_fusion.cpp -> ortkit.QdqAdd): DQ(a_q) + DQ(b_q) [-> Relu] -> Q
// run fused and with the pass disabled (DQ, DQ, float Add, Relu, QuantizeLinear). QdqAdd does the same
// float operations in the same order, so the outputs must be identical (the brief allows one step; we
// check 0), including rounding ties (scales that are powers of two put many sums exactly on .5),
// saturation, mixed u8/s8 operands, and numpy broadcasting. Patterns that are not per tensor, or whose
// Add result is read elsewhere, must stay unfused.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>

#include "engine_model_builder.h"
#include "graph/from_onnx.h"
#include "graph/optimizer.h"
#include "int8_test_util.h"
#include "ortkit/session.h"

using namespace ortkit;
using namespace ortkit::testing;

namespace {

struct AddSpec {
  Shape a{1, 4, 5, 6}, b{1, 4, 5, 6};
  DType ta = DType::u8, tb = DType::u8, ty = DType::u8;
  float sa = 0.5f, sb = 0.25f, sy = 1.f;  // powers of two: many exact ties
  int za = 128, zb = 120, zy = 128;
  bool relu = false;
  bool no_yzp = false;    // QuantizeLinear without zero point (u8, 0)
  bool b_float = false;   // b is a float input read by the Add directly (resnet's residual stream)
  bool v_output = false;  // the Add/Relu result is also a graph output (fused: the float output)
  bool no_q = false;      // no QuantizeLinear: only the float result
};

int elem(DType t) {
  return t == DType::u8 ? 2 : 3;
}

Tensor zp(DType t, int v) {
  return t == DType::u8 ? u8({}, {static_cast<uint8_t>(v)}) : s8({}, {static_cast<int8_t>(v)});
}

ModelBuilder build(const AddSpec& sp) {
  ModelBuilder mb(13);
  mb.input("a", std::vector<DimSpec>(sp.a.begin(), sp.a.end()), elem(sp.ta));
  mb.input("b", std::vector<DimSpec>(sp.b.begin(), sp.b.end()), sp.b_float ? 1 : elem(sp.tb));
  mb.init("a_s", f32({}, {sp.sa}));
  mb.init("a_z", zp(sp.ta, sp.za));
  mb.init("b_s", f32({}, {sp.sb}));
  mb.init("b_z", zp(sp.tb, sp.zb));
  mb.init("y_s", f32({}, {sp.sy}));
  mb.node("DequantizeLinear", {"a", "a_s", "a_z"}, {"ad"});
  if (!sp.b_float) mb.node("DequantizeLinear", {"b", "b_s", "b_z"}, {"bd"});
  mb.node("Add", {"ad", sp.b_float ? "b" : "bd"}, {"s"});
  if (sp.relu) mb.node("Relu", {"s"}, {"r"});
  const std::string v(sp.relu ? "r" : "s");  // (one construction: GCC 12's -Wrestrict misfires on v = "r")
  if (sp.v_output || sp.no_q) mb.output(v);
  if (sp.no_q) return mb;
  if (sp.no_yzp) {
    mb.node("QuantizeLinear", {v, "y_s"}, {"y"});
  } else {
    mb.init("y_z", zp(sp.ty, sp.zy));
    mb.node("QuantizeLinear", {v, "y_s", "y_z"}, {"y"});
  }
  mb.output("y", elem(sp.no_yzp ? DType::u8 : sp.ty));
  return mb;
}

struct Result {
  std::vector<Tensor> y;
  std::map<std::string, int> ops;
};

Result run(const ModelBuilder& mb, const Tensor& a, const Tensor& b, bool fused) {
  SessionOptions o;
  o.threads = 2;
  if (!fused) o.disabled_passes = {"qdq_add_fusion"};
  auto s = Session::from_bytes(mb.bytes(), o);
  Result r;
  r.ops = s->op_counts();
  for (const Tensor& t : s->run({{"a", a}, {"b", b}})) r.y.push_back(t.clone());
  return r;
}

Tensor rnd(DType t, const Shape& s, uint32_t seed) {
  if (t == DType::f32) return make_random(s, seed);
  return t == DType::u8 ? random_int8(t, s, 0, 255, seed) : random_int8(t, s, -128, 127, seed);
}

void check_match(const AddSpec& sp, int expect_fused = 1) {
  const ModelBuilder mb = build(sp);
  const Tensor a = rnd(sp.ta, sp.a, 11), b = rnd(sp.b_float ? DType::f32 : sp.tb, sp.b, 12);
  const Result f = run(mb, a, b, true), u = run(mb, a, b, false);
  CHECK((f.ops.count("QdqAdd") ? f.ops.at("QdqAdd") : 0) == expect_fused);
  if (expect_fused) {
    CHECK(f.ops.count("Add") == 0);
    CHECK(f.ops.count("Relu") == 0);
    CHECK(f.ops.count("DequantizeLinear") == 0);
    CHECK(f.ops.count("QuantizeLinear") == 0);
  }
  CHECK(u.ops.count("QdqAdd") == 0);
  REQUIRE(f.y.size() == u.y.size());
  for (size_t k = 0; k < f.y.size(); ++k) {
    const Tensor& fy = f.y[k];
    const Tensor& uy = u.y[k];
    REQUIRE(fy.shape() == uy.shape());
    REQUIRE(fy.dtype() == uy.dtype());
    if (fy.dtype() == DType::f32) {  // the float result: bit-identical
      int64_t differ = 0;
      for (int64_t i = 0; i < fy.numel(); ++i) differ += fy.data_as<float>()[i] != uy.data_as<float>()[i];
      CHECK(differ == 0);
      continue;
    }
    int max_diff = 0, lo = 1000, hi = -1000;
    for (int64_t i = 0; i < fy.numel(); ++i) {
      max_diff = std::max(max_diff, std::abs(ival(fy, i) - ival(uy, i)));
      lo = std::min(lo, ival(uy, i));
      hi = std::max(hi, ival(uy, i));
    }
    INFO("elements " << fy.numel() << ", unfused range [" << lo << ", " << hi << "]");
    CHECK(max_diff == 0);
    if (fy.numel() > 16) CHECK(hi - lo > 20);
  }
}

}  // namespace

TEST_CASE("QDQ Add fuses into QdqAdd and matches the unfused graph", "[int8][qdq]") {
  SECTION("u8 + u8 -> u8, same shape, saturating both ends") {
    check_match(AddSpec{});
  }
  SECTION("Relu between Add and Q, zero point 0 output") {
    AddSpec s;
    s.relu = true, s.zy = 0, s.sy = 0.5f;
    check_match(s);
  }
  SECTION("Relu with a nonzero output zero point (the clamp is at zy)") {
    AddSpec s;
    s.relu = true, s.zy = 40, s.sy = 0.75f;
    check_match(s);
  }
  SECTION("s8 + u8 -> s8, non-power-of-two scales") {
    AddSpec s;
    s.ta = DType::i8, s.za = -3, s.sa = 0.013f, s.tb = DType::u8, s.zb = 131, s.sb = 0.021f;
    s.ty = DType::i8, s.zy = 5, s.sy = 0.02f;
    check_match(s);
  }
  SECTION("s8 + s8 -> u8, Q without zero point") {
    AddSpec s;
    s.ta = s.tb = DType::i8, s.za = 0, s.zb = 7, s.no_yzp = true, s.sy = 0.5f;
    check_match(s);
  }
  SECTION("broadcast: [2, 3, 4, 5] + [3, 1, 5]") {
    AddSpec s;
    s.a = {2, 3, 4, 5}, s.b = {3, 1, 5};
    check_match(s);
  }
  SECTION("broadcast: [1] + [2, 3, 7] and [2, 1, 7] + [1, 3, 1]") {
    AddSpec s;
    s.a = {1}, s.b = {2, 3, 7};
    check_match(s);
    s.a = {2, 1, 7}, s.b = {1, 3, 1}, s.relu = true;
    check_match(s);
  }
  SECTION("quotients exactly on half-integers, y_scale with an inexact reciprocal (ties to even)") {
    // v = n * 3/256 and y_s = 3/128: v / y_s = n / 2 exactly, while v * (1 / y_s) is off by an ulp, so a
    // multiplying loop would round some ties the other way.
    AddSpec s;
    s.a = s.b = {1, 8, 9, 11};
    s.sa = s.sb = 3.f / 256.f, s.sy = 3.f / 128.f, s.za = 128, s.zb = 128, s.zy = 128;
    check_match(s);
    s.ty = DType::i8, s.zy = 0;
    check_match(s);
  }
  SECTION("big tensor (threaded), resnet's residual shape") {
    AddSpec s;
    s.a = s.b = {1, 64, 28, 28};
    s.sa = 0.031f, s.sb = 0.047f, s.sy = 0.06f, s.za = 100, s.zb = 140, s.zy = 110;
    check_match(s);
  }
  SECTION("float b (resnet's residual stream), Relu, result also read as float") {
    AddSpec s;
    s.b_float = true, s.relu = true, s.v_output = true, s.sa = 0.02f, s.sy = 0.011f, s.zy = 0;
    check_match(s);
    s.relu = false, s.zy = 128, s.a = {1, 4, 1, 6};  // broadcast a over b
    check_match(s);
  }
  SECTION("float b, no QuantizeLinear (DQ + Add + Relu -> float only)") {
    AddSpec s;
    s.b_float = true, s.relu = true, s.no_q = true, s.sa = 0.02f;
    check_match(s);
  }
  SECTION("int8 b, Q and another float reader of the Relu result") {
    AddSpec s;
    s.relu = true, s.v_output = true, s.ta = DType::i8, s.za = 2;
    check_match(s);
  }
  SECTION("empty tensor") {
    AddSpec s;
    s.a = s.b = {2, 0, 3};
    check_match(s);
  }
}

TEST_CASE("QDQ Add patterns that are not per tensor stay unfused", "[int8][qdq]") {
  SECTION("incompatible broadcast fails at load, fused or not") {
    AddSpec s;
    s.a = {2, 3}, s.b = {4, 3};
    const ModelBuilder mb = build(s);
    const Tensor a = rnd(s.ta, s.a, 1), b = rnd(s.tb, s.b, 2);
    CHECK_THROWS_AS(run(mb, a, b, true), Error);
  }
  SECTION("per-channel DequantizeLinear scales on both operands") {
    ModelBuilder mb = build(AddSpec{});
    mb.init("a_s4", f32({4}, {0.1f, 0.2f, 0.3f, 0.4f}));
    for (auto& n : *mb.proto().mutable_graph()->mutable_node())
      if (n.op_type() == "DequantizeLinear") {
        n.set_input(1, "a_s4");
        ModelBuilder::attr_int(n, "axis", 1);
      }
    graph::Graph g = graph::from_onnx(mb.proto(), "test", ".");
    CHECK(graph::fuse_qdq_add(g, true) == 0);
  }
  SECTION("one per-channel operand: the other DequantizeLinear is fused, the first stays as float b") {
    AddSpec sp;
    ModelBuilder mb = build(sp);
    mb.init("a_s4", f32({4}, {0.1f, 0.2f, 0.3f, 0.4f}));
    mb.init("a_z4", u8({4}, {128, 120, 130, 128}));
    for (auto& n : *mb.proto().mutable_graph()->mutable_node())
      if (n.op_type() == "DequantizeLinear" && n.input(0) == "a") {
        n.set_input(1, "a_s4");
        n.set_input(2, "a_z4");
        ModelBuilder::attr_int(n, "axis", 1);
      }
    graph::Graph g = graph::from_onnx(mb.proto(), "test", ".");
    CHECK(graph::fuse_qdq_add(g, true) == 1);
    const Tensor a = rnd(sp.ta, sp.a, 1), b = rnd(sp.tb, sp.b, 2);
    const Result f = run(mb, a, b, true), u = run(mb, a, b, false);
    CHECK(f.ops.count("QdqAdd") == 1);
    REQUIRE(f.y[0].numel() == u.y[0].numel());
    for (int64_t i = 0; i < f.y[0].numel(); ++i) CHECK(ival(f.y[0], i) == ival(u.y[0], i));
  }
  SECTION("Add result also a graph output: fused with the float output") {
    ModelBuilder mb = build(AddSpec{});
    mb.output("s");
    graph::Graph g = graph::from_onnx(mb.proto(), "test", ".");
    CHECK(graph::fuse_qdq_add(g, true) == 1);
    const std::vector<std::string> want{"y", "s"};
    for (const graph::Node& n : g.nodes)
      if (n.op_type == "QdqAdd") CHECK(n.outputs == want);
  }
  SECTION("no DequantizeLinear operand") {
    ModelBuilder mb = build(AddSpec{});
    mb.init("af", make_random({1, 4, 5, 6}, 3));
    mb.init("bf", make_random({1, 4, 5, 6}, 4));
    for (auto& n : *mb.proto().mutable_graph()->mutable_node())
      if (n.op_type() == "Add") {
        n.set_input(0, "af");
        n.set_input(1, "bf");
      }
    graph::Graph g = graph::from_onnx(mb.proto(), "test", ".");
    CHECK(graph::fuse_qdq_add(g, true) == 0);
  }
  SECTION("a DequantizeLinear also read elsewhere stays for its other reader") {
    ModelBuilder mb = build(AddSpec{});
    mb.output("ad");
    graph::Graph g = graph::from_onnx(mb.proto(), "test", ".");
    CHECK(graph::fuse_qdq_add(g, true) == 1);
    int dq = 0;
    for (const graph::Node& n : g.nodes) dq += n.op_type == "DequantizeLinear";
    CHECK(dq == 1);
  }
}
