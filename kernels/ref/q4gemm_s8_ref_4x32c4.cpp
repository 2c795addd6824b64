// The portable reference of the int8-activation 4-bit weight tile (q4gemm.h): exact int32 block dot
// products, then the block's scales and zero-point term in fp32, in plain loops.
#include <algorithm>

#include "ortkit/kernels/q4gemm.h"

namespace ortkit::kernels {

namespace {
void q4gemm_s8_ref_4x32c4(const Q4S8Tile& t) {
  for (int r = 0; r < t.m; ++r)
    for (int j = 0; j < t.n; ++j) {
      const int64_t group = j / 16, c = j % 8, shift = j % 16 < 8 ? 0 : 4;
      float total = 0.f;
      for (int64_t b = 0; b < t.blocks; ++b) {
        const int64_t k0 = b * t.block, k1 = std::min(t.kp, k0 + t.block);
        int32_t dot = 0;
        for (int64_t k = k0; k < k1; ++k) {
          const uint8_t byte = t.q[(k / 4) * 64 + group * 32 + 4 * c + k % 4];
          dot += static_cast<int32_t>(t.a[r * t.lda + k]) * ((byte >> shift) & 15);
        }
        const int64_t at = r * t.blocks + b;
        const float v = static_cast<float>(dot) - t.zp[b * 32 + j] * t.a_sum[at];
        total += v * (t.scale[b * 32 + j] * t.a_scale[at]);
      }
      t.c[r * t.ldc + j] = total + (t.bias ? t.bias[j] : 0.f);
    }
}
}  // namespace

extern const Q4S8Kernel kQ4S8Ref;
const Q4S8Kernel kQ4S8Ref{"q4gemm_s8_ref_4x32c4", "ref", q4gemm_s8_ref_4x32c4};

}  // namespace ortkit::kernels
