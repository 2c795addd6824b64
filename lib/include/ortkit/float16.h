// IEEE binary16 conversions (float16 tensors: Cast, models written for GPUs, test data).
#pragma once
#include <cstdint>

namespace ortkit {

/// Round to nearest even; overflow to inf, NaN stays NaN (quiet), subnormals kept.
uint16_t f32_to_f16(float f);
/// Exact.
float f16_to_f32(uint16_t h);

}  // namespace ortkit
