// More elementwise ops: inverse/hyperbolic trigonometry (Acos Acosh Asin Asinh Atan Atanh Cosh Sinh
// Tan), activations (Celu Selu Softsign Shrink ThresholdedRelu), float tests (IsInf IsNaN -> bool),
// BitShift on integers, and the opset-17 window generators (Blackman/Hamming/HannWindow).
// All are per-element maps over unary_map / broadcast_binary (broadcast.h); f32 and f64.
#include <cmath>
#include <limits>
#include <numbers>
#include <type_traits>
#include <utility>

#include "ops/broadcast.h"
#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

enum class Fn { acos, acosh, asin, asinh, atan, atanh, cosh, sinh, tan, celu, selu, softsign, thresholded_relu };

/// One element in T (float or double); alpha/gamma are the op's attributes (unused by the trig ones).
template <Fn kF, class T>
inline T fn(T x, T alpha, T gamma) {
  if constexpr (kF == Fn::acos) return std::acos(x);
  if constexpr (kF == Fn::acosh) return std::acosh(x);
  if constexpr (kF == Fn::asin) return std::asin(x);
  if constexpr (kF == Fn::asinh) return std::asinh(x);
  if constexpr (kF == Fn::atan) return std::atan(x);
  if constexpr (kF == Fn::atanh) return std::atanh(x);
  if constexpr (kF == Fn::cosh) return std::cosh(x);
  if constexpr (kF == Fn::sinh) return std::sinh(x);
  if constexpr (kF == Fn::tan) return std::tan(x);
  if constexpr (kF == Fn::celu) return x > 0 ? x : alpha * std::expm1(x / alpha);
  if constexpr (kF == Fn::selu) return gamma * (x > 0 ? x : alpha * std::expm1(x));
  if constexpr (kF == Fn::softsign) return x / (T(1) + std::fabs(x));
  if constexpr (kF == Fn::thresholded_relu) return x > alpha ? x : T(0);
  return x;
}

template <Fn kF>
class MapOp : public OpKernel {
 public:
  MapOp(float alpha = 0.f, float gamma = 0.f) : alpha_(alpha), gamma_(gamma) {}
  void compile(CompileContext& ctx) override {
    if constexpr (kF == Fn::celu)
      ctx.require_dtype(0, {DType::f32});  // the spec's only type
    else
      ctx.require_dtype(0, {DType::f32, DType::f64});
    alpha_ = ctx.attr().get_float("alpha", alpha_);
    gamma_ = ctx.attr().get_float("gamma", gamma_);
    if (kF == Fn::celu && alpha_ == 0.f) ctx.fail("alpha must not be 0");
    ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    if (ctx.input(0).dtype() == DType::f64) {
      const double a = alpha_, g = gamma_;
      return unary_map<double, double>(ctx.input(0), ctx.output(0), ctx.threading,
                                       [a, g](double v) { return fn<kF, double>(v, a, g); });
    }
    const float a = alpha_, g = gamma_;
    unary_map<float, float>(ctx.input(0), ctx.output(0), ctx.threading,
                            [a, g](float v) { return fn<kF, float>(v, a, g); });
  }

 private:
  float alpha_, gamma_;
};

/// Shrink: x < -lambd ? x + bias : x > lambd ? x - bias : 0, on every numeric type (computed in float
/// for floats, in double then cast for integers, like the reference).
class ShrinkOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64, DType::i8, DType::u8, DType::i16, DType::u16, DType::i32,
                          DType::u32, DType::i64, DType::u64});
    lambd_ = ctx.attr().get_float("lambd", 0.5f);
    bias_ = ctx.attr().get_float("bias", 0.f);
    ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    visit_numeric(ctx.input(0).dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) {
        using C = std::conditional_t<std::is_same_v<T, float>, float, double>;
        const C l = lambd_, b = bias_;
        unary_map<T, T>(ctx.input(0), ctx.output(0), ctx.threading, [l, b](T v) {
          const C x = static_cast<C>(v);
          return static_cast<T>(x < -l ? x + b : (x > l ? x - b : C(0)));
        });
      }
    });
  }

 private:
  float lambd_ = 0.5f, bias_ = 0.f;
};

