// gemm_f32_neon_8x12: fp32 micro-kernel for any armv8-a (Graviton2 / Neoverse N1 and up).
//
// Per k: 2 loads of A (8 rows) and 3 of B (12 columns), then 24 FMLA (by element): the 8 x 12 tile
// lives in 24 of the 32 q registers, A and B take 5 more. 24 FMA per 5 loads keeps both N1 FMA pipes
// busy with the load pipes far from saturated.
#include <arm_neon.h>

#include "arm64/epilogue_neon.h"

namespace ortkit::kernels {

void gemm_f32_neon_8x12(const MicroTile& t) {
  const float* a = static_cast<const float*>(t.a);
  const float* b = static_cast<const float*>(t.b);
  float32x4_t c00 = vdupq_n_f32(0), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
  float32x4_t c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
  float32x4_t c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;
  float32x4_t c60 = c00, c61 = c00, c62 = c00, c70 = c00, c71 = c00, c72 = c00;
#define ORTKIT_ROW(r, av, lane)                     \
  c##r##0 = vfmaq_laneq_f32(c##r##0, b0, av, lane); \
  c##r##1 = vfmaq_laneq_f32(c##r##1, b1, av, lane); \
  c##r##2 = vfmaq_laneq_f32(c##r##2, b2, av, lane);
  for (int64_t k = 0; k < t.kp; ++k) {
    const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
    const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
    ORTKIT_ROW(0, a0, 0);
    ORTKIT_ROW(1, a0, 1);
    ORTKIT_ROW(2, a0, 2);
    ORTKIT_ROW(3, a0, 3);
    ORTKIT_ROW(4, a1, 0);
    ORTKIT_ROW(5, a1, 1);
    ORTKIT_ROW(6, a1, 2);
    ORTKIT_ROW(7, a1, 3);
    a += 8;
    b += 12;
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

}  // namespace ortkit::kernels
