// The fused activation of a finished run of values, for the conv forms whose own stores apply only a
// clamp (depthwise planes, few-channel tiles, Winograd rows, residual joins): vectorized where the GEMM
// epilogue would be, so a fused SiLU or HardSwish costs about what its unfused node did, minus the pass.
#pragma once
#include <cstdint>

#include "ortkit/kernels/gemm.h"

namespace ortkit::ops {

/// y[i] = act(y[i]) for i < n. relu sends NaN to 0 and clip keeps it, as the GEMM epilogue does; silu is
/// y / (1 + exp(-y)) with the clamped exp of fast_math.h, gelu_erf calls libm's erf.
void act_inplace(float* y, int64_t n, kernels::Act act, float lo, float hi);

}  // namespace ortkit::ops
