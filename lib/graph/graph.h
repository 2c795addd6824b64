// The engine's graph IR: nodes by value names, constants as shared tensors, opset per node.
//
// Values are identified by name (as in ONNX). A value is a graph input, an initializer (constant), or the
// output of exactly one node. Nodes are kept in topological order (from_onnx sorts; passes keep it by
// calling topo_sort() after rewriting). Shapes are not stored on values: they are inferred per input-shape
// signature when a Plan is compiled (runtime/plan.*), by each kernel's compile().
#pragma once
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ops/op.h"
#include "ortkit/session.h"
#include "ortkit/tensor.h"

namespace ortkit::graph {

/// Node attribute (strings) naming the outer-scope values a control-flow node's subgraphs read; they are
/// the node's last inputs, in this order (bound by position, so outer renames do not break them).
inline constexpr const char* kImplicitInputsAttr = "ortkit.implicit_inputs";

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;                ///< canonical: "" for ai.onnx
  int opset = 0;                     ///< the node's domain version
  std::vector<std::string> inputs;   ///< "" marks an omitted optional input
  std::vector<std::string> outputs;  ///< "" marks an unused optional output
  ops::Attrs attrs;

  ops::NodeInfo info() const { return {name, op_type, domain, opset}; }
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;
  std::map<std::string, std::shared_ptr<const Tensor>> initializers;
  /// Initializers that are also graph inputs: overridable defaults. Graph passes do not fold them.
  std::set<std::string> overridable;
  std::vector<ValueInfo> inputs;           ///< required inputs (graph inputs that are not initializers)
  std::vector<ValueInfo> optional_inputs;  ///< the overridable initializers, as inputs
  std::vector<ValueInfo> outputs;
  std::map<std::string, int> opsets;  ///< domain ("" = ai.onnx) -> version imported by the model
  std::string source;                 ///< file path (for error messages)
  std::string base_dir;               ///< external data directory
  /// Subgraphs only (If/Loop/Scan bodies): the names the body reads from enclosing scopes, in first-use
  /// order. from_onnx appends them to the owning node's inputs (after its formal inputs, listed in the
  /// node's kImplicitInputsAttr attribute), so the outer graph's passes see the dependency.
  std::vector<std::string> outer_refs;

  /// A value that is a constant for graph passes: an initializer that is not overridable.
  const Tensor* constant(const std::string& value) const;
  bool is_graph_output(const std::string& value) const;
  /// Index of the node producing `value`, or -1.
  int producer(const std::string& value) const;
  /// Indices of nodes reading `value`.
  std::vector<int> consumers(const std::string& value) const;
  /// A value name not used anywhere yet: prefix, prefix_1, ...
  std::string fresh_name(const std::string& prefix) const;
  /// Sort nodes topologically (stable). Throws Error naming a node on a cycle.
  void topo_sort();
  /// Drop nodes marked by `dead[i]` (used by passes), keeping order.
  void erase_nodes(const std::vector<bool>& dead);
};

}  // namespace ortkit::graph
