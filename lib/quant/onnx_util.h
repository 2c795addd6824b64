// Small helpers over onnx::ModelProto for the quantizer: parse/serialize, read float initializers,
// make new initializers and nodes, and look things up by name.
#pragma once
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ortkit::quant {

/// The ModelProto in `bytes`, local functions inlined (graph/local_functions.h).
onnx::ModelProto parse_model(const std::string& bytes, const std::string& where = "model");
std::string serialize_model(const onnx::ModelProto& m);

/// The default-domain opset the model imports (0 when none).
int64_t default_opset(const onnx::ModelProto& m);

/// Float data of an initializer (raw_data or float_data). Throws Error when it is not float32 or uses
/// external data.
std::vector<float> tensor_floats(const onnx::TensorProto& t);
std::vector<int64_t> tensor_dims(const onnx::TensorProto& t);

onnx::TensorProto make_float_tensor(const std::string& name, const std::vector<int64_t>& dims,
                                    const std::vector<float>& v);
/// int8 (signed) or uint8 data from int32 values already in range.
onnx::TensorProto make_q_tensor(const std::string& name, bool is_signed, const std::vector<int64_t>& dims,
                                const std::vector<int32_t>& v);
onnx::TensorProto make_int32_tensor(const std::string& name, const std::vector<int64_t>& dims,
                                    const std::vector<int32_t>& v);

onnx::NodeProto make_node(const std::string& op, const std::vector<std::string>& in,
                          const std::vector<std::string>& out, const std::string& name);
void set_attr_int(onnx::NodeProto& n, const std::string& name, int64_t v);
/// Attribute value or `def` when absent.
int64_t attr_int(const onnx::NodeProto& n, const std::string& name, int64_t def);
float attr_float(const onnx::NodeProto& n, const std::string& name, float def);

/// Initializers by name (pointers into the graph; valid until the graph changes).
std::map<std::string, const onnx::TensorProto*> initializer_map(const onnx::GraphProto& g);

}  // namespace ortkit::quant
