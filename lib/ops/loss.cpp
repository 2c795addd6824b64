// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (opset 12+): classification losses that
// exported training graphs and evaluation models keep. Inputs are [N, C, d1..dk] scores and [N, d1..dk]
// integer targets, walked as [N, C, D] with D = d1 * ... * dk.
#include <cmath>
#include <limits>
#include <string>

#include "ops/registry.h"

namespace ortkit::ops {
namespace {

enum class Reduction { none, sum, mean };

// Checks scores [N, C, d...], target [N, d...] and weight [C]; sets the loss output (target's shape for
// reduction none, else a scalar).
void check_loss_inputs(CompileContext& ctx, Reduction red) {
  ctx.require_dtype(0, {DType::f32, DType::f64});
  ctx.require_dtype(1, {DType::i32, DType::i64});
  const Shape& x = ctx.input(0).shape;
  const Shape& t = ctx.input(1).shape;
  if (x.size() < 2) ctx.fail("input must have rank >= 2 (N, C, ...), got " + shape_str(x));
  Shape want = x;
  want.erase(want.begin() + 1);
  if (t != want)
    ctx.fail("target " + shape_str(t) + " must be the input's shape without C: " + shape_str(want));
  if (ctx.has_input(2)) {
    if (ctx.input(2).dtype != ctx.input(0).dtype) ctx.fail("weight and input have different types");
    if (ctx.input(2).shape != Shape{x[1]}) ctx.fail("weight must be [C] = [" + std::to_string(x[1]) + "]");
  }
  ctx.set_output(0, ctx.input(0).dtype, red == Reduction::none ? t : Shape{});
}

struct Dims {
  int64_t n, c, d;
};
Dims dims_of(const Tensor& x) {
  const Shape& s = x.shape();
  int64_t d = 1;
  for (size_t i = 2; i < s.size(); ++i) d *= s[i];
  return {s[0], s[1], d};
}

// The attributes both losses share, read at compile (the op rules: attributes only), and the NLL step.
struct LossAttrs {
  Reduction red = Reduction::mean;
  bool has_ignore = false;
  int64_t ignore = 0;
  void compile(CompileContext& ctx) {
    const std::string r = ctx.attr().get_string("reduction", "mean");
    if (r == "none")
      red = Reduction::none;
    else if (r == "sum")
      red = Reduction::sum;
    else if (r == "mean")
      red = Reduction::mean;
    else
      ctx.fail("reduction '" + r + "': none, sum or mean");
    has_ignore = ctx.attr().has("ignore_index");
    ignore = ctx.attr().get_int("ignore_index", 0);
    check_loss_inputs(ctx, red);
  }
  template <class T>
  void run_nll(RunContext& ctx, const T* logp, Dims dm) const;

 private:
  template <class T, class I>
  void nll(const T* logp, const I* target, const T* weight, Dims dm, T* out, const RunContext& ctx) const;
};

// loss[n, d] = -logp[n, target[n, d], d] * weight[target], 0 where target == ignore_index; then the
// reduction (mean: over the summed weights of the elements not ignored).
template <class T, class I>
void LossAttrs::nll(const T* logp, const I* target, const T* weight, Dims dm, T* out,
                    const RunContext& ctx) const {
  const int64_t n = dm.n, c = dm.c, d = dm.d;
  double total = 0, wsum = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) {
      const int64_t k = static_cast<int64_t>(target[i * d + j]);
      double loss = 0, w = 0;
      if (!(has_ignore && k == ignore)) {
        if (k < 0 || k >= c)
          ctx.fail("target value " + std::to_string(k) + " out of range [0, " + std::to_string(c) + ")");
        w = weight ? static_cast<double>(weight[k]) : 1.0;
        loss = -static_cast<double>(logp[(i * c + k) * d + j]) * w;
      }
      if (red == Reduction::none) out[i * d + j] = static_cast<T>(loss);
      total += loss;
      wsum += w;
    }
  if (red == Reduction::sum) out[0] = static_cast<T>(total);
  if (red == Reduction::mean) out[0] = static_cast<T>(total / wsum);  // all ignored: 0/0, NaN as in numpy
}

template <class T>
void LossAttrs::run_nll(RunContext& ctx, const T* logp, Dims dm) const {
  const Tensor& t = ctx.input(1);
  const T* w = ctx.has_input(2) ? ctx.input(2).data_as<T>() : nullptr;
  T* out = ctx.output(0).data_as<T>();
  if (t.dtype() == DType::i64)
    nll(logp, t.data_as<int64_t>(), w, dm, out, ctx);
  else
    nll(logp, t.data_as<int32_t>(), w, dm, out, ctx);
}

class NllLossOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override { loss_.compile(ctx); }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() == DType::f64)
      loss_.run_nll(ctx, x.data_as<double>(), dims_of(x));
    else
      loss_.run_nll(ctx, x.data_as<float>(), dims_of(x));
  }

 private:
  LossAttrs loss_;
};

// LogSoftmax over C of an [N, C, D] tensor, in double for the sums.
template <class T>
void log_softmax_c(const T* x, T* y, Dims dm) {
  for (int64_t i = 0; i < dm.n; ++i)
    for (int64_t j = 0; j < dm.d; ++j) {
      const T* xs = x + i * dm.c * dm.d + j;
      T* ys = y + i * dm.c * dm.d + j;
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t k = 0; k < dm.c; ++k) mx = std::max(mx, static_cast<double>(xs[k * dm.d]));
      double s = 0;
      for (int64_t k = 0; k < dm.c; ++k) s += std::exp(static_cast<double>(xs[k * dm.d]) - mx);
      const double lse = mx + std::log(s);
      for (int64_t k = 0; k < dm.c; ++k)
        ys[k * dm.d] = static_cast<T>(static_cast<double>(xs[k * dm.d]) - lse);
    }
}

class SoftmaxCrossEntropyOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    loss_.compile(ctx);
    const Shape& x = ctx.input(0).shape;
    if (ctx.outputs.size() > 1) ctx.set_output(1, ctx.input(0).dtype, x);
    // Without the log_prob output (absent, or named "") the log-probabilities go to scratch.
    ctx.scratch_bytes = static_cast<size_t>(shape_numel(x)) * dtype_size(ctx.input(0).dtype);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const bool out_lp = ctx.outputs.size() > 1 && ctx.outputs[1];
    if (x.dtype() == DType::f64)
      go<double>(ctx, out_lp);
    else
      go<float>(ctx, out_lp);
  }

 private:
  template <class T>
  void go(RunContext& ctx, bool out_lp) {
    const Tensor& x = ctx.input(0);
    const Dims dm = dims_of(x);
    T* lp = out_lp ? ctx.output(1).data_as<T>() : static_cast<T*>(ctx.scratch);
    log_softmax_c(x.data_as<T>(), lp, dm);
    loss_.run_nll(ctx, static_cast<const T*>(lp), dm);
  }
  LossAttrs loss_;
};

}  // namespace

void register_loss_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "NegativeLogLikelihoodLoss", 12, kAnyOpset,
        [] { return std::make_unique<NllLossOp>(); });
  r.add(kOnnxDomain, "SoftmaxCrossEntropyLoss", 12, kAnyOpset,
        [] { return std::make_unique<SoftmaxCrossEntropyOp>(); });
}

}  // namespace ortkit::ops
