// Scale / zero-point math, the same as ONNX Runtime's quant_utils (get_qmin_qmax_for_qType,
// compute_scale_zp, quantize_data), so models from both tools agree bit for bit on the weights.
#pragma once
#include <cstdint>
#include <vector>

#include "ortkit/quantize.h"

namespace ortkit::quant {

struct QRange {
  int32_t qmin = 0;
  int32_t qmax = 255;
};
/// u8: [0,255] ([0,127] reduced); s8: [-128,127], symmetric [-127,127], reduced [-64,64].
QRange qrange(QuantType t, bool reduce_range, bool symmetric);

struct QParams {
  float scale = 1;
  int32_t zero_point = 0;
};
/// The range is widened to contain 0; symmetric uses [-max|r|, max|r|] and zero point round((qmin+qmax)/2).
/// A zero-width range gives scale 1, zero point 0.
QParams compute_qparams(float rmin, float rmax, QRange q, bool symmetric);
/// clamp(round_half_even(x / scale) + zero_point, qmin, qmax)
int32_t quantize_value(float x, QParams p, QRange q);

/// Weights quantized per tensor (axis < 0) or per slice along `axis`.
struct QuantizedWeight {
  std::vector<int32_t> q;  ///< same layout as the input
  std::vector<float> scales;
  std::vector<int32_t> zero_points;
};
QuantizedWeight quantize_weight(const std::vector<float>& w, const std::vector<int64_t>& dims, int axis,
                                QRange q, bool symmetric);

/// Weights are symmetric when signed (ONNX Runtime's WeightSymmetric default).
inline bool weight_symmetric(QuantType t) {
  return t == QuantType::s8;
}

}  // namespace ortkit::quant
