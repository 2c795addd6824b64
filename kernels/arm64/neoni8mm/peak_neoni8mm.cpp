// SMMLA peak probe (arm64/peak_arm64.h).
#include <arm_neon.h>

#include "arm64/peak_arm64.h"
#include "arm64/peak_chains.h"

namespace ortkit::kernels::arm64 {

uint64_t peak_smmla_neoni8mm(uint64_t iters, float* sink) {
  const int8x16_t a = vdupq_n_s8(3), b = vdupq_n_s8(-2);
  const int32x4_t s = chains24(
      iters, vdupq_n_s32(static_cast<int32_t>(*sink)), [&](int32x4_t c) { return vmmlaq_s32(c, a, b); },
      [](int32x4_t x, int32x4_t y) { return vaddq_s32(x, y); });
  *sink = static_cast<float>(vaddvq_s32(s));
  return iters * 24 * 64;  // 2x8 by 8x2: 4 outputs x 8 products x (mul + add)
}

}  // namespace ortkit::kernels::arm64
