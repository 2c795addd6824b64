// The QDQ form of a quantized MatMul (ONNX Runtime's quantize_static QDQ format, ort-quantize):
//
//   x' = DequantizeLinear(QuantizeLinear(x, a_s, a_zp), a_s, a_zp)   a_s, a_zp: constant, per tensor
//   w' = DequantizeLinear(W_q, w_s, w_zp?)                           W_q: constant u8/s8 [K, N]
//   y  = MatMul(x', w')  [-> Add(y, bias)]      or  Gemm(x', w', bias?) with alpha = beta = 1, no transA
//
// becomes ortkit.QdqMatMul(x, a_s, a_zp, W_q, w_s, w_zp, bias) (attribute trans_b from Gemm's transB):
// one int8 GEMM with the dequantization and bias in its epilogue. Per-column weight scales need the
// DequantizeLinear axis to be the N axis. The bias may be a float constant or DequantizeLinear of an
// int32 constant (ort-quantize's QDQ form), folded here.
// Runs before constant folding, which would otherwise turn DequantizeLinear(W_q) into float weights.
#include "graph/optimizer.h"
#include "graph/passes/int8_pattern.h"
#include "graph/passes/pattern.h"
#include "ops/registry.h"

namespace ortkit::graph {

namespace {
/// Two constants with the same dtype and bytes (or the same value name).
bool same_const(const Graph& g, const std::string& a, const std::string& b) {
  if (a == b) return true;
  const Tensor *x = g.constant(a), *y = g.constant(b);
  return x && y && x->dtype() == y->dtype() && x->numel() == y->numel() &&
         std::equal(static_cast<const char*>(x->data()), static_cast<const char*>(x->data()) + x->bytes(),
                    static_cast<const char*>(y->data()));
}
}  // namespace

int fuse_qdq_matmul(Graph& g, bool require_kernel) {
  using namespace pattern;
  if (require_kernel && !ops::OpRegistry::global().knows(ops::kOrtkitDomain, "QdqMatMul")) return 0;
  int fused = 0;
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& mm = g.nodes[i];
    if (dead[i] || !mm.domain.empty()) continue;
    const bool gemm = mm.op_type == "Gemm";
    if (!(mm.op_type == "MatMul" && mm.inputs.size() == 2) && !(gemm && mm.inputs.size() >= 2)) continue;
    bool trans_b = false;
    if (gemm) {
      const ops::Attrs& a = mm.attrs;
      if (a.get_int("transA", 0) != 0 || a.get_float("alpha", 1.f) != 1.f || a.get_float("beta", 1.f) != 1.f)
        continue;
      trans_b = a.get_int("transB", 0) != 0;
    }
    // Weights: DequantizeLinear of a constant int8 matrix.
    const int wi = producer_of(g, mm.inputs[1], "DequantizeLinear");
    if (wi < 0) continue;
    const Node& dw = g.nodes[wi];
    const Tensor* w = g.constant(dw.inputs[0]);
    if (!int8::is_int8_matrix(w)) continue;
    const int64_t n = w->shape()[trans_b ? 0 : 1];
    const Tensor* ws = dw.inputs.size() > 1 ? g.constant(dw.inputs[1]) : nullptr;
    if (!ws || ws->dtype() != DType::f32) continue;
    if (ws->numel() != 1) {
      if (dw.opset < 13 || ws->rank() != 1 || ws->numel() != n) continue;
      const int64_t axis = dw.attrs.get_int("axis", 1);
      if (trans_b ? (axis != 0 && axis != -2) : (axis != 1 && axis != -1)) continue;
    }
    const std::string wzp = dw.inputs.size() > 2 ? dw.inputs[2] : "";
    if (!int8::is_per_column_int(g, wzp, n)) continue;
    // Activations: DequantizeLinear(QuantizeLinear(x)) with the same constant per-tensor parameters.
    const int da = producer_of(g, mm.inputs[0], "DequantizeLinear");
    if (da < 0 || g.nodes[da].inputs.size() < 3) continue;
    const Node& dqa = g.nodes[da];
    const int qa = producer_of(g, dqa.inputs[0], "QuantizeLinear");
    if (qa < 0 || g.nodes[qa].inputs.size() < 3) continue;
    const Node& qn = g.nodes[qa];
    const Tensor* as = g.constant(qn.inputs[1]);
    const Tensor* az = g.constant(qn.inputs[2]);
    if (!as || as->dtype() != DType::f32 || as->numel() != 1 || !az || az->numel() != 1) continue;
    if (az->dtype() != DType::u8 && az->dtype() != DType::i8) continue;
    if (!same_const(g, qn.inputs[1], dqa.inputs[1]) || !same_const(g, qn.inputs[2], dqa.inputs[2])) continue;
    std::string out = mm.outputs[0], bias;
    int ai = -1;
    if (gemm && mm.inputs.size() > 2 && !mm.inputs[2].empty()) {
      bias = int8::constant_or_folded_dq(g, mm.inputs[2]);
      if (bias.empty() || !int8::is_bias(g.constant(bias), n)) continue;
    } else {
      ai = int8::bias_add_after(g, out, n, bias);
      if (ai >= 0) out = g.nodes[ai].outputs[0];
    }

    Node f;
    f.name = mm.name;
    f.op_type = "QdqMatMul";
    f.domain = ops::kOrtkitDomain;
    f.opset = 1;
    f.inputs = {qn.inputs[0], qn.inputs[1], qn.inputs[2], dw.inputs[0], dw.inputs[1], wzp, bias};
    int8::trim_inputs(f);
    f.outputs = {out};
    if (trans_b) f.attrs.set_int("trans_b", 1);
    if (ai >= 0) dead[ai] = true;
    g.nodes[i] = std::move(f);
    ++fused;
  }
  if (fused) int8::erase_fused(g, dead);
  return fused;
}

}  // namespace ortkit::graph
