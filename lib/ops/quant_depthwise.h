// The depthwise form of the int8 convs ortkit.QdqConv and ortkit.DynQuantConv (one input and one output
// channel per group, as MobileNet's 3x3 convs): per plane, x - x_zp and W - w_zp become floats, which the
// fp32 depthwise kernels (conv_depthwise.h) sum exactly (|products| <= 255 * 255 and at most kMaxTaps
// taps keep every partial sum an integer below 2^24, in any order), then scale, bias, activation and the
// requantization (or the fp32 store) run in one pass per plane. A GEMM with N = 1 per channel, the
// general path, cost more than the fp32 conv.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "ops/conv_depthwise.h"
#include "ops/quant_conv_geom.h"
#include "ortkit/kernels/gemm.h"

namespace ortkit::ops {

class QuantDepthwise {
 public:
  /// Taps up to which the float sums are exact.
  static constexpr int64_t kMaxTaps = 256;
  static bool applies(const quant::ConvGeom& gm) {
    return gm.g > 1 && gm.cg() == 1 && gm.mg() == 1 && gm.kh * gm.kw <= kMaxTaps;
  }

  /// The geometry and the per-thread scratch (threads slots); set_weights before running. nhwc: runs
  /// run_nhwc (else run / run_sums).
  void prepare(const quant::ConvGeom& gm, int threads, bool nhwc = false);
  /// w: the weights [C, 1, kh, kw] (u8 or s8 bits), zps: 1 or C zero points. Once for constant weights,
  /// else before every run.
  void set_weights(const void* w, bool w_unsigned, const std::vector<int32_t>& zps);
  /// Scratch of the form prepare chose: run's planes, or run_nhwc's rows when nhwc.
  size_t scratch_bytes() const {
    return nhwc_ ? nhwc_scratch_bytes() : static_cast<size_t>(slots_ * slot_floats_) * sizeof(float);
  }
  int slots() const { return slots_; }

  /// The exact sums of every plane (N * C of them, spread over threads): emit(nc, slot, acc) with acc[p]
  /// = sum over taps of (x - x_zp)(W - w_zp), integers held as floats; slot < slots() is the calling
  /// thread's, so emit may use a buffer of its own per slot. x: u8/s8 bits, NCHW.
  using Emit = std::function<void(int64_t nc, int64_t slot, float* acc)>;
  void run_sums(const uint8_t* x, bool x_signed, int32_t x_zp, const kernels::Threading& th, float* scratch,
                const Emit& emit) const;

  /// The dequantized conv through run_sums: y = saturate(round(act(acc * x_s * w_s[c] + bias[c]) / y_s) +
  /// y_zp), or with y_f32 set, y_f32 = act(acc * x_s * w_s[c] + bias[c]) (y, y_scale and y_zp unused).
  struct Params {
    const uint8_t* x = nullptr;  // u8/s8 bits, NCHW
    bool x_signed = false;
    int32_t x_zp = 0;
    float x_scale = 1.f;
    const float* w_scale = nullptr;
    bool w_scale_per_channel = false;
    const float* bias = nullptr;
    float y_scale = 1.f;
    int32_t y_zp = 0;
    bool y_signed = false;
    void* y = nullptr;
    float* y_f32 = nullptr;
  };
  void run(const Params& p, const kernels::Epilogue& ep, const kernels::Threading& th, float* scratch) const;

  /// run's requantized output with x [N, H, W, C] and y [N, OH, OW, C] (quant_depthwise_nhwc.cpp): the
  /// same bits. y_f32 is not supported. Needs prepare(..., nhwc = true).
  void run_nhwc(const Params& p, const kernels::Epilogue& ep, const kernels::Threading& th,
                float* scratch) const;

 private:
  /// 1 / y_s folded into the scale, bias and clip bounds (as QdqConv's GEMM form does) where the
  /// activation commutes with a positive scaling; not for an fp32 output. The same floats in both forms.
  struct Folding {
    bool fold = false;
    float div = 1.f, lo = 0.f, hi = 0.f;  // lo / hi: the clamp (+-inf when there is none)
    float scale(const Params& p, int64_t c) const {
      return p.x_scale * p.w_scale[p.w_scale_per_channel ? c : 0] / div;
    }
    float bias(const Params& p, int64_t c) const { return p.bias ? p.bias[c] / div : 0.f; }
  };
  static Folding folding(const Params& p, const kernels::Epilogue& ep);
  /// Scratch lengths in whole 64-byte lines.
  static int64_t round16(int64_t n) { return (n + 15) / 16 * 16; }
  /// out[i] = x[i] - zp as floats (u8 / s8 bits): both forms' inputs.
  static void widen_u8(const uint8_t* x, int64_t n, float zp, float* out);
  static void widen_s8(const int8_t* x, int64_t n, float zp, float* out);
  int64_t nhwc_row_floats() const;
  int64_t nhwc_slot_floats() const;
  size_t nhwc_scratch_bytes() const;

  quant::ConvGeom gm_;
  DepthwisePlanes planes_;
  std::vector<float> wf_;  // W - w_zp per channel and tap, as floats
  std::vector<float> wt_;  // the same, tap-major ([tap][C]) for the NHWC form
  int slots_ = 1;
  bool nhwc_ = false;
  int64_t slot_floats_ = 0;
};

}  // namespace ortkit::ops
