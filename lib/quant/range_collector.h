// Streaming range statistics of one tensor. Memory is fixed whatever the data set size:
// a min/max and a signed histogram of 2*bins bins over [-R, R]. When a batch exceeds R, R doubles
// (as often as needed) and pairs of bins merge, which is exact: no interpolation, no re-reading.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ortkit/quantize.h"

namespace ortkit::quant {

class RangeCollector {
 public:
  explicit RangeCollector(int bins = 2048, bool histogram = true);
  void add(const float* x, size_t n);

  TensorRange minmax() const;
  /// [value below which (100-p)% lie, value below which p% lie] (bin edges), clipped to min/max.
  TensorRange percentile(double p) const;
  /// The |x| threshold T minimising KL(P || Q) of the histogram quantized to `levels` levels
  /// (TensorRT's method); the range is [max(min, -T), min(max, T)].
  TensorRange entropy(int levels = 128) const;

  double half_width() const { return R_; }                  ///< R (0 before any non-zero value)
  const std::vector<uint64_t>& hist() const { return h_; }  ///< 2*bins counts over [-R, R]
  uint64_t count() const { return count_; }

 private:
  void grow_to(double a);
  int bins_;
  bool use_hist_;
  double R_ = 0;
  float min_, max_;
  uint64_t count_ = 0, zeros_before_ = 0;
  std::vector<uint64_t> h_;
};

}  // namespace ortkit::quant
