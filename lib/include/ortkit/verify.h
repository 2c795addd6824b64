// Checking outputs against expected values: ONNX test_data_set folders (input_N.pb / output_N.pb) and a
// tolerance comparison. Used by `ort-bench verify`, the backend conformance driver and tests.
#pragma once
#include <string>
#include <vector>

#include "ortkit/tensor.h"

namespace ortkit {

struct TensorDiff {
  bool ok = true;
  double max_abs = 0;      ///< max |actual - expected|
  double max_rel = 0;      ///< max |actual - expected| / |expected| (over expected != 0)
  int64_t mismatches = 0;  ///< elements outside atol + rtol * |expected|
  std::string reason;      ///< why not ok ("dtype ...", "shape ...", "3 of 12 values differ; first at ...")
};

/// Floats: |a - e| <= atol + rtol * |e| (NaN matches NaN, inf matches the same inf); integers and bools
/// exactly. dtype and shape must match. Sequences match item by item; optionals when both hold nothing or
/// their values match.
TensorDiff compare_tensors(const Tensor& actual, const Tensor& expected, double rtol, double atol);

/// One ONNX test_data_set_N folder: input_K.pb / output_K.pb in K order (names as stored, may be empty).
struct TestDataSet {
  std::vector<std::string> input_names, output_names;
  std::vector<Tensor> inputs, outputs;
};
/// `input_kinds` / `output_kinds` give the model's value kind per position where it is not a tensor
/// (DType::sequence or DType::optional: those files hold a SequenceProto / OptionalProto).
TestDataSet load_test_data_set(const std::string& dir, const std::vector<DType>& input_kinds = {},
                               const std::vector<DType>& output_kinds = {});

/// A serialized TensorProto file (.pb); `name` receives the stored name.
Tensor load_tensor_pb(const std::string& path, std::string* name = nullptr);
/// Write a tensor as a TensorProto file (a sequence or optional as a SequenceProto / OptionalProto),
/// atomically.
void save_tensor_pb(const Tensor& t, const std::string& name, const std::string& path);

}  // namespace ortkit
