// Elementwise arithmetic: binary ops with numpy broadcasting (Sub Mul Div Pow Mod, variadic Min Max Sum
// Mean) and unary math/activations (Neg Abs Sqrt Exp Log Reciprocal Floor Ceil Erf Tanh Sigmoid Clip
// LeakyRelu HardSigmoid HardSwish Softplus Elu Sign). Add and Relu live in examples.cpp.
// Inner loops are plain per-element lambdas over contiguous rows (broadcast.h), which GCC vectorizes for
// the arithmetic ops and for Sigmoid/Tanh (fast_math.h exp); the other transcendental ones call libm.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/broadcast.h"
#include "ops/fast_math.h"
#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

enum class Bin { sub, mul, div, mod, fmod, min, max, sum };

/// Binary arithmetic on one dtype; `kOp` is a template parameter so each loop is specialised.
/// Integers wrap on overflow; integer division or modulo by zero gives 0 instead of trapping (ONNX leaves
/// it undefined), and the one signed quotient that overflows (lowest / -1) wraps to lowest.
template <Bin kOp, class T>
inline T bin(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    if constexpr (kOp == Bin::sub) return wrap_sub(a, b);
    if constexpr (kOp == Bin::mul) return wrap_mul(a, b);
    if constexpr (kOp == Bin::sum) return wrap_add(a, b);
    if constexpr (std::is_signed_v<T>) {
      // x86 traps on lowest / -1 and lowest % -1: answer them without dividing.
      if constexpr (kOp == Bin::div)
        if (b == -1) return wrap_sub(T(0), a);
      if constexpr (kOp == Bin::mod || kOp == Bin::fmod)
        if (b == -1) return T(0);
    }
  } else {
    if constexpr (kOp == Bin::sub) return a - b;
    if constexpr (kOp == Bin::mul) return a * b;
    if constexpr (kOp == Bin::sum) return a + b;
  }
  if constexpr (kOp == Bin::min) {
    if constexpr (std::is_floating_point_v<T>)
      if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    return a < b ? a : b;
  }
  if constexpr (kOp == Bin::max) {
    if constexpr (std::is_floating_point_v<T>)
      if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    return a > b ? a : b;
  }
  if constexpr (kOp == Bin::div) {
    if constexpr (std::is_integral_v<T>)
      return b == 0 ? T(0) : static_cast<T>(a / b);  // truncation
    else
      return a / b;
  }
  if constexpr (kOp == Bin::fmod) {  // C fmod: sign of the dividend
    if constexpr (std::is_integral_v<T>)
      return b == 0 ? T(0) : static_cast<T>(a % b);
    else
      return std::fmod(a, b);
  }
  if constexpr (kOp == Bin::mod) {  // Python mod: sign of the divisor
    if constexpr (std::is_integral_v<T>) {
      if (b == 0) return T(0);
      T r = static_cast<T>(a % b);
      if constexpr (std::is_signed_v<T>)
        if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
      return r;
    } else {
      T r = std::fmod(a, b);
      if (r != 0 && ((r < 0) != (b < 0))) r += b;
      return r;
    }
  }
}

const std::initializer_list<DType> kNumeric = {DType::f32, DType::f64, DType::i8,  DType::u8,  DType::i16,
                                               DType::u16, DType::i32, DType::u32, DType::i64, DType::u64};

/// Sub, Mul, Div, Mod and the variadic Min/Max/Sum/Mean: same dtype in, same dtype out.
template <Bin kOp>
class BinaryOp : public OpKernel {
 public:
  explicit BinaryOp(bool variadic = false, bool mean = false) : variadic_(variadic), mean_(mean) {}

