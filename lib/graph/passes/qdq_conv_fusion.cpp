// The QDQ form of a statically quantized Conv (ONNX Runtime's quantize_static QDQ format, ort-quantize
// --mode static):
//
//   x' = DequantizeLinear(x_q, x_s, x_zp)            x_s, x_zp: constant, per tensor; x_q u8/s8
//   w' = DequantizeLinear(W_q, w_s, w_zp?)           W_q: constant u8/s8 [M, C/g, kh, kw]; w_s/w_zp per
//                                                     tensor or per output channel (axis 0)
//   b' = bias (float constant) or DequantizeLinear(int32 constant, x_s * w_s), optional
//   y  = QuantizeLinear([Relu|Clip](Conv(x', w', b')), y_s, y_zp?)    y_s, y_zp: constant, per tensor
//
// becomes ortkit.QdqConv(x_q, x_s, x_zp, W_q, w_s, w_zp, bias, y_s, y_zp) with the Conv attributes
// (plus activation/clip_min/clip_max): one u8s8 (or s8s8) GEMM per image and group with the
// dequantization, bias and activation in the epilogue and the requantized u8/s8 result written directly,
// so consecutive quantized convs stay int8 in memory. Anything else (per-channel activation parameters,
// non-constant weights, a Conv result read by more than the Q) stays unfused: correct, only slower.
// Pure depthwise convs (one input and one output channel per group) fuse too: QdqConv runs them as a
// direct loop on exact float sums (ops/quant_depthwise.h), not as GEMMs with N = 1.
// Runs before constant folding, which would otherwise turn DequantizeLinear(W_q) into float weights.
#include "graph/optimizer.h"
#include "graph/passes/int8_pattern.h"
#include "graph/passes/pattern.h"
#include "ops/registry.h"

