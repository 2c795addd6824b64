// gemm_bf16_neonbf16_8x12c4: bf16 x bf16 -> fp32 with BFMMLA (Graviton3 / Graviton4).
//
// BFMMLA multiplies a 2x4 bf16 block of A (one q register: two rows x 4 k) by a 4x2 block of B (one q
// register: two columns x 4 k) into a 2x2 fp32 block. The KR=4 packing of registry.h already lays a
// group out as exactly these operands: A [r0 k0..3][r1 k0..3] ..., B [c0 k0..3][c1 k0..3] ...
// Per group of 4 k: 4 A loads, 6 B loads, 24 BFMMLA (4 row pairs x 6 column pairs) = 384 MACs. The
// 24 accumulators and 4 A operands leave 4 registers for B, so B is loaded one pair at a time.
#include <arm_neon.h>

#include "arm64/epilogue_neon.h"

namespace ortkit::kernels {

void gemm_bf16_neonbf16_8x12c4(const MicroTile& t) {
  const uint16_t* a = static_cast<const uint16_t*>(t.a);
  const uint16_t* b = static_cast<const uint16_t*>(t.b);
  float32x4_t c00 = vdupq_n_f32(0), c01 = c00, c02 = c00, c03 = c00, c04 = c00, c05 = c00;
  float32x4_t c10 = c00, c11 = c00, c12 = c00, c13 = c00, c14 = c00, c15 = c00;
  float32x4_t c20 = c00, c21 = c00, c22 = c00, c23 = c00, c24 = c00, c25 = c00;
  float32x4_t c30 = c00, c31 = c00, c32 = c00, c33 = c00, c34 = c00, c35 = c00;
#define ORTKIT_COL(q)                                                     \
  {                                                                       \
    const bfloat16x8_t bq = vreinterpretq_bf16_u16(vld1q_u16(b + 8 * q)); \
    c0##q = vbfmmlaq_f32(c0##q, a0, bq);                                  \
    c1##q = vbfmmlaq_f32(c1##q, a1, bq);                                  \
    c2##q = vbfmmlaq_f32(c2##q, a2, bq);                                  \
    c3##q = vbfmmlaq_f32(c3##q, a3, bq);                                  \
  }
  for (int64_t g = 0; g < t.kp; g += 4) {
    const bfloat16x8_t a0 = vreinterpretq_bf16_u16(vld1q_u16(a));
    const bfloat16x8_t a1 = vreinterpretq_bf16_u16(vld1q_u16(a + 8));
    const bfloat16x8_t a2 = vreinterpretq_bf16_u16(vld1q_u16(a + 16));
    const bfloat16x8_t a3 = vreinterpretq_bf16_u16(vld1q_u16(a + 24));
    ORTKIT_COL(0);
    ORTKIT_COL(1);
    ORTKIT_COL(2);
    ORTKIT_COL(3);
    ORTKIT_COL(4);
    ORTKIT_COL(5);
    a += 32;
    b += 48;
  }
#undef ORTKIT_COL
  // c<p><q> holds rows 2p, 2p+1 x columns 2q, 2q+1 as [r0c0 r0c1 r1c0 r1c1]: pairs of 64-bit halves
  // from two neighbouring column pairs make one 4-wide row.
  float acc[8 * 12];
#define ORTKIT_ST(p, q0, q1, j)                                                                   \
  {                                                                                               \
    const float64x2_t lo = vreinterpretq_f64_f32(c##p##q0), hi = vreinterpretq_f64_f32(c##p##q1); \
    vst1q_f32(acc + (2 * p) * 12 + j, vreinterpretq_f32_f64(vzip1q_f64(lo, hi)));                 \
    vst1q_f32(acc + (2 * p + 1) * 12 + j, vreinterpretq_f32_f64(vzip2q_f64(lo, hi)));             \
  }
#define ORTKIT_ST_ROWS(p) ORTKIT_ST(p, 0, 1, 0) ORTKIT_ST(p, 2, 3, 4) ORTKIT_ST(p, 4, 5, 8)
  ORTKIT_ST_ROWS(0);
  ORTKIT_ST_ROWS(1);
  ORTKIT_ST_ROWS(2);
  ORTKIT_ST_ROWS(3);
#undef ORTKIT_ST_ROWS
#undef ORTKIT_ST
  arm64_store_tile_f32(t, acc, 12);
}

}  // namespace ortkit::kernels
