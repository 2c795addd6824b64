// gemm_f32_sve_8x3v: vector-length-agnostic SVE fp32 micro-kernel, 8 rows x 3 vectors of columns
// (NR = 3 * svcntw(): 12 at 128-bit (Graviton4), 24 at 256-bit (Graviton3), 48 at 512-bit).
//
// Per k: A's 8 values come in with two LD1RQW (each 128-bit segment holds a[0..3] / a[4..7]), B with
// three LD1W, then 24 FMLA (indexed): the lane index picks the row inside every segment. 24 accumulators
// + 5 operands = 29 of the 32 z registers. The registry has one entry per vector length because NR is
// part of the packed-B layout.
#include <arm_sve.h>

#include "arm64/epilogue_neon.h"

namespace ortkit::kernels {

void gemm_f32_sve_8x3v(const MicroTile& t) {
  const float* a = static_cast<const float*>(t.a);
  const float* b = static_cast<const float*>(t.b);
  const svbool_t pg = svptrue_b32();
  const int64_t vl = static_cast<int64_t>(svcntw());
  svfloat32_t c00 = svdup_n_f32(0), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
  svfloat32_t c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
  svfloat32_t c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;
  svfloat32_t c60 = c00, c61 = c00, c62 = c00, c70 = c00, c71 = c00, c72 = c00;
#define ORTKIT_ROW(r, av, lane)                    \
  c##r##0 = svmla_lane_f32(c##r##0, b0, av, lane); \
  c##r##1 = svmla_lane_f32(c##r##1, b1, av, lane); \
  c##r##2 = svmla_lane_f32(c##r##2, b2, av, lane);
  for (int64_t k = 0; k < t.kp; ++k) {
    const svfloat32_t a0 = svld1rq_f32(pg, a), a1 = svld1rq_f32(pg, a + 4);
    const svfloat32_t b0 = svld1_f32(pg, b), b1 = svld1_vnum_f32(pg, b, 1), b2 = svld1_vnum_f32(pg, b, 2);
    ORTKIT_ROW(0, a0, 0);
    ORTKIT_ROW(1, a0, 1);
    ORTKIT_ROW(2, a0, 2);
    ORTKIT_ROW(3, a0, 3);
    ORTKIT_ROW(4, a1, 0);
    ORTKIT_ROW(5, a1, 1);
    ORTKIT_ROW(6, a1, 2);
    ORTKIT_ROW(7, a1, 3);
    a += 8;
    b += 3 * vl;
  }
#undef ORTKIT_ROW
  // Up to 2048-bit vectors: 8 rows x 3 x 64 floats.
  alignas(64) float acc[8 * 3 * 64];
  const int64_t ld = 3 * vl;
#define ORTKIT_ST(r)                            \
  svst1_f32(pg, acc + r * ld, c##r##0);         \
  svst1_vnum_f32(pg, acc + r * ld, 1, c##r##1); \
  svst1_vnum_f32(pg, acc + r * ld, 2, c##r##2);
  ORTKIT_ST(0);
  ORTKIT_ST(1);
  ORTKIT_ST(2);
  ORTKIT_ST(3);
  ORTKIT_ST(4);
  ORTKIT_ST(5);
  ORTKIT_ST(6);
  ORTKIT_ST(7);
#undef ORTKIT_ST
  arm64_store_tile_f32(t, acc, static_cast<int>(ld));
}

}  // namespace ortkit::kernels
