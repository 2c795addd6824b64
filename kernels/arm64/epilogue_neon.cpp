// NEON tile stores shared by the arm64 kernels (see epilogue_neon.h for why they live here).
#include "epilogue_neon.h"

#include <arm_neon.h>

namespace ortkit::kernels {

namespace {

// e^x for x in [-87, 88] (clamped): x = n ln2 + r with |r| <= ln2/2, e^r by its degree-6 Taylor
// polynomial (relative error ~1.2e-7), 2^n added into the exponent field (normal for every clamped x).
inline float32x4_t exp4(float32x4_t x) {
  x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-87.f)), vdupq_n_f32(88.f));
  const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 1.44269504088896341f));
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693145751953125f));  // ln2, high bits (exact n * hi)
  r = vfmsq_f32(r, n, vdupq_n_f32(1.428606765330187045e-6f));        // ln2, low bits
  float32x4_t p = vfmaq_f32(vdupq_n_f32(1.f / 120), vdupq_n_f32(1.f / 720), r);
  p = vfmaq_f32(vdupq_n_f32(1.f / 24), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.f / 6), p, r);
  p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.f), p, r);
  const int32x4_t e = vshlq_n_s32(vcvtq_s32_f32(n), 23);
  return vreinterpretq_f32_s32(vaddq_s32(vreinterpretq_s32_f32(p), e));
}

// GELU with erf: 0.5 v (1 + erf(v / sqrt 2)); erf by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7),
// evaluated on |x| and given v's sign.
inline float32x4_t gelu_erf4(float32x4_t v) {
  const float32x4_t x = vmulq_n_f32(vabsq_f32(v), 0.70710678118654752f);
  const float32x4_t t = vdivq_f32(vdupq_n_f32(1.f), vfmaq_n_f32(vdupq_n_f32(1.f), x, 0.3275911f));
  float32x4_t p = vfmaq_n_f32(vdupq_n_f32(-1.453152027f), t, 1.061405429f);
  p = vfmaq_f32(vdupq_n_f32(1.421413741f), p, t);
  p = vfmaq_f32(vdupq_n_f32(-0.284496736f), p, t);
  p = vfmaq_f32(vdupq_n_f32(0.254829592f), p, t);
  p = vmulq_f32(p, t);
  const float32x4_t erf_abs = vfmsq_f32(vdupq_n_f32(1.f), p, exp4(vnegq_f32(vmulq_f32(x, x))));
  const uint32x4_t sign = vandq_u32(vreinterpretq_u32_f32(v), vdupq_n_u32(0x80000000u));
  const float32x4_t erf = vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(erf_abs), sign));
  return vmulq_f32(vmulq_n_f32(v, 0.5f), vaddq_f32(vdupq_n_f32(1.f), erf));
}

// GELU with tanh: 0.5 v (1 + tanh(u)), u = sqrt(2/pi) (v + 0.044715 v^3);
// tanh|u| = 1 - 2 / (e^(2|u|) + 1), |u| clamped at 10 where tanh is 1 in fp32.
inline float32x4_t gelu_tanh4(float32x4_t v) {
  const float32x4_t v3 = vmulq_f32(vmulq_f32(v, v), v);
  const float32x4_t u = vmulq_n_f32(vfmaq_n_f32(v, v3, 0.044715f), 0.7978845608028654f);
  const float32x4_t au = vminq_f32(vabsq_f32(u), vdupq_n_f32(10.f));
  const float32x4_t e = exp4(vaddq_f32(au, au));
  const float32x4_t th_abs =
      vsubq_f32(vdupq_n_f32(1.f), vdivq_f32(vdupq_n_f32(2.f), vaddq_f32(e, vdupq_n_f32(1.f))));
  const uint32x4_t sign = vandq_u32(vreinterpretq_u32_f32(u), vdupq_n_u32(0x80000000u));
  const float32x4_t th = vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(th_abs), sign));
  return vmulq_f32(vmulq_n_f32(v, 0.5f), vaddq_f32(vdupq_n_f32(1.f), th));
}