  void compile(CompileContext& ctx) override {
    const size_t n = ctx.num_inputs();
    if (n == 0 || (!variadic_ && n != 2)) ctx.fail("wrong number of inputs");
    if (mean_)
      ctx.require_dtype(0, {DType::f32, DType::f64});
    else
      ctx.require_dtype(0, kNumeric);
    std::vector<Shape> shapes;
    for (size_t i = 0; i < n; ++i) {
      if (ctx.input(i).dtype != ctx.input(0).dtype) ctx.fail("inputs have different types");
      shapes.push_back(ctx.input(i).shape);
    }
    // Float Mod with fmod=0 takes the divisor's sign (Python's %): the spec required fmod=1 for floats
    // until newer opsets defined it, and the result is well defined either way.
    if constexpr (kOp == Bin::mod) fmod_ = ctx.attr().get_int("fmod", 0) != 0;
    if (n == 2) shapes[1] = legacy_.b_shape(ctx, shapes[0], shapes[1]);
    ctx.set_output(0, ctx.input(0).dtype, broadcast_shapes(shapes, ctx.node->describe()));
  }

  void run(RunContext& ctx) override {
    Tensor& o = ctx.output(0);
    visit_numeric(o.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) {
        if constexpr (kOp == Bin::mod) {
          if (fmod_) return go<T, Bin::fmod>(ctx, o);
          return go<T, Bin::mod>(ctx, o);
        } else {
          go<T, kOp>(ctx, o);
        }
      }
    });
  }

 private:
  template <class T, Bin kRealOp>
  void go(RunContext& ctx, Tensor& o) {
    const size_t n = ctx.inputs.size();
    if (n == 1) {
      if (o.bytes()) std::memcpy(o.data(), ctx.input(0).data(), o.bytes());
    } else {
      Tensor view;
      broadcast_binary<T, T, T>(ctx.input(0), legacy_.b(ctx.input(0), ctx.input(1), view), o, ctx.threading,
                                [](T a, T b) { return bin<kRealOp>(a, b); });
      // Further inputs fold into the output in place (it already has the full shape).
      for (size_t i = 2; i < n; ++i)
        broadcast_binary<T, T, T>(o, ctx.input(i), o, ctx.threading,
                                  [](T a, T b) { return bin<kRealOp>(a, b); });
    }
    if constexpr (std::is_floating_point_v<T>) {
      if (mean_) {
        const T inv = T(1) / static_cast<T>(n);
        unary_map<T, T>(o, o, ctx.threading, [inv](T v) { return v * inv; });
      }
    }
  }

  bool variadic_, mean_;
  bool fmod_ = false;
  LegacyBroadcast legacy_;
};

