// com.microsoft.DynamicQuantizeLSTM -> LSTM over dequantized weights. ONNX Runtime's quantize_dynamic
// writes it for every LSTM (int8 W and R as [num_directions, input_or_hidden, 4*hidden], with scales and
// zero points per direction or per output channel). The engine has no int8 recurrence: the constant
// weights are dequantized once, transposed to LSTM's [num_directions, 4*hidden, input_or_hidden], and the
// node becomes a plain LSTM, so the model runs in fp32 arithmetic (ONNX Runtime also quantizes X and H
// on the fly; its results differ from these by that rounding). Runs at session start, every level.
#include <algorithm>

#include "graph/optimizer.h"
#include "ops/quant_common.h"

namespace ortkit::graph {
namespace {

enum DqIn { kX, kW, kR, kB, kSeq, kH0, kC0, kP, kWScale, kWZp, kRScale, kRZp };

/// W [dirs, rows, 4H] int8/uint8 with scale / zero point per direction or per (direction, 4H column)
/// -> float [dirs, 4H, rows].
Tensor dequantize_transposed(const Tensor& q, const Tensor& scale, const Tensor& zp) {
  const int64_t dirs = q.shape()[0], rows = q.shape()[1], cols = q.shape()[2];
  const bool per_col = scale.numel() == dirs * cols;
  Tensor out(DType::f32, {dirs, cols, rows});
  float* o = out.data_as<float>();
  for (int64_t d = 0; d < dirs; ++d)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const int64_t p = per_col ? d * cols + c : d;
        const float s = scale.data_as<float>()[p];
        const auto z = static_cast<float>(ops::quant::int_at(zp, p));
        const auto v = static_cast<float>(ops::quant::int_at(q, (d * rows + r) * cols + c));
        o[(d * cols + c) * rows + r] = (v - z) * s;
      }
  return out;
}

bool quantized_weight_ok(const Tensor* q, const Tensor* s, const Tensor* z) {
  if (!q || !s || !z || q->rank() != 3 || (q->dtype() != DType::i8 && q->dtype() != DType::u8)) return false;
  const int64_t dirs = q->shape()[0], cols = q->shape()[2];
  return s->dtype() == DType::f32 && z->dtype() == q->dtype() && s->numel() == z->numel() &&
         (s->numel() == dirs || s->numel() == dirs * cols);
}

}  // namespace

int lower_dynamic_quantize_lstm(Graph& g) {
  int rewritten = 0;
  for (Node& n : g.nodes) {
    if (n.op_type != "DynamicQuantizeLSTM" || n.domain != "com.microsoft" || n.inputs.size() < 12) continue;
    const Tensor *w = g.constant(n.inputs[kW]), *r = g.constant(n.inputs[kR]);
    const Tensor *ws = g.constant(n.inputs[kWScale]), *wz = g.constant(n.inputs[kWZp]);
    const Tensor *rs = g.constant(n.inputs[kRScale]), *rz = g.constant(n.inputs[kRZp]);
    // Weights computed at run time stay as they are: the node is then reported as unsupported.
    if (!quantized_weight_ok(w, ws, wz) || !quantized_weight_ok(r, rs, rz)) continue;
    const std::string wf = g.fresh_name(n.inputs[kW] + "_dequantized");
    g.initializers[wf] = std::make_shared<const Tensor>(dequantize_transposed(*w, *ws, *wz));
    const std::string rf = g.fresh_name(n.inputs[kR] + "_dequantized");
    g.initializers[rf] = std::make_shared<const Tensor>(dequantize_transposed(*r, *rs, *rz));
    std::vector<std::string> ins = {n.inputs[kX], wf, rf};
    for (int i : {kB, kSeq, kH0, kC0, kP}) ins.push_back(n.inputs[static_cast<size_t>(i)]);
    while (!ins.empty() && ins.back().empty()) ins.pop_back();
    n.inputs = std::move(ins);
    n.op_type = "LSTM";
    n.domain.clear();
    n.opset = std::max(14, g.opsets.count("") ? g.opsets.at("") : 14);
    n.attrs.set_where(n.info().describe());
    ++rewritten;
  }
  return rewritten;
}

}  // namespace ortkit::graph
