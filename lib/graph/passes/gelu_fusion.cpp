// GELU after a GEMM -> the GEMM epilogue (kernels::Act::gelu_erf / gelu_tanh).
//   erf form:  0.5 * x * (1 + Erf(x / sqrt(2)))          (Div by 1.4142 or Mul by 0.7071)
//   tanh form: 0.5 * x * (1 + Tanh(0.79788 * (x + 0.044715 * x^3)))   (x^3 as Pow(x, 3) or x*x*x)
// The three multiplications may come in any order: (x * e) * 0.5, x * (e * 0.5), (x * 0.5) * e.
// x must come from a MatMul / FusedMatMul (or the int8 DynQuantMatMul / QdqMatMul) without an activation, or
// from an ONNX Gemm that FusedMatMul can run (it becomes one), and every reader of x must be part of the
// pattern; then the GEMM takes the activation and the pattern's output name. A Reshape between the GEMM and
// the pattern stays where it is: torch exports addmm (GPT-2's Conv1D, any nn.Linear it flattens) as
// Reshape -> Gemm -> Reshape, and an elementwise activation commutes with the Reshape. (Unfused, GPT-2's
// tanh GELU was a third of its fp32 time at sequence 128.)
// The single-node forms go the same way: ONNX Gelu (opset 20) and the com.microsoft Gelu, BiasGelu and
// FastGelu that ONNX Runtime's transformer optimizer writes; a BiasGelu / FastGelu bias (a constant of N
// values) becomes the GEMM's bias, so a MatMul that already has one keeps its GELU node.
#include <cmath>

#include "graph/optimizer.h"
#include "graph/passes/gemm_act_host.h"
#include "graph/passes/pattern.h"
#include "ops/registry.h"

