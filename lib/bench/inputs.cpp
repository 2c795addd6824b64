#include "ortkit/bench/inputs.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <random>

#include "ortkit/error.h"
#include "ortkit/float16.h"
#include "ortkit/narrow_types.h"

namespace ortkit::bench {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
bool contains(const std::string& s, const char* what) {
  return s.find(what) != std::string::npos;
}

bool is_integer(DType t) {
  switch (t) {
    case DType::i8:
    case DType::u8:
    case DType::i16:
    case DType::u16:
    case DType::i32:
    case DType::u32:
    case DType::i64:
    case DType::u64: return true;
    default: return false;
  }
}

std::string dims_str(const ValueInfo& in) {
  if (!in.has_shape) return "?";
  std::string s = "[";
  for (size_t d = 0; d < in.dims.size(); ++d) {
    if (d) s += ",";
    const Dim& dim = in.dims[d];
    s += dim.value >= 0 ? std::to_string(dim.value) : (dim.symbol.empty() ? "?" : dim.symbol);
  }
  return s + "]";
}

// Write `v` as element i of a tensor of any numeric dtype.
void store(Tensor& t, int64_t i, double v) {
  void* p = t.data();
  switch (t.dtype()) {
    case DType::f32: static_cast<float*>(p)[i] = static_cast<float>(v); break;
    case DType::f64: static_cast<double*>(p)[i] = v; break;
    case DType::i8: static_cast<int8_t*>(p)[i] = static_cast<int8_t>(v); break;
    case DType::u8: static_cast<uint8_t*>(p)[i] = static_cast<uint8_t>(v); break;
    case DType::i16: static_cast<int16_t*>(p)[i] = static_cast<int16_t>(v); break;
    case DType::u16: static_cast<uint16_t*>(p)[i] = static_cast<uint16_t>(v); break;
    case DType::i32: static_cast<int32_t*>(p)[i] = static_cast<int32_t>(v); break;
    case DType::u32: static_cast<uint32_t*>(p)[i] = static_cast<uint32_t>(v); break;
    case DType::i64: static_cast<int64_t*>(p)[i] = static_cast<int64_t>(v); break;
    case DType::u64: static_cast<uint64_t*>(p)[i] = static_cast<uint64_t>(v); break;
    case DType::boolean: static_cast<bool*>(p)[i] = v != 0; break;
    case DType::bf16: {
      float f = static_cast<float>(v);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      static_cast<uint16_t*>(p)[i] = static_cast<uint16_t>(bits >> 16);
      break;
    }
    case DType::f16: static_cast<uint16_t*>(p)[i] = f32_to_f16(static_cast<float>(v)); break;
    default:  // the narrow types by Cast's rules (saturating for float8); string: left zero
      if (is_narrow(t.dtype())) static_cast<uint8_t*>(p)[i] = narrow_from_float(t.dtype(), v);
      break;
  }
}

}  // namespace

DimRole dim_role(const ValueInfo& in, size_t d, bool model_has_past) {
  const Dim& dim = in.dims[d];
  if (dim.value >= 0) return DimRole::fixed;
  std::string s = lower(dim.symbol);
  if (contains(s, "total") || (contains(s, "past") && contains(s, "+"))) return DimRole::total;
  if (contains(s, "past")) return DimRole::past;
  DimRole r = DimRole::unknown;
  if (contains(s, "seq") || contains(s, "length") || contains(s, "token"))
    r = DimRole::seq;
  else if (contains(s, "batch") || d == 0)
    return DimRole::batch;
  else if (d == 1 && in.dims.size() == 2 && is_integer(in.dtype))
    r = DimRole::seq;
  // The mask of a decoder with a KV cache covers the cached tokens and the new ones.
  if (r == DimRole::seq && model_has_past && contains(lower(in.name), "mask")) return DimRole::total;
  return r;
}

bool has_past_inputs(const std::vector<ValueInfo>& inputs) {
  for (const auto& in : inputs)
    if (in.has_shape)
      for (size_t d = 0; d < in.dims.size(); ++d)
        if (dim_role(in, d) == DimRole::past) return true;
  return false;
}

InputLayout analyze_inputs(const std::vector<ValueInfo>& inputs) {
  InputLayout l;
  l.has_past_dim = has_past_inputs(inputs);
  for (const auto& in : inputs) {
    if (!l.summary.empty()) l.summary += ", ";
    l.summary += in.name + ":" + dtype_name(in.dtype) + dims_str(in);
    if (!in.has_shape) continue;
    for (size_t d = 0; d < in.dims.size(); ++d) {
      DimRole r = dim_role(in, d, l.has_past_dim);
      if (r == DimRole::batch) l.has_batch_dim = true;
      if (r == DimRole::seq || r == DimRole::total) l.has_seq_dim = true;
    }
    if (!in.dims.empty() && in.dims[0].value >= 0 && l.fixed_batch < 0) l.fixed_batch = in.dims[0].value;
    if (in.dims.size() == 2 && is_integer(in.dtype) && in.dims[1].value >= 0 && l.fixed_seq < 0)
      l.fixed_seq = in.dims[1].value;
  }
  if (l.has_batch_dim) l.fixed_batch = -1;
  return l;
}

