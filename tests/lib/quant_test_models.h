// Small hand-built fp32 models for the quantizer tests.
#pragma once
#include <onnx/onnx_pb.h>

#include <cmath>
#include <string>
#include <vector>

#include "quant/onnx_util.h"

namespace quant_test {

inline onnx::ValueInfoProto vinfo(const std::string& name, std::vector<int64_t> dims) {
  onnx::ValueInfoProto v;
  v.set_name(name);
  auto* t = v.mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) {
    auto* dim = t->mutable_shape()->add_dim();
    if (d < 0)
      dim->set_dim_param("batch");
    else
      dim->set_dim_value(d);
  }
  return v;
}

/// Deterministic weights in [-1, 1): no two equal, signs mixed.
inline std::vector<float> ramp(size_t n, float phase = 0.3f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(std::sin(0.7 * static_cast<double>(i) + phase));
  return v;
}

struct Builder {
  onnx::ModelProto m;
  Builder(int64_t opset = 13) {
    m.set_ir_version(8);
    auto* o = m.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    m.mutable_graph()->set_name("g");
  }
  onnx::GraphProto& g() { return *m.mutable_graph(); }
  void input(const std::string& n, std::vector<int64_t> d) { *g().add_input() = vinfo(n, d); }
  void output(const std::string& n, std::vector<int64_t> d) { *g().add_output() = vinfo(n, d); }
  void weight(const std::string& n, std::vector<int64_t> d, float phase = 0.3f) {
    size_t k = 1;
    for (auto x : d) k *= static_cast<size_t>(x);
    *g().add_initializer() = ortkit::quant::make_float_tensor(n, d, ramp(k, phase));
  }
  onnx::NodeProto& node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
                        const std::string& name) {
    auto* n = g().add_node();
    *n = ortkit::quant::make_node(op, in, out, name);
    return *n;
  }
  std::string bytes() const { return ortkit::quant::serialize_model(m); }
};

/// x[2,8] -MatMul(w[8,4])-> y -Relu-> r -Gemm(w2[3,4] transB, b2[3])-> z[2,3]
inline std::string mlp(int64_t opset = 13) {
  Builder b(opset);
  b.input("x", {-1, 8});
  b.output("z", {-1, 3});
  b.weight("w", {8, 4});
  b.weight("w2", {3, 4}, 1.1f);
  b.weight("b2", {3}, 2.0f);
  b.node("MatMul", {"x", "w"}, {"y"}, "mm");
  b.node("Relu", {"y"}, {"r"}, "relu");
  auto& g = b.node("Gemm", {"r", "w2", "b2"}, {"z"}, "gemm");
  ortkit::quant::set_attr_int(g, "transB", 1);
  return b.bytes();
}

/// img[1,3,6,6] -Conv(cw[4,3,3,3], cb[4], pads 1)-> c[1,4,6,6]
inline std::string conv(int64_t opset = 13) {
  Builder b(opset);
  b.input("img", {1, 3, 6, 6});
  b.output("c", {1, 4, 6, 6});
  b.weight("cw", {4, 3, 3, 3});
  b.weight("cb", {4}, 0.9f);
  auto& n = b.node("Conv", {"img", "cw", "cb"}, {"c"}, "conv");
  auto* a = n.add_attribute();
  a->set_name("pads");
  a->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) a->add_ints(1);
  return b.bytes();
}

/// img[1,3,6,6] -Conv(cw)-> c -Clip(0, 6) or Relu-> a -Conv(cw2[2,4,1,1])-> out[1,2,6,6]: MobileNet's
/// Conv + ReLU6 (torch exports the bounds as Constant nodes; here initializers).
inline std::string conv_act(bool clip) {
  Builder b(13);
  b.input("img", {1, 3, 6, 6});
  b.output("out", {1, 2, 6, 6});
  b.weight("cw", {4, 3, 3, 3});
  b.weight("cb", {4}, 0.9f);
  b.weight("cw2", {2, 4, 1, 1}, 1.7f);
  auto& n = b.node("Conv", {"img", "cw", "cb"}, {"c"}, "conv");
  auto* a = n.add_attribute();
  a->set_name("pads");
  a->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) a->add_ints(1);
  if (clip) {
    *b.g().add_initializer() = ortkit::quant::make_float_tensor("lo", {}, {0.f});
    *b.g().add_initializer() = ortkit::quant::make_float_tensor("hi", {}, {0.5f});
    b.node("Clip", {"c", "lo", "hi"}, {"a"}, "relu6");
  } else {
    b.node("Relu", {"c"}, {"a"}, "relu");
  }
  b.node("Conv", {"a", "cw2"}, {"out"}, "conv2");
  return b.bytes();
}

}  // namespace quant_test
