#include "graph/local_functions.h"

#include <google/protobuf/unknown_field_set.h>

#include <functional>
#include <set>

#include "ops/registry.h"
#include "ortkit/error.h"

namespace ortkit::graph {
namespace {

// Fields newer than the libonnx protos this builds against (1.12): they arrive as unknown fields.
constexpr int kNodeOverload = 8;             // NodeProto.overload (IR 10)
constexpr int kFunctionAttributeProto = 11;  // FunctionProto.attribute_proto (IR 9)
constexpr int kFunctionOverload = 13;        // FunctionProto.overload (IR 10)
constexpr int kMaxDepth = 64;                // nested calls deeper than this are taken for recursion

template <class Proto>
std::vector<std::string> unknown_strings(const Proto& p, int number) {
  std::vector<std::string> out;
  const google::protobuf::UnknownFieldSet& u = p.unknown_fields();
  for (int i = 0; i < u.field_count(); ++i)
    if (u.field(i).number() == number &&
        u.field(i).type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED)
      out.push_back(u.field(i).length_delimited());
  return out;
}

template <class Proto>
std::string overload_of(const Proto& p, int number) {
  const auto v = unknown_strings(p, number);
  return v.empty() ? std::string() : v.back();
}

std::string function_label(const onnx::FunctionProto& f) {
  std::string s = "local function '" + (f.domain().empty() ? std::string() : f.domain() + ".") + f.name();
  if (const std::string o = overload_of(f, kFunctionOverload); !o.empty()) s += ":" + o;
  return s + "'";
}

// Renames one inlined copy of a body: formal parameters to the call's names, everything else to
// prefix + name, subgraphs included (a body is closed: it reads nothing but its formal inputs).
struct Renamer {
  std::map<std::string, std::string> formal;
  std::string prefix;

