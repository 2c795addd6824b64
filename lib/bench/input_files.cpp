// Real input data for ort-bench: ONNX test-data TensorProto files and NumPy .npy files.
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "onnx/model_io.h"
#include "ortkit/bench/inputs.h"
#include "ortkit/error.h"
#include "ortkit/narrow_types.h"

namespace fs = std::filesystem;

namespace ortkit::bench {

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open input file", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

template <class Src>
void copy_converted(Tensor& t, const Src& src) {
  for (int64_t i = 0; i < t.numel() && i < static_cast<int64_t>(src.size()); ++i) {
    switch (t.dtype()) {
      case DType::f32: t.data_as<float>()[i] = static_cast<float>(src[i]); break;
      case DType::f64: t.data_as<double>()[i] = static_cast<double>(src[i]); break;
      case DType::i64: t.data_as<int64_t>()[i] = static_cast<int64_t>(src[i]); break;
      case DType::i32: t.data_as<int32_t>()[i] = static_cast<int32_t>(src[i]); break;
      case DType::i8: t.data_as<int8_t>()[i] = static_cast<int8_t>(src[i]); break;
      case DType::u8: t.data_as<uint8_t>()[i] = static_cast<uint8_t>(src[i]); break;
      case DType::boolean: t.data_as<bool>()[i] = src[i] != 0; break;
      default: throw Error(std::string("unsupported dtype ") + dtype_name(t.dtype()));
    }
  }
}

Tensor load_pb(const std::string& path, std::string* name) {
  onnx::TensorProto p;
  if (!p.ParseFromString(read_all(path))) throw Error("not a TensorProto file", path);
  DType dt = dtype_from_onnx(p.data_type());
  if (dt == DType::undefined) throw Error("unsupported data type " + std::to_string(p.data_type()), path);
  // 4- and 2-bit types are packed in the file, strings are objects: the engine's reader makes both.
  if (is_narrow(dt) || dt == DType::string) {
    if (name) *name = p.name();
    return onnxio::tensor_from_proto(p, onnxio::dir_of(path));
  }
  Shape shape(p.dims().begin(), p.dims().end());
  Tensor t(dt, shape);
  if (name) *name = p.name();
  if (p.has_raw_data()) {
    if (p.raw_data().size() != t.bytes())
      throw Error("raw_data holds " + std::to_string(p.raw_data().size()) + " bytes, shape " +
                      shape_str(shape) + " needs " + std::to_string(t.bytes()),
                  path);
    std::memcpy(t.data(), p.raw_data().data(), t.bytes());
  } else if (p.float_data_size()) {
    copy_converted(t, p.float_data());
  } else if (p.double_data_size()) {
    copy_converted(t, p.double_data());
  } else if (p.int64_data_size()) {
    copy_converted(t, p.int64_data());
  } else if (p.int32_data_size()) {
    copy_converted(t, p.int32_data());
  }
  return t;
}

// .npy v1/v2/v3: magic, version, header length, a Python dict literal, then C-order data.
Tensor load_npy(const std::string& path) {
  std::string b = read_all(path);
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0) throw Error("not a .npy file", path);
  size_t hlen, off;
  if (b[6] == 1) {
    hlen = static_cast<uint8_t>(b[8]) | (static_cast<size_t>(static_cast<uint8_t>(b[9])) << 8);
    off = 10;
  } else {
    if (b.size() < 12) throw Error("truncated .npy header", path);
    hlen = 0;
    for (int i = 0; i < 4; ++i) hlen |= static_cast<size_t>(static_cast<uint8_t>(b[8 + i])) << (8 * i);
    off = 12;
  }
  if (off + hlen > b.size()) throw Error("truncated .npy header", path);
  std::string h = b.substr(off, hlen);
  auto field = [&](const std::string& key) {
    auto k = h.find("'" + key + "'");
    if (k == std::string::npos) throw Error("header has no '" + key + "'", path);
    return h.substr(h.find(':', k) + 1);
  };
  std::string descr = field("descr");
  descr = descr.substr(descr.find('\'') + 1);
  descr = descr.substr(0, descr.find('\''));
  if (field("fortran_order").find("True") < field("fortran_order").find(','))
    throw Error("Fortran-order arrays are not supported", path);
  std::string sh = field("shape");
  sh = sh.substr(sh.find('(') + 1, sh.find(')') - sh.find('(') - 1);
  Shape shape;
  std::istringstream ss(sh);
  for (std::string item; std::getline(ss, item, ',');)
    if (item.find_first_not_of(" ") != std::string::npos) shape.push_back(std::stoll(item));
  DType dt = descr == "<f4"   ? DType::f32
             : descr == "<f8" ? DType::f64
             : descr == "<i8" ? DType::i64
             : descr == "<i4" ? DType::i32
             : descr == "|i1" ? DType::i8
             : descr == "|u1" ? DType::u8
             : descr == "|b1" ? DType::boolean
                              : DType::undefined;
  if (dt == DType::undefined) throw Error("unsupported dtype '" + descr + "' (little-endian only)", path);
  Tensor t(dt, shape);
  if (b.size() - off - hlen < t.bytes())
    throw Error("file is shorter than its shape " + shape_str(shape), path);
  std::memcpy(t.data(), b.data() + off + hlen, t.bytes());
  return t;
}

}  // namespace

Tensor load_tensor_file(const std::string& path, std::string* name) {
  if (name) name->clear();
  if (path.ends_with(".npy")) {
    if (name) *name = fs::path(path).stem().string();
    return load_npy(path);
  }
  return load_pb(path, name);
}

std::vector<NamedTensor> load_input_dir(const std::string& dir_arg, const std::vector<ValueInfo>& inputs) {
  fs::path dir(dir_arg);
  if (!fs::is_directory(dir)) throw Error("not a directory", dir_arg);
  if (fs::is_directory(dir / "test_data_set_0")) dir /= "test_data_set_0";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string f = e.path().filename().string();
    if (e.is_regular_file() && ((f.starts_with("input_") && f.ends_with(".pb")) || f.ends_with(".npy")))
      files.push_back(e.path());
  }
  // input_10.pb after input_9.pb: order by the number when there is one.
  auto key = [](const fs::path& p) {
    std::string s = p.stem().string();
    auto u = s.find_last_of('_');
    try {
      return std::make_pair(std::stoll(s.substr(u + 1)), s);
    } catch (...) {
      return std::make_pair(static_cast<long long>(1) << 40, s);
    }
  };
  std::sort(files.begin(), files.end(),
            [&](const fs::path& a, const fs::path& b) { return key(a) < key(b); });
  if (files.size() != inputs.size())
    throw Error("found " + std::to_string(files.size()) +
                    " input files (input_*.pb or *.npy) but the model has " + std::to_string(inputs.size()) +
                    " inputs",
                dir.string());
  std::vector<std::pair<std::string, Tensor>> loaded;
  for (const auto& f : files) {
    std::string name;
    Tensor t = load_tensor_file(f.string(), &name);
    loaded.emplace_back(name, std::move(t));
  }
  std::vector<NamedTensor> out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto it =
        std::find_if(loaded.begin(), loaded.end(), [&](const auto& l) { return l.first == inputs[i].name; });
    Tensor& t = it != loaded.end() ? it->second : loaded[i].second;
    if (t.dtype() != inputs[i].dtype)
      throw Error(std::string("file holds ") + dtype_name(t.dtype()) + " but the model wants " +
                      dtype_name(inputs[i].dtype),
                  "input '" + inputs[i].name + "' in " + dir.string());
    out.push_back({inputs[i].name, t});
  }
  return out;
}

}  // namespace ortkit::bench
