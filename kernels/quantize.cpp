#include "ortkit/kernels/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "ortkit/kernels/cpu_features.h"

namespace ortkit::kernels {

#if defined(ORTKIT_HAVE_X86_AVX512)
namespace x86 {
void minmax_f32_avx512(const float* x, int64_t n, float* lo, float* hi);
int32_t quantize_u8_avx512(const float* x, int64_t n, float inv_scale, int32_t zp, uint8_t* dst);
void requantize_avx512(const float* x, int64_t n, float scale, int32_t zp, bool is_signed, void* dst);
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

// The saturation bounds are applied before rounding, shifted by the zero point: they are integers, so
// clamping commutes with rounding, and the clamped value is small enough (|v| < 2^22) for the 1.5 * 2^23
// trick to round it to nearest even without touching the FP environment (std::nearbyint saves and
// restores MXCSR on baseline x86-64, ~8 ns a value). NaN fails the first comparison: the low bound.
template <class T>
void requantize_as(const float* x, int64_t n, float scale, int32_t zp, T* dst) {
  constexpr float kMagic = 12582912.f;  // 1.5 * 2^23
  constexpr float lo = std::is_signed_v<T> ? -128.f : 0.f, hi = std::is_signed_v<T> ? 127.f : 255.f;
  const float z = static_cast<float>(zp);
  const float lo_z = std::max(lo - z, -4194304.f), hi_z = std::min(hi - z, 4194304.f);
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i] / scale;
    v = v > lo_z ? v : lo_z;
    v = v < hi_z ? v : hi_z;
    const float q = std::clamp(((v + kMagic) - kMagic) + z, lo, hi);  // zp itself may be out of range
    dst[i] = static_cast<T>(static_cast<int32_t>(q));
  }
}

void requantize_ref(const float* x, int64_t n, float scale, int32_t zp, bool is_signed, void* dst) {
  if (is_signed)
    requantize_as(x, n, scale, zp, static_cast<int8_t*>(dst));
  else
    requantize_as(x, n, scale, zp, static_cast<uint8_t*>(dst));
}

const QuantizeOps kRef{"ref", minmax_ref, quantize_u8_ref, requantize_ref};
#if defined(ORTKIT_HAVE_X86_AVX512)
const QuantizeOps kAvx512{"avx512", x86::minmax_f32_avx512, x86::quantize_u8_avx512, x86::requantize_avx512};
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

namespace {
// One pass of minmax_parallel: values [total * c / chunks, total * (c + 1) / chunks) of the matrix, row
// piece by row piece, into its own slot.
struct MinMaxJob {
  const float* x;
  int64_t cols, ld, total, chunks;
  float lo[64], hi[64];
};

void minmax_chunk(void* ctx, int64_t c) {
  MinMaxJob& j = *static_cast<MinMaxJob*>(ctx);
  const QuantizeOps& q = quantize_ops();
  float l = 0.f, h = 0.f;
  for (int64_t i = j.total * c / j.chunks, e = j.total * (c + 1) / j.chunks; i < e;) {
    const int64_t r = i / j.cols, k = i % j.cols, n = std::min(j.cols - k, e - i);
    q.minmax(j.x + r * j.ld + k, n, &l, &h);
    i += n;
  }
  j.lo[c] = l;
  j.hi[c] = h;
}
}  // namespace

void minmax_parallel(const float* x, int64_t rows, int64_t cols, int64_t ld, float* lo, float* hi,
                     const Threading& th) {
  MinMaxJob j{x, cols, ld, rows * cols, 1, {}, {}};
  if (j.total <= 0) return;
  if (th.parallel_for && th.threads > 1)
    j.chunks = std::clamp<int64_t>(j.total / 16384, 1, std::min<int64_t>(64, int64_t{4} * th.threads));
  if (j.chunks == 1)
    minmax_chunk(&j, 0);
  else
    th.parallel_for(th.pool, j.chunks, minmax_chunk, &j);
  for (int64_t c = 0; c < j.chunks; ++c) {
    *lo = std::min(*lo, j.lo[c]);
    *hi = std::max(*hi, j.hi[c]);
  }
}

}  // namespace ortkit::kernels
