// NEON peak probes (arm64/peak_arm64.h).
#include <arm_neon.h>

#include "arm64/peak_arm64.h"
#include "arm64/peak_chains.h"

namespace ortkit::kernels::arm64 {

uint64_t peak_fmla_neon(uint64_t iters, float* sink) {
  const float32x4_t a = vdupq_n_f32(0.999f), b = vdupq_n_f32(1e-6f);
  const float32x4_t s = chains24(
      iters, vdupq_n_f32(*sink), [&](float32x4_t c) { return vfmaq_f32(c, a, b); },
      [](float32x4_t x, float32x4_t y) { return vaddq_f32(x, y); });
  *sink = vaddvq_f32(s);
  return iters * 24 * 8;
}

uint64_t peak_smlal_neon(uint64_t iters, float* sink) {
  const int16x4_t a = vdup_n_s16(3), b = vdup_n_s16(-2);
  const int32x4_t s = chains24(
      iters, vdupq_n_s32(static_cast<int32_t>(*sink)), [&](int32x4_t c) { return vmlal_s16(c, a, b); },
      [](int32x4_t x, int32x4_t y) { return vaddq_s32(x, y); });
  *sink = static_cast<float>(vaddvq_s32(s));
  return iters * 24 * 8;  // 4 lanes x (mul + add)
}

}  // namespace ortkit::kernels::arm64
