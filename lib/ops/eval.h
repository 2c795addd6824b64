// Run one operator standalone on owned tensors: for op unit tests and for constant folding.
//
//   Tensor y = ops::eval_single("Add", {a, b})[0];
//   auto ys = ops::eval_single("Gemm", {a, b, c}, attrs, {.opset = 13});
#pragma once
#include <string>
#include <vector>

#include "ops/op.h"

namespace ortkit::ops {

struct EvalOptions {
  std::string domain;  ///< "" = ai.onnx
  int opset = 17;
  Precision precision = Precision::fp32;
  int num_outputs = 1;
  /// Treat every input as a compile-time constant (constant B is prepacked, shape ops fold).
  bool inputs_constant = false;
  /// Or only these inputs (by index).
  std::vector<int> constant_inputs;
  kernels::Threading threading;
};

/// Compile and run the registered kernel once. Absent optional inputs: pass an empty Tensor().
/// Throws Error (unknown op, compile or run failure).
std::vector<Tensor> eval_single(const std::string& op_type, const std::vector<Tensor>& inputs,
                                const Attrs& attrs = {}, const EvalOptions& opts = {});

}  // namespace ortkit::ops
