// ONNX Runtime's quantized contrib ops of the QOperator format: what `quantize_static(...,
// quant_format=QOperator)` writes around QLinearConv / QLinearMatMul, and what the ONNX model zoo's int8
// CNNs (ResNet, MobileNet, ...) contain:
//   QLinearAdd, QLinearMul    (A, A_scale, A_zp?, B, B_scale, B_zp?, C_scale, C_zp?), numpy broadcasting
//   QLinearGlobalAveragePool  (X, x_scale, x_zp, y_scale, y_zp), channels_last 0/1
//   QLinearConcat             (Y_scale, Y_zp, then X, X_scale, X_zp per input), axis
//   QLinearSigmoid, QLinearLeakyRelu (X, X_scale, X_zp?, Y_scale, Y_zp?), LeakyRelu's alpha
//   QLinearSoftmax            (X, X_scale, X_zp?, Y_scale, Y_zp?), axis, opset (the Softmax semantics:
//                             before 13 over the flattened dims [axis, rank), from 13 over one axis)
//   QGemm                     (A, a_scale, a_zp, B, b_scale, b_zp, C?, y_scale?, y_zp?), alpha, transB:
//                             y = alpha * (A B + C), int32 C at scale a_scale * b_scale; float
//                             output without y_scale
// Every scale and zero point is per tensor (QGemm's b_scale / b_zp also per column). The arithmetic
// follows ONNX Runtime's: real values from (q - zp) * scale, results rounded half to even and saturated.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/broadcast.h"
#include "ops/op_util.h"
#include "ops/quant_common.h"
#include "ops/registry.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::ops {
namespace {

using quant::int_at;

/// Checks that slot i (if present) holds one value of one of `types`.
void require_scalar(const CompileContext& ctx, size_t i, std::initializer_list<DType> types,
                    const char* what) {
  if (!ctx.has_input(i)) return;
  ctx.require_dtype(i, types);
  if (!quant::is_scalar_like(ctx.input(i).shape)) ctx.fail(std::string(what) + " must be a scalar");
}

/// The unary QOperator layout: X (u8 or s8), scalar X_scale (1), X_zero_point (2), Y_scale (3) and
/// Y_zero_point (4), the zero points of X's type. `x` / `y` name them in errors ("x" or "X").
DType require_unary_quant_io(const CompileContext& ctx, const std::string& x, const std::string& y) {
  ctx.require_dtype(0, {DType::u8, DType::i8});
  const DType t = ctx.input(0).dtype;
  require_scalar(ctx, 1, {DType::f32}, (x + "_scale").c_str());
  require_scalar(ctx, 3, {DType::f32}, (y + "_scale").c_str());
  require_scalar(ctx, 2, {t}, (x + "_zero_point").c_str());
  require_scalar(ctx, 4, {t}, (y + "_zero_point").c_str());
  return t;
}

float scale_at(const RunContext& ctx, size_t i) {
  return ctx.input(i).data_as<float>()[0];
}
int32_t zp_at(const RunContext& ctx, size_t i) {
  return ctx.has_input(i) ? int_at(ctx.input(i), 0) : 0;
}

template <class T>
T saturate_round(float v, int32_t zp) {
  constexpr float lo = std::is_signed_v<T> ? -128.f : 0.f, hi = std::is_signed_v<T> ? 127.f : 255.f;
  const float z = static_cast<float>(zp);
  return quant::quantize_one<T>(v, lo - z, hi - z, z);  // NaN: the low end, no undefined conversion
}

/// QLinearAdd / QLinearMul.
class QLinearBinary : public OpKernel {
 public:
  explicit QLinearBinary(bool mul) : mul_(mul) {}
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::u8, DType::i8});
    const DType t = ctx.input(0).dtype;
    ctx.require_dtype(3, {t});
    require_scalar(ctx, 1, {DType::f32}, "A_scale");
    require_scalar(ctx, 4, {DType::f32}, "B_scale");
    require_scalar(ctx, 6, {DType::f32}, "C_scale");
    require_scalar(ctx, 2, {t}, "A_zero_point");
    require_scalar(ctx, 5, {t}, "B_zero_point");
    require_scalar(ctx, 7, {t}, "C_zero_point");
    ctx.set_output(0, t, broadcast_shapes(ctx.input(0).shape, ctx.input(3).shape, ctx.node->describe()));
  }
  void run(RunContext& ctx) override {
    if (ctx.input(0).dtype() == DType::u8)
      go<uint8_t>(ctx);
    else
      go<int8_t>(ctx);
  }

 private:
  template <class T>
  void go(RunContext& ctx) {
    const float sa = scale_at(ctx, 1), sb = scale_at(ctx, 4), sc = scale_at(ctx, 6);
    const int32_t za = zp_at(ctx, 2), zb = zp_at(ctx, 5), zc = zp_at(ctx, 7);
    if (mul_) {
      const float m = sa * sb / sc;
      broadcast_binary<T, T, T>(ctx.input(0), ctx.input(3), ctx.output(0), ctx.threading, [=](T a, T b) {
        return saturate_round<T>(m * static_cast<float>((a - za) * (b - zb)), zc);
      });
    } else {
      const float ra = sa / sc, rb = sb / sc;
      broadcast_binary<T, T, T>(ctx.input(0), ctx.input(3), ctx.output(0), ctx.threading, [=](T a, T b) {
        return saturate_round<T>(ra * static_cast<float>(a - za) + rb * static_cast<float>(b - zb), zc);
      });
    }
  }
  bool mul_;
};

