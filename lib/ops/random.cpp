// Random generators: RandomNormal, RandomUniform (opset 1+), RandomNormalLike, RandomUniformLike (1+),
// Bernoulli (15+) and Multinomial (7+). PyTorch exports torch.randn_like / rand_like / bernoulli /
// multinomial as these (a VAE's sampling step, noise in a diffusion loop). Each node owns a Mersenne Twister:
// seeded by its `seed` attribute when the node has one (the same sequence in every session), else from
// std::random_device; successive runs continue the sequence, as in ONNX Runtime. The plan never folds these
// nodes into constants (runtime/plan.cpp, graph constant folding).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "ops/op_util.h"
#include "ops/registry.h"
#include "ortkit/float16.h"
#include "ortkit/kernels/epilogue.h"

namespace ortkit::ops {
namespace {

constexpr int kOnnxFloat = 1;

std::mt19937_64 make_engine(const Attrs& a) {
  if (a.has("seed")) {
    // The seed is a float attribute; its bits keep 0.5 and 1.5 apart.
    const float s = a.get_float("seed");
    uint32_t bits = 0;
    std::memcpy(&bits, &s, sizeof(bits));
    return std::mt19937_64(bits);
  }
  return std::mt19937_64((static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}());
}

/// A generator node: its engine is seeded once, at the first compile, and then runs on across plans and runs.
class SeededKernel : public OpKernel {
 protected:
  void seed_once(const Attrs& a) {
    if (seeded_) return;
    engine_ = make_engine(a);
    seeded_ = true;
  }
  std::mt19937_64 engine_;

 private:
  bool seeded_ = false;
};

bool float_dtype(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::f16 || t == DType::bf16;
}

void store_float(Tensor& y, int64_t i, double v) {
  switch (y.dtype()) {
    case DType::f32: y.data_as<float>()[i] = static_cast<float>(v); break;
    case DType::f64: y.data_as<double>()[i] = v; break;
    case DType::f16: y.data_as<uint16_t>()[i] = f32_to_f16(static_cast<float>(v)); break;
    default: y.data_as<uint16_t>()[i] = kernels::f32_to_bf16(static_cast<float>(v)); break;
  }
}

/// RandomNormal / RandomUniform and their *Like forms: `like` takes the shape (and by default the type) of
/// input 0; otherwise both come from the attributes.
class RandomFill : public SeededKernel {
 public:
  RandomFill(bool normal, bool like) : normal_(normal), like_(like) {}
  void compile(CompileContext& cc) override {
    const Attrs& a = cc.attr();
    seed_once(a);
    DType dt = DType::f32;
    Shape shape;
    if (like_) {
      dt = a.has("dtype") ? dtype_from_onnx(static_cast<int>(a.get_int("dtype"))) : cc.input(0).dtype;
      shape = cc.input(0).shape;
    } else {
      dt = dtype_from_onnx(static_cast<int>(a.get_int("dtype", kOnnxFloat)));
      const std::vector<int64_t> s = a.get_ints("shape");
      for (int64_t d : s)
        if (d < 0) cc.fail("shape has a negative dimension " + std::to_string(d));
      shape.assign(s.begin(), s.end());
    }
    if (!float_dtype(dt)) cc.unsupported(std::string("output type ") + dtype_name(dt));
    a_ = normal_ ? a.get_float("mean", 0.f) : a.get_float("low", 0.f);
    b_ = normal_ ? a.get_float("scale", 1.f) : a.get_float("high", 1.f);
    if (!normal_ && !(a_ <= b_))
      cc.fail("low " + std::to_string(a_) + " is above high " + std::to_string(b_));
    cc.set_output(0, dt, shape);
  }
  void run(RunContext& rc) override {
    Tensor& y = rc.output(0);
    if (normal_) {
      std::normal_distribution<double> d(a_, b_);
      for (int64_t i = 0; i < y.numel(); ++i) store_float(y, i, d(engine_));
    } else {
      std::uniform_real_distribution<double> d(a_, b_);
      for (int64_t i = 0; i < y.numel(); ++i) store_float(y, i, d(engine_));
    }
  }