/// IsNaN / IsInf (detect_positive, detect_negative): float in, bool out.
class FloatTestOp : public OpKernel {
 public:
  explicit FloatTestOp(bool inf) : inf_(inf) {}
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64});
    pos_ = ctx.attr().get_int("detect_positive", 1) != 0;
    neg_ = ctx.attr().get_int("detect_negative", 1) != 0;
    ctx.set_output(0, DType::boolean, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    if (ctx.input(0).dtype() == DType::f64) return go<double>(ctx);
    go<float>(ctx);
  }

 private:
  template <class T>
  void go(RunContext& ctx) {
    const bool pos = pos_, neg = neg_;
    if (!inf_)
      return unary_map<T, bool>(ctx.input(0), ctx.output(0), ctx.threading, [](T v) { return std::isnan(v); });
    unary_map<T, bool>(ctx.input(0), ctx.output(0), ctx.threading, [pos, neg](T v) {
      return (pos && v == std::numeric_limits<T>::infinity()) || (neg && v == -std::numeric_limits<T>::infinity());
    });
  }
  bool inf_;
  bool pos_ = true, neg_ = true;
};

/// BitShift (direction LEFT | RIGHT) with broadcasting, on unsigned integers and (opset 28) signed ones.
/// Shifts outside [0, width) are undefined in C++; ONNX's reference gives them 0, except a right shift of
/// a negative signed value, which gives -1 (all sign bits, as shifting one bit at a time would).
/// Left shifts go through the unsigned type so that the bits shifted out of a signed value are dropped.
class BitShiftOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(
        0, {DType::u8, DType::u16, DType::u32, DType::u64, DType::i8, DType::i16, DType::i32, DType::i64});
    if (ctx.input(1).dtype != ctx.input(0).dtype) ctx.fail("X and Y have different types");
    const std::string d = ctx.attr().get_string("direction");
    if (d != "LEFT" && d != "RIGHT") ctx.fail("direction must be LEFT or RIGHT, not '" + d + "'");
    left_ = d == "LEFT";
    ctx.set_output(0, ctx.input(0).dtype,
                   broadcast_shapes(ctx.input(0).shape, ctx.input(1).shape, ctx.node->describe()));
  }
  void run(RunContext& ctx) override {
    visit_integer(ctx.input(0).dtype(), [&](auto tag) {
      using T = decltype(tag);
      using U = std::make_unsigned_t<T>;
      constexpr T kBits = static_cast<T>(sizeof(T) * 8);
      // cmp_less: `v < 0` on unsigned T would trip -Wtype-limits.
      const auto out_of_range = [](T s) { return std::cmp_less(s, 0) || s >= kBits; };
      if (left_)
        broadcast_binary<T, T, T>(ctx.input(0), ctx.input(1), ctx.output(0), ctx.threading, [=](T x, T s) {
          return out_of_range(s) ? T(0) : static_cast<T>(static_cast<U>(static_cast<U>(x) << s));
        });
      else
        broadcast_binary<T, T, T>(ctx.input(0), ctx.input(1), ctx.output(0), ctx.threading, [=](T x, T s) {
          // C++20 defines >> of a negative value as arithmetic (sign-filling), like numpy.
          return out_of_range(s) ? (std::cmp_less(x, 0) ? T(-1) : T(0)) : static_cast<T>(x >> s);
        });
    });
  }

 private:
  bool left_ = true;
};

// ------------------------------------------------------------------------------------------------ windows

enum class Win { blackman, hamming, hann };