/// Pow: base T (float/int), exponent T1 (float/int), output T.
class PowOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64, DType::i32, DType::i64});
    ctx.require_dtype(1, {DType::f32, DType::f64, DType::i8, DType::u8, DType::i16, DType::u16, DType::i32,
                          DType::u32, DType::i64, DType::u64});
    const Shape b = legacy_.b_shape(ctx, ctx.input(0).shape, ctx.input(1).shape);
    ctx.set_output(0, ctx.input(0).dtype, broadcast_shapes(ctx.input(0).shape, b, ctx.node->describe()));
  }
  void run(RunContext& ctx) override {
    Tensor view;
    const Tensor& a = ctx.input(0);
    const Tensor& b = legacy_.b(a, ctx.input(1), view);
    Tensor& o = ctx.output(0);
    visit_numeric(a.dtype(), [&](auto ta) {
      using Ta = decltype(ta);
      visit_numeric(b.dtype(), [&](auto tb) {
        using Tb = decltype(tb);
        if constexpr (!std::is_same_v<Ta, bool> && !std::is_same_v<Tb, bool>) {
          // The common exporter cases x^2, x^3 (GPT-2's tanh GELU, when it is not fused) and x^0.5 with a
          // scalar exponent get fast paths, as in ONNX Runtime (x^3 as x * x * x: powf was 18 ns an element).
          if (b.numel() == 1 && std::is_same_v<Ta, float>) {
            const double e = static_cast<double>(b.data_as<Tb>()[0]);
            if (e == 2.0)
              return broadcast_binary<Ta, Tb, Ta>(a, b, o, ctx.threading, [](Ta x, Tb) { return x * x; });
            if (e == 3.0)
              return broadcast_binary<Ta, Tb, Ta>(a, b, o, ctx.threading, [](Ta x, Tb) { return x * x * x; });
            if (e == 0.5)
              return broadcast_binary<Ta, Tb, Ta>(a, b, o, ctx.threading,
                                                  [](Ta x, Tb) { return static_cast<Ta>(std::sqrt(x)); });
          }
          broadcast_binary<Ta, Tb, Ta>(a, b, o, ctx.threading, [](Ta x, Tb y) {
            if constexpr (std::is_integral_v<Ta> && std::is_integral_v<Tb>) {
              // Integer power by squaring (exact, like numpy); negative exponents give 0 (or +-1).
              if constexpr (std::is_signed_v<Tb>) {
                if (y < 0) {
                  if constexpr (std::is_signed_v<Ta>)
                    return static_cast<Ta>(x == 1 ? 1 : (x == -1 ? (y % 2 != 0 ? -1 : 1) : 0));
                  else
                    return static_cast<Ta>(x == 1 ? 1 : 0);
                }
              }
              Ta r = 1, base = x;
              auto e = static_cast<uint64_t>(y);
              while (e) {
                if (e & 1) r = wrap_mul(r, base);
                base = wrap_mul(base, base);
                e >>= 1;
              }
              return r;
            } else if constexpr (std::is_integral_v<Ta>) {  // e.g. int base, float exponent: 0^-1 is inf
              return saturate_to_int<Ta>(std::pow(static_cast<double>(x), static_cast<double>(y)));
            } else {
              return static_cast<Ta>(std::pow(static_cast<double>(x), static_cast<double>(y)));
            }
          });
        }
      });
    });
  }

 private:
  LegacyBroadcast legacy_;
};

// ------------------------------------------------------------------------------------------------ unary

enum class Un {
  neg,
  abs,
  sqrt,
  exp,
  log,
  reciprocal,
  floor,
  ceil,
  erf,
  tanh,
  sigmoid,
  leaky_relu,
  hard_sigmoid,
  hard_swish,
  softplus,
  elu,
  sign,
  round,
  sin,
  cos
};

/// tanh as 1 - 2 / (e^2x + 1) on the vectorised exp; near 0 (and for NaN, which it keeps) the series
/// x - x^3/3 keeps relative accuracy. The choice is made on the bits: a float select kept the loop scalar
/// (GCC will not if-convert a float compare under -ftrapping-math), 5.5 ns an element.
inline float tanh_branchless(float x) {
  const float t = 1.f - 2.f / (fast_exp(2.f * x) + 1.f);
  const float s = x * (1.f - x * x * (1.f / 3.f));  // x * (...) keeps the sign of -0
  const uint32_t ax = std::bit_cast<uint32_t>(x) & 0x7fffffffu;
  const uint32_t use_s = -static_cast<uint32_t>(ax < 0x3b83126fu || ax > 0x7f800000u);  // |x| < 4e-3 or NaN
  return std::bit_cast<float>((std::bit_cast<uint32_t>(s) & use_s) | (std::bit_cast<uint32_t>(t) & ~use_s));
}

/// Vectorised f32 maps for the exp-based activations (compiled per ISA, see fast_math.h).
ORTKIT_OPS_CLONES void sigmoid_f32(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = 1.f / (1.f + fast_exp(-x[i]));
}
ORTKIT_OPS_CLONES_512 void tanh_f32(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = tanh_branchless(x[i]);
}

