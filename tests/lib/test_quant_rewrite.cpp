// The graph rewrites on small hand-built models: node types, initializer dtypes and shapes, options.
#include <onnx/checker.h>

#include <catch2/catch.hpp>
#include <map>

#include "ortkit/error.h"
#include "ortkit/quantize.h"
#include "ortkit/session.h"
#include "quant/onnx_util.h"
#include "quant_test_models.h"

using namespace ortkit;
using quant::parse_model;

namespace {

std::vector<std::string> ops(const onnx::ModelProto& m) {
  std::vector<std::string> v;
  for (const auto& n : m.graph().node()) v.push_back(n.op_type());
  return v;
}
int count(const onnx::ModelProto& m, const std::string& op) {
  int c = 0;
  for (const auto& n : m.graph().node()) c += n.op_type() == op;
  return c;
}
const onnx::TensorProto* find_init(const onnx::ModelProto& m, const std::string& name) {
  for (const auto& t : m.graph().initializer())
    if (t.name() == name) return &t;
  return nullptr;
}
const onnx::NodeProto* find_node(const onnx::ModelProto& m, const std::string& op) {
  for (const auto& n : m.graph().node())
    if (n.op_type() == op) return &n;
  return nullptr;
}
std::vector<int64_t> dims(const onnx::TensorProto* t) {
  return {t->dims().begin(), t->dims().end()};
}
float scalar(const onnx::TensorProto* t) {
  return quant::tensor_floats(*t).at(0);
}
void check(const onnx::ModelProto& m) {
  REQUIRE_NOTHROW(onnx::checker::check_model(m));
}

}  // namespace

TEST_CASE("quant: dynamic MatMul and Gemm become MatMulInteger in ONNX Runtime's form", "[quant]") {
  auto r = quantize_model_bytes(quant_test::mlp(), {});
  auto m = parse_model(r.model_bytes);
  check(m);
  CHECK(r.quantized_count() == 2);
  CHECK(ops(m) == std::vector<std::string>{"DynamicQuantizeLinear", "MatMulInteger", "Cast", "Mul", "Mul",
                                           "Relu", "DynamicQuantizeLinear", "MatMulInteger", "Cast", "Mul",
                                           "Mul", "Add"});
  // Weights: int8, same shape; Gemm's transB weight is stored transposed [K, N].
  auto* wq = find_init(m, "w_quantized");
  REQUIRE(wq);
  CHECK(wq->data_type() == onnx::TensorProto::INT8);
  CHECK(dims(wq) == std::vector<int64_t>{8, 4});
  CHECK(dims(find_init(m, "w_scale")).empty());
  CHECK(find_init(m, "w_zero_point")->data_type() == onnx::TensorProto::INT8);
  auto* w2 = find_init(m, "w2_transposed_quantized");
  REQUIRE(w2);
  CHECK(dims(w2) == std::vector<int64_t>{4, 3});
  // The fp32 weights are gone; the bias stays fp32 for the Add.
  CHECK(!find_init(m, "w"));
  CHECK(!find_init(m, "w2"));
  CHECK(find_init(m, "b2"));
  // Original tensor names survive as float outputs of the rewritten nodes.
  CHECK(m.graph().node(4).output(0) == "y");
  CHECK(m.graph().node(11).output(0) == "z");
  // Scale: symmetric s8 over max|w|.
  auto w = quant_test::ramp(32);
  float mx = 0;
  for (auto v : w) mx = std::max(mx, std::abs(v));
  CHECK(scalar(find_init(m, "w_scale")) == Approx(mx / 127.0));
  CHECK(r.bytes_after > 0);
}

TEST_CASE("quant: dynamic per-channel, u8 weights and reduce_range", "[quant]") {
  QuantizeOptions o;
  o.per_channel = true;
  auto m = parse_model(quantize_model_bytes(quant_test::mlp(), o).model_bytes);
  check(m);
  CHECK(dims(find_init(m, "w_scale")) == std::vector<int64_t>{4});
  CHECK(dims(find_init(m, "w_zero_point")) == std::vector<int64_t>{4});
  o.weight_type = QuantType::u8;
  o.reduce_range = true;
  auto u = parse_model(quantize_model_bytes(quant_test::mlp(), o).model_bytes);
  check(u);
  auto* q = find_init(u, "w_quantized");
  CHECK(q->data_type() == onnx::TensorProto::UINT8);
  for (unsigned char c : q->raw_data()) CHECK(c <= 127);  // 7 bits
}

