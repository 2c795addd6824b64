// Where an elementwise activation can join a GEMM's epilogue (the GELU and swish fusion passes): the GEMM
// that writes x, seen through torch's Reshape around addmm, and the rewrite that hands it the activation.
#pragma once
#include <string>

#include "graph/graph.h"

namespace ortkit::graph {

/// A GEMM an activation can join: a plain MatMul, our FusedMatMul without an activation, one of the int8
/// GEMMs (passes/dynquant_matmul_fusion.cpp, qdq_matmul_fusion.cpp), which take it in their epilogue, or
/// an ONNX Gemm that FusedMatMul can run as it is (it becomes one).
enum class ActHost { none, plain, fused, int8, gemm };
ActHost act_host(const Graph& g, const Node& n);

/// Where x comes from: the GEMM (act_host) and, when torch's Reshape sits between them, that Reshape
/// (the GEMM's only reader). gemm < 0: no host.
struct GemmSite {
  int gemm = -1, reshape = -1;
  ActHost host = ActHost::none;
};
GemmSite find_gemm_host(const Graph& g, const std::string& x);

/// The host GEMM takes `act` (an `activation` attribute value, kernels::act_name) in its epilogue; `y`
/// (the activation's output) is now written by the GEMM, or by the Reshape after it.
void take_activation(Graph& g, const GemmSite& site, const std::string& act, const std::string& y);

}  // namespace ortkit::graph
