// Builds small ONNX models in tests (engine lane): inputs, outputs, initializers, nodes, attributes.
#pragma once
#include <onnx/onnx_pb.h>

#include <string>
#include <variant>
#include <vector>

#include "onnx/model_io.h"
#include "ortkit/error.h"
#include "ortkit/tensor.h"

namespace ortkit::testing {

using DimSpec = std::variant<int64_t, std::string>;

class ModelBuilder {
 public:
  explicit ModelBuilder(int opset = 17, int ir = 8) {
    m_.set_ir_version(ir);
    m_.set_producer_name("ortkit-tests");
    auto* o = m_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    m_.mutable_graph()->set_name("test");
  }
  void import(const std::string& domain, int version) {
    auto* o = m_.add_opset_import();
    o->set_domain(domain);
    o->set_version(version);
  }
  static void set_type(onnx::ValueInfoProto* v, int elem, const std::vector<DimSpec>& dims,
                       bool shape = true) {
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem);
    if (!shape) return;
    auto* sh = tt->mutable_shape();
    for (const auto& d : dims) {
      auto* dim = sh->add_dim();
      if (std::holds_alternative<int64_t>(d))
        dim->set_dim_value(std::get<int64_t>(d));
      else
        dim->set_dim_param(std::get<std::string>(d));
    }
  }
  ModelBuilder& input(const std::string& name, const std::vector<DimSpec>& dims, int elem = 1) {
    auto* v = m_.mutable_graph()->add_input();
    v->set_name(name);
    set_type(v, elem, dims);
    return *this;
  }
  ModelBuilder& output(const std::string& name, int elem = 1) {
    auto* v = m_.mutable_graph()->add_output();
    v->set_name(name);
    set_type(v, elem, {}, false);
    return *this;
  }
  ModelBuilder& init(const std::string& name, const Tensor& t, bool also_input = false) {
    *m_.mutable_graph()->add_initializer() = onnxio::tensor_to_proto(t, name);
    if (also_input) {
      auto* v = m_.mutable_graph()->add_input();
      v->set_name(name);
      std::vector<DimSpec> dims(t.shape().begin(), t.shape().end());
      set_type(v, dtype_to_onnx(t.dtype()), dims);
    }
    return *this;
  }
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& ins,
                        const std::vector<std::string>& outs, const std::string& name = {},
                        const std::string& domain = {}) {
    auto* n = m_.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(name);
    n->set_domain(domain);
    for (const auto& i : ins) n->add_input(i);
    for (const auto& o : outs) n->add_output(o);
    return *n;
  }
  static void attr_int(onnx::NodeProto& n, const std::string& name, int64_t v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr_float(onnx::NodeProto& n, const std::string& name, float v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void attr_ints(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void attr_floats(onnx::NodeProto& n, const std::string& name, const std::vector<float>& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOATS);
    for (float x : v) a->add_floats(x);
  }
  static void attr_string(onnx::NodeProto& n, const std::string& name, const std::string& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
  }
  static void attr_strings(onnx::NodeProto& n, const std::string& name, const std::vector<std::string>& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRINGS);
    for (const auto& x : v) a->add_strings(x);
  }
  static void attr_tensor(onnx::NodeProto& n, const std::string& name, const Tensor& t) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::TENSOR);
    *a->mutable_t() = onnxio::tensor_to_proto(t);
  }
  /// A subgraph attribute (If's branches, Loop's and Scan's body) of node n, to fill in.
  static onnx::GraphProto* graph_attr(onnx::NodeProto& n, const std::string& name) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::GRAPH);
    a->mutable_g()->set_name(name);
    return a->mutable_g();
  }
  /// A node of a subgraph (std::string arguments: GCC 12 warns, -Wrestrict, on protobuf's const char*
  /// setters).
  static onnx::NodeProto& graph_node(onnx::GraphProto* g, const std::string& op,
                                     const std::vector<std::string>& ins,
                                     const std::vector<std::string>& outs) {
    auto* n = g->add_node();
    n->set_op_type(op);
    for (const auto& i : ins) n->add_input(i);
    for (const auto& o : outs) n->add_output(o);
    return *n;
  }
  onnx::ModelProto& proto() { return m_; }
  std::string bytes() const { return m_.SerializeAsString(); }

 private:
  onnx::ModelProto m_;
};

/// The full "where: what" message of the Error thrown by f ("" if none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.message();
  }
  return {};
}

inline Tensor make_f32(Shape s, std::vector<float> v) {
  Tensor t(DType::f32, std::move(s));
  std::copy(v.begin(), v.end(), t.data_as<float>());
  return t;
}
inline Tensor make_i64(Shape s, std::vector<int64_t> v) {
  Tensor t(DType::i64, std::move(s));
  std::copy(v.begin(), v.end(), t.data_as<int64_t>());
  return t;
}
inline Tensor make_strings(Shape s, std::vector<std::string> v) {
  Tensor t(DType::string, std::move(s));
  std::copy(v.begin(), v.end(), t.data_as<std::string>());
  return t;
}
inline std::vector<float> floats_of(const Tensor& t) {
  return {t.data_as<float>(), t.data_as<float>() + t.numel()};
}
inline std::vector<std::string> strings_of(const Tensor& t) {
  return {t.data_as<std::string>(), t.data_as<std::string>() + t.numel()};
}
/// Deterministic pseudo-random floats in [-1, 1).
inline Tensor make_random(Shape s, uint32_t seed = 1) {
  Tensor t(DType::f32, std::move(s));
  uint32_t x = seed * 2654435761u + 12345u;
  for (int64_t i = 0; i < t.numel(); ++i) {
    x = x * 1664525u + 1013904223u;
    t.data_as<float>()[i] = static_cast<float>(x >> 8) / static_cast<float>(1u << 23) - 1.f;
  }
  return t;
}

}  // namespace ortkit::testing
