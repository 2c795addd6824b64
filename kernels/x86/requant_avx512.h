// ONNX QuantizeLinear of 16 floats at a time (saturate(round_half_even(v / scale) + zp), NaN to the low
// bound), shared by the requantize row (quantize_avx512.cpp) and the int8 micro-kernel's requantizing
// store (gemm_u8s8_avx512vnni_14x32c4.cpp), so that both give the same bytes.
#pragma once
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <limits>

namespace ortkit::kernels::x86 {

struct RequantAvx512 {
  __m512 s, lo_z, hi_z;
  __m512i zi, lo_i, hi_i;
  // x / 1 is x: a caller that folded 1 / scale into its own multipliers (QdqConv) skips vdivps, which
  // throttles a requantize loop to one vector per ~5 cycles.
  bool unit;
  // The float bounds are exactly lo - zp and hi - zp (any zero point of the output type): the rounded
  // value plus zp is then within [lo, hi] already, and the integer clamp is skipped (4 of the ~14
  // instructions per row of a requantized GEMM tile).
  bool exact;

  // Clamp to the bounds shifted by zp (max first, so NaN takes the low bound: vmaxps returns its second
  // operand when the first is NaN), round to nearest even, add zp, saturate.
  RequantAvx512(float scale, int32_t zp, bool is_signed) {
    const float lo = is_signed ? -128.f : 0.f, hi = is_signed ? 127.f : 255.f, z = static_cast<float>(zp);
    s = _mm512_set1_ps(scale);
    lo_z = _mm512_set1_ps(std::max(lo - z, -4194304.f));
    hi_z = _mm512_set1_ps(std::min(hi - z, 4194304.f));
    zi = _mm512_set1_epi32(zp);
    lo_i = _mm512_set1_epi32(static_cast<int32_t>(lo));
    hi_i = _mm512_set1_epi32(static_cast<int32_t>(hi));
    unit = scale == 1.f;
    exact = lo - z >= -4194304.f && hi - z <= 4194304.f;
  }

  /// Folds a relu / clip that runs just before this requantization into its bounds, where that gives the
  /// same results: a unit scale (the clamp then acts on the same values as the bounds), and bounds that
  /// still overlap (clip(clip(v, a, b), c, d) is clip(v, max(a, c), min(b, d)) when that is not empty;
  /// a NaN takes the low bound both ways). Returns false, changing nothing, where it does not apply.
  bool fold_act(bool relu, bool clip, float clip_lo, float clip_hi) {
    if (!unit || !(relu || clip)) return false;
    const float a = relu ? 0.f : clip_lo, b = relu ? std::numeric_limits<float>::infinity() : clip_hi;
    const float c = _mm512_cvtss_f32(lo_z), d = _mm512_cvtss_f32(hi_z);
    const float lo2 = std::max(a, c), hi2 = std::min(b, d);
    if (!(a <= b) || !(lo2 <= hi2)) return false;
    lo_z = _mm512_set1_ps(lo2);
    hi_z = _mm512_set1_ps(hi2);
    return true;
  }

  /// The 16 results as int32 lanes, each within the u8 / s8 range.
  __m512i operator()(__m512 v) const {
    if (!unit) v = _mm512_div_ps(v, s);
    v = _mm512_min_ps(_mm512_max_ps(v, lo_z), hi_z);
    const __m512i q =
        _mm512_add_epi32(_mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), zi);
    if (exact) return q;
    return _mm512_min_epi32(_mm512_max_epi32(q, lo_i), hi_i);  // zp itself may be out of range
  }
};

}  // namespace ortkit::kernels::x86