/// Window of `size` (int32/int64 scalar input) values: periodic (default) divides by size, symmetric by
/// size - 1. The output type is the output_datatype attribute (default float). A non-constant size makes
/// the output data-dependent.
template <Win kW>
class WindowOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::i32, DType::i64});
    if (shape_numel(ctx.input(0).shape) != 1) ctx.fail("size must be a scalar");
    periodic_ = ctx.attr().get_int("periodic", 1) != 0;
    out_ = dtype_from_onnx(static_cast<int>(ctx.attr().get_int("output_datatype", 1)));
    bool ok = false;
    if (out_ != DType::boolean) visit_numeric(out_, [&](auto) { ok = true; });
    if (!ok) ctx.unsupported("output_datatype " + std::to_string(ctx.attr().get_int("output_datatype", 1)));
    std::vector<int64_t> size;
    if (const_ints(ctx, 0, size)) {
      if (size[0] < 0) ctx.fail("size must be >= 0");
      ctx.set_output(0, out_, {size[0]});
    } else {
      ctx.outputs[0].data_dependent = true;
      ctx.outputs[0].dtype = out_;
    }
  }
  void run(RunContext& ctx) override {
    const int64_t n = int_at(ctx.input(0), 0);
    if (n < 0) ctx.fail("size must be >= 0");
    Tensor* y = &ctx.output(0);
    if (y->empty()) y = &ctx.allocate_output(0, out_, {n});
    const double den = static_cast<double>(periodic_ ? n : n - 1);
    const double pi = std::numbers::pi;
    visit_numeric(out_, [&](auto tag) {
      using T = decltype(tag);
      T* p = y->data_as<T>();
      for (int64_t i = 0; i < n; ++i) {
        const double t = den > 0 ? static_cast<double>(i) / den : 0.0;
        double v;
        if constexpr (kW == Win::blackman)
          v = 0.42 - 0.5 * std::cos(2 * pi * t) + 0.08 * std::cos(4 * pi * t);
        else if constexpr (kW == Win::hamming)
          v = 25.0 / 46.0 - 21.0 / 46.0 * std::cos(2 * pi * t);
        else
          v = 0.5 - 0.5 * std::cos(2 * pi * t);
        p[i] = static_cast<T>(v);
      }
    });
  }

 private:
  bool periodic_ = true;
  DType out_ = DType::f32;
};

template <class K, class... A>
KernelFactory make(A... a) {
  return [=] { return std::make_unique<K>(a...); };
}

}  // namespace

void register_elementwise_more_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "Acos", 7, kAnyOpset, make<MapOp<Fn::acos>>());
  r.add(kOnnxDomain, "Asin", 7, kAnyOpset, make<MapOp<Fn::asin>>());
  r.add(kOnnxDomain, "Atan", 7, kAnyOpset, make<MapOp<Fn::atan>>());
  r.add(kOnnxDomain, "Tan", 7, kAnyOpset, make<MapOp<Fn::tan>>());
  r.add(kOnnxDomain, "Acosh", 9, kAnyOpset, make<MapOp<Fn::acosh>>());
  r.add(kOnnxDomain, "Asinh", 9, kAnyOpset, make<MapOp<Fn::asinh>>());
  r.add(kOnnxDomain, "Atanh", 9, kAnyOpset, make<MapOp<Fn::atanh>>());
  r.add(kOnnxDomain, "Cosh", 9, kAnyOpset, make<MapOp<Fn::cosh>>());
  r.add(kOnnxDomain, "Sinh", 9, kAnyOpset, make<MapOp<Fn::sinh>>());
  r.add(kOnnxDomain, "Celu", 12, kAnyOpset, make<MapOp<Fn::celu>>(1.f, 0.f));
  r.add(kOnnxDomain, "Selu", 1, kAnyOpset, make<MapOp<Fn::selu>>(1.67326319217681884765625f, 1.05070102214813232421875f));
  r.add(kOnnxDomain, "Softsign", 1, kAnyOpset, make<MapOp<Fn::softsign>>());
  r.add(kOnnxDomain, "ThresholdedRelu", 10, kAnyOpset, make<MapOp<Fn::thresholded_relu>>(1.f, 0.f));
  r.add(kOnnxDomain, "Shrink", 9, kAnyOpset, make<ShrinkOp>());
  r.add(kOnnxDomain, "IsNaN", 9, kAnyOpset, make<FloatTestOp>(false));
  r.add(kOnnxDomain, "IsInf", 10, kAnyOpset, make<FloatTestOp>(true));
  r.add(kOnnxDomain, "BitShift", 11, kAnyOpset, make<BitShiftOp>());
  r.add(kOnnxDomain, "BlackmanWindow", 17, kAnyOpset, make<WindowOp<Win::blackman>>());
  r.add(kOnnxDomain, "HammingWindow", 17, kAnyOpset, make<WindowOp<Win::hamming>>());
  r.add(kOnnxDomain, "HannWindow", 17, kAnyOpset, make<WindowOp<Win::hann>>());
}

}  // namespace ortkit::ops
