// gemm_f32_sve_8x3v: vector-length-agnostic SVE fp32 micro-kernel, 8 rows x 3 vectors of columns
// (NR = 3 * svcntw(): 12 at 128-bit (Graviton4), 24 at 256-bit (Graviton3), 48 at 512-bit).
//
// Per k: A's 8 values come in with two LD1RQW (each 128-bit segment holds a[0..3] / a[4..7]), B with
// three LD1W, then 24 FMLA (indexed): the lane index picks the row inside every segment. 24 accumulators
// + 5 operands = 29 of the 32 z registers. The registry has one entry per vector length because NR is
// part of the packed-B layout. B is a packed panel, or (GemmKernel::b_rows, t.ldb > 0) rows read in place
// under predicates that stop at t.n.
#include <arm_sve.h>

#include "arm64/epilogue_neon.h"

namespace ortkit::kernels {

void gemm_f32_sve_8x3v(const MicroTile& t) {
  const float* a = static_cast<const float*>(t.a);
  const float* b = static_cast<const float*>(t.b);
  const svbool_t pg = svptrue_b32();
  const int64_t vl = static_cast<int64_t>(svcntw());
  const int64_t bstep = t.ldb ? t.ldb : 3 * vl;
  const int64_t n = t.ldb ? t.n : 3 * vl;  // columns to load: a packed panel's padding reads as zeros
  const svbool_t p0 = svwhilelt_b32(int64_t{0}, n), p1 = svwhilelt_b32(vl, n), p2 = svwhilelt_b32(2 * vl, n);
  // MicroTile::row_bias starts the sums (rows past t.m are never stored).
  float rb[8] = {};
  if (t.row_bias)
    for (int r = 0; r < t.m; ++r) rb[r] = t.row_bias[r];
  svfloat32_t c00 = svdup_n_f32(rb[0]), c01 = c00, c02 = c00, c10 = svdup_n_f32(rb[1]), c11 = c10, c12 = c10;
  svfloat32_t c20 = svdup_n_f32(rb[2]), c21 = c20, c22 = c20, c30 = svdup_n_f32(rb[3]), c31 = c30, c32 = c30;
  svfloat32_t c40 = svdup_n_f32(rb[4]), c41 = c40, c42 = c40, c50 = svdup_n_f32(rb[5]), c51 = c50, c52 = c50;
  svfloat32_t c60 = svdup_n_f32(rb[6]), c61 = c60, c62 = c60, c70 = svdup_n_f32(rb[7]), c71 = c70, c72 = c70;
#define ORTKIT_ROW(r, av, lane)                    \
  c##r##0 = svmla_lane_f32(c##r##0, b0, av, lane); \
  c##r##1 = svmla_lane_f32(c##r##1, b1, av, lane); \
  c##r##2 = svmla_lane_f32(c##r##2, b2, av, lane);
  for (int64_t k = 0; k < t.kp; ++k) {
    const svfloat32_t a0 = svld1rq_f32(pg, a), a1 = svld1rq_f32(pg, a + 4);
    const svfloat32_t b0 = svld1_f32(p0, b), b1 = svld1_vnum_f32(p1, b, 1), b2 = svld1_vnum_f32(p2, b, 2);
    ORTKIT_ROW(0, a0, 0);
    ORTKIT_ROW(1, a0, 1);
    ORTKIT_ROW(2, a0, 2);
    ORTKIT_ROW(3, a0, 3);
    ORTKIT_ROW(4, a1, 0);
    ORTKIT_ROW(5, a1, 1);
    ORTKIT_ROW(6, a1, 2);
    ORTKIT_ROW(7, a1, 3);
    a += 8;
    b += bstep;
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
