// int8 fusions: the quantize_dynamic chain (DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul
// [-> Add]) becomes ortkit.DynQuantMatMul and the QDQ chain (Q -> DQ -> MatMul(DQ(W)) [-> Add]) becomes
// ortkit.QdqMatMul. The fused session's outputs are compared with the unfused math computed from the
// reference ONNX ops (eval_single of DynamicQuantizeLinear, MatMulInteger, QuantizeLinear,
// DequantizeLinear, MatMul) within the quantization tolerance; op_counts shows the fused op. Patterns
// that are not safe to fuse are checked on the graph (the pass makes no rewrite).
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "engine_model_builder.h"
#include "graph/from_onnx.h"
#include "graph/optimizer.h"
#include "int8_test_util.h"
#include "ops/eval.h"
#include "ortkit/session.h"

using namespace ortkit;
using namespace ortkit::testing;

namespace {

constexpr int64_t K = 24, N = 10;

struct DynVariant {
  bool per_column = false;   // per-column W scale / zero point
  bool u8_weights = false;   // u8 W (ORT's QUInt8) instead of s8
  bool bias = true;          // Add(bias, y) after the Mul
  bool swap = false;         // operands of the Muls in the other order
  bool rank3 = false;        // x [2, M, K]
  bool cast_to_int = false;  // Cast to int32: must not fuse
};

struct DynModel {
  ModelBuilder mb{13};
  Tensor w, ws, wz, bias;
};

void dyn_model(const DynVariant& v, DynModel& d) {
  ModelBuilder& mb = d.mb;
  if (v.rank3)
    mb.input("x", {int64_t{2}, "m", K});
  else
    mb.input("x", {"m", K});
  const DType wt = v.u8_weights ? DType::u8 : DType::i8;
  d.w = v.u8_weights ? random_int8(wt, {K, N}, 0, 255, 5) : random_int8(wt, {K, N}, -127, 127, 5);
  const int64_t nq = v.per_column ? N : 1;
  d.ws = v.per_column ? Tensor(DType::f32, {N}) : Tensor(DType::f32, {});
  d.wz = v.per_column ? Tensor(wt, {N}) : Tensor(wt, {});
  for (int64_t i = 0; i < nq; ++i) {
    d.ws.data_as<float>()[i] = 0.004f + 0.001f * static_cast<float>(i);
    if (v.u8_weights)
      d.wz.data_as<uint8_t>()[i] = static_cast<uint8_t>(120 + i);
    else
      d.wz.data_as<int8_t>()[i] = static_cast<int8_t>(v.per_column ? i - 3 : 0);
  }
  mb.init("W_q", d.w);
  mb.init("W_scale", d.ws);
  mb.init("W_zp", d.wz);
  mb.node("DynamicQuantizeLinear", {"x"}, {"x_q", "x_s", "x_zp"});
  mb.node("Mul",
          v.swap ? std::vector<std::string>{"W_scale", "x_s"} : std::vector<std::string>{"x_s", "W_scale"},
          {"scales"});
  mb.node("MatMulInteger", {"x_q", "W_q", "x_zp", "W_zp"}, {"acc"});
  ModelBuilder::attr_int(mb.node("Cast", {"acc"}, {"accf"}), "to", v.cast_to_int ? 6 : 1);
  const std::string mul_out = v.bias ? "y0" : "y";
  mb.node("Mul",
          v.swap ? std::vector<std::string>{"scales", "accf"} : std::vector<std::string>{"accf", "scales"},
          {mul_out});
  if (v.bias) {
    d.bias = make_random({N}, 9);
    mb.init("bias", d.bias);
    mb.node("Add", v.swap ? std::vector<std::string>{"y0", "bias"} : std::vector<std::string>{"bias", "y0"},
            {"y"});
  }
  mb.output("y");
}

/// The unfused math: DynamicQuantizeLinear, MatMulInteger, then acc * (x_s * w_s[n]) + bias[n].
Tensor dyn_reference(const DynModel& d, const Tensor& x) {
  ops::EvalOptions o3;
  o3.opset = 13;
  o3.num_outputs = 3;
  auto q = ops::eval_single("DynamicQuantizeLinear", {x}, {}, o3);
  ops::EvalOptions o1;
  o1.opset = 13;
  Tensor acc = ops::eval_single("MatMulInteger", {q[0], d.w, q[2], d.wz}, {}, o1)[0];
  Tensor y(DType::f32, acc.shape());
  const float xs = q[1].data_as<float>()[0];
  for (int64_t i = 0; i < y.numel(); ++i) {
    const int64_t n = i % N;
    const float s = xs * d.ws.data_as<float>()[d.ws.numel() == 1 ? 0 : n];
    y.data_as<float>()[i] = static_cast<float>(acc.data_as<int32_t>()[i]) * s +
                            (d.bias.empty() ? 0.f : d.bias.data_as<float>()[n]);
  }
  return y;
}

/// Run the optimized session on x; max abs difference to `ref` and the largest |ref|.
double run_fused(const std::string& bytes, const Tensor& x, const Tensor& ref,
                 std::map<std::string, int>& ops, double& max_ref, Precision precision = Precision::fp32) {
  SessionOptions o;
  o.precision = precision;
  o.threads = 2;
  auto s = Session::from_bytes(bytes, o);
  ops = s->op_counts();
  Tensor r = s->run({{"x", x}})[0].clone();
  REQUIRE(r.shape() == ref.shape());
  double d = 0;
  max_ref = 0;
  for (int64_t i = 0; i < r.numel(); ++i) {
    d = std::max(d, std::fabs(double{ref.data_as<float>()[i]} - r.data_as<float>()[i]));
    max_ref = std::max(max_ref, std::fabs(double{ref.data_as<float>()[i]}));
  }
  return d;
}

int rewrites(ModelBuilder& mb, int (*pass)(graph::Graph&, bool)) {
  graph::Graph g = graph::from_onnx(mb.proto(), "test", ".");
  return pass(g, true);
}

}  // namespace