TEST_CASE("quant: Gemm alpha and beta are folded into weights and bias", "[quant]") {
  quant_test::Builder b;
  b.input("a", {2, 4});
  b.output("y", {2, 3});
  b.weight("w", {4, 3});
  b.weight("c", {3}, 1.0f);
  auto& g = b.node("Gemm", {"a", "w", "c"}, {"y"}, "g");
  auto* al = g.add_attribute();
  al->set_name("alpha"), al->set_type(onnx::AttributeProto::FLOAT), al->set_f(2.0f);
  auto* be = g.add_attribute();
  be->set_name("beta"), be->set_type(onnx::AttributeProto::FLOAT), be->set_f(0.5f);
  auto m = parse_model(quantize_model_bytes(b.bytes(), {}).model_bytes);
  check(m);
  auto w = quant_test::ramp(12);
  float mx = 0;
  for (auto v : w) mx = std::max(mx, std::abs(v));
  CHECK(scalar(find_init(m, "w_alpha_scale")) == Approx(2 * mx / 127.0));
  auto bias = quant::tensor_floats(*find_init(m, "c_beta"));
  auto c = quant_test::ramp(3, 1.0f);
  for (size_t i = 0; i < 3; ++i) CHECK(bias[i] == Approx(0.5f * c[i]));
}

TEST_CASE("quant: dynamic Conv becomes ConvInteger with the bias as [1, M, 1, 1]", "[quant]") {
  auto m = parse_model(quantize_model_bytes(quant_test::conv(), {}).model_bytes);
  check(m);
  CHECK(ops(m) ==
        std::vector<std::string>{"DynamicQuantizeLinear", "ConvInteger", "Cast", "Mul", "Mul", "Add"});
  auto* ci = find_node(m, "ConvInteger");
  REQUIRE(ci->attribute_size() == 1);
  CHECK(ci->attribute(0).name() == "pads");
  CHECK(dims(find_init(m, "cb_reshaped")) == std::vector<int64_t>{1, 4, 1, 1});
  QuantizeOptions o;
  o.per_channel = true;
  auto pc = parse_model(quantize_model_bytes(quant_test::conv(), o).model_bytes);
  check(pc);
  CHECK(dims(find_init(pc, "cw_scale")) == std::vector<int64_t>{4, 1, 1});  // broadcasts over [N, M, H, W]
  CHECK(dims(find_init(pc, "cw_zero_point")).empty());  // ConvInteger takes one zero point
  o.weight_type = QuantType::u8;  // asymmetric: zero points differ per channel -> per tensor
  auto u = parse_model(quantize_model_bytes(quant_test::conv(), o).model_bytes);
  CHECK(dims(find_init(u, "cw_scale")).empty());
}

TEST_CASE("quant: node selection, exclusions and keep-first-last", "[quant]") {
  quant_test::Builder b;
  b.input("x", {2, 4});
  b.input("k", {4, 4});
  b.output("o", {2, 4});
  b.weight("w1", {4, 4});
  b.weight("w2", {4, 4}, 0.1f);
  b.weight("w3", {4, 4}, 0.2f);
  b.node("MatMul", {"x", "w1"}, {"h1"}, "first");
  b.node("MatMul", {"h1", "k"}, {"h2"}, "act_act");  // B is an activation: not quantized
  b.node("MatMul", {"h2", "w2"}, {"h3"}, "middle");
  b.node("MatMul", {"h3", "w3"}, {"o"}, "last");
  auto bytes = b.bytes();
  auto by_name = [](const QuantizeResult& r) {
    std::map<std::string, NodeDecision> m;
    for (const auto& d : r.nodes) m[d.name] = d;
    return m;
  };
  auto all = by_name(quantize_model_bytes(bytes, {}));
  CHECK(all["first"].quantized);
  CHECK(!all["act_act"].quantized);
  CHECK_THAT(all["act_act"].reason, Catch::Contains("not a constant initializer"));
  CHECK(all["last"].quantized);

  QuantizeOptions o;
  o.keep_first_last = true;
  auto kfl = by_name(quantize_model_bytes(bytes, o));
  CHECK(!kfl["first"].quantized);
  CHECK_THAT(kfl["first"].reason, Catch::Contains("keep-first-last"));
  CHECK(kfl["middle"].quantized);
  CHECK(!kfl["last"].quantized);

  o = {};
  o.exclude_nodes = {"middle"};
  auto ex = quantize_model_bytes(bytes, o);
  CHECK(by_name(ex)["middle"].reason == "excluded by --exclude-nodes");
  CHECK(ex.quantized_count() == 2);
  auto em = parse_model(ex.model_bytes);
  CHECK(count(em, "MatMulInteger") == 2);
  CHECK(count(em, "MatMul") == 2);
  CHECK(find_init(em, "w2"));  // the excluded node keeps its fp32 weight

  o = {};
  o.exclude_ops = {"MatMul"};
  CHECK(quantize_model_bytes(bytes, o).quantized_count() == 0);
  o = {};
  o.op_types = {"Conv"};
  auto none = quantize_model_bytes(bytes, o);
  CHECK(none.quantized_count() == 0);
  CHECK(by_name(none)["first"].reason == "op type not in --op-types");
}

