// Softmax, LogSoftmax (opset < 13: input coerced to 2-D at `axis`; 13+: one axis), LayerNormalization
// (opset 17, and the same op in the ortkit domain for the optimizer's fusion at any model opset), and
// BatchNormalization (inference mode). Rows are processed independently, in parallel over the pool.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/fast_math.h"
#include "ops/op_util.h"
#include "ops/registry.h"
#include "ops/row_kernels.h"

namespace ortkit::ops {
namespace {

typedef float v16f __attribute__((vector_size(64)));

/// Max of a row, 16 lanes in a generic vector (vmaxps in the clones; the array form of this loop stayed
/// scalar vmaxss, and a plain `m = max(m, x)` reduction does not vectorise without -ffast-math).
inline float softmax_max(const float* x, int64_t n) {
  float m = x[0];
  int64_t i = 0;
  if (n >= 16) {
    v16f acc;
    std::memcpy(&acc, x, sizeof(acc));
    for (i = 16; i + 16 <= n; i += 16) {
      v16f v;
      std::memcpy(&v, x + i, sizeof(v));
      acc = acc > v ? acc : v;
    }
    for (int j = 0; j < 16; ++j) m = m > acc[j] ? m : acc[j];
  }
  for (; i < n; ++i) m = m > x[i] ? m : x[i];
  return m;
}

}  // namespace

// softmax_row, layernorm_row and rmsnorm_row are shared with the transformer ops (row_kernels.h).

/// Softmax (or log-softmax) of one contiguous row; y may alias x (same index: read before write). Three
/// passes: max; exp(x - max) stored and summed in 16 partial sums; scale (or, for log-softmax, the
/// sum only, then x - max - log(sum)). Cloned for x86-64-v4 too: exp is compute-bound, so 16 lanes
/// pay where AVX-512 exists.
ORTKIT_OPS_CLONES_512 void softmax_row(const float* x, float* y, int64_t n, bool lg) {
  const float m = softmax_max(x, n);
  float acc[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  float s = 0;
  int64_t i = 0;
  if (lg) {
    for (; i + 16 <= n; i += 16)
      for (int j = 0; j < 16; ++j) acc[j] += fast_exp_le0(x[i + j] - m);
    for (; i < n; ++i) s += fast_exp_le0(x[i] - m);
  } else {
    for (; i + 16 <= n; i += 16)
#pragma GCC ivdep
      for (int j = 0; j < 16; ++j) {
        const float e = fast_exp_le0(x[i + j] - m);
        y[i + j] = e;
        acc[j] += e;
      }
    for (; i < n; ++i) {
      const float e = fast_exp_le0(x[i] - m);
      y[i] = e;
      s += e;
    }
  }
  for (int w = 8; w >= 1; w /= 2)
    for (int j = 0; j < w; ++j) acc[j] += acc[j + w];
  s += acc[0];
  if (lg) {
    // exp values of (x - max) are <= 1 and one is 1, so s >= 1 and log(s) is finite.
    const float ls = std::log(s);
#pragma GCC ivdep
    for (int64_t k = 0; k < n; ++k) y[k] = (x[k] - m) - ls;
    return;
  }
  const float inv = 1.f / s;
  for (int64_t k = 0; k < n; ++k) y[k] *= inv;
}

namespace {

/// Softmax (or log-softmax) of one double row read and written at stride `inner`, in libm double math:
/// f64 graphs are reference computations, where exactness matters more than speed.
void softmax_row_f64(const double* x, double* y, int64_t n, int64_t inner, bool lg) {
  double m = x[0];
  for (int64_t k = 1; k < n; ++k) m = m > x[k * inner] ? m : x[k * inner];
  double s = 0;
  for (int64_t k = 0; k < n; ++k) s += std::exp(x[k * inner] - m);
  if (lg) {
    const double ls = std::log(s);
    for (int64_t k = 0; k < n; ++k) y[k * inner] = (x[k * inner] - m) - ls;
  } else {
    for (int64_t k = 0; k < n; ++k) y[k * inner] = std::exp(x[k * inner] - m) / s;
  }
}

class SoftmaxOp : public OpKernel {
 public:
  SoftmaxOp(bool log, bool coerce) : log_(log), coerce_(coerce) {}

  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64});
    const Shape& s = ctx.input(0).shape;
    const int64_t rank = static_cast<int64_t>(s.size());
    const int64_t axis = ctx.attr().get_int("axis", coerce_ ? 1 : -1);
    if (rank == 0) {
      outer_ = 1, len_ = 1, inner_ = 1;
    } else {
      const int64_t a = normalize_axis(axis, rank, ctx.node->describe());
      outer_ = 1, len_ = 1, inner_ = 1;
      for (int64_t d = 0; d < a; ++d) outer_ *= s[d];
      if (coerce_) {
        for (int64_t d = a; d < rank; ++d) len_ *= s[d];
      } else {
        len_ = s[a];
        for (int64_t d = a + 1; d < rank; ++d) inner_ *= s[d];
      }
    }
    // A strided f32 axis is gathered into a contiguous row per thread (f64 rows are read in place).
    const size_t rows = static_cast<size_t>(len_ * std::max(1, ctx.threading.threads));
    ctx.scratch_bytes = ctx.input(0).dtype == DType::f32 && inner_ > 1 ? rows * sizeof(float) : 0;
    ctx.set_output(0, ctx.input(0).dtype, s);
  }

