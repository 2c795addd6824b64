// ortkit.QdqConv: the fused QDQ Conv of statically quantized CNNs (graph/passes/qdq_conv_fusion.cpp):
//
//   y_q = saturate(round(act(x_s * w_s[co] * sum (x_q - x_zp)(W_q - w_zp[co]) + bias[co]) / y_s) + y_zp)
//
// Inputs: x_q (u8/s8 NCHW), x_s, x_zp (per tensor), W_q (constant u8/s8 [M, C/g, kh, kw]), w_s (1 or M
// values), w_zp? (1 or M), bias? (f32, M), y_s, y_zp? (per tensor; absent: u8 zero point 0). Conv
// attributes plus activation ("relu"/"clip"), clip_min, clip_max.
//
// Layout: per image, x is transposed to NHWC in scratch and unfolded from there (quant_conv_nhwc.h);
// depthwise convs run a direct loop instead (quant_depthwise.h), over NCHW planes or, when both x and y
// are NHWC, over pixels. One gemm_int8 per image
// and group dequantizes (bias and activation applied) and requantizes (1 / y_s folded into its scales,
// round half even, saturate) tile by tile into a pixel-major u8/s8 buffer, transposed back to NCHW.
#include <algorithm>
#include <cstring>

#include "ops/fast_math.h"
#include "ops/quant_common.h"
#include "ops/quant_conv_geom.h"
#include "ops/quant_conv_nhwc.h"
#include "ops/quant_depthwise.h"
#include "ops/registry.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::ops {
namespace {

using kernels::PackedB;
using quant::align64;
using quant::ConvGeom;

/// Attribute `name`: "NCHW" (default) or "NHWC".
bool layout_is_nhwc(const CompileContext& ctx, const char* name) {
  const std::string l = ctx.attr().get_string(name, "NCHW");
  if (l != "NCHW" && l != "NHWC") ctx.fail(std::string(name) + " must be NCHW or NHWC, not '" + l + "'");
  return l == "NHWC";
}

class QdqConv : public OpKernel {
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::u8, DType::i8});
    ctx.require_dtype(2, {ctx.input(0).dtype});
    ctx.require_dtype(3, {DType::u8, DType::i8});
    for (size_t i : {1, 4, 7}) ctx.require_dtype(i, {DType::f32});
    for (size_t i : {1, 2, 7})
      if (shape_numel(ctx.input(i).shape) != 1)
        ctx.unsupported("x/y scale and zero point must be per tensor");
    if (ctx.has_input(8)) {
      ctx.require_dtype(8, {DType::u8, DType::i8});
      if (shape_numel(ctx.input(8).shape) != 1) ctx.unsupported("y_zero_point must be per tensor");
    }
    if (!ctx.input(3).constant || !ctx.input(4).constant || (ctx.has_input(5) && !ctx.input(5).constant))
      ctx.unsupported("QdqConv needs constant weights, weight scales and zero points");
    in_nhwc_ = layout_is_nhwc(ctx, "input_layout");
    out_nhwc_ = layout_is_nhwc(ctx, "output_layout");
    gm_ = quant::conv_geometry(ctx, 0, 3, in_nhwc_);
    const int64_t ns = shape_numel(ctx.input(4).shape);
    if (ns != 1 && ns != gm_.m) ctx.fail("w_scale must have 1 or one value per output channel");
    if (ctx.has_input(5)) {
      ctx.require_dtype(5, {ctx.input(3).dtype});
      const int64_t nz = shape_numel(ctx.input(5).shape);
      if (nz != 1 && nz != gm_.m) ctx.fail("w_zero_point must have 1 or one value per output channel");
    }
    if (ctx.has_input(6)) {
      ctx.require_dtype(6, {DType::f32});
      if (shape_numel(ctx.input(6).shape) != gm_.m) ctx.fail("bias must have one value per output channel");
    }
    if (gm_.c == 0) ctx.unsupported("QdqConv with 0 input channels");
    ep_ = {};
    quant::read_activation(ctx, ep_, true);
    kind_ = quant::int8_kind(ctx.input(0).dtype);
    out_type_ = ctx.has_input(8) ? ctx.input(8).dtype : DType::u8;
    ctx.set_output(0, out_type_,
                   out_nhwc_ ? Shape{gm_.n, gm_.oh, gm_.ow, gm_.m} : Shape{gm_.n, gm_.m, gm_.oh, gm_.ow});
    depthwise_ = QuantDepthwise::applies(gm_);
    if (depthwise_) {
      if (in_nhwc_ != out_nhwc_)
        ctx.fail("the depthwise form needs input_layout and output_layout alike (both NCHW or both NHWC)");
      std::vector<int32_t> zps;
      quant::read_zero_points(ctx.has_input(5) ? ctx.input(5).constant : nullptr, zps);
      dw_.prepare(gm_, ctx.threading.threads, in_nhwc_);
      dw_.set_weights(ctx.input(3).constant->data(), ctx.input(3).dtype == DType::u8, zps);
      ctx.scratch_bytes = dw_.scratch_bytes();
      return;
    }
    direct_ = quant::conv_is_pointwise(gm_);
    nhwc_bytes_ = in_nhwc_ ? 0 : align64(static_cast<size_t>(gm_.c * gm_.h * gm_.w));
    col_bytes_ = direct_ ? 0 : align64(static_cast<size_t>(gm_.pixels() * gm_.kg()));
    obuf_bytes_ = out_nhwc_ ? 0 : align64(static_cast<size_t>(gm_.pixels() * gm_.m));
    ctx.scratch_bytes =
        nhwc_bytes_ + col_bytes_ + obuf_bytes_ + align64(static_cast<size_t>(gm_.m) * sizeof(float));
    if (packed_.empty()) pack(ctx);
  }

  void pack(const CompileContext& ctx) {
    std::vector<int32_t> zps;
    quant::read_zero_points(ctx.has_input(5) ? ctx.input(5).constant : nullptr, zps);
    const Tensor& ws = *ctx.input(4).constant;
    quant::pack_conv_weights(gm_, kind_, *ctx.input(3).constant, ws.data_as<float>(), ws.numel(), zps,
                             packed_);
  }

  void run(RunContext& ctx) override {
    const ConvGeom& gm = gm_;
    const int64_t p = gm.pixels(), hw = gm.h * gm.w;
    if (p == 0 || gm.m == 0 || gm.n == 0) return;
    kernels::QuantA qa;
    qa.scale = ctx.input(1).data_as<float>()[0];
    qa.zero_point = quant::int_at(ctx.input(2), 0);
    const float ys = ctx.input(7).data_as<float>()[0];
    const int32_t yz = ctx.has_input(8) ? quant::int_at(ctx.input(8), 0) : 0;
    if (ys == 0.f) ctx.fail("y_scale is 0");
    const float* bias = ctx.has_input(6) ? ctx.input(6).data_as<float>() : nullptr;
    if (depthwise_) {
      QuantDepthwise::Params dp;
      dp.x = static_cast<const uint8_t*>(ctx.input(0).data());
      dp.x_signed = kind_ == kernels::GemmKind::s8s8;
      dp.x_zp = qa.zero_point;
      dp.x_scale = qa.scale;
      dp.w_scale = ctx.input(4).data_as<float>();
      dp.w_scale_per_channel = ctx.input(4).numel() > 1;
      dp.bias = bias;
      dp.y_scale = ys;
      dp.y_zp = yz;
      dp.y_signed = out_type_ == DType::i8;
      dp.y = ctx.output(0).data();
      if (in_nhwc_)
        dw_.run_nhwc(dp, ep_, ctx.threading, static_cast<float*>(ctx.scratch));
      else
        dw_.run(dp, ep_, ctx.threading, static_cast<float*>(ctx.scratch));
      return;
    }
    const uint8_t pad = static_cast<uint8_t>(qa.zero_point);  // same bits for s8
    uint8_t* nhwc_buf = static_cast<uint8_t*>(ctx.scratch);
    uint8_t* col = nhwc_buf + nhwc_bytes_;
    uint8_t* obuf = col + col_bytes_;
    // 1 / y_s folded into the epilogue (x_s, bias and clip bounds divided by y_s, as ONNX Runtime's
    // QLinearConv multiplies by one combined scale), so that requantizing is a rounding only: the
    // division per output cost as much as a 1x1 conv's GEMM. A value on a rounding tie may land one step
    // from DQ -> Conv -> Q, as the int32 sums already make it. Not for GELU, which does not commute with
    // the scaling.
    kernels::Epilogue ep_run = ep_;
    float q_scale = ys;
    const bool fold = quant::output_scale_folds(ys, ep_.act);
    if (fold) {
      qa.scale /= ys;
      if (bias) {
        float* scaled = reinterpret_cast<float*>(obuf + obuf_bytes_);
        for (int64_t i = 0; i < gm.m; ++i) scaled[i] = bias[i] / ys;
        bias = scaled;
      }
      ep_run.clip_lo /= ys;
      ep_run.clip_hi /= ys;
      q_scale = 1.f;
    }
    const uint8_t* x = static_cast<const uint8_t*>(ctx.input(0).data());
    uint8_t* y = static_cast<uint8_t*>(ctx.output(0).data());
    const int64_t mg = gm.mg();
    for (int64_t b = 0; b < gm.n; ++b) {
      const uint8_t* nhwc = x + b * hw * gm.c;  // already pixel-major (input_layout NHWC)
      if (!in_nhwc_) {
        quant::transpose_bytes(ctx.threading, x + b * gm.c * hw, gm.c, hw, nhwc_buf);
        nhwc = nhwc_buf;
      }
      uint8_t* out = out_nhwc_ ? y + b * p * gm.m : obuf;
      for (int64_t g = 0; g < gm.g; ++g) {
        const uint8_t* a = nhwc + g * gm.cg();
        int64_t lda = gm.c;
        if (!direct_) {
          quant::im2col_nhwc(gm, nhwc, g, pad, col, ctx.threading);
          a = col;
          lda = gm.kg();
        }
        kernels::Epilogue ep = ep_run;
        ep.bias = bias ? bias + g * mg : nullptr;
        // Requantized in the GEMM's per-thread tiles: no fp32 result in memory, which for MobileNet's
        // wide 1x1 convs was 4 bytes per output through L3 and back. (Writing each tile transposed
        // straight into the NCHW planes, instead of the pass below, ran 7% slower on static MobileNetV2:
        // 14-byte column stores and a small transpose per tile.)
        kernels::QuantOut qo;
        qo.enabled = true;
        qo.is_signed = out_type_ == DType::i8;
        qo.scale = q_scale;
        qo.zero_point = yz;
        qo.data = out + g * mg;
        qo.ld = gm.m;
        kernels::gemm_int8(p, a, lda, qa, packed_[g], nullptr, 0, nullptr, 0, ep, qo, ctx.threading);
      }
      if (!out_nhwc_) quant::transpose_bytes(ctx.threading, obuf, p, gm.m, y + b * gm.m * p);  // back to NCHW
    }
  }

  std::vector<std::string> kernels_used() const override {
    if (depthwise_) return {"conv_depthwise_int8"};
    const kernels::GemmKernel* kn = kernels::dispatched(kind_);
    return kn ? std::vector<std::string>{kn->name} : std::vector<std::string>{};
  }

  ConvGeom gm_;
  kernels::Epilogue ep_;
  kernels::GemmKind kind_ = kernels::GemmKind::u8s8;
  DType out_type_ = DType::u8;
  bool direct_ = false;
  bool in_nhwc_ = false, out_nhwc_ = false;  // x / y pixel-major between fused convs (qdq_conv_layout)
  bool depthwise_ = false;  // one channel per group: QuantDepthwise instead of GEMMs
  QuantDepthwise dw_;
  size_t nhwc_bytes_ = 0, col_bytes_ = 0, obuf_bytes_ = 0;
  std::vector<PackedB> packed_;
};

}  // namespace

void register_quant_qdq_conv_ops(OpRegistry& r) {
  r.add(kOrtkitDomain, "QdqConv", 1, kAnyOpset, [] { return std::make_unique<QdqConv>(); });
}

}  // namespace ortkit::ops
