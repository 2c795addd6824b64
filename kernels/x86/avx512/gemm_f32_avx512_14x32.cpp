// fp32 AVX-512 micro-kernel, 14 rows x 32 columns: 28 zmm accumulators, 2 zmm of B per k and one
// broadcast of A per row (folded into the FMA as {1to16}), so 31 of 32 zmm registers are live and every
// k step issues 28 FMAs for 2 vector loads + 14 broadcasts. The row count is a template parameter:
// edge tiles with m < 14 (and decode steps with M = 1..13) run a kernel with only m rows of work.
// A is read in place, row-major with stride t.lda (GemmKernel::a_rows): no packing pass over A. B is a
// packed panel, or (GemmKernel::b_rows, t.ldb > 0) rows read in place with masked loads past t.n.
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_ps as the merge source, GCC PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "x86/mask_avx512.h"
#include "x86/rows_avx512.h"
#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

namespace {
// The K loop reads B 8 KiB ahead. A micro-panel of K = 768 does not fit L1 beside the A rows, so every
// tile streams it from L2 (and a panel's first tile from L3); 1 KiB ahead left loads waiting:
// 128x3072x768 and 128x768x3072 went 8-9% faster on 1 thread (in-process A/B), small M unchanged.
constexpr int kNR = 32, kBAhead = 64;  // k steps of 128 bytes
constexpr int64_t kCAhead = 64;        // k steps before the end of the K loop
// B rows read in place (a 1x1 conv's input planes, ldb floats apart) are as many streams as K: each k step
// fetches its row two panels (64 floats) further along, where the tiles after the next read it. Rows
// ahead instead (16) left MobileNetV2's 112x112 1x1 convs (K = 16, 32) 14-30% slower; 32 floats ahead
// measured about the same as 64, 128 worse (Zen 4, 1 thread).
constexpr int64_t kBRowsAhead = 64;

template <int M, int R = 0>
inline void fma_rows(const Rows& a, int64_t off, __m512 b0, __m512 b1, __m512* c0, __m512* c1) {
  if constexpr (R < M) {
    const __m512 av = _mm512_set1_ps(reinterpret_cast<const float*>(a.row<R>())[off]);
    c0[R] = _mm512_fmadd_ps(av, b0, c0[R]);
    c1[R] = _mm512_fmadd_ps(av, b1, c1[R]);
    fma_rows<M, R + 1>(a, off, b0, b1, c0, c1);
  }
}

template <int M, bool kRows>
void tile(const MicroTile& t) {
  const int64_t l = t.lda * static_cast<int64_t>(sizeof(float));
  const char* a0 = static_cast<const char*>(t.a);
  Rows a(a0, l);
  const float* b = static_cast<const float*>(t.b);
  const int64_t bstep = kRows ? t.ldb : kNR;
  const __mmask16 m0 = kRows ? mask16(t.n) : 0xffff, m1 = kRows ? mask16(t.n - 16) : 0xffff;
  auto load_b = [&](const float* p, __m512& b0, __m512& b1) __attribute__((always_inline)) {
    if constexpr (kRows) {
      b0 = _mm512_maskz_loadu_ps(m0, p);
      b1 = _mm512_maskz_loadu_ps(m1, p + 16);
    } else {
      b0 = _mm512_load_ps(p);
      b1 = _mm512_load_ps(p + 16);
    }
  };
  __m512 c0[M], c1[M];
#pragma GCC unroll 14
  for (int r = 0; r < M; ++r)
    c0[r] = c1[r] = kRows && t.row_bias ? _mm512_set1_ps(t.row_bias[r]) : _mm512_setzero_ps();
  // C is read back at the end when accumulating (K blocks, Epilogue::accumulate): start fetching it now.
  if (t.accumulate) fetch_c_tile<M>(t.c_in ? t.c_in : t.c, t.c_in ? t.ldc_in : t.ldc);
  // Few rows leave FMA latency exposed (2 chains per row); a second accumulator set on odd k hides it
  // (4 and 5 rows: 12% and 7% faster at 768x256 with it; 6 rows gain nothing).
  constexpr bool kSplit = M <= 5;
  __m512 d0[kSplit ? M : 1], d1[kSplit ? M : 1];
  if constexpr (kSplit) {
#pragma GCC unroll 6
    for (int r = 0; r < M; ++r) d0[r] = d1[r] = _mm512_setzero_ps();
  }
  int64_t k = 0;
  if constexpr (kSplit) {
    // No software prefetch here: a decode-sized tile streams its B panel once, from L3 or memory, and
    // the hardware prefetchers keep that stream going; prefetching 2 KiB ahead ran past them and
    // slowed it (Zen 4, 1 thread: 1xNxK GEMVs 1.1-1.3x faster without, GPT-2 decode steps 1.16x for
    // bf16 and int8). It only helped a B already in L2 from the previous call (-2 to -9% without).
    for (; k + 2 <= t.kp; k += 2, a.step(2 * sizeof(float)), b += 2 * bstep) {
      __m512 b0, b1, e0, e1;
      load_b(b, b0, b1);
      load_b(b + bstep, e0, e1);
      fma_rows<M>(a, 0, b0, b1, c0, c1);
      fma_rows<M>(a, 1, e0, e1, d0, d1);
    }
#pragma GCC unroll 6
    for (int r = 0; r < M; ++r) {
      c0[r] = _mm512_add_ps(c0[r], d0[r]);
      c1[r] = _mm512_add_ps(c1[r], d1[r]);
    }
  }
  const int64_t b_ahead = kRows ? kBRowsAhead : kBAhead * kNR;
  auto body = [&] {
    _mm_prefetch(reinterpret_cast<const char*>(b + b_ahead), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + b_ahead + 16), _MM_HINT_T0);
    __m512 b0, b1;
    load_b(b, b0, b1);
    fma_rows<M>(a, 0, b0, b1, c0, c1);
    a.step(sizeof(float));
    b += bstep;
  };
  // A tile that overwrites C fetches its lines into L1 ~200 ns before the stores (64 k steps), so they
  // do not wait on write-allocate misses. It matters most when C's rows are a multiple of 4 KiB apart
  // (N = 1024, 3072): a column strip of C then falls in a few L1 and L2 sets and is evicted between
  // tiles. In process, 1 thread: +2.7% at 512x1024x1024, +5.1% at 128x3072x768, 0.4% (noise) at N = 768;
  // 128 or 256 steps ahead measured the same, 24 steps about half.
  // With Epilogue::add (c_in) the tile reads c_in, fetched above, and still overwrites C. A K loop shorter
  // than that (a conv over 16-32 input channels) fetches C before it starts.
  const bool fetch_c = !kSplit && (!t.accumulate || t.c_in);
  const int64_t c_fetch_at = !fetch_c ? t.kp : t.kp > kCAhead ? t.kp - kCAhead : 0;
#pragma GCC unroll 2
  for (; k < c_fetch_at; ++k) body();
  if (c_fetch_at < t.kp) fetch_c_tile<M>(t.c, t.ldc);
#pragma GCC unroll 2
  for (; k < t.kp; ++k) body();
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

void gemm_f32_avx512_14x32(const MicroTile& t) {
  if (t.ldb)
    for_rows(t.m, [&](auto m) { tile<m(), true>(t); });
  else
    for_rows(t.m, [&](auto m) { tile<m(), false>(t); });
}

}  // namespace ortkit::kernels::x86