  void run(RunContext& ctx) override {
    if (ctx.output(0).numel() == 0 || len_ == 0) return;
    const int64_t len = len_, inner = inner_;
    const bool lg = log_;
    if (ctx.input(0).dtype() == DType::f64) {
      const double* x = ctx.input(0).data_as<double>();
      double* y = ctx.output(0).data_as<double>();
      auto rows = [&](int64_t b, int64_t e) {
        for (int64_t idx = b; idx < e; ++idx) {
          const int64_t off = idx / inner * len * inner + idx % inner;
          softmax_row_f64(x + off, y + off, len, inner, lg);
        }
      };
      parallel_range(ctx.threading, outer_ * inner, std::max<int64_t>(1, 4096 / len), rows);
      return;
    }
    const float* x = ctx.input(0).data_as<float>();
    float* y = ctx.output(0).data_as<float>();
    if (inner == 1) {
      parallel_range(ctx.threading, outer_, std::max<int64_t>(1, 8192 / len), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) softmax_row(x + r * len, y + r * len, len, lg);
      });
      return;
    }
    // Strided axis: one task per (outer, block of inner); gather, normalise, scatter.
    float* scratch = static_cast<float*>(ctx.scratch);
    const int64_t tasks = std::min<int64_t>(std::max(1, ctx.threading.threads), outer_ * inner);
    const int64_t total = outer_ * inner;
    parallel_for(ctx.threading, tasks, [&](int64_t t) {
      float* buf = scratch + t * len;
      const int64_t b = total * t / tasks, e = total * (t + 1) / tasks;
      for (int64_t idx = b; idx < e; ++idx) {
        const int64_t o = idx / inner, i = idx % inner;
        const float* xs = x + o * len * inner + i;
        float* ys = y + o * len * inner + i;
        for (int64_t k = 0; k < len; ++k) buf[k] = xs[k * inner];
        softmax_row(buf, buf, len, lg);
        for (int64_t k = 0; k < len; ++k) ys[k * inner] = buf[k];
      }
    });
  }

 private:
  bool log_, coerce_;
  int64_t outer_ = 1, len_ = 1, inner_ = 1;
};

}  // namespace

ORTKIT_OPS_CLONES_512 bool scale_bias_row(float* row, int64_t n, float scale, float softcap, const float* add,
                                          int64_t lo, int64_t hi) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  if (softcap > 0.f) {  // over the whole row, hidden keys too, before the bias
    for (int64_t j = 0; j < n; ++j) row[j] = softcap * std::tanh(row[j] * scale / softcap);
    scale = 1.f;
  }
  lo = std::clamp<int64_t>(lo, 0, n);
  hi = std::clamp<int64_t>(hi, lo, n);
  // Hidden keys add -inf, as a -inf mask would: a NaN or infinite score there still gives NaN.
  for (int64_t j = 0; j < lo; ++j) row[j] = row[j] * scale + kNegInf;
  for (int64_t j = hi; j < n; ++j) row[j] = row[j] * scale + kNegInf;
  if (!add) {
    for (int64_t j = lo; j < hi; ++j) row[j] *= scale;
    return hi > lo;
  }
  int visible = 0;  // an OR reduction the vectoriser takes (a short-circuit || it does not)
  for (int64_t j = lo; j < hi; ++j) {
    row[j] = row[j] * scale + add[j];
    visible |= add[j] != kNegInf;
  }
  return visible != 0;
}