TEST_CASE("quantize_dynamic MatMul chain fuses into DynQuantMatMul", "[int8][fusion]") {
  const DynVariant variants[] = {
      {},
      {.per_column = true},
      {.u8_weights = true},
      {.per_column = true, .u8_weights = true, .bias = false},
      {.swap = true},
      {.per_column = true, .rank3 = true},
  };
  int vi = 0;
  for (const DynVariant& v : variants) {
    DYNAMIC_SECTION("variant " << vi++) {
      DynModel d;
      dyn_model(v, d);
      Tensor x = make_random(v.rank3 ? Shape{2, 7, K} : Shape{7, K}, 3);
      std::map<std::string, int> ops;
      double ref = 0;
      const double diff = run_fused(d.mb.bytes(), x, dyn_reference(d, x), ops, ref);
      CHECK(ops["DynQuantMatMul"] == 1);
      CHECK(ops.size() == 1);  // DynamicQuantizeLinear, MatMulInteger, Cast, Muls, Add all gone
      // The same integer math; x's quantization may round one step differently (x * (1/s) vs x / s).
      CHECK(diff <= 0.02 * ref + 1e-5);
      CHECK(ref > 0.01);
    }
  }
  SECTION("precision int8 runs the quantized model with the fused op") {
    DynModel d;
    dyn_model({}, d);
    Tensor x = make_random({5, K}, 4);
    std::map<std::string, int> ops;
    double ref = 0;
    const double diff = run_fused(d.mb.bytes(), x, dyn_reference(d, x), ops, ref, Precision::int8);
    CHECK(ops["DynQuantMatMul"] == 1);
    CHECK(diff <= 0.02 * ref + 1e-5);
  }
  SECTION("a Cast to int32 is not the pattern") {
    DynVariant v;
    v.cast_to_int = true;
    DynModel d;
    dyn_model(v, d);
    CHECK(rewrites(d.mb, graph::fuse_dynquant_matmul) == 0);
  }
  SECTION("a non-constant weight is not the pattern") {
    DynModel d;
    dyn_model({}, d);
    d.mb.input("W_q", {K, N}, 3);  // the initializer becomes an overridable input
    CHECK(rewrites(d.mb, graph::fuse_dynquant_matmul) == 0);
  }
}

