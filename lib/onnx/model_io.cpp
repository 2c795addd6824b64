#include "onnx/model_io.h"

#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "onnx/onnx-data_pb.h"
#include "ortkit/error.h"
#include "ortkit/narrow_types.h"

namespace ortkit::onnxio {
namespace fs = std::filesystem;

std::string dir_of(const std::string& path) {
  const fs::path p = fs::path(path).parent_path();
  return p.empty() ? std::string(".") : p.string();
}

namespace {

/// Parse with the size limit raised to INT_MAX (the protobuf default of 64 MiB rejects big models).
bool parse_stream(google::protobuf::io::ZeroCopyInputStream* in, google::protobuf::MessageLite& msg) {
  google::protobuf::io::CodedInputStream coded(in);
  coded.SetTotalBytesLimit(INT_MAX);
  return msg.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(std::string("cannot open file: ") + std::strerror(errno), path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

onnx::ModelProto load_model(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error("model file not found", path);
  if (fs::is_directory(path, ec)) throw Error("is a directory, expected an .onnx file", path);
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw Error(std::string("cannot open model: ") + std::strerror(errno), path);
  onnx::ModelProto m;
  bool ok;
  {
    google::protobuf::io::FileInputStream in(fd);
    ok = parse_stream(&in, m);
  }
  ::close(fd);
  if (!ok) throw Error("not a valid ONNX model (truncated or malformed protobuf)", path);
  if (!m.has_graph()) throw Error("the model has no graph (not an ONNX model?)", path);
  return m;
}

onnx::ModelProto parse_model(const std::string& bytes, const std::string& what) {
  onnx::ModelProto m;
  google::protobuf::io::ArrayInputStream in(bytes.data(), static_cast<int>(bytes.size()));
  if (bytes.size() > static_cast<size_t>(INT_MAX) || !parse_stream(&in, m))
    throw Error("not a valid ONNX model (truncated or malformed protobuf)", what);
  if (!m.has_graph()) throw Error("the model has no graph (not an ONNX model?)", what);
  return m;
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error(std::string("cannot write: ") + std::strerror(errno), tmp);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    if (!f) {
      std::remove(tmp.c_str());
      throw Error("write failed (disk full?)", tmp);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error("cannot rename temp file into place: " + why, path);
  }
}

void save_model(const onnx::ModelProto& model, const std::string& path) {
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw Error("cannot serialize the model (over 2 GiB?)", path);
  write_file_atomic(path, bytes);
}

namespace {
/// "17 (FLOAT8E4M3FN)": the number and, for the types newer ONNX releases added (which the protobuf
/// definitions a distribution ships may not know), their name.
std::string element_type_name(int32_t type) {
  static const char* const kNewer[] = {"FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ",
                                       "UINT4",        "INT4",           "FLOAT4E2M1", "FLOAT8E8M0",
                                       "UINT2",        "INT2",           "FLOAT6E2M3", "FLOAT6E3M2"};
  std::string s = std::to_string(type);
  if (type >= 17 && type < 17 + static_cast<int32_t>(std::size(kNewer))) {
    s.append(" (");
    s.append(kNewer[type - 17]);
    s.push_back(')');
  }
  return s;
}

/// Bytes n elements of dt take in a TensorProto: 4-bit types two per byte, 2-bit types four per byte.
size_t stored_bytes(DType dt, int64_t n) {
  const size_t un = static_cast<size_t>(n);
  switch (narrow_bits(dt)) {
    case 4: return (un + 1) / 2;
    case 2: return (un + 3) / 4;
    default: return un * dtype_size(dt);
  }
}

/// Packed 4- / 2-bit elements (first element in the lowest bits) to one byte each, int4 / int2
/// sign-extended (tensor.h). `in` holds stored_bytes(dt, n) bytes.
void unpack_narrow(DType dt, const uint8_t* in, int64_t n, uint8_t* out) {
  const int bits = narrow_bits(dt);
  const int per_byte = 8 / bits;
  const unsigned mask = (1u << bits) - 1;
  for (int64_t i = 0; i < n; ++i) {
    const unsigned v = (in[i / per_byte] >> (bits * (i % per_byte))) & mask;
    out[i] = dt == DType::i4   ? static_cast<uint8_t>(wrap_to_int4(v))
             : dt == DType::i2 ? static_cast<uint8_t>(wrap_to_int2(v))
                               : static_cast<uint8_t>(v);
  }
}

/// The inverse of unpack_narrow; the unused high bits of a last partial byte are zero.
std::string pack_narrow(DType dt, const uint8_t* in, int64_t n) {
  const int bits = narrow_bits(dt);
  const int per_byte = 8 / bits;
  const unsigned mask = (1u << bits) - 1;
  std::string out(stored_bytes(dt, n), '\0');
  for (int64_t i = 0; i < n; ++i)
    out[i / per_byte] = static_cast<char>(static_cast<uint8_t>(out[i / per_byte]) |
                                          ((in[i] & mask) << (bits * (i % per_byte))));
  return out;
}

/// True for the types a TensorProto packs several to a byte.
bool packed(DType dt) {
  return narrow_bits(dt) == 4 || narrow_bits(dt) == 2;
}

/// Stored bytes (raw_data, external data, or int32_data's packed bytes) into `out`.
void fill_from_stored(Tensor& out, const uint8_t* bytes) {
  if (packed(out.dtype()))
    unpack_narrow(out.dtype(), bytes, out.numel(), out.data_as<uint8_t>());
  else if (out.bytes())
    std::memcpy(out.data(), bytes, out.bytes());
}
}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& t, const std::string& base_dir) {
  const std::string where = "tensor '" + t.name() + "'";
  const DType dt = dtype_from_onnx(t.data_type());
  if (dt == DType::undefined)
    throw Unsupported("unsupported element type " + element_type_name(t.data_type()), where);
  Shape shape(t.dims().begin(), t.dims().end());
  for (int64_t d : shape)
    if (d < 0) throw Error("negative dimension " + std::to_string(d), where);
  // Validate the element count against the stored data before allocating: a corrupt file must give a
  // clear error, not a bad_alloc from an absurd shape.
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d != 0 && n > (int64_t{1} << 40) / d)
      throw Error("shape " + shape_str(shape) + " is too large", where);
    n *= d;
  }
  if (dt == DType::string) {  // string_data only: raw and external data have no framing for strings
    if (t.data_location() == onnx::TensorProto::EXTERNAL || t.has_raw_data())
      throw Error("a string tensor must hold its values in string_data", where);
    if (t.string_data_size() != n)
      throw Error("holds " + std::to_string(t.string_data_size()) + " strings, its shape " +
                      shape_str(shape) + " needs " + std::to_string(n),
                  where);
    Tensor out(dt, shape);
    std::copy(t.string_data().begin(), t.string_data().end(), out.data_as<std::string>());
    return out;
  }
  const size_t nbytes = stored_bytes(dt, n);
  if (t.data_location() != onnx::TensorProto::EXTERNAL && t.has_raw_data() && t.raw_data().size() != nbytes)
    throw Error("raw_data has " + std::to_string(t.raw_data().size()) + " bytes, shape " + shape_str(shape) +
                    " needs " + std::to_string(nbytes),
                where);
  Tensor out(dt, shape);
  auto need = [&](int64_t have) {
    if (have != n)
      throw Error("holds " + std::to_string(have) + " values, its shape " + shape_str(shape) + " needs " +
                      std::to_string(n),
                  where);
  };

  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto& kv : t.external_data()) {
      if (kv.key() == "location")
        location = kv.value();
      else if (kv.key() == "offset")
        offset = std::stoll(kv.value());
      else if (kv.key() == "length")
        length = std::stoll(kv.value());
    }
    if (location.empty()) throw Error("external data without a location", where);
    const fs::path file = fs::path(base_dir.empty() ? "." : base_dir) / location;
    std::ifstream f(file, std::ios::binary);
    if (!f) throw Error("external data file not found: " + file.string(), where);
    if (length >= 0 && static_cast<size_t>(length) != nbytes)
      throw Error("external data length " + std::to_string(length) + " does not match " +
                      std::to_string(nbytes) + " bytes of shape " + shape_str(shape),
                  where);
    f.seekg(offset);
    std::string packed_bytes;
    char* dst = static_cast<char*>(out.data());
    if (packed(dt)) {
      packed_bytes.resize(nbytes);
      dst = packed_bytes.data();
    }
    f.read(dst, static_cast<std::streamsize>(nbytes));
    if (!f || static_cast<size_t>(f.gcount()) != nbytes)
      throw Error("external data file " + file.string() + " is too short (offset " + std::to_string(offset) +
                      ", " + std::to_string(nbytes) + " bytes needed)",
                  where);
    if (packed(dt)) fill_from_stored(out, reinterpret_cast<const uint8_t*>(packed_bytes.data()));
    return out;
  }
  if (t.has_raw_data()) {
    if (t.raw_data().size() != nbytes)
      throw Error("raw_data has " + std::to_string(t.raw_data().size()) + " bytes, shape " +
                      shape_str(shape) + " needs " + std::to_string(nbytes),
                  where);
    fill_from_stored(out, reinterpret_cast<const uint8_t*>(t.raw_data().data()));
    return out;
  }
  if (is_narrow(dt)) {  // int32_data: one stored byte per entry (two 4-bit or four 2-bit elements packed)
    const int64_t entries = static_cast<int64_t>(nbytes);
    if (t.int32_data_size() != entries)
      throw Error("holds " + std::to_string(t.int32_data_size()) + " int32_data entries, its shape " +
                      shape_str(shape) + " of " + dtype_name(dt) + " needs " + std::to_string(entries),
                  where);
    std::string stored(nbytes, '\0');
    for (int64_t i = 0; i < entries; ++i) stored[i] = static_cast<char>(t.int32_data(static_cast<int>(i)));
    fill_from_stored(out, reinterpret_cast<const uint8_t*>(stored.data()));
    return out;
  }
  switch (dt) {
    case DType::f32:
      need(t.float_data_size());
      std::copy(t.float_data().begin(), t.float_data().end(), out.data_as<float>());
      break;
    case DType::f64:
      need(t.double_data_size());
      std::copy(t.double_data().begin(), t.double_data().end(), out.data_as<double>());
      break;
    case DType::i64:
      need(t.int64_data_size());
      std::copy(t.int64_data().begin(), t.int64_data().end(), out.data_as<int64_t>());
      break;
    case DType::u32:
    case DType::u64:
      need(t.uint64_data_size());
      for (int64_t i = 0; i < n; ++i) {
        if (dt == DType::u32)
          out.data_as<uint32_t>()[i] = static_cast<uint32_t>(t.uint64_data(i));
        else
          out.data_as<uint64_t>()[i] = t.uint64_data(i);
      }
      break;
    default: {  // int32_data carries i32, i16, u16, i8, u8, bool, f16 and bf16 bits
      need(t.int32_data_size());
      for (int64_t i = 0; i < n; ++i) {
        const int32_t v = t.int32_data(static_cast<int>(i));
        switch (dt) {
          case DType::i32: out.data_as<int32_t>()[i] = v; break;
          case DType::i16: out.data_as<int16_t>()[i] = static_cast<int16_t>(v); break;
          case DType::u16:
          case DType::f16:
          case DType::bf16: out.data_as<uint16_t>()[i] = static_cast<uint16_t>(v); break;
          case DType::i8: out.data_as<int8_t>()[i] = static_cast<int8_t>(v); break;
          case DType::u8:
          case DType::boolean: out.data_as<uint8_t>()[i] = static_cast<uint8_t>(v); break;
          default: throw Error(std::string("cannot read typed data of ") + dtype_name(dt), where);
        }
      }
    }
  }
  return out;
}

