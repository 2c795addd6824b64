// Small helpers for the int8 tests: typed tensors, deterministic random integers, naive references.
#pragma once
#include <cstdint>
#include <vector>

#include "ortkit/tensor.h"

namespace ortkit::testing {

template <class T>
Tensor make_t(DType dt, Shape s, const std::vector<T>& v) {
  Tensor t(dt, std::move(s));
  for (size_t i = 0; i < v.size(); ++i) t.data_as<T>()[i] = v[i];
  return t;
}
inline Tensor u8(Shape s, const std::vector<uint8_t>& v) {
  return make_t(DType::u8, std::move(s), v);
}
inline Tensor s8(Shape s, const std::vector<int8_t>& v) {
  return make_t(DType::i8, std::move(s), v);
}
inline Tensor i32(Shape s, const std::vector<int32_t>& v) {
  return make_t(DType::i32, std::move(s), v);
}
inline Tensor f32(Shape s, const std::vector<float>& v) {
  return make_t(DType::f32, std::move(s), v);
}

/// Deterministic integers in [lo, hi] as u8 or s8 tensor.
inline Tensor random_int8(DType dt, Shape s, int lo, int hi, uint32_t seed) {
  Tensor t(dt, std::move(s));
  uint32_t x = seed * 2654435761u + 7u;
  for (int64_t i = 0; i < t.numel(); ++i) {
    x = x * 1664525u + 1013904223u;
    const int v = lo + static_cast<int>((x >> 8) % static_cast<uint32_t>(hi - lo + 1));
    if (dt == DType::u8)
      t.data_as<uint8_t>()[i] = static_cast<uint8_t>(v);
    else
      t.data_as<int8_t>()[i] = static_cast<int8_t>(v);
  }
  return t;
}

inline int32_t ival(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::u8: return t.data_as<uint8_t>()[i];
    case DType::i8: return t.data_as<int8_t>()[i];
    case DType::i32: return t.data_as<int32_t>()[i];
    default: return 0;
  }
}

}  // namespace ortkit::testing