/// QLinearGlobalAveragePool: mean over the spatial dims of the integer values, requantized once.
class QLinearGlobalAveragePool : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    const DType t = require_unary_quant_io(ctx, "x", "y");
    const Shape& s = ctx.input(0).shape;
    if (s.size() < 3) ctx.fail("X must have rank >= 3, got " + shape_str(s));
    nhwc_ = ctx.attr().get_int("channels_last", 0) != 0;
    Shape out = s;
    for (size_t d = nhwc_ ? 1 : 2; d < s.size() - (nhwc_ ? 1 : 0); ++d) out[d] = 1;
    ctx.set_output(0, t, out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Shape& s = x.shape();
    const int64_t n = s[0], c = nhwc_ ? s.back() : s[1];
    const int64_t len = c && n ? x.numel() / (n * c) : 0;
    const float mult = len ? scale_at(ctx, 1) / (scale_at(ctx, 3) * static_cast<float>(len)) : 0.f;
    const int32_t zx = zp_at(ctx, 2), zy = zp_at(ctx, 4);
    const bool nhwc = nhwc_;
    Tensor& y = ctx.output(0);
    const DType t = x.dtype();
    parallel_range(ctx.threading, n * c, 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t img = i / c, ch = i % c;
        int64_t sum = 0;
        for (int64_t k = 0; k < len; ++k) sum += int_at(x, nhwc ? (img * len + k) * c + ch : i * len + k);
        quant::store_q(t, y.data(), i, static_cast<float>(sum - static_cast<int64_t>(zx) * len) * mult, zy);
      }
    });
  }

 private:
  bool nhwc_ = false;
};

/// QLinearConcat: each input requantized to the output's scale and zero point, then concatenated.
class QLinearConcat : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    const size_t n = ctx.num_inputs();
    if (n < 5 || (n - 2) % 3)
      ctx.fail("inputs must be Y_scale, Y_zero_point and (X, X_scale, X_zero_point) triples");
    require_scalar(ctx, 0, {DType::f32}, "Y_scale");
    ctx.require_dtype(2, {DType::u8, DType::i8});
    const DType t = ctx.input(2).dtype;
    require_scalar(ctx, 1, {t}, "Y_zero_point");
    Shape out = ctx.input(2).shape;
    const int64_t rank = static_cast<int64_t>(out.size());
    axis_ = normalize_axis(ctx.attr().get_int("axis"), rank, ctx.node->describe());
    out[static_cast<size_t>(axis_)] = 0;
    for (size_t i = 2; i < n; i += 3) {
      ctx.require_dtype(i, {t});
      require_scalar(ctx, i + 1, {DType::f32}, "X_scale");
      require_scalar(ctx, i + 2, {t}, "X_zero_point");
      const Shape& s = ctx.input(i).shape;
      for (int64_t d = 0; d < rank; ++d)
        if (d != axis_ && (static_cast<int64_t>(s.size()) != rank ||
                           s[static_cast<size_t>(d)] != out[static_cast<size_t>(d)]))
          ctx.fail("input " + std::to_string(i) + " " + shape_str(s) +
                   " does not match the others off the axis");
      out[static_cast<size_t>(axis_)] += s[static_cast<size_t>(axis_)];
    }
    ctx.set_output(0, t, out);
  }
  void run(RunContext& ctx) override {
    Tensor& y = ctx.output(0);
    const Shape& ys = y.shape();
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis_; ++d) outer *= ys[static_cast<size_t>(d)];
    for (size_t d = static_cast<size_t>(axis_) + 1; d < ys.size(); ++d) inner *= ys[d];
    const int64_t y_row = ys[static_cast<size_t>(axis_)] * inner;
    const float sy = scale_at(ctx, 0);
    const int32_t zy = zp_at(ctx, 1);
    const DType t = y.dtype();
    auto* py = static_cast<uint8_t*>(y.data());
    int64_t offset = 0;
    for (size_t i = 2; i < ctx.inputs.size(); i += 3) {
      const Tensor& x = ctx.input(i);
      const int64_t row = x.shape()[static_cast<size_t>(axis_)] * inner;
      const float sx = scale_at(ctx, i + 1);
      const int32_t zx = zp_at(ctx, i + 2);
      const bool same = sx == sy && zx == zy;
      // 256 possible inputs: one table per input (bytes of u8 or s8 alike).
      uint8_t lut[256];
      for (int v = 0; v < 256; ++v) {
        const int32_t q = t == DType::u8 ? v : static_cast<int8_t>(static_cast<uint8_t>(v));
        quant::store_q(t, lut, v, static_cast<float>(q - zx) * sx / sy, zy);
      }
      const auto* px = static_cast<const uint8_t*>(x.data());
      for (int64_t o = 0; o < outer; ++o) {
        uint8_t* dst = py + o * y_row + offset;
        const uint8_t* src = px + o * row;
        if (same)
          std::memcpy(dst, src, static_cast<size_t>(row));
        else
          for (int64_t k = 0; k < row; ++k) dst[k] = lut[src[k]];
      }
      offset += row;
    }
  }

 private:
  int64_t axis_ = 0;
};

