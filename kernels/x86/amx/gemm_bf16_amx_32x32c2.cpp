// bf16 AMX micro-kernel, 32 rows x 32 columns, KR = 2: tdpbf16ps on a 2 x 2 grid of 16 x 16 fp32 tiles
// (amx_tiles.h), 1024 flops per cycle against vdpbf16ps zmm's 64 (Sapphire Rapids, one core). A is read
// as rows of bf16 (GemmKernel::a_rows: the driver rounds fp32 A into them); B is the AVX-512 bf16
// kernel's panel layout (32 columns of k pairs). The tile sums go through the thread's sum buffer to the
// planned row store of full-width blocks with bias, relu or clip (amx_store.h; during the next block's
// products where the driver allows, amx_deferred.h), or to the AVX-512 epilogue for narrower blocks and
// other activations.
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_* as the merge source, GCC PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "x86/amx/amx_deferred.h"
#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

namespace {
ORTKIT_AMX_DOT(DotBf16, _tile_dpbf16ps);
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
      amx_block(t, 2, DotBf16{}, t.c, ldc_bytes, t.c, ldc_bytes, side);
      return;
    }
    init = t.c;
    u.accumulate = false;
  }
  amx_run_block<false>(
      d, u,
      [&](void* acc, auto& side) { amx_block(t, 2, DotBf16{}, init, t.ldc * 4, acc, kAmxNR * 4, side); },
      [&](void* acc) { store_f32_avx512(u, static_cast<const float*>(acc), kAmxNR); });
}

}  // namespace ortkit::kernels::x86
