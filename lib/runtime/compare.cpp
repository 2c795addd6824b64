#include "runtime/compare.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "onnx/model_io.h"
#include "ortkit/error.h"
#include "ortkit/float16.h"
#include "ortkit/kernels/epilogue.h"
#include "ortkit/narrow_types.h"

namespace ortkit {
namespace {

double value_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::f32: return t.data_as<float>()[i];
    case DType::f64: return t.data_as<double>()[i];
    case DType::bf16: return kernels::bf16_to_f32(t.data_as<uint16_t>()[i]);
    case DType::i8: return t.data_as<int8_t>()[i];
    case DType::u8:
    case DType::boolean: return t.data_as<uint8_t>()[i];
    case DType::i16: return t.data_as<int16_t>()[i];
    case DType::u16: return t.data_as<uint16_t>()[i];
    case DType::f16: return f16_to_f32(t.data_as<uint16_t>()[i]);
    case DType::i32: return t.data_as<int32_t>()[i];
    case DType::u32: return t.data_as<uint32_t>()[i];
    case DType::i64: return static_cast<double>(t.data_as<int64_t>()[i]);
    case DType::u64: return static_cast<double>(t.data_as<uint64_t>()[i]);
    default:
      if (is_narrow(t.dtype())) return narrow_to_float(t.dtype(), t.data_as<uint8_t>()[i]);
      return 0;
  }
}

bool is_float(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::bf16 || t == DType::f16;
}

/// A map with its entries in key order (maps are unordered: ONNX Runtime's come sorted, ZipMap's in label
/// order).
Tensor sorted_map(const Tensor& m) {
  const Tensor &keys = m.items().at(0), &values = m.items().at(1);
  std::vector<int64_t> order(static_cast<size_t>(keys.numel()));
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  if (keys.dtype() == DType::string)
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return keys.data_as<std::string>()[a] < keys.data_as<std::string>()[b];
    });
  else
    std::sort(order.begin(), order.end(),
              [&](int64_t a, int64_t b) { return keys.data_as<int64_t>()[a] < keys.data_as<int64_t>()[b]; });
  Tensor k(keys.dtype(), keys.shape()), v(values.dtype(), values.shape());
  const size_t es = dtype_size(values.dtype());
  for (size_t i = 0; i < order.size(); ++i) {
    const int64_t o = order[i];
    if (keys.dtype() == DType::string)
      k.data_as<std::string>()[i] = keys.data_as<std::string>()[o];
    else
      k.data_as<int64_t>()[i] = keys.data_as<int64_t>()[o];
    if (values.dtype() == DType::string)
      v.data_as<std::string>()[i] = values.data_as<std::string>()[o];
    else
      std::memcpy(static_cast<char*>(v.data()) + i * es, static_cast<const char*>(values.data()) + o * es,
                  es);
  }
  return Tensor::map_of(std::move(k), std::move(v));
}

}  // namespace

