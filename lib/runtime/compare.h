// Comparing tensors against expected values (ort-bench verify, the ONNX backend driver, tests).
#pragma once
#include <string>
#include <vector>

#include "ortkit/tensor.h"

namespace ortkit::runtime {

struct TensorDiff {
  bool ok = true;
  double max_abs = 0;      ///< max |actual - expected|
  double max_rel = 0;      ///< max |actual - expected| / |expected| (over expected != 0)
  int64_t mismatches = 0;  ///< elements outside atol + rtol * |expected|
  std::string reason;      ///< why not ok ("dtype float32 vs int64", "shape ...", "3 of 12 values differ...")
};

/// Floats: |a - e| <= atol + rtol * |e| (NaN matches NaN, inf matches the same inf); integers and bools
/// exactly. dtype and shape must match.
TensorDiff compare_tensors(const Tensor& actual, const Tensor& expected, double rtol, double atol);

/// One ONNX test_data_set_N folder: input_K.pb / output_K.pb in K order (names as stored, may be empty).
struct TestDataSet {
  std::vector<std::string> input_names, output_names;
  std::vector<Tensor> inputs, outputs;
};
TestDataSet load_test_data_set(const std::string& dir);

}  // namespace ortkit::runtime
