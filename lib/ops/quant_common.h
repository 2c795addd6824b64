// Helpers shared by the quantized operators (quant_*.cpp): reading scales and zero points, the ONNX
// rounding rule (round half to even, then saturate) and int8 GEMM kind selection.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "ops/op.h"
#include "ortkit/kernels/quantize.h"

namespace ortkit::ops::quant {

/// Round half to even (the default FP rounding mode; ONNX QuantizeLinear's rule).
inline float round_even(float v) {
  return std::nearbyint(v);
}

/// out[i] = saturate(round_even(x[i] / scale) + zp) for n floats, T = (u)int8_t or (u)int16_t. The values
/// of store_q, in a loop the compiler vectorizes (no dtype switch, no libm call per element).
/// One element of quantize_span: the saturation bounds are applied before rounding, shifted by the zero
/// point (lo_z = lo - zp, hi_z = hi - zp, integers, so rounding commutes with the clamp), as min/max in
/// the form x86's minps/maxps implement (std::clamp compiles to compare-and-blend chains); the clamped
/// value is within +-383 (+-131070 for 16-bit types), so the 1.5 * 2^23 rounding needs no range clamp.
template <class T>
__attribute__((always_inline)) inline T quantize_one(float v_scaled, float lo_z, float hi_z, float z) {
  constexpr float kMagic = 12582912.f;  // 1.5 * 2^23
  float v = v_scaled > lo_z ? v_scaled : lo_z;
  v = v < hi_z ? v : hi_z;
  return static_cast<T>(static_cast<int32_t>(((v + kMagic) - kMagic) + z));
}

/// saturate(round(v) + zp) into u8 or s8, stored at out[i] (NaN gives the type's lowest value, as in
/// quantize_one).
inline void store_q(DType t, void* out, int64_t i, float v_scaled, int32_t zp) {
  const float z = static_cast<float>(zp);
  if (t == DType::u8)
    static_cast<uint8_t*>(out)[i] = quantize_one<uint8_t>(v_scaled, 0.f - z, 255.f - z, z);
  else
    static_cast<int8_t*>(out)[i] = quantize_one<int8_t>(v_scaled, -128.f - z, 127.f - z, z);
}

template <class T>
inline void quantize_span(const float* x, int64_t n, float scale, int32_t zp, T* out) {
  constexpr float lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
  const float z = static_cast<float>(zp), lo_z = lo - z, hi_z = hi - z;
  for (int64_t i = 0; i < n; ++i) out[i] = quantize_one<T>(x[i] / scale, lo_z, hi_z, z);
}

/// DynamicQuantizeLinear of n floats into q (u8): the range [min(0, min x), max(0, max x)], scale = range
/// / 255, zero point round(saturate(-min / scale)), q = saturate(round(x / scale) + zero point); all zeros
/// when the range is empty. Through the SIMD row primitives (kernels::quantize_ops()): scalar loops were a
/// third of MobileNetV2's dynamic int8 run.
struct DynamicQuant {
  float scale = 0.f;
  int32_t zero_point = 0;
};
inline DynamicQuant dynamic_quantize_u8(const float* x, int64_t n, uint8_t* q, const kernels::Threading& th) {
  const kernels::QuantizeOps& qo = kernels::quantize_ops();
  float lo = 0.f, hi = 0.f;
  kernels::minmax_parallel(x, 1, n, n, &lo, &hi, th);
  DynamicQuant d;
  d.scale = (hi - lo) / 255.f;
  d.zero_point =
      d.scale == 0.f ? 0 : static_cast<int32_t>(round_even(std::clamp(0.f - lo / d.scale, 0.f, 255.f)));
  parallel_range(th, n, 16384, [&](int64_t b, int64_t e) {
    if (d.scale == 0.f)
      std::fill(q + b, q + e, uint8_t{0});
    else
      qo.requantize(x + b, e - b, d.scale, d.zero_point, false, q + b);
  });
  return d;
}

/// Whether 1 / y_s can fold into a conv's scales, bias and clip bounds, leaving requantization a rounding
/// only (the int8 convs' epilogues): y_s positive and finite, and an activation that commutes with a
/// positive scaling (none, relu, clip; not GELU).
inline bool output_scale_folds(float ys, kernels::Act act) {
  return ys > 0.f && std::isfinite(ys) &&
         (act == kernels::Act::none || act == kernels::Act::relu || act == kernels::Act::clip);
}

/// Element i of an integer tensor (u8, s8, u16, s16, i32) as int32.
inline int32_t int_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::u8: return t.data_as<uint8_t>()[i];
    case DType::i8: return t.data_as<int8_t>()[i];
    case DType::u16: return t.data_as<uint16_t>()[i];
    case DType::i16: return t.data_as<int16_t>()[i];
    case DType::i32: return t.data_as<int32_t>()[i];
    default: return 0;
  }
}

/// A zero-point tensor (or absent) as int32 values; `count` values expected (1 or per channel).
inline void read_zero_points(const Tensor* t, std::vector<int32_t>& out) {
  out.clear();
  if (!t) {
    out.push_back(0);
    return;
  }
  for (int64_t i = 0; i < t->numel(); ++i) out.push_back(int_at(*t, i));
}

/// True if the shape is a scalar or a 1-element tensor (per-tensor quantization parameter).
inline bool is_scalar_like(const Shape& s) {
  return shape_numel(s) == 1 && s.size() <= 1;
}

/// The int8 GEMM kind for an A of this dtype: u8 A -> u8s8, s8 A -> s8s8.
inline kernels::GemmKind int8_kind(DType a) {
  return a == DType::i8 ? kernels::GemmKind::s8s8 : kernels::GemmKind::u8s8;
}

/// The fused int8 GEMMs' optional activation (attributes `activation`, `clip_min`, `clip_max`, as
/// ortkit.FusedMatMul): set by the GELU, swish and conv activation fusion passes. `clamp_only`: the op
/// (the int8 convs, whose depthwise and requantizing forms fold the activation into their bounds) takes
/// none, relu and clip only.
inline void read_activation(const CompileContext& ctx, kernels::Epilogue& ep, bool clamp_only = false) {
  const std::string a = ctx.attr().get_string("activation", "");
  if (!kernels::act_from_name(a, ep.act)) ctx.fail("unknown activation '" + a + "'");
  if (clamp_only && ep.act != kernels::Act::none && ep.act != kernels::Act::relu &&
      ep.act != kernels::Act::clip)
    ctx.unsupported("activation '" + a + "' on an int8 conv (none, relu and clip are)");
  ep.clip_lo = ctx.attr().get_float("clip_min", -3.4e38f);
  ep.clip_hi = ctx.attr().get_float("clip_max", 3.4e38f);
}

}  // namespace ortkit::ops::quant