TEST_CASE("a GELU after DynQuantMatMul moves into its epilogue", "[int8][fusion]") {
  DynModel d;
  dyn_model({.per_column = true}, d);
  // y -> GELU (erf form) -> z
  ModelBuilder& mb = d.mb;
  mb.proto().mutable_graph()->clear_output();
  mb.init("sqrt2", f32({}, {std::sqrt(2.f)}));
  mb.init("one", f32({}, {1.f}));
  mb.init("half", f32({}, {0.5f}));
  mb.node("Div", {"y", "sqrt2"}, {"t"});
  mb.node("Erf", {"t"}, {"e"});
  mb.node("Add", {"e", "one"}, {"e1"});
  mb.node("Mul", {"y", "e1"}, {"ye"});
  mb.node("Mul", {"ye", "half"}, {"z"});
  mb.output("z");
  Tensor x = make_random({6, K}, 61);
  Tensor ref = dyn_reference(d, x);
  for (int64_t i = 0; i < ref.numel(); ++i) {
    const float v = ref.data_as<float>()[i];
    ref.data_as<float>()[i] = 0.5f * v * (1.f + std::erf(v / std::sqrt(2.f)));
  }
  std::map<std::string, int> ops;
  double mx = 0;
  const double diff = run_fused(mb.bytes(), x, ref, ops, mx);
  CHECK(ops["DynQuantMatMul"] == 1);
  CHECK(ops.size() == 1);  // Div, Erf, Add, Muls gone
  CHECK(diff <= 0.02 * mx + 1e-5);
}

TEST_CASE("a DynamicQuantizeLinear shared by two MatMulIntegers fuses both", "[int8][fusion]") {
  ModelBuilder mb(13);
  mb.input("x", {"m", K});
  Tensor w1 = random_int8(DType::i8, {K, N}, -127, 127, 1), w2 = random_int8(DType::i8, {K, N}, -127, 127, 2);
  mb.init("W1", w1);
  mb.init("W2", w2);
  mb.init("s1", f32({}, {0.01f}));
  mb.init("s2", f32({}, {0.02f}));
  mb.node("DynamicQuantizeLinear", {"x"}, {"q", "qs", "qz"});
  mb.node("Mul", {"qs", "s1"}, {"m1"});
  mb.node("Mul", {"s2", "qs"}, {"m2"});
  mb.node("MatMulInteger", {"q", "W1", "qz"}, {"a1"});
  mb.node("MatMulInteger", {"q", "W2", "qz"}, {"a2"});
  ModelBuilder::attr_int(mb.node("Cast", {"a1"}, {"c1"}), "to", 1);
  ModelBuilder::attr_int(mb.node("Cast", {"a2"}, {"c2"}), "to", 1);
  mb.node("Mul", {"c1", "m1"}, {"y1"});
  mb.node("Mul", {"c2", "m2"}, {"y2"});
  mb.node("Add", {"y1", "y2"}, {"y"});
  mb.output("y");
  // Reference: both products with the one quantization of x, added.
  DynModel d1, d2;
  d1.w = w1, d1.ws = f32({}, {0.01f}), d1.wz = s8({}, {0});
  d2.w = w2, d2.ws = f32({}, {0.02f}), d2.wz = s8({}, {0});
  Tensor x = make_random({4, K}, 8);
  Tensor r1 = dyn_reference(d1, x), r2 = dyn_reference(d2, x);
  for (int64_t i = 0; i < r1.numel(); ++i) r1.data_as<float>()[i] += r2.data_as<float>()[i];
  std::map<std::string, int> ops;
  double ref = 0;
  const double diff = run_fused(mb.bytes(), x, r1, ops, ref);
  CHECK(ops["DynQuantMatMul"] == 2);
  CHECK(ops.count("DynamicQuantizeLinear") == 0);
  CHECK(diff <= 0.02 * ref + 1e-5);
}

