#include "graph/from_onnx.h"

#include <algorithm>

#include "graph/local_functions.h"
#include "graph/node_arity.h"
#include "onnx/model_io.h"
#include "ops/registry.h"

namespace ortkit::graph {

ops::Attribute attribute_from_proto(const onnx::AttributeProto& a, const std::string& base_dir) {
  using K = ops::Attribute::Kind;
  ops::Attribute r;
  switch (a.type()) {
    case onnx::AttributeProto::FLOAT:
      r.kind = K::f;
      r.f = a.f();
      break;
    case onnx::AttributeProto::INT:
      r.kind = K::i;
      r.i = a.i();
      break;
    case onnx::AttributeProto::STRING:
      r.kind = K::s;
      r.s = a.s();
      break;
    case onnx::AttributeProto::TENSOR:
      r.kind = K::t;
      r.t = onnxio::tensor_from_proto(a.t(), base_dir);
      break;
    case onnx::AttributeProto::FLOATS:
      r.kind = K::floats;
      r.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case onnx::AttributeProto::INTS:
      r.kind = K::ints;
      r.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case onnx::AttributeProto::STRINGS:
      r.kind = K::strings;
      r.strings.assign(a.strings().begin(), a.strings().end());
      break;
    default: r.kind = K::undefined; break;  // graphs, sparse tensors, type protos
  }
  return r;
}

namespace {

ValueInfo value_info(const onnx::ValueInfoProto& v) {
  ValueInfo out;
  out.name = v.name();
  if (!v.type().has_tensor_type()) {
    // Sequences, optionals and maps are whole values of their own kind; sparse tensors stay undefined
    // (the session then checks nothing about them, and the ops reject them).
    if (v.type().has_sequence_type()) out.dtype = DType::sequence;
    if (v.type().has_optional_type()) out.dtype = DType::optional;
    if (v.type().has_map_type()) out.dtype = DType::map;
    out.has_shape = false;
    return out;
  }
  const auto& tt = v.type().tensor_type();
  out.dtype = dtype_from_onnx(tt.elem_type());
  out.has_shape = tt.has_shape();
  for (const auto& d : tt.shape().dim()) {
    Dim dim;
    if (d.has_dim_value())
      dim.value = d.dim_value();
    else
      dim.symbol = d.dim_param();
    out.dims.push_back(dim);
  }
  return out;
}

/// One GraphProto (the model's graph or a subgraph) as a Graph. A subgraph may read values of enclosing
/// scopes: those become its outer_refs instead of an error.
/// `fns` expands calls of the model's local functions (their body nodes carry their own opsets).
Graph graph_from_proto(const onnx::GraphProto& gp, const std::shared_ptr<const Opsets>& opsets,
                       LocalFunctions& fns, const std::string& source, const std::string& base_dir,
                       bool subgraph) {
  Graph g;
  g.source = source;
  g.base_dir = base_dir;
  g.opsets = *opsets;
  g.name = gp.name();

  for (const auto& t : gp.initializer()) {
    if (t.name().empty()) throw Error("an initializer has no name", source);
    g.initializers[t.name()] = std::make_shared<Tensor>(onnxio::tensor_from_proto(t, base_dir));
  }
  if (gp.sparse_initializer_size() > 0) throw Error("sparse initializers are not supported", source);
  for (const auto& in : gp.input()) {
    if (g.initializers.count(in.name())) {
      g.overridable.insert(in.name());
      g.optional_inputs.push_back(value_info(in));
    } else {
      g.inputs.push_back(value_info(in));
    }
  }
  for (const auto& out : gp.output()) g.outputs.push_back(value_info(out));

  std::vector<ExpandedNode> expanded;
  if (!fns.empty()) expanded = fns.expand(gp.node(), opsets);
  const int count = fns.empty() ? gp.node_size() : static_cast<int>(expanded.size());
  for (int index = 0; index < count; ++index) {
    const onnx::NodeProto& np = fns.empty() ? gp.node(index) : expanded[static_cast<size_t>(index)].node;
    const std::shared_ptr<const Opsets>& node_opsets =
        fns.empty() ? opsets : expanded[static_cast<size_t>(index)].opsets;
    Node n;
    n.op_type = np.op_type();
    n.domain = ops::canonical_domain(np.domain());
    n.name = np.name().empty() ? n.op_type + "_" + std::to_string(index) : np.name();
    auto it = node_opsets->find(n.domain);
    n.opset = it == node_opsets->end() ? 1 : it->second;
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    check_node_arity(n, source);
    std::map<std::string, ops::Attribute> attrs;
    std::vector<std::string> implicit;  // outer-scope values the node's subgraphs read
    for (const auto& a : np.attribute()) {
      if (a.type() == onnx::AttributeProto::GRAPH) {
        const std::string where = source + ": " + n.info().describe() + " attribute '" + a.name() + "'";
        auto sub = std::make_shared<Graph>(graph_from_proto(a.g(), node_opsets, fns, where, base_dir, true));
        for (const std::string& r : sub->outer_refs)
          if (std::find(implicit.begin(), implicit.end(), r) == implicit.end()) implicit.push_back(r);
        ops::Attribute at;
        at.kind = ops::Attribute::Kind::graph;
        at.g = std::move(sub);
        attrs[a.name()] = std::move(at);
        continue;
      }
      attrs[a.name()] = attribute_from_proto(a, base_dir);
    }
    if (!implicit.empty()) {
      // Explicit inputs make the outer graph's liveness, folding and sort see what the bodies use.
      n.inputs.insert(n.inputs.end(), implicit.begin(), implicit.end());
      ops::Attribute at;
      at.kind = ops::Attribute::Kind::strings;
      at.strings = implicit;
      attrs[kImplicitInputsAttr] = std::move(at);
    }
    n.attrs = ops::Attrs(std::move(attrs), n.info().describe());
    if (n.op_type == "Constant" && n.domain.empty() && n.outputs.size() == 1) {
      if (auto v = ops::constant_node_value(n.attrs)) {
        g.initializers[n.outputs[0]] = std::move(v);
        continue;
      }
    }
    g.nodes.push_back(std::move(n));
  }
  g.topo_sort();
  // Every node input must come from somewhere (in a subgraph: possibly an enclosing scope).
  std::set<std::string> known;
  for (const auto& v : g.inputs) known.insert(v.name);
  for (const auto& [k, v] : g.initializers) known.insert(k);
  for (const Node& n : g.nodes)
    for (const auto& o : n.outputs) known.insert(o);
  auto outer = [&](const std::string& name) {
    if (std::find(g.outer_refs.begin(), g.outer_refs.end(), name) == g.outer_refs.end())
      g.outer_refs.push_back(name);
  };
  for (const Node& n : g.nodes)
    for (const auto& i : n.inputs)
      if (!i.empty() && !known.count(i)) {
        if (!subgraph)
          throw Error("input '" + i + "' is not produced by any node, input or initializer",
                      n.info().describe() + " in " + source);
        outer(i);
      }
  for (const ValueInfo& o : g.outputs)
    if (!known.count(o.name)) {
      if (!subgraph) throw Error("graph output '" + o.name + "' is never produced", source);
      outer(o.name);
    }
  return g;
}

}  // namespace

Graph from_onnx(const onnx::ModelProto& model, const std::string& source, const std::string& base_dir) {
  if (model.ir_version() < 3)
    throw Error("IR version " + std::to_string(model.ir_version()) + " is not supported (need 3 or newer)",
                source);
  auto opsets = std::make_shared<Opsets>();
  for (const auto& op : model.opset_import())
    (*opsets)[ops::canonical_domain(op.domain())] = static_cast<int>(op.version());
  // A model of other domains only (the training optimizers' ai.onnx.preview.training) may import no
  // ai.onnx opset; an ai.onnx node without one would silently run at opset 1.
  if (!opsets->count(""))
    for (const auto& n : model.graph().node())
      if (ops::canonical_domain(n.domain()).empty())
        throw Error("the model imports no ai.onnx opset but uses its op " + n.op_type(), source);
  LocalFunctions fns(model, source);
  return graph_from_proto(model.graph(), opsets, fns, source, base_dir, false);
}

}  // namespace ortkit::graph
