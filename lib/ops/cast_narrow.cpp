#include "ops/cast_narrow.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/broadcast.h"
#include "ops/op_util.h"
#include "ortkit/float16.h"
#include "ortkit/kernels/epilogue.h"

namespace ortkit::ops {

NarrowCast narrow_cast_options(const CompileContext& ctx) {
  NarrowCast o;
  o.saturate = ctx.attr().get_int("saturate", 1) != 0;
  const std::string mode = ctx.attr().get_string("round_mode", "up");
  if (mode == "up")
    o.round = E8M0Round::up;
  else if (mode == "down")
    o.round = E8M0Round::down;
  else if (mode == "nearest")
    o.round = E8M0Round::nearest;
  else
    ctx.fail("unknown round_mode '" + mode + "' (up, down or nearest)");
  return o;
}

namespace {

/// A narrow element (decoded value v) as a regular dtype To: floats exactly, integers truncated and
/// wrapped as Cast narrows integers. Out of range is undefined in ONNX; this is ml_dtypes' (the reference)
/// choice: E5M2's +-Inf saturate to the integer's limits, NaN gives 0.
template <class To>
To from_narrow_value(float v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != 0.f;  // NaN is nonzero: true, as for any float
  } else if constexpr (std::is_floating_point_v<To>) {
    return static_cast<To>(v);
  } else {
    if (std::isinf(v)) return v > 0 ? std::numeric_limits<To>::max() : std::numeric_limits<To>::lowest();
    return static_cast<To>(float_to_int_for_cast(v));
  }
}

/// A narrow float's value as a 4- / 2-bit integer: truncated and wrapped; +-Inf as the int64 limits
/// wrapped (all ones / 0), as ml_dtypes does.
uint8_t narrow_int_from_value(DType to, float v, const NarrowCast& o) {
  if (std::isinf(v))
    return narrow_from_int(
        to, v > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min(), o);
  return narrow_from_float(to, v, o);
}

void cast_from_narrow(const Tensor& x, Tensor& y, const NarrowCast& o, const kernels::Threading& th) {
  const DType from = x.dtype(), to = y.dtype();
  const float* table = narrow_decode_table(from);
  if (is_narrow(to)) {
    const bool ints = is_narrow_int(from), to_ints = is_narrow_int(to);
    unary_map<uint8_t, uint8_t>(x, y, th, [&](uint8_t b) {
      const float v = table[b];
      if (ints) return narrow_from_int(to, static_cast<int64_t>(v), o);
      return to_ints ? narrow_int_from_value(to, v, o) : narrow_from_float(to, v, o);
    });
    return;
  }
  if (to == DType::f16 || to == DType::bf16) {
    const bool bf = to == DType::bf16;
    unary_map<uint8_t, uint16_t>(
        x, y, th, [&](uint8_t b) { return bf ? kernels::f32_to_bf16(table[b]) : f32_to_f16(table[b]); });
    return;
  }
  visit_numeric(to, [&](auto tag) {
    using To = decltype(tag);
    unary_map<uint8_t, To>(x, y, th, [&](uint8_t b) { return from_narrow_value<To>(table[b]); });
  });
}

void cast_to_narrow(const Tensor& x, Tensor& y, const NarrowCast& o, const kernels::Threading& th) {
  const DType from = x.dtype(), to = y.dtype();
  if (from == DType::f16 || from == DType::bf16) {
    const bool bf = from == DType::bf16;
    unary_map<uint16_t, uint8_t>(x, y, th, [&](uint16_t h) {
      return narrow_from_float(to, bf ? kernels::bf16_to_f32(h) : f16_to_f32(h), o);
    });
    return;
  }
  visit_numeric(from, [&](auto tag) {
    using Ti = decltype(tag);
    unary_map<Ti, uint8_t>(x, y, th, [&](Ti v) {
      if constexpr (std::is_floating_point_v<Ti>)
        return narrow_from_float(to, v, o);
      else if constexpr (std::is_same_v<Ti, uint64_t>)  // above int64: the low bits, or the float value
        return is_narrow_int(to) ? narrow_from_int(to, static_cast<int64_t>(v), o)
                                 : narrow_from_float(to, static_cast<double>(static_cast<float>(v)), o);
      else
        return narrow_from_int(to, static_cast<int64_t>(v), o);
    });
  });
}

}  // namespace

void cast_narrow(const Tensor& x, Tensor& y, const NarrowCast& o, const kernels::Threading& th) {
  if (is_narrow(x.dtype()))
    cast_from_narrow(x, y, o, th);
  else
    cast_to_narrow(x, y, o, th);
}

}  // namespace ortkit::ops
