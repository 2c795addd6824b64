// Where QuantizeLinear / DequantizeLinear find each element's scale and zero point, and how they read
// parameters of every type. Three granularities, chosen by the scale's shape (ONNX QuantizeLinear-21):
//   per tensor  scale has one value (a scalar, or any shape of one element, as the reference reads it);
//   per axis    (opset 13+) scale is 1-D with x.shape[axis] values;
//   blocked     (opset 21+, attribute block_size B) scale has x's shape except along the axis, where it
//               has S = ceil(D / B) values: element (.., a, ..) uses parameter (.., a / B, ..).
// x is walked as `rows` rows of `inner` elements (the dims after the axis); row r sits at axis index
// r % D. Per tensor or per axis a row has one parameter; blocked, its elements read `inner` consecutive
// parameters (the dims after the axis are the same in x and in the scale).
#pragma once
#include <cstdint>

#include "ops/op.h"
#include "ortkit/narrow_types.h"

namespace ortkit::ops::quant {

struct QuantLayout {
  int64_t rows = 1, inner = 1;
  int64_t axis_dim = 1;  // D (1 per tensor)
  int64_t blocks = 1;    // S, the parameters along the axis when blocked
  int64_t block = 0;     // B; 0 unless blocked
  /// Row r's parameter index; blocked, element i of the row uses param_base(r) + i.
  int64_t param_base(int64_t r) const {
    const int64_t a = r % axis_dim;
    return block ? (r / axis_dim * blocks + a / block) * inner : a;
  }
};

/// The layout for x and scale shapes under the node's axis / block_size attributes; fails (naming the
/// node) on shapes that fit no granularity, and on a zero point whose shape differs from the scale's.
QuantLayout quant_layout(const CompileContext& ctx, const Shape& x, const Shape& scale, size_t zp_slot);

/// Scale element i as float: float32, or float8e8m0 (the MX formats' power-of-two scales).
inline float scale_at(const Tensor& t, int64_t i) {
  if (t.dtype() == DType::f8e8m0) return f8e8m0_to_float(t.data_as<uint8_t>()[i]);
  return t.data_as<float>()[i];
}

/// Zero point element i as float: every integer type (4- and 2-bit included) and float8 / float4 (exact).
inline float zero_at(const Tensor* t, int64_t i) {
  if (!t) return 0.f;
  switch (t->dtype()) {
    case DType::u8: return t->data_as<uint8_t>()[i];
    case DType::i8: return t->data_as<int8_t>()[i];
    case DType::u16: return t->data_as<uint16_t>()[i];
    case DType::i16: return t->data_as<int16_t>()[i];
    case DType::i32: return static_cast<float>(t->data_as<int32_t>()[i]);
    default: return narrow_to_float(t->dtype(), t->data_as<uint8_t>()[i]);
  }
}

/// QuantizeLinear's output types: the 8- and 16-bit integers and every narrow type but float8e8m0 (a
/// scale type).
inline bool is_quant_type(DType t) {
  return t == DType::u8 || t == DType::i8 || t == DType::u16 || t == DType::i16 ||
         (is_narrow(t) && t != DType::f8e8m0);
}

}  // namespace ortkit::ops::quant
