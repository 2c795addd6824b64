// The AMX kernels' store of a whole 32-column block from the tile sums (acc, 32 lanes per row), for the
// epilogues it can compute in a few instructions: bias, accumulation, none / relu / clip. Specialized per
// case so the row loop has no branches: the shared store_*_avx512 functions (any width, any activation)
// cost ~130 ns per 32 x 32 block, a tenth of a block's K = 768 products. Same operation order as they,
// so both paths give the same bits. Internal linkage (ARCHITECTURE.md, kernels).
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <type_traits>

#include "ortkit/kernels/registry.h"

namespace ortkit::kernels::x86 {
namespace {

enum class FastAct { none, relu, clip };

template <FastAct A>
inline __m512 fast_act(__m512 v, __m512 lo, __m512 hi) {
  if constexpr (A == FastAct::relu) return _mm512_max_ps(v, _mm512_setzero_ps());  // max(NaN, 0) = 0
  if constexpr (A == FastAct::clip) return _mm512_min_ps(_mm512_max_ps(v, lo), hi);
  return v;
}

// Calls f with the FastAct of t.act as a template argument; false when the activation is not one of them.
template <class F>
inline bool with_fast_act(const MicroTile& t, F&& f) {
  switch (t.act) {
    case Act::none: f(std::integral_constant<FastAct, FastAct::none>{}); return true;
    case Act::relu: f(std::integral_constant<FastAct, FastAct::relu>{}); return true;
    case Act::clip: f(std::integral_constant<FastAct, FastAct::clip>{}); return true;
    default: return false;
  }
}

// Row r's last steps, shared by both kinds: + the old C (or Epilogue::add's rows), + bias, activation.
template <FastAct A, bool Accumulate>
inline void finish_row(const MicroTile& t, int r, __m512 v0, __m512 v1, __m512 b0, __m512 b1, __m512 lo,
                       __m512 hi) {
  float* c = t.c + r * t.ldc;
  if constexpr (Accumulate) {
    const float* ci = t.c_in ? t.c_in + r * t.ldc_in : c;
    v0 = _mm512_add_ps(v0, _mm512_loadu_ps(ci));
    v1 = _mm512_add_ps(v1, _mm512_loadu_ps(ci + 16));
  }
  _mm512_storeu_ps(c, fast_act<A>(_mm512_add_ps(v0, b0), lo, hi));
  _mm512_storeu_ps(c + 16, fast_act<A>(_mm512_add_ps(v1, b1), lo, hi));
}

template <FastAct A, bool Accumulate>
inline void store_full_f32(const MicroTile& t, const float* acc) {
  const __m512 b0 = t.bias ? _mm512_loadu_ps(t.bias) : _mm512_setzero_ps();
  const __m512 b1 = t.bias ? _mm512_loadu_ps(t.bias + 16) : _mm512_setzero_ps();
  const __m512 lo = _mm512_set1_ps(t.clip_lo), hi = _mm512_set1_ps(t.clip_hi);
  for (int r = 0; r < t.m; ++r)
    finish_row<A, Accumulate>(t, r, _mm512_load_ps(acc + r * 32), _mm512_load_ps(acc + r * 32 + 16), b0, b1,
                              lo, hi);
}

// True when it stored the block (t.n == 32, fp32 C, an activation it computes).
inline bool try_store_full_f32(const MicroTile& t, const float* acc) {
  if (t.n != 32 || !t.c) return false;
  return with_fast_act(t, [&](auto a) {
    if (t.accumulate)
      store_full_f32<a(), true>(t, acc);
    else
      store_full_f32<a(), false>(t, acc);
  });
}

template <FastAct A, bool Accumulate, bool ZeroPoint>
inline void store_full_i32(const MicroTile& t, const int32_t* acc) {
  const __m512i off0 = _mm512_loadu_si512(t.col_offset), off1 = _mm512_loadu_si512(t.col_offset + 16);
  const __m512i zp0 = ZeroPoint ? _mm512_loadu_si512(t.col_zp_neg) : _mm512_setzero_si512();
  const __m512i zp1 = ZeroPoint ? _mm512_loadu_si512(t.col_zp_neg + 16) : _mm512_setzero_si512();
  const __m512 s0 = _mm512_loadu_ps(t.col_scale), s1 = _mm512_loadu_ps(t.col_scale + 16);
  const __m512 b0 = t.bias ? _mm512_loadu_ps(t.bias) : _mm512_setzero_ps();
  const __m512 b1 = t.bias ? _mm512_loadu_ps(t.bias + 16) : _mm512_setzero_ps();
  const __m512 lo = _mm512_set1_ps(t.clip_lo), hi = _mm512_set1_ps(t.clip_hi);
  for (int r = 0; r < t.m; ++r) {
    __m512i v0 = _mm512_add_epi32(_mm512_load_si512(acc + r * 32), off0);
    __m512i v1 = _mm512_add_epi32(_mm512_load_si512(acc + r * 32 + 16), off1);
    if constexpr (ZeroPoint) {
      const __m512i rs = _mm512_set1_epi32(t.row_sum[r]);
      v0 = _mm512_add_epi32(v0, _mm512_mullo_epi32(rs, zp0));
      v1 = _mm512_add_epi32(v1, _mm512_mullo_epi32(rs, zp1));
    }
    finish_row<A, Accumulate>(t, r, _mm512_mul_ps(_mm512_cvtepi32_ps(v0), s0),
                              _mm512_mul_ps(_mm512_cvtepi32_ps(v1), s1), b0, b1, lo, hi);
  }
}

// True when it stored the block (t.n == 32, fp32 C from int32 sums, an activation it computes).
inline bool try_store_full_i32(const MicroTile& t, const int32_t* acc) {
  if (t.n != 32 || !t.c || t.c32 || !t.col_offset) return false;
  return with_fast_act(t, [&](auto a) {
    const bool zp = t.col_zp_neg != nullptr;
    if (t.accumulate)
      zp ? store_full_i32<a(), true, true>(t, acc) : store_full_i32<a(), true, false>(t, acc);
    else
      zp ? store_full_i32<a(), false, true>(t, acc) : store_full_i32<a(), false, false>(t, acc);
  });
}

}  // namespace
}  // namespace ortkit::kernels::x86
