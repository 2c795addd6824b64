// Pixel-major (NHWC) tensors between fused int8 convs: an ortkit.QdqConv whose output is read by one
// other QdqConv only, as its x, hands it over as [N, H, W, C] (output_layout / input_layout "NHWC"), the
// layout both compute in. Each QdqConv transposed its input from NCHW and its output back, so a
// bottleneck's 1x1 -> 3x3 -> 1x1 chain moved every activation through four transposes it did not need.
// Depthwise QdqConvs (their direct loop works on NCHW planes), tensors read by anything else or leaving
// the graph keep NCHW. Runs after qdq_conv_fusion, when the DequantizeLinear nodes the fusion absorbed
// are gone.
#include <algorithm>

#include "graph/optimizer.h"
#include "graph/passes/pattern.h"
#include "ops/registry.h"

namespace ortkit::graph {

namespace {

bool is_qdq_conv(const Node& n) {
  return n.op_type == "QdqConv" && n.domain == ops::kOrtkitDomain;
}

/// A QdqConv that QdqConv runs as a GEMM (one input and one output channel per group is the depthwise
/// loop): W's shape [M, C/g, kh, kw] with C/g > 1 or M/g > 1.
bool runs_gemm(const Graph& g, const Node& n) {
  const Tensor* w = n.inputs.size() > 3 ? g.constant(n.inputs[3]) : nullptr;
  if (!w || w->rank() != 4) return false;
  const int64_t group = n.attrs.get_int("group", 1);
  return group < 1 || w->shape()[1] != 1 || w->shape()[0] != group;
}

}  // namespace

int qdq_conv_layout(Graph& g) {
  using namespace pattern;
  int handed = 0;
  for (Node& a : g.nodes) {
    if (!is_qdq_conv(a) || a.outputs.size() != 1 || !runs_gemm(g, a)) continue;
    if (a.attrs.get_string("output_layout", "NCHW") != "NCHW") continue;
    const int bi = sole_consumer(g, a.outputs[0]);
    if (bi < 0) continue;
    Node& b = g.nodes[static_cast<size_t>(bi)];
    if (!is_qdq_conv(b) || !runs_gemm(g, b) || b.inputs[0] != a.outputs[0]) continue;
    if (std::count(b.inputs.begin(), b.inputs.end(), a.outputs[0]) != 1) continue;
    a.attrs.set_string("output_layout", "NHWC");
    b.attrs.set_string("input_layout", "NHWC");
    ++handed;
  }
  return handed;
}

}  // namespace ortkit::graph
