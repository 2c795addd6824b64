// Lp norms and group statistics: LpNormalization (1), GroupNormalization (18: scale/bias per group,
// 21: per channel), LpPool (1-22), GlobalLpPool (1-22). float32/float64; statistics accumulate in double.
#include <algorithm>
#include <cmath>

#include "ops/conv_util.h"
#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

/// The `p` attribute: a float in opset 1 of LpPool/GlobalLpPool, an int later.
double lp_exponent(const CompileContext& ctx, double def) {
  const Attribute* a = ctx.attr().find("p");
  double p = def;
  if (a && a->kind == Attribute::Kind::f) p = a->f;
  if (a && a->kind == Attribute::Kind::i) p = static_cast<double>(a->i);
  if (!(p > 0)) ctx.fail("p must be positive, got " + std::to_string(p));
  return p;
}

/// sum |x|^p reduced to its p-th root; p = 1 and 2 take exact paths (no pow).
struct LpAccumulator {
  double p;
  double term(double v) const {
    v = std::fabs(v);
    return p == 2 ? v * v : p == 1 ? v : std::pow(v, p);
  }
  double root(double sum) const { return p == 2 ? std::sqrt(sum) : p == 1 ? sum : std::pow(sum, 1.0 / p); }
};

// ----------------------------------------------------------------------------------------------
// LpNormalization

class LpNormalizationOp : public OpKernel {
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64});
    p_ = ctx.attr().get_int("p", 2);
    if (p_ != 1 && p_ != 2) ctx.fail("p must be 1 or 2, got " + std::to_string(p_));
    const int64_t rank = static_cast<int64_t>(ctx.input(0).shape.size());
    if (rank == 0) ctx.fail("input must have rank >= 1");
    axis_ = normalize_axis(ctx.attr().get_int("axis", -1), rank, ctx.node->describe());
    ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Shape& s = x.shape();
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis_; ++d) outer *= s[d];
    for (int64_t d = axis_ + 1; d < x.rank(); ++d) inner *= s[d];
    const int64_t len = s[axis_];
    const LpAccumulator lp{static_cast<double>(p_)};
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data_as<T>();
      T* py = ctx.output(0).data_as<T>();
      parallel_for(ctx.threading, outer * inner, [&](int64_t line) {
        const int64_t base = (line / inner) * len * inner + line % inner;
        double sum = 0;
        for (int64_t k = 0; k < len; ++k) sum += lp.term(px[base + k * inner]);
        const double norm = lp.root(sum);
        // A zero vector stays zero instead of 0/0.
        for (int64_t k = 0; k < len; ++k)
          py[base + k * inner] = norm == 0 ? T(0) : static_cast<T>(px[base + k * inner] / norm);
      });
    });
  }
  int64_t p_ = 2, axis_ = 0;
};

// ----------------------------------------------------------------------------------------------
// GroupNormalization

class GroupNormalizationOp : public OpKernel {
 public:
  explicit GroupNormalizationOp(bool per_channel) : per_channel_(per_channel) {}
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64});
    const DType dt = ctx.input(0).dtype;
    if (ctx.input(1).dtype != dt || ctx.input(2).dtype != dt) ctx.fail("scale and bias must have X's dtype");
    const Shape& xs = ctx.input(0).shape;
    if (xs.size() < 2) ctx.fail("X must have rank >= 2 (N, C, ...)");
    groups_ = ctx.attr().get_int("num_groups");
    eps_ = ctx.attr().get_float("epsilon", 1e-5f);
    const int64_t stash = ctx.attr().get_int("stash_type", 1);
    if (stash != 1 && stash != 10 && stash != 11 && stash != 16)
      ctx.fail("stash_type must be float, float16, bfloat16 or double, got " + std::to_string(stash));
    const int64_t c = xs[1];
    if (groups_ < 1 || c % groups_ != 0)
      ctx.fail("num_groups " + std::to_string(groups_) + " must divide the channel count " +
               std::to_string(c));
    const int64_t want = per_channel_ ? c : groups_;
    for (size_t i = 1; i < 3; ++i)
      if (ctx.input(i).shape != Shape{want})
        ctx.fail(std::string(i == 1 ? "scale" : "bias") + " must have shape [" + std::to_string(want) +
                 "] (" + (per_channel_ ? "one per channel" : "one per group in opset 18-20") + "), got " +
                 shape_str(ctx.input(i).shape));
    ctx.set_output(0, dt, xs);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int64_t n = x.shape()[0], c = x.shape()[1];
    const int64_t spatial = n * c == 0 ? 0 : x.numel() / (n * c);
    const int64_t cpg = c / groups_, group_size = cpg * spatial;
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data_as<T>();
      const T* scale = ctx.input(1).data_as<T>();
      const T* bias = ctx.input(2).data_as<T>();
      T* py = ctx.output(0).data_as<T>();
      parallel_for(ctx.threading, n * groups_, [&](int64_t ng) {
        const T* xg = px + ng * group_size;
        T* yg = py + ng * group_size;
        double mean = 0;
        for (int64_t i = 0; i < group_size; ++i) mean += xg[i];
        mean /= static_cast<double>(std::max<int64_t>(group_size, 1));
        double var = 0;
        for (int64_t i = 0; i < group_size; ++i) var += (xg[i] - mean) * (xg[i] - mean);
        var /= static_cast<double>(std::max<int64_t>(group_size, 1));
        const double inv = 1.0 / std::sqrt(var + static_cast<double>(eps_));
        const int64_t g = ng % groups_;
        for (int64_t k = 0; k < cpg; ++k) {
          const int64_t ch = per_channel_ ? g * cpg + k : g;
          const double a = inv * static_cast<double>(scale[ch]), b = static_cast<double>(bias[ch]);
          const T* xr = xg + k * spatial;
          T* yr = yg + k * spatial;
          for (int64_t i = 0; i < spatial; ++i) yr[i] = static_cast<T>((xr[i] - mean) * a + b);
        }
      });
    });
  }

 private:
  bool per_channel_;
  int64_t groups_ = 1;
  float eps_ = 1e-5f;
};

