// gemm_u8s8_neoni8mm_8x8c8: u8 x s8 -> int32 with USMMLA (Graviton3 / Graviton4); the tile is in
// mmla_8x8c8.h.
#include "arm64/neoni8mm/mmla_8x8c8.h"

namespace ortkit::kernels {

void gemm_u8s8_neoni8mm_8x8c8(const MicroTile& t) {
  mmla_8x8c8<uint8_t>(t);
}

}  // namespace ortkit::kernels
