// QuantizeLinear (10, 13+ per-axis), DequantizeLinear (10, 13+ per-axis), DynamicQuantizeLinear (11).
// Rounding is ONNX's: x / scale rounded half to even, plus the zero point, saturated to u8/s8/u16/s16.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/fast_math.h"
#include "ops/quant_common.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

// The per-tensor row loops, baseline and AVX2 (same values: no multiply-add to contract).
ORTKIT_OPS_CLONES void quantize_u8(const float* x, int64_t n, float scale, int32_t z, uint8_t* y) {
  quant::quantize_span(x, n, scale, z, y);
}
ORTKIT_OPS_CLONES void quantize_s8(const float* x, int64_t n, float scale, int32_t z, int8_t* y) {
  quant::quantize_span(x, n, scale, z, y);
}
ORTKIT_OPS_CLONES void quantize_u16(const float* x, int64_t n, float scale, int32_t z, uint16_t* y) {
  quant::quantize_span(x, n, scale, z, y);
}
ORTKIT_OPS_CLONES void quantize_s16(const float* x, int64_t n, float scale, int32_t z, int16_t* y) {
  quant::quantize_span(x, n, scale, z, y);
}
ORTKIT_OPS_CLONES void dequantize_row(const uint8_t* x, int64_t n, float scale, int32_t z, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(int32_t{x[i]} - z) * scale;
}
ORTKIT_OPS_CLONES void dequantize_row(const int8_t* x, int64_t n, float scale, int32_t z, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(int32_t{x[i]} - z) * scale;
}
ORTKIT_OPS_CLONES void dequantize_row(const uint16_t* x, int64_t n, float scale, int32_t z, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(int32_t{x[i]} - z) * scale;
}
ORTKIT_OPS_CLONES void dequantize_row(const int16_t* x, int64_t n, float scale, int32_t z, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(int32_t{x[i]} - z) * scale;
}

using quant::int_at;

/// Calls f(T{}) for QuantizeLinear's output types (u8, s8, u16, s16).
template <class F>
void visit_quant_int(DType t, F&& f) {
  switch (t) {
    case DType::u8: return f(uint8_t{});
    case DType::i8: return f(int8_t{});
    case DType::u16: return f(uint16_t{});
    default: return f(int16_t{});
  }
}

/// Per-tensor or per-axis parameters: rows of `inner` elements, row r uses channel r % ch.
struct AxisSplit {
  int64_t rows = 1, ch = 1, inner = 1;
};

/// Check scale (and zero point) shapes; per-axis needs opset >= 13 and a 1-D of shape[axis] values.
AxisSplit axis_split(const CompileContext& ctx, const Shape& x, const Shape& scale) {
  AxisSplit s;
  s.inner = shape_numel(x);
  // One value (a scalar, or shape [1] as many exporters write it) is per tensor at every opset.
  if (quant::is_scalar_like(scale)) return s;
  if (ctx.node->opset < 13) {
    if (shape_numel(scale) != 1) ctx.fail("scale must be a scalar before opset 13");
    return s;
  }
  if (ctx.attr().get_int("block_size", 0) != 0) ctx.unsupported("blocked quantization (block_size)");
  if (scale.size() != 1) ctx.fail("scale must be a scalar or 1-D, got " + shape_str(scale));
  const int64_t axis =
      normalize_axis(ctx.attr().get_int("axis", 1), static_cast<int64_t>(x.size()), ctx.node->describe());
  if (scale[0] != x[axis])
    ctx.fail("scale has " + std::to_string(scale[0]) + " values, axis " + std::to_string(axis) + " has " +
             std::to_string(x[axis]));
  s.ch = x[axis];
  s.inner = 1;
  for (size_t d = axis + 1; d < x.size(); ++d) s.inner *= x[d];
  s.rows = 1;
  for (int64_t d = 0; d <= axis; ++d) s.rows *= x[d];
  return s;
}

void check_zero_point(const CompileContext& ctx, size_t zp_slot, const Shape& scale) {
  if (!ctx.has_input(zp_slot)) return;
  if (shape_numel(ctx.input(zp_slot).shape) != shape_numel(scale))
    ctx.fail("zero point has " + std::to_string(shape_numel(ctx.input(zp_slot).shape)) + " values, scale " +
             std::to_string(shape_numel(scale)));
}

template <class F>
void for_rows(const kernels::Threading& th, const AxisSplit& s, F&& f) {
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, s.inner));
  parallel_range(th, s.rows, grain, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) f(r, r % s.ch);
  });
}

