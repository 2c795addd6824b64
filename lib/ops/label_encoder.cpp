// ai.onnx.ml LabelEncoder (opsets 1-4): maps each element through a table of keys and values, with a
// default for keys not in the table. sklearn-onnx puts it behind string and integer category features.
// Keys and values come as keys_strings / keys_int64s / keys_floats (opset 2+) or keys_tensor (opset 4), the
// same for values_* and default_*; a float key NaN matches a NaN input, and -0.0 matches 0.0.
#include <cmath>
#include <cstring>
#include <map>
#include <unordered_map>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

enum class KeyKind { strings, ints, floats };

KeyKind kind_of(DType t) {
  if (t == DType::string) return KeyKind::strings;
  if (t == DType::f32 || t == DType::f64) return KeyKind::floats;
  return KeyKind::ints;
}

bool key_dtype(DType t) {
  return t == DType::string || t == DType::i64 || t == DType::i32 || t == DType::i16 || t == DType::f32 ||
         t == DType::f64;
}

int64_t as_int(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::i16: return t.data_as<int16_t>()[i];
    case DType::i32: return t.data_as<int32_t>()[i];
    default: return t.data_as<int64_t>()[i];
  }
}

/// One of the `<prefix>strings / int64s / floats / tensor` attribute forms as a 1-D tensor.
Tensor table_attr(const CompileContext& cc, const std::string& prefix) {
  const Attrs& a = cc.attr();
  int forms = 0;
  Tensor t;
  if (a.has(prefix + "strings")) {
    const auto v = a.get_strings(prefix + "strings");
    t = Tensor(DType::string, {static_cast<int64_t>(v.size())});
    std::copy(v.begin(), v.end(), t.data_as<std::string>());
    ++forms;
  }
  if (a.has(prefix + "int64s")) {
    const auto v = a.get_ints(prefix + "int64s");
    t = Tensor(DType::i64, {static_cast<int64_t>(v.size())});
    std::copy(v.begin(), v.end(), t.data_as<int64_t>());
    ++forms;
  }
  if (a.has(prefix + "floats")) {
    const auto v = a.get_floats(prefix + "floats");
    t = Tensor(DType::f32, {static_cast<int64_t>(v.size())});
    std::copy(v.begin(), v.end(), t.data_as<float>());
    ++forms;
  }
  if (a.has(prefix + "tensor")) {
    t = a.get_tensor(prefix + "tensor").clone();
    ++forms;
  }
  if (forms != 1)
    cc.fail("needs exactly one of " + prefix + "strings, " + prefix + "int64s, " + prefix + "floats, " +
            prefix + "tensor; got " + std::to_string(forms));
  return t;
}

class LabelEncoder : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    const DType in = cc.input(0).dtype;
    if (!key_dtype(in)) cc.unsupported(std::string("input of type ") + dtype_name(in));
    const Tensor keys = table_attr(cc, "keys_");
    values_ = table_attr(cc, "values_");
    if (!key_dtype(keys.dtype()) || !key_dtype(values_.dtype()))
      cc.unsupported(std::string("a table of ") + dtype_name(keys.dtype()) + " to " +
                     dtype_name(values_.dtype()));
    if (kind_of(keys.dtype()) != kind_of(in))
      cc.fail(std::string("the keys are ") + dtype_name(keys.dtype()) + ", the input is " + dtype_name(in));
    if (keys.numel() != values_.numel())
      cc.fail(std::to_string(keys.numel()) + " keys but " + std::to_string(values_.numel()) + " values");
    kind_ = kind_of(in);
    index_str_.clear();
    index_int_.clear();
    index_flt_.clear();
    nan_index_ = -1;
    // The first of duplicate keys wins, as in a table built by insertion.
    for (int64_t i = 0; i < keys.numel(); ++i) {
      if (kind_ == KeyKind::strings) {
        index_str_.emplace(keys.data_as<std::string>()[i], i);
      } else if (kind_ == KeyKind::ints) {
        index_int_.emplace(as_int(keys, i), i);
      } else {
        const double k = number_at(keys, i);
        if (std::isnan(k)) {
          if (nan_index_ < 0) nan_index_ = i;
        } else {
          index_flt_.emplace(k, i);
        }
      }
    }
    default_ = default_value(cc);
    if (values_.dtype() == DType::string) {
      cc.outputs[0].dtype = DType::string;
      cc.outputs[0].data_dependent = true;
    } else {
      cc.set_output(0, values_.dtype(), cc.input(0).shape);
    }
  }

  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    const int64_t n = x.numel();
    const bool str_out = values_.dtype() == DType::string;
    Tensor& y = str_out ? rc.allocate_output(0, DType::string, x.shape()) : rc.output(0);
    const size_t es = dtype_size(values_.dtype());
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = lookup(x, i);
      const Tensor& src = k >= 0 ? values_ : default_;
      const int64_t at = k >= 0 ? k : 0;
      if (str_out)
        y.data_as<std::string>()[i] = src.data_as<std::string>()[at];
      else
        std::memcpy(static_cast<char*>(y.data()) + i * static_cast<int64_t>(es),
                    static_cast<const char*>(src.data()) + at * static_cast<int64_t>(es), es);
    }
  }

 private:
  int64_t lookup(const Tensor& x, int64_t i) const {
    if (kind_ == KeyKind::strings) {
      const auto it = index_str_.find(x.data_as<std::string>()[i]);
      return it == index_str_.end() ? -1 : it->second;
    }
    if (kind_ == KeyKind::ints) {
      const auto it = index_int_.find(as_int(x, i));
      return it == index_int_.end() ? -1 : it->second;
    }
    const double v = number_at(x, i);
    if (std::isnan(v)) return nan_index_;
    const auto it = index_flt_.find(v);
    return it == index_flt_.end() ? -1 : it->second;
  }

  /// default_tensor, or default_string / default_int64 / default_float, in the values' type.
  Tensor default_value(const CompileContext& cc) const {
    const Attrs& a = cc.attr();
    const DType vt = values_.dtype();
    Tensor d(vt, {1});
    if (a.has("default_tensor")) {
      const Tensor& t = a.get_tensor("default_tensor");
      if (t.dtype() != vt || t.numel() != 1)
        cc.fail("default_tensor must be one " + std::string(dtype_name(vt)) + " value, got " +
                dtype_name(t.dtype()) + " " + shape_str(t.shape()));
      return t.clone();
    }
    switch (vt) {
      case DType::string: d.data_as<std::string>()[0] = a.get_string("default_string", "_Unused"); break;
      case DType::f32: d.data_as<float>()[0] = a.get_float("default_float", -0.f); break;
      case DType::f64: d.data_as<double>()[0] = a.get_float("default_float", -0.f); break;
      case DType::i64: d.data_as<int64_t>()[0] = a.get_int("default_int64", -1); break;
      case DType::i32: d.data_as<int32_t>()[0] = static_cast<int32_t>(a.get_int("default_int64", -1)); break;
      default: d.data_as<int16_t>()[0] = static_cast<int16_t>(a.get_int("default_int64", -1)); break;
    }
    return d;
  }

  KeyKind kind_ = KeyKind::strings;
  Tensor values_, default_;
  std::unordered_map<std::string, int64_t> index_str_;
  std::unordered_map<int64_t, int64_t> index_int_;
  std::map<double, int64_t> index_flt_;
  int64_t nan_index_ = -1;
};

}  // namespace

void register_label_encoder_ops(OpRegistry& r) {
  r.add(kMlDomain, "LabelEncoder", 1, kAnyOpset, [] { return std::make_unique<LabelEncoder>(); });
}

}  // namespace ortkit::ops
