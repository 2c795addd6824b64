// Elementwise ops added in recent opsets: Mish (18), Swish (24), SwiGLU (28), BitwiseAnd/Or/Xor/Not (18),
// BitCast (26); CumProd (26) shares CumSum's scan in movement.cpp. Float ops take float32/float64
// (float16/bfloat16 models arrive as fp32, see graph/passes/narrow_float_compute.cpp).
#include <cmath>
#include <cstring>
#include <type_traits>

#include "ops/broadcast.h"
#include "ops/op_util.h"
#include "ops/registry.h"
#include "ortkit/narrow_types.h"

namespace ortkit::ops {
namespace {

void require_float(const CompileContext& ctx, size_t i) {
  ctx.require_dtype(i, {DType::f32, DType::f64});
}

// ---------------------------------------------------------------------------------------------- activations

class MishOp : public OpKernel {
  void compile(CompileContext& ctx) override {
    require_float(ctx, 0);
    ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    visit_float(ctx.input(0).dtype(), [&](auto tag) {
      using T = decltype(tag);
      // log1p(exp(x)) overflows to inf for large x, and tanh(inf) = 1 gives y = x as it should.
      unary_map<T, T>(ctx.input(0), ctx.output(0), ctx.threading,
                      [](T x) { return x * std::tanh(std::log1p(std::exp(x))); });
    });
  }
};

template <class T>
T swish(T x, T alpha) {
  return x / (T(1) + std::exp(-alpha * x));
}

class SwishOp : public OpKernel {
  void compile(CompileContext& ctx) override {
    require_float(ctx, 0);
    alpha_ = ctx.attr().get_float("alpha", 1.f);
    ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    visit_float(ctx.input(0).dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T alpha = static_cast<T>(alpha_);
      unary_map<T, T>(ctx.input(0), ctx.output(0), ctx.threading, [alpha](T x) { return swish(x, alpha); });
    });
  }
  float alpha_ = 1.f;
};

/// Y = Swish_alpha(A) * B with A and B of one shape (the spec forbids broadcasting here).
class SwiGluOp : public OpKernel {
  void compile(CompileContext& ctx) override {
    require_float(ctx, 0);
    if (ctx.input(1).dtype != ctx.input(0).dtype) ctx.fail("A and B must have the same dtype");
    if (ctx.input(0).shape != ctx.input(1).shape)
      ctx.fail("A " + shape_str(ctx.input(0).shape) + " and B " + shape_str(ctx.input(1).shape) +
               " must have the same shape (SwiGLU does not broadcast)");
    alpha_ = ctx.attr().get_float("alpha", 1.f);
    ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    visit_float(ctx.input(0).dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T alpha = static_cast<T>(alpha_);
      broadcast_binary<T, T, T>(ctx.input(0), ctx.input(1), ctx.output(0), ctx.threading,
                                [alpha](T a, T b) { return swish(a, alpha) * b; });
    });
  }
  float alpha_ = 1.f;
};

// ---------------------------------------------------------------------------------------------- bitwise

void require_integer(const CompileContext& ctx, size_t i) {
  ctx.require_dtype(
      i, {DType::i8, DType::u8, DType::i16, DType::u16, DType::i32, DType::u32, DType::i64, DType::u64});
}

enum class BitOp { and_, or_, xor_ };

class BitwiseBinaryOp : public OpKernel {
 public:
  explicit BitwiseBinaryOp(BitOp op) : op_(op) {}
  void compile(CompileContext& ctx) override {
    require_integer(ctx, 0);
    if (ctx.input(1).dtype != ctx.input(0).dtype)
      ctx.fail(std::string("A and B must have the same dtype, got ") + dtype_name(ctx.input(0).dtype) +
               " and " + dtype_name(ctx.input(1).dtype));
    ctx.set_output(0, ctx.input(0).dtype,
                   broadcast_shapes(ctx.input(0).shape, ctx.input(1).shape, ctx.node->describe()));
  }
  void run(RunContext& ctx) override {
    visit_integer(ctx.input(0).dtype(), [&](auto tag) {
      using T = decltype(tag);
      const Tensor &a = ctx.input(0), &b = ctx.input(1);
      Tensor& y = ctx.output(0);
      switch (op_) {
        case BitOp::and_:
          return broadcast_binary<T, T, T>(a, b, y, ctx.threading, [](T p, T q) { return T(p & q); });
        case BitOp::or_:
          return broadcast_binary<T, T, T>(a, b, y, ctx.threading, [](T p, T q) { return T(p | q); });
        case BitOp::xor_:
          return broadcast_binary<T, T, T>(a, b, y, ctx.threading, [](T p, T q) { return T(p ^ q); });
      }
    });
  }

