// ONNX's narrow element types (float8 E4M3FN / E4M3FNUZ / E5M2 / E5M2FNUZ / E8M0, float4 E2M1, int4, uint4,
// int2, uint2): scalar conversions with the rules of ONNX Cast and QuantizeLinear, and the per-dtype
// helpers the ops use. The oracle is onnx.reference (op_cast.py, numpy_helper.saturate_cast and
// to_float8e8m0, ml_dtypes' casts), which wrote the ONNX test data.
//
// In memory every element is one byte (tensor.h): int4 / int2 sign-extended into an int8, uint4 / uint2 /
// float4 in the low bits, a float8 as its byte. Decoding reads only the low 4 (2) bits of a 4-bit
// (2-bit) element, so a byte with stray high bits still decodes to the element's value.
//
// Float8 / float4 from a wider float: round to nearest even, then, as ONNX Cast's tables say:
// - saturate (the default): a value beyond the largest finite one, or an infinity, becomes that largest
//   finite value with its sign;
// - saturate = false: E5M2 gives +-Inf, E4M3FN +-NaN (0x7f / 0xff), the FNUZ types their one NaN 0x80.
// NaN stays NaN (E4M3FN 0x7f / 0xff, E5M2 0x7e / 0xfe, FNUZ 0x80). The FNUZ types have no -0: -0 and
// negative values that round to 0 give +0. Float4 E2M1 has neither Inf nor NaN: it always saturates,
// and NaN gives 0x8 (-NaN 0x0), which is what ml_dtypes does and the ONNX test data records.
// E8M0 (2^-127 .. 2^127 by powers of two, 0xff = NaN) keeps the exponent of the float32 value; its
// sign is ignored, round_mode picks up (default) / down / nearest, and saturate keeps 0xfe from rounding
// up into NaN; NaN and Inf give 0xff (onnx.numpy_helper.to_float8e8m0).
// A float64 or an integer goes to float8 / float4 through float32 (narrow_from_float / _int), as ONNX
// Runtime and ml_dtypes do.
// 4- and 2-bit integers from a float (Cast): truncate toward zero and keep the low bits (two's complement
// wrap, as Cast narrows every integer); NaN, Inf and values beyond int32 give 0, as ml_dtypes on x86.
// QuantizeLinear saturates instead: it clamps to narrow_int_range() before narrowing.
#pragma once
#include <cstdint>

#include "ortkit/tensor.h"

namespace ortkit {

/// float32 to float8 / float4, rounded to nearest even; see above.
uint8_t float_to_f8e4m3fn(float v, bool saturate = true);
uint8_t float_to_f8e4m3fnuz(float v, bool saturate = true);
uint8_t float_to_f8e5m2(float v, bool saturate = true);
uint8_t float_to_f8e5m2fnuz(float v, bool saturate = true);
uint8_t float_to_f4e2m1(float v);  ///< low nibble; always saturates (no Inf)

/// Exact (every value is a float32; NaN keeps its sign, the FNUZ NaN 0x80 reads as -NaN as in ml_dtypes).
float f8e4m3fn_to_float(uint8_t b);
float f8e4m3fnuz_to_float(uint8_t b);
float f8e5m2_to_float(uint8_t b);
float f8e5m2fnuz_to_float(uint8_t b);
float f4e2m1_to_float(uint8_t b);  ///< reads the low nibble

enum class E8M0Round : uint8_t { up, down, nearest };
uint8_t float_to_f8e8m0(float v, bool saturate = true, E8M0Round round = E8M0Round::up);
float f8e8m0_to_float(uint8_t b);  ///< 2^(b - 127); 0xff is NaN

/// The low 4 / 2 bits of v as int4 (sign-extended), uint4, int2 (sign-extended), uint2.
int8_t wrap_to_int4(int64_t v);
uint8_t wrap_to_uint4(int64_t v);
int8_t wrap_to_int2(int64_t v);
uint8_t wrap_to_uint2(int64_t v);
/// A float truncated toward zero as Cast narrows it to a small integer: 0 for NaN, Inf and |v| >= 2^31.
int64_t float_to_int_for_cast(double v);

/// One of the narrow types (the DType values after `string`).
bool is_narrow(DType t);
/// int4, uint4, int2, uint2.
bool is_narrow_int(DType t);
/// Bits per element in a TensorProto: 4 (int4, uint4, float4), 2 (int2, uint2), 8 (float8); 0 otherwise.
int narrow_bits(DType t);
/// The values a narrow integer type holds (QuantizeLinear's saturation bounds).
void narrow_int_range(DType t, int32_t& lo, int32_t& hi);

/// Cast's options for a narrow destination (float8 `saturate`, float8e8m0 `round_mode`).
struct NarrowCast {
  bool saturate = true;
  E8M0Round round = E8M0Round::up;
};
/// A float value as an element of narrow type t, by Cast's rules. To the float types a float64 is
/// rounded to float32 first, as ONNX Runtime and ml_dtypes (the reference) do; to the small integers it
/// is truncated directly.
uint8_t narrow_from_float(DType t, double v, const NarrowCast& o = {});
/// An integer value as an element of narrow type t: wraps into the small integers, rounds into the floats.
uint8_t narrow_from_int(DType t, int64_t v, const NarrowCast& o = {});
/// An element's value (small integers exactly, float8 / float4 exactly, NaN and Inf kept).
float narrow_to_float(DType t, uint8_t b);
/// narrow_to_float(t, b) for all 256 bytes b, for loops over tensors; null if t is not narrow.
const float* narrow_decode_table(DType t);

}  // namespace ortkit
