// Feature encoding ops of the ai.onnx.ml domain, as sklearn-onnx writes them for SimpleImputer (Imputer),
// OneHotEncoder, category tables (CategoryMapper) and the column concatenation of a ColumnTransformer
// (FeatureVectorizer), and ZipMap, which turns a classifier's scores into a sequence of label -> score maps.
#include <cmath>
#include <unordered_map>

#include "ops/ml_transform.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

/// Replaces `replaced_value_*` (NaN matches NaN) by the imputed value of its column (one value, or one per
/// feature of the last axis).
class Imputer : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    const Attrs& a = cc.attr();
    const DType t = cc.input(0).dtype;
    floats_ = t == DType::f32;
    if (!floats_ && t != DType::i64) cc.unsupported(std::string("X of type ") + dtype_name(t));
    const Shape& s = cc.input(0).shape;
    cols_ = s.empty() ? 1 : s.back();
    if (floats_) {
      fvals_ = a.get_floats("imputed_value_floats", {});
      freplace_ = a.get_float("replaced_value_float", 0.f);
    } else {
      ivals_ = a.get_ints("imputed_value_int64s", {});
      ireplace_ = a.get_int("replaced_value_int64", 0);
    }
    const size_t n = floats_ ? fvals_.size() : ivals_.size();
    if (n != 1 && static_cast<int64_t>(n) != cols_)
      cc.fail("imputed_value_" + std::string(floats_ ? "floats" : "int64s") + " has " + std::to_string(n) +
              " values; X has " + std::to_string(cols_) + " features");
    cc.set_output(0, t, s);
  }
  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    Tensor& y = rc.output(0);
    const bool nan = std::isnan(freplace_);
    for (int64_t i = 0; i < x.numel(); ++i) {
      const size_t c = static_cast<size_t>(cols_ ? i % cols_ : 0);
      if (floats_) {
        const float v = x.data_as<float>()[i];
        const bool hit = nan ? std::isnan(v) : v == freplace_;
        y.data_as<float>()[i] = hit ? fvals_[fvals_.size() == 1 ? 0 : c] : v;
      } else {
        const int64_t v = x.data_as<int64_t>()[i];
        y.data_as<int64_t>()[i] = v == ireplace_ ? ivals_[ivals_.size() == 1 ? 0 : c] : v;
      }
    }
  }

 private:
  bool floats_ = true;
  int64_t cols_ = 1;
  std::vector<float> fvals_;
  std::vector<int64_t> ivals_;
  float freplace_ = 0.f;
  int64_t ireplace_ = 0;
};

/// One float column per category after X's axes: 1 where the element is that category. An element in no
/// category gives all zeros, or an error with `zeros` = 0.
class OneHotEncoder : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    const Attrs& a = cc.attr();
    strings_ = a.has("cats_strings");
    if (strings_ == a.has("cats_int64s")) cc.fail("needs exactly one of cats_strings and cats_int64s");
    const DType t = cc.input(0).dtype;
    if (strings_ ? t != DType::string
                 : (t != DType::i64 && t != DType::i32 && t != DType::f32 && t != DType::f64))
      cc.fail(std::string("X of type ") + dtype_name(t) + " does not match cats_" +
              (strings_ ? "strings" : "int64s"));
    str_index_.clear();
    int_index_.clear();
    if (strings_) {
      for (const std::string& c : a.get_strings("cats_strings"))
        str_index_.emplace(c, static_cast<int64_t>(str_index_.size()));
      cats_ = static_cast<int64_t>(a.get_strings("cats_strings").size());
    } else {
      const auto v = a.get_ints("cats_int64s");
      for (size_t k = 0; k < v.size(); ++k) int_index_.emplace(v[k], static_cast<int64_t>(k));
      cats_ = static_cast<int64_t>(v.size());
    }
    zeros_ = a.get_int("zeros", 1) != 0;
    Shape out = cc.input(0).shape;
    out.push_back(cats_);
    cc.set_output(0, DType::f32, out);
  }
  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    float* y = rc.output(0).data_as<float>();
    std::fill(y, y + x.numel() * cats_, 0.f);
    for (int64_t i = 0; i < x.numel(); ++i) {
      int64_t k = -1;
      if (strings_) {
        const auto it = str_index_.find(x.data_as<std::string>()[i]);
        if (it != str_index_.end()) k = it->second;
      } else {
        // A float category is its integer part, as in ONNX Runtime.
        const auto it = int_index_.find(static_cast<int64_t>(number_at(x, i)));
        if (it != int_index_.end()) k = it->second;
      }
      if (k < 0) {
        if (!zeros_) rc.fail("element " + std::to_string(i) + " is in no category (zeros = 0)");
        continue;
      }
      y[i * cats_ + k] = 1.f;
    }
  }

 private:
  bool strings_ = false, zeros_ = true;
  int64_t cats_ = 0;
  std::unordered_map<std::string, int64_t> str_index_;
  std::unordered_map<int64_t, int64_t> int_index_;
};