TEST_CASE("quant: static QDQ wraps inputs, weights, bias and outputs", "[quant]") {
  QuantizeOptions o;
  o.mode = QuantMode::static_;
  auto bytes = quant_test::conv();
  auto names = tensors_to_calibrate(bytes, o);
  CHECK(names == std::vector<std::string>{"img", "c"});
  CHECK_THROWS_WITH(quantize_model_bytes(bytes, o, {{"img", {-1, 1}}}),
                    Catch::Contains("no calibration range for tensor 'c'"));
  RangeMap ranges = {{"img", {-1.0f, 3.0f}}, {"c", {-2.0f, 2.0f}}};
  o.per_channel = true;
  auto m = parse_model(quantize_model_bytes(bytes, o, ranges).model_bytes);
  check(m);
  // img Q/DQ, weight DQ, bias DQ, Conv; output Q/DQ removed because only the graph output reads c.
  CHECK(count(m, "QuantizeLinear") == 1);
  CHECK(count(m, "DequantizeLinear") == 3);
  CHECK(count(m, "Conv") == 1);
  CHECK(scalar(find_init(m, "img_scale")) == Approx(4.0 / 255.0));
  CHECK(find_init(m, "img_zero_point")->raw_data()[0] == 64);
  auto* wdq = find_node(m, "DequantizeLinear");
  bool has_axis = false;
  for (const auto& n : m.graph().node())
    for (const auto& a : n.attribute()) has_axis |= a.name() == "axis";
  CHECK(has_axis);
  (void)wdq;
  // int32 bias with scale x_scale * w_scale[c], per channel.
  auto* bq = find_init(m, "cb_quantized");
  REQUIRE(bq);
  CHECK(bq->data_type() == onnx::TensorProto::INT32);
  auto bs = quant::tensor_floats(*find_init(m, "cb_quantized_scale"));
  auto ws = quant::tensor_floats(*find_init(m, "cw_scale"));
  REQUIRE(bs.size() == 4);
  for (size_t i = 0; i < 4; ++i) CHECK(bs[i] == Approx(4.0f / 255.0f * ws[i]));
  auto bias = quant_test::ramp(4, 0.9f);
  auto* bqv = reinterpret_cast<const int32_t*>(bq->raw_data().data());
  for (size_t i = 0; i < 4; ++i) CHECK(bqv[i] == static_cast<int32_t>(std::nearbyint(bias[i] / bs[i])));
}

TEST_CASE("quant: static QDQ between two quantized ops shares one Q/DQ pair", "[quant]") {
  QuantizeOptions o;
  o.mode = QuantMode::static_;
  o.activation_type = QuantType::s8;
  o.symmetric_activations = true;
  RangeMap r = {{"x", {-1, 1}}, {"y", {-5, 5}}, {"r", {0, 5}}, {"z", {-3, 3}}};
  auto m = parse_model(quantize_model_bytes(quant_test::mlp(), o, r).model_bytes);
  check(m);
  // x, y (output of mm, read by Relu), r (input of gemm); z is a graph output only.
  CHECK(count(m, "QuantizeLinear") == 3);
  CHECK(find_init(m, "x_zero_point")->data_type() == onnx::TensorProto::INT8);
  CHECK(scalar(find_init(m, "y_scale")) == Approx(10.0 / 254.0));
  // Relu reads the dequantized y.
  for (const auto& n : m.graph().node())
    if (n.op_type() == "Relu") CHECK(n.input(0) == "y_DequantizeLinear_Output");
}

