#include "quant/select.h"

#include <algorithm>

#include "ortkit/tensor.h"
#include "quant/onnx_util.h"

namespace ortkit::quant {

std::string node_label(const onnx::NodeProto& n, int index) {
  return n.name().empty() ? n.op_type() + "_" + std::to_string(index) : n.name();
}

static bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Why this node cannot be rewritten, or "" when it can.
static std::string structural_reason(const onnx::NodeProto& n,
                                     const std::map<std::string, const onnx::TensorProto*>& inits,
                                     QuantMode mode) {
  const std::string& op = n.op_type();
  if (n.input_size() < 2) return "fewer than 2 inputs";
  if (inits.count(n.input(0))) return "input A is a constant (nothing to quantize at run time)";
  auto w = inits.find(n.input(1));
  if (w == inits.end())
    return "weight is not a constant initializer (only constant-B MatMul/Gemm/Conv are quantized)";
  if (w->second->data_type() != onnx::TensorProto::FLOAT)
    return std::string("weight is ") + dtype_name(dtype_from_onnx(w->second->data_type())) +
           ", not float32 (export or convert the model in float32 to quantize it)";
  if (w->second->data_location() == onnx::TensorProto::EXTERNAL)
    return "weight uses external data (not supported)";
  int rank = w->second->dims_size();
  if (op == "MatMul" && rank != 2) return "weight rank " + std::to_string(rank) + " (only 2-D weights)";
  if (op == "Gemm") {
    if (attr_int(n, "transA", 0) != 0) return "Gemm with transA=1";
    if (rank != 2) return "weight rank " + std::to_string(rank);
    if (n.input_size() > 2 && !n.input(2).empty()) {
      float beta = attr_float(n, "beta", 1.0f);
      auto c = inits.find(n.input(2));
      if (beta != 1.0f && c == inits.end()) return "beta != 1 with a non-constant C";
      if (c != inits.end() && c->second->data_type() != onnx::TensorProto::FLOAT)
        return "bias is not float32";
    }
  }
  if (op == "Conv") {
    if (rank < 3) return "Conv weight rank " + std::to_string(rank);
    if (n.input_size() > 2 && !n.input(2).empty()) {
      auto b = inits.find(n.input(2));
      if (b == inits.end()) return "Conv bias is not a constant initializer";
      if (b->second->data_type() != onnx::TensorProto::FLOAT) return "bias is not float32";
    }
  }
  (void)mode;
  return "";
}

std::vector<Selected> select_nodes(const onnx::ModelProto& m, const QuantizeOptions& o) {
  auto inits = initializer_map(m.graph());
  std::vector<Selected> out;
  for (int i = 0; i < m.graph().node_size(); ++i) {
    const auto& n = m.graph().node(i);
    const std::string& op = n.op_type();
    if (!n.domain().empty() && n.domain() != "ai.onnx") continue;
    if (op != "MatMul" && op != "Gemm" && op != "Conv") continue;
    Selected s;
    s.index = i;
    s.d.name = node_label(n, i);
    s.d.op_type = op;
    s.d.output = n.output_size() ? n.output(0) : "";
    if (!contains(o.op_types, op))
      s.d.reason = "op type not in --op-types";
    else if (contains(o.exclude_ops, op))
      s.d.reason = "excluded by --exclude-ops";
    else if (contains(o.exclude_nodes, n.name()) && !n.name().empty())
      s.d.reason = "excluded by --exclude-nodes";
    else
      s.d.reason = structural_reason(n, inits, o.mode);
    s.d.quantized = s.d.reason.empty();
    out.push_back(std::move(s));
  }
  if (o.keep_first_last) {
    // First and last quantizable node stay fp32: they usually carry the most accuracy-sensitive signal
    // (embeddings in, logits out).
    auto first = std::find_if(out.begin(), out.end(), [](const Selected& s) { return s.d.quantized; });
    auto last = std::find_if(out.rbegin(), out.rend(), [](const Selected& s) { return s.d.quantized; });
    if (first != out.end()) {
      first->d.quantized = false;
      first->d.reason = "kept fp32 by --keep-first-last";
    }
    if (last != out.rend() && last->d.quantized) {
      last->d.quantized = false;
      last->d.reason = "kept fp32 by --keep-first-last";
    }
  }
  return out;
}

}  // namespace ortkit::quant
