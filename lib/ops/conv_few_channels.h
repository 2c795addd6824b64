// A direct fp32 convolution for 1-D and 2-D convs with few input channels (the stems of CNNs: 3 -> 32
// 3x3 stride 2 in MobileNet, 3 -> 64 7x7 stride 2 in ResNet, 1 -> 512 k10 stride 5 in wav2vec). The GEMM
// forms pay there for an im2col of Cin*KH*KW floats per output pixel (19-22% of those convs on Zen 4)
// and, with weights as A, for 14-row tiles over 32 or 64 output channels. Here each output row of a
// task reads a zero-padded copy of its input rows, split by column phase (column c goes to phase c % SW at
// c / SW), so that 16 neighbouring outputs of one tap read 16 consecutive floats at any stride: per tap,
// V vectors of 16 outputs are loaded once and multiplied into R output channels, the weights broadcast.
// Bias, residual Z and relu/clip are applied to the accumulators before the one store to Y (NCHW).
#pragma once
#include <cstdint>
#include <vector>

#include "ops/conv_util.h"
#include "ortkit/kernels/gemm.h"

namespace ortkit::ops {

class FewChannelConv {
 public:
  /// Whether this form computes the window for `cin` input channels per group and `group` groups and
  /// pays: one group, 1-D or 2-D, at most kMaxCin channels, at least 16 taps (cin x KH x KW), non-negative
  /// pads, and an output row of at least 12 (shorter rows would leave most vector lanes idle).
  static constexpr int64_t kMaxCin = 4;
  static bool applicable(const Window& w, int64_t cin, int64_t group);

  /// slots: tasks running at once (scratch slots); batch: images per run (for the task split).
  void prepare(const Window& w, int64_t cin, int64_t cout, int64_t batch, int slots);
  /// weights: [cout, cin, KH, KW] as ONNX stores them; call again when they change.
  void set_weights(const float* weights);
  size_t scratch_bytes() const { return static_cast<size_t>(slots_ * slot_floats_) * sizeof(float); }
  /// x: [batch, cin, H, W], y: [batch, cout, OH, OW]; ep: bias and activation; z: optional residual of y's
  /// shape, added before the activation. scratch: scratch_bytes(), 64-byte aligned.
  void run(const float* x, int64_t batch, const kernels::Epilogue& ep, const float* z, float* y,
           const kernels::Threading& th, float* scratch) const;
  /// R x V (output channels x 16-wide vectors) of the kernel in use.
  int rows() const { return r_; }

 private:
  void fill(const float* x, int64_t oh0, int64_t nrows, int64_t ow0, float* slot) const;

  Window w_;
  int64_t cin_ = 0, cout_ = 0, taps_ = 0;
  int r_ = 8, v_ = 3;                  // kernel blocking: output channels x vectors of 16 outputs
  int64_t rows_ = 1, cols_ = 16;       // output rows and columns per task (cols_ a multiple of 16)
  int64_t wph_ = 0, rs_ = 0, cs_ = 0;  // floats per phase row, per padded row (all phases), per channel
  int64_t slots_ = 1, slot_floats_ = 0;
  std::vector<int32_t> off_;  // per tap: its offset from an output row's base in the padded copy
  std::vector<float> wp_;     // weights, [cout / r_ blocks][taps][r_], zero rows past cout
};

}  // namespace ortkit::ops
