// The 8x8 widening-multiply tile shared by the s8s8 and u8s8 kernels for plain armv8-a (no dotprod:
// Cortex-A72, Graviton1); only the widening of A differs (SXTL, or UXTL: 0..255 fits in s16). Included by
// the two kernel files of this folder only, which build with the same flags.
//
// KR=1: per k, 8 A and 8 B bytes are widened to s16 (A: SXTL or UXTL; B: SXTL),
// then 16 SMLAL/SMLAL2 (by element) add 32-bit products into 16 int32x4 accumulators (4 MACs each):
// no intermediate is narrower than 32 bits, so nothing saturates.
#pragma once
#include <arm_neon.h>

#include "arm64/epilogue_neon.h"

namespace ortkit::kernels {

inline int16x8_t widen_a(const int8_t* p) {
  return vmovl_s8(vld1_s8(p));
}
inline int16x8_t widen_a(const uint8_t* p) {
  return vreinterpretq_s16_u16(vmovl_u8(vld1_u8(p)));
}

template <class AT>
inline void smlal_8x8(const MicroTile& t) {
  const AT* a = static_cast<const AT*>(t.a);
  const int8_t* b = static_cast<const int8_t*>(t.b);
  int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  int32x4_t c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
#define ORTKIT_ROW(r)                                          \
  c##r##0 = vmlal_laneq_s16(c##r##0, vget_low_s16(bv), av, r); \
  c##r##1 = vmlal_high_laneq_s16(c##r##1, bv, av, r);
  for (int64_t k = 0; k < t.kp; ++k) {
    const int16x8_t av = widen_a(a);
    const int16x8_t bv = vmovl_s8(vld1_s8(b));
    ORTKIT_ROW(0);
    ORTKIT_ROW(1);
    ORTKIT_ROW(2);
    ORTKIT_ROW(3);
    ORTKIT_ROW(4);
    ORTKIT_ROW(5);
    ORTKIT_ROW(6);
    ORTKIT_ROW(7);
    a += 8;
    b += 8;
  }
#undef ORTKIT_ROW
  int32_t acc[8 * 8];
#define ORTKIT_ST(r)               \
  vst1q_s32(acc + r * 8, c##r##0); \
  vst1q_s32(acc + r * 8 + 4, c##r##1);
  ORTKIT_ST(0);
  ORTKIT_ST(1);
  ORTKIT_ST(2);
  ORTKIT_ST(3);
  ORTKIT_ST(4);
  ORTKIT_ST(5);
  ORTKIT_ST(6);
  ORTKIT_ST(7);
#undef ORTKIT_ST
  arm64_store_tile_i32(t, acc, 8);
}

}  // namespace ortkit::kernels