// ---------------------------------------------------------------------------------------------- LpPool

/// (sum over the window's in-image elements of |x|^p)^(1/p): padding adds zeros, so it adds nothing.
class LpPoolOp : public OpKernel {
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64});
    const Shape& xs = ctx.input(0).shape;
    if (xs.size() < 3) ctx.fail("X must have rank >= 3 (N, C, spatial...)");
    p_ = lp_exponent(ctx, 2.0);
    w_ = make_window(ctx, Shape(xs.begin() + 2, xs.end()), ctx.attr().get_ints("kernel_shape"), true);
    Shape out = {xs[0], xs[1]};
    for (int i = 3 - w_.nd; i < 3; ++i) out.push_back(w_.out[i]);
    ctx.set_output(0, ctx.input(0).dtype, out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int64_t planes = x.shape()[0] * x.shape()[1];
    visit_float(x.dtype(), [&](auto tag) { pool(x.data_as<decltype(tag)>(), ctx, planes); });
  }
  template <class T>
  void pool(const T* x, RunContext& ctx, int64_t planes) const {
    const Window& w = w_;
    const LpAccumulator lp{p_};
    T* y = ctx.output(0).data_as<T>();
    parallel_for(ctx.threading, planes, [&](int64_t pl) {
      const T* xp = x + pl * w.in_size();
      T* yp = y + pl * w.out_size();
      for (int64_t od = 0; od < w.out[0]; ++od)
        for (int64_t oh = 0; oh < w.out[1]; ++oh)
          for (int64_t ow = 0; ow < w.out[2]; ++ow) {
            double sum = 0;
            for_each_window_tap(w, od, oh, ow, [&](int64_t i) { sum += lp.term(xp[i]); });
            yp[(od * w.out[1] + oh) * w.out[2] + ow] = static_cast<T>(lp.root(sum));
          }
    });
  }
  double p_ = 2;
  Window w_;
};

class GlobalLpPoolOp : public OpKernel {
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64});
    const Shape& xs = ctx.input(0).shape;
    if (xs.size() < 3) ctx.fail("X must have rank >= 3 (N, C, spatial...)");
    p_ = lp_exponent(ctx, 2.0);
    Shape out = xs;
    std::fill(out.begin() + 2, out.end(), 1);
    ctx.set_output(0, ctx.input(0).dtype, out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int64_t planes = x.shape()[0] * x.shape()[1];
    const int64_t size = planes == 0 ? 0 : x.numel() / planes;
    const LpAccumulator lp{p_};
    visit_float(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data_as<T>();
      T* py = ctx.output(0).data_as<T>();
      parallel_for(ctx.threading, planes, [&](int64_t pl) {
        double sum = 0;
        for (int64_t i = 0; i < size; ++i) sum += lp.term(px[pl * size + i]);
        py[pl] = static_cast<T>(lp.root(sum));
      });
    });
  }
  double p_ = 2;
};

}  // namespace

void register_recent_pool_norm_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "LpNormalization", 1, kAnyOpset, [] { return std::make_unique<LpNormalizationOp>(); });
  r.add(kOnnxDomain, "GroupNormalization", 18, 20,
        [] { return std::make_unique<GroupNormalizationOp>(false); });
  r.add(kOnnxDomain, "GroupNormalization", 21, kAnyOpset,
        [] { return std::make_unique<GroupNormalizationOp>(true); });
  r.add(kOnnxDomain, "LpPool", 1, kAnyOpset, [] { return std::make_unique<LpPoolOp>(); });
  r.add(kOnnxDomain, "GlobalLpPool", 1, kAnyOpset, [] { return std::make_unique<GlobalLpPoolOp>(); });
}

}  // namespace ortkit::ops