void check_sweep_fits(const std::string& model, const std::vector<ValueInfo>& inputs,
                      const std::vector<int64_t>& batch, const std::vector<int64_t>& seq,
                      const std::vector<int64_t>& past) {
  InputLayout l = analyze_inputs(inputs);
  std::string where = "model '" + model + "' (inputs: " + l.summary + ")";
  for (const auto& in : inputs) {
    if (!in.has_shape)
      throw Error("input '" + in.name + "' has no shape in the model; use --input-dir", where);
    for (size_t d = 0; d < in.dims.size(); ++d)
      if (dim_role(in, d, l.has_past_dim) == DimRole::unknown)
        throw Error("cannot choose a value for dim " + std::to_string(d) + " ('" + in.dims[d].symbol +
                        "') of input '" + in.name + "': it is neither batch nor sequence; use --input-dir",
                    where);
  }
  if (!seq.empty() && !l.has_seq_dim)
    throw Error("the model has no sequence dimension, so it cannot run a --seq sweep; drop --seq", where);
  bool nonzero_past = std::any_of(past.begin(), past.end(), [](int64_t p) { return p != 0; });
  if (nonzero_past && !l.has_past_dim)
    throw Error("the model has no past (KV-cache) inputs, so it cannot run a --past sweep; drop --past",
                where);
  if (!l.has_batch_dim) {
    int64_t fixed = l.fixed_batch < 0 ? 1 : l.fixed_batch;
    for (int64_t b : batch)
      if (b != fixed)
        throw Error("the model has a fixed batch of " + std::to_string(fixed) + ", so it cannot run batch " +
                        std::to_string(b) + "; drop --batch or use --batch " + std::to_string(fixed),
                    where);
  }
}

GeneratedInputs make_inputs(const Session& session, int64_t batch, int64_t seq, double padding,
                            uint64_t seed, int64_t past) {
  GeneratedInputs g;
  std::mt19937_64 rng(seed);
  if (past < 0) past = 0;
  const int64_t cur = seq > 0 ? seq : 1;
  bool model_has_past = has_past_inputs(session.inputs());
  for (const auto& in : session.inputs()) {
    Shape shape;
    bool is_cache = false;
    for (size_t d = 0; d < in.dims.size(); ++d) {
      switch (dim_role(in, d, model_has_past)) {
        case DimRole::fixed: shape.push_back(in.dims[d].value); break;
        case DimRole::batch: shape.push_back(batch); break;
        case DimRole::seq: shape.push_back(cur); break;
        case DimRole::past:
          shape.push_back(past);
          is_cache = true;
          break;
        case DimRole::total: shape.push_back(past + cur); break;
        case DimRole::unknown:
          throw Error("cannot choose a value for dim '" + in.dims[d].symbol + "'", "input '" + in.name + "'");
      }
    }
    Tensor t(in.dtype, shape);
    int64_t n = t.numel();
    int64_t last = shape.empty() ? 1 : std::max<int64_t>(shape.back(), 1);
    std::string name = lower(in.name);
    if (in.dtype == DType::string)
      throw Error("a string input cannot be made up; give it as a TensorProto file with --input-dir",
                  "input '" + in.name + "'");
    if (is_integer(in.dtype) || in.dtype == DType::boolean) {
      if (contains(name, "mask")) {
        int64_t pad = std::min<int64_t>(static_cast<int64_t>(padding * static_cast<double>(last)), last - 1);
        for (int64_t i = 0; i < n; ++i) store(t, i, (i % last) < last - pad ? 1 : 0);
      } else if (contains(name, "token_type") || contains(name, "segment")) {
        // zeros already
      } else if (contains(name, "position")) {
        // The new tokens follow the cached ones.
        int64_t first = model_has_past && last == cur ? past : 0;
        for (int64_t i = 0; i < n; ++i) store(t, i, static_cast<double>(first + i % last));
      } else {
        int64_t bound = session.index_bound(in.name);
        if (bound <= 0) {
          bound = 2;
          g.notes.push_back("index range of input '" + in.name + "' unknown; values in [0, 2)");
        }
        if (in.dtype == DType::u8 || in.dtype == DType::i8) bound = std::min<int64_t>(bound, 128);
        std::uniform_int_distribution<int64_t> dist(0, bound - 1);
        for (int64_t i = 0; i < n; ++i) store(t, i, static_cast<double>(dist(rng)));
      }
    } else {
      // A KV cache holds keys and values of earlier tokens: centred, like real activations.
      std::uniform_real_distribution<double> dist(is_cache ? -1.0 : 0.0, 1.0);
      for (int64_t i = 0; i < n; ++i) store(t, i, dist(rng));
    }
    g.tensors.push_back({in.name, std::move(t)});
  }
  return g;
}

void shape_of_inputs(const std::vector<ValueInfo>& infos, const std::vector<NamedTensor>& tensors,
                     int64_t& batch, int64_t& seq) {
  batch = -1;
  seq = -1;
  for (size_t i = 0; i < infos.size() && i < tensors.size(); ++i) {
    const Shape& s = tensors[i].tensor.shape();
    if (batch < 0 && !s.empty()) batch = s[0];
    for (size_t d = 0; d < infos[i].dims.size() && d < s.size(); ++d)
      if (seq < 0 && dim_role(infos[i], d) == DimRole::seq) seq = s[d];
  }
  if (batch < 0) batch = 1;
}

}  // namespace ortkit::bench
