// 4-bit weight GEMM tile for NEON (q4gemm.h): up to 4 rows of A against one 32-column panel, walked as four
// 8-column quarters so that each row's block accumulators (two column vectors x k parity) and totals fit
// the 32 vector registers. Per pair of k the quarter's 8 bytes give the low nibbles (k) by an AND and the
// high ones (k + 1) by a shift, widened to fp32 once and shared by every row.
#include <arm_neon.h>

#include <algorithm>

#include "ortkit/kernels/q4gemm.h"

namespace ortkit::kernels::arm64 {

namespace {

template <int M>
void quarter(const Q4Tile& t, int c0) {
  const uint8x8_t low = vdup_n_u8(15);
  float32x4_t tot[M][2];
  for (int r = 0; r < M; ++r) tot[r][0] = tot[r][1] = vdupq_n_f32(0.f);
  const uint8_t* q = t.q + c0;
  for (int64_t b = 0; b < t.blocks; ++b) {
    const int64_t k0 = b * t.block, k1 = std::min(t.k, k0 + t.block);
    float32x4_t lo[M][2], hi[M][2];
    for (int r = 0; r < M; ++r) lo[r][0] = lo[r][1] = hi[r][0] = hi[r][1] = vdupq_n_f32(0.f);
    for (int64_t k = k0; k < k1; k += 2, q += 32) {
      const uint8x8_t v = vld1_u8(q);
      const uint16x8_t l16 = vmovl_u8(vand_u8(v, low));
      const float32x4_t l0 = vcvtq_f32_u32(vmovl_u16(vget_low_u16(l16)));
      const float32x4_t l1 = vcvtq_f32_u32(vmovl_high_u16(l16));
      const bool pair = k + 1 < k1;  // an odd K's last k has no k + 1 in A (its high nibbles are zero)
      if (pair) {
        const uint16x8_t h16 = vmovl_u8(vshr_n_u8(v, 4));
        const float32x4_t h0 = vcvtq_f32_u32(vmovl_u16(vget_low_u16(h16)));
        const float32x4_t h1 = vcvtq_f32_u32(vmovl_high_u16(h16));
        for (int r = 0; r < M; ++r) {
          const float a0 = t.a[r * t.lda + k], a1 = t.a[r * t.lda + k + 1];
          lo[r][0] = vfmaq_n_f32(lo[r][0], l0, a0);
          lo[r][1] = vfmaq_n_f32(lo[r][1], l1, a0);
          hi[r][0] = vfmaq_n_f32(hi[r][0], h0, a1);
          hi[r][1] = vfmaq_n_f32(hi[r][1], h1, a1);
        }
      } else {
        for (int r = 0; r < M; ++r) {
          const float a0 = t.a[r * t.lda + k];
          lo[r][0] = vfmaq_n_f32(lo[r][0], l0, a0);
          lo[r][1] = vfmaq_n_f32(lo[r][1], l1, a0);
        }
      }
    }
    const float32x4_t s0 = vld1q_f32(t.scale + b * 32 + c0), s1 = vld1q_f32(t.scale + b * 32 + c0 + 4);
    const float32x4_t z0 = vld1q_f32(t.nzs + b * 32 + c0), z1 = vld1q_f32(t.nzs + b * 32 + c0 + 4);
    for (int r = 0; r < M; ++r) {
      const float as = t.asum[r * t.blocks + b];
      tot[r][0] = vfmaq_n_f32(vfmaq_f32(tot[r][0], vaddq_f32(lo[r][0], hi[r][0]), s0), z0, as);
      tot[r][1] = vfmaq_n_f32(vfmaq_f32(tot[r][1], vaddq_f32(lo[r][1], hi[r][1]), s1), z1, as);
    }
  }
  const int n = std::min(8, t.n - c0);
  for (int r = 0; r < M; ++r) {
    float out[8];
    vst1q_f32(out, tot[r][0]);
    vst1q_f32(out + 4, tot[r][1]);
    float* c = t.c + r * t.ldc + c0;
    for (int j = 0; j < n; ++j) c[j] = out[j] + (t.bias ? t.bias[c0 + j] : 0.f);
  }
}

template <int M>
void tile(const Q4Tile& t) {
  for (int c0 = 0; c0 < t.n; c0 += 8) quarter<M>(t, c0);
}

}  // namespace

void q4gemm_neon_4x32(const Q4Tile& t) {
  switch (t.m) {
    case 1: return tile<1>(t);
    case 2: return tile<2>(t);
    case 3: return tile<3>(t);
    default: return tile<4>(t);
  }
}

}  // namespace ortkit::kernels::arm64