namespace {
struct QdqModel {
  ModelBuilder mb{13};
  Tensor w, ws, as, az, bias;
};

void qdq_model(bool per_column, bool s8_act, bool bias, QdqModel& d) {
  ModelBuilder& mb = d.mb;
  mb.input("x", {"m", K});
  d.w = random_int8(DType::i8, {K, N}, -127, 127, 15);
  d.ws = per_column ? Tensor(DType::f32, {N}) : Tensor(DType::f32, {});
  for (int64_t i = 0; i < d.ws.numel(); ++i)
    d.ws.data_as<float>()[i] = 0.003f + 0.0005f * static_cast<float>(i);
  d.as = f32({}, {2.f / 255.f});
  d.az = s8_act ? s8({}, {0}) : u8({}, {128});
  mb.init("W_q", d.w);
  mb.init("W_s", d.ws);
  mb.init("a_s", d.as);
  mb.init("a_z", d.az);
  mb.node("QuantizeLinear", {"x", "a_s", "a_z"}, {"xq"});
  mb.node("DequantizeLinear", {"xq", "a_s", "a_z"}, {"xd"});
  auto& dw = mb.node("DequantizeLinear", {"W_q", "W_s"}, {"Wd"});
  if (per_column) ModelBuilder::attr_int(dw, "axis", 1);
  mb.node("MatMul", {"xd", "Wd"}, {bias ? "y0" : "y"});
  if (bias) {
    d.bias = make_random({N}, 16);
    mb.init("bias", d.bias);
    mb.node("Add", {"y0", "bias"}, {"y"});
  }
  mb.output("y");
}

Tensor qdq_reference(const QdqModel& d, const Tensor& x) {
  ops::EvalOptions o;
  o.opset = 13;
  Tensor xq = ops::eval_single("QuantizeLinear", {x, d.as, d.az}, {}, o)[0];
  Tensor xd = ops::eval_single("DequantizeLinear", {xq, d.as, d.az}, {}, o)[0];
  ops::Attrs a;
  a.set_int("axis", 1);
  Tensor wd = ops::eval_single("DequantizeLinear", {d.w, d.ws}, a, o)[0];
  Tensor y = ops::eval_single("MatMul", {xd, wd}, {}, o)[0];
  if (!d.bias.empty())
    for (int64_t i = 0; i < y.numel(); ++i) y.data_as<float>()[i] += d.bias.data_as<float>()[i % N];
  return y;
}
}  // namespace