/// Strings to integers or integers to strings through the paired cats_strings / cats_int64s tables.
class CategoryMapper : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    const Attrs& a = cc.attr();
    const auto s = a.get_strings("cats_strings");
    const auto v = a.get_ints("cats_int64s");
    if (s.size() != v.size())
      cc.fail(std::to_string(s.size()) + " cats_strings but " + std::to_string(v.size()) + " cats_int64s");
    to_int_ = cc.input(0).dtype == DType::string;
    if (!to_int_ && cc.input(0).dtype != DType::i64)
      cc.fail(std::string("X must be string or int64, got ") + dtype_name(cc.input(0).dtype));
    s2i_.clear();
    i2s_.clear();
    for (size_t k = 0; k < s.size(); ++k) {
      s2i_.emplace(s[k], v[k]);
      i2s_.emplace(v[k], s[k]);
    }
    default_int_ = a.get_int("default_int64", -1);
    default_string_ = a.get_string("default_string", "_Unused");
    if (to_int_) {
      cc.set_output(0, DType::i64, cc.input(0).shape);
    } else {
      cc.outputs[0].dtype = DType::string;
      cc.outputs[0].data_dependent = true;
    }
  }
  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    if (to_int_) {
      int64_t* y = rc.output(0).data_as<int64_t>();
      for (int64_t i = 0; i < x.numel(); ++i) {
        const auto it = s2i_.find(x.data_as<std::string>()[i]);
        y[i] = it == s2i_.end() ? default_int_ : it->second;
      }
      return;
    }
    std::string* y = rc.allocate_output(0, DType::string, x.shape()).data_as<std::string>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const auto it = i2s_.find(x.data_as<int64_t>()[i]);
      y[i] = it == i2s_.end() ? default_string_ : it->second;
    }
  }

 private:
  bool to_int_ = true;
  std::unordered_map<std::string, int64_t> s2i_;
  std::unordered_map<int64_t, std::string> i2s_;
  int64_t default_int_ = -1;
  std::string default_string_;
};

