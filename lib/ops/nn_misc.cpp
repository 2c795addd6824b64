// Smaller neural-network ops: PRelu (numpy broadcast of the slope), InstanceNormalization, LRN,
// MeanVarianceNormalization, Dropout (inference: identity + all-true mask), Hardmax (opset < 13: input
// coerced to 2-D at `axis`; 13+: one axis), MaxUnpool and Det.
// Statistics are accumulated in double: these ops are rare and small, accuracy beats speed here.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/broadcast.h"
#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

// ------------------------------------------------------------------------------------------------ PRelu

class PReluOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64, DType::i32, DType::i64});
    if (ctx.input(1).dtype != ctx.input(0).dtype) ctx.fail("X and slope have different types");
    const Shape& xs = ctx.input(0).shape;
    Shape ss = ctx.input(1).shape;
    // Before opset 7 a slope of C values (Caffe2's PReLU, as PyTorch exported it) is one per channel,
    // X's dimension 1, whatever X's rank; from opset 7 on it broadcasts numpy-style.
    per_channel_.active = ctx.node->opset < 7 && ss.size() == 1 && xs.size() >= 2 && ss[0] == xs[1];
    per_channel_.axis = 1;
    if (per_channel_.active) ss = aligned_at_axis(ss, xs.size(), 1);
    // Unidirectional broadcast: the slope broadcasts to X, never the other way.
    if (broadcast_shapes(xs, ss, ctx.node->describe()) != xs)
      ctx.fail("slope " + shape_str(ss) + " does not broadcast to X " + shape_str(xs));
    ctx.set_output(0, ctx.input(0).dtype, xs);
  }
  void run(RunContext& ctx) override {
    Tensor view;
    const Tensor& x = ctx.input(0);
    const Tensor& slope = per_channel_.b(x, ctx.input(1), view);
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int32_t> ||
                    std::is_same_v<T, int64_t>)
        broadcast_binary<T, T, T>(x, slope, ctx.output(0), ctx.threading,
                                  [](T x, T s) { return x < 0 ? static_cast<T>(x * s) : x; });
    });
  }

 private:
  LegacyBroadcast per_channel_;
};

// ------------------------------------------------------------------------------------------------ InstanceNormalization

class InstanceNormOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    const Shape& xs = ctx.input(0).shape;
    if (xs.size() < 2) ctx.fail("X must have rank >= 2 (N, C, ...)");
    for (size_t i = 1; i < 3; ++i) {
      ctx.require_dtype(i, {DType::f32});
      if (ctx.input(i).shape.size() != 1 || ctx.input(i).shape[0] != xs[1])
        ctx.fail("scale and B must be 1-D with C values");
    }
    eps_ = ctx.attr().get_float("epsilon", 1e-5f);
    ctx.set_output(0, DType::f32, xs);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int64_t N = x.shape()[0], C = x.shape()[1], P = C ? x.numel() / std::max<int64_t>(1, N * C) : 0;
    const float *px = x.data_as<float>(), *sc = ctx.input(1).data_as<float>(), *b = ctx.input(2).data_as<float>();
    float* py = ctx.output(0).data_as<float>();
    const double eps = eps_;
    parallel_for(ctx.threading, N * C, [&](int64_t nc) {
      const float* xr = px + nc * P;
      float* yr = py + nc * P;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < P; ++i) mean += xr[i];
      mean /= static_cast<double>(std::max<int64_t>(P, 1));
      for (int64_t i = 0; i < P; ++i) var += (xr[i] - mean) * (xr[i] - mean);
      var /= static_cast<double>(std::max<int64_t>(P, 1));
      const int64_t c = nc % C;
      const double k = sc[c] / std::sqrt(var + eps);
      for (int64_t i = 0; i < P; ++i) yr[i] = static_cast<float>((xr[i] - mean) * k + b[c]);
    });
  }

 private:
  float eps_ = 1e-5f;
};

// ------------------------------------------------------------------------------------------------ LRN

class LrnOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    const Attrs& a = ctx.attr();
    size_ = a.get_int("size");
    if (size_ < 1) ctx.fail("size must be >= 1");
    alpha_ = a.get_float("alpha", 1e-4f);
    beta_ = a.get_float("beta", 0.75f);
    bias_ = a.get_float("bias", 1.f);
    if (ctx.input(0).shape.size() < 2) ctx.fail("X must have rank >= 2 (N, C, ...)");
    ctx.set_output(0, DType::f32, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int64_t N = x.shape()[0], C = x.shape()[1];
    if (x.numel() == 0) return;
    const int64_t P = x.numel() / (N * C);
    const int64_t lo = (size_ - 1) / 2, hi = size_ - 1 - lo;  // floor / ceil of (size-1)/2
    const float* px = x.data_as<float>();
    float* py = ctx.output(0).data_as<float>();
    const double k = static_cast<double>(alpha_) / static_cast<double>(size_);
    const double bias = bias_, beta = beta_;
    parallel_for(ctx.threading, N * C, [&](int64_t nc) {
      const int64_t n = nc / C, c = nc % C;
      const int64_t c0 = std::max<int64_t>(0, c - lo), c1 = std::min<int64_t>(C - 1, c + hi);
      const float* xn = px + n * C * P;
      for (int64_t i = 0; i < P; ++i) {
        double sq = 0;
        for (int64_t j = c0; j <= c1; ++j) sq += static_cast<double>(xn[j * P + i]) * xn[j * P + i];
        py[nc * P + i] = static_cast<float>(xn[c * P + i] / std::pow(bias + k * sq, beta));
      }
    });
  }

 private:
  int64_t size_ = 1;
  float alpha_ = 0, beta_ = 0, bias_ = 0;
};

// ------------------------------------------------------------------------------------------------ MVN

/// y = (x - mean) / (sqrt(var) + 1e-9) with mean and var over `axes` (default N and spatial: 0, 2, 3).
class MvnOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    const Shape& xs = ctx.input(0).shape;
    const int64_t rank = static_cast<int64_t>(xs.size());
    if (rank > kMaxBroadcastRank) ctx.unsupported("rank above 8");
    std::vector<int64_t> axes = ctx.attr().get_ints("axes", {0, 2, 3});
    reduced_.assign(static_cast<size_t>(rank), false);
    for (int64_t ax : axes) reduced_[static_cast<size_t>(normalize_axis(ax, rank, ctx.node->describe()))] = true;
    groups_ = 1;
    for (int64_t d = 0; d < rank; ++d)
      if (!reduced_[static_cast<size_t>(d)]) groups_ *= xs[static_cast<size_t>(d)];
    ctx.scratch_bytes = static_cast<size_t>(2 * groups_) * sizeof(double);
    ctx.set_output(0, DType::f32, xs);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int64_t n = x.numel();
    if (n == 0) return;
    const int rank = static_cast<int>(x.rank());
    // Group index of every element: the mixed-radix number of its kept coordinates.
    int64_t gstride[kMaxBroadcastRank] = {}, dims[kMaxBroadcastRank] = {};
    int64_t gs = 1;
    for (int d = rank - 1; d >= 0; --d) {
      dims[d] = x.shape()[static_cast<size_t>(d)];
      if (!reduced_[static_cast<size_t>(d)]) {
        gstride[d] = gs;
        gs *= dims[d];
      }
    }
    double* sum = static_cast<double*>(ctx.scratch);
    double* sq = sum + groups_;
    std::fill(sum, sum + 2 * groups_, 0.0);
    const float* px = x.data_as<float>();
    float* py = ctx.output(0).data_as<float>();
    auto walk = [&](auto&& f) {
      int64_t idx[kMaxBroadcastRank] = {};
      int64_t g = 0;
      for (int64_t i = 0; i < n; ++i) {
        f(i, g);
        for (int d = rank - 1; d >= 0; --d) {  // increment the coordinate counter, tracking g
          g += gstride[d];
          if (++idx[d] < dims[d]) break;
          g -= gstride[d] * dims[d];
          idx[d] = 0;
        }
      }
    };
    walk([&](int64_t i, int64_t g) { sum[g] += px[i]; });
    const double cnt = static_cast<double>(n / groups_);
    for (int64_t g = 0; g < groups_; ++g) sum[g] /= cnt;
    walk([&](int64_t i, int64_t g) { sq[g] += (px[i] - sum[g]) * (px[i] - sum[g]); });
    for (int64_t g = 0; g < groups_; ++g) sq[g] = 1.0 / (std::sqrt(sq[g] / cnt) + 1e-9);
    walk([&](int64_t i, int64_t g) { py[i] = static_cast<float>((px[i] - sum[g]) * sq[g]); });
  }

 private:
  std::vector<bool> reduced_;
  int64_t groups_ = 1;
};

