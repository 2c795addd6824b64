// Public entry points of the quantizer: bytes in, bytes out.
#include "ortkit/quantize.h"

#include <algorithm>

#include "ortkit/error.h"
#include "quant/onnx_util.h"
#include "quant/rewrite.h"

namespace ortkit {

QuantType parse_quant_type(const std::string& s) {
  if (s == "u8" || s == "uint8" || s == "QUInt8") return QuantType::u8;
  if (s == "s8" || s == "int8" || s == "QInt8") return QuantType::s8;
  throw Error("unknown quantized type '" + s + "' (expected u8 or s8)");
}

const char* quant_type_name(QuantType t) {
  return t == QuantType::u8 ? "u8" : "s8";
}

CalibrationMethod parse_calibration_method(const std::string& s) {
  if (s == "minmax") return CalibrationMethod::minmax;
  if (s == "percentile") return CalibrationMethod::percentile;
  if (s == "entropy") return CalibrationMethod::entropy;
  throw Error("unknown calibration method '" + s + "' (expected minmax, percentile or entropy)");
}

int QuantizeResult::quantized_count() const {
  return static_cast<int>(
      std::count_if(nodes.begin(), nodes.end(), [](const NodeDecision& d) { return d.quantized; }));
}

QuantizeResult quantize_model_bytes(const std::string& model_bytes, const QuantizeOptions& opts,
                                    const RangeMap& ranges) {
  auto m = quant::parse_model(model_bytes);
  QuantizeResult r;
  r.bytes_before = model_bytes.size();
  r.nodes = quant::rewrite_model(m, opts, ranges);
  // Say who rewrote the model without hiding who made it.
  auto* p = m.add_metadata_props();
  p->set_key("ortkit.quantize");
  p->set_value(
      std::string(opts.mode == QuantMode::dynamic ? "dynamic" : "static") +
      (opts.mode == QuantMode::static_ ? (opts.format == QuantFormat::qdq ? " qdq" : " qoperator") : "") +
      " weights " + quant_type_name(opts.weight_type) + (opts.per_channel ? " per-channel" : ""));
  r.model_bytes = quant::serialize_model(m);
  r.bytes_after = r.model_bytes.size();
  return r;
}

std::string quantize_dynamic_bytes(const std::string& model_bytes, const QuantizeOptions& opts) {
  QuantizeOptions o = opts;
  o.mode = QuantMode::dynamic;
  return quantize_model_bytes(model_bytes, o).model_bytes;
}

std::vector<std::string> tensors_to_calibrate(const std::string& model_bytes, const QuantizeOptions& opts) {
  return quant::calibration_tensors(quant::parse_model(model_bytes), opts);
}

}  // namespace ortkit
