// s8 x s8 AMX micro-kernel, 32 rows x 32 columns, KR = 4: tdpbssd, the signed-A twin of
// gemm_u8s8_amx_32x32c4. AMX multiplies s8 A natively, so unlike the VNNI entries no +128 shift of A and
// no compensation term are needed.
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_* as the merge source, GCC PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "x86/amx/amx_deferred.h"
#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

namespace {
ORTKIT_AMX_DOT(DotS8S8, _tile_dpbssd);
}  // namespace

void gemm_s8s8_amx_32x32c4(const MicroTile& t) {
  amx_run_block<true>(
      amx_deferred(), t,
      [&](void* acc, auto& side) { amx_block(t, 1, DotS8S8{}, nullptr, 0, acc, kAmxNR * 4, side); },
      [&](void* acc) { store_i32_avx512(t, static_cast<const int32_t*>(acc), kAmxNR); });
}

}  // namespace ortkit::kernels::x86
