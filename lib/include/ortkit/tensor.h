// Tensors: a dtype, a shape and a pointer into owned or borrowed memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ortkit {

/// Element types, plus the two non-tensor kinds of ONNX value (`sequence`, `optional`), which a Tensor
/// carries as a list of owned tensors with no bytes of its own. Values match nothing external; use
/// dtype_from_onnx / dtype_to_onnx for ONNX's enum. The narrow types after `string` (ONNX 1.14+: 4- and 2-bit
/// integers, float8, float4) are stored one element per byte, unpacked, so every op that moves bytes by
/// dtype_size() handles them unchanged: int4 and int2 sign-extended into an int8, uint4 / uint2 / float4 in
/// the low bits, float8 as its byte. Only TensorProto files pack them (ortkit/narrow_types.h has the
/// conversions). A `string` tensor holds std::string objects (data_as<std::string>()), owned as an array;
/// it has no bytes (bytes() is 0), so only the ops that say they take strings see one (ops::accepts_strings).
enum class DType : uint8_t {
  undefined,
  f32,
  f64,
  f16,
  bf16,
  i8,
  u8,
  i16,
  u16,
  i32,
  u32,
  i64,
  u64,
  boolean,
  string,
  i4,
  u4,
  i2,
  u2,
  f8e4m3fn,
  f8e4m3fnuz,
  f8e5m2,
  f8e5m2fnuz,
  f8e8m0,
  f4e2m1,
  sequence,  ///< an ONNX sequence: a list of tensors of one element type (Tensor::items())
  optional,  ///< an ONNX optional: no value, or one tensor or sequence (Tensor::items() holds 0 or 1)
  map        ///< an ONNX map: Tensor::items() holds the keys [K] (int64 or string) and the values [K]
};

size_t dtype_size(DType t);                 ///< bytes per element (0 for string/undefined)
const char* dtype_name(DType t);            ///< "float32", "int64", "bool", ...
DType dtype_from_onnx(int onnx_elem_type);  ///< TensorProto_DataType value; undefined if unsupported
int dtype_to_onnx(DType t);
/// A sequence, an optional or a map: a value with no bytes of its own (Tensor::items()).
inline bool is_list_dtype(DType t) {
  return t == DType::sequence || t == DType::optional || t == DType::map;
}

using Shape = std::vector<int64_t>;
/// The most elements a shape may have: a model can ask for any dims, and past this product (or its byte
/// size, x 16 at most) int64 arithmetic would wrap.
inline constexpr int64_t kMaxElements = int64_t{1} << 56;
int64_t shape_numel(const Shape& s);    ///< throws Error past kMaxElements
std::string shape_str(const Shape& s);  ///< "[1, 128, 768]"

class Tensor {
 public:
  Tensor() = default;
  /// Owned, zero-filled, 64-byte aligned storage (strings: numel() empty strings).
  Tensor(DType dtype, Shape shape);
  /// Borrowed storage: the caller keeps `data` alive while the tensor is used.
  static Tensor view(DType dtype, Shape shape, void* data);
  /// An ONNX sequence of `elem` tensors. Items are kept as given: pass tensors that own their storage
  /// (clone() views), since the sequence may outlive the memory a view points into.
  static Tensor sequence(DType elem, std::vector<Tensor> items);
  /// An ONNX optional holding `value` (a tensor or a sequence; owned as for sequence()).
  static Tensor optional_of(Tensor value);
  /// An ONNX optional with no value; `elem` is the declared type of what it would hold.
  static Tensor optional_none(DType elem);
  /// An ONNX map from 1-D `keys` (int64 or string) to 1-D `values` of the same length (owned as for
  /// sequence()); elem_dtype() is the values' type. ai.onnx.ml ZipMap makes sequences of these.
  static Tensor map_of(Tensor keys, Tensor values);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t numel() const { return numel_; }  // checked once, when the shape is set
  size_t bytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool empty() const { return dtype_ == DType::undefined; }
  /// True for a sequence or an optional (no bytes of its own; see items()).
  bool is_list() const { return is_list_dtype(dtype_); }
  /// A sequence's items, or an optional's value (none or one); empty for a tensor.
  const std::vector<Tensor>& items() const;
  /// A sequence's element type, or the type an optional holds (DType::sequence for an optional sequence).
  DType elem_dtype() const { return elem_; }

  void* data() { return data_; }
  const void* data() const { return data_; }
  template <class T>
  T* data_as() {
    return static_cast<T*>(data_);
  }
  template <class T>
  const T* data_as() const {
    return static_cast<const T*>(data_);
  }

  /// A deep copy with owned storage (sequences and optionals: of every item).
  Tensor clone() const;
  /// Point this tensor at other memory, keeping dtype and shape (drops ownership; the caller keeps
  /// `data` alive). Used by the runtime to re-target prebuilt views without allocating.
  void rebind(void* data) {
    data_ = data;
    owner_.reset();
  }

 private:
  DType dtype_ = DType::undefined;
  Shape shape_;
  int64_t numel_ = 1;  // shape_numel(shape_)
  void* data_ = nullptr;
  std::shared_ptr<void> owner_;
  DType elem_ = DType::undefined;                     // sequence / optional only
  std::shared_ptr<const std::vector<Tensor>> items_;  // sequence / optional only; shared, never mutated
};

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

}  // namespace ortkit
