// What the two 4-bit weight AVX-512 tiles (avx512/q4gemm_avx512_4x32.cpp, avx512vnni/q4gemm_s8_*) share:
// the row-count dispatch and the masked store of a 32-column tile with its bias. Internal linkage: each
// ISA-flagged file compiles its own copy (ARCHITECTURE.md, kernels).
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <type_traits>

#include "x86/mask_avx512.h"

namespace ortkit::kernels::x86 {
namespace {

// Rows r < M of C (stride ldc), columns [0, n) of 32: lo[r] holds columns 0-15, hi[r] columns 16-31.
template <int M>
inline void store_q4_rows(float* c, int64_t ldc, int n, const float* bias, const __m512* lo,
                          const __m512* hi) {
  const __mmask16 m0 = mask16(n), m1 = mask16(n - 16);
  const __m512 bias0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
  const __m512 bias1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
  for (int r = 0; r < M; ++r) {
    _mm512_mask_storeu_ps(c + r * ldc, m0, _mm512_add_ps(lo[r], bias0));
    _mm512_mask_storeu_ps(c + r * ldc + 16, m1, _mm512_add_ps(hi[r], bias1));
  }
}

// Calls f(std::integral_constant<int, m>) for a tile's row count m in 1..4.
template <class F>
inline void for_q4_rows(int m, F&& f) {
  switch (m) {
    case 1: return f(std::integral_constant<int, 1>{});
    case 2: return f(std::integral_constant<int, 2>{});
    case 3: return f(std::integral_constant<int, 3>{});
    default: return f(std::integral_constant<int, 4>{});
  }
}

}  // namespace
}  // namespace ortkit::kernels::x86