template <Un kOp>
inline float un_f(float x, float alpha, float beta) {
  if constexpr (kOp == Un::neg) return -x;
  if constexpr (kOp == Un::abs) return std::fabs(x);
  if constexpr (kOp == Un::sqrt) return std::sqrt(x);
  if constexpr (kOp == Un::exp) return std::exp(x);
  if constexpr (kOp == Un::log) return std::log(x);
  if constexpr (kOp == Un::reciprocal) return 1.f / x;
  if constexpr (kOp == Un::floor) return std::floor(x);
  if constexpr (kOp == Un::ceil) return std::ceil(x);
  if constexpr (kOp == Un::round) return std::nearbyint(x);  // half to even under the default mode
  if constexpr (kOp == Un::erf) return std::erf(x);
  if constexpr (kOp == Un::tanh) return tanh_branchless(x);
  if constexpr (kOp == Un::sin) return std::sin(x);
  if constexpr (kOp == Un::cos) return std::cos(x);
  if constexpr (kOp == Un::sigmoid) return 1.f / (1.f + fast_exp(-x));  // fast_exp clamps: no overflow
  if constexpr (kOp == Un::leaky_relu) return x >= 0 ? x : alpha * x;
  if constexpr (kOp == Un::hard_sigmoid) return std::clamp(alpha * x + beta, 0.f, 1.f);
  if constexpr (kOp == Un::hard_swish) return x * std::clamp(x * (1.f / 6.f) + 0.5f, 0.f, 1.f);
  if constexpr (kOp == Un::softplus) return x > 20.f ? x : std::log1p(std::exp(x));
  if constexpr (kOp == Un::elu) return x >= 0 ? x : alpha * (std::exp(x) - 1.f);
  if constexpr (kOp == Un::sign) return static_cast<float>((x > 0) - (x < 0));
}

/// Float unary ops (f32; f64 for the libm ones through double math).
template <Un kOp>
class UnaryOp : public OpKernel {
 public:
  UnaryOp(float alpha_def = 0.f, float beta_def = 0.f) : alpha_(alpha_def), beta_(beta_def) {}
  void compile(CompileContext& ctx) override {
    if constexpr (kOp == Un::neg || kOp == Un::abs || kOp == Un::sign)
      ctx.require_dtype(0, {DType::f32, DType::f64, DType::i8, DType::i16, DType::i32, DType::i64});
    else
      ctx.require_dtype(0, {DType::f32, DType::f64});
    alpha_ = ctx.attr().get_float("alpha", alpha_);
    beta_ = ctx.attr().get_float("beta", beta_);
    ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const float a = alpha_, b = beta_;
    switch (x.dtype()) {
      case DType::f32:
        if constexpr (kOp == Un::sigmoid || kOp == Un::tanh) {
          const float* px = x.data_as<float>();
          float* py = y.data_as<float>();
          return parallel_range(ctx.threading, x.numel(), 16384, [&](int64_t s, int64_t e) {
            (kOp == Un::sigmoid ? sigmoid_f32 : tanh_f32)(px + s, py + s, e - s);
          });
        }
        return unary_map<float, float>(x, y, ctx.threading, [a, b](float v) { return un_f<kOp>(v, a, b); });
      case DType::f64:
        // Double inputs go through the float formulas in double via a widening lambda.
        return unary_map<double, double>(x, y, ctx.threading, [a, b](double v) { return un_d(v, a, b); });
      default:
        visit_numeric(x.dtype(), [&](auto tag) {
          using T = decltype(tag);
          if constexpr (std::is_signed_v<T> && std::is_integral_v<T>) {
            unary_map<T, T>(x, y, ctx.threading, [](T v) {
              if constexpr (kOp == Un::neg) return static_cast<T>(-v);
              if constexpr (kOp == Un::abs) return static_cast<T>(v < 0 ? -v : v);
              return static_cast<T>((v > 0) - (v < 0));
            });
          }
        });
    }
  }