namespace ortkit::graph {

namespace {

bool is_int8_dtype(DType t) {
  return t == DType::u8 || t == DType::i8;
}

/// A constant f32 scalar (1 value, rank <= 1).
bool is_scalar_f32(const Tensor* t) {
  return t && t->dtype() == DType::f32 && t->numel() == 1 && t->rank() <= 1;
}

/// A constant u8/s8 scalar (1 value, rank <= 1).
bool is_scalar_int8(const Tensor* t) {
  return t && is_int8_dtype(t->dtype()) && t->numel() == 1 && t->rank() <= 1;
}

/// Scalar float of a constant input slot, or `dflt` when the slot is absent. False if not constant.
bool const_scalar(const Graph& g, const Node& n, size_t slot, float dflt, float& out) {
  if (slot >= n.inputs.size() || n.inputs[slot].empty()) {
    out = dflt;
    return true;
  }
  const Tensor* t = g.constant(n.inputs[slot]);
  if (!is_scalar_f32(t)) return false;
  out = t->data_as<float>()[0];
  return true;
}

/// The activation between Conv and Q: Relu, or Clip with constant bounds (attributes before opset 11).
bool read_activation(const Graph& g, const Node& n, Node& f) {
  if (n.op_type == "Relu") {
    f.attrs.set_string("activation", "relu");
    return true;
  }
  if (n.op_type != "Clip") return false;
  float lo = -3.4e38f, hi = 3.4e38f;
  if (n.opset < 11) {
    lo = n.attrs.get_float("min", lo);
    hi = n.attrs.get_float("max", hi);
  } else if (!const_scalar(g, n, 1, lo, lo) || !const_scalar(g, n, 2, hi, hi)) {
    return false;
  }
  f.attrs.set_string("activation", "clip");
  f.attrs.set_float("clip_min", lo);
  f.attrs.set_float("clip_max", hi);
  return true;
}

}  // namespace

int fuse_qdq_conv(Graph& g, bool require_kernel) {
  using namespace pattern;
  if (require_kernel && !ops::OpRegistry::global().knows(ops::kOrtkitDomain, "QdqConv")) return 0;
  int fused = 0;
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& cv = g.nodes[i];
    if (dead[i] || cv.op_type != "Conv" || !cv.domain.empty() || cv.inputs.size() < 2) continue;
    // Weights: DequantizeLinear of a constant 2-D-conv int8 tensor.
    const int wi = producer_of(g, cv.inputs[1], "DequantizeLinear");
    if (wi < 0) continue;
    const Node& dw = g.nodes[wi];
    const Tensor* w = g.constant(dw.inputs[0]);
    if (!w || !is_int8_dtype(w->dtype()) || w->rank() != 4) continue;
    const int64_t m = w->shape()[0];
    const int64_t group = cv.attrs.get_int("group", 1);
    if (group < 1 || m % group != 0) continue;
    const Tensor* ws = dw.inputs.size() > 1 ? g.constant(dw.inputs[1]) : nullptr;
    if (!ws || ws->dtype() != DType::f32) continue;
    if (ws->numel() != 1 || ws->rank() > 1) {
      if (dw.opset < 13 || ws->rank() != 1 || ws->numel() != m) continue;
      const int64_t axis = dw.attrs.get_int("axis", 1);
      if (axis != 0 && axis != -4) continue;
    }
    const std::string wzp = dw.inputs.size() > 2 ? dw.inputs[2] : "";
    if (!int8::is_per_column_int(g, wzp, m)) continue;
    if (!wzp.empty() && g.constant(wzp)->dtype() != w->dtype()) continue;
    // Activations: DequantizeLinear(x_q) with constant per-tensor parameters (zero point present, so
    // its dtype tells x_q's).
    const int xi = producer_of(g, cv.inputs[0], "DequantizeLinear");
    if (xi < 0) continue;
    const Node& dx = g.nodes[xi];
    if (dx.inputs.size() < 3 || !is_scalar_f32(g.constant(dx.inputs[1])) ||
        !is_scalar_int8(g.constant(dx.inputs[2])))
      continue;
    // Bias: float constant or DequantizeLinear(int32 constant) of M values.
    std::string bias;
    if (cv.inputs.size() > 2 && !cv.inputs[2].empty()) {
      bias = int8::constant_or_folded_dq(g, cv.inputs[2]);
      if (bias.empty() || !int8::is_bias(g.constant(bias), m) || g.constant(bias)->rank() != 1) continue;
    }
    // Output: [Relu | Clip ->] QuantizeLinear with constant per-tensor parameters.
    Node f;
    int act = -1;
    int qi = sole_consumer_of(g, cv.outputs[0], "QuantizeLinear");
    if (qi < 0) {
      act = sole_consumer(g, cv.outputs[0]);
      if (act < 0 || !g.nodes[act].domain.empty() || !read_activation(g, g.nodes[act], f)) continue;
      qi = sole_consumer_of(g, g.nodes[act].outputs[0], "QuantizeLinear");
      if (qi < 0) continue;
    }
    const Node& q = g.nodes[qi];
    if (q.inputs.size() < 2 || !is_scalar_f32(g.constant(q.inputs[1]))) continue;
    const std::string yzp = q.inputs.size() > 2 ? q.inputs[2] : "";
    if (!yzp.empty() && !is_scalar_int8(g.constant(yzp))) continue;
    if (yzp.empty() && q.attrs.get_int("output_dtype", 0) != 0) continue;  // opset 21: not u8 by default
    if (q.attrs.get_int("block_size", 0) != 0) continue;

    f.name = cv.name;
    f.op_type = "QdqConv";
    f.domain = ops::kOrtkitDomain;
    f.opset = 1;
    for (const char* a : {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"})
      if (const ops::Attribute* at = cv.attrs.find(a)) f.attrs.set(a, *at);
    f.inputs = {dx.inputs[0], dx.inputs[1], dx.inputs[2], dw.inputs[0], dw.inputs[1],
                wzp,          bias,         q.inputs[1],  yzp};
    int8::trim_inputs(f);
    f.outputs = {q.outputs[0]};
    dead[static_cast<size_t>(qi)] = true;
    if (act >= 0) dead[static_cast<size_t>(act)] = true;
    g.nodes[i] = std::move(f);
    ++fused;
  }
  if (fused) int8::erase_fused(g, dead);
  return fused;
}

}  // namespace ortkit::graph
