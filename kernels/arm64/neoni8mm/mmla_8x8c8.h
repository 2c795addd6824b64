// The 8x8 MMLA tile shared by the s8s8 (SMMLA) and u8s8 (USMMLA) kernels of this folder; only the A type
// and the instruction differ. Included by the two kernel files only: both build with the same -march
// flags, so no ISA-specific inline code leaks into another object library.
//
// An MMLA multiplies a 2x8 block of A (two rows x 8 k, one q register) by an 8x2 block of B (two
// columns x 8 k) into a 2x2 int32 block: 32 MACs per instruction, twice SDOT's 16. KR=8 packing gives
// these operands directly. Per group of 8 k: 4 A + 4 B loads, 16 MMLA (4 row pairs x 4 column pairs).
#pragma once
#include <arm_neon.h>

#include "arm64/epilogue_neon.h"

namespace ortkit::kernels {

inline int32x4_t mmla(int32x4_t c, int8x16_t a, int8x16_t b) {
  return vmmlaq_s32(c, a, b);
}  // SMMLA
inline int32x4_t mmla(int32x4_t c, uint8x16_t a, int8x16_t b) {
  return vusmmlaq_s32(c, a, b);
}  // USMMLA
inline int8x16_t load_a(const int8_t* p) {
  return vld1q_s8(p);
}
inline uint8x16_t load_a(const uint8_t* p) {
  return vld1q_u8(p);
}

template <class AT>
inline void mmla_8x8c8(const MicroTile& t) {
  const AT* a = static_cast<const AT*>(t.a);
  const int8_t* b = static_cast<const int8_t*>(t.b);
  int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  int32x4_t c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
#define ORTKIT_COL(q)                          \
  {                                            \
    const int8x16_t bq = vld1q_s8(b + 16 * q); \
    c0##q = mmla(c0##q, a0, bq);               \
    c1##q = mmla(c1##q, a1, bq);               \
    c2##q = mmla(c2##q, a2, bq);               \
    c3##q = mmla(c3##q, a3, bq);               \
  }
  for (int64_t g = 0; g < t.kp; g += 8) {
    const auto a0 = load_a(a), a1 = load_a(a + 16), a2 = load_a(a + 32), a3 = load_a(a + 48);
    ORTKIT_COL(0);
    ORTKIT_COL(1);
    ORTKIT_COL(2);
    ORTKIT_COL(3);
    a += 64;
    b += 64;
  }
#undef ORTKIT_COL
  int32_t acc[8 * 8];
#define ORTKIT_ST(p, q0, q1, j)                                                                 \
  {                                                                                             \
    const int64x2_t lo = vreinterpretq_s64_s32(c##p##q0), hi = vreinterpretq_s64_s32(c##p##q1); \
    vst1q_s32(acc + (2 * p) * 8 + j, vreinterpretq_s32_s64(vzip1q_s64(lo, hi)));                \
    vst1q_s32(acc + (2 * p + 1) * 8 + j, vreinterpretq_s32_s64(vzip2q_s64(lo, hi)));            \
  }
#define ORTKIT_ST_ROWS(p) ORTKIT_ST(p, 0, 1, 0) ORTKIT_ST(p, 2, 3, 4)
  ORTKIT_ST_ROWS(0);
  ORTKIT_ST_ROWS(1);
  ORTKIT_ST_ROWS(2);
  ORTKIT_ST_ROWS(3);
#undef ORTKIT_ST_ROWS
#undef ORTKIT_ST
  arm64_store_tile_i32(t, acc, 8);
}

}  // namespace ortkit::kernels
