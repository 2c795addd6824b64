// u8 x s8 AVX-512 VNNI micro-kernel, 14 rows x 32 columns, KR = 4: per group of 4 k one vpdpbusd per
// (row, 16 columns), A's 4 u8 of row r broadcast as one 32-bit lane, B's panel holding 4 s8 per column.
// vpdpbusd sums the four u8*s8 products in 32 bits: exact, no 16-bit intermediate. A is read in place
// as rows with stride t.lda (GemmKernel::a_rows).
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_ps as the merge source, GCC PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "x86/mask_avx512.h"
#include "x86/requant_avx512.h"
#include "x86/rows_avx512.h"
#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

namespace {
// The K loop reads B 4 KiB ahead (it was 1 KiB): a panel's first tile streams it from L3 once B outgrows
// L2. 128x3072x768 and 128x768x3072 went ~1% faster on 1 thread (in-process A/B); 8 KiB measured 0.5%
// slower, as the int8 panel (24 KiB at K = 768) mostly stays in L1.
constexpr int kNR = 32, kKR = 4, kBAhead = 32;  // k groups of 128 bytes

template <int M, int R = 0>
inline void dot_rows(const Rows& a, __m512i b0, __m512i b1, __m512i* c0, __m512i* c1) {
  if constexpr (R < M) {
    const __m512i av = _mm512_set1_epi32(a.quad<R>(0));
    c0[R] = _mm512_dpbusd_epi32(c0[R], av, b0);
    c1[R] = _mm512_dpbusd_epi32(c1[R], av, b1);
    dot_rows<M, R + 1>(a, b0, b1, c0, c1);
  }
}

// The requantizing store (MicroTile::q), apart from the tile so that its constants and masks stay out of
// the K loop's register allocation. acc holds m rows of the column-offset-started sums; the arithmetic is
// the fp32 direct store's, then RequantAvx512, 32 (or t.n) bytes per row. Column scales are padded to
// whole panels; the bias (the caller's, N long) is read masked.
__attribute__((noinline)) void store_requant(const MicroTile& t, const int32_t* acc, int m) {
  const __mmask16 m0 = mask16(t.n), m1 = mask16(t.n - 16);
  const __mmask32 mq = t.n >= kNR ? ~__mmask32{0} : static_cast<__mmask32>((uint32_t{1} << t.n) - 1);
  const __m512 sc0 = _mm512_loadu_ps(t.col_scale), sc1 = _mm512_loadu_ps(t.col_scale + 16);
  const __m512 bias0 = t.bias ? _mm512_maskz_loadu_ps(m0, t.bias) : _mm512_setzero_ps();
  const __m512 bias1 = t.bias ? _mm512_maskz_loadu_ps(m1, t.bias + 16) : _mm512_setzero_ps();
  const __m512 lo = _mm512_set1_ps(t.clip_lo), hi = _mm512_set1_ps(t.clip_hi);
  RequantAvx512 quant(t.q_scale, t.q_zp, t.q_signed);
  const bool folded = quant.fold_act(t.act == Act::relu, t.act == Act::clip, t.clip_lo, t.clip_hi);
  const bool relu = !folded && t.act == Act::relu, clip = !folded && t.act == Act::clip;
  for (int r = 0; r < m; ++r) {
    __m512 v0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_load_si512(acc + r * kNR)), sc0);
    __m512 v1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_load_si512(acc + r * kNR + 16)), sc1);
    if (t.bias) {
      v0 = _mm512_add_ps(v0, bias0);
      v1 = _mm512_add_ps(v1, bias1);
    }
    if (relu) {  // max(NaN, 0) = 0 as in apply_act
      v0 = _mm512_max_ps(v0, _mm512_setzero_ps());
      v1 = _mm512_max_ps(v1, _mm512_setzero_ps());
    } else if (clip) {  // as the SIMD epilogue's act_ps
      v0 = _mm512_min_ps(_mm512_max_ps(v0, lo), hi);
      v1 = _mm512_min_ps(_mm512_max_ps(v1, lo), hi);
    }
    const __m128i q0 = _mm512_cvtepi32_epi8(quant(v0)), q1 = _mm512_cvtepi32_epi8(quant(v1));
    const __m256i q = _mm256_inserti128_si256(_mm256_castsi128_si256(q0), q1, 1);
    char* dst = static_cast<char*>(t.q) + r * t.ldq;
    if (t.n == kNR)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), q);
    else
      _mm256_mask_storeu_epi8(dst, mq, q);
  }
}