onnx::TensorProto tensor_to_proto(const Tensor& t, const std::string& name) {
  onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(dtype_to_onnx(t.dtype()));
  for (int64_t d : t.shape()) p.add_dims(d);
  if (t.dtype() == DType::string)
    for (int64_t i = 0; i < t.numel(); ++i) p.add_string_data(t.data_as<std::string>()[i]);
  else if (packed(t.dtype()))
    p.set_raw_data(pack_narrow(t.dtype(), t.data_as<uint8_t>(), t.numel()));
  else
    p.set_raw_data(std::string(static_cast<const char*>(t.data()), t.bytes()));
  return p;
}

Tensor load_tensor_file(const std::string& path, std::string* name) {
  const std::string bytes = read_file(path);
  onnx::TensorProto p;
  google::protobuf::io::ArrayInputStream in(bytes.data(), static_cast<int>(bytes.size()));
  if (!parse_stream(&in, p)) throw Error("not a valid TensorProto file", path);
  if (name) *name = p.name();
  return tensor_from_proto(p, dir_of(path));
}

namespace {

Tensor from_optional_proto(const onnx::OptionalProto& p, const std::string& dir, const std::string& where);

/// A MapProto as a map: keys (int64 or string) and the values' scalar tensors joined into one 1-D tensor.
Tensor from_map_proto(const onnx::MapProto& p, const std::string& dir, const std::string& where) {
  const DType kt = dtype_from_onnx(p.key_type());
  Tensor keys;
  if (kt == DType::string) {
    keys = Tensor(DType::string, {p.string_keys_size()});
    std::copy(p.string_keys().begin(), p.string_keys().end(), keys.data_as<std::string>());
  } else if (kt == DType::i64 || kt == DType::i32) {
    keys = Tensor(DType::i64, {p.keys_size()});
    std::copy(p.keys().begin(), p.keys().end(), keys.data_as<int64_t>());
  } else {
    throw Error("map keys of type " + element_type_name(p.key_type()) + " are not supported", where);
  }
  const auto& vs = p.values();
  if (vs.elem_type() != onnx::SequenceProto::TENSOR && vs.tensor_values_size() > 0)
    throw Error("map values that are not tensors are not supported", where);
  if (vs.tensor_values_size() != keys.numel())
    throw Error("a map with " + std::to_string(keys.numel()) + " keys and " +
                    std::to_string(vs.tensor_values_size()) + " values",
                where);
  std::vector<Tensor> parts;
  for (const auto& t : vs.tensor_values()) parts.push_back(tensor_from_proto(t, dir));
  const DType vt = parts.empty() ? DType::f32 : parts.front().dtype();
  Tensor values(vt, {keys.numel()});
  const size_t es = dtype_size(vt);
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].dtype() != vt || parts[i].numel() != 1 || es == 0)
      throw Error("map values must be numeric scalars of one type", where);
    std::memcpy(static_cast<char*>(values.data()) + i * es, parts[i].data(), es);
  }
  return Tensor::map_of(std::move(keys), std::move(values));
}