TEST_CASE("quant: static QDQ puts a Conv's output pair after its Relu / Clip, which the engine fuses",
          "[quant]") {
  for (bool clip : {true, false}) {
    CAPTURE(clip);
    QuantizeOptions o;
    o.mode = QuantMode::static_;
    const std::string bytes = quant_test::conv_act(clip);
    CHECK(tensors_to_calibrate(bytes, o) == std::vector<std::string>{"img", "c", "a", "out"});
    const RangeMap r = {{"img", {-1, 1}}, {"c", {-4, 4}}, {"a", {0, clip ? 0.5f : 4.f}}, {"out", {-3, 3}}};
    auto m = parse_model(quantize_model_bytes(bytes, o, r).model_bytes);
    check(m);
    // img and a get pairs; c none (DQ -> Conv -> act -> Q); out is a graph output only.
    CHECK(count(m, "QuantizeLinear") == 2);
    CHECK(!find_init(m, "c_scale"));
    for (const auto& n : m.graph().node()) {
      if (n.op_type() == (clip ? "Clip" : "Relu")) CHECK(n.input(0) == "c");
      if (n.op_type() == "QuantizeLinear" && n.input(0) == "a") CHECK(scalar(find_init(m, "a_scale")) > 0);
      if (n.name() == "conv2") CHECK(n.input(0) == "a_DequantizeLinear_Output");
    }
    // The engine runs the first Conv as one int8 conv with the activation in its epilogue, and agrees
    // with the unoptimized graph (the same model, node by node) within a quantization step of a.
    const std::string q = quantize_model_bytes(bytes, o, r).model_bytes;
    SessionOptions o0;
    o0.optimization_level = 0;
    auto s0 = Session::from_bytes(q, o0), s1 = Session::from_bytes(q);
    CHECK(s1->op_counts().count("QdqConv") == 1);
    CHECK(s1->op_counts().count(clip ? "Clip" : "Relu") == 0);
    Tensor img(DType::f32, {1, 3, 6, 6});
    const std::vector<float> v = quant_test::ramp(108, 0.4f);
    std::copy(v.begin(), v.end(), img.data_as<float>());
    const Tensor y0 = s0->run({{"img", img}})[0].clone();
    const Tensor y1 = s1->run({{"img", img}})[0];
    REQUIRE(y1.numel() == y0.numel());
    for (int64_t i = 0; i < y0.numel(); ++i)
      CHECK(y1.data_as<float>()[i] == Approx(y0.data_as<float>()[i]).margin(0.05));
  }
  // Ranges given by hand without the activation's output (here conv2 stays fp32, so nothing else needs
  // it): the pair stays between the Conv and its activation.
  QuantizeOptions o;
  o.mode = QuantMode::static_;
  o.exclude_nodes = {"conv2"};
  const RangeMap r = {{"img", {-1, 1}}, {"c", {-4, 4}}, {"out", {-3, 3}}};
  auto m = parse_model(quantize_model_bytes(quant_test::conv_act(true), o, r).model_bytes);
  check(m);
  for (const auto& n : m.graph().node())
    if (n.op_type() == "Clip") CHECK(n.input(0) == "c_DequantizeLinear_Output");
}

TEST_CASE("quant: static QOperator uses QLinearMatMul / QLinearConv and chains quantized tensors",
          "[quant]") {
  QuantizeOptions o;
  o.mode = QuantMode::static_;
  o.format = QuantFormat::qoperator;
  auto cm = parse_model(
      quantize_model_bytes(quant_test::conv(), o, {{"img", {-1, 1}}, {"c", {-2, 2}}}).model_bytes);
  check(cm);
  CHECK(ops(cm) == std::vector<std::string>{"QuantizeLinear", "QLinearConv", "DequantizeLinear"});
  CHECK(find_node(cm, "QLinearConv")->input_size() == 9);
  CHECK(find_init(cm, "cb_quantized")->data_type() == onnx::TensorProto::INT32);

  quant_test::Builder b;
  b.input("x", {2, 4});
  b.output("o", {2, 4});
  b.weight("w1", {4, 4});
  b.weight("w2", {4, 4}, 0.5f);
  b.node("MatMul", {"x", "w1"}, {"h"}, "a");
  b.node("MatMul", {"h", "w2"}, {"o"}, "b");
  auto m = parse_model(
      quantize_model_bytes(b.bytes(), o, {{"x", {-1, 1}}, {"h", {-2, 2}}, {"o", {-3, 3}}}).model_bytes);
  check(m);
  // The second QLinearMatMul reads h_quantized directly: one QuantizeLinear, one DequantizeLinear.
  CHECK(ops(m) ==
        std::vector<std::string>{"QuantizeLinear", "QLinearMatMul", "QLinearMatMul", "DequantizeLinear"});
  CHECK(m.graph().node(2).input(0) == "h_quantized");
  CHECK(m.graph().node(3).output(0) == "o");
}