TEST_CASE("QDQ MatMul fuses into QdqMatMul", "[int8][fusion]") {
  for (int c = 0; c < 4; ++c) {
    const bool per_column = c & 1, s8_act = c & 2;
    DYNAMIC_SECTION("per_column " << per_column << " s8 activations " << s8_act) {
      QdqModel d;
      qdq_model(per_column, s8_act, true, d);
      Tensor x = make_random({6, K}, 17);
      std::map<std::string, int> ops;
      double ref = 0;
      const double diff = run_fused(d.mb.bytes(), x, qdq_reference(d, x), ops, ref);
      CHECK(ops["QdqMatMul"] == 1);
      CHECK(ops.size() == 1);
      // Same quantization of x (x / s, round half to even): only fp32 summation order differs.
      CHECK(diff <= 1e-4 * ref + 1e-5);
      CHECK(ref > 0.01);
    }
  }
  SECTION("different Q and DQ parameters are not fused") {
    QdqModel d;
    qdq_model(false, false, false, d);
    d.mb.init("a_s2", f32({}, {1.f / 255.f}));
    for (auto& n : *d.mb.proto().mutable_graph()->mutable_node())
      if (n.op_type() == "DequantizeLinear" && n.input(0) == "xq") n.set_input(1, "a_s2");
    CHECK(rewrites(d.mb, graph::fuse_qdq_matmul) == 0);
  }
  SECTION("per-row weight scales (axis 0) are not fused") {
    QdqModel d;
    qdq_model(false, false, false, d);
    Tensor ws(DType::f32, {K});
    std::fill_n(ws.data_as<float>(), K, 0.01f);
    d.mb.init("W_s0", ws);
    for (auto& n : *d.mb.proto().mutable_graph()->mutable_node())
      if (n.op_type() == "DequantizeLinear" && n.input(0) == "W_q") {
        n.set_input(1, "W_s0");
        ModelBuilder::attr_int(n, "axis", 0);
      }
    CHECK(rewrites(d.mb, graph::fuse_qdq_matmul) == 0);
  }
}

TEST_CASE("QDQ Gemm (transB, per-row weight scales) with an int32 DequantizeLinear bias", "[int8][fusion]") {
  for (bool gemm : {true, false}) {
    DYNAMIC_SECTION((gemm ? "Gemm transB=1, bias as C" : "MatMul + Add(DequantizeLinear(int32 bias))")) {
      ModelBuilder mb(13);
      mb.input("x", {"m", K});
      // Gemm: W stored [N, K], per-output scales along axis 0. MatMul: [K, N], axis 1.
      Tensor w = random_int8(DType::i8, gemm ? Shape{N, K} : Shape{K, N}, -127, 127, 41);
      Tensor ws(DType::f32, {N});
      for (int64_t i = 0; i < N; ++i) ws.data_as<float>()[i] = 0.002f + 0.0003f * static_cast<float>(i);
      Tensor as = f32({}, {2.f / 255.f}), az = u8({}, {128});
      Tensor bq(DType::i32, {N});
      for (int64_t i = 0; i < N; ++i) bq.data_as<int32_t>()[i] = static_cast<int32_t>(i * 37 - 150);
      Tensor bs = f32({N}, {});
      for (int64_t i = 0; i < N; ++i)
        bs.data_as<float>()[i] = as.data_as<float>()[0] * ws.data_as<float>()[i];
      mb.init("W_q", w);
      mb.init("W_s", ws);
      mb.init("a_s", as);
      mb.init("a_z", az);
      mb.init("b_q", bq);
      mb.init("b_s", bs);
      mb.node("QuantizeLinear", {"x", "a_s", "a_z"}, {"xq"});
      mb.node("DequantizeLinear", {"xq", "a_s", "a_z"}, {"xd"});
      ModelBuilder::attr_int(mb.node("DequantizeLinear", {"W_q", "W_s"}, {"Wd"}), "axis", gemm ? 0 : 1);
      ModelBuilder::attr_int(mb.node("DequantizeLinear", {"b_q", "b_s"}, {"bd"}), "axis", 0);
      if (gemm) {
        ModelBuilder::attr_int(mb.node("Gemm", {"xd", "Wd", "bd"}, {"y"}), "transB", 1);
      } else {
        mb.node("MatMul", {"xd", "Wd"}, {"y0"});
        mb.node("Add", {"bd", "y0"}, {"y"});
      }
      mb.output("y");
      // Reference from the unfused operators.
      Tensor x = make_random({5, K}, 42);
      ops::EvalOptions o;
      o.opset = 13;
      Tensor xd = ops::eval_single(
          "DequantizeLinear", {ops::eval_single("QuantizeLinear", {x, as, az}, {}, o)[0], as, az}, {}, o)[0];
      ops::Attrs wa;
      wa.set_int("axis", gemm ? 0 : 1);
      Tensor wd = ops::eval_single("DequantizeLinear", {w, ws}, wa, o)[0];
      ops::Attrs ga;
      ga.set_int("transB", gemm ? 1 : 0);
      Tensor y = ops::eval_single("Gemm", {xd, wd}, ga, o)[0];
      for (int64_t i = 0; i < y.numel(); ++i)
        y.data_as<float>()[i] +=
            static_cast<float>(bq.data_as<int32_t>()[i % N]) * bs.data_as<float>()[i % N];
      std::map<std::string, int> ops;
      double ref = 0;
      const double diff = run_fused(mb.bytes(), x, y, ops, ref);
      CHECK(ops["QdqMatMul"] == 1);
      CHECK(ops.size() == 1);
      CHECK(diff <= 1e-4 * ref + 1e-5);
      CHECK(ref > 0.01);
    }
  }
}

