// ai.onnx.ml feature ops that sklearn-onnx pipelines put in front of a model: ArrayFeatureExtractor
// (columns of the last axis picked by index) and Binarizer (x > threshold as 1 or 0, in x's type).
// The rest of the domain: label_encoder.cpp, tree_ensemble.cpp, ml_linear.cpp, ml_encode.cpp.
#include <cstring>

#include "ops/registry.h"

namespace ortkit::ops {
namespace {

class ArrayFeatureExtractor : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    cc.require_dtype(0, {DType::f32, DType::f64, DType::i64, DType::i32});
    cc.require_dtype(1, {DType::i64});
    const InputDesc &x = cc.input(0), &y = cc.input(1);
    if (x.shape_known && x.shape.empty()) cc.fail("X must have at least one axis");
    if (!x.shape_known || !y.shape_known) {
      cc.outputs[0].dtype = x.dtype;
      cc.outputs[0].data_dependent = true;
      dynamic_ = true;
      return;
    }
    dynamic_ = false;
    cc.set_output(0, x.dtype, out_shape(x.shape, shape_numel(y.shape)));
  }
  void run(RunContext& rc) override {
    const Tensor &x = rc.input(0), &y = rc.input(1);
    if (x.rank() == 0) rc.fail("X must have at least one axis");
    const int64_t picks = y.numel(), cols = x.shape().back();
    Tensor& z = dynamic_ ? rc.allocate_output(0, x.dtype(), out_shape(x.shape(), picks)) : rc.output(0);
    const int64_t* idx = y.data_as<int64_t>();
    for (int64_t j = 0; j < picks; ++j)
      if (idx[j] < 0 || idx[j] >= cols)
        rc.fail("index " + std::to_string(idx[j]) + " is out of range for the last axis of " +
                shape_str(x.shape()));
    const size_t es = dtype_size(x.dtype());
    const int64_t rows = cols ? x.numel() / cols : 0;
    const char* src = static_cast<const char*>(x.data());
    char* dst = static_cast<char*>(z.data());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < picks; ++j)
        std::memcpy(dst + (r * picks + j) * static_cast<int64_t>(es),
                    src + (r * cols + idx[j]) * static_cast<int64_t>(es), es);
  }

 private:
  /// X's shape with the last axis replaced by the number of picks; a 1-D X gives [1, picks].
  static Shape out_shape(const Shape& x, int64_t picks) {
    Shape s = x.size() == 1 ? Shape{1} : Shape(x.begin(), x.end() - 1);
    s.push_back(picks);
    return s;
  }
  bool dynamic_ = false;
};

class Binarizer : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    cc.require_dtype(0, {DType::f32, DType::f64, DType::i64, DType::i32});
    threshold_ = cc.attr().get_float("threshold", 0.f);
    cc.set_output(0, cc.input(0).dtype, cc.input(0).shape);
  }
  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    Tensor& y = rc.output(0);
    switch (x.dtype()) {
      case DType::f32: apply<float>(x, y, rc); break;
      case DType::f64: apply<double>(x, y, rc); break;
      case DType::i64: apply<int64_t>(x, y, rc); break;
      default: apply<int32_t>(x, y, rc); break;
    }
  }

 private:
  template <class T>
  void apply(const Tensor& x, Tensor& y, const RunContext& rc) const {
    const T* in = x.data_as<T>();
    T* out = y.data_as<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double v = static_cast<double>(in[i]);
      // A NaN is neither side of the threshold: an error, as in ONNX Runtime.
      if (v != v) rc.fail("input value " + std::to_string(i) + " is NaN");
      out[i] = v > threshold_ ? T(1) : T(0);
    }
  }
  double threshold_ = 0;
};

}  // namespace

void register_ml_basic_ops(OpRegistry& r) {
  r.add(kMlDomain, "ArrayFeatureExtractor", 1, kAnyOpset,
        [] { return std::make_unique<ArrayFeatureExtractor>(); });
  r.add(kMlDomain, "Binarizer", 1, kAnyOpset, [] { return std::make_unique<Binarizer>(); });
}

}  // namespace ortkit::ops
