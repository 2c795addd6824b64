// AVX2 epilogue of the x86 micro-kernels (also used by the AVX-VNNI kernels, which imply AVX2): bias,
// accumulate, activation with a vectorized exp/erf, int8 corrections and dequantization. Full 8-column
// chunks run in SIMD; a column tail (t.n not a multiple of 8) goes through the portable scalar path.
#include <immintrin.h>

#include "ortkit/kernels/epilogue.h"
#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

namespace {

// Cephes expf (see the AVX-512 twin): 2^n is built in the exponent field, x clamped to the finite range.
__m256 exp_ps(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

__m256 erf_ps(__m256 x) {  // Abramowitz-Stegun 7.1.26, |error| < 1.5e-7
  const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.f));
  const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.f), x);
  const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.f),
                                 _mm256_fmadd_ps(ax, _mm256_set1_ps(0.3275911f), _mm256_set1_ps(1.f)));
  __m256 p = _mm256_set1_ps(1.061405429f);
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
  p = _mm256_mul_ps(p, t);
  const __m256 e = exp_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_setzero_ps(), ax), ax));
  return _mm256_or_ps(_mm256_fnmadd_ps(p, e, _mm256_set1_ps(1.f)), sign);
}

// r where v >= -88, else 0 (see the AVX-512 twin: v / a clamped exp is not 0 near -FLT_MAX).
__m256 zero_below(__m256 v, __m256 r) {
  return _mm256_blendv_ps(r, _mm256_setzero_ps(), _mm256_cmp_ps(v, _mm256_set1_ps(-88.f), _CMP_LT_OQ));
}

__m256 act_ps(__m256 v, const MicroTile& t) {
  switch (t.act) {
    case Act::none: return v;
    case Act::relu: return _mm256_max_ps(v, _mm256_setzero_ps());
    case Act::clip:
      return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(t.clip_lo)), _mm256_set1_ps(t.clip_hi));
    case Act::gelu_erf: {
      const __m256 e = erf_ps(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f)));
      return _mm256_mul_ps(_mm256_mul_ps(v, _mm256_set1_ps(0.5f)), _mm256_add_ps(e, _mm256_set1_ps(1.f)));
    }
    case Act::gelu_tanh: {  // v / (1 + exp(-2u)), u = sqrt(2/pi) (v + 0.044715 v^3)
      const __m256 v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
      const __m256 u = _mm256_mul_ps(_mm256_fmadd_ps(v3, _mm256_set1_ps(0.044715f), v),
                                     _mm256_set1_ps(-2.f * 0.7978845608028654f));
      return zero_below(v, _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.f), exp_ps(u))));
    }
    case Act::silu:  // v / (1 + exp(-v))
      return zero_below(v, _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.f),
                                                          exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), v)))));
    case Act::hardswish: {  // max(NaN, 0) is 0, so a NaN v stays NaN through the product
      const __m256 g = _mm256_fmadd_ps(v, _mm256_set1_ps(1.f / 6.f), _mm256_set1_ps(0.5f));
      return _mm256_mul_ps(v, _mm256_min_ps(_mm256_max_ps(g, _mm256_setzero_ps()), _mm256_set1_ps(1.f)));
    }
  }
  return v;
}

// The tile restricted to columns [c0, c0 + n): for the scalar tail.
MicroTile columns(const MicroTile& t, int c0) {
  MicroTile s = t;
  s.n = t.n - c0;
  if (s.c) s.c += c0;
  if (s.c_in) s.c_in += c0;
  if (s.c32) s.c32 += c0;
  if (s.bias) s.bias += c0;
  if (s.col_offset) s.col_offset += c0;
  if (s.col_zp_neg) s.col_zp_neg += c0;
  if (s.col_scale) s.col_scale += c0;
  return s;
}

}  // namespace

void store_f32_avx2(const MicroTile& t, const float* acc, int acc_ld) {
  const int full = t.n / 8 * 8;
  for (int c0 = 0; c0 < full; c0 += 8) {
    const __m256 bias = t.bias ? _mm256_loadu_ps(t.bias + c0) : _mm256_setzero_ps();
    for (int r = 0; r < t.m; ++r) {
      float* c = t.c + r * t.ldc + c0;
      const float* ci = t.c_in ? t.c_in + r * t.ldc_in + c0 : c;
      __m256 v = _mm256_loadu_ps(acc + r * acc_ld + c0);
      if (t.accumulate) v = _mm256_add_ps(v, _mm256_loadu_ps(ci));
      _mm256_storeu_ps(c, act_ps(_mm256_add_ps(v, bias), t));
    }
  }
  if (full < t.n) store_tile_f32(columns(t, full), acc + full, acc_ld);
}

void store_i32_avx2(const MicroTile& t, const int32_t* acc, int acc_ld) {
  const int full = t.n / 8 * 8;
  for (int c0 = 0; c0 < full; c0 += 8) {
    const __m256i off = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.col_offset + c0));
    const __m256i zpn = t.col_zp_neg ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.col_zp_neg + c0))
                                     : _mm256_setzero_si256();
    const __m256 scale = t.c32 ? _mm256_setzero_ps() : _mm256_loadu_ps(t.col_scale + c0);
    const __m256 bias = t.bias ? _mm256_loadu_ps(t.bias + c0) : _mm256_setzero_ps();
    for (int r = 0; r < t.m; ++r) {
      __m256i v =
          _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + r * acc_ld + c0)), off);
      if (t.col_zp_neg) v = _mm256_add_epi32(v, _mm256_mullo_epi32(_mm256_set1_epi32(t.row_sum[r]), zpn));
      if (t.c32) {
        __m256i* c = reinterpret_cast<__m256i*>(t.c32 + r * t.ldc32 + c0);
        if (t.accumulate) v = _mm256_add_epi32(v, _mm256_loadu_si256(c));
        _mm256_storeu_si256(c, v);
        continue;
      }
      float* c = t.c + r * t.ldc + c0;
      const float* ci = t.c_in ? t.c_in + r * t.ldc_in + c0 : c;
      __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(v), scale);
      if (t.accumulate) f = _mm256_add_ps(f, _mm256_loadu_ps(ci));
      _mm256_storeu_ps(c, act_ps(_mm256_add_ps(f, bias), t));
    }
  }
  if (full < t.n) store_tile_i32(columns(t, full), acc + full, acc_ld);
}

}  // namespace ortkit::kernels::x86
