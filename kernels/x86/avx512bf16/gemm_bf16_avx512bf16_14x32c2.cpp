// bf16 AVX-512 micro-kernel, 14 rows x 32 columns, KR = 2: per k pair one vdpbf16ps per (row, 16
// columns), with A's (k, k+1) pair of row r broadcast as one 32-bit lane and B's panel holding the same
// pair per column. 28 zmm accumulators (fp32), as in the fp32 14x32 kernel.
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_ps as the merge source, GCC PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

namespace {
constexpr int kMR = 14, kNR = 32, kKR = 2;

template <int M>
void tile(const MicroTile& t) {
  const uint16_t* a = static_cast<const uint16_t*>(t.a);
  const uint16_t* b = static_cast<const uint16_t*>(t.b);
  __m512 c0[M], c1[M];
#pragma GCC unroll 14
  for (int r = 0; r < M; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  // C is read back at the end when accumulating (K blocks, Epilogue::accumulate): start fetching it now.
  if (t.accumulate)
    for (int r = 0; r < M; ++r) {
      _mm_prefetch(reinterpret_cast<const char*>(t.c + r * t.ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(t.c + r * t.ldc + 16), _MM_HINT_T0);
    }
  const int64_t groups = t.kp / kKR;
  int64_t g = 0;
  // Decode-sized tiles: two chains per row cannot cover vdpbf16ps latency, so odd groups go to a second
  // accumulator set (summed at the end).
  if constexpr (M <= 3) {
    __m512 d0[M], d1[M];
    for (int r = 0; r < M; ++r) d0[r] = d1[r] = _mm512_setzero_ps();
    for (; g + 2 <= groups; g += 2, a += 2 * kMR * kKR, b += 2 * kNR * kKR) {
      _mm_prefetch(reinterpret_cast<const char*>(b + 16 * kNR * kKR), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(b + 16 * kNR * kKR + 32), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(b + 17 * kNR * kKR), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(b + 17 * kNR * kKR + 32), _MM_HINT_T0);
      const __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 32);
      const __m512bh e0 = (__m512bh)_mm512_load_si512(b + kNR * kKR);
      const __m512bh e1 = (__m512bh)_mm512_load_si512(b + kNR * kKR + 32);
      for (int r = 0; r < M; ++r) {
        int32_t p0, p1;
        std::memcpy(&p0, a + r * kKR, 4);
        std::memcpy(&p1, a + kMR * kKR + r * kKR, 4);
        const __m512bh av = (__m512bh)_mm512_set1_epi32(p0), aw = (__m512bh)_mm512_set1_epi32(p1);
        c0[r] = _mm512_dpbf16_ps(c0[r], av, b0);
        c1[r] = _mm512_dpbf16_ps(c1[r], av, b1);
        d0[r] = _mm512_dpbf16_ps(d0[r], aw, e0);
        d1[r] = _mm512_dpbf16_ps(d1[r], aw, e1);
      }
    }
    for (int r = 0; r < M; ++r) {
      c0[r] = _mm512_add_ps(c0[r], d0[r]);
      c1[r] = _mm512_add_ps(c1[r], d1[r]);
    }
  }
#pragma GCC unroll 2
  for (; g < groups; ++g, a += kMR * kKR, b += kNR * kKR) {
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kNR * kKR), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kNR * kKR + 32), _MM_HINT_T0);
    const __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 32);
#pragma GCC unroll 14
    for (int r = 0; r < M; ++r) {
      int32_t pair;
      std::memcpy(&pair, a + r * kKR, 4);
      const __m512bh av = (__m512bh)_mm512_set1_epi32(pair);
      c0[r] = _mm512_dpbf16_ps(c0[r], av, b0);
      c1[r] = _mm512_dpbf16_ps(c1[r], av, b1);
    }
  }
  // Full-width tiles without a transcendental activation store straight from the registers (same
  // operation order as store_tile_f32: acc, + old C, + bias, then relu).
  if (t.n == kNR && (t.act == Act::none || t.act == Act::relu)) {
    const __m512 bias0 = t.bias ? _mm512_loadu_ps(t.bias) : _mm512_setzero_ps();
    const __m512 bias1 = t.bias ? _mm512_loadu_ps(t.bias + 16) : _mm512_setzero_ps();
    const bool relu = t.act == Act::relu;  // max(NaN, 0) = 0 as in apply_act
#pragma GCC unroll 14
    for (int r = 0; r < M; ++r) {
      float* c = t.c + r * t.ldc;
      __m512 v0 = c0[r], v1 = c1[r];
      if (t.accumulate) {
        v0 = _mm512_add_ps(v0, _mm512_loadu_ps(c));
        v1 = _mm512_add_ps(v1, _mm512_loadu_ps(c + 16));
      }
      v0 = _mm512_add_ps(v0, bias0);
      v1 = _mm512_add_ps(v1, bias1);
      if (relu) {
        v0 = _mm512_max_ps(v0, _mm512_setzero_ps());
        v1 = _mm512_max_ps(v1, _mm512_setzero_ps());
      }
      _mm512_storeu_ps(c, v0);
      _mm512_storeu_ps(c + 16, v1);
    }
    return;
  }
  alignas(64) float acc[M * kNR];
#pragma GCC unroll 14
  for (int r = 0; r < M; ++r) {
    _mm512_store_ps(acc + r * kNR, c0[r]);
    _mm512_store_ps(acc + r * kNR + 16, c1[r]);
  }
  store_f32_avx512(t, acc, kNR);
}
}  // namespace

void gemm_bf16_avx512bf16_14x32c2(const MicroTile& t) {
  switch (t.m) {
    case 1: return tile<1>(t);
    case 2: return tile<2>(t);
    case 3: return tile<3>(t);
    case 4: return tile<4>(t);
    case 5: return tile<5>(t);
    case 6: return tile<6>(t);
    case 7: return tile<7>(t);
    case 8: return tile<8>(t);
    case 9: return tile<9>(t);
    case 10: return tile<10>(t);
    case 11: return tile<11>(t);
    case 12: return tile<12>(t);
    case 13: return tile<13>(t);
    default: return tile<14>(t);
  }
}

}  // namespace ortkit::kernels::x86
