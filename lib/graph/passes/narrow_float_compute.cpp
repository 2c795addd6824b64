// float16 and bfloat16 models run in fp32. Exporters write them for GPUs (torch `model.half()`, ONNX
// Runtime's float16 converter, optimum's --fp16); the ops here compute in fp32, as ONNX Runtime's CPU
// provider does for most float16 ops (it wraps them in Casts). So at session start every narrow-float
// weight, constant and dtype attribute becomes fp32, while what the model promises stays as written:
// a narrow graph input is cast to fp32 once on entry, a narrow graph output is cast back on exit, and
// an explicit Cast to float16 / bfloat16 still rounds (it is followed by a Cast back to fp32), so the
// values the model rounds on purpose are rounded. What differs from compute in float16 is that
// intermediate results between explicit Casts keep fp32 precision and range.
#include <algorithm>
#include <set>

#include "graph/optimizer.h"
#include "ortkit/float16.h"
#include "ortkit/kernels/epilogue.h"

namespace ortkit::graph {
namespace {

constexpr int64_t kOnnxFloat = 1, kOnnxFloat16 = 10, kOnnxBfloat16 = 16;

bool narrow(DType t) {
  return t == DType::f16 || t == DType::bf16;
}

Tensor widened(const Tensor& t) {
  Tensor out(DType::f32, t.shape());
  const uint16_t* in = t.data_as<uint16_t>();
  float* o = out.data_as<float>();
  const bool half = t.dtype() == DType::f16;
  for (int64_t i = 0; i < t.numel(); ++i) o[i] = half ? f16_to_f32(in[i]) : kernels::bf16_to_f32(in[i]);
  return out;
}

// Value names not used in the graph yet (Graph::fresh_name rescans the graph per call).
class FreshNames {
 public:
  explicit FreshNames(const Graph& g) {
    for (const auto& [k, v] : g.initializers) used_.insert(k);
    for (const ValueInfo& v : g.inputs) used_.insert(v.name);
    for (const ValueInfo& v : g.outputs) used_.insert(v.name);
    for (const Node& n : g.nodes) {
      used_.insert(n.outputs.begin(), n.outputs.end());
      used_.insert(n.inputs.begin(), n.inputs.end());
    }
  }
  std::string operator()(const std::string& prefix) {
    std::string name = prefix;
    for (int i = 1; used_.count(name); ++i) name = prefix + "_" + std::to_string(i);
    used_.insert(name);
    return name;
  }

