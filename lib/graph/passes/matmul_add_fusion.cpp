// MatMul + Add(bias) -> ortkit.FusedMatMul(A, B, bias): the bias is added in the GEMM's epilogue instead
// of a second pass over the output. Matches Add(MatMul, c) and Add(c, MatMul) where c is a constant of N
// values (N = columns of the constant B) shaped [N] or [1, N]. Gemm is left alone (already fused).
#include "graph/optimizer.h"
#include "graph/passes/pattern.h"
#include "ops/registry.h"

namespace ortkit::graph {

int fuse_matmul_add(Graph& g) {
  using namespace pattern;
  int fused = 0;
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& mm = g.nodes[i];
    if (dead[i] || mm.op_type != "MatMul" || !mm.domain.empty() || mm.inputs.size() != 2) continue;
    const Tensor* b = g.constant(mm.inputs[1]);
    if (!b || b->dtype() != DType::f32 || b->rank() < 2) continue;
    const int ai = sole_consumer_of(g, mm.outputs[0], "Add");
    if (ai < 0 || dead[ai]) continue;
    Node& add = g.nodes[ai];
    const std::string bias = other_operand(add, mm.outputs[0]);
    const Tensor* c = g.constant(bias);
    if (!c || c->dtype() != DType::f32 || c->numel() != b->shape().back()) continue;
    if (c->rank() > 2 || (c->rank() == 2 && c->shape()[0] != 1)) continue;
    mm.op_type = "FusedMatMul";
    mm.domain = ops::kOrtkitDomain;
    mm.opset = 1;
    mm.inputs.push_back(bias);
    mm.outputs[0] = add.outputs[0];
    dead[ai] = true;
    ++fused;
  }
  if (fused) {
    g.erase_nodes(dead);
    g.topo_sort();
  }
  return fused;
}

}  // namespace ortkit::graph
