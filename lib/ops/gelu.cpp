// GELU in its standalone forms: ONNX Gelu (opset 20, approximate none | tanh) and the ONNX Runtime
// contrib ops that its transformer optimizer writes into BERT / GPT-2 graphs (com.microsoft Gelu,
// BiasGelu, FastGelu, QuickGelu). After a MatMul the optimizer moves them into the GEMM epilogue
// (graph/passes/gelu_fusion.cpp); these kernels run the rest.
//   erf form:   0.5 * x * (1 + erf(x / sqrt(2)))
//   tanh form:  0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))  =  x / (1 + exp(-2u))
//   QuickGelu:  x * sigmoid(alpha * x)
// BiasGelu and FastGelu first add a bias along the last dimension.
#include <bit>
#include <cmath>
#include <cstdint>

#include "ops/fast_math.h"
#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

enum class Form { erf, tanh, quick };

/// erf by Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7) on the vectorized exp: libm's erff is a scalar
/// call, and GELU runs over the whole FFN activation.
inline float erf_as(float x) {
  const float a = std::fabs(x);
  const float t = 1.f / (1.f + 0.3275911f * a);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const float r = 1.f - p * t * fast_exp(-a * a);
  // x's sign onto r (r >= 0) through the bits: a float select kept the AVX2 clone scalar (GCC will not
  // if-convert a float compare under -ftrapping-math).
  return std::bit_cast<float>(std::bit_cast<uint32_t>(r) | (std::bit_cast<uint32_t>(x) & 0x80000000u));
}

template <Form F>
inline float gelu_one(float v, float alpha) {
  if constexpr (F == Form::erf) {
    return 0.5f * v * (1.f + erf_as(v * 0.70710678118654752f));
  } else if constexpr (F == Form::tanh) {
    const float u = 0.79788456080286536f * (v + 0.044715f * v * v * v);
    return v / (1.f + fast_exp(-2.f * u));
  } else {
    return v / (1.f + fast_exp(-alpha * v));
  }
}

/// One row per form, the bias test outside the loop: with either test inside, the AVX2 clone stayed
/// scalar.
template <Form F>
inline void gelu_row(const float* x, const float* bias, float* y, int64_t n, float alpha) {
  if (bias)
    for (int64_t i = 0; i < n; ++i) y[i] = gelu_one<F>(x[i] + bias[i], alpha);
  else
    for (int64_t i = 0; i < n; ++i) y[i] = gelu_one<F>(x[i], alpha);
}

/// y[i] = gelu(x[i] + bias[i % n]) over rows of n; bias may be null. y may alias x.
ORTKIT_OPS_CLONES_512 void gelu_rows(const float* x, const float* bias, float* y, int64_t rows, int64_t n,
                                     Form form, float alpha) {
  for (int64_t r = 0; r < rows; ++r) {
    if (form == Form::erf)
      gelu_row<Form::erf>(x + r * n, bias, y + r * n, n, alpha);
    else if (form == Form::tanh)
      gelu_row<Form::tanh>(x + r * n, bias, y + r * n, n, alpha);
    else
      gelu_row<Form::quick>(x + r * n, bias, y + r * n, n, alpha);
  }
}

double gelu_f64(double v, Form form, double alpha) {
  if (form == Form::erf) return 0.5 * v * (1.0 + std::erf(v * 0.70710678118654752));
  if (form == Form::tanh)
    return 0.5 * v * (1.0 + std::tanh(0.79788456080286536 * (v + 0.044715 * v * v * v)));
  return v / (1.0 + std::exp(-alpha * v));
}

/// One kernel for every form. `bias_input`: the optional input holding a bias over the last dimension
/// (BiasGelu: required; FastGelu: optional; the others have none).
class GeluOp : public OpKernel {
 public:
  GeluOp(Form form, bool onnx, int bias_input, bool bias_required)
      : form_(form), onnx_(onnx), bias_input_(bias_input), bias_required_(bias_required) {}

  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64});
    const Shape& s = ctx.input(0).shape;
    if (onnx_) {
      const std::string a = ctx.attr().get_string("approximate", "none");
      if (a == "tanh")
        form_ = Form::tanh;
      else if (a == "none")
        form_ = Form::erf;
      else
        ctx.fail("approximate must be 'none' or 'tanh', got '" + a + "'");
    }
    alpha_ = ctx.attr().get_float("alpha", 1.702f);
    has_bias_ = bias_input_ >= 0 && ctx.has_input(static_cast<size_t>(bias_input_));
    if (bias_required_ && !has_bias_) ctx.fail("the bias input is required");
    if (has_bias_) {
      const InputDesc& b = ctx.input(static_cast<size_t>(bias_input_));
      if (b.dtype != ctx.input(0).dtype) ctx.fail("bias and input have different types");
      if (s.empty() || b.shape.size() != 1 || b.shape[0] != s.back())
        ctx.fail("bias must be 1-D with the input's last dimension (" + shape_str(s) + " vs bias " +
                 shape_str(b.shape) + ")");
    }
    ctx.set_output(0, ctx.input(0).dtype, s);
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const Shape& s = x.shape();
    const int64_t n = s.empty() ? 1 : s.back();
    const int64_t rows = n ? x.numel() / n : 0;
    const Tensor* bias = has_bias_ ? &ctx.input(static_cast<size_t>(bias_input_)) : nullptr;
    const Form form = form_;
    const float alpha = alpha_;
    if (x.dtype() == DType::f32) {
      const float* px = x.data_as<float>();
      const float* pb = bias ? bias->data_as<float>() : nullptr;
      float* py = y.data_as<float>();
      return parallel_range(
          ctx.threading, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1)),
          [&](int64_t r0, int64_t r1) { gelu_rows(px + r0 * n, pb, py + r0 * n, r1 - r0, n, form, alpha); });
    }
    const double* px = x.data_as<double>();
    const double* pb = bias ? bias->data_as<double>() : nullptr;
    double* py = y.data_as<double>();
    for (int64_t i = 0; i < x.numel(); ++i) py[i] = gelu_f64(pb ? px[i] + pb[i % n] : px[i], form, alpha);
  }

 private:
  Form form_;
  bool onnx_;
  int bias_input_;
  bool bias_required_;
  bool has_bias_ = false;
  float alpha_ = 1.702f;
};

}  // namespace

void register_gelu_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "Gelu", 20, kAnyOpset,
        [] { return std::make_unique<GeluOp>(Form::erf, true, -1, false); });
  r.add(kMsDomain, "Gelu", 1, kAnyOpset,
        [] { return std::make_unique<GeluOp>(Form::erf, false, -1, false); });
  r.add(kMsDomain, "BiasGelu", 1, kAnyOpset,
        [] { return std::make_unique<GeluOp>(Form::erf, false, 1, true); });
  r.add(kMsDomain, "FastGelu", 1, kAnyOpset,
        [] { return std::make_unique<GeluOp>(Form::tanh, false, 1, false); });
  r.add(kMsDomain, "QuickGelu", 1, kAnyOpset,
        [] { return std::make_unique<GeluOp>(Form::quick, false, -1, false); });
}

}  // namespace ortkit::ops