/// QLinearSigmoid / QLinearLeakyRelu: a 256-entry table of f((q - zx) * sx) requantized.
class QLinearUnary : public OpKernel {
 public:
  explicit QLinearUnary(bool leaky) : leaky_(leaky) {}
  void compile(CompileContext& ctx) override {
    const DType t = require_unary_quant_io(ctx, "X", "Y");
    alpha_ = ctx.attr().get_float("alpha", 0.01f);
    ctx.set_output(0, t, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const DType t = x.dtype();
    const float sx = scale_at(ctx, 1), sy = scale_at(ctx, 3);
    const int32_t zx = zp_at(ctx, 2), zy = zp_at(ctx, 4);
    uint8_t lut[256];
    for (int v = 0; v < 256; ++v) {
      const int32_t q = t == DType::u8 ? v : static_cast<int8_t>(static_cast<uint8_t>(v));
      const float r = static_cast<float>(q - zx) * sx;
      const float f = leaky_ ? (r >= 0 ? r : alpha_ * r) : 1.f / (1.f + std::exp(-r));
      quant::store_q(t, lut, v, f / sy, zy);
    }
    const auto* px = static_cast<const uint8_t*>(x.data());
    auto* py = static_cast<uint8_t*>(ctx.output(0).data());
    parallel_range(ctx.threading, x.numel(), 65536, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) py[i] = lut[px[i]];
    });
  }

 private:
  bool leaky_;
  float alpha_ = 0.01f;
};

