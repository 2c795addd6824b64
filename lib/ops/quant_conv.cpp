// Integer 2-D convolutions on the int8 GEMM: ConvInteger (10, int32 output), ortkit.DynQuantConv (the
// fused dynamic-quantization chain, fp32 output) and QLinearConv (10,
// requantized u8/s8 output, per-output-channel weight scales, int32 bias). Per image and group, the
// input is unfolded pixel-major (im2col: A[pixel, ci*kh*kw], padding filled with the input zero point, so
// padded taps contribute exactly 0 after the zero-point correction), multiplied by the weights packed as
// B[ci*kh*kw, co] (constant weights once, others per run), and the int32 result is written channel-major.
#include <algorithm>
#include <cstring>

#include "ops/broadcast.h"
#include "ops/conv_util.h"
#include "ops/quant_common.h"
#include "ops/quant_conv_geom.h"
#include "ops/quant_conv_nhwc.h"
#include "ops/quant_depthwise.h"
#include "ops/registry.h"
#include "ops/transpose_kernel.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::ops {
namespace {

using kernels::BDesc;
using kernels::PackedB;
using quant::align64;
using quant::conv_geometry;
using quant::ConvGeom;

/// Unfold group g of image b: A[p, (ci, ky, kx)] with out-of-image taps set to `pad`.
void im2col(const ConvGeom& gm, const uint8_t* x, int64_t b, int64_t g, uint8_t pad, uint8_t* a) {
  const int64_t kg = gm.kg();
  for (int64_t oy = 0; oy < gm.oh; ++oy)
    for (int64_t ox = 0; ox < gm.ow; ++ox) {
      uint8_t* row = a + (oy * gm.ow + ox) * kg;
      for (int64_t ci = 0; ci < gm.cg(); ++ci) {
        const uint8_t* plane = x + ((b * gm.c) + g * gm.cg() + ci) * gm.h * gm.w;
        for (int64_t ky = 0; ky < gm.kh; ++ky) {
          const int64_t iy = oy * gm.sh - gm.pt + ky * gm.dh;
          for (int64_t kx = 0; kx < gm.kw; ++kx) {
            const int64_t ix = ox * gm.sw - gm.pl + kx * gm.dw;
            const bool in = iy >= 0 && iy < gm.h && ix >= 0 && ix < gm.w;
            *row++ = in ? plane[iy * gm.w + ix] : pad;
          }
        }
      }
    }
}

/// The int32 core shared by ConvInteger and QLinearConv. Slots: x, w, x_zero_point, w_zero_point.
/// x_type: the dtype x has when it reaches the GEMM (u8 for the fused dynamic conv's f32 input).
class IntConvCore {
 public:
  /// pack_constant false: the caller runs constant GEMM weights itself (DynQuantConv's pixel-major form);
  /// the core then only checks the inputs and computes the geometry. Constant depthwise weights are set
  /// in the direct loop either way (depthwise()), which both forms run.
  ConvGeom compile(CompileContext& ctx, size_t ix, size_t iw, size_t ixzp, size_t iwzp,
                   DType x_type = DType::undefined, bool pack_constant = true) {
    if (x_type == DType::undefined) {
      ctx.require_dtype(ix, {DType::u8, DType::i8});
      x_type = ctx.input(ix).dtype;
    }
    ctx.require_dtype(iw, {DType::u8, DType::i8});
    if (ctx.has_input(ixzp)) {
      ctx.require_dtype(ixzp, {ctx.input(ix).dtype});
      if (shape_numel(ctx.input(ixzp).shape) != 1) ctx.unsupported("x_zero_point must be per tensor");
    }
    gm_ = conv_geometry(ctx, ix, iw);
    if (ctx.has_input(iwzp)) {
      ctx.require_dtype(iwzp, {ctx.input(iw).dtype});
      const int64_t c = shape_numel(ctx.input(iwzp).shape);
      if (c != 1 && c != gm_.m)
        ctx.fail("w_zero_point must be a scalar or have one value per output channel");
    }
    kind_ = quant::int8_kind(x_type);
    x_signed_ = x_type == DType::i8;
    w_unsigned_ = ctx.input(iw).dtype == DType::u8;
    depthwise_ = QuantDepthwise::applies(gm_);
    if (depthwise_) dw_.prepare(gm_, ctx.threading.threads);
    use_const_ = ctx.input(iw).constant && (!ctx.has_input(iwzp) || ctx.input(iwzp).constant);
    if (use_const_ && !const_ready_ && (pack_constant || depthwise_)) {
      pack(true, *ctx.input(iw).constant, ctx.has_input(iwzp) ? ctx.input(iwzp).constant : nullptr);
      const_ready_ = true;
    }
    // Depthwise: the direct loop's slots, then an int32 plane per slot for emit. Else im2col's A and
    // the int32 result.
    const size_t acc_bytes = align64(static_cast<size_t>(gm_.pixels() * gm_.mg()) * sizeof(int32_t));
    a_bytes_ = depthwise_ ? dw_.scratch_bytes() : align64(static_cast<size_t>(gm_.pixels() * gm_.kg()));
    scratch_ = a_bytes_ + (depthwise_ ? static_cast<size_t>(dw_.slots()) : 1) * acc_bytes;
    ctx.scratch_bytes = scratch_;
    return gm_;
  }

