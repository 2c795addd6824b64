// 2-D convolution geometry of the integer convolutions (quant_conv.cpp, quant_qdq_conv.cpp): shapes,
// groups, strides, dilations, pads / auto_pad of a rank-4 x and w.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "ops/op.h"

namespace ortkit::ops::quant {

struct ConvGeom {
  int64_t n = 0, c = 0, h = 0, w = 0;    // input
  int64_t m = 0, kh = 0, kw = 0, g = 1;  // weights, groups
  int64_t oh = 0, ow = 0;
  int64_t sh = 1, sw = 1, dh = 1, dw = 1, pt = 0, pl = 0;
  int64_t cg() const { return c / g; }
  int64_t mg() const { return m / g; }
  int64_t kg() const { return cg() * kh * kw; }
  int64_t pixels() const { return oh * ow; }
};

/// x_nhwc: x is [N, H, W, C] (ortkit.QdqConv's input_layout, set by qdq_conv_layout).
inline ConvGeom conv_geometry(const CompileContext& ctx, size_t ix, size_t iw, bool x_nhwc = false) {
  const Shape &x = ctx.input(ix).shape, &w = ctx.input(iw).shape;
  if (x.size() != 4 || w.size() != 4) ctx.unsupported("only 2-D integer convolutions (rank-4 x and w)");
  const Attrs& a = ctx.attr();
  ConvGeom gm;
  if (x_nhwc)
    gm.n = x[0], gm.h = x[1], gm.w = x[2], gm.c = x[3];
  else
    gm.n = x[0], gm.c = x[1], gm.h = x[2], gm.w = x[3];
  gm.m = w[0], gm.kh = w[2], gm.kw = w[3];
  gm.g = a.get_int("group", 1);
  if (gm.g < 1 || gm.c % gm.g != 0 || gm.m % gm.g != 0 || w[1] != gm.c / gm.g)
    ctx.fail("channels do not match groups: x " + shape_str(x) + ", w " + shape_str(w) + ", group " +
             std::to_string(gm.g));
  const std::vector<int64_t> ks = a.get_ints("kernel_shape", {gm.kh, gm.kw});
  if (ks.size() != 2 || ks[0] != gm.kh || ks[1] != gm.kw) ctx.fail("kernel_shape does not match w");
  const std::vector<int64_t> st = a.get_ints("strides", {1, 1}), dl = a.get_ints("dilations", {1, 1});
  std::vector<int64_t> pads = a.get_ints("pads", {0, 0, 0, 0});
  if (st.size() != 2 || dl.size() != 2 || pads.size() != 4)
    ctx.fail("strides/dilations/pads of wrong length");
  gm.sh = st[0], gm.sw = st[1], gm.dh = dl[0], gm.dw = dl[1];
  if (gm.sh < 1 || gm.sw < 1 || gm.dh < 1 || gm.dw < 1) ctx.fail("strides and dilations must be >= 1");
  const std::string ap = a.get_string("auto_pad", "NOTSET");
  const int64_t ekh = (gm.kh - 1) * gm.dh + 1, ekw = (gm.kw - 1) * gm.dw + 1;
  if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
    const int64_t in[2] = {gm.h, gm.w}, s[2] = {gm.sh, gm.sw}, ek[2] = {ekh, ekw};
    for (int d = 0; d < 2; ++d) {
      const int64_t out = (in[d] + s[d] - 1) / s[d];
      const int64_t total = std::max<int64_t>(0, (out - 1) * s[d] + ek[d] - in[d]);
      const int64_t small = total / 2, big = total - small;
      pads[d] = ap == "SAME_UPPER" ? small : big;
      pads[d + 2] = ap == "SAME_UPPER" ? big : small;
    }
  } else if (ap == "VALID") {
    pads = {0, 0, 0, 0};
  } else if (ap != "NOTSET") {
    ctx.fail("unknown auto_pad '" + ap + "'");
  }
  gm.pt = pads[0], gm.pl = pads[1];
  gm.oh = (gm.h + pads[0] + pads[2] - ekh) / gm.sh + 1;
  gm.ow = (gm.w + pads[1] + pads[3] - ekw) / gm.sw + 1;
  if (gm.oh < 0 || gm.ow < 0) ctx.fail("kernel larger than the padded input");
  return gm;
}

}  // namespace ortkit::ops::quant
