// Reading and writing ONNX protobufs: ModelProto files (with external data), TensorProto <-> Tensor.
//
// Every failure is one ortkit::Error naming the file (or tensor) and the reason: missing file, truncated or
// malformed protobuf, external data file missing or too short, unsupported element type.
#pragma once
#include <onnx/onnx_pb.h>

#include <string>

#include "ortkit/tensor.h"

namespace ortkit::onnxio {

/// Parse a model file. The protobuf size limit is raised to the 2 GiB maximum; bigger weights must live
/// in external data files, which are read by tensor_from_proto() relative to the model's directory.
onnx::ModelProto load_model(const std::string& path);
/// Parse serialized ModelProto bytes; `what` names the source in errors.
onnx::ModelProto parse_model(const std::string& bytes, const std::string& what = "model bytes");
/// Write a model atomically (temp file in the same directory, then rename).
void save_model(const onnx::ModelProto& model, const std::string& path);
/// Write any bytes atomically.
void write_file_atomic(const std::string& path, const std::string& bytes);

/// A TensorProto's value as a Tensor (raw_data, typed fields or external data relative to base_dir).
/// Strings are not supported (Error).
Tensor tensor_from_proto(const onnx::TensorProto& t, const std::string& base_dir = {});
/// A Tensor as a TensorProto with raw_data.
onnx::TensorProto tensor_to_proto(const Tensor& t, const std::string& name = {});
/// Read one serialized TensorProto file (test_data_set_N/input_0.pb); returns its name through `name`.
Tensor load_tensor_file(const std::string& path, std::string* name = nullptr);
/// A serialized value file of the given kind: a SequenceProto for DType::sequence, an OptionalProto for
/// DType::optional, a TensorProto otherwise (the bytes alone cannot tell them apart).
Tensor load_value_file(const std::string& path, DType kind, std::string* name = nullptr);
/// A TensorProto file; a SequenceProto / OptionalProto one for a sequence / optional (load_value_file).
void save_tensor_file(const Tensor& t, const std::string& name, const std::string& path);

/// Directory part of a path ("" -> ".").
std::string dir_of(const std::string& path);

}  // namespace ortkit::onnxio
