// QuantizeLinear (10, 13+ per axis, 21+ blocked, int4 / uint4 / int2 / uint2 / float8 / float4 outputs),
// DequantizeLinear (the same, back to float32), DynamicQuantizeLinear (11). Rounding is ONNX's: x / scale
// rounded half to even, plus the zero point, saturated to the output type's range; float8 / float4 round
// to nearest even with Cast's rules (ortkit/narrow_types.h). Parameter layouts: ops/quant_params.h.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/fast_math.h"
#include "ops/quant_common.h"
#include "ops/quant_params.h"
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
using quant::QuantLayout;
using quant::scale_at;
using quant::zero_at;

template <class F>
void for_rows(const kernels::Threading& th, const QuantLayout& l, F&& f) {
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, l.inner));
  parallel_range(th, l.rows, grain, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) f(r, l.param_base(r));
  });
}

/// QuantizeLinear's saturate(round(v) + zp) for any output type, element by element: the path for
/// blocked parameters, int32 inputs and the narrow outputs (the u8/s8/u16/s16 rows above are faster).
struct QuantStore {
  DType t = DType::u8;
  float lo = 0, hi = 255;  // integer outputs: the saturation bounds
  bool saturate = true;    // float8 outputs: Cast's saturate
  bool add_zero = false;   // float4 with a zero point: add it even when 0 (-0 + 0 is +0, as the reference)
  void operator()(void* out, int64_t i, float v, float zp) const {
    switch (t) {
      case DType::u8:
        static_cast<uint8_t*>(out)[i] = quant::quantize_one<uint8_t>(v, lo - zp, hi - zp, zp);
        return;
      case DType::u16:
        static_cast<uint16_t*>(out)[i] = quant::quantize_one<uint16_t>(v, lo - zp, hi - zp, zp);
        return;
      case DType::i16:
        static_cast<int16_t*>(out)[i] = quant::quantize_one<int16_t>(v, lo - zp, hi - zp, zp);
        return;
      case DType::i8:
      case DType::i4:
      case DType::i2:  // sign-extended in their byte (tensor.h)
        static_cast<int8_t*>(out)[i] = quant::quantize_one<int8_t>(v, lo - zp, hi - zp, zp);
        return;
      case DType::u4:
      case DType::u2:
        static_cast<uint8_t*>(out)[i] = quant::quantize_one<uint8_t>(v, lo - zp, hi - zp, zp);
        return;
      default:
        // float8 / float4: the formula stays x / scale + zp. The zero point is normally 0: the reference
        // then adds it for float4 (-0 becomes +0) but not for float8 (-0 stays -0).
        static_cast<uint8_t*>(out)[i] =
            narrow_from_float(t, add_zero || zp != 0.f ? v + zp : v, {saturate, E8M0Round::up});
    }
  }
};

class QuantizeLinear : public OpKernel {
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::i32});
    ctx.require_dtype(1, {DType::f32, DType::f8e8m0});
    DType out = DType::u8;
    const bool has_out = ctx.attr().get_int("output_dtype", 0) != 0;
    if (has_out) {
      const int64_t o = ctx.attr().get_int("output_dtype");
      out = dtype_from_onnx(static_cast<int>(o));
      if (!quant::is_quant_type(out))
        ctx.unsupported("output_dtype " + std::to_string(o) +
                        (out == DType::undefined ? "" : std::string(" (") + dtype_name(out) + ")"));
    }
    if (ctx.has_input(2)) {
      const DType z = ctx.input(2).dtype;
      if (!quant::is_quant_type(z)) ctx.unsupported(std::string("zero point of type ") + dtype_name(z));
      if (has_out && z != out)
        ctx.fail(std::string("output_dtype ") + dtype_name(out) + " differs from the zero point's " +
                 dtype_name(z));
      out = z;
    }
    const int64_t precision = ctx.attr().get_int("precision", 0);
    if (precision != 0 && precision != 1)  // 1: float, what the division uses anyway
      ctx.unsupported("precision " + std::to_string(precision) + " (only float32 division)");
    layout_ = quant::quant_layout(ctx, ctx.input(0).shape, ctx.input(1).shape, 2);
    store_.t = out;
    store_.saturate = ctx.attr().get_int("saturate", 1) != 0;
    store_.add_zero = out == DType::f4e2m1 && ctx.has_input(2);
    int32_t lo = 0, hi = 0;
    switch (out) {
      case DType::u8: lo = 0, hi = 255; break;
      case DType::i8: lo = -128, hi = 127; break;
      case DType::u16: lo = 0, hi = 65535; break;
      case DType::i16: lo = -32768, hi = 32767; break;
      default: narrow_int_range(out, lo, hi);
    }
    store_.lo = static_cast<float>(lo), store_.hi = static_cast<float>(hi);
    fast_ = ctx.input(0).dtype == DType::f32 && ctx.input(1).dtype == DType::f32 && !layout_.block &&
            (out == DType::u8 || out == DType::i8 || out == DType::u16 || out == DType::i16);
    ctx.set_output(0, out, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& sc = ctx.input(1);
    const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    Tensor& y = ctx.output(0);
    const QuantLayout l = layout_;
    const QuantStore store = store_;
    const bool fast = fast_;
    for_rows(ctx.threading, l, [&](int64_t r, int64_t p) {
      const int64_t base = r * l.inner;
      if (fast) {
        const float scale = sc.data_as<float>()[p];
        const int32_t z = zp ? int_at(*zp, p) : 0;
        const float* px = x.data_as<float>() + base;
        switch (store.t) {
          case DType::u8: return quantize_u8(px, l.inner, scale, z, y.data_as<uint8_t>() + base);
          case DType::i8: return quantize_s8(px, l.inner, scale, z, y.data_as<int8_t>() + base);
          case DType::u16: return quantize_u16(px, l.inner, scale, z, y.data_as<uint16_t>() + base);
          default: return quantize_s16(px, l.inner, scale, z, y.data_as<int16_t>() + base);
        }
      }
      const int64_t step = l.block ? 1 : 0;  // blocked: one parameter per element of the row
      const bool f32 = x.dtype() == DType::f32;
      void* out = y.data();
      for (int64_t i = 0; i < l.inner; ++i) {
        const float v =
            f32 ? x.data_as<float>()[base + i] : static_cast<float>(x.data_as<int32_t>()[base + i]);
        store(out, base + i, v / scale_at(sc, p + i * step), zero_at(zp, p + i * step));
      }
    });
  }
  QuantLayout layout_;
  QuantStore store_;
  bool fast_ = false;
};

