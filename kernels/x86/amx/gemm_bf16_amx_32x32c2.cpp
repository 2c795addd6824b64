// bf16 AMX micro-kernel, 32 rows x 32 columns, KR = 2: tdpbf16ps on a 2 x 2 grid of 16 x 16 fp32 tiles
// (amx_tiles.h), 1024 flops per cycle against vdpbf16ps zmm's 64 (Sapphire Rapids, one core). A is read
// as rows of bf16 (GemmKernel::a_rows: the driver rounds fp32 A into them); B is the AVX-512 bf16
// kernel's panel layout (32 columns of k pairs). The tile sums go through a stack tile to the AVX-512
// epilogue, which handles every m, n, bias, activation and accumulation.
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_* as the merge source, GCC PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "x86/amx/amx_store.h"
#include "x86/amx/amx_tiles.h"
#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

namespace {
ORTKIT_AMX_DOT(DotBf16, _tile_dpbf16ps);
}  // namespace

void gemm_bf16_amx_32x32c2(const MicroTile& t) {
  alignas(64) float acc[kAmxMR * kAmxNR];
  // A full-width block that adds to C (the K blocks after the first of a K-split call, where the
  // partial sums wait in C; or a caller's accumulation) starts its tiles from C instead of adding C in
  // the epilogue, and a block with no bias and no activation (every K block but the last) stores its
  // tiles straight back: the partial sums cost a tile load and store, not a pass of the epilogue.
  if (t.n == kAmxNR && t.c && t.accumulate && !t.c_in) {
    const int64_t ldc_bytes = t.ldc * 4;
    if (!t.bias && t.act == Act::none) {
      amx_block(t, 2, DotBf16{}, t.c, ldc_bytes, t.c, ldc_bytes);
      return;
    }
    amx_block(t, 2, DotBf16{}, t.c, ldc_bytes, acc, kAmxNR * 4);
    MicroTile u = t;
    u.accumulate = false;
    if (!try_store_full_f32(u, acc)) store_f32_avx512(u, acc, kAmxNR);
    return;
  }
  amx_block(t, 2, DotBf16{}, acc);
  if (!try_store_full_f32(t, acc)) store_f32_avx512(t, acc, kAmxNR);
}

}  // namespace ortkit::kernels::x86