ORTKIT_OPS_CLONES void layernorm_row(const float* xr, float* yr, int64_t len, float eps, const float* sc,
                                     bool sc1, const float* bias, bool b1, float* mean_out, float* inv_out) {
  const float mean = sum_f32(xr, len) / static_cast<float>(len);
  for (int64_t i = 0; i < len; ++i) yr[i] = xr[i] - mean;  // centred values, reused below
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, var = 0;
  int64_t i = 0;
  for (; i + 8 <= len; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += yr[i + j] * yr[i + j];
  for (; i < len; ++i) var += yr[i] * yr[i];
  for (float a : acc) var += a;
  const float inv = 1.f / std::sqrt(var / static_cast<float>(len) + eps);
  if (mean_out) *mean_out = mean;
  if (inv_out) *inv_out = inv;
  if (!sc1 && bias && !b1) {
    for (int64_t k = 0; k < len; ++k) yr[k] = yr[k] * inv * sc[k] + bias[k];
  } else {
    for (int64_t k = 0; k < len; ++k) {
      const float v = yr[k] * inv * sc[sc1 ? 0 : k];
      yr[k] = bias ? v + bias[b1 ? 0 : k] : v;
    }
  }
}

ORTKIT_OPS_CLONES void rmsnorm_row(const float* xr, float* yr, int64_t len, float eps, const float* sc, bool sc1,
                                   float* inv_out) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, ss = 0;
  int64_t i = 0;
  for (; i + 8 <= len; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += xr[i + j] * xr[i + j];
  for (; i < len; ++i) ss += xr[i] * xr[i];
  for (float a : acc) ss += a;
  const float inv = 1.f / std::sqrt(ss / static_cast<float>(len) + eps);
  if (inv_out) *inv_out = inv;
  if (sc1) {
    for (int64_t k = 0; k < len; ++k) yr[k] = xr[k] * inv * sc[0];
  } else {
    for (int64_t k = 0; k < len; ++k) yr[k] = xr[k] * inv * sc[k];
  }
}

namespace {

/// LayerNormalization: normalise over dims [axis, rank), then * Scale + B. Optional outputs Mean and
/// InvStdDev (shape of X with the normalised dims set to 1).
class LayerNormOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    ctx.require_dtype(1, {DType::f32});
    const Shape& s = ctx.input(0).shape;
    const int64_t rank = static_cast<int64_t>(s.size());
    if (rank == 0) ctx.fail("X must have rank >= 1");
    const int64_t axis = normalize_axis(ctx.attr().get_int("axis", -1), rank, ctx.node->describe());
    eps_ = ctx.attr().get_float("epsilon", 1e-5f);
    rows_from_axis(s, axis, rows_, len_);
    const int64_t ns = shape_numel(ctx.input(1).shape);
    if (ns != len_ && ns != 1) ctx.unsupported("Scale must have the normalized shape or one value");
    if (ctx.has_input(2)) {
      ctx.require_dtype(2, {DType::f32});
      const int64_t nb = shape_numel(ctx.input(2).shape);
      if (nb != len_ && nb != 1) ctx.unsupported("B must have the normalized shape or one value");
    }
    ctx.set_output(0, DType::f32, s);
    Shape stat = s;
    for (int64_t d = axis; d < rank; ++d) stat[d] = 1;
    for (size_t o = 1; o < ctx.outputs.size() && o < 3; ++o) ctx.set_output(o, DType::f32, stat);
  }

  void run(RunContext& ctx) override {
    const float* x = ctx.input(0).data_as<float>();
    const Tensor& ts = ctx.input(1);
    const float* sc = ts.data_as<float>();
    const bool sc1 = ts.numel() == 1 && len_ != 1;
    const float* bias = ctx.has_input(2) ? ctx.input(2).data_as<float>() : nullptr;
    const bool b1 = bias && ctx.input(2).numel() == 1 && len_ != 1;
    float* y = ctx.output(0).data_as<float>();
    float* mean_out = ctx.outputs.size() > 1 && ctx.outputs[1] ? ctx.output(1).data_as<float>() : nullptr;
    float* inv_out = ctx.outputs.size() > 2 && ctx.outputs[2] ? ctx.output(2).data_as<float>() : nullptr;
    const int64_t len = len_;
    const float eps = eps_;
    if (len == 0) return;
    parallel_range(ctx.threading, rows_, std::max<int64_t>(1, 8192 / len), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        layernorm_row(x + r * len, y + r * len, len, eps, sc, sc1, bias, b1,
                      mean_out ? mean_out + r : nullptr, inv_out ? inv_out + r : nullptr);
      }
    });
  }

 private:
  float eps_ = 1e-5f;
  int64_t rows_ = 1, len_ = 1;
};