// ------------------------------------------------------------------------------------------------ Dropout

/// Inference Dropout: Y aliases X; the optional mask is all true (opset < 10: all ones of X's type).
/// opset 12+ training_mode=true is random unless the ratio is 0: that case is refused (Unsupported).
class DropoutOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    const int opset = ctx.node->opset;
    const DType t = ctx.input(0).dtype;
    if (t != DType::f32 && t != DType::f64 && t != DType::f16 && t != DType::bf16)
      ctx.unsupported(std::string("Dropout on ") + dtype_name(t));
    ctx.set_output(0, t, ctx.input(0).shape);
    ctx.outputs[0].alias_of_input = 0;
    if (ctx.outputs.size() > 1) ctx.set_output(1, opset >= 10 ? DType::boolean : t, ctx.input(0).shape);
    if (opset >= 12 && ctx.has_input(1)) {
      const DType rt = ctx.input(1).dtype;
      if (rt != DType::f32 && rt != DType::f64) ctx.unsupported("ratio must be float or double");
      if (shape_numel(ctx.input(1).shape) != 1) ctx.fail("ratio must be a scalar");
    }
    if (opset >= 12 && ctx.has_input(2)) {
      if (ctx.input(2).dtype != DType::boolean) ctx.fail("training_mode must be bool");
      if (shape_numel(ctx.input(2).shape) != 1) ctx.fail("training_mode must be a scalar");
    }
  }
  void run(RunContext& ctx) override {
    if (ctx.node->opset >= 12 && ctx.has_input(2) && ctx.input(2).data_as<bool>()[0]) {
      double ratio = 0.5;
      if (ctx.has_input(1))
        ratio = ctx.input(1).dtype() == DType::f64 ? ctx.input(1).data_as<double>()[0]
                                                   : ctx.input(1).data_as<float>()[0];
      if (ratio != 0.0)
        throw Unsupported("Dropout in training mode with ratio " + std::to_string(ratio) +
                              " (random masks are not implemented)",
                          ctx.node->describe());
    }
    if (ctx.outputs.size() > 1 && ctx.outputs[1]) {
      Tensor& m = ctx.output(1);
      switch (m.dtype()) {
        case DType::boolean: std::fill(m.data_as<bool>(), m.data_as<bool>() + m.numel(), true); break;
        case DType::f32: std::fill(m.data_as<float>(), m.data_as<float>() + m.numel(), 1.f); break;
        case DType::f64: std::fill(m.data_as<double>(), m.data_as<double>() + m.numel(), 1.0); break;
        default:  // f16 / bf16 one
          std::fill(m.data_as<uint16_t>(), m.data_as<uint16_t>() + m.numel(),
                    m.dtype() == DType::f16 ? uint16_t{0x3C00} : uint16_t{0x3F80});
      }
    }
  }
};

// ------------------------------------------------------------------------------------------------ Hardmax

