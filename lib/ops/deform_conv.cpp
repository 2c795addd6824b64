// DeformConv (opset 19, 2-D): a convolution whose kernel taps move by learned offsets (DCN v1) and are
// weighted by an optional mask (DCN v2), as detection models export it (torchvision.ops.deform_conv2d).
//   X [N, C, H, W], W [M, C / group, kH, kW], offset [N, offset_group * kH * kW * 2, oH, oW] (dy, dx per
//   tap), B [M]?, mask [N, offset_group * kH * kW, oH, oW]?; attrs dilations, group, kernel_shape,
//   offset_group, pads, strides.
// Tap (kh, kw) of output (i, j) samples channel c at y = i * sH - pad_top + kh * dH + dy and
// x = j * sW - pad_left + kw * dW + dx, bilinearly, reading zero outside the image (GridSample with
// align_corners and zero padding, as the reference defines it). The sampled columns go to scratch, one
// image at a time; each output then is the plain convolution sum over its group's columns.
#include <cmath>
#include <cstring>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

class DeformConvOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    for (size_t i = 0; i < 3; ++i) ctx.require_dtype(i, {DType::f32});
    const Shape &x = ctx.input(0).shape, &w = ctx.input(1).shape, &off = ctx.input(2).shape;
    if (x.size() != 4) ctx.unsupported("only 2-D DeformConv (4-D X) is implemented, got X " + shape_str(x));
    if (w.size() != 4 || off.size() != 4) ctx.fail("W and offset must be 4-D");
    group_ = ctx.attr().get_int("group", 1);
    og_ = ctx.attr().get_int("offset_group", 1);
    if (group_ <= 0 || og_ <= 0) ctx.fail("group and offset_group must be positive");
    C_ = x[1], M_ = w[0], kh_ = w[2], kw_ = w[3];
    const std::vector<int64_t> ks = ctx.attr().get_ints("kernel_shape", {kh_, kw_});
    if (ks.size() != 2 || ks[0] != kh_ || ks[1] != kw_) ctx.fail("kernel_shape does not match W");
    if (C_ != w[1] * group_ || M_ % group_)
      ctx.fail("X " + shape_str(x) + " and W " + shape_str(w) + " do not match group " +
               std::to_string(group_));
    if (C_ % og_) ctx.fail("channels are not divisible by offset_group");
    const std::vector<int64_t> st = ctx.attr().get_ints("strides", {1, 1}),
                               dl = ctx.attr().get_ints("dilations", {1, 1}),
                               pd = ctx.attr().get_ints("pads", {0, 0, 0, 0});
    if (st.size() != 2 || dl.size() != 2 || pd.size() != 4)
      ctx.fail("strides, dilations and pads must describe 2 dims");
    sh_ = st[0], sw_ = st[1], dh_ = dl[0], dw_ = dl[1], pt_ = pd[0], pl_ = pd[1];
    if (sh_ <= 0 || sw_ <= 0 || dh_ <= 0 || dw_ <= 0) ctx.fail("strides and dilations must be positive");
    oh_ = (x[2] + pd[0] + pd[2] - ((kh_ - 1) * dh_ + 1)) / sh_ + 1;
    ow_ = (x[3] + pd[1] + pd[3] - ((kw_ - 1) * dw_ + 1)) / sw_ + 1;
    if (oh_ <= 0 || ow_ <= 0) ctx.fail("the kernel does not fit the padded input");
    if (off[0] != x[0] || off[1] != og_ * kh_ * kw_ * 2 || off[2] != oh_ || off[3] != ow_)
      ctx.fail("offset must be [" + std::to_string(x[0]) + ", " + std::to_string(og_ * kh_ * kw_ * 2) + ", " +
               std::to_string(oh_) + ", " + std::to_string(ow_) + "], got " + shape_str(off));
    if (ctx.has_input(3)) {
      ctx.require_dtype(3, {DType::f32});
      if (shape_numel(ctx.input(3).shape) != M_) ctx.fail("B must have " + std::to_string(M_) + " values");
    }
    if (ctx.has_input(4)) {
      ctx.require_dtype(4, {DType::f32});
      const Shape& m = ctx.input(4).shape;
      if (m != Shape{x[0], og_ * kh_ * kw_, oh_, ow_})
        ctx.fail("mask must be [N, offset_group * kH * kW, oH, oW], got " + shape_str(m));
    }
    ctx.set_output(0, DType::f32, {x[0], M_, oh_, ow_});
    ctx.scratch_bytes = sizeof(float) * static_cast<size_t>(C_ * kh_ * kw_ * oh_ * ow_);
  }

  void run(RunContext& ctx) override {
    const Tensor& xt = ctx.input(0);
    const int64_t N = xt.shape()[0], H = xt.shape()[2], W = xt.shape()[3];
    const float* x = xt.data_as<float>();
    const float* w = ctx.input(1).data_as<float>();
    const float* off = ctx.input(2).data_as<float>();
    const float* bias = ctx.has_input(3) ? ctx.input(3).data_as<float>() : nullptr;
    const float* mask = ctx.has_input(4) ? ctx.input(4).data_as<float>() : nullptr;
    float* y = ctx.output(0).data_as<float>();
    float* col = static_cast<float*>(ctx.scratch);  // [C, kH, kW, oH * oW]
    const int64_t K = kh_ * kw_, P = oh_ * ow_, cpo = C_ / og_;
    for (int64_t n = 0; n < N; ++n) {
      parallel_for(ctx.threading, C_, [&](int64_t c) {
        const int64_t g = c / cpo;
        const float* img = x + (n * C_ + c) * H * W;
        for (int64_t k = 0; k < K; ++k) {
          const int64_t ki = k / kw_, kj = k % kw_;
          const float* dy = off + ((n * og_ + g) * K * 2 + k * 2) * P;
          const float* dx = dy + P;
          const float* mk = mask ? mask + ((n * og_ + g) * K + k) * P : nullptr;
          float* out = col + (c * K + k) * P;
          for (int64_t p = 0; p < P; ++p) {
            const int64_t i = p / ow_, j = p % ow_;
            const double yy = static_cast<double>(i * sh_ - pt_ + ki * dh_) + dy[p];
            const double xx = static_cast<double>(j * sw_ - pl_ + kj * dw_) + dx[p];
            out[p] = static_cast<float>(bilinear(img, H, W, yy, xx)) * (mk ? mk[p] : 1.f);
          }
        }
      });
      const int64_t mpg = M_ / group_, cpg = C_ / group_;
      parallel_for(ctx.threading, M_, [&](int64_t m) {
        const int64_t g = m / mpg;
        float* yo = y + (n * M_ + m) * P;
        for (int64_t p = 0; p < P; ++p) yo[p] = bias ? bias[m] : 0.f;
        for (int64_t c = 0; c < cpg; ++c)
          for (int64_t k = 0; k < K; ++k) {
            const float wv = w[(m * cpg + c) * K + k];
            const float* src = col + ((g * cpg + c) * K + k) * P;
            for (int64_t p = 0; p < P; ++p) yo[p] += wv * src[p];
          }
      });
    }
  }

 private:
  /// Bilinear sample at (y, x) in pixel units; pixels outside the image read as zero.
  static double bilinear(const float* img, int64_t H, int64_t W, double y, double x) {
    const double fy = std::floor(y), fx = std::floor(x);
    const int64_t y0 = static_cast<int64_t>(fy), x0 = static_cast<int64_t>(fx);
    const double ay = y - fy, ax = x - fx;
    auto at = [&](int64_t r, int64_t c) {
      return r < 0 || r >= H || c < 0 || c >= W ? 0.0 : double(img[r * W + c]);
    };
    return (1 - ay) * ((1 - ax) * at(y0, x0) + ax * at(y0, x0 + 1)) +
           ay * ((1 - ax) * at(y0 + 1, x0) + ax * at(y0 + 1, x0 + 1));
  }

  int64_t group_ = 1, og_ = 1, C_ = 0, M_ = 0, kh_ = 0, kw_ = 0, sh_ = 1, sw_ = 1, dh_ = 1, dw_ = 1, pt_ = 0,
          pl_ = 0;
  int64_t oh_ = 0, ow_ = 0;
};

}  // namespace

void register_deform_conv_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "DeformConv", 19, kAnyOpset, [] { return std::make_unique<DeformConvOp>(); });
}

}  // namespace ortkit::ops
