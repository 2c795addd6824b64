#include "graph/passes/gemm_act_host.h"

#include "graph/passes/pattern.h"
#include "ops/registry.h"

namespace ortkit::graph {
namespace {

/// An ONNX Gemm that FusedMatMul runs as it is: op(A) = A, alpha = 1, a constant 2-D float B (transB
/// allowed), and C absent, scaled by beta = 0, or a constant of N values ([N] or [1, N]) with beta = 1.
bool gemm_as_fused(const Graph& g, const Node& n) {
  if (n.op_type != "Gemm" || !n.domain.empty() || n.inputs.size() < 2 || n.attrs.get_int("transA", 0) != 0 ||
      n.attrs.get_float("alpha", 1.f) != 1.f)
    return false;
  const Tensor* b = g.constant(n.inputs[1]);
  if (!b || b->dtype() != DType::f32 || b->rank() != 2) return false;
  const int64_t cols = b->shape()[n.attrs.get_int("transB", 0) != 0 ? 0 : 1];
  const float beta = n.attrs.get_float("beta", 1.f);
  if (n.inputs.size() < 3 || n.inputs[2].empty() || beta == 0.f) return true;
  const Tensor* c = g.constant(n.inputs[2]);
  return beta == 1.f && c && c->dtype() == DType::f32 && c->numel() == cols &&
         (c->rank() == 1 || (c->rank() == 2 && c->shape()[0] == 1));
}

/// The Gemm gemm_as_fused accepted, rewritten as FusedMatMul(A, B[, bias]) with its transB.
void gemm_to_fused(Node& n) {
  const bool tb = n.attrs.get_int("transB", 0) != 0;
  const bool bias = n.inputs.size() >= 3 && !n.inputs[2].empty() && n.attrs.get_float("beta", 1.f) != 0.f;
  n.inputs.resize(bias ? 3 : 2);
  for (const char* a : {"alpha", "beta", "transA", "transB"}) n.attrs.erase(a);
  if (tb) n.attrs.set_int("transB", 1);
}

}  // namespace

ActHost act_host(const Graph& g, const Node& n) {
  if (n.op_type == "MatMul" && n.domain.empty() && n.inputs.size() == 2) return ActHost::plain;
  if (gemm_as_fused(g, n)) return ActHost::gemm;
  if (n.domain != ops::kOrtkitDomain || !n.attrs.get_string("activation", "").empty()) return ActHost::none;
  if (n.op_type == "FusedMatMul") return ActHost::fused;
  if (n.op_type == "DynQuantMatMul" || n.op_type == "QdqMatMul") return ActHost::int8;
  return ActHost::none;
}

GemmSite find_gemm_host(const Graph& g, const std::string& x) {
  GemmSite s;
  int p = g.producer(x);
  if (p >= 0 && g.nodes[p].op_type == "Reshape" && g.nodes[p].domain.empty() && !g.nodes[p].inputs.empty()) {
    const std::string& flat = g.nodes[p].inputs[0];
    if (pattern::sole_consumer(g, flat) != p) return s;
    s.reshape = p;
    p = g.producer(flat);
  }
  if (p < 0) return s;
  s.host = act_host(g, g.nodes[p]);
  if (s.host != ActHost::none) s.gemm = p;
  return s;
}

void take_activation(Graph& g, const GemmSite& site, const std::string& act, const std::string& y) {
  Node& gemm = g.nodes[site.gemm];
  if (site.host == ActHost::gemm) gemm_to_fused(gemm);
  if (site.host != ActHost::int8) {
    gemm.op_type = "FusedMatMul";
    gemm.domain = ops::kOrtkitDomain;
    gemm.opset = 1;
  }
  gemm.attrs.set_string("activation", act);
  g.nodes[site.reshape >= 0 ? site.reshape : site.gemm].outputs[0] = y;
}

}  // namespace ortkit::graph
