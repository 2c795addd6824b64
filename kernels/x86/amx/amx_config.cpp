// The per-thread state of the AMX kernels: the loaded tile configuration (amx_tiles.h) and the block whose
// stores wait (amx_deferred.h); GemmKernel::begin forgets the first at the start of each GEMM call, and
// GemmKernel::finish completes the second at its end.
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_* as the merge source, GCC PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "x86/amx/amx_deferred.h"
#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

thread_local int t_amx_config_rows = 0;
namespace {
thread_local AmxDeferred t_amx_deferred;
}  // namespace

AmxDeferred& amx_deferred() {
  return t_amx_deferred;
}

void amx_begin() {
  t_amx_config_rows = 0;
}

void amx_finish() {
  AmxDeferred& d = t_amx_deferred;
  d.queued = false;
  if (d.i32)
    d.drain<true>();
  else
    d.drain<false>();
}

}  // namespace ortkit::kernels::x86
