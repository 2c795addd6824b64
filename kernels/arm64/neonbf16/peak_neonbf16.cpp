// BFMMLA peak probe (arm64/peak_arm64.h).
#include <arm_neon.h>

#include "arm64/peak_arm64.h"
#include "arm64/peak_chains.h"

namespace ortkit::kernels::arm64 {

uint64_t peak_bfmmla_neonbf16(uint64_t iters, float* sink) {
  uint16x8_t ua = vdupq_n_u16(0x3f80), ub = vdupq_n_u16(0x3380);  // 1.0 and 2^-24
  // Opaque to GCC 12, which would otherwise fold the 1.0 into an fp16 `fmov v.8h` that +bf16 lacks.
  asm("" : "+w"(ua), "+w"(ub));
  const bfloat16x8_t a = vreinterpretq_bf16_u16(ua), b = vreinterpretq_bf16_u16(ub);
  const float32x4_t s = chains24(
      iters, vdupq_n_f32(*sink), [&](float32x4_t c) { return vbfmmlaq_f32(c, a, b); },
      [](float32x4_t x, float32x4_t y) { return vaddq_f32(x, y); });
  *sink = vaddvq_f32(s);
  return iters * 24 * 32;  // 2x4 by 4x2: 4 outputs x 4 products x (mul + add)
}

}  // namespace ortkit::kernels::arm64
