// Conv + Relu / Clip -> ortkit.FusedConv: the Conv inputs and attributes plus
//   activation = "relu" | "clip", clip_min, clip_max (floats)
// so the activation is applied in the convolution's GEMM epilogue. Clip bounds come from attributes
// (opset < 11) or constant inputs (opset >= 11; absent = unbounded). Fires only when an ortkit.FusedConv
// kernel is registered (or require_kernel is false). An ortkit.DynQuantConv (the fused dynamic int8 conv,
// dynquant_conv_fusion.cpp, which runs first) takes its Relu / Clip the same way: MobileNetV2's 35
// ReLU6s were a third of its dynamic int8 run as separate passes.
#include "graph/optimizer.h"
#include "graph/passes/pattern.h"
#include "ops/registry.h"

namespace ortkit::graph {

int fuse_conv_activation(Graph& g, bool require_kernel) {
  using namespace pattern;
  if (require_kernel && !ops::OpRegistry::global().find(ops::kOrtkitDomain, "FusedConv", 1)) return 0;
  int fused = 0;
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t ci = 0; ci < g.nodes.size(); ++ci) {
    Node& conv = g.nodes[ci];
    const bool dyn = conv.op_type == "DynQuantConv" && conv.domain == ops::kOrtkitDomain &&
                     conv.attrs.get_string("activation", "none") == "none";
    if (dead[ci] || !(dyn || (conv.op_type == "Conv" && conv.domain.empty()))) continue;
    const int ai = sole_consumer(g, conv.outputs[0]);
    if (ai < 0 || dead[ai] || !g.nodes[ai].domain.empty()) continue;
    const Node& act = g.nodes[ai];
    float lo = -3.4e38f, hi = 3.4e38f;
    std::string kind;
    if (act.op_type == "Relu") {
      kind = "relu";
    } else if (act.op_type == "Clip") {
      kind = "clip";
      if (act.opset < 11) {
        lo = act.attrs.get_float("min", lo);
        hi = act.attrs.get_float("max", hi);
      } else {
        bool ok = true;
        for (size_t k = 1; k < act.inputs.size() && k < 3; ++k) {
          if (act.inputs[k].empty()) continue;
          const Tensor* t = g.constant(act.inputs[k]);
          if (!t || t->dtype() != DType::f32 || t->numel() != 1) {
            ok = false;
            break;
          }
          (k == 1 ? lo : hi) = t->data_as<float>()[0];
        }
        if (!ok) continue;
      }
    } else {
      continue;
    }
    if (!dyn) {
      conv.op_type = "FusedConv";
      conv.domain = ops::kOrtkitDomain;
      conv.opset = 1;
    }
    conv.attrs.set_string("activation", kind);
    conv.attrs.set_float("clip_min", lo);
    conv.attrs.set_float("clip_max", hi);
    conv.outputs[0] = act.outputs[0];
    dead[ai] = true;
    ++fused;
  }
  if (fused) g.erase_nodes(dead);
  return fused;
}

}  // namespace ortkit::graph