/// QLinearSoftmax: each softmax row dequantized through a 256-entry table of exp((q - max) * sx) (the row
/// maximum cancels in the ratio), normalized and requantized.
class QLinearSoftmax : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    const DType t = require_unary_quant_io(ctx, "X", "Y");
    const Shape& x = ctx.input(0).shape;
    const int64_t rank = static_cast<int64_t>(x.size());
    const int64_t opset = ctx.attr().get_int("opset");
    const int64_t axis =
        normalize_axis(ctx.attr().get_int("axis", opset < 13 ? 1 : -1), rank, ctx.node->describe());
    outer_ = inner_ = 1;
    for (int64_t d = 0; d < axis; ++d) outer_ *= x[d];
    if (opset < 13) {  // flattened [axis, rank) is one softmax row
      len_ = 1;
      for (int64_t d = axis; d < rank; ++d) len_ *= x[d];
    } else {
      len_ = x[axis];
      for (int64_t d = axis + 1; d < rank; ++d) inner_ *= x[d];
    }
    ctx.set_output(0, t, x);
    slots_ = std::max(1, ctx.threading.threads);
    ctx.scratch_bytes = sizeof(float) * static_cast<size_t>(std::max<int64_t>(1, len_ * slots_));
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const bool u8 = x.dtype() == DType::u8;
    const float sx = scale_at(ctx, 1), sy = scale_at(ctx, 3);
    const int32_t zy = zp_at(ctx, 4);
    // exp((q - m) * sx) for q - m in [-255, 0]: index 255 + (q - m). The zero point cancels too.
    float table[256];
    for (int i = 0; i < 256; ++i) table[i] = std::exp(static_cast<float>(i - 255) * sx);
    const auto* px = static_cast<const uint8_t*>(x.data());
    auto* py = static_cast<uint8_t*>(ctx.output(0).data());
    auto value = [u8](uint8_t b) {
      return u8 ? static_cast<int32_t>(b) : static_cast<int32_t>(static_cast<int8_t>(b));
    };
    const int64_t len = len_, inner = inner_;
    float* scratch = static_cast<float*>(ctx.scratch);
    run_tasks(ctx.threading, slots_, outer_ * inner,
              [&](int64_t row, int64_t slot, const kernels::Threading&) {
                const int64_t o = row / inner, in = row % inner, base = o * len * inner + in;
                float* e = scratch + slot * len;
                int32_t m = value(px[base]);
                for (int64_t j = 1; j < len; ++j) m = std::max(m, value(px[base + j * inner]));
                float sum = 0.f;
                for (int64_t j = 0; j < len; ++j) sum += e[j] = table[255 + value(px[base + j * inner]) - m];
                const float inv = 1.f / (sum * sy);
                for (int64_t j = 0; j < len; ++j)
                  quant::store_q(x.dtype(), py, base + j * inner, e[j] * inv, zy);
              });
  }

 private:
  int64_t outer_ = 1, len_ = 1, inner_ = 1;
  int slots_ = 1;
};