class DequantizeLinear : public OpKernel {
  void compile(CompileContext& ctx) override {
    const DType xt = ctx.input(0).dtype;
    const bool narrow = is_narrow(xt) && xt != DType::f8e8m0;
    if (!narrow) ctx.require_dtype(0, {DType::u8, DType::i8, DType::u16, DType::i16, DType::i32});
    ctx.require_dtype(1, {DType::f32, DType::f8e8m0});
    if (ctx.has_input(2) && ctx.input(2).dtype != xt)
      ctx.fail("zero point dtype " + std::string(dtype_name(ctx.input(2).dtype)) + " differs from x's " +
               dtype_name(xt));
    const int64_t out = ctx.attr().get_int("output_dtype", 0);
    if (out != 0 && out != 1) {  // float16 / bfloat16 models get float32 (graph pass narrow_float_compute)
      const DType o = dtype_from_onnx(static_cast<int>(out));
      ctx.unsupported("output_dtype " +
                      std::string(o == DType::undefined ? std::to_string(out) : dtype_name(o)));
    }
    layout_ = quant::quant_layout(ctx, ctx.input(0).shape, ctx.input(1).shape, 2);
    table_ = narrow ? narrow_decode_table(xt) : nullptr;
    ctx.set_output(0, DType::f32, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& sc = ctx.input(1);
    const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    float* y = ctx.output(0).data_as<float>();
    const QuantLayout l = layout_;
    const float* table = table_;
    for_rows(ctx.threading, l, [&](int64_t r, int64_t p) {
      const int64_t base = r * l.inner;
      if (l.block && table && sc.dtype() == DType::f32) {
        // Blocked 4-bit / float8 weights (int4 weight-only LLMs): scales and zero points of the row's
        // elements are consecutive, the zero points of x's type decode through the same table.
        const uint8_t* px = x.data_as<uint8_t>() + base;
        const float* ps = sc.data_as<float>() + p;
        const uint8_t* pz = zp ? zp->data_as<uint8_t>() + p : nullptr;
        if (pz)
          for (int64_t i = 0; i < l.inner; ++i) y[base + i] = (table[px[i]] - table[pz[i]]) * ps[i];
        else
          for (int64_t i = 0; i < l.inner; ++i) y[base + i] = table[px[i]] * ps[i];
        return;
      }
      if (l.block || sc.dtype() != DType::f32) {  // one parameter per element (or decoded scales)
        const int64_t step = l.block ? 1 : 0;
        for (int64_t i = 0; i < l.inner; ++i) {
          const float v =
              table ? table[x.data_as<uint8_t>()[base + i]] : static_cast<float>(int_at(x, base + i));
          y[base + i] = (v - zero_at(zp, p + i * step)) * scale_at(sc, p + i * step);
        }
        return;
      }
      const float scale = sc.data_as<float>()[p];
      if (table) {  // 4- / 2-bit integers, float8, float4: decode by table; (x - zp) * scale
        const uint8_t* px = x.data_as<uint8_t>() + base;
        const float z = zero_at(zp, p);
        for (int64_t i = 0; i < l.inner; ++i) y[base + i] = (table[px[i]] - z) * scale;
        return;
      }
      const int32_t z = zp ? int_at(*zp, p) : 0;
      switch (x.dtype()) {
        case DType::u8: return dequantize_row(x.data_as<uint8_t>() + base, l.inner, scale, z, y + base);
        case DType::i8: return dequantize_row(x.data_as<int8_t>() + base, l.inner, scale, z, y + base);
        case DType::u16: return dequantize_row(x.data_as<uint16_t>() + base, l.inner, scale, z, y + base);
        case DType::i16: return dequantize_row(x.data_as<int16_t>() + base, l.inner, scale, z, y + base);
        default: {
          const int32_t* px = x.data_as<int32_t>() + base;
          for (int64_t i = 0; i < l.inner; ++i)
            y[base + i] = static_cast<float>(static_cast<int64_t>(px[i]) - z) * scale;
        }
      }
    });
  }
  QuantLayout layout_;
  const float* table_ = nullptr;
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
    const quant::DynamicQuant d =
        quant::dynamic_quantize_u8(px, x.numel(), ctx.output(0).data_as<uint8_t>(), ctx.threading);
    if (ctx.outputs.size() > 1 && ctx.outputs[1]) *ctx.output(1).data_as<float>() = d.scale;
    if (ctx.outputs.size() > 2 && ctx.outputs[2])
      *ctx.output(2).data_as<uint8_t>() = static_cast<uint8_t>(d.zero_point);
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
