// Residual + normalization ops of transformer graphs:
//   com.microsoft SkipLayerNormalization (input, skip, gamma, beta?, bias?) and
//   SkipSimplifiedLayerNormalization (input, skip, gamma, bias?), written by ONNX Runtime's transformer
//   optimizer for "x + sublayer(x)" followed by LayerNorm / RMSNorm; outputs: y, mean (unused, SkipLN
//   only), inv_std_var, and the sum input + skip + bias that the next residual reads.
//   SimplifiedLayerNormalization (ORT's RMSNorm, registered by ORT in the ai.onnx domain) and ONNX
//   RMSNormalization (opset 23): y = x / sqrt(mean(x^2) + eps) * scale over dims [axis, rank).
#include <algorithm>

#include "ops/op_util.h"
#include "ops/registry.h"
#include "ops/row_kernels.h"

namespace ortkit::ops {
namespace {

/// Checks that input `i` is f32 and 1-D with `len` values.
void require_vector(const CompileContext& ctx, size_t i, int64_t len, const char* what) {
  ctx.require_dtype(i, {DType::f32});
  const Shape& s = ctx.input(i).shape;
  if (s.size() != 1 || s[0] != len)
    ctx.fail(std::string(what) + " must be 1-D with " + std::to_string(len) + " values, got " + shape_str(s));
}

class SkipLayerNormOp : public OpKernel {
 public:
  explicit SkipLayerNormOp(bool simplified) : simplified_(simplified) {}

  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    ctx.require_dtype(1, {DType::f32});
    const Shape& s = ctx.input(0).shape;
    const Shape& k = ctx.input(1).shape;
    if (s.size() < 2 || s.size() > 3) ctx.fail("input must be 2-D or 3-D, got " + shape_str(s));
    hidden_ = s.back();
    // skip: the input's shape, or one batch of it ([1, S, H] or [S, H]) shared by every batch.
    const int64_t per_batch = s.size() == 3 ? s[1] * s[2] : shape_numel(s);
    if (k == s) {
      skip_period_ = 0;
    } else if (s.size() == 3 && ((k.size() == 3 && k[0] == 1 && k[1] == s[1] && k[2] == s[2]) ||
                                 (k.size() == 2 && k[0] == s[1] && k[1] == s[2]))) {
      skip_period_ = per_batch;
    } else {
      ctx.fail("skip " + shape_str(k) + " must have the input's shape " + shape_str(s) +
               " or that of one batch");
    }
    eps_ = ctx.attr().get_float("epsilon", 1e-12f);
    require_vector(ctx, 2, hidden_, "gamma");
    beta_in_ = simplified_ ? -1 : 3;
    bias_in_ = simplified_ ? 3 : 4;
    if (beta_in_ >= 0 && ctx.has_input(static_cast<size_t>(beta_in_)))
      require_vector(ctx, static_cast<size_t>(beta_in_), hidden_, "beta");
    if (ctx.has_input(static_cast<size_t>(bias_in_)))
      require_vector(ctx, static_cast<size_t>(bias_in_), hidden_, "bias");
    ctx.set_output(0, DType::f32, s);
    Shape stat = s;
    stat.back() = 1;
    if (ctx.outputs.size() > 1) ctx.set_output(1, DType::f32, stat);
    if (ctx.outputs.size() > 2) ctx.set_output(2, DType::f32, stat);
    if (ctx.outputs.size() > 3) ctx.set_output(3, DType::f32, s);
    if (ctx.outputs.size() > 4) ctx.fail("at most 4 outputs");
    ctx.scratch_bytes = 0;
  }