 private:
  std::set<std::string> used_;
};

Node cast_node(const Graph& g, const std::string& from, const std::string& to, int64_t onnx_type) {
  Node n;
  n.name = to + "_cast";
  n.op_type = "Cast";
  n.opset = std::max(13, g.opsets.count("") ? g.opsets.at("") : 13);
  n.inputs = {from};
  n.outputs = {to};
  n.attrs.set_int("to", onnx_type);
  n.attrs.set_where(n.info().describe());
  return n;
}

/// Cast's target as an ONNX type, or -1 (opset 1-5 Casts name it as a string).
int64_t cast_target(const Node& n) {
  if (!n.domain.empty() || n.op_type != "Cast") return -1;
  const ops::Attribute* to = n.attrs.find("to");
  return to && to->kind == ops::Attribute::Kind::i ? to->i : -1;
}

void rename_uses(Graph& g, const std::string& from, const std::string& to) {
  for (Node& n : g.nodes) std::replace(n.inputs.begin(), n.inputs.end(), from, to);
}

int promote(Graph& g, bool top);

// Attributes: narrow tensors (ConstantOfShape's value) and dtype choices (EyeLike, RandomNormal, ...)
// become fp32; subgraphs are promoted whole. Cast's `to` is handled by the caller.
int promote_attrs(Node& n) {
  std::vector<std::pair<std::string, ops::Attribute>> changes;
  for (const auto& [name, a] : n.attrs.all()) {
    ops::Attribute w;
    w.kind = a.kind;
    if (a.kind == ops::Attribute::Kind::t && narrow(a.t.dtype())) {
      w.t = widened(a.t);
    } else if (a.kind == ops::Attribute::Kind::i && (a.i == kOnnxFloat16 || a.i == kOnnxBfloat16) &&
               (name == "dtype" || name == "output_datatype" || name == "output_dtype")) {
      w.i = kOnnxFloat;
    } else if (a.kind == ops::Attribute::Kind::graph && a.g) {
      auto sub = std::make_shared<Graph>(*a.g);  // bodies are shared by node copies: promote a copy
      if (promote(*sub, false) == 0) continue;
      w.g = std::move(sub);
    } else {
      continue;
    }
    changes.emplace_back(name, std::move(w));
  }
  for (auto& [name, a] : changes) n.attrs.set(name, std::move(a));
  return static_cast<int>(changes.size());
}

int promote(Graph& g, bool top) {
  int changed = 0;
  FreshNames fresh(g);
  std::vector<Node> entry;  // casts of narrow graph inputs, run before everything else
  // A narrow value the caller binds (a graph input, or an initializer the caller may override) keeps
  // its type; its readers get an fp32 copy.
  auto cast_on_entry = [&](const std::string& name) {
    const std::string wide = fresh(name + "_fp32");
    rename_uses(g, name, wide);
    entry.push_back(cast_node(g, name, wide, kOnnxFloat));
    ++changed;
  };
  for (ValueInfo& v : g.inputs) {
    if (!narrow(v.dtype)) continue;
    if (top) {
      cast_on_entry(v.name);
    } else {
      v.dtype = DType::f32;  // a body's inputs are bound from fp32 values now
      ++changed;
    }
  }
  for (auto& [name, t] : g.initializers) {
    if (!narrow(t->dtype())) continue;
    if (top && g.overridable.count(name)) {
      cast_on_entry(name);
    } else {
      t = std::make_shared<const Tensor>(widened(*t));
      ++changed;
    }
  }

  std::vector<Node> nodes;
  nodes.reserve(g.nodes.size());
  for (Node& n : g.nodes) {
    changed += promote_attrs(n);
    const int64_t to = cast_target(n);
    const bool cast_to_narrow = to == kOnnxFloat16 || to == kOnnxBfloat16;
    if (!cast_to_narrow || n.outputs.empty() || n.outputs[0].empty()) {
      nodes.push_back(std::move(n));
      continue;
    }
    // Round to the narrow type, then read on in fp32. A top-level graph output that this Cast makes keeps
    // the narrow value itself.
    const std::string out = n.outputs[0];
    if (top && g.is_graph_output(out)) {
      const std::string wide = fresh(out + "_fp32");
      for (Node& m : g.nodes)  // readers come later in topological order, not yet moved
        if (&m != &n) std::replace(m.inputs.begin(), m.inputs.end(), out, wide);
      nodes.push_back(std::move(n));
      nodes.push_back(cast_node(g, out, wide, kOnnxFloat));
    } else {
      const std::string rounded = fresh(out + "_rounded");
      n.outputs[0] = rounded;
      nodes.push_back(std::move(n));
      nodes.push_back(cast_node(g, rounded, out, kOnnxFloat));
    }
    ++changed;
  }
  g.nodes = std::move(nodes);

  for (ValueInfo& o : g.outputs) {
    if (!narrow(o.dtype)) continue;
    if (!top) {
      o.dtype = DType::f32;
      ++changed;
      continue;
    }
    const int p = g.producer(o.name);
    if (p >= 0 && dtype_from_onnx(static_cast<int>(cast_target(g.nodes[p]))) == o.dtype)
      continue;  // already rounded by the model's own Cast (kept above)
    const bool is_input =
        std::any_of(g.inputs.begin(), g.inputs.end(), [&](const ValueInfo& v) { return v.name == o.name; });
    if (is_input || g.overridable.count(o.name)) continue;  // passed through as given
    const std::string wide = fresh(o.name + "_fp32");
    if (p >= 0) {
      std::replace(g.nodes[p].outputs.begin(), g.nodes[p].outputs.end(), o.name, wide);
    } else if (auto it = g.initializers.find(o.name); it != g.initializers.end()) {
      g.initializers[wide] = it->second;
      g.initializers.erase(it);
    } else {
      continue;  // not produced here (an outer value): left to the enclosing graph
    }
    rename_uses(g, o.name, wide);
    g.nodes.push_back(cast_node(g, wide, o.name, o.dtype == DType::f16 ? kOnnxFloat16 : kOnnxBfloat16));
    ++changed;
  }
  if (!entry.empty()) g.nodes.insert(g.nodes.begin(), entry.begin(), entry.end());
  if (changed) g.topo_sort();
  return changed;
}

}  // namespace

int compute_narrow_floats_in_f32(Graph& g) {
  return promote(g, true);
}

}  // namespace ortkit::graph