 private:
  static double un_d(double x, double alpha, double beta) {
    if constexpr (kOp == Un::neg) return -x;
    if constexpr (kOp == Un::abs) return std::fabs(x);
    if constexpr (kOp == Un::sqrt) return std::sqrt(x);
    if constexpr (kOp == Un::exp) return std::exp(x);
    if constexpr (kOp == Un::log) return std::log(x);
    if constexpr (kOp == Un::reciprocal) return 1.0 / x;
    if constexpr (kOp == Un::floor) return std::floor(x);
    if constexpr (kOp == Un::ceil) return std::ceil(x);
    if constexpr (kOp == Un::round) return std::nearbyint(x);
    if constexpr (kOp == Un::erf) return std::erf(x);
    if constexpr (kOp == Un::tanh) return std::tanh(x);
    if constexpr (kOp == Un::sin) return std::sin(x);
    if constexpr (kOp == Un::cos) return std::cos(x);
    if constexpr (kOp == Un::sigmoid) return 1.0 / (1.0 + std::exp(-x));
    if constexpr (kOp == Un::leaky_relu) return x >= 0 ? x : alpha * x;
    if constexpr (kOp == Un::hard_sigmoid) return std::clamp(alpha * x + beta, 0.0, 1.0);
    if constexpr (kOp == Un::hard_swish) return x * std::clamp(x / 6.0 + 0.5, 0.0, 1.0);
    if constexpr (kOp == Un::softplus) return std::log1p(std::exp(x));
    if constexpr (kOp == Un::elu) return x >= 0 ? x : alpha * (std::exp(x) - 1.0);
    if constexpr (kOp == Un::sign) return static_cast<double>((x > 0) - (x < 0));
    return x;
  }
  float alpha_, beta_;
};

/// Clip: opset 6-10 min/max attributes; 11+ optional min/max scalar inputs (12+ integer types).
class ClipOp : public OpKernel {
 public:
  explicit ClipOp(bool attrs) : attrs_(attrs) {}
  void compile(CompileContext& ctx) override {
    if (attrs_) {
      ctx.require_dtype(0, {DType::f32});
      lo_ = ctx.attr().get_float("min", -std::numeric_limits<float>::infinity());
      hi_ = ctx.attr().get_float("max", std::numeric_limits<float>::infinity());
    } else {
      ctx.require_dtype(0, {DType::f32, DType::f64, DType::i8, DType::u8, DType::i32, DType::i64, DType::u32,
                            DType::u64, DType::i16, DType::u16});
      for (size_t i = 1; i < 3; ++i)
        if (ctx.has_input(i) &&
            (ctx.input(i).dtype != ctx.input(0).dtype || shape_numel(ctx.input(i).shape) != 1))
          ctx.fail("min/max must be scalars of the input's type");
    }
    ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (attrs_) {
      const float lo = lo_, hi = hi_;
      return unary_map<float, float>(x, y, ctx.threading,
                                     [lo, hi](float v) { return std::min(std::max(v, lo), hi); });
    }
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) {
        T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
        if constexpr (std::is_floating_point_v<T>) {
          lo = -std::numeric_limits<T>::infinity();
          hi = std::numeric_limits<T>::infinity();
        }
        if (ctx.has_input(1)) lo = ctx.input(1).data_as<T>()[0];
        if (ctx.has_input(2)) hi = ctx.input(2).data_as<T>()[0];
        // max then min: with min > max every value becomes max (the spec's rule since opset 11).
        unary_map<T, T>(x, y, ctx.threading, [lo, hi](T v) {
          const T m = v < lo ? lo : v;
          return hi < m ? hi : m;
        });
      }
    });
  }

 private:
  bool attrs_;
  float lo_ = 0, hi_ = 0;
};

template <class K, class... A>
KernelFactory make(A... a) {
  return [=] { return std::make_unique<K>(a...); };
}

}  // namespace

