// The fp32 depthwise convolution of one plane (one input and one output channel per group), shared by
// Conv / FusedConv (conv.cpp) and the int8 QDQ depthwise conv (quant_qdq_conv.cpp, which feeds it the
// integer taps as exact floats). The kernel is picked once per window: over a zero-padded copy of the
// plane, a row-group kernel (stride 1) or a flat loop (small planes); a KxK row kernel with the taps in
// registers, a channel-blocked kernel for tiny planes, or a generic loop.
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
/// padded plane covers the reads of those extra outputs. The row-group kernel (stride 1, 16 to 64 wide)
/// shares the padded plane but writes Y directly: n = 0 there.
struct DwSmall {
  int64_t k = 0, s = 1, oh = 0, ow = 0, hp = 0, wp = 0, n = 0, plane = 0;  // plane: floats incl. slack
  int64_t slot() const { return plane + n; }                               // padded plane + wide output
};

/// Geometry of the channel-blocked path: kDwBlock channels at a time are transposed into a zero-padded
/// pixel-major block (hp x wp pixels of kDwBlock floats each, the input at row ph, column pw), so one
/// vector holds a pixel of every channel of the block and each output pixel is K*K full-width FMAs with
/// the taps' weights in registers; the result (oh x ow pixels of kDwBlock floats) is transposed back.
/// Small planes lose nothing to borders, short rows or per-plane setup that way.
constexpr int kDwBlock = 16;
struct DwBlocked {
  int64_t hp = 0, wp = 0, oh = 0, ow = 0;
  int64_t padded() const { return hp * wp * kDwBlock; }  // floats of the padded input block
  int64_t out() const { return oh * ow * kDwBlock; }     // floats of the output block
};

using DwSmallFn = void (*)(const DwPlane&, const DwSmall&, float*);
/// t: the padded input block; wv: K*K taps of kDwBlock weights; b: kDwBlock biases; o: the output block.
using DwBlockFn = void (*)(const float* t, const float* wv, const float* b, float lo, float hi,
                           const DwBlocked& g, float* o);
using DwPlaneFn = void (*)(const DwPlane&, const Window&, const float*);

class DepthwisePlanes {
 public:
  /// Picks the kernel for this window; `blocks`: the caller can run channel blocks (run_block) where
  /// they pay, else every plane goes through run.
  void prepare(const Window& w, bool blocks = false);
  /// Floats of scratch one thread needs (0 unless the flat or the channel-blocked path runs).
  int64_t slot_floats() const;
  /// Once per thread slot, before its first plane: zeroes the padding the flat and blocked paths rely on.
  void init_slot(float* slot) const;
  /// y = clamp(bias + sum of taps, lo, hi) over one plane; `slot` as given to init_slot.
  void run(const DwPlane& p, float* slot) const;
  /// Whether planes go kDwBlock channels at a time (run_block) rather than one by one (run).
  bool blocked() const { return blocked_ != nullptr; }
  /// The kernel's name in reports: conv_depthwise_blocked16, conv_depthwise_rows4 (row groups) or
  /// conv_depthwise_direct (the flat, KxK and generic plane loops).
  const char* name() const;
  /// Planes of `channels` (1..kDwBlock) consecutive channels of one image: the first channel's input plane
  /// x (planes in_size apart), its weights w (k_size apart), biases (or null) and output plane y.
  void run_block(const float* x, const float* w, const float* bias, int64_t channels, float lo, float hi,
                 float* y, float* slot) const;

 private:
  Window w_;
  DwSmallFn small_ = nullptr;
  bool rows_ = false;  // small_ is the row-group kernel
  DwBlockFn blocked_ = nullptr;
  DwBlocked blk_;
  DwPlaneFn fn_ = nullptr;
  DwSmall geo_;
  std::vector<float> zeros_;  // a padding row for the KxK kernels
};

}  // namespace ortkit::ops