Tensor from_sequence_proto(const onnx::SequenceProto& p, const std::string& dir, const std::string& where) {
  std::vector<Tensor> items;
  switch (p.elem_type()) {
    case onnx::SequenceProto::UNDEFINED: break;  // an empty sequence may leave it unset
    case onnx::SequenceProto::TENSOR:
      for (const auto& t : p.tensor_values()) items.push_back(tensor_from_proto(t, dir));
      break;
    case onnx::SequenceProto::MAP:
      for (const auto& m : p.map_values()) items.push_back(from_map_proto(m, dir, where));
      break;
    default:
      throw Error("sequences of sequences, optionals or sparse tensors are not supported (elem_type " +
                      std::to_string(p.elem_type()) + ")",
                  where);
  }
  if (p.elem_type() == onnx::SequenceProto::UNDEFINED && p.tensor_values_size())
    throw Error("a sequence with tensor values but no elem_type", where);
  const DType elem = items.empty() ? DType::undefined : items.front().dtype();
  for (const Tensor& t : items)
    if (t.dtype() != elem) throw Error("sequence items of different types", where);
  return Tensor::sequence(elem, std::move(items));
}

Tensor from_optional_proto(const onnx::OptionalProto& p, const std::string& dir, const std::string& where) {
  switch (p.elem_type()) {
    case onnx::OptionalProto::UNDEFINED: return Tensor::optional_none(DType::undefined);
    case onnx::OptionalProto::TENSOR:
      if (!p.has_tensor_value()) return Tensor::optional_none(DType::undefined);
      return Tensor::optional_of(tensor_from_proto(p.tensor_value(), dir));
    case onnx::OptionalProto::SEQUENCE:
      if (!p.has_sequence_value()) return Tensor::optional_none(DType::sequence);
      return Tensor::optional_of(from_sequence_proto(p.sequence_value(), dir, where));
    default:
      throw Error("optionals of maps, optionals or sparse tensors are not supported (elem_type " +
                      std::to_string(p.elem_type()) + ")",
                  where);
  }
}

}  // namespace