 private:
  bool normal_, like_;
  double a_ = 0, b_ = 1;
};

/// 1 with probability x[i], else 0, in the output type (x's by default; any numeric type or bool).
class Bernoulli : public SeededKernel {
 public:
  void compile(CompileContext& cc) override {
    const Attrs& a = cc.attr();
    seed_once(a);
    if (!float_dtype(cc.input(0).dtype))
      cc.fail(std::string("input must be float, got ") + dtype_name(cc.input(0).dtype));
    const DType dt =
        a.has("dtype") ? dtype_from_onnx(static_cast<int>(a.get_int("dtype"))) : cc.input(0).dtype;
    if (dt == DType::undefined || dt == DType::string || dtype_size(dt) == 0 || is_list_dtype(dt))
      cc.unsupported(std::string("output type ") + dtype_name(dt));
    cc.set_output(0, dt, cc.input(0).shape);
  }
  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    Tensor& y = rc.output(0);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double p = number_at(x, i);
      if (!(p >= 0.0 && p <= 1.0))
        rc.fail("probability " + std::to_string(p) + " at index " + std::to_string(i) + " is outside [0, 1]");
      put(y, i, u(engine_) < p);
    }
  }

 private:
  static void put(Tensor& y, int64_t i, bool one) {
    if (float_dtype(y.dtype())) {
      store_float(y, i, one ? 1.0 : 0.0);
      return;
    }
    // Integers and bool: a 1 in the low byte (little-endian) of a zeroed element.
    char* e = static_cast<char*>(y.data()) + i * static_cast<int64_t>(dtype_size(y.dtype()));
    std::memset(e, 0, dtype_size(y.dtype()));
    e[0] = one ? 1 : 0;
  }
};

/// Per row of unnormalized log-probabilities [batch, classes], `sample_size` class indices.
class Multinomial : public SeededKernel {
 public:
  void compile(CompileContext& cc) override {
    const Attrs& a = cc.attr();
    seed_once(a);
    const InputDesc& x = cc.input(0);
    if (!float_dtype(x.dtype)) cc.fail(std::string("input must be float, got ") + dtype_name(x.dtype));
    if (x.shape.size() != 2) cc.fail("input must be [batch, classes], got " + shape_str(x.shape));
    samples_ = a.get_int("sample_size", 1);
    if (samples_ < 0 || samples_ > (int64_t{1} << 24))
      cc.fail("sample_size must be in [0, 2^24], got " + std::to_string(samples_));
    const DType dt = dtype_from_onnx(static_cast<int>(a.get_int("dtype", 6)));  // int32
    if (dt != DType::i32 && dt != DType::i64)
      cc.fail(std::string("dtype must be int32 or int64, got ") + dtype_name(dt));
    weights_.resize(static_cast<size_t>(x.shape[1]));
    cc.set_output(0, dt, {x.shape[0], samples_});
  }
  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    Tensor& y = rc.output(0);
    const int64_t rows = x.shape()[0], classes = x.shape()[1];
    if (classes == 0 && samples_ > 0) rc.fail("no classes to sample from");
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int64_t r = 0; r < rows; ++r) {
      double top = -INFINITY;
      for (int64_t c = 0; c < classes; ++c) top = std::max(top, number_at(x, r * classes + c));
      if (!std::isfinite(top)) rc.fail("row " + std::to_string(r) + " has no finite log-probability");
      // Cumulative weights, each class's exp(x - max) so the largest is 1: a draw is a binary search.
      double sum = 0;
      for (int64_t c = 0; c < classes; ++c) {
        sum += std::exp(number_at(x, r * classes + c) - top);
        weights_[static_cast<size_t>(c)] = sum;
      }
      for (int64_t s = 0; s < samples_; ++s) {
        const double t = u(engine_) * sum;
        const int64_t k = std::min<int64_t>(
            classes - 1, std::upper_bound(weights_.begin(), weights_.end(), t) - weights_.begin());
        if (y.dtype() == DType::i32)
          y.data_as<int32_t>()[r * samples_ + s] = static_cast<int32_t>(k);
        else
          y.data_as<int64_t>()[r * samples_ + s] = k;
      }
    }
  }

 private:
  int64_t samples_ = 1;
  std::vector<double> weights_;  // cumulative, one per class (sized at compile)
};

}  // namespace

void register_random_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "RandomNormal", 1, kAnyOpset, [] { return std::make_unique<RandomFill>(true, false); });
  r.add(kOnnxDomain, "RandomUniform", 1, kAnyOpset,
        [] { return std::make_unique<RandomFill>(false, false); });
  r.add(kOnnxDomain, "RandomNormalLike", 1, kAnyOpset,
        [] { return std::make_unique<RandomFill>(true, true); });
  r.add(kOnnxDomain, "RandomUniformLike", 1, kAnyOpset,
        [] { return std::make_unique<RandomFill>(false, true); });
  r.add(kOnnxDomain, "Bernoulli", 15, kAnyOpset, [] { return std::make_unique<Bernoulli>(); });
  r.add(kOnnxDomain, "Multinomial", 7, kAnyOpset, [] { return std::make_unique<Multinomial>(); });
}

}  // namespace ortkit::ops
