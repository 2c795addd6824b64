// Helpers shared by the ops lane's families: dtype dispatch, shape-input reading, element copies.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "ops/op.h"
#include "ortkit/float16.h"
#include "ortkit/kernels/epilogue.h"

namespace ortkit::ops {

/// Calls f(T{}) with T the C++ type of a numeric dtype (bool as bool). Returns false for other dtypes.
template <class F>
bool visit_numeric(DType t, F&& f) {
  switch (t) {
    case DType::f32: f(float{}); return true;
    case DType::f64: f(double{}); return true;
    case DType::i8: f(int8_t{}); return true;
    case DType::u8: f(uint8_t{}); return true;
    case DType::i16: f(int16_t{}); return true;
    case DType::u16: f(uint16_t{}); return true;
    case DType::i32: f(int32_t{}); return true;
    case DType::u32: f(uint32_t{}); return true;
    case DType::i64: f(int64_t{}); return true;
    case DType::u64: f(uint64_t{}); return true;
    case DType::boolean: f(bool{}); return true;
    default: return false;
  }
}

/// Element i of a numeric tensor (any visit_numeric type, float16 or bfloat16) as a double.
inline double number_at(const Tensor& t, int64_t i) {
  if (t.dtype() == DType::f16) return f16_to_f32(t.data_as<uint16_t>()[i]);
  if (t.dtype() == DType::bf16) return kernels::bf16_to_f32(t.data_as<uint16_t>()[i]);
  double v = 0;
  visit_numeric(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    v = static_cast<double>(t.data_as<T>()[i]);
  });
  return v;
}

/// Calls f(double{}) for f64, else f(float{}): for float-only kernels whose compile() admitted f32 / f64.
template <class F>
void visit_float(DType t, F&& f) {
  if (t == DType::f64)
    f(double{});
  else
    f(float{});
}

/// Calls f(T{}) for the integer dtypes (bool and floats excluded). Returns false for other dtypes.
template <class F>
bool visit_integer(DType t, F&& f) {
  bool hit = false;
  visit_numeric(t, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      f(tag);
      hit = true;
    }
  });
  return hit;
}

/// Integer arithmetic in an unsigned type: wraps modulo 2^bits like ONNX Runtime, where the plain
/// expression is undefined (signed overflow; uint16 * uint16 promoted to int can overflow int).
template <class T>
using WrapUInt = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;
template <class T>
inline T wrap_add(T a, T b) {
  return static_cast<T>(static_cast<WrapUInt<T>>(a) + static_cast<WrapUInt<T>>(b));
}
template <class T>
inline T wrap_sub(T a, T b) {
  return static_cast<T>(static_cast<WrapUInt<T>>(a) - static_cast<WrapUInt<T>>(b));
}
template <class T>
inline T wrap_mul(T a, T b) {
  return static_cast<T>(static_cast<WrapUInt<T>>(a) * static_cast<WrapUInt<T>>(b));
}

/// A float to integer type I without undefined behaviour: NaN gives 0, values past I's range its limits
/// (what arm64's conversions do; a plain static_cast of inf or 1e30 is undefined, ONNX leaves the value
/// unspecified). Integer I only.
template <class I>
inline I saturate_to_int(double v) {
  static_assert(std::is_integral_v<I> && !std::is_same_v<I, bool>);
  if (v != v) return I(0);
  constexpr double lo = static_cast<double>(std::numeric_limits<I>::lowest());
  // 2^digits, one past I's max: exact in a double, where int64's max is not.
  constexpr double hi_excl = 2.0 * static_cast<double>(std::numeric_limits<I>::max() / 2 + 1);
  if (v <= lo) return std::numeric_limits<I>::lowest();
  if (v >= hi_excl) return std::numeric_limits<I>::max();
  return static_cast<I>(v);
}

/// A tensor seen as rows normalized over dims [axis, rank): rows = product of the dims before axis,
/// len = product of the dims from axis on (LayerNormalization, RMS norms).
inline void rows_from_axis(const Shape& s, int64_t axis, int64_t& rows, int64_t& len) {
  rows = 1, len = 1;
  for (int64_t d = 0; d < axis; ++d) rows *= s[static_cast<size_t>(d)];
  for (int64_t d = axis; d < static_cast<int64_t>(s.size()); ++d) len *= s[static_cast<size_t>(d)];
}

/// Like visit_numeric for types where only the byte size matters (data movement): calls f(T{}) with an
/// unsigned integer of the element's size (f16/bf16 included).
template <class F>
bool visit_bytes(DType t, F&& f) {
  switch (dtype_size(t)) {
    case 1: f(uint8_t{}); return true;
    case 2: f(uint16_t{}); return true;
    case 4: f(uint32_t{}); return true;
    case 8: f(uint64_t{}); return true;
    default: return false;
  }
}

/// Values of an integer shape/axes input known at compile time, or null when it is not constant.
inline bool const_ints(const CompileContext& ctx, size_t i, std::vector<int64_t>& out) {
  if (!ctx.has_input(i)) return false;
  const Tensor* c = ctx.input(i).constant;
  if (!c) return false;
  out = to_int64_vector(*c, ctx.node->describe());
  return true;
}

/// True when the optional input i is present and constant (or absent: nothing to wait for).
inline bool absent_or_const(const CompileContext& ctx, size_t i) {
  return !ctx.has_input(i) || ctx.input(i).constant != nullptr;
}

/// Reads an int32/int64 element as int64.
inline int64_t int_at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::i32 ? t.data_as<int32_t>()[i] : t.data_as<int64_t>()[i];
}

/// `from`'s elements into `to` (same dtype and element count): bytes, or for strings the objects.
inline void copy_values(const Tensor& from, Tensor& to) {
  if (from.dtype() == DType::string)
    std::copy_n(from.data_as<std::string>(), from.numel(), to.data_as<std::string>());
  else if (from.bytes())
    std::memcpy(to.data(), from.data(), from.bytes());
}

/// A data-dependent output `i` (if the node has it) set to `t`: a tensor is copied into storage from the
/// plan's dynamic pool (t may view memory the next run reuses); a sequence or optional, whose items are
/// owned, is passed on as it is; strings are copied object by object.
inline void copy_to_output(RunContext& rc, size_t i, const Tensor& t) {
  if (i >= rc.outputs.size()) return;
  if (t.is_list()) {
    rc.output(i) = t;
    return;
  }
  copy_values(t, rc.allocate_output(i, t.dtype(), t.shape()));
}

}  // namespace ortkit::ops
