// The dynamic-quantization chain written by ONNX Runtime's quantize_dynamic (and by ort-quantize):
//
//   (x_q, x_s, x_zp) = DynamicQuantizeLinear(x)
//   s   = Mul(x_s, W_scale)                        W_scale: constant, 1 or N values
//   acc = MatMulInteger(x_q, W_q, x_zp, W_zp?)     W_q: constant u8/s8 [K, N]
//   y   = Mul(Cast(acc, to=float), s)  [-> Add(y, bias)]
//
// becomes one ortkit.DynQuantMatMul(x, W_q, W_scale, W_zp, bias): x is quantized inside the GEMM's
// packing, the scales and bias are applied in its epilogue (kernels::gemm_f32_dynamic_u8). Operands of
// Mul/Add may come in either order. DynamicQuantizeLinear stays while other nodes read it (shared by the
// Q/K/V projections until all of them are fused), then dead-node removal drops it and the scale Mul.
#include "graph/optimizer.h"
#include "graph/passes/int8_pattern.h"
#include "graph/passes/pattern.h"
#include "ops/registry.h"

namespace ortkit::graph {

int fuse_dynquant_matmul(Graph& g, bool require_kernel) {
  using namespace pattern;
  if (require_kernel && !ops::OpRegistry::global().knows(ops::kOrtkitDomain, "DynQuantMatMul")) return 0;
  int fused = 0;
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& mm = g.nodes[i];
    if (dead[i] || mm.op_type != "MatMulInteger" || !mm.domain.empty() || mm.inputs.size() < 3) continue;
    const int di = producer_of(g, mm.inputs[0], "DynamicQuantizeLinear");
    if (di < 0) continue;
    const Node& dq = g.nodes[di];
    if (dq.outputs.size() < 3 || dq.outputs[0] != mm.inputs[0] || mm.inputs[2] != dq.outputs[2]) continue;
    const Tensor* w = g.constant(mm.inputs[1]);
    if (!int8::is_int8_matrix(w)) continue;
    const int64_t n = w->shape()[1];
    const std::string wzp = mm.inputs.size() > 3 ? mm.inputs[3] : "";
    if (!int8::is_per_column_int(g, wzp, n)) continue;
    if (!wzp.empty() && g.constant(wzp)->dtype() != w->dtype()) continue;
    // Cast(to=float) -> Mul(., s) with s = Mul(x_s, W_scale).
    const int ci = sole_consumer_of(g, mm.outputs[0], "Cast");
    if (ci < 0 || g.nodes[ci].attrs.get_int("to", 0) != 1) continue;
    const int mi = sole_consumer_of(g, g.nodes[ci].outputs[0], "Mul");
    if (mi < 0) continue;
    const std::string s = other_operand(g.nodes[mi], g.nodes[ci].outputs[0]);
    const int si = producer_of(g, s, "Mul");
    if (si < 0) continue;
    const std::string wscale = other_operand(g.nodes[si], dq.outputs[1]);
    if (wscale.empty() || !int8::is_per_column_f32(g.constant(wscale), n)) continue;
    std::string out = g.nodes[mi].outputs[0], bias;
    const int ai = int8::bias_add_after(g, out, n, bias);
    if (ai >= 0) out = g.nodes[ai].outputs[0];

    Node f;
    f.name = mm.name.empty() ? g.nodes[mi].name : mm.name;
    f.op_type = "DynQuantMatMul";
    f.domain = ops::kOrtkitDomain;
    f.opset = 1;
    f.inputs = {dq.inputs[0], mm.inputs[1], wscale, wzp, bias};
    int8::trim_inputs(f);
    f.outputs = {out};
    dead[ci] = dead[mi] = true;
    if (ai >= 0) dead[ai] = true;
    g.nodes[i] = std::move(f);
    ++fused;
  }
  if (fused) int8::erase_fused(g, dead);
  return fused;
}

}  // namespace ortkit::graph