TEST_CASE("quantize_dynamic Conv chain fuses into DynQuantConv", "[int8][fusion]") {
  for (bool per_channel : {false, true}) {
    DYNAMIC_SECTION("per_channel " << per_channel) {
      ModelBuilder mb(13);
      mb.input("x", {int64_t{1}, int64_t{4}, "h", int64_t{6}});
      Tensor w = random_int8(DType::i8, {6, 2, 3, 3}, -127, 127, 51);
      Tensor ws = per_channel ? Tensor(DType::f32, {6, 1, 1}) : f32({}, {0.01f});
      if (per_channel)
        for (int i = 0; i < 6; ++i) ws.data_as<float>()[i] = 0.005f * static_cast<float>(i + 1);
      Tensor bias(DType::f32, {1, 6, 1, 1});
      for (int i = 0; i < 6; ++i) bias.data_as<float>()[i] = 0.1f * static_cast<float>(i) - 0.2f;
      mb.init("W_q", w);
      mb.init("W_s", ws);
      mb.init("W_z", s8({}, {0}));
      mb.init("bias", bias);
      mb.node("DynamicQuantizeLinear", {"x"}, {"xq", "xs", "xz"});
      mb.node("Mul", {"xs", "W_s"}, {"sc"});
      auto& c = mb.node("ConvInteger", {"xq", "W_q", "xz", "W_z"}, {"acc"});
      ModelBuilder::attr_int(c, "group", 2);
      ModelBuilder::attr_ints(c, "pads", {1, 1, 1, 1});
      ModelBuilder::attr_int(mb.node("Cast", {"acc"}, {"accf"}), "to", 1);
      mb.node("Mul", {"accf", "sc"}, {"y0"});
      mb.node("Add", {"y0", "bias"}, {"y"});
      mb.output("y");

      Tensor x = make_random({1, 4, 5, 6}, 52);
      ops::EvalOptions o3;
      o3.opset = 13;
      o3.num_outputs = 3;
      auto q = ops::eval_single("DynamicQuantizeLinear", {x}, {}, o3);
      ops::Attrs ca;
      ca.set_int("group", 2);
      ca.set_ints("pads", {1, 1, 1, 1});
      ops::EvalOptions o1;
      o1.opset = 13;
      Tensor acc = ops::eval_single("ConvInteger", {q[0], w, q[2], s8({}, {0})}, ca, o1)[0];
      REQUIRE(acc.shape() == Shape{1, 6, 5, 6});
      Tensor ref(DType::f32, acc.shape());
      for (int64_t i = 0; i < ref.numel(); ++i) {
        const int64_t oc = i / 30;
        const float s = q[1].data_as<float>()[0] * ws.data_as<float>()[per_channel ? oc : 0];
        ref.data_as<float>()[i] =
            static_cast<float>(acc.data_as<int32_t>()[i]) * s + bias.data_as<float>()[oc];
      }
      std::map<std::string, int> ops;
      double mx = 0;
      const double diff = run_fused(mb.bytes(), x, ref, ops, mx);
      CHECK(ops["DynQuantConv"] == 1);
      CHECK(ops.size() == 1);
      CHECK(diff <= 1e-5 * mx + 1e-6);  // the same quantization of x (x / s) and the same integer sums
      CHECK(mx > 0.01);
    }
  }
  SECTION("a bias of shape [M] (broadcast over width) is not fused into the conv") {
    ModelBuilder mb(13);
    mb.input("x", {int64_t{1}, int64_t{2}, int64_t{4}, int64_t{4}});
    mb.init("W_q", random_int8(DType::i8, {3, 2, 1, 1}, -127, 127, 53));
    mb.init("W_s", f32({}, {0.01f}));
    mb.init("bias", f32({3}, {1, 2, 3}));
    mb.node("DynamicQuantizeLinear", {"x"}, {"xq", "xs", "xz"});
    mb.node("Mul", {"xs", "W_s"}, {"sc"});
    mb.node("ConvInteger", {"xq", "W_q", "xz"}, {"acc"});
    ModelBuilder::attr_int(mb.node("Cast", {"acc"}, {"accf"}), "to", 1);
    mb.node("Mul", {"accf", "sc"}, {"y0"});
    mb.node("Add", {"y0", "bias"}, {"y"});
    mb.output("y");
    graph::Graph g = graph::from_onnx(mb.proto(), "test", ".");
    CHECK(graph::fuse_dynquant_conv(g, true) == 1);  // the conv chain fuses, the Add stays separate
    int adds = 0;
    for (const graph::Node& n : g.nodes) adds += n.op_type == "Add";
    CHECK(adds == 1);
  }
}

