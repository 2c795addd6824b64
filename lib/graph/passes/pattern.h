// Small helpers shared by the fusion passes: find producers/consumers and recognise constants whatever
// the exporter did (initializer or folded Constant node, operands in either order, scalar or [1]).
#pragma once
#include <string>
#include <vector>

#include "graph/graph.h"

namespace ortkit::graph::pattern {

/// Index of the node producing `v` if its op_type is `op` (domain ai.onnx), else -1.
int producer_of(const Graph& g, const std::string& v, const char* op);
/// The only consumer of `v` (and `v` is not a graph output), else -1.
int sole_consumer(const Graph& g, const std::string& v);
/// The only consumer of `v` if its op_type is `op`, else -1.
int sole_consumer_of(const Graph& g, const std::string& v, const char* op);
/// A constant float tensor whose every element is within tol of `value`.
bool is_const_value(const Graph& g, const std::string& v, double value, double tol = 1e-4);
/// For a binary node: the operand that is not `v` ("" if `v` is not an operand).
std::string other_operand(const Node& n, const std::string& v);
/// Every consumer of `v` is in `allowed` (node indices) and `v` is not a graph output.
bool consumers_within(const Graph& g, const std::string& v, const std::vector<int>& allowed);
/// ReduceMean over the last axis only, keepdims=1 (axes as attribute or as constant input).
bool is_reduce_mean_last_axis(const Graph& g, const Node& n);

}  // namespace ortkit::graph::pattern
