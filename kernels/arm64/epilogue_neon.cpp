// NEON tile stores shared by the arm64 kernels (see epilogue_neon.h for why they live here).
#include "epilogue_neon.h"

#include <arm_neon.h>

#include "ortkit/kernels/epilogue.h"

namespace ortkit::kernels {

namespace {

// bias / activation on four finished values (accumulate already added). GELU has no vector form
// here: it goes through the scalar apply_act so every path rounds alike.
inline float32x4_t finish4(const MicroTile& t, float32x4_t v, int j) {
  if (t.bias) v = vaddq_f32(v, vld1q_f32(t.bias + j));
  switch (t.act) {
    case Act::none: break;
    case Act::relu: v = vmaxq_f32(v, vdupq_n_f32(0.f)); break;
    case Act::clip: v = vminq_f32(vmaxq_f32(v, vdupq_n_f32(t.clip_lo)), vdupq_n_f32(t.clip_hi)); break;
    default: {
      float tmp[4];
      vst1q_f32(tmp, v);
      for (float& x : tmp) x = apply_act(x, t.act, t.clip_lo, t.clip_hi);
      v = vld1q_f32(tmp);
    }
  }
  return v;
}

inline float finish1(const MicroTile& t, float v, int j) {
  if (t.bias) v += t.bias[j];
  return apply_act(v, t.act, t.clip_lo, t.clip_hi);
}

}  // namespace

void arm64_store_tile_f32(const MicroTile& t, const float* acc, int acc_ld) {
  for (int r = 0; r < t.m; ++r) {
    const float* s = acc + r * acc_ld;
    float* c = t.c + r * t.ldc;
    int j = 0;
    for (; j + 4 <= t.n; j += 4) {
      float32x4_t v = vld1q_f32(s + j);
      if (t.accumulate) v = vaddq_f32(v, vld1q_f32(c + j));
      vst1q_f32(c + j, finish4(t, v, j));
    }
    for (; j < t.n; ++j) c[j] = finish1(t, t.accumulate ? s[j] + c[j] : s[j], j);
  }
}

void arm64_store_tile_i32(const MicroTile& t, const int32_t* acc, int acc_ld) {
  for (int r = 0; r < t.m; ++r) {
    const int32_t* s = acc + r * acc_ld;
    const int32_t rs = t.col_zp_neg ? t.row_sum[r] : 0;
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
      if (t.accumulate) f = vaddq_f32(f, vld1q_f32(c));
      vst1q_f32(c, finish4(t, f, j));
    }
    for (; j < t.n; ++j) {
      int32_t v = s[j] + t.col_offset[j];
      if (t.col_zp_neg) v += rs * t.col_zp_neg[j];
      if (t.c32) {
        int32_t* c = t.c32 + r * t.ldc32 + j;
        *c = t.accumulate ? *c + v : v;
        continue;
      }
      float* c = t.c + r * t.ldc + j;
      float f = static_cast<float>(v) * t.col_scale[j];
      if (t.accumulate) f += *c;
      *c = finish1(t, f, j);
    }
  }
}

}  // namespace ortkit::kernels
