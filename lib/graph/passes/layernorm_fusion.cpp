// Decomposed LayerNorm -> LayerNormalization (ai.onnx 17, axis -1):
//   mean = ReduceMean(x, -1); d = Sub(x, mean); var = ReduceMean(Pow(d, 2) | Mul(d, d), -1);
//   y = Div(d, Sqrt(Add(var, eps))) ; y = Add(Mul(y, gamma), beta)   (operands in either order)
// gamma and beta must be constants. Fires only when a LayerNormalization kernel is registered (or when
// require_kernel is false, for tests).
#include "graph/optimizer.h"
#include "graph/passes/pattern.h"
#include "ops/registry.h"

namespace ortkit::graph {

int fuse_layer_norm(Graph& g, bool require_kernel) {
  using namespace pattern;
  if (require_kernel && !ops::OpRegistry::global().find("", "LayerNormalization", 17)) return 0;
  int fused = 0;
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t di = 0; di < g.nodes.size(); ++di) {
    const Node& div = g.nodes[di];
    if (dead[di] || div.op_type != "Div" || !div.domain.empty() || div.inputs.size() != 2) continue;
    const std::string d = div.inputs[0];
    std::vector<int> used = {static_cast<int>(di)};
    const int sq = producer_of(g, div.inputs[1], "Sqrt");
    if (sq < 0) continue;
    used.push_back(sq);
    const int ae = producer_of(g, g.nodes[sq].inputs[0], "Add");
    if (ae < 0) continue;
    used.push_back(ae);
    std::string var, eps_v;
    for (int k = 0; k < 2; ++k) {
      const Tensor* c = g.constant(g.nodes[ae].inputs[k]);
      if (c && c->numel() == 1 && c->dtype() == DType::f32) {
        eps_v = g.nodes[ae].inputs[k];
        var = g.nodes[ae].inputs[1 - k];
      }
    }
    if (var.empty()) continue;
    const float eps = g.constant(eps_v)->data_as<float>()[0];
    const int rv = g.producer(var);
    if (rv < 0 || !is_reduce_mean_last_axis(g, g.nodes[rv])) continue;
    used.push_back(rv);
    const int sqr = g.producer(g.nodes[rv].inputs[0]);
    if (sqr < 0) continue;
    const Node& s = g.nodes[sqr];
    const bool pow2 =
        s.op_type == "Pow" && s.inputs.size() == 2 && s.inputs[0] == d && is_const_value(g, s.inputs[1], 2.0);
    const bool mul2 = s.op_type == "Mul" && s.inputs.size() == 2 && s.inputs[0] == d && s.inputs[1] == d;
    if (!pow2 && !mul2) continue;
    used.push_back(sqr);
    const int sub = producer_of(g, d, "Sub");
    if (sub < 0) continue;
    used.push_back(sub);
    const std::string x = g.nodes[sub].inputs[0], mean = g.nodes[sub].inputs[1];
    const int rm = g.producer(mean);
    if (rm < 0 || !is_reduce_mean_last_axis(g, g.nodes[rm]) || g.nodes[rm].inputs[0] != x) continue;
    used.push_back(rm);
    // gamma and beta
    const int mg = sole_consumer_of(g, div.outputs[0], "Mul");
    if (mg < 0) continue;
    const std::string gamma = other_operand(g.nodes[mg], div.outputs[0]);
    const Tensor* gt = g.constant(gamma);
    if (!gt || gt->dtype() != DType::f32 || gt->rank() != 1) continue;
    used.push_back(mg);
    const int ab = sole_consumer_of(g, g.nodes[mg].outputs[0], "Add");
    if (ab < 0) continue;
    const std::string beta = other_operand(g.nodes[ab], g.nodes[mg].outputs[0]);
    const Tensor* bt = g.constant(beta);
    if (!bt || bt->dtype() != DType::f32 || bt->rank() != 1 || bt->numel() != gt->numel()) continue;
    used.push_back(ab);
    // Intermediate values must not be read outside the pattern.
    bool ok =
        consumers_within(g, d, used) && consumers_within(g, mean, used) && consumers_within(g, var, used);
    for (int u : used) ok = ok && !dead[u];
    for (int u : used)
      if (u != ab) ok = ok && consumers_within(g, g.nodes[u].outputs[0], used);
    if (!ok) continue;
    Node ln;
    ln.name = g.nodes[ab].name.empty() ? g.fresh_name("LayerNorm") : g.nodes[ab].name + "_layernorm";
    ln.op_type = "LayerNormalization";
    ln.domain = "";
    ln.opset = 17;
    ln.inputs = {x, gamma, beta};
    ln.outputs = {g.nodes[ab].outputs[0]};
    ln.attrs.set_int("axis", -1);
    ln.attrs.set_float("epsilon", eps);
    for (int u : used) dead[u] = true;
    g.nodes[ab] = std::move(ln);  // reuse the last node's slot; it stays alive
    dead[ab] = false;
    ++fused;
  }
  if (fused) {
    g.erase_nodes(dead);
    g.topo_sort();
  }
  return fused;
}

}  // namespace ortkit::graph
