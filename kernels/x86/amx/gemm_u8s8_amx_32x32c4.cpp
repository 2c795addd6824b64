// u8 x s8 AMX micro-kernel, 32 rows x 32 columns, KR = 4: tdpbusd on a 2 x 2 grid of 16 x 16 int32 tiles
// (amx_tiles.h), 2048 ops per cycle against vpdpbusd zmm's 128 (Sapphire Rapids, one core); the sums are
// exact int32 as in the VNNI kernel. A is read in place as u8 rows (GemmKernel::a_rows); B is the VNNI
// kernel's panel layout (32 columns of 4 k). The int32 tile goes through the planned row store of
// full-width blocks (amx_store.h; during the next block's products where the driver allows,
// amx_deferred.h), or the AVX-512 int8 epilogue for the rest (any width or activation, raw int32 out).
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_* as the merge source, GCC PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "x86/amx/amx_deferred.h"
#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

namespace {
ORTKIT_AMX_DOT(DotU8S8, _tile_dpbusd);
}  // namespace

void gemm_u8s8_amx_32x32c4(const MicroTile& t) {
  amx_run_block<true>(
      amx_deferred(), t,
      [&](void* acc, auto& side) { amx_block(t, 1, DotU8S8{}, nullptr, 0, acc, kAmxNR * 4, side); },
      [&](void* acc) { store_i32_avx512(t, static_cast<const int32_t*>(acc), kAmxNR); });
}

}  // namespace ortkit::kernels::x86
