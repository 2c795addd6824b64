// Winograd F(2x2, 3x3) for fp32 2-D convs with a 3x3 kernel, stride 1, dilation 1 and one group: each 2x2
// tile of the output comes from a 4x4 patch of the input with 16 multiplies per (input, output) channel
// pair instead of 36. Per chunk of tiles it runs 16 GEMMs, one per position xi of the transformed tile,
//   M_xi[Cout x tiles] = U_xi[Cout x Cin] * V_xi[Cin x tiles]
// with U = G g G^T (the weights, transformed once), V = B^T d B (the input patches, written straight into
// the packed B panels) and Y = A^T M A, into which bias, residual Z and activation are folded as the tile
// is written. The transforms only add, subtract and halve, so the result stays within a few ulp of the
// direct sum (the test bounds it against a double-precision oracle). Conv picks it where it measured
// faster than the GEMM forms (pays) or where ORTKIT_CONV_FORM=winograd asks: see conv.cpp and docs/ops.md.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/conv_util.h"
#include "ortkit/kernels/gemm.h"

namespace ortkit::ops {

class WinogradConv {
 public:
  /// Whether this form computes the window: 2-D (or 1-D lifted to 2-D by the window), 3x3, stride 1,
  /// dilation 1.
  static bool applicable(const Window& w);
  /// Whether it beats the direct form, as measured (conv.cpp picks it by default where this holds):
  /// Cin and Cout of at least 16, and at least 55% of the columns its GEMMs run are real tiles (10x10
  /// images and up at batch 1, 7x7 from batch 4).
  static bool pays(const Window& w, int64_t cin, int64_t cout, int64_t batch, int slots);

  /// weights: [cout, cin, 3, 3]; batch: images per run; slots: how many tasks run at once (scratch slots).
  void prepare(const Window& w, int64_t cin, int64_t cout, const float* weights, int64_t batch, int slots);
  /// Scratch run() needs, for all slots.
  size_t scratch_bytes() const { return static_cast<size_t>(slots_ * slot_floats_) * sizeof(float); }
  /// x: [batch, cin, H, W], y: [batch, cout, OH, OW]. ep: bias (cout values), activation; z: optional
  /// residual of y's shape, added before the activation. scratch: scratch_bytes(), 64-byte aligned.
  void run(const float* x, int64_t batch, const kernels::Epilogue& ep, const float* z, float* y,
           const kernels::Threading& th, float* scratch);

 private:
  // Virtual tiles per chunk for a grid of `vtiles`.
  static int64_t chunk_tiles(int64_t vtiles, int64_t cin, int64_t cout, int64_t slots);
  // Virtual tiles [v0, v0 + nv) of the batch (see prepare).
  void input_transform(const float* x, int64_t v0, int64_t nv, int64_t slot, float* work);
  void output_transform(const float* m, int64_t v0, int64_t nv, const kernels::Epilogue& ep, const float* z,
                        float* y, float* work) const;

  Window w_;
  int64_t cin_ = 0, cout_ = 0;
  int64_t th_ = 0, tw_ = 0;  // tiles down and across one image
  int64_t vtw_ = 0;          // virtual tiles per tile row: TW and one dummy
  int64_t nt_ = 0;           // virtual tiles per chunk (a multiple of the kernel's NR where the image allows)
  int64_t m_ld_ = 0;         // floats between the 16 M_xi of a chunk
  // A slot's work area after M: padded input rows, at t_at_ the four row combinations, then two output
  // row-sets; each combination or output row-set is plane_ floats of rows wp_ floats apart.
  int64_t wp_ = 0, plane_ = 0, t_at_ = 0;
  int64_t slots_ = 1, slot_floats_ = 0;
  std::vector<float> u_;                 // 16 matrices [cout x cin], the transformed weights
  std::vector<kernels::PackedB> packs_;  // 16 per slot: V_xi of the slot's chunk
};

}  // namespace ortkit::ops
