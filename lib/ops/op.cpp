// Attribute accessors, context helpers and shape helpers of the operator interface (op.h).
#include "ops/op.h"

#include <algorithm>

namespace ortkit::ops {

const char* attribute_kind_name(Attribute::Kind k) {
  switch (k) {
    case Attribute::Kind::undefined: return "undefined";
    case Attribute::Kind::f: return "float";
    case Attribute::Kind::i: return "int";
    case Attribute::Kind::s: return "string";
    case Attribute::Kind::t: return "tensor";
    case Attribute::Kind::floats: return "floats";
    case Attribute::Kind::ints: return "ints";
    case Attribute::Kind::strings: return "strings";
    case Attribute::Kind::graph: return "graph";
  }
  return "?";
}

const Attribute* Attrs::find(const std::string& name) const {
  auto it = map_.find(name);
  return it == map_.end() ? nullptr : &it->second;
}

const Attribute& Attrs::need(const std::string& name, Attribute::Kind k) const {
  const Attribute* a = find(name);
  if (!a)
    throw Error(std::string("required attribute '") + name + "' (" + attribute_kind_name(k) + ") is missing",
                where_);
  if (a->kind != k)
    throw Error("attribute '" + name + "' is " + attribute_kind_name(a->kind) + ", expected " +
                    attribute_kind_name(k),
                where_);
  return *a;
}

int64_t Attrs::get_int(const std::string& n) const {
  return need(n, Attribute::Kind::i).i;
}
int64_t Attrs::get_int(const std::string& n, int64_t def) const {
  return has(n) ? get_int(n) : def;
}
float Attrs::get_float(const std::string& n) const {
  return need(n, Attribute::Kind::f).f;
}
float Attrs::get_float(const std::string& n, float def) const {
  return has(n) ? get_float(n) : def;
}
std::string Attrs::get_string(const std::string& n) const {
  return need(n, Attribute::Kind::s).s;
}
std::string Attrs::get_string(const std::string& n, const std::string& def) const {
  return has(n) ? get_string(n) : def;
}
std::vector<int64_t> Attrs::get_ints(const std::string& n) const {
  return need(n, Attribute::Kind::ints).ints;
}
std::vector<int64_t> Attrs::get_ints(const std::string& n, const std::vector<int64_t>& def) const {
  return has(n) ? get_ints(n) : def;
}
std::vector<float> Attrs::get_floats(const std::string& n) const {
  return need(n, Attribute::Kind::floats).floats;
}
std::vector<float> Attrs::get_floats(const std::string& n, const std::vector<float>& def) const {
  return has(n) ? get_floats(n) : def;
}
std::vector<std::string> Attrs::get_strings(const std::string& n) const {
  return need(n, Attribute::Kind::strings).strings;
}
const Tensor& Attrs::get_tensor(const std::string& n) const {
  return need(n, Attribute::Kind::t).t;
}
const graph::Graph& Attrs::get_graph(const std::string& n) const {
  const Attribute& a = need(n, Attribute::Kind::graph);
  if (!a.g) throw Error("graph attribute '" + n + "' is empty", where_);
  return *a.g;
}

void Attrs::set_int(const std::string& n, int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::i;
  a.i = v;
  map_[n] = std::move(a);
}
void Attrs::set_float(const std::string& n, float v) {
  Attribute a;
  a.kind = Attribute::Kind::f;
  a.f = v;
  map_[n] = std::move(a);
}
void Attrs::set_ints(const std::string& n, std::vector<int64_t> v) {
  Attribute a;
  a.kind = Attribute::Kind::ints;
  a.ints = std::move(v);
  map_[n] = std::move(a);
}
void Attrs::set_string(const std::string& n, std::string v) {
  Attribute a;
  a.kind = Attribute::Kind::s;
  a.s = std::move(v);
  map_[n] = std::move(a);
}

std::string NodeInfo::describe() const {
  std::string d = domain.empty() ? "ai.onnx" : domain;
  return "node '" + name + "' (" + op_type + ", " + d + " opset " + std::to_string(opset) + ")";
}

const InputDesc& CompileContext::input(size_t i) const {
  if (!has_input(i)) fail("input " + std::to_string(i) + " is required but missing");
  return inputs[i];
}

void CompileContext::fail(const std::string& what) const {
  throw Error(what, node ? node->describe() : std::string());
}

void CompileContext::unsupported(const std::string& what) const {
  throw Unsupported(what, node ? node->describe() : std::string());
}

void CompileContext::require_dtype(size_t i, std::initializer_list<DType> allowed) const {
  const DType t = input(i).dtype;
  for (DType a : allowed)
    if (a == t) return;
  unsupported(std::string("input ") + std::to_string(i) + " of type " + dtype_name(t) + " is not supported");
}

void CompileContext::set_output(size_t i, DType dtype, Shape shape) {
  if (i >= outputs.size()) fail("output " + std::to_string(i) + " does not exist");
  outputs[i].dtype = dtype;
  outputs[i].shape = std::move(shape);
  outputs[i].data_dependent = false;
}

Tensor& RunContext::allocate_output(size_t i, DType dtype, const Shape& shape) {
  if (i >= outputs.size()) fail("output " + std::to_string(i) + " does not exist");
  if (allocate_fn)
    *outputs[i] = allocate_fn(dynamic_pool, i, dtype, shape);
  else
    *outputs[i] = Tensor(dtype, shape);
  return *outputs[i];
}

void RunContext::fail(const std::string& what) const {
  throw Error(what, node ? node->describe() : std::string());
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& where) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error("shapes " + shape_str(a) + " and " + shape_str(b) + " cannot be broadcast", where);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Shape broadcast_shapes(const std::vector<Shape>& shapes, const std::string& where) {
  Shape out;
  for (const Shape& s : shapes) out = broadcast_shapes(out, s, where);
  return out;
}

std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

int64_t normalize_axis(int64_t axis, int64_t rank, const std::string& where, bool allow_end) {
  const int64_t hi = allow_end ? rank + 1 : rank;
  const int64_t a = axis < 0 ? axis + hi : axis;
  if (a < 0 || a >= hi)
    throw Error("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank), where);
  return a;
}

std::vector<int64_t> to_int64_vector(const Tensor& t, const std::string& where) {
  std::vector<int64_t> v(static_cast<size_t>(t.numel()));
  if (t.dtype() == DType::i64)
    std::copy_n(t.data_as<int64_t>(), v.size(), v.begin());
  else if (t.dtype() == DType::i32)
    std::copy_n(t.data_as<int32_t>(), v.size(), v.begin());
  else
    throw Error(std::string("expected an int32/int64 tensor, got ") + dtype_name(t.dtype()), where);
  return v;
}

}  // namespace ortkit::ops
