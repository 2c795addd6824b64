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
  amx_block(t, 2, DotBf16{}, acc);
  if (!try_store_full_f32(t, acc)) store_f32_avx512(t, acc, kAmxNR);
}

}  // namespace ortkit::kernels::x86