  /// Calls emit(b, g, acc) with acc[p * mg + co] for every image b and group g.
  template <class Emit>
  void run(RunContext& ctx, size_t ix, size_t iw, size_t ixzp, size_t iwzp, Emit&& emit) {
    run_on(ctx, static_cast<const uint8_t*>(ctx.input(ix).data()),
           ctx.has_input(ixzp) ? quant::int_at(ctx.input(ixzp), 0) : 0, iw, iwzp, emit);
  }
  /// The same on quantized x data given directly (u8/s8 bits) with its zero point.
  template <class Emit>
  void run_on(RunContext& ctx, const uint8_t* x, int32_t x_zero_point, size_t iw, size_t iwzp, Emit&& emit) {
    const ConvGeom& gm = gm_;
    if (gm.pixels() == 0 || gm.mg() == 0) return;
    const bool from_const = use_const_ && const_ready_;
    if (!from_const) pack(false, ctx.input(iw), ctx.has_input(iwzp) ? &ctx.input(iwzp) : nullptr);
    const std::vector<PackedB>& packs = from_const ? packed_const_ : dyn_;
    kernels::QuantA qa;
    qa.zero_point = x_zero_point;
    const uint8_t pad = static_cast<uint8_t>(qa.zero_point);  // same bits for s8
    uint8_t* a = static_cast<uint8_t*>(ctx.scratch);
    int32_t* acc = reinterpret_cast<int32_t*>(a + a_bytes_);
    if (depthwise_) {  // planes over threads: emit runs concurrently, for different (b, g)
      const int64_t plane =
          static_cast<int64_t>(align64(static_cast<size_t>(gm.pixels()) * sizeof(int32_t)) / 4);
      dw_.run_sums(x, x_signed_, x_zero_point, ctx.threading, reinterpret_cast<float*>(a),
                   [&](int64_t nc, int64_t slot, float* sums) {
                     int32_t* ai = acc + slot * plane;
                     for (int64_t i = 0; i < gm.pixels(); ++i) ai[i] = static_cast<int32_t>(sums[i]);
                     emit(nc / gm.c, nc % gm.c, static_cast<const int32_t*>(ai));
                   });
      return;
    }
    for (int64_t b = 0; b < gm.n; ++b)
      for (int64_t g = 0; g < gm.g; ++g) {
        if (gm.kg() == 0) {
          std::fill(acc, acc + gm.pixels() * gm.mg(), 0);
        } else {
          im2col(gm, x, b, g, pad, a);
          kernels::gemm_int8(gm.pixels(), a, gm.kg(), qa, packs[g], nullptr, 0, acc, gm.mg(), {}, {},
                             ctx.threading);
        }
        emit(b, g, acc);
      }
  }

  std::vector<std::string> kernels_used() const {
    const kernels::GemmKernel* kn = kernels::dispatched(kind_);
    return kn ? std::vector<std::string>{kn->name} : std::vector<std::string>{};
  }
  const ConvGeom& geom() const { return gm_; }
  /// The direct loop of a depthwise conv (weights set when they are constant), else null.
  const QuantDepthwise* depthwise() const { return depthwise_ ? &dw_ : nullptr; }
  /// Bytes of scratch the core uses (callers may append their own after it, 64-byte aligned).
  size_t scratch_bytes() const { return scratch_; }

