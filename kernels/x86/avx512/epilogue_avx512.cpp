// AVX-512 epilogue of the x86 micro-kernels: bias, accumulate, activation (GELU through a vectorized
// exp/erf accurate to ~2e-7 abs) and, for int8, the zero-point corrections and dequantization. Column
// tails use masked loads and stores, so edge tiles never touch memory beyond t.n.
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_ps as the merge source, GCC PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "x86/mask_avx512.h"
#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

namespace {

// Cephes expf: n = round(x / ln2), r = x - n ln2 (two-part ln2), degree-6 polynomial, scalef by 2^n.
__m512 exp_ps(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.7f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  return _mm512_scalef_ps(p, n);
}

// Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7) on |x|, sign restored.
__m512 erf_ps(__m512 x) {
  const __m512 sign = _mm512_and_ps(x, _mm512_set1_ps(-0.f));
  const __m512 ax = _mm512_andnot_ps(_mm512_set1_ps(-0.f), x);
  const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.f),
                                 _mm512_fmadd_ps(ax, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.f)));
  __m512 p = _mm512_set1_ps(1.061405429f);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
  p = _mm512_mul_ps(p, t);
  const __m512 e = exp_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), ax), ax));
  const __m512 y = _mm512_fnmadd_ps(p, e, _mm512_set1_ps(1.f));
  return _mm512_or_ps(y, sign);
}

// r where v >= -88, else 0: the exp-based activations divide v by 1 + a clamped exp, which leaves
// v / 3e38 instead of 0 for v near -FLT_MAX (GELU and SiLU are below 1e-36 in magnitude from -88 down).
__m512 zero_below(__m512 v, __m512 r) {
  return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(v, _mm512_set1_ps(-88.f), _CMP_LT_OQ), _mm512_setzero_ps());
}

__m512 act_ps(__m512 v, const MicroTile& t) {
  switch (t.act) {
    case Act::none: return v;
    case Act::relu: return _mm512_max_ps(v, _mm512_setzero_ps());
    case Act::clip:
      return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(t.clip_lo)), _mm512_set1_ps(t.clip_hi));
    case Act::gelu_erf: {
      const __m512 e = erf_ps(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f)));
      return _mm512_mul_ps(_mm512_mul_ps(v, _mm512_set1_ps(0.5f)), _mm512_add_ps(e, _mm512_set1_ps(1.f)));
    }
    case Act::gelu_tanh: {
      // 0.5 v (1 + tanh(u)) = v / (1 + exp(-2u)), u = sqrt(2/pi) (v + 0.044715 v^3)
      const __m512 v3 = _mm512_mul_ps(_mm512_mul_ps(v, v), v);
      const __m512 u = _mm512_mul_ps(_mm512_fmadd_ps(v3, _mm512_set1_ps(0.044715f), v),
                                     _mm512_set1_ps(-2.f * 0.7978845608028654f));
      return zero_below(v, _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.f), exp_ps(u))));
    }
    case Act::silu:  // v / (1 + exp(-v))
      return zero_below(v, _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1.f),
                                                          exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), v)))));
    case Act::hardswish: {  // max(NaN, 0) is 0, so a NaN v stays NaN through the product
      const __m512 g = _mm512_fmadd_ps(v, _mm512_set1_ps(1.f / 6.f), _mm512_set1_ps(0.5f));
      return _mm512_mul_ps(v, _mm512_min_ps(_mm512_max_ps(g, _mm512_setzero_ps()), _mm512_set1_ps(1.f)));
    }
  }
  return v;
}

}  // namespace

void store_f32_avx512(const MicroTile& t, const float* acc, int acc_ld) {
  for (int c0 = 0; c0 < t.n; c0 += 16) {
    const __mmask16 k = mask16(t.n - c0);
    const __m512 bias = t.bias ? _mm512_maskz_loadu_ps(k, t.bias + c0) : _mm512_setzero_ps();
    for (int r = 0; r < t.m; ++r) {
      float* c = t.c + r * t.ldc + c0;
      const float* ci = t.c_in ? t.c_in + r * t.ldc_in + c0 : c;
      __m512 v = _mm512_loadu_ps(acc + r * acc_ld + c0);
      if (t.accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, ci));  // same order as store_tile_f32
      _mm512_mask_storeu_ps(c, k, act_ps(_mm512_add_ps(v, bias), t));
    }
  }
}

void store_i32_avx512(const MicroTile& t, const int32_t* acc, int acc_ld) {
  for (int c0 = 0; c0 < t.n; c0 += 16) {
    const __mmask16 k = mask16(t.n - c0);
    const __m512i off =
        t.col_offset ? _mm512_maskz_loadu_epi32(k, t.col_offset + c0) : _mm512_setzero_si512();
    const __m512i zpn =
        t.col_zp_neg ? _mm512_maskz_loadu_epi32(k, t.col_zp_neg + c0) : _mm512_setzero_si512();
    const __m512 scale = t.c32 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(k, t.col_scale + c0);
    const __m512 bias = t.bias ? _mm512_maskz_loadu_ps(k, t.bias + c0) : _mm512_setzero_ps();
    for (int r = 0; r < t.m; ++r) {
      __m512i v = _mm512_add_epi32(_mm512_loadu_si512(acc + r * acc_ld + c0), off);
      if (t.col_zp_neg) v = _mm512_add_epi32(v, _mm512_mullo_epi32(_mm512_set1_epi32(t.row_sum[r]), zpn));
      if (t.c32) {
        int32_t* c = t.c32 + r * t.ldc32 + c0;
        if (t.accumulate) v = _mm512_add_epi32(v, _mm512_maskz_loadu_epi32(k, c));
        _mm512_mask_storeu_epi32(c, k, v);
        continue;
      }
      float* c = t.c + r * t.ldc + c0;
      const float* ci = t.c_in ? t.c_in + r * t.ldc_in + c0 : c;
      __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), scale);
      if (t.accumulate) f = _mm512_add_ps(f, _mm512_maskz_loadu_ps(k, ci));
      f = _mm512_add_ps(f, bias);
      _mm512_mask_storeu_ps(c, k, act_ps(f, t));
    }
  }
}

}  // namespace ortkit::kernels::x86
