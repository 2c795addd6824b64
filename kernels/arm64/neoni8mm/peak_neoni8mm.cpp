// SMMLA peak probe (arm64/peak_arm64.h): 24 independent accumulator chains.
#include <arm_neon.h>

#include "arm64/peak_arm64.h"

namespace ortkit::kernels::arm64 {

uint64_t peak_smmla_neoni8mm(uint64_t iters, float* sink) {
  int32x4_t c[24];
  for (auto& v : c) v = vdupq_n_s32(static_cast<int32_t>(*sink));
  const int8x16_t a = vdupq_n_s8(3), b = vdupq_n_s8(-2);
  for (uint64_t i = 0; i < iters; ++i)
#pragma GCC unroll 24
    for (int j = 0; j < 24; ++j) c[j] = vmmlaq_s32(c[j], a, b);
  int32x4_t s = c[0];
  for (int j = 1; j < 24; ++j) s = vaddq_s32(s, c[j]);
  *sink = static_cast<float>(vaddvq_s32(s));
  return iters * 24 * 64;  // 2x8 by 8x2: 4 outputs x 8 products x (mul + add)
}

}  // namespace ortkit::kernels::arm64
