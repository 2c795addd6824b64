#include "ortkit/kernels/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "ortkit/kernels/cpu_features.h"

namespace ortkit::kernels {

#if defined(ORTKIT_HAVE_X86_AVX512)
namespace x86 {
void minmax_f32_avx512(const float* x, int64_t n, float* lo, float* hi);
int32_t quantize_u8_avx512(const float* x, int64_t n, float inv_scale, int32_t zp, uint8_t* dst);
}  // namespace x86
#endif

namespace {
void minmax_ref(const float* x, int64_t n, float* lo, float* hi) {
  float l = *lo, h = *hi;
  for (int64_t i = 0; i < n; ++i) {
    l = std::min(l, x[i]);
    h = std::max(h, x[i]);
  }
  *lo = l;
  *hi = h;
}

int32_t quantize_u8_ref(const float* x, int64_t n, float inv_scale, int32_t zp, uint8_t* dst) {
  int32_t sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float q = std::nearbyint(x[i] * inv_scale) + static_cast<float>(zp);
    dst[i] = static_cast<uint8_t>(std::clamp(q, 0.f, 255.f));
    sum += dst[i];
  }
  return sum;
}

const QuantizeOps kRef{"ref", minmax_ref, quantize_u8_ref};
#if defined(ORTKIT_HAVE_X86_AVX512)
const QuantizeOps kAvx512{"avx512", x86::minmax_f32_avx512, x86::quantize_u8_avx512};
#endif

const QuantizeOps& choose() {
  const char* cap = std::getenv("ORTKIT_MAX_ISA");
  if (cap && std::strcmp(cap, "ref") == 0) return kRef;
#if defined(ORTKIT_HAVE_X86_AVX512)
  const CpuFeatures& f = host_features();
  const bool capped = cap && (std::strcmp(cap, "avx2") == 0 || std::strcmp(cap, "avxvnni") == 0);
  if (!capped && f.has(Feature::avx512f) && f.has(Feature::avx512bw)) return kAvx512;
#endif
  return kRef;
}
}  // namespace

const QuantizeOps& quantize_ops() {
  static const QuantizeOps& ops = choose();
  return ops;
}

const QuantizeOps& quantize_ops_ref() {
  return kRef;
}

}  // namespace ortkit::kernels
