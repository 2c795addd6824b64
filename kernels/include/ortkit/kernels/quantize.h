// Row primitives of dynamic u8 quantization (ONNX DynamicQuantizeLinear), used by the GEMM driver's fused
// quantize-while-packing path, and of requantization (QuantizeLinear, the GEMM's u8/s8 output); available
// to operators. Chosen once from the CPU's features, like the
// GEMM kernels; the portable versions are the reference the fast ones are tested against.
#pragma once
#include <cstdint>

#include "ortkit/kernels/gemm.h"

namespace ortkit::kernels {

struct QuantizeOps {
  const char* isa;
  /// lo = min(lo, x[0..n)), hi = max(hi, x[0..n)).
  void (*minmax)(const float* x, int64_t n, float* lo, float* hi);
  /// dst[i] = clamp(round_half_even(x[i] * inv_scale) + zp, 0, 255); returns the sum of dst.
  int32_t (*quantize_u8)(const float* x, int64_t n, float inv_scale, int32_t zp, uint8_t* dst);
  /// ONNX QuantizeLinear of n floats: dst[i] = saturate(round_half_even(x[i] / scale) + zp) as u8, or as
  /// s8 when is_signed; NaN gives the low bound. The GEMM's requantized output (QuantOut) runs through it.
  void (*requantize)(const float* x, int64_t n, float scale, int32_t zp, bool is_signed, void* dst);
};

/// The best implementation for this CPU (ORTKIT_MAX_ISA=ref forces the portable one).
const QuantizeOps& quantize_ops();
/// The portable reference.
const QuantizeOps& quantize_ops_ref();

/// lo = min(lo, x), hi = max(hi, x) over a rows x cols matrix of floats (row stride ld), with
/// quantize_ops().minmax on th's threads once it holds 32K values (split by values, not rows, so one long
/// row spreads too): DynamicQuantizeLinear's range, in the operator and in gemm_f32_dynamic_u8. A serial
/// pass held the other threads idle before every dynamic int8 conv and GEMM.
void minmax_parallel(const float* x, int64_t rows, int64_t cols, int64_t ld, float* lo, float* hi,
                     const Threading& th);

}  // namespace ortkit::kernels
