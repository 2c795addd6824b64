// The dynamic-quantization chain of a Conv (ONNX Runtime's quantize_dynamic, ort-quantize):
//
//   (x_q, x_s, x_zp) = DynamicQuantizeLinear(x)
//   acc = ConvInteger(x_q, W_q, x_zp, W_zp?)              W_q: constant u8/s8 [M, C/g, kh, kw]
//   y   = Mul(Cast(acc, to=float), Mul(x_s, W_scale))    W_scale: 1 value, or M shaped [M, 1, 1]
//   [-> Add(y, bias)]                                     bias: M values shaped [M, 1, 1] / [1, M, 1, 1]
//
// becomes ortkit.DynQuantConv(x, W_q, W_scale, W_zp, bias) with the Conv attributes: x is quantized once
// into scratch and the int32 result is scaled and biased while it is written out. Only per-channel
// shapes that broadcast over the channel axis are accepted (a bare [M] would broadcast over width).
#include "graph/optimizer.h"
#include "graph/passes/int8_pattern.h"
#include "graph/passes/pattern.h"
#include "ops/registry.h"

namespace ortkit::graph {

namespace {
/// 1 value (any shape of ones) or m values shaped [m, 1, 1] or [1, m, 1, 1].
bool is_channel_vector(const Tensor* t, int64_t m) {
  if (!t || t->dtype() != DType::f32) return false;
  if (t->numel() == 1) return true;
  if (t->numel() != m) return false;
  const Shape& s = t->shape();
  if (s.size() == 3) return s[1] == 1 && s[2] == 1;
  if (s.size() == 4) return s[0] == 1 && s[2] == 1 && s[3] == 1;
  return false;
}
}  // namespace

int fuse_dynquant_conv(Graph& g, bool require_kernel) {
  using namespace pattern;
  if (require_kernel && !ops::OpRegistry::global().knows(ops::kOrtkitDomain, "DynQuantConv")) return 0;
  int fused = 0;
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& cv = g.nodes[i];
    if (dead[i] || cv.op_type != "ConvInteger" || !cv.domain.empty() || cv.inputs.size() < 3) continue;
    const int di = producer_of(g, cv.inputs[0], "DynamicQuantizeLinear");
    if (di < 0) continue;
    const Node& dq = g.nodes[di];
    if (dq.outputs.size() < 3 || dq.outputs[0] != cv.inputs[0] || cv.inputs[2] != dq.outputs[2]) continue;
    const Tensor* w = g.constant(cv.inputs[1]);
    if (!w || (w->dtype() != DType::u8 && w->dtype() != DType::i8) || w->rank() != 4) continue;
    const int64_t m = w->shape()[0];
    const std::string wzp = cv.inputs.size() > 3 ? cv.inputs[3] : "";
    if (!int8::is_per_column_int(g, wzp, m)) continue;
    if (!wzp.empty() && g.constant(wzp)->dtype() != w->dtype()) continue;
    const int ci = sole_consumer_of(g, cv.outputs[0], "Cast");
    if (ci < 0 || g.nodes[ci].attrs.get_int("to", 0) != 1) continue;
    const int mi = sole_consumer_of(g, g.nodes[ci].outputs[0], "Mul");
    if (mi < 0) continue;
    const std::string s = other_operand(g.nodes[mi], g.nodes[ci].outputs[0]);
    const int si = producer_of(g, s, "Mul");
    if (si < 0) continue;
    const std::string wscale = other_operand(g.nodes[si], dq.outputs[1]);
    if (wscale.empty() || !is_channel_vector(g.constant(wscale), m)) continue;
    std::string out = g.nodes[mi].outputs[0], bias;
    const int ai = sole_consumer_of(g, out, "Add");
    int bias_add = -1;
    if (ai >= 0) {
      const std::string c = other_operand(g.nodes[ai], out);
      const Tensor* b = g.constant(c);
      if (b && b->numel() == m && is_channel_vector(b, m)) {
        bias = c;
        bias_add = ai;
        out = g.nodes[ai].outputs[0];
      }
    }
    Node f;
    f.name = cv.name.empty() ? g.nodes[mi].name : cv.name;
    f.op_type = "DynQuantConv";
    f.domain = ops::kOrtkitDomain;
    f.opset = 1;
    f.attrs = cv.attrs;
    f.inputs = {dq.inputs[0], cv.inputs[1], wscale, wzp, bias};
    int8::trim_inputs(f);
    f.outputs = {out};
    dead[ci] = dead[mi] = true;
    if (bias_add >= 0) dead[bias_add] = true;
    g.nodes[i] = std::move(f);
    ++fused;
  }
  if (fused) int8::erase_fused(g, dead);
  return fused;
}

}  // namespace ortkit::graph
