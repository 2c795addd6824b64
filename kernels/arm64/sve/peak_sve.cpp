// SVE FMLA peak probe (arm64/peak_arm64.h): the flop count scales with the CPU's vector length.
#include <arm_sve.h>

#include "arm64/peak_arm64.h"
#include "arm64/peak_chains.h"

namespace ortkit::kernels::arm64 {

uint64_t peak_fmla_sve(uint64_t iters, float* sink) {
  const svbool_t pg = svptrue_b32();
  const svfloat32_t a = svdup_f32(0.999f), b = svdup_f32(1e-6f);
  const svfloat32_t s = chains24(
      iters, svdup_f32(*sink), [&](svfloat32_t c) { return svmla_f32_x(pg, c, a, b); },
      [&](svfloat32_t x, svfloat32_t y) { return svadd_f32_x(pg, x, y); });
  *sink = svaddv_f32(pg, s);
  return iters * 24 * 2 * svcntw();
}

}  // namespace ortkit::kernels::arm64