/// QGemm: int32 sums (A - a_zp)(B - b_zp) from the int8 GEMM, then
/// y = alpha * a_scale * b_scale[n] * (acc + C), float or requantized.
class QGemm : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::u8, DType::i8});
    ctx.require_dtype(3, {DType::u8, DType::i8});
    require_scalar(ctx, 1, {DType::f32}, "a_scale");
    require_scalar(ctx, 2, {ctx.input(0).dtype}, "a_zero_point");
    if (ctx.attr().get_int("transA", 0)) ctx.unsupported("transA=1");
    trans_b_ = ctx.attr().get_int("transB", 0) != 0;
    alpha_ = ctx.attr().get_float("alpha", 1.f);
    const Shape& a = ctx.input(0).shape;
    const Shape& b = ctx.input(3).shape;
    if (a.size() != 2 || b.size() != 2) ctx.fail("A and B must be 2-D");
    const int64_t k = a[1], n = b[trans_b_ ? 0 : 1];
    if (b[trans_b_ ? 1 : 0] != k) ctx.fail("inner dimensions differ: " + shape_str(a) + " x " + shape_str(b));
    ctx.require_dtype(4, {DType::f32});
    const int64_t nbs = shape_numel(ctx.input(4).shape);
    if (nbs != 1 && nbs != n) ctx.fail("b_scale must be a scalar or have " + std::to_string(n) + " values");
    if (ctx.has_input(5)) {
      ctx.require_dtype(5, {ctx.input(3).dtype});
      const int64_t nz = shape_numel(ctx.input(5).shape);
      if (nz != 1 && nz != n)
        ctx.fail("b_zero_point must be a scalar or have " + std::to_string(n) + " values");
    }
    if (ctx.has_input(6)) {
      ctx.require_dtype(6, {DType::i32});
      const Shape& c = ctx.input(6).shape;
      if (shape_numel(c) != 1 && shape_numel(c) != n && shape_numel(c) != a[0] * n)
        ctx.fail("C " + shape_str(c) + " must be a scalar, [N] or [M, N]");
    }
    quant_out_ = ctx.has_input(7);
    if (quant_out_) {
      require_scalar(ctx, 7, {DType::f32}, "y_scale");
      require_scalar(ctx, 8, {DType::u8, DType::i8}, "y_zero_point");
    }
    const DType out = quant_out_ ? (ctx.has_input(8) ? ctx.input(8).dtype : DType::u8) : DType::f32;
    ctx.set_output(0, out, {a[0], n});
    kind_ = quant::int8_kind(ctx.input(0).dtype);
    ctx.scratch_bytes = sizeof(int32_t) * static_cast<size_t>(a[0] * n);
    use_const_ = ctx.input(3).constant && (!ctx.has_input(5) || ctx.input(5).constant);
    if (use_const_ && packed_.empty())
      pack(packed_, *ctx.input(3).constant, ctx.has_input(5) ? ctx.input(5).constant : nullptr);
  }
  void run(RunContext& ctx) override {
    const Tensor& a = ctx.input(0);
    const int64_t m = a.shape()[0], k = a.shape()[1];
    Tensor& y = ctx.output(0);
    const int64_t n = y.shape()[1];
    if (!use_const_ || packed_.empty()) pack(dyn_, ctx.input(3), ctx.has_input(5) ? &ctx.input(5) : nullptr);
    const kernels::PackedB& pb = use_const_ && !packed_.empty() ? packed_ : dyn_;
    auto* acc = static_cast<int32_t*>(ctx.scratch);
    if (k == 0) {
      std::fill(acc, acc + m * n, 0);
    } else {
      kernels::QuantA qa;
      qa.zero_point = zp_at(ctx, 2);
      kernels::gemm_int8(m, a.data(), k, qa, pb, nullptr, 0, acc, n, {}, {}, ctx.threading);
    }
    const float sa = scale_at(ctx, 1), alpha = alpha_;
    const Tensor& tbs = ctx.input(4);
    const float* sb = tbs.data_as<float>();
    const bool per_col = tbs.numel() > 1;
    const Tensor* c = ctx.has_input(6) ? &ctx.input(6) : nullptr;
    const int64_t nc = c ? c->numel() : 0;
    const float sy = quant_out_ ? scale_at(ctx, 7) : 1.f;
    const int32_t zy = quant_out_ ? zp_at(ctx, 8) : 0;
    const DType t = y.dtype();
    parallel_range(ctx.threading, m, std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1)),
                   [&](int64_t r0, int64_t r1) {
                     for (int64_t r = r0; r < r1; ++r)
                       for (int64_t j = 0; j < n; ++j) {
                         // C is at scale a_scale * b_scale, so it joins the integer sum; alpha scales both
                         // (as in ORT).
                         int64_t sum = acc[r * n + j];
                         if (c) sum += c->data_as<int32_t>()[nc == 1 ? 0 : nc == n ? j : r * n + j];
                         const float v = alpha * sa * sb[per_col ? j : 0] * static_cast<float>(sum);
                         if (t == DType::f32)
                           y.data_as<float>()[r * n + j] = v;
                         else
                           quant::store_q(t, y.data(), r * n + j, v / sy, zy);
                       }
                   });
  }
  std::vector<std::string> kernels_used() const override {
    const kernels::GemmKernel* kn = kernels::dispatched(kind_);
    return kn ? std::vector<std::string>{kn->name} : std::vector<std::string>{};
  }

 private:
  void pack(kernels::PackedB& out, const Tensor& b, const Tensor* zp) const {
    std::vector<int32_t> zps;
    quant::read_zero_points(zp, zps);
    const int64_t k = b.shape()[trans_b_ ? 1 : 0], n = b.shape()[trans_b_ ? 0 : 1];
    const float one = 1.f;
    kernels::pack_b_int8(out, kind_, kernels::BDesc{b.data(), k, n, trans_b_ ? k : n, trans_b_},
                         b.dtype() == DType::u8, &one, 1, zps.data(), static_cast<int64_t>(zps.size()));
  }

  bool trans_b_ = false, quant_out_ = false, use_const_ = false;
  float alpha_ = 1.f;
  kernels::GemmKind kind_ = kernels::GemmKind::u8s8;
  kernels::PackedB packed_, dyn_;
};

}  // namespace

void register_quant_contrib_ops(OpRegistry& r) {
  r.add(kMsDomain, "QLinearAdd", 1, kAnyOpset, [] { return std::make_unique<QLinearBinary>(false); });
  r.add(kMsDomain, "QLinearMul", 1, kAnyOpset, [] { return std::make_unique<QLinearBinary>(true); });
  r.add(kMsDomain, "QLinearGlobalAveragePool", 1, kAnyOpset,
        [] { return std::make_unique<QLinearGlobalAveragePool>(); });
  r.add(kMsDomain, "QLinearConcat", 1, kAnyOpset, [] { return std::make_unique<QLinearConcat>(); });
  r.add(kMsDomain, "QLinearSigmoid", 1, kAnyOpset, [] { return std::make_unique<QLinearUnary>(false); });
  r.add(kMsDomain, "QLinearLeakyRelu", 1, kAnyOpset, [] { return std::make_unique<QLinearUnary>(true); });
  r.add(kMsDomain, "QLinearSoftmax", 1, kAnyOpset, [] { return std::make_unique<QLinearSoftmax>(); });
  r.add(kMsDomain, "QGemm", 1, kAnyOpset, [] { return std::make_unique<QGemm>(); });
}

}  // namespace ortkit::ops
