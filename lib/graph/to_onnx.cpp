#include "graph/to_onnx.h"

#include <algorithm>

#include "onnx/model_io.h"
#include "ortkit/version.h"

namespace ortkit::graph {
namespace {

void write_value_info(onnx::ValueInfoProto* v, const ValueInfo& vi) {
  v->set_name(vi.name);
  if (vi.dtype == DType::undefined && !vi.has_shape) return;
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(dtype_to_onnx(vi.dtype));
  if (!vi.has_shape) return;
  auto* sh = tt->mutable_shape();
  for (const Dim& d : vi.dims) {
    auto* dim = sh->add_dim();
    if (d.value >= 0)
      dim->set_dim_value(d.value);
    else if (!d.symbol.empty())
      dim->set_dim_param(d.symbol);
  }
}

void write_attribute(onnx::AttributeProto* a, const std::string& name, const ops::Attribute& at) {
  using K = ops::Attribute::Kind;
  a->set_name(name);
  switch (at.kind) {
    case K::f:
      a->set_type(onnx::AttributeProto::FLOAT);
      a->set_f(at.f);
      break;
    case K::i:
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(at.i);
      break;
    case K::s:
      a->set_type(onnx::AttributeProto::STRING);
      a->set_s(at.s);
      break;
    case K::t:
      a->set_type(onnx::AttributeProto::TENSOR);
      *a->mutable_t() = onnxio::tensor_to_proto(at.t);
      break;
    case K::floats:
      a->set_type(onnx::AttributeProto::FLOATS);
      for (float f : at.floats) a->add_floats(f);
      break;
    case K::ints:
      a->set_type(onnx::AttributeProto::INTS);
      for (int64_t i : at.ints) a->add_ints(i);
      break;
    case K::strings:
      a->set_type(onnx::AttributeProto::STRINGS);
      for (const auto& s : at.strings) a->add_strings(s);
      break;
    case K::graph:
      throw Error("attribute '" + name +
                  "' is a subgraph (If/Loop/Scan): writing control flow is not supported");
    case K::undefined: throw Error("attribute '" + name + "' has a kind that cannot be written (a graph?)");
  }
}

}  // namespace

onnx::ModelProto to_onnx(const Graph& g) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("ortkit");
  m.set_producer_version(ORTKIT_VERSION);
  std::map<std::string, int> opsets = g.opsets;
  for (const Node& n : g.nodes) opsets[n.domain] = std::max(opsets[n.domain], n.opset);
  for (const auto& [domain, version] : opsets) {
    auto* o = m.add_opset_import();
    o->set_domain(domain);
    o->set_version(version);
  }
  onnx::GraphProto* gp = m.mutable_graph();
  gp->set_name(g.name.empty() ? "ortkit" : g.name);
  for (const ValueInfo& v : g.inputs) write_value_info(gp->add_input(), v);
  for (const ValueInfo& v : g.optional_inputs) write_value_info(gp->add_input(), v);
  for (const ValueInfo& v : g.outputs) write_value_info(gp->add_output(), v);
  for (const auto& [name, t] : g.initializers) *gp->add_initializer() = onnxio::tensor_to_proto(*t, name);
  for (const Node& n : g.nodes) {
    onnx::NodeProto* np = gp->add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    np->set_domain(n.domain);
    for (const auto& i : n.inputs) np->add_input(i);
    for (const auto& o : n.outputs) np->add_output(o);
    for (const auto& [name, at] : n.attrs.all()) write_attribute(np->add_attribute(), name, at);
  }
  return m;
}

void save_graph(const Graph& g, const std::string& path) {
  onnxio::save_model(to_onnx(g), path);
}

}  // namespace ortkit::graph
