// bf16 AVX-512 micro-kernel, 14 rows x 32 columns, KR = 2: per k pair one vdpbf16ps per (row, 16
// columns), with A's (k, k+1) pair of row r broadcast as one 32-bit lane and B's panel holding the same
// pair per column. 28 zmm accumulators (fp32), as in the fp32 14x32 kernel. A is read as rows of bf16
// with stride t.lda (GemmKernel::a_rows). It rounds them itself from fp32 rows (MicroTile::a_f32) on
// a rectangle's first B panel, hidden behind the dot products, or reads rows the driver prepared.
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_ps as the merge source, GCC PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>

#include "x86/mask_avx512.h"
#include "x86/rows_avx512.h"
#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

namespace {
// The K loop reads B 8 KiB ahead. A micro-panel of K = 768 does not fit L1 beside the A rows, so every
// tile streams it from L2 (and a panel's first tile from L3); 1 KiB ahead left loads waiting:
// 128x3072x768 and 512x1024x1024 went 7% and 1% faster on 1 thread (in-process A/B), small M unchanged.
constexpr int kNR = 32, kKR = 2, kBAhead = 64;  // k pairs of 128 bytes

template <int M, int R = 0>
inline void dot_rows(const Rows& a, int64_t off, __m512bh b0, __m512bh b1, __m512* c0, __m512* c1) {
  if constexpr (R < M) {
    const __m512bh av = (__m512bh)_mm512_set1_epi32(a.quad<R>(off));
    c0[R] = _mm512_dpbf16_ps(c0[R], av, b0);
    c1[R] = _mm512_dpbf16_ps(c1[R], av, b1);
    dot_rows<M, R + 1>(a, off, b0, b1, c0, c1);
  }
}

// Chunk c (k in [32c, 32c + 32): one 64-byte line per row) of the tile's M rows, fp32 -> bf16 nearest
// even, zeros past k_f32. vcvtne2ps2bf16 reads denormal inputs as zero; vdpbf16ps would read the bf16
// denormals the exact rounding gives as zero too, so only values just under FLT_MIN (which round up to
// it) differ from the portable pass, by < 1.2e-38 each.
template <int M>
inline void convert_chunk(const MicroTile& t, int64_t c, int64_t l) {
  const int64_t valid = t.k_f32 - 32 * c;
  const __mmask16 lo = mask16(valid), hi = mask16(valid - 16);
  const float* s = t.a_f32 + 32 * c;
  char* d = const_cast<char*>(static_cast<const char*>(t.a)) + 64 * c;
#pragma GCC unroll 14
  for (int r = 0; r < M; ++r) {
    const __m512 v0 = _mm512_maskz_loadu_ps(lo, s + r * t.lda_f32);
    const __m512 v1 = _mm512_maskz_loadu_ps(hi, s + r * t.lda_f32 + 16);
    _mm512_storeu_si512(d + r * l, (__m512i)_mm512_cvtne2ps_pbh(v1, v0));
    _mm_prefetch(reinterpret_cast<const char*>(s + r * t.lda_f32 + 64), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(s + r * t.lda_f32 + 80), _MM_HINT_T0);
  }
}

template <int M, bool Cvt>
void tile(const MicroTile& t) {
  const int64_t l = t.lda * 2;
  const char* a0 = static_cast<const char*>(t.a);
  Rows a(a0, l);
  const uint16_t* b = static_cast<const uint16_t*>(t.b);
  __m512 c0[M], c1[M];
#pragma GCC unroll 14
  for (int r = 0; r < M; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  const int64_t groups = t.kp / kKR;
  const int64_t chunks = (groups + 15) / 16;
  int64_t g = 0;
  constexpr bool kSplit = M <= 6;  // see the second accumulator set below
  // Decode-sized tiles convert their few rows up front; larger ones one chunk ahead of the dot products
  // (below), so the stores have long retired when the broadcasts read them back.
  if constexpr (Cvt && kSplit)
    for (int64_t c = 0; c < chunks; ++c) convert_chunk<M>(t, c, l);
  // Decode-sized tiles: two chains per row cannot cover vdpbf16ps latency, so odd groups go to a second
  // accumulator set (summed at the end).
  if constexpr (kSplit) {
    __m512 d0[M], d1[M];
    for (int r = 0; r < M; ++r) d0[r] = d1[r] = _mm512_setzero_ps();
    // No software prefetch here: a decode-sized tile streams its B panel once, from L3 or memory, and
    // the hardware prefetchers keep that stream going; prefetching 2 KiB ahead ran past them and
    // slowed it (Zen 4, 1 thread: 1xNxK GEMVs 1.1-1.3x faster without, GPT-2 decode steps 1.16x for
    // bf16 and int8). It only helped a B already in L2 from the previous call (-2 to -9% without).
    for (; g + 2 <= groups; g += 2, a.step(8), b += 2 * kNR * kKR) {
      const __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 32);
      const __m512bh e0 = (__m512bh)_mm512_load_si512(b + kNR * kKR);
      const __m512bh e1 = (__m512bh)_mm512_load_si512(b + kNR * kKR + 32);
      dot_rows<M>(a, 0, b0, b1, c0, c1);
      dot_rows<M>(a, 4, e0, e1, d0, d1);
    }
    for (int r = 0; r < M; ++r) {
      c0[r] = _mm512_add_ps(c0[r], d0[r]);
      c1[r] = _mm512_add_ps(c1[r], d1[r]);
    }
  }
  auto body = [&] {
    _mm_prefetch(reinterpret_cast<const char*>(b + kBAhead * kNR * kKR), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + kBAhead * kNR * kKR + 32), _MM_HINT_T0);
    const __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 32);
    dot_rows<M>(a, 0, b0, b1, c0, c1);
    a.step(4);
    b += kNR * kKR;
  };
  // The tile's C lines are fetched into L1 a few hundred cycles before the epilogue stores (or reads)
  // them: a B panel of K = 768 alone fills L1, so lines fetched at the start would be gone by the end.
  const int64_t c_fetch_at = groups > 32 ? groups - 32 : 0;
  auto fetch_c = [&] { fetch_c_tile<M>(t.c, t.ldc); };
  if constexpr (Cvt && !kSplit) {
    convert_chunk<M>(t, 0, l);
    const int64_t fetch_chunk = c_fetch_at / 16;
    for (int64_t c = 0; c < chunks; ++c) {
      if (c + 1 < chunks) convert_chunk<M>(t, c + 1, l);
      if (c == fetch_chunk) fetch_c();
      const int64_t end = std::min(groups, 16 * (c + 1));
#pragma GCC unroll 2
      for (; g < end; ++g) body();
    }
  } else {
#pragma GCC unroll 2
    for (; g < c_fetch_at; ++g) body();
    fetch_c();
#pragma GCC unroll 2
    for (; g < groups; ++g) body();
  }
  // Full-width tiles without a transcendental activation store straight from the registers (same
  // operation order as store_tile_f32: acc, + old C, + bias, then relu or clip).
  if (t.n == kNR && (t.act == Act::none || t.act == Act::relu || t.act == Act::clip)) {
    const __m512 bias0 = t.bias ? _mm512_loadu_ps(t.bias) : _mm512_setzero_ps();
    const __m512 bias1 = t.bias ? _mm512_loadu_ps(t.bias + 16) : _mm512_setzero_ps();
    const bool relu = t.act == Act::relu;  // max(NaN, 0) = 0 as in apply_act
    // Clip as the SIMD epilogue's act_ps computes it, so that both store paths give the same bits.
    const bool clip = t.act == Act::clip;
    const __m512 lo = _mm512_set1_ps(t.clip_lo), hi = _mm512_set1_ps(t.clip_hi);
#pragma GCC unroll 14
    for (int r = 0; r < M; ++r) {
      float* c = t.c + r * t.ldc;
      __m512 v0 = c0[r], v1 = c1[r];
      if (t.accumulate) {
        const float* ci = t.c_in ? t.c_in + r * t.ldc_in : c;
        v0 = _mm512_add_ps(v0, _mm512_loadu_ps(ci));
        v1 = _mm512_add_ps(v1, _mm512_loadu_ps(ci + 16));
      }
      if (t.bias) {
        v0 = _mm512_add_ps(v0, bias0);
        v1 = _mm512_add_ps(v1, bias1);
      }
      if (relu) {
        v0 = _mm512_max_ps(v0, _mm512_setzero_ps());
        v1 = _mm512_max_ps(v1, _mm512_setzero_ps());
      }
      if (clip) {
        v0 = _mm512_min_ps(_mm512_max_ps(v0, lo), hi);
        v1 = _mm512_min_ps(_mm512_max_ps(v1, lo), hi);
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
  for_rows(t.m, [&](auto m) {
    if (t.a_f32)
      tile<m(), true>(t);
    else
      tile<m(), false>(t);
  });
}

}  // namespace ortkit::kernels::x86