// Hand-run timing (hidden): ORTKIT_INT8_BENCH="model_a.onnx model_b.onnx ..." test_lib "[.int8-bench]"
// prints the median run time of each model (random floats, int64 inputs all ones; symbolic dims: batch 1,
// others ORTKIT_SEQ or 128; ORTKIT_THREADS threads, default 1).
TEST_CASE("int8 timing loop", "[.int8-bench]") {
  const char* env = std::getenv("ORTKIT_INT8_BENCH");
  if (!env) {
    WARN("set ORTKIT_INT8_BENCH to a list of model paths");
    return;
  }
  const char* th = std::getenv("ORTKIT_THREADS");
  std::istringstream models(env);
  std::string path;
  while (models >> path) {
    SessionOptions o;
    o.threads = th ? std::atoi(th) : 1;
    auto s = Session::open(path, o);
    std::vector<NamedTensor> ins;
    std::vector<Tensor> keep;
    const char* seq = std::getenv("ORTKIT_SEQ");
    for (const ValueInfo& v : s->inputs()) {
      Shape shape;  // symbolic dims: the first (batch) 1, the others ORTKIT_SEQ (default 128)
      for (size_t d = 0; d < v.dims.size(); ++d)
        shape.push_back(v.dims[d].value > 0 ? v.dims[d].value : d == 0 ? 1 : (seq ? std::atoi(seq) : 128));
      if (v.dtype == DType::i64) {  // token ids, masks, type ids: all ones is valid for each
        Tensor t(DType::i64, shape);
        std::fill_n(t.data_as<int64_t>(), t.numel(), int64_t{1});
        keep.push_back(std::move(t));
      } else {
        keep.push_back(make_random(shape, 1));
      }
    }
    for (size_t i = 0; i < keep.size(); ++i) ins.push_back({s->inputs()[i].name, keep[i]});
    s->run(ins);
    std::vector<double> ms;
    for (int r = 0; r < 20; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      s->run(ins);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::cout << path << ": median " << ms[ms.size() / 2] << " ms, min " << ms[0] << " ms (threads "
              << o.threads << "); ops:";
    for (const auto& [op, n] : s->op_counts()) std::cout << " " << op << "x" << n;
    std::cout << "; kernels:";
    for (const std::string& k : s->kernels_used()) std::cout << " " << k;
    std::cout << "\n";
  }
}