class QuantizeLinear : public OpKernel {
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::i32});
    ctx.require_dtype(1, {DType::f32});
    DType out = DType::u8;
    if (ctx.has_input(2)) {
      ctx.require_dtype(2, {DType::u8, DType::i8, DType::u16, DType::i16});
      out = ctx.input(2).dtype;
    }
    if (ctx.attr().has("output_dtype")) ctx.unsupported("output_dtype attribute");
    split_ = axis_split(ctx, ctx.input(0).shape, ctx.input(1).shape);
    check_zero_point(ctx, 2, ctx.input(1).shape);
    ctx.set_output(0, out, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const float* sc = ctx.input(1).data_as<float>();
    const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    Tensor& y = ctx.output(0);
    const DType out = y.dtype();
    const AxisSplit s = split_;
    for_rows(ctx.threading, s, [&](int64_t r, int64_t c) {
      const float scale = sc[c];
      const int32_t z = zp ? int_at(*zp, c) : 0;
      const int64_t base = r * s.inner;
      if (x.dtype() == DType::f32) {
        const float* px = x.data_as<float>() + base;
        switch (out) {
          case DType::u8: return quantize_u8(px, s.inner, scale, z, y.data_as<uint8_t>() + base);
          case DType::i8: return quantize_s8(px, s.inner, scale, z, y.data_as<int8_t>() + base);
          case DType::u16: return quantize_u16(px, s.inner, scale, z, y.data_as<uint16_t>() + base);
          default: return quantize_s16(px, s.inner, scale, z, y.data_as<int16_t>() + base);
        }
      }
      const int32_t* px = x.data_as<int32_t>() + base;
      visit_quant_int(out, [&](auto tag) {
        using T = decltype(tag);
        const float lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
        const float zf = static_cast<float>(z);
        T* py = y.data_as<T>() + base;
        for (int64_t i = 0; i < s.inner; ++i)
          py[i] = quant::quantize_one<T>(static_cast<float>(px[i]) / scale, lo - zf, hi - zf, zf);
      });
    });
  }
  AxisSplit split_;
};

class DequantizeLinear : public OpKernel {
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::u8, DType::i8, DType::u16, DType::i16, DType::i32});
    ctx.require_dtype(1, {DType::f32});
    if (ctx.has_input(2) && ctx.input(2).dtype != ctx.input(0).dtype)
      ctx.fail("zero point dtype " + std::string(dtype_name(ctx.input(2).dtype)) + " differs from x's " +
               dtype_name(ctx.input(0).dtype));
    split_ = axis_split(ctx, ctx.input(0).shape, ctx.input(1).shape);
    check_zero_point(ctx, 2, ctx.input(1).shape);
    ctx.set_output(0, DType::f32, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const float* sc = ctx.input(1).data_as<float>();
    const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    float* y = ctx.output(0).data_as<float>();
    const AxisSplit s = split_;
    for_rows(ctx.threading, s, [&](int64_t r, int64_t c) {
      const float scale = sc[c];
      const int32_t z = zp ? int_at(*zp, c) : 0;
      const int64_t base = r * s.inner;
      switch (x.dtype()) {
        case DType::u8: {
          dequantize_row(x.data_as<uint8_t>() + base, s.inner, scale, z, y + base);
          break;
        }
        case DType::i8: {
          dequantize_row(x.data_as<int8_t>() + base, s.inner, scale, z, y + base);
          break;
        }
        case DType::u16: {
          dequantize_row(x.data_as<uint16_t>() + base, s.inner, scale, z, y + base);
          break;
        }
        case DType::i16: {
          dequantize_row(x.data_as<int16_t>() + base, s.inner, scale, z, y + base);
          break;
        }
        default: {
          const int32_t* px = x.data_as<int32_t>() + base;
          for (int64_t i = 0; i < s.inner; ++i)
            y[base + i] = static_cast<float>(static_cast<int64_t>(px[i]) - z) * scale;
        }
      }
    });
  }
  AxisSplit split_;
};

/// y, y_scale, y_zero_point = DynamicQuantizeLinear(x): u8, range [min(0, min x), max(0, max x)].
class DynamicQuantizeLinear : public OpKernel {
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    ctx.set_output(0, DType::u8, ctx.input(0).shape);
    if (ctx.outputs.size() > 1) ctx.set_output(1, DType::f32, {});
    if (ctx.outputs.size() > 2) ctx.set_output(2, DType::u8, {});
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const float* px = x.data_as<float>();
    const int64_t n = x.numel();
    float lo = 0.f, hi = 0.f;
    for (int64_t i = 0; i < n; ++i) {
      lo = std::min(lo, px[i]);
      hi = std::max(hi, px[i]);
    }
    // ONNX reference: scale = (max - min) / 255; zero point = round(saturate(0 - min / scale)).
    const float scale = (hi - lo) / 255.f;
    float zpf = scale == 0.f ? 0.f : std::clamp(0.f - lo / scale, 0.f, 255.f);
    const int32_t zp = static_cast<int32_t>(quant::round_even(zpf));
    uint8_t* y = ctx.output(0).data_as<uint8_t>();
    const float inv = scale;
    parallel_range(ctx.threading, n, 16384, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) quant::store_q(DType::u8, y, i, inv == 0.f ? 0.f : px[i] / inv, zp);
    });
    if (ctx.outputs.size() > 1 && ctx.outputs[1]) *ctx.output(1).data_as<float>() = scale;
    if (ctx.outputs.size() > 2 && ctx.outputs[2])
      *ctx.output(2).data_as<uint8_t>() = static_cast<uint8_t>(zp);
  }
};

}  // namespace

void register_quant_linear_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "QuantizeLinear", 10, kAnyOpset, [] { return std::make_unique<QuantizeLinear>(); });
  r.add(kOnnxDomain, "DequantizeLinear", 10, kAnyOpset, [] { return std::make_unique<DequantizeLinear>(); });
  r.add(kOnnxDomain, "DynamicQuantizeLinear", 11, kAnyOpset,
        [] { return std::make_unique<DynamicQuantizeLinear>(); });
}

}  // namespace ortkit::ops