class HardmaxOp : public OpKernel {
 public:
  explicit HardmaxOp(bool coerce) : coerce_(coerce) {}
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64});
    const Shape& s = ctx.input(0).shape;
    const int64_t rank = static_cast<int64_t>(s.size());
    if (rank == 0) ctx.fail("Hardmax needs rank >= 1");
    const int64_t a = normalize_axis(ctx.attr().get_int("axis", coerce_ ? 1 : -1), rank, ctx.node->describe(),
                                     coerce_);  // coerced form allows axis == rank (rows of one)
    outer_ = 1, len_ = 1, inner_ = 1;
    for (int64_t d = 0; d < a; ++d) outer_ *= s[static_cast<size_t>(d)];
    if (coerce_) {
      for (int64_t d = a; d < rank; ++d) len_ *= s[static_cast<size_t>(d)];
    } else {
      len_ = s[static_cast<size_t>(a)];
      for (int64_t d = a + 1; d < rank; ++d) inner_ *= s[static_cast<size_t>(d)];
    }
    ctx.set_output(0, ctx.input(0).dtype, s);
  }
  void run(RunContext& ctx) override {
    if (ctx.input(0).dtype() == DType::f64) return go<double>(ctx);
    go<float>(ctx);
  }

 private:
  template <class T>
  void go(RunContext& ctx) {
    const T* x = ctx.input(0).data_as<T>();
    T* y = ctx.output(0).data_as<T>();
    const int64_t len = len_, inner = inner_;
    std::fill(y, y + ctx.output(0).numel(), T(0));
    if (len == 0) return;
    parallel_range(ctx.threading, outer_ * inner, 1024, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const int64_t o = r / inner, i = r % inner;
        const T* xr = x + o * len * inner + i;
        int64_t best = 0;  // first maximum wins, like numpy argmax
        for (int64_t k = 1; k < len; ++k)
          if (xr[k * inner] > xr[best * inner]) best = k;
        y[o * len * inner + i + best * inner] = T(1);
      }
    });
  }
  bool coerce_;
  int64_t outer_ = 1, len_ = 1, inner_ = 1;
};

// ------------------------------------------------------------------------------------------------ MaxUnpool

/// Y (zeros) gets X[i] at flat position I[i] (MaxPool's indices, flat over the whole tensor) of the
/// inferred output, (in - 1) * stride + kernel - pads per spatial dim. A larger output_shape input pads
/// that result at the end of each dim (indices keep their coordinates), like ONNX Runtime and the
/// backend test data.
class MaxUnpoolOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64});
    ctx.require_dtype(1, {DType::i64});
    const Shape& xs = ctx.input(0).shape;
    if (ctx.input(1).shape != xs) ctx.fail("I must have X's shape");
    if (xs.size() < 3) ctx.fail("X must have rank >= 3 (N, C, spatial...)");
    if (xs.size() > static_cast<size_t>(kMaxBroadcastRank)) ctx.unsupported("rank above 8");
    const size_t nd = xs.size() - 2;
    const Attrs& a = ctx.attr();
    const auto k = a.get_ints("kernel_shape");
    const auto s = a.get_ints("strides", std::vector<int64_t>(nd, 1));
    const auto p = a.get_ints("pads", std::vector<int64_t>(2 * nd, 0));
    if (k.size() != nd || s.size() != nd || p.size() != 2 * nd)
      ctx.fail("kernel_shape/strides/pads have the wrong length");
    inferred_ = {xs[0], xs[1]};
    for (size_t i = 0; i < nd; ++i) inferred_.push_back((xs[2 + i] - 1) * s[i] + k[i] - p[i] - p[i + nd]);
    Shape out = inferred_;
    if (ctx.has_input(2)) {
      std::vector<int64_t> os;
      if (const_ints(ctx, 2, os)) {
        check_shape(os, [&](const std::string& w) { ctx.fail(w); });
        out = os;
      } else {
        ctx.outputs[0].data_dependent = true;
        ctx.outputs[0].dtype = ctx.input(0).dtype;
        return;
      }
    }
    ctx.set_output(0, ctx.input(0).dtype, out);
  }
  void run(RunContext& ctx) override {
    Tensor* y = &ctx.output(0);
    if (ctx.has_input(2) && y->empty()) {
      const Tensor& os = ctx.input(2);
      Shape out(static_cast<size_t>(os.numel()));
      for (int64_t i = 0; i < os.numel(); ++i) out[static_cast<size_t>(i)] = int_at(os, i);
      check_shape(out, [&](const std::string& w) { ctx.fail(w); });
      y = &ctx.allocate_output(0, ctx.input(0).dtype(), out);
    }
    if (ctx.input(0).dtype() == DType::f64) return go<double>(ctx, *y);
    go<float>(ctx, *y);
  }

 private:
  template <class F>
  void check_shape(const Shape& os, F&& fail) const {
    if (os.size() != inferred_.size()) fail("output_shape must have X's rank");
    for (size_t d = 0; d < os.size(); ++d)
      if (os[d] < inferred_[d] || (d < 2 && os[d] != inferred_[d]))
        fail("output_shape " + shape_str(os) + " is smaller than the unpooled shape " + shape_str(inferred_));
  }

  template <class T>
  void go(RunContext& ctx, Tensor& y) {
    const Tensor &x = ctx.input(0), &ix = ctx.input(1);
    T* py = y.data_as<T>();
    std::fill(py, py + y.numel(), T(0));
    const int rank = static_cast<int>(inferred_.size());
    const int64_t ninf = shape_numel(inferred_);
    const T* px = x.data_as<T>();
    const int64_t* pi = ix.data_as<int64_t>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      int64_t f = pi[i];
      if (f < 0 || f >= ninf)
        ctx.fail("index " + std::to_string(f) + " is outside the unpooled output of " + std::to_string(ninf) +
                 " elements");
      // Coordinates in the inferred shape, re-linearised in the (possibly larger) output shape.
      int64_t o = 0, mul = 1;
      for (int d = rank - 1; d >= 0; --d) {
        const int64_t c = f % inferred_[static_cast<size_t>(d)];
        f /= inferred_[static_cast<size_t>(d)];
        o += c * mul;
        mul *= y.shape()[static_cast<size_t>(d)];
      }
      py[o] = px[i];
    }
  }

  Shape inferred_;
};

