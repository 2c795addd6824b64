// Conv -> Add [-> Relu] -> ortkit.FusedConv(X, W, B, Z) with activation "relu" or none:
//   Y = act(Conv(X, W, B) + Z)
// the residual join of ResNet-style blocks. The convolution writes Z (plus its bias) into Y and its GEMM
// accumulates onto it, so the Add and the Relu cost no pass of their own. Shapes are not known here: the
// fused kernel checks at compile time whether Z has the conv's output shape and adds it afterwards under
// numpy broadcasting when it does not. The fused node takes the Add's place in the order, after Z's
// producer. Fires only when an ortkit.FusedConv kernel is registered (or require_kernel is false).
// An ortkit.DynQuantConv (dynamic int8, fused before this pass) takes its residual join the same way, as
// input 5: int8 ResNet-50's 16 Add + Relu pairs were 6% of its run as passes of their own.
#include "graph/optimizer.h"
#include "graph/passes/pattern.h"
#include "ops/registry.h"

namespace ortkit::graph {

int fuse_conv_add(Graph& g, bool require_kernel) {
  using namespace pattern;
  if (require_kernel && !ops::OpRegistry::global().find(ops::kOrtkitDomain, "FusedConv", 1)) return 0;
  int fused = 0;
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t ci = 0; ci < g.nodes.size(); ++ci) {
    const Node& conv = g.nodes[ci];
    const bool dyn = conv.op_type == "DynQuantConv" && conv.domain == ops::kOrtkitDomain &&
                     conv.attrs.get_string("activation", "none") == "none" && conv.inputs.size() <= 5;
    if (dead[ci] || !(dyn || (conv.op_type == "Conv" && conv.domain.empty())) || conv.inputs.size() < 2 ||
        conv.outputs.size() != 1)
      continue;
    const int ai = sole_consumer_of(g, conv.outputs[0], "Add");
    if (ai < 0 || dead[ai]) continue;
    const Node& add = g.nodes[ai];
    if (add.inputs.size() != 2 || add.inputs[0] == add.inputs[1]) continue;
    const std::string z = other_operand(add, conv.outputs[0]);
    if (z.empty()) continue;
    const int ri = sole_consumer_of(g, add.outputs[0], "Relu");
    const bool relu = ri >= 0 && !dead[ri];

    Node f = conv;
    if (!dyn) {
      f.op_type = "FusedConv";
      f.domain = ops::kOrtkitDomain;
      f.opset = 1;
    }
    f.inputs.resize(dyn ? 5 : 3);  // "" keeps an absent bias (or DynQuantConv's W_zero_point) absent
    f.inputs.push_back(z);
    f.attrs.set_string("activation", relu ? "relu" : "none");
    f.outputs = {relu ? g.nodes[ri].outputs[0] : add.outputs[0]};
    g.nodes[ai] = std::move(f);
    dead[ci] = true;
    if (relu) dead[ri] = true;
    ++fused;
  }
  if (fused) g.erase_nodes(dead);
  return fused;
}

}  // namespace ortkit::graph
