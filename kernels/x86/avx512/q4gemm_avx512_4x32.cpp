// 4-bit weight GEMM tile for AVX-512 (q4gemm.h): up to 4 rows of A against one 32-column panel. Per pair of
// k, two vpmovzxbd widen the panel's 32 bytes (two nibbles each) to int32 lanes; the low nibble (k) is an
// AND, the high one (k + 1) a shift, each converted once and shared by every row. Each row keeps four
// block accumulators (two columns halves x k parity) so that a one-row tile still has four independent FMA
// chains, and folds them into its totals at the block's end with the scale and zero-point terms.
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_ps as the merge source, GCC PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>

#include "ortkit/kernels/q4gemm.h"
#include "x86/q4_tile_avx512.h"

namespace ortkit::kernels::x86 {

namespace {

template <int M>
void tile(const Q4Tile& t) {
  const __m512i low = _mm512_set1_epi32(15);
  __m512 tot0[M], tot1[M];
  for (int r = 0; r < M; ++r) tot0[r] = tot1[r] = _mm512_setzero_ps();
  const uint8_t* q = t.q;
  for (int64_t b = 0; b < t.blocks; ++b) {
    const int64_t k0 = b * t.block, k1 = std::min(t.k, k0 + t.block);
    __m512 lo0[M], lo1[M], hi0[M], hi1[M];
    for (int r = 0; r < M; ++r) lo0[r] = lo1[r] = hi0[r] = hi1[r] = _mm512_setzero_ps();
    int64_t k = k0;
    for (; k + 2 <= k1; k += 2, q += 32) {
      const __m512i x0 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
      const __m512i x1 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16)));
      const __m512 fl0 = _mm512_cvtepi32_ps(_mm512_and_si512(x0, low));
      const __m512 fl1 = _mm512_cvtepi32_ps(_mm512_and_si512(x1, low));
      const __m512 fh0 = _mm512_cvtepi32_ps(_mm512_srli_epi32(x0, 4));
      const __m512 fh1 = _mm512_cvtepi32_ps(_mm512_srli_epi32(x1, 4));
#pragma GCC unroll 4
      for (int r = 0; r < M; ++r) {
        const __m512 a0 = _mm512_set1_ps(t.a[r * t.lda + k]);
        const __m512 a1 = _mm512_set1_ps(t.a[r * t.lda + k + 1]);
        lo0[r] = _mm512_fmadd_ps(a0, fl0, lo0[r]);
        lo1[r] = _mm512_fmadd_ps(a0, fl1, lo1[r]);
        hi0[r] = _mm512_fmadd_ps(a1, fh0, hi0[r]);
        hi1[r] = _mm512_fmadd_ps(a1, fh1, hi1[r]);
      }
    }
    if (k < k1) {  // an odd K's last k: its high nibbles are the zero padding, and A has no k + 1
      const __m512i x0 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
      const __m512i x1 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16)));
      const __m512 fl0 = _mm512_cvtepi32_ps(_mm512_and_si512(x0, low));
      const __m512 fl1 = _mm512_cvtepi32_ps(_mm512_and_si512(x1, low));
      for (int r = 0; r < M; ++r) {
        const __m512 a0 = _mm512_set1_ps(t.a[r * t.lda + k]);
        lo0[r] = _mm512_fmadd_ps(a0, fl0, lo0[r]);
        lo1[r] = _mm512_fmadd_ps(a0, fl1, lo1[r]);
      }
      q += 32;
    }
    const __m512 s0 = _mm512_loadu_ps(t.scale + b * 32), s1 = _mm512_loadu_ps(t.scale + b * 32 + 16);
    const __m512 z0 = _mm512_loadu_ps(t.nzs + b * 32), z1 = _mm512_loadu_ps(t.nzs + b * 32 + 16);
#pragma GCC unroll 4
    for (int r = 0; r < M; ++r) {
      const __m512 as = _mm512_set1_ps(t.asum[r * t.blocks + b]);
      tot0[r] = _mm512_fmadd_ps(_mm512_add_ps(lo0[r], hi0[r]), s0, tot0[r]);
      tot1[r] = _mm512_fmadd_ps(_mm512_add_ps(lo1[r], hi1[r]), s1, tot1[r]);
      tot0[r] = _mm512_fmadd_ps(z0, as, tot0[r]);
      tot1[r] = _mm512_fmadd_ps(z1, as, tot1[r]);
    }
  }
  store_q4_rows<M>(t.c, t.ldc, t.n, t.bias, tot0, tot1);
}

}  // namespace

void q4gemm_avx512_4x32(const Q4Tile& t) {
  for_q4_rows(t.m, [&](auto m) { tile<m()>(t); });
}

}  // namespace ortkit::kernels::x86
