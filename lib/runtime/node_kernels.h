// One kernel per node of an optimized graph, made and prepacked the same way for a session and for a
// control-flow body (SubgraphRunner).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "ops/op.h"

namespace ortkit::runtime {

/// Fills `infos` (one NodeInfo per node; each node's attrs learn where they are, for error messages)
/// and `kernels` (the registry's kernel for each node, prepacked with the graph's constants). The
/// kernels point into `infos`, which must not grow afterwards. A node without a kernel throws
/// Error(missing, its description + where).
void make_node_kernels(graph::Graph& g, Precision precision, const kernels::Threading& th, int opt_level,
                       const std::string& missing, const std::string& where,
                       std::vector<ops::NodeInfo>& infos,
                       std::vector<std::unique_ptr<ops::OpKernel>>& kernels);

}  // namespace ortkit::runtime