Tensor load_value_file(const std::string& path, DType kind, std::string* name) {
  if (!is_list_dtype(kind)) return load_tensor_file(path, name);
  const std::string bytes = read_file(path);
  google::protobuf::io::ArrayInputStream in(bytes.data(), static_cast<int>(bytes.size()));
  if (kind == DType::map) {
    onnx::MapProto p;
    if (!parse_stream(&in, p)) throw Error("not a valid MapProto file", path);
    if (name) *name = p.name();
    return from_map_proto(p, dir_of(path), path);
  }
  if (kind == DType::sequence) {
    onnx::SequenceProto p;
    if (!parse_stream(&in, p)) throw Error("not a valid SequenceProto file", path);
    if (name) *name = p.name();
    return from_sequence_proto(p, dir_of(path), path);
  }
  onnx::OptionalProto p;
  if (!parse_stream(&in, p)) throw Error("not a valid OptionalProto file", path);
  if (name) *name = p.name();
  return from_optional_proto(p, dir_of(path), path);
}

namespace {

onnx::MapProto map_to_proto(const Tensor& t, const std::string& name) {
  onnx::MapProto p;
  p.set_name(name);
  const Tensor &keys = t.items().at(0), &values = t.items().at(1);
  p.set_key_type(dtype_to_onnx(keys.dtype()));
  for (int64_t i = 0; i < keys.numel(); ++i) {
    if (keys.dtype() == DType::string)
      p.add_string_keys(keys.data_as<std::string>()[i]);
    else
      p.add_keys(keys.data_as<int64_t>()[i]);
  }
  auto* vs = p.mutable_values();
  vs->set_elem_type(onnx::SequenceProto::TENSOR);
  const size_t es = dtype_size(values.dtype());
  for (int64_t i = 0; i < values.numel(); ++i) {  // one scalar tensor per value, as onnx.numpy_helper writes
    Tensor v(values.dtype(), {});
    std::memcpy(v.data(), static_cast<const char*>(values.data()) + static_cast<size_t>(i) * es, es);
    *vs->add_tensor_values() = tensor_to_proto(v);
  }
  return p;
}

onnx::SequenceProto sequence_to_proto(const Tensor& t, const std::string& name) {
  onnx::SequenceProto p;
  p.set_name(name);
  const bool maps =
      t.elem_dtype() == DType::map || (!t.items().empty() && t.items()[0].dtype() == DType::map);
  p.set_elem_type(maps ? onnx::SequenceProto::MAP : onnx::SequenceProto::TENSOR);
  for (const Tensor& i : t.items()) {
    if (maps)
      *p.add_map_values() = map_to_proto(i, {});
    else
      *p.add_tensor_values() = tensor_to_proto(i);
  }
  return p;
}

}  // namespace

void save_tensor_file(const Tensor& t, const std::string& name, const std::string& path) {
  if (t.dtype() == DType::sequence) {
    write_file_atomic(path, sequence_to_proto(t, name).SerializeAsString());
  } else if (t.dtype() == DType::map) {
    write_file_atomic(path, map_to_proto(t, name).SerializeAsString());
  } else if (t.dtype() == DType::optional) {
    onnx::OptionalProto p;
    p.set_name(name);
    if (!t.items().empty()) {
      const Tensor& v = t.items().front();
      if (v.dtype() == DType::sequence) {
        p.set_elem_type(onnx::OptionalProto::SEQUENCE);
        *p.mutable_sequence_value() = sequence_to_proto(v, {});
      } else {
        p.set_elem_type(onnx::OptionalProto::TENSOR);
        *p.mutable_tensor_value() = tensor_to_proto(v);
      }
    }
    write_file_atomic(path, p.SerializeAsString());
  } else {
    write_file_atomic(path, tensor_to_proto(t, name).SerializeAsString());
  }
}

}  // namespace ortkit::onnxio
