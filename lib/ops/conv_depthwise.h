// The fp32 depthwise convolution of one plane (one input and one output channel per group), shared by
// Conv / FusedConv (conv.cpp) and the int8 QDQ depthwise conv (quant_qdq_conv.cpp, which feeds it the
// integer taps as exact floats). The kernel is picked once per window: a flat loop over a zero-padded
// copy for small planes, a KxK row kernel with the taps in registers, or a generic loop.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/conv_util.h"

namespace ortkit::ops {

/// Bias, clamp bounds (-inf/+inf when unused) and the per-channel weights of one depthwise plane.
struct DwPlane {
  const float* x;  // input plane
  const float* w;  // k_size weights
  float* y;        // output plane
  float bias, lo, hi;
};

/// Geometry of the flat depthwise path: the input plane is copied into a zero-padded hp x wp buffer
/// (hp = S*(OH-1) + K, wp = S*(OW-1) + K), so that output j = oh * wp + ow reads tap (kh, kw) at
/// S*j + kh*wp + kw: the whole plane is one flat vectorised loop with no borders and no short rows
/// (columns ow >= OW are computed and dropped: wp - OW of them for stride 1, about half for stride 2).
/// n, the flat length, is rounded up to 16 so that no scalar remainder runs; the slack after the
/// padded plane covers the reads of those extra outputs.
struct DwSmall {
  int64_t k = 0, s = 1, oh = 0, ow = 0, hp = 0, wp = 0, n = 0, plane = 0;  // plane: floats incl. slack
  int64_t slot() const { return plane + n; }                               // padded plane + wide output
};

using DwSmallFn = void (*)(const DwPlane&, const DwSmall&, float*);
using DwPlaneFn = void (*)(const DwPlane&, const Window&, const float*);

class DepthwisePlanes {
 public:
  /// Picks the kernel for this window.
  void prepare(const Window& w);
  /// Floats of scratch one thread needs (0 unless the flat path runs).
  int64_t slot_floats() const { return small_ ? geo_.slot() : 0; }
  /// Once per thread slot, before its first plane: zeroes the padding the flat path relies on.
  void init_slot(float* slot) const;
  /// y = clamp(bias + sum of taps, lo, hi) over one plane; `slot` as given to init_slot.
  void run(const DwPlane& p, float* slot) const;

 private:
  Window w_;
  DwSmallFn small_ = nullptr;
  DwPlaneFn fn_ = nullptr;
  DwSmall geo_;
  std::vector<float> zeros_;  // a padding row for the KxK kernels
};

}  // namespace ortkit::ops
