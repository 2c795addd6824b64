#include "zoo/builder.h"

#include <cmath>
#include <cstring>

#include "ortkit/error.h"

namespace ortkit::zoo {

uint64_t Rng::next_u64() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

float Rng::uniform() {
  return static_cast<float>(next_u64() >> 40) * (1.0f / 16777216.0f);
}

float Rng::normal() {
  // Four 16-bit uniforms from one draw; their sum has mean 2 and variance 4/12 = 1/3.
  const uint64_t r = next_u64();
  const float s = static_cast<float>((r & 0xFFFF) + ((r >> 16) & 0xFFFF) + ((r >> 32) & 0xFFFF) + (r >> 48));
  constexpr float kScale = 1.7320508f / 65536.0f;  // sqrt(3) / 2^16
  return s * kScale - 2.0f * 1.7320508f;
}

uint64_t hash_name(const std::string& s, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ull ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

GraphBuilder::GraphBuilder(const std::string& graph_name, uint64_t seed, int opset) : seed_(seed) {
  model_.set_ir_version(7);  // what torch 1.13 writes for opset 14
  model_.set_producer_name("ortkit-zoo");
  model_.set_producer_version("1");
  auto* op = model_.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  model_.mutable_graph()->set_name(graph_name);
}

static void set_shape(onnx::ValueInfoProto* vi, int32_t elem_type, const std::vector<DimSpec>& dims) {
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* shape = tt->mutable_shape();
  for (const auto& d : dims) {
    auto* dim = shape->add_dim();
    if (std::holds_alternative<int64_t>(d))
      dim->set_dim_value(std::get<int64_t>(d));
    else
      dim->set_dim_param(std::get<std::string>(d));
  }
}

std::string GraphBuilder::input(const std::string& name, int32_t elem_type,
                                const std::vector<DimSpec>& dims) {
  auto* vi = graph().add_input();
  vi->set_name(name);
  set_shape(vi, elem_type, dims);
  return name;
}

void GraphBuilder::output(const std::string& value, const std::string& name, int32_t elem_type,
                          const std::vector<DimSpec>& dims) {
  // torch renames the producing node's output to the requested output name; do the same.
  bool renamed = false;
  for (auto& n : *graph().mutable_node()) {
    for (auto& o : *n.mutable_output()) {
      if (o == value) {
        o = name;
        renamed = true;
      }
    }
    for (auto& i : *n.mutable_input())
      if (i == value) i = name;
  }
  if (!renamed) throw Error("no node produces '" + value + "'", "zoo builder");
  auto* vi = graph().add_output();
  vi->set_name(name);
  set_shape(vi, elem_type, dims);
}

void GraphBuilder::metadata(const std::string& key, const std::string& value) {
  auto* p = model_.add_metadata_props();
  p->set_key(key);
  p->set_value(value);
}

std::string GraphBuilder::scoped_node_name(const std::string& op) {
  std::string base;
  for (const auto& s : scopes_) base += "/" + s;
  base += "/" + op;
  int& n = name_counts_[base];
  std::string name = n == 0 ? base : base + "_" + std::to_string(n);
  ++n;
  return name;
}

std::vector<std::string> GraphBuilder::node_n(const std::string& op, const std::vector<std::string>& inputs,
                                              int n_outputs, const std::vector<Attr>& attrs) {
  auto* n = graph().add_node();
  const std::string name = scoped_node_name(op);
  n->set_name(name);
  n->set_op_type(op);
  for (const auto& i : inputs) n->add_input(i);
  std::vector<std::string> outs;
  for (int k = 0; k < n_outputs; ++k) {
    outs.push_back(name + "_output_" + std::to_string(k));
    n->add_output(outs.back());
  }
  for (const auto& a : attrs) {
    auto* ap = n->add_attribute();
    ap->set_name(a.name);
    if (auto* i = std::get_if<int64_t>(&a.value)) {
      ap->set_type(onnx::AttributeProto::INT);
      ap->set_i(*i);
    } else if (auto* f = std::get_if<float>(&a.value)) {
      ap->set_type(onnx::AttributeProto::FLOAT);
      ap->set_f(*f);
    } else if (auto* is = std::get_if<std::vector<int64_t>>(&a.value)) {
      ap->set_type(onnx::AttributeProto::INTS);
      for (auto v : *is) ap->add_ints(v);
    } else if (auto* fs = std::get_if<std::vector<float>>(&a.value)) {
      ap->set_type(onnx::AttributeProto::FLOATS);
      for (auto v : *fs) ap->add_floats(v);
    } else if (auto* t = std::get_if<onnx::TensorProto>(&a.value)) {
      ap->set_type(onnx::AttributeProto::TENSOR);
      *ap->mutable_t() = *t;
    } else {
      ap->set_type(onnx::AttributeProto::STRING);
      ap->set_s(std::get<std::string>(a.value));
    }
  }
  return outs;
}

static void append_raw(onnx::TensorProto* t, const void* data, size_t bytes) {
  // Zoo builds run on little-endian hosts only (x86-64, aarch64), which is ONNX's raw_data order.
  t->mutable_raw_data()->assign(static_cast<const char*>(data), bytes);
}

std::string GraphBuilder::const_f(float v) {
  auto* n = graph().add_node();
  const std::string name = scoped_node_name("Constant");
  n->set_name(name);
  n->set_op_type("Constant");
  n->add_output(name + "_output_0");
  auto* a = n->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  auto* t = a->mutable_t();
  t->set_data_type(onnx::TensorProto::FLOAT);
  append_raw(t, &v, sizeof v);
  return n->output(0);
}

std::string GraphBuilder::const_i64(int64_t v) {
  auto* n = graph().add_node();
  const std::string name = scoped_node_name("Constant");
  n->set_name(name);
  n->set_op_type("Constant");
  n->add_output(name + "_output_0");
  auto* a = n->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  auto* t = a->mutable_t();
  t->set_data_type(onnx::TensorProto::INT64);
  append_raw(t, &v, sizeof v);
  return n->output(0);
}

std::string GraphBuilder::const_i64s(const std::vector<int64_t>& v) {
  auto* n = graph().add_node();
  const std::string name = scoped_node_name("Constant");
  n->set_name(name);
  n->set_op_type("Constant");
  n->add_output(name + "_output_0");
  auto* a = n->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  auto* t = a->mutable_t();
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(v.size()));
  append_raw(t, v.data(), v.size() * sizeof(int64_t));
  return n->output(0);
}

onnx::TensorProto* GraphBuilder::add_initializer(const std::string& name, int32_t type,
                                                 const std::vector<int64_t>& dims) {
  auto* t = graph().add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (auto d : dims) t->add_dims(d);
  return t;
}

static size_t numel(const std::vector<int64_t>& dims) {
  size_t n = 1;
  for (auto d : dims) n *= static_cast<size_t>(d);
  return n;
}

void GraphBuilder::normal_values(const std::string& key, std::vector<float>& out, float stddev,
                                 float mean) const {
  Rng rng(hash_name(key, seed_));
  for (auto& v : out) v = mean + stddev * rng.normal();
}

std::string GraphBuilder::init_normal(const std::string& name, const std::vector<int64_t>& dims, float stddev,
                                      float mean) {
  auto* t = add_initializer(name, onnx::TensorProto::FLOAT, dims);
  const size_t n = numel(dims);
  // Fill raw_data in place: no intermediate vector, which matters for 1.3 GB models.
  std::string* raw = t->mutable_raw_data();
  raw->resize(n * sizeof(float));
  Rng rng(hash_name(name, seed_));
  char* p = raw->data();
  for (size_t i = 0; i < n; ++i) {
    const float v = mean + stddev * rng.normal();
    std::memcpy(p + i * sizeof(float), &v, sizeof v);
  }
  return name;
}

std::string GraphBuilder::init_fill(const std::string& name, const std::vector<int64_t>& dims, float value) {
  return init_f32(name, dims, std::vector<float>(numel(dims), value));
}

std::string GraphBuilder::init_f32(const std::string& name, const std::vector<int64_t>& dims,
                                   const std::vector<float>& v) {
  if (v.size() != numel(dims)) throw Error("value count does not match dims", "initializer '" + name + "'");
  append_raw(add_initializer(name, onnx::TensorProto::FLOAT, dims), v.data(), v.size() * sizeof(float));
  return name;
}

std::string GraphBuilder::init_i64(const std::string& name, const std::vector<int64_t>& dims,
                                   const std::vector<int64_t>& v) {
  if (v.size() != numel(dims)) throw Error("value count does not match dims", "initializer '" + name + "'");
  append_raw(add_initializer(name, onnx::TensorProto::INT64, dims), v.data(), v.size() * sizeof(int64_t));
  return name;
}

std::string GraphBuilder::init_bool(const std::string& name, const std::vector<int64_t>& dims,
                                    const std::vector<uint8_t>& v) {
  if (v.size() != numel(dims)) throw Error("value count does not match dims", "initializer '" + name + "'");
  append_raw(add_initializer(name, onnx::TensorProto::BOOL, dims), v.data(), v.size());
  return name;
}

std::string GraphBuilder::anon_name(const std::string& op) {
  return "onnx::" + op + "_" + std::to_string(++anon_counter_);
}

}  // namespace ortkit::zoo
