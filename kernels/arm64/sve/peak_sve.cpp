// SVE FMLA peak probe (arm64/peak_arm64.h): 24 independent accumulator chains of the vector length the
// CPU has (the flop count scales with it).
#include <arm_sve.h>

#include "arm64/peak_arm64.h"

namespace ortkit::kernels::arm64 {

uint64_t peak_fmla_sve(uint64_t iters, float* sink) {
  const svbool_t pg = svptrue_b32();
  svfloat32_t c0 = svdup_f32(*sink), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0,
              c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0, c16 = c0, c17 = c0,
              c18 = c0, c19 = c0, c20 = c0, c21 = c0, c22 = c0, c23 = c0;
  const svfloat32_t a = svdup_f32(0.999f), b = svdup_f32(1e-6f);
  for (uint64_t i = 0; i < iters; ++i) {
    c0 = svmla_f32_x(pg, b, c0, a);
    c1 = svmla_f32_x(pg, b, c1, a);
    c2 = svmla_f32_x(pg, b, c2, a);
    c3 = svmla_f32_x(pg, b, c3, a);
    c4 = svmla_f32_x(pg, b, c4, a);
    c5 = svmla_f32_x(pg, b, c5, a);
    c6 = svmla_f32_x(pg, b, c6, a);
    c7 = svmla_f32_x(pg, b, c7, a);
    c8 = svmla_f32_x(pg, b, c8, a);
    c9 = svmla_f32_x(pg, b, c9, a);
    c10 = svmla_f32_x(pg, b, c10, a);
    c11 = svmla_f32_x(pg, b, c11, a);
    c12 = svmla_f32_x(pg, b, c12, a);
    c13 = svmla_f32_x(pg, b, c13, a);
    c14 = svmla_f32_x(pg, b, c14, a);
    c15 = svmla_f32_x(pg, b, c15, a);
    c16 = svmla_f32_x(pg, b, c16, a);
    c17 = svmla_f32_x(pg, b, c17, a);
    c18 = svmla_f32_x(pg, b, c18, a);
    c19 = svmla_f32_x(pg, b, c19, a);
    c20 = svmla_f32_x(pg, b, c20, a);
    c21 = svmla_f32_x(pg, b, c21, a);
    c22 = svmla_f32_x(pg, b, c22, a);
    c23 = svmla_f32_x(pg, b, c23, a);
  }
  svfloat32_t s = svadd_f32_x(pg, svadd_f32_x(pg, svadd_f32_x(pg, c0, c1), svadd_f32_x(pg, c2, c3)),
                              svadd_f32_x(pg, svadd_f32_x(pg, c4, c5), svadd_f32_x(pg, c6, c7)));
  s = svadd_f32_x(pg, s,
                  svadd_f32_x(pg, svadd_f32_x(pg, svadd_f32_x(pg, c8, c9), svadd_f32_x(pg, c10, c11)),
                              svadd_f32_x(pg, svadd_f32_x(pg, c12, c13), svadd_f32_x(pg, c14, c15))));
  s = svadd_f32_x(pg, s,
                  svadd_f32_x(pg, svadd_f32_x(pg, svadd_f32_x(pg, c16, c17), svadd_f32_x(pg, c18, c19)),
                              svadd_f32_x(pg, svadd_f32_x(pg, c20, c21), svadd_f32_x(pg, c22, c23))));
  *sink = svaddv_f32(pg, s);
  return iters * 24 * 2 * svcntw();
}

}  // namespace ortkit::kernels::arm64