// ------------------------------------------------------------------------------------------------ Det

/// Determinant of [..., M, M] by LU with partial pivoting (in double) per matrix.
class DetOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64});
    const Shape& s = ctx.input(0).shape;
    if (s.size() < 2 || s[s.size() - 1] != s[s.size() - 2]) ctx.fail("X must be [..., M, M]");
    m_ = s.back();
    ctx.scratch_bytes = static_cast<size_t>(m_ * m_) * sizeof(double);
    ctx.set_output(0, ctx.input(0).dtype, Shape(s.begin(), s.end() - 2));
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const int64_t mm = m_ * m_;
    double* a = static_cast<double*>(ctx.scratch);
    for (int64_t b = 0; b < y.numel(); ++b) {
      for (int64_t i = 0; i < mm; ++i)
        a[i] = x.dtype() == DType::f64 ? x.data_as<double>()[b * mm + i] : x.data_as<float>()[b * mm + i];
      const double d = det(a, m_);
      if (y.dtype() == DType::f64)
        y.data_as<double>()[b] = d;
      else
        y.data_as<float>()[b] = static_cast<float>(d);
    }
  }

 private:
  static double det(double* a, int64_t n) {
    double d = 1;
    for (int64_t c = 0; c < n; ++c) {
      int64_t p = c;
      for (int64_t r = c + 1; r < n; ++r)
        if (std::fabs(a[r * n + c]) > std::fabs(a[p * n + c])) p = r;
      if (a[p * n + c] == 0) return 0;
      if (p != c) {
        for (int64_t k = 0; k < n; ++k) std::swap(a[p * n + k], a[c * n + k]);
        d = -d;
      }
      d *= a[c * n + c];
      for (int64_t r = c + 1; r < n; ++r) {
        const double f = a[r * n + c] / a[c * n + c];
        for (int64_t k = c; k < n; ++k) a[r * n + k] -= f * a[c * n + k];
      }
    }
    return d;
  }
  int64_t m_ = 0;
};

template <class K, class... A>
KernelFactory make(A... a) {
  return [=] { return std::make_unique<K>(a...); };
}

}  // namespace

void register_nn_misc_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "PRelu", 1, kAnyOpset, make<PReluOp>());
  r.add(kOnnxDomain, "InstanceNormalization", 1, kAnyOpset, make<InstanceNormOp>());
  r.add(kOnnxDomain, "LRN", 1, kAnyOpset, make<LrnOp>());
  r.add(kOnnxDomain, "MeanVarianceNormalization", 9, kAnyOpset, make<MvnOp>());
  r.add(kOnnxDomain, "Dropout", 1, kAnyOpset, make<DropoutOp>());
  r.add(kOnnxDomain, "Hardmax", 1, 12, make<HardmaxOp>(true));
  r.add(kOnnxDomain, "Hardmax", 13, kAnyOpset, make<HardmaxOp>(false));
  r.add(kOnnxDomain, "MaxUnpool", 9, kAnyOpset, make<MaxUnpoolOp>());
  r.add(kOnnxDomain, "Det", 11, kAnyOpset, make<DetOp>());
}

}  // namespace ortkit::ops
