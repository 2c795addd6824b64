// Branch-free float math that GCC vectorizes (libm's expf is a scalar call): exp with ~1 ulp over the
// softmax range, used by Softmax/LogSoftmax/Sigmoid-style loops. Cephes polynomial, Cody-Waite reduction.
#pragma once
#include <algorithm>
#include <bit>
#include <cstdint>

// Row kernels of the ops (softmax, layernorm, sigmoid...) are compiled twice on x86-64 GCC: baseline and
// x86-64-v3 (AVX2+FMA), picked at load time by an ifunc. Helpers inlined into the v3 clone are compiled
// for v3 there only; out-of-line copies stay baseline (so no AVX code leaks into baseline paths).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(ORTKIT_NO_CLONES)
#define ORTKIT_OPS_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
// Also x86-64-v4 (AVX-512, 16 lanes): for compute-bound row kernels (exp), where 512-bit pays.
#define ORTKIT_OPS_CLONES_512 __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ORTKIT_OPS_CLONES
#define ORTKIT_OPS_CLONES_512
#endif

namespace ortkit::ops {

/// exp(x) for x already clamped to [-87.33654, 88.37626]: Cody-Waite reduction by ln 2 and a degree-5
/// polynomial; the shared core of fast_exp and fast_exp_le0.
inline float exp_in_range(float x) {
  // Round x*log2(e) to nearest with the 1.5*2^23 trick (no SSE4.1 round instruction needed): t's low
  // mantissa bits then hold n itself, read back as an integer difference (a float -> int conversion of a
  // NaN would be undefined behaviour; this way a NaN x gives a NaN y times some power of two: NaN out).
  const float t = x * 1.44269504088896341f + 12582912.f;
  const float fn = t - 12582912.f;
  const float r = x - fn * 0.693359375f + fn * 2.12194440e-4f;
  float p = 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  const float y = p * r * r + r + 1.f;
  const uint32_t n = std::bit_cast<uint32_t>(t) - 0x4b400000u;  // 0x4b400000: the bits of 1.5 * 2^23
  return y * std::bit_cast<float>((n + 127u) << 23);
}

inline float fast_exp(float x) {
  // Clamp to [-87.33654, 88.37626] with integer masks on the bits: GCC (with the default
  // -ftrapping-math) will not if-convert float compares here, and a branch stops vectorization.
  // Floats below -87.3 have unsigned bits above those of -87.3; above 88.4, signed bits above 88.4's.
  int32_t ix = std::bit_cast<int32_t>(x);
  const int32_t lo_mask = -static_cast<int32_t>(std::bit_cast<uint32_t>(x) > 0xc2aeac4fu);
  ix = (ix & ~lo_mask) | (static_cast<int32_t>(0xc2aeac4fu) & lo_mask);
  const int32_t hi_mask = -static_cast<int32_t>(ix > 0x42b0c0a5);
  ix = (ix & ~hi_mask) | (0x42b0c0a5 & hi_mask);
  return exp_in_range(std::bit_cast<float>(ix));
}

/// fast_exp for x <= 0 (softmax's x - max): only the low clamp, as a float select (vmaxps), so fewer
/// instructions per lane than fast_exp. NaN in, NaN out.
inline float fast_exp_le0(float x) {
  return exp_in_range(x < -87.33654f ? -87.33654f : x);
}

/// Sum with 8 independent partial sums (float adds do not reassociate, so a plain loop is serial).
inline float sum_f32(const float* x, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += x[i + j];
  float s = 0;
  for (; i < n; ++i) s += x[i];
  return s + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/// Max of n >= 1 values, 8 lanes.
inline float max_f32(const float* x, int64_t n) {
  float m = x[0];
  int64_t i = 0;
  if (n >= 8) {
    float acc[8];
    for (int j = 0; j < 8; ++j) acc[j] = x[j];
    for (i = 8; i + 8 <= n; i += 8)
      for (int j = 0; j < 8; ++j) acc[j] = acc[j] > x[i + j] ? acc[j] : x[i + j];
    for (int j = 0; j < 8; ++j) m = std::max(m, acc[j]);
  }
  for (; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

}  // namespace ortkit::ops