/// The inputs' last axes side by side as float columns, each input taking `inputdimensions[k]` columns
/// (cut or padded with zeros).
class FeatureVectorizer : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    dims_ = cc.attr().get_ints("inputdimensions");
    if (dims_.size() != cc.num_inputs())
      cc.fail(std::to_string(dims_.size()) + " inputdimensions for " + std::to_string(cc.num_inputs()) +
              " inputs");
    int64_t total = 0;
    rows_ = -1;
    for (size_t k = 0; k < cc.num_inputs(); ++k) {
      const InputDesc& in = cc.input(k);
      if (in.dtype != DType::f32 && in.dtype != DType::f64 && in.dtype != DType::i64 &&
          in.dtype != DType::i32)
        cc.unsupported(std::string("input of type ") + dtype_name(in.dtype));
      if (dims_[k] < 0 || dims_[k] > (int64_t{1} << 24))
        cc.fail("inputdimensions holds " + std::to_string(dims_[k]) + ", outside [0, 2^24]");
      const int64_t rows =
          in.shape.size() <= 1 ? 1 : shape_numel(in.shape) / std::max<int64_t>(1, in.shape.back());
      if (rows_ >= 0 && rows != rows_)
        cc.fail("input " + std::to_string(k) + " has " + std::to_string(rows) + " rows, input 0 has " +
                std::to_string(rows_));
      rows_ = rows;
      total += dims_[k];
    }
    total_ = total;
    cc.set_output(0, DType::f32, {std::max<int64_t>(rows_, 0), total});
  }
  void run(RunContext& rc) override {
    float* y = rc.output(0).data_as<float>();
    std::fill(y, y + rows_ * total_, 0.f);
    int64_t col = 0;
    for (size_t k = 0; k < dims_.size(); ++k) {
      const Tensor& x = rc.input(k);
      const int64_t width = x.rank() == 0 ? 1 : x.shape().back();
      const int64_t take = std::min(width, dims_[k]);
      for (int64_t r = 0; r < rows_; ++r)
        for (int64_t c = 0; c < take; ++c)
          y[r * total_ + col + c] = static_cast<float>(number_at(x, r * width + c));
      col += dims_[k];
    }
  }

 private:
  std::vector<int64_t> dims_;
  int64_t rows_ = 0, total_ = 0;
};

/// Each row of class scores as a map from the class labels to the scores: the probabilities output
/// sklearn-onnx gives a classifier unless told `zipmap: False` (a sequence of maps).
class ZipMap : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    labels_.load(cc, "classlabels_int64s");
    const InputDesc& x = cc.input(0);
    if (x.dtype != DType::f32) cc.fail(std::string("X must be float32, got ") + dtype_name(x.dtype));
    if (x.shape.empty() || x.shape.size() > 2) cc.fail("X must be [C] or [N, C], got " + shape_str(x.shape));
    if (x.shape.back() != labels_.size())
      cc.fail("X has " + std::to_string(x.shape.back()) + " columns for " + std::to_string(labels_.size()) +
              " class labels");
    if (keys_.empty()) {  // the keys every map shares
      keys_ = Tensor(labels_.strings ? DType::string : DType::i64, {labels_.size()});
      for (int64_t k = 0; k < labels_.size(); ++k) labels_.write(keys_, k, k);
    }
    cc.outputs[0].dtype = DType::sequence;
    cc.outputs[0].data_dependent = true;
  }
  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    const int64_t cols = x.shape().back(), rows = x.rank() == 2 ? x.shape()[0] : 1;
    std::vector<Tensor> maps;
    maps.reserve(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      Tensor values(DType::f32, {cols});
      std::copy_n(x.data_as<float>() + r * cols, cols, values.data_as<float>());
      maps.push_back(Tensor::map_of(keys_, std::move(values)));
    }
    rc.output(0) = Tensor::sequence(DType::map, std::move(maps));
  }

 private:
  ClassLabels labels_;
  Tensor keys_;
};

}  // namespace

void register_ml_encode_ops(OpRegistry& r) {
  r.add(kMlDomain, "ZipMap", 1, kAnyOpset, [] { return std::make_unique<ZipMap>(); });
  r.add(kMlDomain, "Imputer", 1, kAnyOpset, [] { return std::make_unique<Imputer>(); });
  r.add(kMlDomain, "OneHotEncoder", 1, kAnyOpset, [] { return std::make_unique<OneHotEncoder>(); });
  r.add(kMlDomain, "CategoryMapper", 1, kAnyOpset, [] { return std::make_unique<CategoryMapper>(); });
  r.add(kMlDomain, "FeatureVectorizer", 1, kAnyOpset, [] { return std::make_unique<FeatureVectorizer>(); });
}

}  // namespace ortkit::ops
