#include "ops/act_rows.h"

#include "ops/fast_math.h"
#include "ortkit/kernels/epilogue.h"

namespace ortkit::ops {

using kernels::Act;

// One loop per activation: a switch inside the loop would keep GCC from vectorizing it.
ORTKIT_OPS_CLONES_512 void act_inplace(float* y, int64_t n, Act act, float lo, float hi) {
  switch (act) {
    case Act::none: return;
    case Act::relu:
      for (int64_t i = 0; i < n; ++i) y[i] = y[i] > 0.f ? y[i] : 0.f;
      return;
    case Act::clip:
      for (int64_t i = 0; i < n; ++i) y[i] = y[i] < lo ? lo : (y[i] > hi ? hi : y[i]);
      return;
    case Act::silu:  // 0 from -88 down, where the clamped exp would leave y / 2.4e38
      for (int64_t i = 0; i < n; ++i) y[i] = y[i] < -88.f ? 0.f : y[i] / (1.f + fast_exp(-y[i]));
      return;
    case Act::hardswish:
      for (int64_t i = 0; i < n; ++i) {
        const float g = y[i] * (1.f / 6.f) + 0.5f;
        y[i] = y[i] * (g < 0.f ? 0.f : (g > 1.f ? 1.f : g));
      }
      return;
    case Act::gelu_tanh:
      for (int64_t i = 0; i < n; ++i) {
        const float v = y[i], u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
        y[i] = v < -88.f ? 0.f : v / (1.f + fast_exp(-2.f * u));
      }
      return;
    case Act::gelu_erf:
      for (int64_t i = 0; i < n; ++i) y[i] = kernels::apply_act(y[i], act, lo, hi);
      return;
  }
}

}  // namespace ortkit::ops
