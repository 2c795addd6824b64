#include "quant/tensor_io.h"

#include <cstring>
#include <regex>

#include "ortkit/error.h"
#include "ortkit/narrow_types.h"
#include "ortkit/quantize.h"

namespace ortkit::quant {

template <class T, class Field>
static void copy_field(Tensor& out, const Field& f) {
  T* d = out.data_as<T>();
  for (int i = 0; i < f.size(); ++i) d[i] = static_cast<T>(f.Get(i));
}

Tensor tensor_from_proto(const onnx::TensorProto& t, const std::string& where) {
  DType dt = dtype_from_onnx(t.data_type());
  if (dt == DType::undefined || dt == DType::string || dt == DType::f16 || dt == DType::bf16 || is_narrow(dt))
    throw Error("unsupported tensor data type " + std::to_string(t.data_type()), where);
  if (t.data_location() == onnx::TensorProto::EXTERNAL) throw Error("external data is not supported", where);
  Shape s(t.dims().begin(), t.dims().end());
  Tensor out(dt, s);
  if (t.has_raw_data()) {
    if (t.raw_data().size() != out.bytes()) throw Error("raw_data size does not match the shape", where);
    std::memcpy(out.data(), t.raw_data().data(), out.bytes());
    return out;
  }
  int64_t n = out.numel();
  auto check = [&](int size) {
    if (size != n) throw Error("element count does not match the shape", where);
  };
  switch (dt) {
    case DType::f32:
      check(t.float_data_size());
      copy_field<float>(out, t.float_data());
      break;
    case DType::f64:
      check(t.double_data_size());
      copy_field<double>(out, t.double_data());
      break;
    case DType::i64:
      check(t.int64_data_size());
      copy_field<int64_t>(out, t.int64_data());
      break;
    case DType::u64:
    case DType::u32:
      check(t.uint64_data_size());
      if (dt == DType::u64)
        copy_field<uint64_t>(out, t.uint64_data());
      else
        copy_field<uint32_t>(out, t.uint64_data());
      break;
    case DType::i32:
      check(t.int32_data_size());
      copy_field<int32_t>(out, t.int32_data());
      break;
    case DType::i16:
      check(t.int32_data_size());
      copy_field<int16_t>(out, t.int32_data());
      break;
    case DType::u16:
      check(t.int32_data_size());
      copy_field<uint16_t>(out, t.int32_data());
      break;
    case DType::i8:
      check(t.int32_data_size());
      copy_field<int8_t>(out, t.int32_data());
      break;
    case DType::u8:
    case DType::boolean:
      check(t.int32_data_size());
      copy_field<uint8_t>(out, t.int32_data());
      break;
    default: throw Error("unsupported tensor data type", where);
  }
  return out;
}

Tensor read_pb_tensor(const std::string& path, std::string* name) {
  onnx::TensorProto t;
  if (!t.ParseFromString(read_file_bytes(path))) throw Error("not a TensorProto", path);
  if (name) *name = t.name();
  return tensor_from_proto(t, path);
}

Tensor read_npy(const std::string& path) {
  std::string b = read_file_bytes(path);
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0) throw Error("not a .npy file", path);
  int major = static_cast<unsigned char>(b[6]);
  size_t hl, off;
  if (major == 1) {
    hl = static_cast<unsigned char>(b[8]) | (static_cast<size_t>(static_cast<unsigned char>(b[9])) << 8);
    off = 10;
  } else {
    if (b.size() < 12) throw Error("truncated .npy header", path);
    hl = 0;
    for (int i = 0; i < 4; ++i) hl |= static_cast<size_t>(static_cast<unsigned char>(b[8 + i])) << (8 * i);
    off = 12;
  }
  if (off + hl > b.size()) throw Error("truncated .npy header", path);
  std::string h = b.substr(off, hl);
  std::smatch m;
  if (!std::regex_search(h, m, std::regex("'descr':\\s*'([<>|=])([a-z])(\\d+)'")))
    throw Error("unsupported .npy dtype in header " + h, path);
  if (m[1] == ">") throw Error("big-endian .npy is not supported", path);
  std::string kind = m[2], size = m[3];
  DType dt = DType::undefined;
  if (kind == "f" && size == "4")
    dt = DType::f32;
  else if (kind == "f" && size == "8")
    dt = DType::f64;
  else if (kind == "i" && size == "8")
    dt = DType::i64;
  else if (kind == "i" && size == "4")
    dt = DType::i32;
  else if (kind == "i" && size == "1")
    dt = DType::i8;
  else if (kind == "u" && size == "1")
    dt = DType::u8;
  else if (kind == "b" && size == "1")
    dt = DType::boolean;
  else
    throw Error("unsupported .npy dtype " + kind + size, path);
  if (h.find("'fortran_order': True") != std::string::npos)
    throw Error("Fortran-order .npy is not supported", path);
  if (!std::regex_search(h, m, std::regex("'shape':\\s*\\(([^)]*)\\)")))
    throw Error("no shape in .npy header", path);
  Shape s;
  std::string dims = m[1];
  std::regex num("\\d+");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), num); it != std::sregex_iterator(); ++it)
    s.push_back(std::stoll(it->str()));
  Tensor t(dt, s);
  if (b.size() - off - hl < t.bytes()) throw Error("truncated .npy data", path);
  std::memcpy(t.data(), b.data() + off + hl, t.bytes());
  return t;
}

}  // namespace ortkit::quant