 private:
  /// The weights into packed_const_ (constant) or dyn_ (per run); depthwise, into the direct loop.
  void pack(bool constant, const Tensor& w, const Tensor* zp) {
    const ConvGeom& gm = gm_;
    quant::read_zero_points(zp, zps_);
    if (depthwise_) {  // no GEMM: the weights minus their zero point, per channel
      dw_.set_weights(w.data(), w_unsigned_, zps_);
      return;
    }
    std::vector<PackedB>& out = constant ? packed_const_ : dyn_;
    if (out.size() < static_cast<size_t>(gm.g)) out.resize(static_cast<size_t>(gm.g));
    const float one = 1.f;
    const char* base = static_cast<const char*>(w.data());
    for (int64_t g = 0; g < gm.g; ++g) {
      const bool per_ch = zps_.size() > 1;
      kernels::pack_b_int8(out[g], kind_,
                           BDesc{base + g * gm.mg() * gm.kg(), gm.kg(), gm.mg(), gm.kg(), true}, w_unsigned_,
                           &one, 1, zps_.data() + (per_ch ? g * gm.mg() : 0), per_ch ? gm.mg() : 1);
    }
  }

  ConvGeom gm_;
  kernels::GemmKind kind_ = kernels::GemmKind::u8s8;
  bool w_unsigned_ = false, use_const_ = false, x_signed_ = false, depthwise_ = false;
  bool const_ready_ = false;  // the constant weights are packed (or, depthwise, set in dw_)
  size_t a_bytes_ = 0, scratch_ = 0;
  std::vector<PackedB> packed_const_, dyn_;
  QuantDepthwise dw_;  // depthwise: the direct loop of exact sums (quant_depthwise.h)
  std::vector<int32_t> zps_;
};

/// ConvInteger(x, w, x_zero_point?, w_zero_point?) -> int32 [N, M, OH, OW].
class ConvInteger : public OpKernel {
  void compile(CompileContext& ctx) override {
    const ConvGeom gm = core_.compile(ctx, 0, 1, 2, 3);
    ctx.set_output(0, DType::i32, {gm.n, gm.m, gm.oh, gm.ow});
  }
  void run(RunContext& ctx) override {
    int32_t* y = ctx.output(0).data_as<int32_t>();
    const ConvGeom& gm = core_.geom();
    core_.run(ctx, 0, 1, 2, 3, [&](int64_t b, int64_t g, const int32_t* acc) {
      const int64_t p = gm.pixels(), mg = gm.mg();
      for (int64_t co = 0; co < mg; ++co) {
        int32_t* dst = y + (b * gm.m + g * mg + co) * p;
        for (int64_t i = 0; i < p; ++i) dst[i] = acc[i * mg + co];
      }
    });
  }
  std::vector<std::string> kernels_used() const override { return core_.kernels_used(); }
  IntConvCore core_;
};

/// QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B?): y = round((acc + B[co]) *
/// x_s * w_s[co] / y_s) + y_zp, saturated.
class QLinearConv : public OpKernel {
  void compile(CompileContext& ctx) override {
    for (size_t i : {1, 4, 6}) ctx.require_dtype(i, {DType::f32});
    ctx.require_dtype(7, {DType::u8, DType::i8});
    for (size_t i : {1, 6, 7})
      if (shape_numel(ctx.input(i).shape) != 1)
        ctx.unsupported("x/y scale and zero point must be per tensor");
    const ConvGeom gm = core_.compile(ctx, 0, 3, 2, 5);
    const int64_t ns = shape_numel(ctx.input(4).shape);
    if (ns != 1 && ns != gm.m) ctx.fail("w_scale must be a scalar or have one value per output channel");
    if (ctx.has_input(8)) {
      ctx.require_dtype(8, {DType::i32});
      if (shape_numel(ctx.input(8).shape) != gm.m) ctx.fail("B must have one value per output channel");
    }
    ctx.set_output(0, ctx.input(7).dtype, {gm.n, gm.m, gm.oh, gm.ow});
  }
  void run(RunContext& ctx) override {
    Tensor& y = ctx.output(0);
    const ConvGeom& gm = core_.geom();
    const float sx = ctx.input(1).data_as<float>()[0], sy = ctx.input(6).data_as<float>()[0];
    const Tensor& tws = ctx.input(4);
    const float* sw = tws.data_as<float>();
    const bool per_ch = tws.numel() > 1;
    const int32_t zy = quant::int_at(ctx.input(7), 0);
    const int32_t* bias = ctx.has_input(8) ? ctx.input(8).data_as<int32_t>() : nullptr;
    const DType out = y.dtype();
    void* py = y.data();
    core_.run(ctx, 0, 3, 2, 5, [&](int64_t b, int64_t g, const int32_t* acc) {
      const int64_t p = gm.pixels(), mg = gm.mg();
      for (int64_t co = 0; co < mg; ++co) {
        const int64_t oc = g * mg + co;
        const float mult = sx * sw[per_ch ? oc : 0] / sy;
        const int32_t bb = bias ? bias[oc] : 0;
        const int64_t base = (b * gm.m + oc) * p;
        for (int64_t i = 0; i < p; ++i)
          quant::store_q(out, py, base + i, static_cast<float>(acc[i * mg + co] + bb) * mult, zy);
      }
    });
  }
  std::vector<std::string> kernels_used() const override { return core_.kernels_used(); }
  IntConvCore core_;
};

/// ortkit.DynQuantConv(x f32, W_q u8/s8, W_scale (1 or M values), W_zero_point?, bias? (M values), Z?),
/// Conv attributes plus activation ("relu"/"clip", clip_min, clip_max: conv_act_fusion): the fused
/// DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul [-> Add] [-> Relu/Clip] chain of quantize_dynamic /
/// ort-quantize. x is quantized to u8 per tensor (DynamicQuantizeLinear's rule) into scratch, then
/// y = act(acc * (x_s * W_s[co]) + bias[co] [+ Z]). Z, a residual join (conv_add_fusion), has the
/// conv's output shape (added chunk by chunk while the output is in cache) or broadcasts to it (added
/// in a pass after the conv).
///
/// With constant weights and scales (what the quantizers write) the conv runs pixel-major
/// (quant_conv_nhwc.h): the GEMM's epilogue applies the scales, bias and activation, and chunks of
/// pixels are transposed into the NCHW output while they are in cache; depthwise convs run the direct
/// loop (quant_depthwise.h). Otherwise, IntConvCore's int32 result is scaled channel by channel.
class DynQuantConv : public OpKernel {
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    ctx.require_dtype(2, {DType::f32});
    ep_ = {};
    quant::read_activation(ctx, ep_, true);
    has_z_ = ctx.has_input(5);
    conv_ep_ = ep_;
    if (has_z_) {
      ctx.require_dtype(5, {DType::f32});
      conv_ep_.act = kernels::Act::none;  // the activation follows the residual add
    }
    fast_ = ctx.input(1).constant && ctx.input(2).constant && (!ctx.has_input(3) || ctx.input(3).constant);
    const ConvGeom gm = core_.compile(ctx, 0, 1, 99, 3, DType::u8, !fast_);
    const int64_t ns = shape_numel(ctx.input(2).shape);
    if (ns != 1 && ns != gm.m) ctx.fail("W_scale must have 1 or one value per output channel");
    if (ctx.has_input(4)) {
      ctx.require_dtype(4, {DType::f32});
      if (shape_numel(ctx.input(4).shape) != gm.m) ctx.fail("bias must have one value per output channel");
    }
    conv_shape_ = {gm.n, gm.m, gm.oh, gm.ow};
    z_direct_ = !has_z_ || ctx.input(5).shape == conv_shape_;
    tmp_bytes_ = 0;
    if (z_direct_) {
      ctx.set_output(0, DType::f32, conv_shape_);
    } else {
      Shape full;
      try {
        full = broadcast_shapes(conv_shape_, ctx.input(5).shape, "DynQuantConv Z");
      } catch (const Error& e) {
        ctx.fail(e.what());
      }
      ctx.set_output(0, DType::f32, full);
      tmp_bytes_ = align64(static_cast<size_t>(shape_numel(conv_shape_)) * sizeof(float));
    }
    q_bytes_ = align64(static_cast<size_t>(shape_numel(ctx.input(0).shape)));
    if (!fast_) {
      ctx.scratch_bytes = core_.scratch_bytes() + q_bytes_ + tmp_bytes_;
      return;
    }
    depthwise_ = core_.depthwise() != nullptr;
    if (depthwise_) {
      ctx.scratch_bytes = q_bytes_ + core_.depthwise()->scratch_bytes() + tmp_bytes_;
      return;
    }
    std::vector<int32_t> zps;
    quant::read_zero_points(ctx.has_input(3) ? ctx.input(3).constant : nullptr, zps);
    const Tensor& w = *ctx.input(1).constant;
    const Tensor& ws = *ctx.input(2).constant;
    if (packed_.empty())
      quant::pack_conv_weights(gm, kernels::GemmKind::u8s8, w, ws.data_as<float>(), ws.numel(), zps, packed_);
    pointwise_ = quant::conv_is_pointwise(gm);
    slots_ = std::max(1, ctx.threading.threads);
    // Pixels per task: a chunk's fp32 result (chunk x M) stays within ~128 KiB for its transpose.
    const kernels::GemmKernel* kn = kernels::dispatched(kernels::GemmKind::u8s8);
    const int64_t mr = kn ? kn->mr : 1;
    chunk_ = std::max<int64_t>(mr, 32768 / std::max<int64_t>(1, gm.m) / mr * mr);
    chunk_ = std::min(chunk_, std::max<int64_t>(1, gm.pixels()));
    nhwc_bytes_ = align64(static_cast<size_t>(gm.c * gm.h * gm.w));
    col_bytes_ = pointwise_ ? 0 : align64(static_cast<size_t>(gm.pixels() * gm.c * gm.kh * gm.kw));
    ctx.scratch_bytes = q_bytes_ + nhwc_bytes_ + col_bytes_ +
                        static_cast<size_t>(slots_ * chunk_ * gm.m) * sizeof(float) + tmp_bytes_;
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    // The channel-major core uses the start of scratch itself; x's quantized copy goes after it.
    uint8_t* q = static_cast<uint8_t*>(ctx.scratch) + (fast_ ? 0 : core_.scratch_bytes());
    const quant::DynamicQuant dq =
        quant::dynamic_quantize_u8(x.data_as<float>(), x.numel(), q, ctx.threading);
    const ConvGeom& gm = core_.geom();
    // A Z that broadcasts: the conv writes into the tail of scratch, and one pass adds Z into the output.
    float* y =
        z_direct_
            ? ctx.output(0).data_as<float>()
            : reinterpret_cast<float*>(static_cast<char*>(ctx.scratch) + ctx.scratch_bytes - tmp_bytes_);
    const float* z = has_z_ && z_direct_ ? ctx.input(5).data_as<float>() : nullptr;
    const Tensor& tws = ctx.input(2);
    const float* ws = tws.data_as<float>();
    const bool per_ch = tws.numel() > 1;
    const float* bias = ctx.has_input(4) ? ctx.input(4).data_as<float>() : nullptr;
    if (!fast_) {
      core_.run_on(ctx, q, dq.zero_point, 1, 3, [&](int64_t b, int64_t g, const int32_t* acc) {
        const int64_t p = gm.pixels(), mg = gm.mg();
        for (int64_t co = 0; co < mg; ++co) {
          const int64_t oc = g * mg + co;
          const float s = dq.scale * ws[per_ch ? oc : 0];
          const float bb = bias ? bias[oc] : 0.f;
          float* dst = y + (b * gm.m + oc) * p;
          for (int64_t i = 0; i < p; ++i)
            dst[i] = kernels::apply_act(static_cast<float>(acc[i * mg + co]) * s + bb, conv_ep_.act,
                                        conv_ep_.clip_lo, conv_ep_.clip_hi);
        }
      });
      add_z_after(ctx, y);
      return;
    }
    uint8_t* rest = q + q_bytes_;
    if (depthwise_) {
      QuantDepthwise::Params dp;
      dp.x = q;
      dp.x_zp = dq.zero_point;
      dp.x_scale = dq.scale;
      dp.w_scale = ws;
      dp.w_scale_per_channel = per_ch;
      dp.bias = bias;
      dp.y_f32 = y;
      core_.depthwise()->run(dp, conv_ep_, ctx.threading, reinterpret_cast<float*>(rest));
      add_z_after(ctx, y);
      return;
    }
    uint8_t* nhwc = rest;
    uint8_t* col = nhwc + nhwc_bytes_;
    float* bufs = reinterpret_cast<float*>(col + col_bytes_);
    const int64_t p = gm.pixels(), hw = gm.h * gm.w, mg = gm.mg(), kg = gm.kg();
    const int64_t chunks = (p + chunk_ - 1) / chunk_;
    const kernels::QuantA qa{dq.scale, dq.zero_point};
    const uint8_t pad = static_cast<uint8_t>(dq.zero_point);
    for (int64_t b = 0; b < gm.n; ++b) {
      quant::transpose_bytes(ctx.threading, q + b * gm.c * hw, gm.c, hw, nhwc);
      if (!pointwise_)
        for (int64_t g = 0; g < gm.g; ++g)
          quant::im2col_nhwc(gm, nhwc, g, pad, col + g * p * kg, ctx.threading);
      float* yb = y + b * gm.m * p;
      run_tasks(ctx.threading, slots_, chunks, [&](int64_t t, int64_t slot, const kernels::Threading& th) {
        const int64_t r0 = t * chunk_, rows = std::min(chunk_, p - r0);
        float* buf = bufs + slot * chunk_ * gm.m;
        for (int64_t g = 0; g < gm.g; ++g) {
          const uint8_t* a = pointwise_ ? nhwc + r0 * gm.c + g * gm.cg() : col + g * p * kg + r0 * kg;
          kernels::Epilogue ep = conv_ep_;
          ep.bias = bias ? bias + g * mg : nullptr;
          kernels::gemm_int8(rows, a, pointwise_ ? gm.c : kg, qa, packed_[g], buf + g * mg, gm.m, nullptr, 0,
                             ep, {}, th);
        }
        transpose_2d_b32(buf, gm.m, yb + r0, p, rows, gm.m);
        if (z) add_z_rows(yb + r0, z + b * gm.m * p + r0, p, gm.m, rows, ep_);
      });
    }
    if (!z_direct_) add_z_after(ctx, y);
  }