  std::string operator()(const std::string& s) const {
    if (s.empty()) return s;
    const auto it = formal.find(s);
    return it != formal.end() ? it->second : prefix + s;
  }
  void node(onnx::NodeProto& n) const {
    for (auto& s : *n.mutable_input()) s = (*this)(s);
    for (auto& s : *n.mutable_output()) s = (*this)(s);
    n.set_name(prefix + (n.name().empty() ? n.op_type() : n.name()));
    for (auto& a : *n.mutable_attribute()) {
      if (a.has_g()) graph(*a.mutable_g());
      for (auto& g : *a.mutable_graphs()) graph(g);
    }
  }
  void graph(onnx::GraphProto& g) const {
    for (auto& v : *g.mutable_input()) v.set_name((*this)(v.name()));
    for (auto& v : *g.mutable_output()) v.set_name((*this)(v.name()));
    for (auto& v : *g.mutable_value_info()) v.set_name((*this)(v.name()));
    for (auto& t : *g.mutable_initializer()) t.set_name((*this)(t.name()));
    for (auto& t : *g.mutable_sparse_initializer()) {
      t.mutable_values()->set_name((*this)(t.values().name()));
      t.mutable_indices()->set_name((*this)(t.indices().name()));
    }
    for (auto& n : *g.mutable_node()) node(n);
  }
};

// Attributes of body nodes (and of their subgraphs' nodes) that reference the function's attributes.
void resolve_refs(onnx::NodeProto& n, const onnx::NodeProto& call,
                  const std::map<std::string, onnx::AttributeProto>& defaults) {
  auto* attrs = n.mutable_attribute();
  for (int i = 0; i < attrs->size();) {
    onnx::AttributeProto& a = *attrs->Mutable(i);
    if (!a.ref_attr_name().empty()) {
      const onnx::AttributeProto* v = nullptr;
      for (const auto& c : call.attribute())
        if (c.name() == a.ref_attr_name()) v = &c;
      if (!v)
        if (const auto it = defaults.find(a.ref_attr_name()); it != defaults.end()) v = &it->second;
      if (!v) {  // neither given nor defaulted: the attribute is absent, as the spec says
        attrs->DeleteSubrange(i, 1);
        continue;
      }
      const std::string name = a.name();
      a = *v;  // a graph value here is the caller's: its names are the caller's scope, left as they are
      a.set_name(name);
      ++i;
      continue;
    }
    if (a.has_g())
      for (auto& sn : *a.mutable_g()->mutable_node()) resolve_refs(sn, call, defaults);
    for (auto& g : *a.mutable_graphs())
      for (auto& sn : *g.mutable_node()) resolve_refs(sn, call, defaults);
    ++i;
  }
}

Opsets model_opsets(const onnx::ModelProto& m) {
  Opsets o;
  for (const auto& op : m.opset_import())
    o[ops::canonical_domain(op.domain())] = static_cast<int>(op.version());
  return o;
}

}  // namespace

LocalFunctions::LocalFunctions(const onnx::ModelProto& model, const std::string& source) : source_(source) {
  const Opsets base = model_opsets(model);
  for (const auto& f : model.functions()) {
    if (f.name().empty()) throw Error("a local function has no name", source);
    Function fn;
    fn.proto = &f;
    for (const std::string& bytes : unknown_strings(f, kFunctionAttributeProto)) {
      onnx::AttributeProto a;
      if (!a.ParseFromString(bytes) || a.name().empty())
        throw Error(function_label(f) + " has a malformed default attribute", source);
      fn.defaults[a.name()] = std::move(a);
    }
    auto opsets = std::make_shared<Opsets>(base);
    for (const auto& op : f.opset_import())
      (*opsets)[ops::canonical_domain(op.domain())] = static_cast<int>(op.version());
    fn.opsets = std::move(opsets);
    const Key key{ops::canonical_domain(f.domain()), f.name(), overload_of(f, kFunctionOverload)};
    if (!table_.emplace(key, std::move(fn)).second)
      throw Error(function_label(f) + " is defined twice", source);
  }
}

const LocalFunctions::Function* LocalFunctions::find(const onnx::NodeProto& n) const {
  if (table_.empty()) return nullptr;
  const auto it =
      table_.find(Key{ops::canonical_domain(n.domain()), n.op_type(), overload_of(n, kNodeOverload)});
  return it == table_.end() ? nullptr : &it->second;
}

std::vector<ExpandedNode> LocalFunctions::expand(
    const google::protobuf::RepeatedPtrField<onnx::NodeProto>& nodes,
    const std::shared_ptr<const Opsets>& opsets) {
  std::vector<ExpandedNode> out;
  out.reserve(static_cast<size_t>(nodes.size()));
  for (const auto& n : nodes) expand_node(n, opsets, 0, out);
  return out;
}

void LocalFunctions::expand_node(onnx::NodeProto call, const std::shared_ptr<const Opsets>& opsets, int depth,
                                 std::vector<ExpandedNode>& out) {
  const Function* f = find(call);
  if (!f) {
    out.push_back({std::move(call), opsets});
    return;
  }
  const onnx::FunctionProto& fp = *f->proto;
  const std::string where = "node '" + call.name() + "' calling " + function_label(fp);
  if (depth >= kMaxDepth)
    throw Error(
        where + ": calls nest more than " + std::to_string(kMaxDepth) + " deep (a recursive function?)",
        source_);
  if (call.input_size() > fp.input_size() || call.output_size() > fp.output_size())
    throw Error(where + ": the call has " + std::to_string(call.input_size()) + " inputs and " +
                    std::to_string(call.output_size()) + " outputs, the function declares " +
                    std::to_string(fp.input_size()) + " and " + std::to_string(fp.output_size()),
                source_);

  Renamer r;
  r.prefix = (call.name().empty() ? call.op_type() : call.name()) + "#" + std::to_string(++calls_) + "/";
  std::set<std::string> inputs;
  for (int i = 0; i < fp.input_size(); ++i) {
    r.formal[fp.input(i)] = i < call.input_size() ? call.input(i) : std::string();
    inputs.insert(fp.input(i));
  }
  for (int i = 0; i < fp.output_size(); ++i) {
    if (inputs.count(fp.output(i))) continue;  // passed straight through: an Identity below
    const bool used = i < call.output_size() && !call.output(i).empty();
    r.formal[fp.output(i)] = used ? call.output(i) : r.prefix + fp.output(i);
  }

  std::vector<onnx::NodeProto> body;
  body.reserve(static_cast<size_t>(fp.node_size()) + 1);
  std::set<std::string> produced;
  for (const auto& bn : fp.node()) {
    onnx::NodeProto n = bn;
    r.node(n);
    resolve_refs(n, call, f->defaults);
    for (const auto& o : n.output()) produced.insert(o);
    body.push_back(std::move(n));
  }
  for (int i = 0; i < call.output_size(); ++i) {
    const std::string& actual = call.output(i);
    if (actual.empty() || produced.count(actual)) continue;
    if (!inputs.count(fp.output(i)))
      throw Error(where + ": the body never produces output '" + fp.output(i) + "'", source_);
    onnx::NodeProto id;
    id.set_op_type("Identity");
    id.set_name(r.prefix + "output_" + std::to_string(i));
    id.add_input(r(fp.output(i)));
    id.add_output(actual);
    body.push_back(std::move(id));
  }
  for (auto& n : body) expand_node(std::move(n), f->opsets, depth + 1, out);
}

void inline_local_functions(onnx::ModelProto& model, const std::string& source) {
  if (model.functions_size() == 0) return;
  LocalFunctions fns(model, source);
  Opsets declared = model_opsets(model);
  const auto base = std::make_shared<const Opsets>(declared);
  std::function<void(onnx::GraphProto&, const std::shared_ptr<const Opsets>&)> walk =
      [&](onnx::GraphProto& g, const std::shared_ptr<const Opsets>& opsets) {
        std::vector<ExpandedNode> nodes = fns.expand(g.node(), opsets);
        google::protobuf::RepeatedPtrField<onnx::NodeProto> flat;
        for (ExpandedNode& e : nodes) {
          const std::string d = ops::canonical_domain(e.node.domain());
          if (const auto it = e.opsets->find(d); it != e.opsets->end()) {
            const auto have = declared.find(d);
            if (have == declared.end()) {
              declared[d] = it->second;
              auto* op = model.add_opset_import();
              op->set_domain(d);
              op->set_version(it->second);
            } else if (have->second != it->second) {
              throw Error("node '" + e.node.name() + "' (" + e.node.op_type() +
                              ") of an inlined local function runs at " +
                              (d.empty() ? std::string("ai.onnx") : d) + " opset " +
                              std::to_string(it->second) + ", the model imports " +
                              std::to_string(have->second),
                          source);
            }
          }
          for (auto& a : *e.node.mutable_attribute()) {
            if (a.has_g()) walk(*a.mutable_g(), e.opsets);
            for (auto& sg : *a.mutable_graphs()) walk(sg, e.opsets);
          }
          *flat.Add() = std::move(e.node);
        }
        g.mutable_node()->Swap(&flat);
      };
  walk(*model.mutable_graph(), base);
  model.clear_functions();
}

}  // namespace ortkit::graph
