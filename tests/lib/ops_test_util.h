// Helpers for the ops lane's unit tests: tensor builders, a std::thread parallel-for, comparisons.
#pragma once
#include <catch2/catch.hpp>
#include <cmath>
#include <thread>
#include <vector>

#include "ops/eval.h"
#include "ops/registry.h"
#include "ortkit/tensor.h"

namespace ortkit::ops::testing {

template <class T>
inline Tensor make(DType dt, Shape s, std::vector<T> v) {
  Tensor t(dt, std::move(s));
  REQUIRE(static_cast<size_t>(t.numel()) == v.size());
  std::copy(v.begin(), v.end(), t.data_as<T>());
  return t;
}
inline Tensor f32(Shape s, std::vector<float> v) {
  return make<float>(DType::f32, std::move(s), std::move(v));
}
inline Tensor i64(Shape s, std::vector<int64_t> v) {
  return make<int64_t>(DType::i64, std::move(s), std::move(v));
}
inline Tensor i32(Shape s, std::vector<int32_t> v) {
  return make<int32_t>(DType::i32, std::move(s), std::move(v));
}
inline Tensor bools(Shape s, std::vector<bool> v) {
  Tensor t(DType::boolean, std::move(s));
  for (size_t i = 0; i < v.size(); ++i) t.data_as<bool>()[i] = v[i];
  return t;
}
/// Deterministic pseudo-random floats in [-1, 1).
inline Tensor rnd(Shape s, uint32_t seed = 1) {
  Tensor t(DType::f32, std::move(s));
  uint32_t x = seed * 2654435761u + 12345u;
  for (int64_t i = 0; i < t.numel(); ++i) {
    x = x * 1664525u + 1013904223u;
    t.data_as<float>()[i] = static_cast<float>(x >> 8) / 8388608.f - 1.f;
  }
  return t;
}
template <class T>
inline std::vector<T> vals(const Tensor& t) {
  return std::vector<T>(t.data_as<T>(), t.data_as<T>() + t.numel());
}
inline float max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  float m = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, std::fabs(a.data_as<float>()[i] - b.data_as<float>()[i]));
  return m;
}

/// com.microsoft contrib ops (opset 1); `constant`: every input is an initializer (prepacked weights).
inline EvalOptions ms(int outputs = 1, bool constant = false) {
  EvalOptions o;
  o.domain = kMsDomain;
  o.opset = 1;
  o.num_outputs = outputs;
  o.inputs_constant = constant;
  return o;
}

/// Options for one opset (designated initializers would warn about the other members).
inline EvalOptions at(int opset) {
  EvalOptions o;
  o.opset = opset;
  return o;
}

/// A Threading that runs tasks on fresh std::threads (test-only; the session has a real pool).
inline kernels::Threading test_threads(int n = 4) {
  kernels::Threading th;
  th.threads = n;
  th.pool = reinterpret_cast<void*>(static_cast<intptr_t>(n));
  th.parallel_for = [](void* pool, int64_t count, void (*task)(void*, int64_t), void* ctx) {
    const int64_t nt = std::min<int64_t>(count, reinterpret_cast<intptr_t>(pool));
    std::vector<std::thread> ts;
    for (int64_t t = 0; t < nt; ++t)
      ts.emplace_back([=] {
        for (int64_t i = t; i < count; i += nt) task(ctx, i);
      });
    for (auto& x : ts) x.join();
  };
  return th;
}

}  // namespace ortkit::ops::testing