void register_elementwise_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "Sub", 1, kAnyOpset, make<BinaryOp<Bin::sub>>());
  r.add(kOnnxDomain, "Mul", 1, kAnyOpset, make<BinaryOp<Bin::mul>>());
  r.add(kOnnxDomain, "Div", 1, kAnyOpset, make<BinaryOp<Bin::div>>());
  r.add(kOnnxDomain, "Mod", 10, kAnyOpset, make<BinaryOp<Bin::mod>>());
  // Variadic with numpy broadcasting from opset 8.
  r.add(kOnnxDomain, "Min", 1, kAnyOpset, make<BinaryOp<Bin::min>>(true, false));
  r.add(kOnnxDomain, "Max", 1, kAnyOpset, make<BinaryOp<Bin::max>>(true, false));
  r.add(kOnnxDomain, "Sum", 1, kAnyOpset, make<BinaryOp<Bin::sum>>(true, false));
  r.add(kOnnxDomain, "Mean", 1, kAnyOpset, make<BinaryOp<Bin::sum>>(true, true));
  r.add(kOnnxDomain, "Pow", 1, kAnyOpset, make<PowOp>());

  r.add(kOnnxDomain, "Neg", 1, kAnyOpset, make<UnaryOp<Un::neg>>());
  r.add(kOnnxDomain, "Abs", 1, kAnyOpset, make<UnaryOp<Un::abs>>());
  r.add(kOnnxDomain, "Sign", 9, kAnyOpset, make<UnaryOp<Un::sign>>());
  r.add(kOnnxDomain, "Sqrt", 1, kAnyOpset, make<UnaryOp<Un::sqrt>>());
  r.add(kOnnxDomain, "Exp", 1, kAnyOpset, make<UnaryOp<Un::exp>>());
  r.add(kOnnxDomain, "Log", 1, kAnyOpset, make<UnaryOp<Un::log>>());
  r.add(kOnnxDomain, "Reciprocal", 1, kAnyOpset, make<UnaryOp<Un::reciprocal>>());
  r.add(kOnnxDomain, "Floor", 1, kAnyOpset, make<UnaryOp<Un::floor>>());
  r.add(kOnnxDomain, "Ceil", 1, kAnyOpset, make<UnaryOp<Un::ceil>>());
  r.add(kOnnxDomain, "Round", 11, kAnyOpset, make<UnaryOp<Un::round>>());
  r.add(kOnnxDomain, "Erf", 9, kAnyOpset, make<UnaryOp<Un::erf>>());
  r.add(kOnnxDomain, "Tanh", 1, kAnyOpset, make<UnaryOp<Un::tanh>>());
  r.add(kOnnxDomain, "Sin", 7, kAnyOpset, make<UnaryOp<Un::sin>>());
  r.add(kOnnxDomain, "Cos", 7, kAnyOpset, make<UnaryOp<Un::cos>>());
  r.add(kOnnxDomain, "Sigmoid", 1, kAnyOpset, make<UnaryOp<Un::sigmoid>>());
  r.add(kOnnxDomain, "LeakyRelu", 1, kAnyOpset, make<UnaryOp<Un::leaky_relu>>(0.01f, 0.f));
  r.add(kOnnxDomain, "HardSigmoid", 1, kAnyOpset, make<UnaryOp<Un::hard_sigmoid>>(0.2f, 0.5f));
  r.add(kOnnxDomain, "HardSwish", 14, kAnyOpset, make<UnaryOp<Un::hard_swish>>());
  r.add(kOnnxDomain, "Softplus", 1, kAnyOpset, make<UnaryOp<Un::softplus>>());
  r.add(kOnnxDomain, "Elu", 1, kAnyOpset, make<UnaryOp<Un::elu>>(1.f, 0.f));
  r.add(kOnnxDomain, "Clip", 1, 10, make<ClipOp>(true));
  r.add(kOnnxDomain, "Clip", 11, kAnyOpset, make<ClipOp>(false));
}

}  // namespace ortkit::ops
