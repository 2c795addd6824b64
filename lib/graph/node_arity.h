// Checks a node's input and output counts against the operator's ONNX schema (libonnx's registry) at
// load, so that no kernel ever sees a required input missing or an output slot it does not expect: a
// malformed node is an error naming the node and the slot, as ONNX Runtime reports it, not a crash.
#pragma once
#include "graph/graph.h"

namespace ortkit::graph {

/// Throws Error (where: `where`) when `n` (an ai.onnx or ai.onnx.ml node, its opset resolved) leaves a
/// required input or output empty or out, or has more than the schema allows. Nodes of other domains,
/// and operators libonnx does not know, pass unchecked. Past the newest opset libonnx knows (17 for
/// Debian 12's 1.12), only the lower bounds are checked: later versions may add optional inputs.
void check_node_arity(const Node& n, const std::string& where);

}  // namespace ortkit::graph
