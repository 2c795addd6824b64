// A node's subgraph attribute run as a nested plan (runtime::SubgraphRunner), with the node inputs that
// feed the body's outer-scope reads bound by position: shared by the control-flow ops (If, Loop, Scan)
// and by ops with modifier subgraphs (FlexAttention's score_mod / prob_mod).
#pragma once
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "ops/op.h"
#include "runtime/subgraph.h"

namespace ortkit::ops {

/// A body subgraph with the node input that feeds each of its outer-scope inputs.
struct Body {
  std::unique_ptr<runtime::SubgraphRunner> runner;
  std::vector<int> outer_src;        ///< per bound input after the formal ones: node input index
  std::vector<const Tensor*> given;  ///< reused argument vector
  std::string name;                  ///< the attribute ("body", "then_branch")
  size_t formal() const { return runner->num_formal_inputs(); }
  const graph::Graph& graph() const { return runner->graph(); }
  void bind_outer(const std::vector<const Tensor*>& node_inputs) {
    for (size_t k = 0; k < outer_src.size(); ++k) given[formal() + k] = node_inputs[outer_src[k]];
  }
  /// Run with `given`; errors say which node's which body they come from.
  const std::vector<Tensor>& run(const NodeInfo* node) {
    try {
      return runner->run(given);
    } catch (const Unsupported& e) {
      throw Unsupported(e.what(), context(e.where(), node));
    } catch (const Error& e) {
      throw Error(e.what(), context(e.where(), node));
    }
  }
  std::string context(const std::string& where, const NodeInfo* node) const {
    return where + (where.empty() ? "" : " ") + "(in '" + name + "' of " + (node ? node->describe() : "?") +
           ")";
  }
};

/// kernels_used() of a control-flow kernel: its bodies' GEMM kernels.
inline std::vector<std::string> bodies_kernels(std::initializer_list<const Body*> bodies) {
  std::vector<std::string> names;
  for (const Body* b : bodies)
    if (b->runner)
      for (const std::string& n : b->runner->kernels_used())
        if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  return names;
}

inline std::vector<std::string> implicit_inputs(const Attrs& a) {
  const Attribute* at = a.find(graph::kImplicitInputsAttr);
  return at && at->kind == Attribute::Kind::strings ? at->strings : std::vector<std::string>{};
}

/// Number of the node's formal inputs (without the appended outer-scope values).
inline size_t formal_node_inputs(const Attrs& a, size_t node_inputs, const std::string& where) {
  const size_t implicit = implicit_inputs(a).size();
  if (implicit > node_inputs) throw Error("fewer inputs than outer-scope values", where);
  return node_inputs - implicit;
}

/// Build body `name`. `constants` holds the node inputs' constant values (may be empty: none known).
inline void build_body(Body& b, const Attrs& attrs, const std::string& name, size_t node_inputs,
                       const std::vector<const Tensor*>& constants, Precision precision,
                       const kernels::Threading& th, const std::string& where, int opt_level) {
  const graph::Graph& g = attrs.get_graph(name);
  const std::vector<std::string> implicit = implicit_inputs(attrs);
  const size_t formal = formal_node_inputs(attrs, node_inputs, where);
  std::map<std::string, const Tensor*> outer_constants;
  for (size_t j = 0; j < implicit.size(); ++j)
    if (formal + j < constants.size() && constants[formal + j])
      outer_constants[implicit[j]] = constants[formal + j];
  b.name = name;
  b.runner = std::make_unique<runtime::SubgraphRunner>(g, outer_constants, precision, th, opt_level);
  const auto& names = b.runner->bind_names();
  b.outer_src.clear();
  for (size_t k = b.formal(); k < names.size(); ++k) {
    auto it = std::find(implicit.begin(), implicit.end(), names[k]);
    if (it == implicit.end())
      throw Error("subgraph '" + name + "' reads '" + names[k] + "', which is not an input of the node",
                  where);
    b.outer_src.push_back(static_cast<int>(formal + static_cast<size_t>(it - implicit.begin())));
  }
  b.given.assign(names.size(), nullptr);
}

/// A kernel with one "body" subgraph (Loop, SequenceMap): built at prepack, with the outer constants
/// folded into it, or at the first compile when prepack did not run. `formal_` counts the node's own
/// inputs (without the outer-scope values appended after them).
class BodyKernel : public OpKernel {
 public:
  void prepack(const PrepackContext& pc) override {
    build(*pc.attrs, pc.constants.size(), pc.constants, pc.precision, pc.threading, pc.node->describe(),
          pc.optimization_level);
  }
  std::vector<std::string> kernels_used() const override { return bodies_kernels({&body_}); }

 protected:
  void ensure_body(const CompileContext& cc) {
    if (!body_.runner)
      build(cc.attr(), cc.num_inputs(), {}, cc.precision, cc.threading, cc.node->describe(), 99);
  }
  Body body_;
  size_t formal_ = 0;

 private:
  void build(const Attrs& a, size_t node_inputs, const std::vector<const Tensor*>& consts, Precision p,
             const kernels::Threading& th, const std::string& where, int opt_level) {
    formal_ = formal_node_inputs(a, node_inputs, where);
    build_body(body_, a, "body", node_inputs, consts, p, th, where, opt_level);
  }
};

}  // namespace ortkit::ops
