// The per-thread memory of the loaded tile configuration (amx_tiles.h), one for all AMX kernels, and the
// GemmKernel::begin that forgets it at the start of each GEMM call.
#include "x86/amx/amx_tiles.h"
#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

thread_local int t_amx_config_rows = 0;

void amx_begin() {
  t_amx_config_rows = 0;
}

}  // namespace ortkit::kernels::x86
