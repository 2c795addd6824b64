#include "ortkit/kernels/epilogue.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>

#include "bf16_round.h"

namespace ortkit::kernels {

float apply_act(float v, Act act, float lo, float hi) {
  switch (act) {
    case Act::none: return v;
    case Act::relu: return v > 0.f ? v : 0.f;
    case Act::clip: return v < lo ? lo : (v > hi ? hi : v);
    case Act::gelu_erf: return 0.5f * v * (1.f + std::erf(v * 0.70710678118654752f));
    case Act::gelu_tanh: {
      const float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
      return 0.5f * v * (1.f + std::tanh(u));
    }
    case Act::silu: return v / (1.f + std::exp(-v));
    case Act::hardswish: return v * std::min(std::max(v * (1.f / 6.f) + 0.5f, 0.f), 1.f);
  }
  return v;
}

namespace {
constexpr const char* kActNames[] = {"none", "relu", "clip", "gelu_erf", "gelu_tanh", "silu", "hardswish"};
}

const char* act_name(Act a) {
  return kActNames[static_cast<int>(a)];
}

bool act_from_name(const std::string& s, Act& a) {
  if (s.empty()) {
    a = Act::none;
    return true;
  }
  for (int i = 0; i < static_cast<int>(std::size(kActNames)); ++i)
    if (s == kActNames[i]) {
      a = static_cast<Act>(i);
      return true;
    }
  return false;
}

void store_tile_f32(const MicroTile& t, const float* acc, int acc_ld) {
  for (int r = 0; r < t.m; ++r) {
    float* c = t.c + r * t.ldc;
    const float* ci = t.c_in ? t.c_in + r * t.ldc_in : c;
    for (int j = 0; j < t.n; ++j) {
      float v = acc[r * acc_ld + j];
      if (t.accumulate) v += ci[j];
      if (t.bias) v += t.bias[j];
      c[j] = apply_act(v, t.act, t.clip_lo, t.clip_hi);
    }
  }
}

void store_tile_i32(const MicroTile& t, const int32_t* acc, int acc_ld) {
  for (int r = 0; r < t.m; ++r) {
    for (int j = 0; j < t.n; ++j) {
      int32_t v = acc[r * acc_ld + j];
      if (t.col_offset) v += t.col_offset[j];
      if (t.col_zp_neg) v += t.row_sum[r] * t.col_zp_neg[j];
      if (t.c32) {
        int32_t* c = t.c32 + r * t.ldc32 + j;
        *c = t.accumulate ? *c + v : v;
        continue;
      }
      float f = static_cast<float>(v) * t.col_scale[j];
      float* c = t.c + r * t.ldc + j;
      if (t.accumulate) f += t.c_in ? t.c_in[r * t.ldc_in + j] : *c;
      if (t.bias) f += t.bias[j];
      *c = apply_act(f, t.act, t.clip_lo, t.clip_hi);
    }
  }
}

uint16_t f32_to_bf16(float v) {
  return round_to_bf16(v);
}

float bf16_to_f32(uint16_t v) {
  uint32_t u = uint32_t{v} << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace ortkit::kernels
