#include "quant/qparams.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ortkit/error.h"

namespace ortkit::quant {

QRange qrange(QuantType t, bool reduce_range, bool symmetric) {
  if (t == QuantType::u8) return reduce_range ? QRange{0, 127} : QRange{0, 255};
  if (reduce_range) return {-64, 64};
  return symmetric ? QRange{-127, 127} : QRange{-128, 127};
}

QParams compute_qparams(float rmin, float rmax, QRange q, bool symmetric) {
  if (!std::isfinite(rmin) || !std::isfinite(rmax))
    throw Error("range is not finite (NaN or Inf in the data)");
  double lo = std::min<double>(rmin, 0.0), hi = std::max<double>(rmax, 0.0);
  if (symmetric) {
    double a = std::max(std::abs(lo), std::abs(hi));
    lo = -a;
    hi = a;
  }
  double scale = (hi - lo) / static_cast<double>(q.qmax - q.qmin);
  if (scale < std::numeric_limits<float>::min()) return {1.0f, 0};
  if (symmetric)
    return {static_cast<float>(scale), static_cast<int32_t>(std::nearbyint((q.qmin + q.qmax) / 2.0))};
  return {static_cast<float>(scale), static_cast<int32_t>(std::nearbyint(q.qmin - lo / scale))};
}

int32_t quantize_value(float x, QParams p, QRange q) {
  float r = std::nearbyint(x / p.scale);  // default rounding mode: half to even
  double v = static_cast<double>(r) + p.zero_point;
  return static_cast<int32_t>(std::clamp(v, static_cast<double>(q.qmin), static_cast<double>(q.qmax)));
}

QuantizedWeight quantize_weight(const std::vector<float>& w, const std::vector<int64_t>& dims, int axis,
                                QRange q, bool symmetric) {
  QuantizedWeight out;
  out.q.resize(w.size());
  // View the tensor as [outer, channels, inner]; per tensor is channels = 1.
  int64_t outer = 1, ch = 1, inner = 1;
  for (int i = 0; i < static_cast<int>(dims.size()); ++i) {
    if (axis < 0)
      inner *= dims[i];
    else if (i < axis)
      outer *= dims[i];
    else if (i == axis)
      ch = dims[i];
    else
      inner *= dims[i];
  }
  for (int64_t c = 0; c < ch; ++c) {
    float lo = std::numeric_limits<float>::max(), hi = std::numeric_limits<float>::lowest();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        float v = w[static_cast<size_t>((o * ch + c) * inner + i)];
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    if (outer * inner == 0) lo = hi = 0;
    QParams p = compute_qparams(lo, hi, q, symmetric);
    out.scales.push_back(p.scale);
    out.zero_points.push_back(p.zero_point);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        size_t k = static_cast<size_t>((o * ch + c) * inner + i);
        out.q[k] = quantize_value(w[k], p, q);
      }
  }
  return out;
}

}  // namespace ortkit::quant
