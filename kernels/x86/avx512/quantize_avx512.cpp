// AVX-512 rows of dynamic u8 quantization (see ortkit/kernels/quantize.h). Masked tails, no scalar loop.
// GCC 12's _mm512_reduce_* and masked-load intrinsics read an undefined __Y inside the header
// (a false positive in avx512fintrin.h, not in this code).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "x86/mask_avx512.h"
#include "x86/requant_avx512.h"

namespace ortkit::kernels::x86 {

void minmax_f32_avx512(const float* x, int64_t n, float* lo, float* hi) {
  __m512 l = _mm512_set1_ps(*lo), h = _mm512_set1_ps(*hi);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    l = _mm512_min_ps(l, v);
    h = _mm512_max_ps(h, v);
  }
  if (i < n) {
    const __mmask16 m = mask16(n - i);
    l = _mm512_mask_min_ps(l, m, l, _mm512_maskz_loadu_ps(m, x + i));
    h = _mm512_mask_max_ps(h, m, h, _mm512_maskz_loadu_ps(m, x + i));
  }
  *lo = _mm512_reduce_min_ps(l);
  *hi = _mm512_reduce_max_ps(h);
}

int32_t quantize_u8_avx512(const float* x, int64_t n, float inv_scale, int32_t zp, uint8_t* dst) {
  const __m512 s = _mm512_set1_ps(inv_scale), z = _mm512_set1_ps(static_cast<float>(zp));
  const __m512 zero = _mm512_setzero_ps(), top = _mm512_set1_ps(255.f);
  __m512i sum = _mm512_setzero_si512();
  auto one = [&](__m512 v) {
    // roundscale with imm 0 = round to nearest even, the ONNX rule; then add zp and saturate to [0, 255].
    __m512 q = _mm512_add_ps(
        _mm512_roundscale_ps(_mm512_mul_ps(v, s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), z);
    q = _mm512_min_ps(_mm512_max_ps(q, zero), top);
    return _mm512_cvtps_epi32(q);
  };
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i q = one(_mm512_loadu_ps(x + i));
    sum = _mm512_add_epi32(sum, q);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm512_cvtusepi32_epi8(q));
  }
  if (i < n) {
    const __mmask16 m = mask16(n - i);
    const __m512i q = _mm512_maskz_mov_epi32(m, one(_mm512_maskz_loadu_ps(m, x + i)));
    sum = _mm512_add_epi32(sum, q);
    _mm512_mask_cvtusepi32_storeu_epi8(dst + i, m, q);
  }
  return _mm512_reduce_add_epi32(sum);
}

void requantize_avx512(const float* x, int64_t n, float scale, int32_t zp, bool is_signed, void* dst) {
  const RequantAvx512 one(scale, zp, is_signed);
  int8_t* d = static_cast<int8_t*>(dst);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i), _mm512_cvtepi32_epi8(one(_mm512_loadu_ps(x + i))));
  if (i < n) {
    const __mmask16 m = mask16(n - i);
    _mm512_mask_cvtepi32_storeu_epi8(d + i, m, one(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

}  // namespace ortkit::kernels::x86
