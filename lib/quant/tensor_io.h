// Tensors from files: ONNX TensorProto (.pb) and NumPy (.npy), and TensorProto <-> Tensor.
#pragma once
#include <onnx/onnx_pb.h>

#include <string>

#include "ortkit/tensor.h"

namespace ortkit::quant {

Tensor tensor_from_proto(const onnx::TensorProto& t, const std::string& where);
Tensor read_pb_tensor(const std::string& path, std::string* name = nullptr);
Tensor read_npy(const std::string& path);

}  // namespace ortkit::quant