TEST_CASE("quant: bad models fail clearly", "[quant]") {
  CHECK_THROWS_WITH(quantize_model_bytes("not a model", {}), Catch::Contains("not a valid ONNX model"));
  CHECK_THROWS_WITH(quantize_model_bytes(quant_test::mlp(9), {}), Catch::Contains("opset 9 is too old"));
  QuantizeOptions o;
  o.mode = QuantMode::static_;
  o.per_channel = true;
  RangeMap r = {{"x", {-1, 1}}, {"y", {-5, 5}}, {"r", {0, 5}}, {"z", {-3, 3}}};
  CHECK_THROWS_WITH(quantize_model_bytes(quant_test::mlp(11), o, r),
                    Catch::Contains("per-channel QDQ needs opset >= 13"));
  // Nothing to quantize is not an error, whatever the opset.
  o.op_types = {"Conv"};
  CHECK_NOTHROW(quantize_model_bytes(quant_test::mlp(9), o, r));
}

TEST_CASE("quant: quantize_dynamic_bytes is dynamic whatever the options say", "[quant]") {
  QuantizeOptions o;
  o.mode = QuantMode::static_;
  auto m = parse_model(quantize_dynamic_bytes(quant_test::mlp(), o));
  CHECK(count(m, "MatMulInteger") == 2);
  bool meta = false;
  for (const auto& p : m.metadata_props()) meta |= p.key() == "ortkit.quantize";
  CHECK(meta);
}

TEST_CASE("quant: a weight also read inside a subgraph stays in the model", "[quant]") {
  quant_test::Builder b;
  b.input("x", {2, 4});
  onnx::ValueInfoProto c;
  c.set_name("cond");
  c.mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::BOOL);
  c.mutable_type()->mutable_tensor_type()->mutable_shape();  // a scalar
  *b.g().add_input() = c;
  b.output("y", {2, 4});
  b.output("branch", {4, 4});
  b.weight("w", {4, 4});
  b.node("MatMul", {"x", "w"}, {"y"}, "mm");
  auto& iff = b.node("If", {"cond"}, {"branch"}, "if");
  for (const char* name : {"then_branch", "else_branch"}) {
    auto* a = iff.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::GRAPH);
    auto* g = a->mutable_g();
    g->set_name(name);
    *g->add_node() = quant::make_node("Identity", {"w"}, {std::string(name) + "_out"}, "id");
    *g->add_output() = quant_test::vinfo(std::string(name) + "_out", {4, 4});
  }
  auto m = parse_model(quantize_model_bytes(b.bytes(), {}).model_bytes);
  check(m);
  CHECK(count(m, "MatMulInteger") == 1);
  CHECK(find_init(m, "w"));  // the If branches still read it
}

TEST_CASE("quant: the rewrite is deterministic (same bytes in, same bytes out)", "[quant]") {
  QuantizeOptions o;
  o.per_channel = true;
  CHECK(quantize_model_bytes(quant_test::conv(), o).model_bytes ==
        quantize_model_bytes(quant_test::conv(), o).model_bytes);
  o.mode = QuantMode::static_;
  o.format = QuantFormat::qoperator;
  RangeMap r = {{"x", {-1, 1}}, {"y", {-5, 5}}, {"r", {0, 5}}, {"z", {-3, 3}}};
  CHECK(quantize_model_bytes(quant_test::mlp(), o, r).model_bytes ==
        quantize_model_bytes(quant_test::mlp(), o, r).model_bytes);
}
