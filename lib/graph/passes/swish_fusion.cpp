// SiLU (swish) and HardSwish after a Conv or a GEMM -> its epilogue (kernels::Act::silu / hardswish):
//   silu:      x * Sigmoid(x) (the Mul's operands in either order: torch's SiLU, EfficientNet's swish),
//              and ONNX Swish with alpha = 1 (opset 24)
//   hardswish: ONNX HardSwish (opset 14: torch's Hardswish, MobileNetV3), and x * HardSigmoid(x) with
//              alpha = 1/6, beta = 1/2 (how it is written below opset 14)
// x must come from a plain fp32 Conv (it becomes ortkit.FusedConv), an ortkit.FusedConv without an
// activation (a residual join from conv_add_fusion: the activation follows Z), or a GEMM the GELU pass could
// take (gemm_act_host.h, torch's Reshape around addmm included), and every reader of x must be part of the
// pattern. Unfused, EfficientNet-B0's SiLUs were a third of its fp32 time on 1 thread, and MobileNetV3's
// HardSwish a seventh: each a pass over a tensor the conv had just written.
#include <cmath>

#include "graph/optimizer.h"
#include "graph/passes/gemm_act_host.h"
#include "graph/passes/pattern.h"
#include "ops/registry.h"

namespace ortkit::graph {
namespace {
using namespace pattern;

/// The swish-family activation node `e` starts (with its Mul, if any, added to `used`), its input x and
/// output y; "" when it is not one.
std::string match_swish(const Graph& g, int e, std::string& x, std::string& y, std::vector<int>& used) {
  const Node& n = g.nodes[e];
  if (!n.domain.empty() || n.inputs.empty() || n.outputs.size() != 1) return {};
  x = n.inputs[0];
  y = n.outputs[0];
  if (n.op_type == "HardSwish") return "hardswish";
  if (n.op_type == "Swish") return n.attrs.get_float("alpha", 1.f) == 1.f ? "silu" : "";
  std::string kind;
  if (n.op_type == "Sigmoid")
    kind = "silu";
  else if (n.op_type == "HardSigmoid" && std::abs(n.attrs.get_float("alpha", 0.2f) - 1.f / 6.f) < 1e-6f &&
           n.attrs.get_float("beta", 0.5f) == 0.5f)
    kind = "hardswish";
  else
    return {};
  const int m = sole_consumer_of(g, y, "Mul");
  if (m < 0 || other_operand(g.nodes[m], y) != x) return {};
  used.push_back(m);
  y = g.nodes[m].outputs[0];
  return kind;
}

/// x's producer if it is a conv that can take an activation, else -1.
int conv_host(const Graph& g, const std::string& x) {
  const int p = g.producer(x);
  if (p < 0) return -1;
  const Node& n = g.nodes[p];
  if (n.op_type == "Conv" && n.domain.empty() && n.outputs.size() == 1) return p;
  if (n.op_type == "FusedConv" && n.domain == ops::kOrtkitDomain &&
      n.attrs.get_string("activation", "none") == "none")
    return p;
  return -1;
}

}  // namespace

int fuse_swish(Graph& g) {
  const bool fused_conv = ops::OpRegistry::global().find(ops::kOrtkitDomain, "FusedConv", 1) != nullptr;
  int fused = 0;
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t e = 0; e < g.nodes.size(); ++e) {
    if (dead[e]) continue;
    std::string x, y;
    std::vector<int> used = {static_cast<int>(e)};
    const std::string kind = match_swish(g, static_cast<int>(e), x, y, used);
    if (kind.empty() || !consumers_within(g, x, used)) continue;
    bool clash = false;
    for (int u : used) clash = clash || dead[u];
    if (clash) continue;
    const int c = fused_conv ? conv_host(g, x) : -1;
    if (c >= 0 && !dead[c]) {
      Node& conv = g.nodes[c];
      if (conv.op_type == "Conv") {
        conv.op_type = "FusedConv";
        conv.domain = ops::kOrtkitDomain;
        conv.opset = 1;
      }
      conv.attrs.set_string("activation", kind);
      conv.outputs[0] = y;
    } else {
      const GemmSite site = find_gemm_host(g, x);
      if (site.gemm < 0 || dead[site.gemm] || (site.reshape >= 0 && dead[site.reshape])) continue;
      take_activation(g, site, kind, y);
    }
    for (int u : used) dead[u] = true;
    ++fused;
  }
  if (fused) {
    g.erase_nodes(dead);
    g.topo_sort();
  }
  return fused;
}

}  // namespace ortkit::graph
