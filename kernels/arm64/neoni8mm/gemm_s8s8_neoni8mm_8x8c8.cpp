// gemm_s8s8_neoni8mm_8x8c8: s8 x s8 -> int32 with SMMLA (Graviton3 / Graviton4); the tile is in mmla_8x8c8.h.
#include "arm64/neoni8mm/mmla_8x8c8.h"

namespace ortkit::kernels {

void gemm_s8s8_neoni8mm_8x8c8(const MicroTile& t) {
  mmla_8x8c8<int8_t>(t);
}

}  // namespace ortkit::kernels
