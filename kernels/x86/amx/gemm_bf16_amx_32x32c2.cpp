// bf16 AMX micro-kernel, 32 rows x 32 columns, KR = 2: tdpbf16ps on a 2 x 2 grid of 16 x 16 fp32 tiles
// (amx_tiles.h), 1024 flops per cycle against vdpbf16ps zmm's 64 (Sapphire Rapids, one core). A is read
// as rows of bf16 (GemmKernel::a_rows), which it rounds itself from fp32 rows on an M block's first B
// panel (MicroTile::a_f32, GemmKernel::a_from_f32), behind that block's tile products; B is the AVX-512
// bf16 kernel's panel layout (32 columns of k pairs). The tile sums go through the thread's sum buffer
// to the planned row store of full-width blocks with bias, relu or clip (amx_store.h; during the next
// block's products where the driver allows, amx_deferred.h), or to the AVX-512 epilogue for narrower
// blocks and other activations.
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_* as the merge source, GCC PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <algorithm>

#include "x86/amx/amx_deferred.h"
#include "x86/mask_avx512.h"
#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

namespace {
ORTKIT_AMX_DOT(DotBf16, _tile_dpbf16ps);

// Rows [r0, r1) of chunk c (k in [32c, 32c + 32): one 64-byte line of each bf16 row) rounded from the
// tile's fp32 rows, nearest even, zeros past k_f32. vcvtne2ps2bf16 reads denormal inputs as zero, as
// tdpbf16ps reads bf16 denormals, so only values just under FLT_MIN (which the exact rule rounds up to
// it) differ from the driver's row pass, by < 1.2e-38 each (the AVX-512 bf16 kernel's rounding too).
inline void round_chunk(const MicroTile& t, int64_t c, int r0, int r1) {
  const int64_t valid = t.k_f32 - 32 * c;
  const __mmask16 lo = mask16(valid), hi = mask16(valid - 16);
  const float* s = t.a_f32 + 32 * c;
  char* d = const_cast<char*>(static_cast<const char*>(t.a)) + 64 * c;
  const int64_t ld = t.lda * 2;
  for (int r = r0; r < r1; ++r) {
    const __m512 v0 = _mm512_maskz_loadu_ps(lo, s + r * t.lda_f32);
    const __m512 v1 = _mm512_maskz_loadu_ps(hi, s + r * t.lda_f32 + 16);
    _mm512_storeu_si512(d + r * ld, (__m512i)_mm512_cvtne2ps_pbh(v1, v0));
  }
}

// amx_block's side work when the block rounds its own A: each K step rounds the chunk kAhead steps on
// (16 rows per side call: two calls per step with more than 16 rows, one with 16 or fewer), so the
// stores have long left the core when the tile loads read the rows; the chunks before that are rounded
// ahead of the K loop. The K loop's steps then cover every chunk, the K tail's included (chunks <= steps
// + 2), before amx_block's tail step reads it, so drain has none left. Inner: the deferred stores' side
// work, run after.
template <class Inner>
struct RoundSide {
  static constexpr int kAhead = 2;
  Inner& inner;
  const MicroTile& t;
  int64_t chunk, chunks;
  int row = 0;
  RoundSide(Inner& in, const MicroTile& tt) : inner(in), t(tt), chunks((tt.kp * 2 + 63) / 64) {
    chunk = std::min<int64_t>(kAhead, chunks);
    for (int64_t c = 0; c < chunk; ++c) round_chunk(t, c, 0, t.m);
  }
  void operator()() {
    if (chunk < chunks) {
      const int r1 = std::min(row + 16, t.m);
      round_chunk(t, chunk, row, r1);
      row = r1 == t.m ? 0 : r1;
      chunk += row == 0;
    }
    inner();
  }
  void drain() { inner.drain(); }
};

// amx_block over the tile's A, rounding it first when the tile carries fp32 rows.
template <class Side>
inline void bf16_block(const MicroTile& t, const void* init, int64_t init_ld, void* out, int64_t out_ld,
                       Side& side) {
  if (t.a_f32) {
    RoundSide<Side> rs(side, t);
    amx_block(t, 2, DotBf16{}, init, init_ld, out, out_ld, rs);
  } else {
    amx_block(t, 2, DotBf16{}, init, init_ld, out, out_ld, side);
  }
}
}  // namespace

void gemm_bf16_amx_32x32c2(const MicroTile& t) {
  AmxDeferred& d = amx_deferred();
  // A full-width block that adds to C (the K blocks after the first of a K-split call, where the
  // partial sums wait in C; or a caller's accumulation) starts its tiles from C instead of adding C in
  // the epilogue, and a block with no bias and no activation (every K block but the last) stores its
  // tiles straight back: the partial sums cost a tile load and store, not a pass of the epilogue.
  MicroTile u = t;
  const void* init = nullptr;
  if (t.n == kAmxNR && t.c && t.accumulate && !t.c_in) {
    const int64_t ldc_bytes = t.ldc * 4;
    if (!t.bias && t.act == Act::none) {
      d.queued = false;
      PlanSide<false> side(d);
      bf16_block(t, t.c, ldc_bytes, t.c, ldc_bytes, side);
      return;
    }
    init = t.c;
    u.accumulate = false;
  }
  amx_run_block<false>(
      d, u, [&](void* acc, auto& side) { bf16_block(t, init, t.ldc * 4, acc, kAmxNR * 4, side); },
      [&](void* acc) { store_f32_avx512(u, static_cast<const float*>(acc), kAmxNR); });
}

}  // namespace ortkit::kernels::x86