namespace ortkit::graph {
namespace {
using namespace pattern;

bool is_mul(const Node& n) {
  return n.op_type == "Mul" && n.domain.empty();
}

/// x^3 as Pow(x, 3), Mul(x, Mul(x, x)) or Mul(Mul(x, x), x). Adds the nodes to `used`.
bool is_cube(const Graph& g, const std::string& v, const std::string& x, std::vector<int>& used) {
  const int p = g.producer(v);
  if (p < 0) return false;
  const Node& n = g.nodes[p];
  if (n.op_type == "Pow" && n.inputs.size() == 2 && n.inputs[0] == x && is_const_value(g, n.inputs[1], 3.0)) {
    used.push_back(p);
    return true;
  }
  if (!is_mul(n)) return false;
  const std::string o = other_operand(n, x);
  if (o.empty()) return false;
  const int q = producer_of(g, o, "Mul");
  if (q < 0 || g.nodes[q].inputs[0] != x || g.nodes[q].inputs[1] != x) return false;
  used.push_back(p);
  used.push_back(q);
  return true;
}

/// The argument of the Erf/Tanh: returns x (or "") and the nodes used.
std::string match_inner(const Graph& g, const Node& act, bool tanh_form, std::vector<int>& used) {
  const int p = g.producer(act.inputs[0]);
  if (p < 0) return {};
  const Node& n = g.nodes[p];
  if (!tanh_form) {
    used.push_back(p);
    if (n.op_type == "Div" && is_const_value(g, n.inputs[1], std::sqrt(2.0), 1e-3)) return n.inputs[0];
    if (is_mul(n)) {
      for (int k = 0; k < 2; ++k)
        if (is_const_value(g, n.inputs[1 - k], 1.0 / std::sqrt(2.0), 1e-3)) return n.inputs[k];
    }
    return {};
  }
  // Tanh(c * (x + 0.044715 * x^3)), c = sqrt(2/pi)
  if (!is_mul(n)) return {};
  used.push_back(p);
  std::string sum;
  for (int k = 0; k < 2; ++k)
    if (is_const_value(g, n.inputs[1 - k], std::sqrt(2.0 / M_PI), 1e-3)) sum = n.inputs[k];
  const int s = producer_of(g, sum, "Add");
  if (s < 0) return {};
  used.push_back(s);
  for (int k = 0; k < 2; ++k) {
    const std::string x = g.nodes[s].inputs[k], term = g.nodes[s].inputs[1 - k];
    const int m = producer_of(g, term, "Mul");
    if (m < 0) continue;
    for (int j = 0; j < 2; ++j) {
      std::vector<int> u = used;
      u.push_back(m);
      if (is_const_value(g, g.nodes[m].inputs[1 - j], 0.044715, 1e-3) &&
          is_cube(g, g.nodes[m].inputs[j], x, u)) {
        used = u;
        return x;
      }
    }
  }
  return {};
}

}  // namespace

namespace {

/// The activation a single GELU node computes, or "" when it is not one (or has attributes we do not fold).
std::string single_node_gelu(const Node& n) {
  if (n.domain.empty() && n.op_type == "Gelu")
    return n.attrs.get_string("approximate", "none") == "tanh" ? "gelu_tanh" : "gelu_erf";
  if (n.domain != ops::kMsDomain) return {};
  if (n.op_type == "Gelu" || n.op_type == "BiasGelu") return "gelu_erf";
  if (n.op_type == "FastGelu") return "gelu_tanh";
  return {};
}

int fuse_single_node_gelu(Graph& g, std::vector<bool>& dead) {
  using namespace pattern;
  int fused = 0;
  for (size_t e = 0; e < g.nodes.size(); ++e) {
    const Node& act = g.nodes[e];
    const std::string kind = dead[e] || act.inputs.empty() ? std::string() : single_node_gelu(act);
    if (kind.empty() || act.outputs.size() != 1) continue;
    const std::string bias = act.inputs.size() > 1 ? act.inputs[1] : std::string();
    if (sole_consumer(g, act.inputs[0]) != static_cast<int>(e)) continue;
    if (!bias.empty()) {
      // The bias joins a plain MatMul (no Reshape between) that has none yet; it must be N constant values.
      const int gi = g.producer(act.inputs[0]);
      if (gi < 0 || dead[gi] || act_host(g, g.nodes[gi]) != ActHost::plain) continue;
      Node& gemm = g.nodes[gi];
      const Tensor* w = g.constant(gemm.inputs[1]);
      const Tensor* c = g.constant(bias);
      if (!w || w->rank() < 2 || !c || c->dtype() != DType::f32 || c->rank() != 1 ||
          c->numel() != w->shape().back())
        continue;
      gemm.inputs.push_back(bias);
      take_activation(g, GemmSite{gi, -1, ActHost::plain}, kind, act.outputs[0]);
    } else {
      const GemmSite site = find_gemm_host(g, act.inputs[0]);
      if (site.gemm < 0 || dead[site.gemm] || (site.reshape >= 0 && dead[site.reshape])) continue;
      take_activation(g, site, kind, act.outputs[0]);
    }
    dead[e] = true;
    ++fused;
  }
  return fused;
}

}  // namespace

int fuse_gelu(Graph& g) {
  int fused = 0;
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t e = 0; e < g.nodes.size(); ++e) {
    const Node& act = g.nodes[e];
    const bool tanh_form = act.op_type == "Tanh";
    if (dead[e] || !act.domain.empty() || (act.op_type != "Erf" && !tanh_form)) continue;
    std::vector<int> used = {static_cast<int>(e)};
    const std::string x = match_inner(g, act, tanh_form, used);
    if (x.empty()) continue;
    // 1 + act
    const int a1 = sole_consumer_of(g, act.outputs[0], "Add");
    if (a1 < 0 || !is_const_value(g, other_operand(g.nodes[a1], act.outputs[0]), 1.0)) continue;
    used.push_back(a1);
    const std::string one_plus = g.nodes[a1].outputs[0];
    const int n1 = sole_consumer(g, one_plus);
    if (n1 < 0 || !is_mul(g.nodes[n1])) continue;
    used.push_back(n1);
    const std::string o = other_operand(g.nodes[n1], one_plus);
    std::string y;
    if (o == x) {  // (x * e) * 0.5
      const int n2 = sole_consumer(g, g.nodes[n1].outputs[0]);
      if (n2 < 0 || !is_mul(g.nodes[n2]) ||
          !is_const_value(g, other_operand(g.nodes[n2], g.nodes[n1].outputs[0]), 0.5))
        continue;
      used.push_back(n2);
      y = g.nodes[n2].outputs[0];
    } else if (is_const_value(g, o, 0.5)) {  // x * (e * 0.5)
      const int n2 = sole_consumer(g, g.nodes[n1].outputs[0]);
      if (n2 < 0 || !is_mul(g.nodes[n2]) || other_operand(g.nodes[n2], g.nodes[n1].outputs[0]) != x) continue;
      used.push_back(n2);
      y = g.nodes[n2].outputs[0];
    } else {  // (x * 0.5) * e
      const int h = producer_of(g, o, "Mul");
      if (h < 0 || !is_const_value(g, other_operand(g.nodes[h], x), 0.5) || sole_consumer(g, o) != n1)
        continue;
      used.push_back(h);
      y = g.nodes[n1].outputs[0];
    }
    if (!consumers_within(g, x, used)) continue;
    const GemmSite site = find_gemm_host(g, x);
    if (site.gemm < 0) continue;
    bool clash = site.reshape >= 0 && dead[site.reshape];
    for (int u : used) clash = clash || dead[u];
    if (clash || dead[site.gemm]) continue;
    take_activation(g, site, tanh_form ? "gelu_tanh" : "gelu_erf", y);
    for (int u : used) dead[u] = true;
    ++fused;
  }
  fused += fuse_single_node_gelu(g, dead);
  if (fused) {
    g.erase_nodes(dead);
    g.topo_sort();
  }
  return fused;
}

}  // namespace ortkit::graph
