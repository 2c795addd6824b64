// gemm_f32_neon_8x12: fp32 micro-kernel for any armv8-a (Graviton2 / Neoverse N1 and up).
//
// Per k: 2 loads of A (8 rows) and 3 of B (12 columns), then 24 FMLA (by element): the 8 x 12 tile
// lives in 24 of the 32 q registers, A and B take 5 more. 24 FMA per 5 loads keeps both N1 FMA pipes
// busy with the load pipes far from saturated. B is a packed panel, or (GemmKernel::b_rows, t.ldb > 0)
// rows read in place; an edge tile's rows are copied to a padded row first (no read past t.n).
#include <arm_neon.h>

#include <cstring>

#include "arm64/epilogue_neon.h"

namespace ortkit::kernels {

namespace {

template <bool kRows>
void tile(const MicroTile& t) {
  const float* a = static_cast<const float*>(t.a);
  const float* b = static_cast<const float*>(t.b);
  const int64_t bstep = kRows ? t.ldb : 12;
  const bool edge = kRows && t.n < 12;
  // MicroTile::row_bias starts the sums (rows past t.m are never stored).
  float rb[8] = {};
  if (t.row_bias)
    for (int r = 0; r < t.m; ++r) rb[r] = t.row_bias[r];
  float32x4_t c00 = vdupq_n_f32(rb[0]), c01 = c00, c02 = c00, c10 = vdupq_n_f32(rb[1]), c11 = c10, c12 = c10;
  float32x4_t c20 = vdupq_n_f32(rb[2]), c21 = c20, c22 = c20, c30 = vdupq_n_f32(rb[3]), c31 = c30, c32 = c30;
  float32x4_t c40 = vdupq_n_f32(rb[4]), c41 = c40, c42 = c40, c50 = vdupq_n_f32(rb[5]), c51 = c50, c52 = c50;
  float32x4_t c60 = vdupq_n_f32(rb[6]), c61 = c60, c62 = c60, c70 = vdupq_n_f32(rb[7]), c71 = c70, c72 = c70;
  float row[12] = {};
#define ORTKIT_ROW(r, av, lane)                     \
  c##r##0 = vfmaq_laneq_f32(c##r##0, b0, av, lane); \
  c##r##1 = vfmaq_laneq_f32(c##r##1, b1, av, lane); \
  c##r##2 = vfmaq_laneq_f32(c##r##2, b2, av, lane);
  for (int64_t k = 0; k < t.kp; ++k) {
    const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
    const float* bk = b;
    if (edge) {
      std::memcpy(row, b, static_cast<size_t>(t.n) * sizeof(float));
      bk = row;
    }
    const float32x4_t b0 = vld1q_f32(bk), b1 = vld1q_f32(bk + 4), b2 = vld1q_f32(bk + 8);
    ORTKIT_ROW(0, a0, 0);
    ORTKIT_ROW(1, a0, 1);
    ORTKIT_ROW(2, a0, 2);
    ORTKIT_ROW(3, a0, 3);
    ORTKIT_ROW(4, a1, 0);
    ORTKIT_ROW(5, a1, 1);
    ORTKIT_ROW(6, a1, 2);
    ORTKIT_ROW(7, a1, 3);
    a += 8;
    b += bstep;
  }
#undef ORTKIT_ROW
  float acc[8 * 12];
#define ORTKIT_ST(r)                    \
  vst1q_f32(acc + r * 12, c##r##0);     \
  vst1q_f32(acc + r * 12 + 4, c##r##1); \
  vst1q_f32(acc + r * 12 + 8, c##r##2);
  ORTKIT_ST(0);
  ORTKIT_ST(1);
  ORTKIT_ST(2);
  ORTKIT_ST(3);
  ORTKIT_ST(4);
  ORTKIT_ST(5);
  ORTKIT_ST(6);
  ORTKIT_ST(7);
#undef ORTKIT_ST
  arm64_store_tile_f32(t, acc, 12);
}

}  // namespace

void gemm_f32_neon_8x12(const MicroTile& t) {
  if (t.ldb)
    tile<true>(t);
  else
    tile<false>(t);
}

}  // namespace ortkit::kernels