TensorDiff compare_tensors(const Tensor& actual, const Tensor& expected, double rtol, double atol) {
  TensorDiff d;
  if (actual.dtype() != expected.dtype()) {
    d.ok = false;
    d.reason =
        std::string("dtype ") + dtype_name(actual.dtype()) + ", expected " + dtype_name(expected.dtype());
    return d;
  }
  if (actual.dtype() == DType::map && actual.items().size() == 2 && expected.items().size() == 2) {
    const Tensor sa = sorted_map(actual), se = sorted_map(expected);
    TensorDiff dk = compare_tensors(sa.items()[0], se.items()[0], 0, 0);
    if (!dk.ok) {
      dk.reason = "keys: " + dk.reason;
      return dk;
    }
    TensorDiff dv = compare_tensors(sa.items()[1], se.items()[1], rtol, atol);
    if (!dv.ok) dv.reason = "values (in key order): " + dv.reason;
    return dv;
  }
  if (actual.is_list()) {
    const auto &a = actual.items(), &e = expected.items();
    if (a.size() != e.size()) {
      d.ok = false;
      d.reason =
          actual.dtype() == DType::optional
              ? std::string(a.empty() ? "no value" : "a value") + ", expected " + (e.empty() ? "none" : "one")
              : std::to_string(a.size()) + " items, expected " + std::to_string(e.size());
      return d;
    }
    for (size_t i = 0; i < a.size(); ++i) {
      TensorDiff di = compare_tensors(a[i], e[i], rtol, atol);
      d.max_abs = std::max(d.max_abs, di.max_abs);
      d.max_rel = std::max(d.max_rel, di.max_rel);
      d.mismatches += di.mismatches;
      if (!di.ok && d.ok) {
        d.ok = false;
        d.reason = "item " + std::to_string(i) + ": " + di.reason;
      }
    }
    return d;
  }
  if (actual.shape() != expected.shape()) {
    d.ok = false;
    d.reason = "shape " + shape_str(actual.shape()) + ", expected " + shape_str(expected.shape());
    return d;
  }
  if (actual.dtype() == DType::string) {  // exact, byte for byte
    const std::string *a = actual.data_as<std::string>(), *e = expected.data_as<std::string>();
    int64_t first_bad = -1;
    for (int64_t i = 0; i < actual.numel(); ++i)
      if (a[i] != e[i]) {
        if (first_bad < 0) first_bad = i;
        ++d.mismatches;
      }
    if (d.mismatches) {
      d.ok = false;
      d.reason = std::to_string(d.mismatches) + " of " + std::to_string(actual.numel()) +
                 " strings differ; first at index " + std::to_string(first_bad) + ": \"" + a[first_bad] +
                 "\" vs expected \"" + e[first_bad] + "\"";
    }
    return d;
  }
  const bool fl = is_float(actual.dtype());
  // float8 / float4 compare bit for bit (value and sign, so -0 is not +0), any NaN equal to any NaN;
  // the 4- and 2-bit integers compare as integers (below).
  const bool exact_bits = is_narrow(actual.dtype()) && !is_narrow_int(actual.dtype());
  int64_t first_bad = -1;
  for (int64_t i = 0; i < actual.numel(); ++i) {
    const double a = value_at(actual, i), e = value_at(expected, i);
    if (exact_bits) {
      const bool same = (std::isnan(a) && std::isnan(e)) || (a == e && std::signbit(a) == std::signbit(e));
      if (!same) {
        if (first_bad < 0) first_bad = i;
        ++d.mismatches;
      }
      continue;
    }
    if (fl && std::isnan(e) && std::isnan(a)) continue;
    if (fl && std::isinf(e) && a == e) continue;
    const double diff = std::fabs(a - e);
    if (std::isnan(diff)) {
      d.max_abs = NAN;
    } else {
      d.max_abs = std::max(d.max_abs, diff);
      if (e != 0) d.max_rel = std::max(d.max_rel, diff / std::fabs(e));
    }
    const bool bad = fl ? !(diff <= atol + rtol * std::fabs(e)) : a != e;
    if (bad) {
      if (first_bad < 0) first_bad = i;
      ++d.mismatches;
    }
  }
  if (d.mismatches) {
    d.ok = false;
    d.reason = std::to_string(d.mismatches) + " of " + std::to_string(actual.numel()) +
               " values differ; first at index " + std::to_string(first_bad) + ": " +
               std::to_string(value_at(actual, first_bad)) + " vs expected " +
               std::to_string(value_at(expected, first_bad));
  }
  return d;
}

TestDataSet load_test_data_set(const std::string& dir, const std::vector<DType>& input_kinds,
                               const std::vector<DType>& output_kinds) {
  auto kind = [](const std::vector<DType>& kinds, size_t k) {
    return k < kinds.size() ? kinds[k] : DType::f32;
  };
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw Error("not a directory", dir);
  TestDataSet ds;
  for (int k = 0;; ++k) {
    const fs::path p = fs::path(dir) / ("input_" + std::to_string(k) + ".pb");
    if (!fs::exists(p)) break;
    std::string name;
    ds.inputs.push_back(
        onnxio::load_value_file(p.string(), kind(input_kinds, static_cast<size_t>(k)), &name));
    ds.input_names.push_back(name);
  }
  for (int k = 0;; ++k) {
    const fs::path p = fs::path(dir) / ("output_" + std::to_string(k) + ".pb");
    if (!fs::exists(p)) break;
    std::string name;
    ds.outputs.push_back(
        onnxio::load_value_file(p.string(), kind(output_kinds, static_cast<size_t>(k)), &name));
    ds.output_names.push_back(name);
  }
  if (ds.inputs.empty() && ds.outputs.empty()) throw Error("no input_N.pb or output_N.pb files", dir);
  return ds;
}

Tensor load_tensor_pb(const std::string& path, std::string* name) {
  return onnxio::load_tensor_file(path, name);
}
void save_tensor_pb(const Tensor& t, const std::string& name, const std::string& path) {
  onnxio::save_tensor_file(t, name, path);
}

}  // namespace ortkit