 private:
  BitOp op_;
};

class BitwiseNotOp : public OpKernel {
  void compile(CompileContext& ctx) override {
    require_integer(ctx, 0);
    ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    visit_integer(ctx.input(0).dtype(), [&](auto tag) {
      using T = decltype(tag);
      unary_map<T, T>(ctx.input(0), ctx.output(0), ctx.threading, [](T v) { return T(~v); });
    });
  }
};

// ---------------------------------------------------------------------------------------------- BitCast

/// Reinterprets the bytes (little endian, as the host) as dtype `to` of the same width.
class BitCastOp : public OpKernel {
  void compile(CompileContext& ctx) override {
    const DType from = ctx.input(0).dtype;
    const int64_t to_onnx = ctx.attr().get_int("to");
    const DType to = dtype_from_onnx(static_cast<int>(to_onnx));
    if (from == DType::string || to_onnx == 8) ctx.fail("BitCast does not apply to strings");
    if (to == DType::undefined || dtype_size(from) == 0)
      ctx.unsupported("BitCast to or from ONNX type " + std::to_string(to_onnx) + " / " + dtype_name(from));
    if (bit_width(to) != bit_width(from))
      ctx.fail(std::string("BitCast needs types of the same width: ") + dtype_name(from) + " (" +
               std::to_string(bit_width(from)) + " bits) to " + dtype_name(to) + " (" +
               std::to_string(bit_width(to)) + " bits)");
    ctx.set_output(0, to, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const int bits = bit_width(x.dtype());
    if (bits >= 8) {
      if (x.bytes()) std::memcpy(y.data(), x.data(), x.bytes());
      return;
    }
    // 4- and 2-bit types sit one per byte (int4 / int2 sign-extended): reinterpret the element's bits.
    const uint8_t* in = x.data_as<uint8_t>();
    uint8_t* out = y.data_as<uint8_t>();
    const DType to = y.dtype();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const int v = in[i] & ((1 << bits) - 1);
      out[i] = static_cast<uint8_t>(to == DType::i4   ? wrap_to_int4(v)
                                    : to == DType::i2 ? wrap_to_int2(v)
                                                      : v);
    }
  }

 private:
  static int bit_width(DType t) {
    const int narrow = narrow_bits(t);
    return narrow ? narrow : 8 * static_cast<int>(dtype_size(t));
  }
};

}  // namespace

void register_recent_elementwise_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "Mish", 18, kAnyOpset, [] { return std::make_unique<MishOp>(); });
  r.add(kOnnxDomain, "Swish", 24, kAnyOpset, [] { return std::make_unique<SwishOp>(); });
  r.add(kOnnxDomain, "SwiGLU", 28, kAnyOpset, [] { return std::make_unique<SwiGluOp>(); });
  r.add(kOnnxDomain, "BitwiseAnd", 18, kAnyOpset,
        [] { return std::make_unique<BitwiseBinaryOp>(BitOp::and_); });
  r.add(kOnnxDomain, "BitwiseOr", 18, kAnyOpset,
        [] { return std::make_unique<BitwiseBinaryOp>(BitOp::or_); });
  r.add(kOnnxDomain, "BitwiseXor", 18, kAnyOpset,
        [] { return std::make_unique<BitwiseBinaryOp>(BitOp::xor_); });
  r.add(kOnnxDomain, "BitwiseNot", 18, kAnyOpset, [] { return std::make_unique<BitwiseNotOp>(); });
  r.add(kOnnxDomain, "BitCast", 26, kAnyOpset, [] { return std::make_unique<BitCastOp>(); });
}

}  // namespace ortkit::ops
