// Model-local functions (ModelProto.functions, IR 8 and later): a node whose (domain, op_type,
// overload) names one is replaced by the function's body, recursively, the way ONNX Runtime inlines
// them. PyTorch writes them with `export_modules_as_functions`, its dynamo exporter writes its torch_lib
// ops as functions, onnxscript writes whole models of them.
//
// Per call, the body's formal inputs and outputs become the call's actual names (a missing optional
// input reads as ""), every other name in the body (subgraphs included) gets a prefix unique to the
// call, and attributes that reference the function's attributes (ref_attr_name) take the call's value,
// else the function's default (attribute_proto, IR 9), else are dropped. Body nodes run at the
// function's opset_import, falling back to the model's for domains the function does not import.
// A local function takes precedence over a built-in op of the same name, as the model author meant.
#pragma once
#include <onnx/onnx_pb.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace ortkit::graph {

/// Canonical domain ("" = ai.onnx) -> version.
using Opsets = std::map<std::string, int>;

struct ExpandedNode {
  onnx::NodeProto node;
  std::shared_ptr<const Opsets> opsets;  ///< the versions this node runs at
};

class LocalFunctions {
 public:
  /// `source` names the model in errors. Throws Error on a malformed function list (no name, a
  /// duplicate id).
  LocalFunctions(const onnx::ModelProto& model, const std::string& source);

  bool empty() const { return table_.empty(); }
  /// `nodes` (running at `opsets`) with every call of a local function replaced by its body.
  /// Throws Error on a call with more inputs or outputs than the function declares, on recursion, and on
  /// a function output the body never produces.
  std::vector<ExpandedNode> expand(const google::protobuf::RepeatedPtrField<onnx::NodeProto>& nodes,
                                   const std::shared_ptr<const Opsets>& opsets);

 private:
  struct Function {
    const onnx::FunctionProto* proto = nullptr;
    std::map<std::string, onnx::AttributeProto> defaults;  ///< attribute_proto (IR 9), by name
    std::shared_ptr<const Opsets> opsets;                  ///< the model's, overridden by the function's
  };
  using Key = std::tuple<std::string, std::string, std::string>;  // domain, name, overload

  const Function* find(const onnx::NodeProto& n) const;
  void expand_node(onnx::NodeProto n, const std::shared_ptr<const Opsets>& opsets, int depth,
                   std::vector<ExpandedNode>& out);

  std::map<Key, Function> table_;
  std::string source_;
  long calls_ = 0;  // numbers the calls: each inlined body gets its own name prefix
};

/// Inline every local-function call of `model` (main graph and subgraphs) in place and clear
/// `functions`, for tools that rewrite the ModelProto itself (ort-quantize). Throws Error when a body
/// needs an opset version other than the model's (a ModelProto has one version per domain); domains only
/// a function imports are added to the model's opset_import.
void inline_local_functions(onnx::ModelProto& model, const std::string& source);

}  // namespace ortkit::graph
