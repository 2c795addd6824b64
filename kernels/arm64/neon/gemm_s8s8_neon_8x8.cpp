// gemm_s8s8_neon_8x8: s8 x s8 -> int32 for plain armv8-a; the tile is in smlal_8x8.h.
#include "arm64/neon/smlal_8x8.h"

namespace ortkit::kernels {

void gemm_s8s8_neon_8x8(const MicroTile& t) {
  smlal_8x8<int8_t>(t);
}

}  // namespace ortkit::kernels