template <int M>
void tile(const MicroTile& t) {
  const int64_t l = t.lda;
  const char* a0 = static_cast<const char*>(t.a);
  Rows a(a0, l);
  const int8_t* b = static_cast<const int8_t*>(t.b);
  // Full-width fp32 tiles with symmetric weights (no B zero point) and no transcendental activation
  // dequantize straight from the registers; their accumulators start at the column offsets (integer
  // adds: exact in any order), which leaves convert, scale and store per vector at the end.
  // Requantized tiles (t.q, any width) meet the same conditions (the driver checks them) and start there
  // too: the driver's column vectors are padded to whole panels (zeros), so a narrow tile reads them
  // whole. (Masked loads here made GCC spill accumulators in the K loop.)
  const bool direct = t.n == kNR && !t.c32 && !t.col_zp_neg &&
                      (t.act == Act::none || t.act == Act::relu || t.act == Act::clip);
  const bool start_at_offsets = direct || t.q;
  const __m512i init0 = start_at_offsets ? _mm512_loadu_si512(t.col_offset) : _mm512_setzero_si512();
  const __m512i init1 = start_at_offsets ? _mm512_loadu_si512(t.col_offset + 16) : _mm512_setzero_si512();
  __m512i c0[M], c1[M];
#pragma GCC unroll 14
  for (int r = 0; r < M; ++r) {
    c0[r] = init0;
    c1[r] = init1;
  }
  const int64_t groups = t.kp / kKR;
  // The tile's C lines are fetched into L1 a few hundred cycles before the stores need them, so the
  // epilogue does not wait on write-allocate misses (C sits in L2 or L3 between tiles).
  const int64_t c_fetch_at = groups > 32 ? groups - 32 : 0;
  int64_t g = 0;
  // Decode-sized tiles: two chains per row cannot cover vpdpbusd latency (one k group per ~4.5 cycles
  // streamed B at ~115 GB/s, half what L2 gives), so odd groups go to a second accumulator set: a
  // 1x768x768 GEMV went from 5.1 to 3.0 us. (Three rows measured 8-16% slower with it.)
  if constexpr (M <= 2) {
    __m512i d0[M], d1[M];
    for (int r = 0; r < M; ++r) d0[r] = d1[r] = _mm512_setzero_si512();
    // No software prefetch here: a decode-sized tile streams its B panel once, from L3 or memory, and
    // the hardware prefetchers keep that stream going; prefetching 2 KiB ahead ran past them and
    // slowed it (Zen 4, 1 thread: 1xNxK GEMVs 1.1-1.3x faster without, GPT-2 decode steps 1.16x for
    // bf16 and int8). It only helped a B already in L2 from the previous call (-2 to -9% without).
    for (; g + 2 <= groups; g += 2, b += 2 * kNR * kKR) {
      const __m512i b0 = _mm512_load_si512(b), b1 = _mm512_load_si512(b + 64);
      const __m512i e0 = _mm512_load_si512(b + kNR * kKR), e1 = _mm512_load_si512(b + kNR * kKR + 64);
      dot_rows<M>(a, b0, b1, c0, c1);
      a.step(4);
      dot_rows<M>(a, e0, e1, d0, d1);
      a.step(4);
    }
    for (int r = 0; r < M; ++r) {  // integer adds: exact in any order
      c0[r] = _mm512_add_epi32(c0[r], d0[r]);
      c1[r] = _mm512_add_epi32(c1[r], d1[r]);
    }
  }
  auto body = [&] {
    _mm_prefetch(reinterpret_cast<const char*>(b + kBAhead * kNR * kKR), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + kBAhead * kNR * kKR + 64), _MM_HINT_T0);
    const __m512i b0 = _mm512_load_si512(b), b1 = _mm512_load_si512(b + 64);
    dot_rows<M>(a, b0, b1, c0, c1);
    a.step(4);
    b += kNR * kKR;
  };
#pragma GCC unroll 2
  for (; g < c_fetch_at; ++g) body();
  if (t.c && !t.c32 && !t.q) fetch_c_tile<M>(t.c, t.ldc);
#pragma GCC unroll 2
  for (; g < groups; ++g) body();
  if (direct && !t.q) {  // store_tile_i32's order: (acc + offset) * scale, + old C, + bias, relu
    const __m512 sc0 = _mm512_loadu_ps(t.col_scale), sc1 = _mm512_loadu_ps(t.col_scale + 16);
    const __m512 bias0 = t.bias ? _mm512_loadu_ps(t.bias) : _mm512_setzero_ps();
    const __m512 bias1 = t.bias ? _mm512_loadu_ps(t.bias + 16) : _mm512_setzero_ps();
    const bool relu = t.act == Act::relu;
    // Clip as the SIMD epilogue's act_ps computes it, so that both store paths give the same bits.
    const bool clip = t.act == Act::clip;
    const __m512 lo = _mm512_set1_ps(t.clip_lo), hi = _mm512_set1_ps(t.clip_hi);
#pragma GCC unroll 14
    for (int r = 0; r < M; ++r) {
      float* c = t.c + r * t.ldc;
      __m512 v0 = _mm512_mul_ps(_mm512_cvtepi32_ps(c0[r]), sc0);
      __m512 v1 = _mm512_mul_ps(_mm512_cvtepi32_ps(c1[r]), sc1);
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
  alignas(64) int32_t acc[M * kNR];
#pragma GCC unroll 14
  for (int r = 0; r < M; ++r) {
    _mm512_store_si512(acc + r * kNR, c0[r]);
    _mm512_store_si512(acc + r * kNR + 16, c1[r]);
  }
  if (t.q)
    store_requant(t, acc, M);
  else
    store_i32_avx512(t, acc, kNR);
}
}  // namespace

void gemm_u8s8_avx512vnni_14x32c4(const MicroTile& t) {
  for_rows(t.m, [&](auto m) { tile<m()>(t); });
}

}  // namespace ortkit::kernels::x86
