#include "quant/onnx_util.h"

#include <cstring>

#include "graph/local_functions.h"
#include "ortkit/error.h"

namespace ortkit::quant {

onnx::ModelProto parse_model(const std::string& bytes, const std::string& where) {
  onnx::ModelProto m;
  if (bytes.empty() || !m.ParseFromString(bytes))
    throw Error("not a valid ONNX model (protobuf parse failed)", where);
  if (!m.has_graph()) throw Error("model has no graph", where);
  // The rewrite and calibration see the MatMuls and Convs inside local functions (PyTorch's
  // export_modules_as_functions puts a whole layer's weights behind a call).
  graph::inline_local_functions(m, where);
  return m;
}

std::string serialize_model(const onnx::ModelProto& m) {
  std::string out;
  // A protobuf message cannot exceed 2 GiB; say so instead of writing a broken file.
  if (!m.SerializeToString(&out)) throw Error("cannot serialize the quantized model (over 2 GiB?)");
  return out;
}

int64_t default_opset(const onnx::ModelProto& m) {
  for (const auto& o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") return o.version();
  return 0;
}

std::vector<int64_t> tensor_dims(const onnx::TensorProto& t) {
  return {t.dims().begin(), t.dims().end()};
}

std::vector<float> tensor_floats(const onnx::TensorProto& t) {
  if (t.data_type() != onnx::TensorProto::FLOAT)
    throw Error("initializer is not float32 (data_type " + std::to_string(t.data_type()) + ")",
                "initializer '" + t.name() + "'");
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    throw Error("external data is not supported by ort-quantize yet", "initializer '" + t.name() + "'");
  int64_t n = 1;
  for (auto d : t.dims()) n *= d;
  std::vector<float> v(static_cast<size_t>(n));
  if (t.has_raw_data()) {
    if (t.raw_data().size() != v.size() * sizeof(float))
      throw Error("raw_data size does not match its dims", "initializer '" + t.name() + "'");
    std::memcpy(v.data(), t.raw_data().data(), t.raw_data().size());  // ONNX raw data is little-endian
  } else {
    if (t.float_data_size() != n)
      throw Error("float_data size does not match its dims", "initializer '" + t.name() + "'");
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = t.float_data(static_cast<int>(i));
  }
  return v;
}

static onnx::TensorProto make_tensor(const std::string& name, int type, const std::vector<int64_t>& dims) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(type);
  for (auto d : dims) t.add_dims(d);
  return t;
}

onnx::TensorProto make_float_tensor(const std::string& name, const std::vector<int64_t>& dims,
                                    const std::vector<float>& v) {
  auto t = make_tensor(name, onnx::TensorProto::FLOAT, dims);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
  return t;
}

onnx::TensorProto make_q_tensor(const std::string& name, bool is_signed, const std::vector<int64_t>& dims,
                                const std::vector<int32_t>& v) {
  auto t = make_tensor(name, is_signed ? onnx::TensorProto::INT8 : onnx::TensorProto::UINT8, dims);
  std::string raw(v.size(), '\0');
  for (size_t i = 0; i < v.size(); ++i)
    raw[i] = is_signed ? static_cast<char>(static_cast<int8_t>(v[i]))
                       : static_cast<char>(static_cast<uint8_t>(v[i]));
  t.set_raw_data(raw);
  return t;
}

onnx::TensorProto make_int32_tensor(const std::string& name, const std::vector<int64_t>& dims,
                                    const std::vector<int32_t>& v) {
  auto t = make_tensor(name, onnx::TensorProto::INT32, dims);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(int32_t)));
  return t;
}

onnx::NodeProto make_node(const std::string& op, const std::vector<std::string>& in,
                          const std::vector<std::string>& out, const std::string& name) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (const auto& s : in) n.add_input(s);
  for (const auto& s : out) n.add_output(s);
  return n;
}

void set_attr_int(onnx::NodeProto& n, const std::string& name, int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

int64_t attr_int(const onnx::NodeProto& n, const std::string& name, int64_t def) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.i();
  return def;
}

float attr_float(const onnx::NodeProto& n, const std::string& name, float def) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.f();
  return def;
}

std::map<std::string, const onnx::TensorProto*> initializer_map(const onnx::GraphProto& g) {
  std::map<std::string, const onnx::TensorProto*> m;
  for (const auto& t : g.initializer()) m[t.name()] = &t;
  return m;
}

}  // namespace ortkit::quant
