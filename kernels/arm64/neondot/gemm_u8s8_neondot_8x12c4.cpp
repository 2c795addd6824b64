// gemm_u8s8_neondot_8x12c4: u8 x s8 on SDOT-only CPUs (Graviton2). SDOT has no u8 x s8 form (USDOT
// needs I8MM), so the registry entry sets a_u8_to_s8: the driver packs A as a ^ 0x80 = a - 128 (s8)
// and uses zero point a_zp - 128; the exact s8 x s8 kernel then gives the same int32 sums.
#include "ortkit/kernels/registry.h"

namespace ortkit::kernels {

void gemm_s8s8_neondot_8x12c4(const MicroTile& t);

void gemm_u8s8_neondot_8x12c4(const MicroTile& t) {
  gemm_s8s8_neondot_8x12c4(t);
}

}  // namespace ortkit::kernels
