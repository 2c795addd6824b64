// The AMX kernels' store of a whole 32-column block from the tile sums (acc, 32 lanes per row), for the
// epilogues it can compute in a few instructions: int8 zero-point terms and scales, accumulation, bias,
// none / relu / clip. A RowPlan holds the block's constants as vectors, so rows can be stored a few at a
// time between another block's tile products (amx_deferred.h) with the constants in registers; the
// shared store_*_avx512 functions (any width, any activation) cost ~130 ns per 32 x 32 block, a tenth
// of a block's K = 768 products. Same operation order as they, so both paths give the same bits.
// Internal linkage (ARCHITECTURE.md, kernels).
#pragma once
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "ortkit/kernels/registry.h"

namespace ortkit::kernels::x86 {

// value = act(scale * (acc + off + row_sum * zp) [+ c_in] + bias) for int32 sums (I32), act(acc [+ c_in]
// + bias) for fp32 ones; act clamps to [lo, hi] (relu: [0, inf], whose max(NaN, 0) = 0 as relu's).
struct RowPlan {
  __m512i off0, off1, zp0, zp1;
  __m512 s0, s1, b0, b1, lo, hi;
  float* c;
  int64_t ldc;
  const float* c_in;  // the values accumulation adds (C itself, or Epilogue::add), or null
  int64_t ldc_in;
  const int32_t* row_sum;  // with a B zero point, or null
  bool act;
};

namespace {

// The plan for a full-width block (t.n == 32, fp32 C, an activation it computes) whose sums are int32
// (i32: with the driver's column vectors) or fp32; false for any other block.
inline bool plan_rows(const MicroTile& t, bool i32, RowPlan& p) {
  if (t.n != 32 || !t.c) return false;
  if (i32 && (t.c32 || !t.col_offset)) return false;
  if (t.act != Act::none && t.act != Act::relu && t.act != Act::clip) return false;
  p.row_sum = nullptr;
  if (i32) {
    p.off0 = _mm512_loadu_si512(t.col_offset);
    p.off1 = _mm512_loadu_si512(t.col_offset + 16);
    p.s0 = _mm512_loadu_ps(t.col_scale);
    p.s1 = _mm512_loadu_ps(t.col_scale + 16);
    if (t.col_zp_neg) {
      p.row_sum = t.row_sum;
      p.zp0 = _mm512_loadu_si512(t.col_zp_neg);
      p.zp1 = _mm512_loadu_si512(t.col_zp_neg + 16);
    }
  }
  p.b0 = t.bias ? _mm512_loadu_ps(t.bias) : _mm512_setzero_ps();
  p.b1 = t.bias ? _mm512_loadu_ps(t.bias + 16) : _mm512_setzero_ps();
  p.act = t.act != Act::none;
  p.lo = _mm512_set1_ps(t.act == Act::relu ? 0.f : t.clip_lo);
  p.hi = _mm512_set1_ps(t.act == Act::relu ? INFINITY : t.clip_hi);
  p.c = t.c;
  p.ldc = t.ldc;
  p.c_in = t.accumulate ? (t.c_in ? t.c_in : t.c) : nullptr;
  p.ldc_in = t.c_in ? t.ldc_in : t.ldc;
  return true;
}

template <bool I32>
inline void plan_row(const RowPlan& p, const void* acc, int r) {
  __m512 v0, v1;
  if constexpr (I32) {
    const int32_t* a = static_cast<const int32_t*>(acc) + r * 32;
    __m512i i0 = _mm512_add_epi32(_mm512_load_si512(a), p.off0);
    __m512i i1 = _mm512_add_epi32(_mm512_load_si512(a + 16), p.off1);
    if (p.row_sum) {
      const __m512i rs = _mm512_set1_epi32(p.row_sum[r]);
      i0 = _mm512_add_epi32(i0, _mm512_mullo_epi32(rs, p.zp0));
      i1 = _mm512_add_epi32(i1, _mm512_mullo_epi32(rs, p.zp1));
    }
    v0 = _mm512_mul_ps(_mm512_cvtepi32_ps(i0), p.s0);
    v1 = _mm512_mul_ps(_mm512_cvtepi32_ps(i1), p.s1);
  } else {
    const float* a = static_cast<const float*>(acc) + r * 32;
    v0 = _mm512_load_ps(a);
    v1 = _mm512_load_ps(a + 16);
  }
  float* c = p.c + r * p.ldc;
  if (p.c_in) {
    const float* ci = p.c_in + r * p.ldc_in;
    v0 = _mm512_add_ps(v0, _mm512_loadu_ps(ci));
    v1 = _mm512_add_ps(v1, _mm512_loadu_ps(ci + 16));
  }
  v0 = _mm512_add_ps(v0, p.b0);
  v1 = _mm512_add_ps(v1, p.b1);
  if (p.act) {
    v0 = _mm512_min_ps(_mm512_max_ps(v0, p.lo), p.hi);
    v1 = _mm512_min_ps(_mm512_max_ps(v1, p.lo), p.hi);
  }
  _mm512_storeu_ps(c, v0);
  _mm512_storeu_ps(c + 16, v1);
}

template <bool I32>
inline void plan_rows_store(const RowPlan& p, const void* acc, int r0, int r1) {
  for (int r = r0; r < r1; ++r) plan_row<I32>(p, acc, r);
}

}  // namespace
}  // namespace ortkit::kernels::x86