  /// The residual join as a pass of its own (the channel-major and depthwise forms, and a Z that
  /// broadcasts): conv holds the conv's result, in the output itself when Z has its shape.
  void add_z_after(RunContext& ctx, const float* conv) const {
    if (!has_z_) return;
    const Tensor& z = ctx.input(5);
    Tensor& out = ctx.output(0);
    if (z_direct_) {
      float* y = out.data_as<float>();
      const float* zd = z.data_as<float>();
      parallel_range(ctx.threading, out.numel(), 16384,
                     [&](int64_t b, int64_t e) { add_z_rows(y + b, zd + b, 0, 1, e - b, ep_); });
      return;
    }
    const kernels::Act a = ep_.act;
    const float lo = ep_.clip_lo, hi = ep_.clip_hi;
    const Tensor cv = Tensor::view(DType::f32, conv_shape_, const_cast<float*>(conv));
    broadcast_binary<float, float, float>(
        cv, z, out, ctx.threading, [a, lo, hi](float u, float v) { return conv_act(u + v, a, lo, hi); });
  }

  std::vector<std::string> kernels_used() const override {
    if (fast_ && depthwise_) return {"conv_depthwise_int8"};
    return core_.kernels_used();
  }

  IntConvCore core_;
  kernels::Epilogue ep_;       // the node's activation (after Z when there is one)
  kernels::Epilogue conv_ep_;  // what the conv itself applies: ep_, or no activation before a Z
  bool fast_ = false, depthwise_ = false, pointwise_ = false;
  bool has_z_ = false, z_direct_ = true;
  Shape conv_shape_;
  size_t tmp_bytes_ = 0;
  int slots_ = 1;
  int64_t chunk_ = 1;
  size_t q_bytes_ = 0, nhwc_bytes_ = 0, col_bytes_ = 0;
  std::vector<PackedB> packed_;  // fast path: weights with their scales, (ky, kx, ci) order
};

}  // namespace

void register_quant_conv_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "ConvInteger", 10, kAnyOpset, [] { return std::make_unique<ConvInteger>(); });
  r.add(kOnnxDomain, "QLinearConv", 10, kAnyOpset, [] { return std::make_unique<QLinearConv>(); });
  r.add(kOrtkitDomain, "DynQuantConv", 1, kAnyOpset, [] { return std::make_unique<DynQuantConv>(); });
}

}  // namespace ortkit::ops