  void run(RunContext& ctx) override {
    const Tensor& in = ctx.input(0);
    const float* x = in.data_as<float>();
    const float* skip = ctx.input(1).data_as<float>();
    const float* gamma = ctx.input(2).data_as<float>();
    const float* beta = beta_in_ >= 0 && ctx.has_input(static_cast<size_t>(beta_in_))
                            ? ctx.input(static_cast<size_t>(beta_in_)).data_as<float>()
                            : nullptr;
    const float* bias = ctx.has_input(static_cast<size_t>(bias_in_))
                            ? ctx.input(static_cast<size_t>(bias_in_)).data_as<float>()
                            : nullptr;
    auto out = [&](size_t i) -> float* {
      return i < ctx.outputs.size() && ctx.outputs[i] ? ctx.output(i).data_as<float>() : nullptr;
    };
    float* y = out(0);
    float* mean = simplified_ ? nullptr : out(1);
    float* inv = out(2);
    float* sum = out(3);
    const int64_t h = hidden_, rows = h ? in.numel() / h : 0, period = skip_period_;
    const float eps = eps_;
    const bool simplified = simplified_;
    parallel_range(ctx.threading, rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(h, 1)),
                   [&](int64_t r0, int64_t r1) {
                     for (int64_t r = r0; r < r1; ++r) {
                       const float* xr = x + r * h;
                       const float* sr = skip + (period ? (r * h) % period : r * h);
                       // The sum goes to the optional output when asked for, else straight into y.
                       float* t = sum ? sum + r * h : y + r * h;
                       for (int64_t i = 0; i < h; ++i) t[i] = bias ? xr[i] + sr[i] + bias[i] : xr[i] + sr[i];
                       if (simplified)
                         rmsnorm_row(t, y + r * h, h, eps, gamma, false, inv ? inv + r : nullptr);
                       else
                         layernorm_row(t, y + r * h, h, eps, gamma, false, beta, false,
                                       mean ? mean + r : nullptr, inv ? inv + r : nullptr);
                     }
                   });
  }

 private:
  bool simplified_;
  int beta_in_ = 3, bias_in_ = 4;
  int64_t hidden_ = 0, skip_period_ = 0;
  float eps_ = 1e-12f;
};

/// SimplifiedLayerNormalization / RMSNormalization over dims [axis, rank).
class RmsNormOp : public OpKernel {
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
    if (ns != len_ && ns != 1)
      ctx.unsupported("scale must have the normalized shape or one value, got " +
                      shape_str(ctx.input(1).shape));
    ctx.set_output(0, DType::f32, s);
    Shape stat = s;
    for (int64_t d = axis; d < rank; ++d) stat[d] = 1;
    if (ctx.outputs.size() > 1) ctx.set_output(1, DType::f32, stat);
  }

  void run(RunContext& ctx) override {
    const float* x = ctx.input(0).data_as<float>();
    const Tensor& ts = ctx.input(1);
    const float* sc = ts.data_as<float>();
    const bool sc1 = ts.numel() == 1 && len_ != 1;
    float* y = ctx.output(0).data_as<float>();
    float* inv = ctx.outputs.size() > 1 && ctx.outputs[1] ? ctx.output(1).data_as<float>() : nullptr;
    const int64_t len = len_;
    const float eps = eps_;
    if (len == 0) return;
    parallel_range(ctx.threading, rows_, std::max<int64_t>(1, 8192 / len), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        rmsnorm_row(x + r * len, y + r * len, len, eps, sc, sc1, inv ? inv + r : nullptr);
    });
  }

 private:
  float eps_ = 1e-5f;
  int64_t rows_ = 1, len_ = 1;
};

}  // namespace

void register_skip_layer_norm_ops(OpRegistry& r) {
  r.add(kMsDomain, "SkipLayerNormalization", 1, kAnyOpset,
        [] { return std::make_unique<SkipLayerNormOp>(false); });
  r.add(kMsDomain, "SkipSimplifiedLayerNormalization", 1, kAnyOpset,
        [] { return std::make_unique<SkipLayerNormOp>(true); });
  r.add(kOnnxDomain, "SimplifiedLayerNormalization", 1, kAnyOpset,
        [] { return std::make_unique<RmsNormOp>(); });
  r.add(kOnnxDomain, "RMSNormalization", 23, kAnyOpset, [] { return std::make_unique<RmsNormOp>(); });
}

}  // namespace ortkit::ops
