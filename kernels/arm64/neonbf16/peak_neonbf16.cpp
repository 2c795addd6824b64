// BFMMLA peak probe (arm64/peak_arm64.h): 24 independent accumulator chains.
#include <arm_neon.h>

#include "arm64/peak_arm64.h"

namespace ortkit::kernels::arm64 {

uint64_t peak_bfmmla_neonbf16(uint64_t iters, float* sink) {
  float32x4_t c[24];
  for (auto& v : c) v = vdupq_n_f32(*sink);
  uint16x8_t ua = vdupq_n_u16(0x3f80), ub = vdupq_n_u16(0x3380);  // 1.0 and 2^-24
  // Opaque to GCC 12, which would otherwise fold the 1.0 into an fp16 `fmov v.8h` that +bf16 lacks.
  asm("" : "+w"(ua), "+w"(ub));
  const bfloat16x8_t a = vreinterpretq_bf16_u16(ua), b = vreinterpretq_bf16_u16(ub);
  for (uint64_t i = 0; i < iters; ++i)
#pragma GCC unroll 24
    for (int j = 0; j < 24; ++j) c[j] = vbfmmlaq_f32(c[j], a, b);
  float32x4_t s = c[0];
  for (int j = 1; j < 24; ++j) s = vaddq_f32(s, c[j]);
  *sink = vaddvq_f32(s);
  return iters * 24 * 32;  // 2x4 by 4x2: 4 outputs x 4 products x (mul + add)
}

}  // namespace ortkit::kernels::arm64
