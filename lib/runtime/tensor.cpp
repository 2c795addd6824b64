#include "ortkit/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "ortkit/error.h"

namespace ortkit {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f64:
    case DType::i64:
    case DType::u64: return 8;
    case DType::f32:
    case DType::i32:
    case DType::u32: return 4;
    case DType::f16:
    case DType::bf16:
    case DType::i16:
    case DType::u16: return 2;
    case DType::i8:
    case DType::u8:
    case DType::boolean:
    case DType::i4:  // narrow types: one byte per element in memory (tensor.h)
    case DType::u4:
    case DType::i2:
    case DType::u2:
    case DType::f8e4m3fn:
    case DType::f8e4m3fnuz:
    case DType::f8e5m2:
    case DType::f8e5m2fnuz:
    case DType::f8e8m0:
    case DType::f4e2m1: return 1;
    case DType::string:
    case DType::sequence:
    case DType::optional:
    case DType::map:
    case DType::undefined: return 0;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::undefined: return "undefined";
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::f16: return "float16";
    case DType::bf16: return "bfloat16";
    case DType::i8: return "int8";
    case DType::u8: return "uint8";
    case DType::i16: return "int16";
    case DType::u16: return "uint16";
    case DType::i32: return "int32";
    case DType::u32: return "uint32";
    case DType::i64: return "int64";
    case DType::u64: return "uint64";
    case DType::boolean: return "bool";
    case DType::string: return "string";
    case DType::i4: return "int4";
    case DType::u4: return "uint4";
    case DType::i2: return "int2";
    case DType::u2: return "uint2";
    case DType::f8e4m3fn: return "float8e4m3fn";
    case DType::f8e4m3fnuz: return "float8e4m3fnuz";
    case DType::f8e5m2: return "float8e5m2";
    case DType::f8e5m2fnuz: return "float8e5m2fnuz";
    case DType::f8e8m0: return "float8e8m0";
    case DType::f4e2m1: return "float4e2m1";
    case DType::sequence: return "sequence";
    case DType::optional: return "optional";
    case DType::map: return "map";
  }
  return "?";
}

// ONNX TensorProto.DataType values.
DType dtype_from_onnx(int t) {
  switch (t) {
    case 1: return DType::f32;
    case 2: return DType::u8;
    case 3: return DType::i8;
    case 4: return DType::u16;
    case 5: return DType::i16;
    case 6: return DType::i32;
    case 7: return DType::i64;
    case 8: return DType::string;
    case 9: return DType::boolean;
    case 10: return DType::f16;
    case 11: return DType::f64;
    case 12: return DType::u32;
    case 13: return DType::u64;
    case 16: return DType::bf16;
    case 17: return DType::f8e4m3fn;
    case 18: return DType::f8e4m3fnuz;
    case 19: return DType::f8e5m2;
    case 20: return DType::f8e5m2fnuz;
    case 21: return DType::u4;
    case 22: return DType::i4;
    case 23: return DType::f4e2m1;
    case 24: return DType::f8e8m0;
    case 25: return DType::u2;
    case 26: return DType::i2;
    default: return DType::undefined;  // 14/15 complex, 27/28 float6: not supported
  }
}

int dtype_to_onnx(DType t) {
  for (int i = 1; i <= 26; ++i)
    if (dtype_from_onnx(i) == t && t != DType::undefined) return i;
  return 0;
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s)
    if (__builtin_mul_overflow(n, d, &n) || n > kMaxElements || n < -kMaxElements)
      throw Error("shape " + shape_str(s) + " has more elements than any tensor can hold");
  return n;
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  for (int64_t d : shape_)
    if (d < 0) throw Error("negative dimension in shape " + shape_str(shape_));
  numel_ = shape_numel(shape_);
  if (dtype_ == DType::string) {  // constructed objects, not bytes: owned as an array
    auto* strs = new std::string[static_cast<size_t>(std::max<int64_t>(numel_, 1))];
    owner_ = std::shared_ptr<void>(strs, [](void* q) { delete[] static_cast<std::string*>(q); });
    data_ = strs;
    return;
  }
  const size_t n = std::max<size_t>(bytes(), 1);
  void* p = std::aligned_alloc(64, (n + 63) / 64 * 64);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, (n + 63) / 64 * 64);
  owner_ = std::shared_ptr<void>(p, std::free);
  data_ = p;
}

Tensor Tensor::view(DType dtype, Shape shape, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = shape_numel(t.shape_);
  t.data_ = data;
  return t;
}

Tensor Tensor::sequence(DType elem, std::vector<Tensor> items) {
  Tensor t;
  t.dtype_ = DType::sequence;
  t.elem_ = elem;
  t.items_ = std::make_shared<const std::vector<Tensor>>(std::move(items));
  return t;
}

Tensor Tensor::optional_of(Tensor value) {
  Tensor t;
  t.dtype_ = DType::optional;
  t.elem_ = value.is_list() ? DType::sequence : value.dtype();
  t.items_ = std::make_shared<const std::vector<Tensor>>(std::vector<Tensor>{std::move(value)});
  return t;
}

Tensor Tensor::optional_none(DType elem) {
  Tensor t;
  t.dtype_ = DType::optional;
  t.elem_ = elem;
  t.items_ = std::make_shared<const std::vector<Tensor>>();
  return t;
}

Tensor Tensor::map_of(Tensor keys, Tensor values) {
  if (keys.rank() != 1 || values.rank() != 1 || keys.numel() != values.numel())
    throw Error("a map needs 1-D keys and values of one length, got " + shape_str(keys.shape()) + " and " +
                shape_str(values.shape()));
  if (keys.dtype() != DType::i64 && keys.dtype() != DType::string)
    throw Error(std::string("map keys must be int64 or string, got ") + dtype_name(keys.dtype()));
  Tensor t;
  t.dtype_ = DType::map;
  t.elem_ = values.dtype();
  t.items_ =
      std::make_shared<const std::vector<Tensor>>(std::vector<Tensor>{std::move(keys), std::move(values)});
  return t;
}

const std::vector<Tensor>& Tensor::items() const {
  static const std::vector<Tensor> kNone;
  return items_ ? *items_ : kNone;
}

Tensor Tensor::clone() const {
  if (is_list()) {
    std::vector<Tensor> copies;
    copies.reserve(items().size());
    for (const Tensor& i : items()) copies.push_back(i.clone());
    Tensor t = *this;
    t.items_ = std::make_shared<const std::vector<Tensor>>(std::move(copies));
    return t;
  }
  Tensor t(dtype_, shape_);
  if (dtype_ == DType::string)
    std::copy_n(data_as<std::string>(), numel_, t.data_as<std::string>());
  else if (bytes())
    std::memcpy(t.data_, data_, bytes());
  return t;
}

}  // namespace ortkit