// bias (4 values or null) and activation on four finished values (accumulate already added).
inline float32x4_t finish4(const MicroTile& t, float32x4_t v, const float* bias) {
  if (bias) v = vaddq_f32(v, vld1q_f32(bias));
  switch (t.act) {
    case Act::none: break;
    case Act::relu: v = vmaxq_f32(v, vdupq_n_f32(0.f)); break;
    case Act::clip: v = vminq_f32(vmaxq_f32(v, vdupq_n_f32(t.clip_lo)), vdupq_n_f32(t.clip_hi)); break;
    case Act::gelu_erf: v = gelu_erf4(v); break;
    case Act::gelu_tanh: v = gelu_tanh4(v); break;
    case Act::silu: {  // v / (1 + exp(-v)), and 0 from -88 down, where exp4's clamp would leave v / 1.6e38
      const float32x4_t r = vdivq_f32(v, vaddq_f32(vdupq_n_f32(1.f), exp4(vnegq_f32(v))));
      v = vbslq_f32(vcltq_f32(v, vdupq_n_f32(-88.f)), vdupq_n_f32(0.f), r);
      break;
    }
    case Act::hardswish: {  // vmaxq of NaN is NaN, so a NaN v stays NaN
      const float32x4_t g = vfmaq_n_f32(vdupq_n_f32(0.5f), v, 1.f / 6.f);
      v = vmulq_f32(v, vminq_f32(vmaxq_f32(g, vdupq_n_f32(0.f)), vdupq_n_f32(1.f)));
      break;
    }
  }
  return v;
}

// The last n % 4 columns of a row go through the same vector code on a zero-padded copy, so a value
// does not depend on its column's position in the tile.
inline void finish_tail(const MicroTile& t, const float* v, int j, float* c) {
  const int rem = t.n - j;
  float x[4] = {}, bias[4] = {};
  for (int i = 0; i < rem; ++i) {
    x[i] = v[i];
    if (t.bias) bias[i] = t.bias[j + i];
  }
  vst1q_f32(x, finish4(t, vld1q_f32(x), t.bias ? bias : nullptr));
  for (int i = 0; i < rem; ++i) c[i] = x[i];
}

}  // namespace

void arm64_store_tile_f32(const MicroTile& t, const float* acc, int acc_ld) {
  for (int r = 0; r < t.m; ++r) {
    const float* s = acc + r * acc_ld;
    float* c = t.c + r * t.ldc;
    const float* ci = t.c_in ? t.c_in + r * t.ldc_in : c;
    int j = 0;
    for (; j + 4 <= t.n; j += 4) {
      float32x4_t v = vld1q_f32(s + j);
      if (t.accumulate) v = vaddq_f32(v, vld1q_f32(ci + j));
      vst1q_f32(c + j, finish4(t, v, t.bias ? t.bias + j : nullptr));
    }
    if (j < t.n) {
      float v[4];
      for (int i = 0; j + i < t.n; ++i) v[i] = t.accumulate ? s[j + i] + ci[j + i] : s[j + i];
      finish_tail(t, v, j, c + j);
    }
  }
}

void arm64_store_tile_i32(const MicroTile& t, const int32_t* acc, int acc_ld) {
  for (int r = 0; r < t.m; ++r) {
    const int32_t* s = acc + r * acc_ld;
    const int32_t rs = t.col_zp_neg ? t.row_sum[r] : 0;
    const float* ci = t.c_in ? t.c_in + r * t.ldc_in
                      : t.c  ? t.c + r * t.ldc
                             : nullptr;  // fp32 accumulate source
    int j = 0;
    for (; j + 4 <= t.n; j += 4) {
      int32x4_t v = vaddq_s32(vld1q_s32(s + j), vld1q_s32(t.col_offset + j));
      if (t.col_zp_neg) v = vmlaq_n_s32(v, vld1q_s32(t.col_zp_neg + j), rs);
      if (t.c32) {
        int32_t* c = t.c32 + r * t.ldc32 + j;
        vst1q_s32(c, t.accumulate ? vaddq_s32(v, vld1q_s32(c)) : v);
        continue;
      }
      float* c = t.c + r * t.ldc + j;
      float32x4_t f = vmulq_f32(vcvtq_f32_s32(v), vld1q_f32(t.col_scale + j));
      if (t.accumulate) f = vaddq_f32(f, vld1q_f32(ci + j));
      vst1q_f32(c, finish4(t, f, t.bias ? t.bias + j : nullptr));
    }
    if (j == t.n) continue;
    float f[4];
    for (int i = 0; j + i < t.n; ++i) {
      const int jj = j + i;
      int32_t v = s[jj] + t.col_offset[jj];
      if (t.col_zp_neg) v += rs * t.col_zp_neg[jj];
      if (t.c32) {
        int32_t* c = t.c32 + r * t.ldc32 + jj;
        *c = t.accumulate ? *c + v : v;
        continue;
      }
      f[i] = static_cast<float>(v) * t.col_scale[jj];
      if (t.accumulate) f[i] += ci[jj];
    }
    if (!t.c32) finish_tail(t, f, j, t.c + r * t.ldc + j);
  }
}

}  // namespace ortkit::kernels