/// BatchNormalization, inference: y = (x - mean) / sqrt(var + eps) * scale + B per channel (dim 1),
/// evaluated as y = x * a[c] + b[c].
class BatchNormOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    for (size_t i = 0; i < 5; ++i) ctx.require_dtype(i, {DType::f32});
    if (ctx.attr().get_int("training_mode", 0) != 0) ctx.unsupported("training_mode=1");
    if (ctx.node->opset < 9 && ctx.attr().get_int("spatial", 1) == 0) ctx.unsupported("spatial=0");
    if (ctx.outputs.size() > 1) ctx.unsupported("training outputs (running mean/var)");
    const Shape& s = ctx.input(0).shape;
    if (s.size() < 2) ctx.fail("X must have rank >= 2");
    channels_ = s[1];
    for (size_t i = 1; i < 5; ++i)
      if (shape_numel(ctx.input(i).shape) != channels_)
        ctx.fail("parameter " + std::to_string(i) + " must have C values");
    eps_ = ctx.attr().get_float("epsilon", 1e-5f);
    batch_ = s[0];
    spatial_ = 1;
    for (size_t d = 2; d < s.size(); ++d) spatial_ *= s[d];
    ctx.scratch_bytes = static_cast<size_t>(2 * channels_) * sizeof(float);
    ctx.set_output(0, DType::f32, s);
  }
  void run(RunContext& ctx) override {
    const int64_t C = channels_, S = spatial_;
    float* ab = static_cast<float*>(ctx.scratch);
    const float *sc = ctx.input(1).data_as<float>(), *bb = ctx.input(2).data_as<float>(),
                *mu = ctx.input(3).data_as<float>(), *var = ctx.input(4).data_as<float>();
    for (int64_t c = 0; c < C; ++c) {
      ab[c] = sc[c] / std::sqrt(var[c] + eps_);
      ab[C + c] = bb[c] - mu[c] * ab[c];
    }
    const float* x = ctx.input(0).data_as<float>();
    float* y = ctx.output(0).data_as<float>();
    parallel_range(ctx.threading, batch_ * C, std::max<int64_t>(1, 16384 / std::max<int64_t>(S, 1)),
                   [&](int64_t p0, int64_t p1) {
                     for (int64_t p = p0; p < p1; ++p) {
                       const float a = ab[p % C], b = ab[C + p % C];
                       const float* xr = x + p * S;
                       float* yr = y + p * S;
                       for (int64_t i = 0; i < S; ++i) yr[i] = xr[i] * a + b;
                     }
                   });
  }

 private:
  float eps_ = 1e-5f;
  int64_t channels_ = 0, batch_ = 0, spatial_ = 0;
};

}  // namespace

void register_normalization_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "Softmax", 1, 12, [] { return std::make_unique<SoftmaxOp>(false, true); });
  r.add(kOnnxDomain, "Softmax", 13, kAnyOpset, [] { return std::make_unique<SoftmaxOp>(false, false); });
  r.add(kOnnxDomain, "LogSoftmax", 1, 12, [] { return std::make_unique<SoftmaxOp>(true, true); });
  r.add(kOnnxDomain, "LogSoftmax", 13, kAnyOpset, [] { return std::make_unique<SoftmaxOp>(true, false); });
  // ONNX Runtime has run LayerNormalization in the ai.onnx domain since opset 1 (a contrib op there before
  // ONNX 17 made it standard), and its transformer optimizer writes it into opset 11-16 models.
  r.add(kOnnxDomain, "LayerNormalization", 1, kAnyOpset, [] { return std::make_unique<LayerNormOp>(); });
  // The optimizer's fused LayerNorm (ONNX semantics) for models whose opset predates 17.
  r.add(kOrtkitDomain, "LayerNormalization", 1, kAnyOpset, [] { return std::make_unique<LayerNormOp>(); });
  r.add(kOnnxDomain, "BatchNormalization", 6, kAnyOpset, [] { return std::make_unique<BatchNormOp>(); });
}

}  // namespace ortkit::ops
