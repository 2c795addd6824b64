// The portable reference of the 4-bit weight GEMM tile (q4gemm.h): the same per-block distributive form as
// the SIMD kernels, in plain loops, so they can be tested against it.
#include <algorithm>

#include "ortkit/kernels/q4gemm.h"

namespace ortkit::kernels {

namespace {
void q4gemm_ref_4x32(const Q4Tile& t) {
  for (int r = 0; r < t.m; ++r)
    for (int j = 0; j < t.n; ++j) {
      float total = 0.f;
      for (int64_t b = 0; b < t.blocks; ++b) {
        const int64_t k0 = b * t.block, k1 = std::min(t.k, k0 + t.block);
        float dot = 0.f;
        for (int64_t k = k0; k < k1; ++k) {
          const uint8_t byte = t.q[(k / 2) * 32 + j];
          const float q = static_cast<float>(k & 1 ? byte >> 4 : byte & 15);
          dot += t.a[r * t.lda + k] * q;
        }
        total += t.scale[b * 32 + j] * dot + t.nzs[b * 32 + j] * t.asum[r * t.blocks + b];
      }
      t.c[r * t.ldc + j] = total + (t.bias ? t.bias[j] : 0.f);
    }
}
}  // namespace

extern const Q4Kernel kQ4Ref;
const Q4Kernel kQ4Ref{"q4gemm_ref_4x32", "ref", q4gemm_ref_4x32};

}  // namespace ortkit::kernels
