// NEON peak probes (arm64/peak_arm64.h): 24 independent accumulator chains, enough to cover a 4-cycle
// latency on 4 pipes (Neoverse V1/V2) with registers left for the operands.
#include <arm_neon.h>

#include "arm64/peak_arm64.h"

namespace ortkit::kernels::arm64 {

uint64_t peak_fmla_neon(uint64_t iters, float* sink) {
  float32x4_t c[24];
  for (auto& v : c) v = vdupq_n_f32(*sink);
  const float32x4_t a = vdupq_n_f32(0.999f), b = vdupq_n_f32(1e-6f);
  for (uint64_t i = 0; i < iters; ++i)
#pragma GCC unroll 24
    for (int j = 0; j < 24; ++j) c[j] = vfmaq_f32(b, c[j], a);
  float32x4_t s = c[0];
  for (int j = 1; j < 24; ++j) s = vaddq_f32(s, c[j]);
  *sink = vaddvq_f32(s);
  return iters * 24 * 8;
}

uint64_t peak_smlal_neon(uint64_t iters, float* sink) {
  int32x4_t c[24];
  for (auto& v : c) v = vdupq_n_s32(static_cast<int32_t>(*sink));
  const int16x4_t a = vdup_n_s16(3), b = vdup_n_s16(-2);
  for (uint64_t i = 0; i < iters; ++i)
#pragma GCC unroll 24
    for (int j = 0; j < 24; ++j) c[j] = vmlal_s16(c[j], a, b);
  int32x4_t s = c[0];
  for (int j = 1; j < 24; ++j) s = vaddq_s32(s, c[j]);
  *sink = static_cast<float>(vaddvq_s32(s));
  return iters * 24 * 8;  // 4 lanes x (mul + add)
}

}  // namespace ortkit::kernels::arm64
