// gemm_s8s8_neondot_8x12c4: s8 x s8 -> int32 with lane-indexed SDOT (Graviton2 / Neoverse N1 and up).
//
// SDOT (by element) adds, for each of 4 int32 lanes, the dot product of 4 s8 of B (one column's 4 k) with
// the 4 s8 of A picked by the lane index (one row's 4 k). KR=4 packing gives 16-byte groups of 4
// columns (B) and 4 rows (A). Per group: 2 A + 3 B loads, 24 SDOT = 384 MACs; 24 accumulators +
// 5 operands = 29 q registers.
// The u8s8 entry on CPUs without I8MM (gemm_u8s8_neondot_8x12c4) runs this same function: the driver
// packs u8 A as s8 (a ^ 0x80 = a - 128) and moves the shift into A's zero point (GemmKernel::a_u8_to_s8).
#include <arm_neon.h>

#include "arm64/epilogue_neon.h"

namespace ortkit::kernels {

void gemm_s8s8_neondot_8x12c4(const MicroTile& t) {
  const int8_t* a = static_cast<const int8_t*>(t.a);
  const int8_t* b = static_cast<const int8_t*>(t.b);
  int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
  int32x4_t c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
  int32x4_t c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;
  int32x4_t c60 = c00, c61 = c00, c62 = c00, c70 = c00, c71 = c00, c72 = c00;
#define ORTKIT_ROW(r, av, lane)                     \
  c##r##0 = vdotq_laneq_s32(c##r##0, b0, av, lane); \
  c##r##1 = vdotq_laneq_s32(c##r##1, b1, av, lane); \
  c##r##2 = vdotq_laneq_s32(c##r##2, b2, av, lane);
  for (int64_t g = 0; g < t.kp; g += 4) {
    const int8x16_t a0 = vld1q_s8(a), a1 = vld1q_s8(a + 16);
    const int8x16_t b0 = vld1q_s8(b), b1 = vld1q_s8(b + 16), b2 = vld1q_s8(b + 32);
    ORTKIT_ROW(0, a0, 0);
    ORTKIT_ROW(1, a0, 1);
    ORTKIT_ROW(2, a0, 2);
    ORTKIT_ROW(3, a0, 3);
    ORTKIT_ROW(4, a1, 0);
    ORTKIT_ROW(5, a1, 1);
    ORTKIT_ROW(6, a1, 2);
    ORTKIT_ROW(7, a1, 3);
    a += 32;
    b += 48;
  }
#undef ORTKIT_ROW
  int32_t acc[8 * 12];
#define ORTKIT_ST(r)                    \
  vst1q_s32(acc + r * 12, c##r##0);     \
  vst1q_s32(acc + r * 12 + 4, c##r##1); \
  vst1q_s32(acc + r * 12 + 8, c##r##2);
  ORTKIT_ST(0);
  ORTKIT_ST(1);
  ORTKIT_ST(2);
  ORTKIT_ST(3);
  ORTKIT_ST(4);
  ORTKIT_ST(5);
  ORTKIT_ST(6);
  ORTKIT_ST(7);
#undef ORTKIT_ST
  arm64_store_tile_i32(t, acc, 12);
}

}  // namespace ortkit::kernels
