// Row primitives of dynamic u8 quantization (ONNX DynamicQuantizeLinear), used by the GEMM driver's fused
// quantize-while-packing path and available to operators. Chosen once from the CPU's features, like the
// GEMM kernels; the portable versions are the reference the fast ones are tested against.
#pragma once
#include <cstdint>

namespace ortkit::kernels {

struct QuantizeOps {
  const char* isa;
  /// lo = min(lo, x[0..n)), hi = max(hi, x[0..n)).
  void (*minmax)(const float* x, int64_t n, float* lo, float* hi);
  /// dst[i] = clamp(round_half_even(x[i] * inv_scale) + zp, 0, 255); returns the sum of dst.
  int32_t (*quantize_u8)(const float* x, int64_t n, float inv_scale, int32_t zp, uint8_t* dst);
};

/// The best implementation for this CPU (ORTKIT_MAX_ISA=ref forces the portable one).
const QuantizeOps& quantize_ops();
/// The portable reference.
const QuantizeOps& quantize_ops_ref();

}  // namespace ortkit::kernels
