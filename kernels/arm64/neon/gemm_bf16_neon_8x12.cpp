// gemm_bf16_neon_8x12: the bf16 kind on CPUs without BF16 instructions (Graviton2 / Neoverse N1).
//
// bf16 is the top half of an fp32, so widening is a 16-bit left shift (SHLL/SHLL2) and the product is
// then the exact fp32 FMLA of gemm_f32_neon_8x12: the same results as BFMMLA up to fp32 summation
// order, at half the packed-B bytes of f32. KR=1: per k, 8 A and 12 B bf16 values (one and one-and-a-half
// q registers) widen into 5 fp32 vectors, then 24 FMLA (by element).
#include <arm_neon.h>

#include "arm64/epilogue_neon.h"

namespace ortkit::kernels {

void gemm_bf16_neon_8x12(const MicroTile& t) {
  const uint16_t* a = static_cast<const uint16_t*>(t.a);
  const uint16_t* b = static_cast<const uint16_t*>(t.b);
  float32x4_t c00 = vdupq_n_f32(0), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
  float32x4_t c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
  float32x4_t c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;
  float32x4_t c60 = c00, c61 = c00, c62 = c00, c70 = c00, c71 = c00, c72 = c00;
#define ORTKIT_ROW(r, av, lane)                     \
  c##r##0 = vfmaq_laneq_f32(c##r##0, b0, av, lane); \
  c##r##1 = vfmaq_laneq_f32(c##r##1, b1, av, lane); \
  c##r##2 = vfmaq_laneq_f32(c##r##2, b2, av, lane);
  for (int64_t k = 0; k < t.kp; ++k) {
    const uint16x8_t a16 = vld1q_u16(a), b16 = vld1q_u16(b);
    const uint16x4_t b16hi = vld1_u16(b + 8);
    const float32x4_t a0 = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(a16), 16));
    const float32x4_t a1 = vreinterpretq_f32_u32(vshll_high_n_u16(a16, 16));
    const float32x4_t b0 = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(b16), 16));
    const float32x4_t b1 = vreinterpretq_f32_u32(vshll_high_n_u16(b16, 16));
    const float32x4_t b2 = vreinterpretq_f32_u32(vshll_n_u16(b16hi, 16));
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
