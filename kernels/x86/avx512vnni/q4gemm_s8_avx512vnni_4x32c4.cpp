// int8-activation 4-bit weight tile for AVX-512 VNNI (q4gemm.h, MatMulNBits accuracy_level 4): up to 4 rows
// of s8 A against one 32-column panel. Per k quad one 64-byte load holds both 16-column groups; an AND and
// a shift give the low- and high-nibble columns as u8 bytes, two lane shuffles put each group's 16 columns
// in one register, and vpdpbusd (u8 weights x s8 A broadcast, exact int32) runs once per row and group.
// Each row alternates two accumulator sets over the quads so a one-row tile is not latency bound; at the
// block's end they are converted once and scaled with the zero-point term.
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_ps as the merge source, GCC PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "ortkit/kernels/q4gemm.h"
#include "x86/q4_tile_avx512.h"

namespace ortkit::kernels::x86 {

namespace {

template <int M>
inline void quad(const Q4S8Tile& t, const uint8_t* q, int64_t kq, __m512i* x0, __m512i* x1) {
  const __m512i low = _mm512_set1_epi8(15);
  const __m512i v = _mm512_loadu_si512(q + kq * 64);
  const __m512i lo = _mm512_and_si512(v, low);
  const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
  const __m512i b0 = _mm512_shuffle_i64x2(lo, hi, 0x44);  // group 0: columns 0-7 (lo), 8-15 (hi)
  const __m512i b1 = _mm512_shuffle_i64x2(lo, hi, 0xEE);  // group 1: columns 16-23, 24-31
#pragma GCC unroll 4
  for (int r = 0; r < M; ++r) {
    int32_t a4;
    std::memcpy(&a4, t.a + r * t.lda + 4 * kq, 4);
    const __m512i av = _mm512_set1_epi32(a4);
    x0[r] = _mm512_dpbusd_epi32(x0[r], b0, av);
    x1[r] = _mm512_dpbusd_epi32(x1[r], b1, av);
  }
}

template <int M>
void tile(const Q4S8Tile& t) {
  __m512 tot0[M], tot1[M];
  for (int r = 0; r < M; ++r) tot0[r] = tot1[r] = _mm512_setzero_ps();
  for (int64_t b = 0; b < t.blocks; ++b) {
    const int64_t kq0 = b * t.block / 4, kq1 = std::min(t.kp, (b + 1) * t.block) / 4;
    __m512i e0[M], e1[M], o0[M], o1[M];
    for (int r = 0; r < M; ++r) e0[r] = e1[r] = o0[r] = o1[r] = _mm512_setzero_si512();
    int64_t kq = kq0;
    for (; kq + 2 <= kq1; kq += 2) {
      quad<M>(t, t.q, kq, e0, e1);
      quad<M>(t, t.q, kq + 1, o0, o1);
    }
    if (kq < kq1) quad<M>(t, t.q, kq, e0, e1);
    const __m512 s0 = _mm512_loadu_ps(t.scale + b * 32), s1 = _mm512_loadu_ps(t.scale + b * 32 + 16);
    const __m512 z0 = _mm512_loadu_ps(t.zp + b * 32), z1 = _mm512_loadu_ps(t.zp + b * 32 + 16);
#pragma GCC unroll 4
    for (int r = 0; r < M; ++r) {
      const __m512 as = _mm512_set1_ps(t.a_scale[r * t.blocks + b]);
      const __m512 sum = _mm512_set1_ps(t.a_sum[r * t.blocks + b]);
      const __m512 f0 = _mm512_fnmadd_ps(z0, sum, _mm512_cvtepi32_ps(_mm512_add_epi32(e0[r], o0[r])));
      const __m512 f1 = _mm512_fnmadd_ps(z1, sum, _mm512_cvtepi32_ps(_mm512_add_epi32(e1[r], o1[r])));
      tot0[r] = _mm512_fmadd_ps(f0, _mm512_mul_ps(s0, as), tot0[r]);
      tot1[r] = _mm512_fmadd_ps(f1, _mm512_mul_ps(s1, as), tot1[r]);
    }
  }
  store_q4_rows<M>(t.c, t.ldc, t.n, t.bias, tot0, tot1);
}

}  // namespace

void q4gemm_s8_avx512vnni_4x32c4(const Q4S8Tile& t) {
  for_q4_rows(t.m, [&](auto m) { tile<m()>(t); });
}

}  // namespace ortkit::kernels::x86
