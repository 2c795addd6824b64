// The fast paths of the perf round against naive references: depthwise Conv (channel blocks of 16 for
// outputs up to 16 wide, K in {3, 5}, strides 1/2; row kernel for K in {3, 5} and strides 1/2 with
// scalar borders, 16-output vector blocks for 3x3 stride 2; over a padded copy, the row-group kernel for
// stride-1 outputs 16 to 64 wide and 4 or more high, the flat kernel for the other small ones; the generic
// loop for everything else) with bias and fused activations; the 8x8 register-tile transpose (Transpose
// [0,2,3,1] and ragged 2-D sizes); Softmax rows; MatMul over a B computed at run time, read in place or
// packed by the row count, B's size and its row stride.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "ops/eval.h"
#include "ops/registry.h"
#include "ops/transpose_kernel.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

namespace {

struct DwCase {
  const char* name;
  Shape x;  // N, C, H, W
  int64_t kh, kw;
  std::array<int64_t, 2> s, d;
  std::array<int64_t, 4> p;  // top, left, bottom, right
};

/// Naive depthwise conv (2-D), double accumulation, then clamp to [lo, hi].
Tensor ref_depthwise(const Tensor& x, const Tensor& w, const Tensor& b, const DwCase& c, float lo, float hi) {
  const int64_t N = c.x[0], C = c.x[1], H = c.x[2], W = c.x[3];
  const int64_t OH = (H + c.p[0] + c.p[2] - ((c.kh - 1) * c.d[0] + 1)) / c.s[0] + 1;
  const int64_t OW = (W + c.p[1] + c.p[3] - ((c.kw - 1) * c.d[1] + 1)) / c.s[1] + 1;
  Tensor y(DType::f32, {N, C, OH, OW});
  const float *px = x.data_as<float>(), *pw = w.data_as<float>(), *pb = b.data_as<float>();
  float* py = y.data_as<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t ch = 0; ch < C; ++ch)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = pb[ch];
          for (int64_t i = 0; i < c.kh; ++i)
            for (int64_t j = 0; j < c.kw; ++j) {
              const int64_t ih = oh * c.s[0] - c.p[0] + i * c.d[0], iw = ow * c.s[1] - c.p[1] + j * c.d[1];
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              acc += px[((n * C + ch) * H + ih) * W + iw] * pw[(ch * c.kh + i) * c.kw + j];
            }
          py[((n * C + ch) * OH + oh) * OW + ow] = std::clamp(static_cast<float>(acc), lo, hi);
        }
  return y;
}

Attrs dw_attrs(const DwCase& c) {
  Attrs a;
  a.set_int("group", c.x[1]);
  a.set_ints("kernel_shape", {c.kh, c.kw});
  a.set_ints("strides", {c.s[0], c.s[1]});
  a.set_ints("dilations", {c.d[0], c.d[1]});
  a.set_ints("pads", {c.p[0], c.p[1], c.p[2], c.p[3]});
  return a;
}

}  // namespace

TEST_CASE("depthwise Conv fast paths match a naive reference", "[ops][perf]") {
  const DwCase cases[] = {
      // Channel blocks (outputs up to 16 wide): partial last blocks, batches, both strides, 5x5.
      {"blocked: 37 channels (16 + 16 + 5), 14x14, batch 2",
       {2, 37, 14, 14},
       3,
       3,
       {1, 1},
       {1, 1},
       {1, 1, 1, 1}},
      {"blocked: 3x3 s2 into 7x7, pads at the end only", {1, 24, 14, 14}, 3, 3, {2, 2}, {1, 1}, {0, 0, 1, 1}},
      {"blocked: 5x5 s2, 17 channels, odd 15x13", {1, 17, 15, 13}, 5, 5, {2, 2}, {1, 1}, {2, 2, 2, 2}},
      {"blocked: 5x5 s1 width 16 (widest)", {1, 18, 5, 16}, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}},
      {"blocked: 3x3 s1 16 channels exactly, no padding", {1, 16, 9, 12}, 3, 3, {1, 1}, {1, 1}, {0, 0, 0, 0}},
      // Row groups over the padded copy (stride 1, 16 < width <= 64, 4 rows or more): whole groups, a last
      // group overlapping the one before, a last vector overlapping the one before.
      {"3x3 s1 28x28 (row groups)", {1, 3, 28, 28}, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      {"3x3 s1 width 17, 4 rows (one group), batch 2", {2, 2, 4, 17}, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      {"5x5 s1 width 20, 7 rows, asymmetric pads", {1, 2, 8, 20}, 5, 5, {1, 1}, {1, 1}, {2, 1, 2, 3}},
      {"3x3 s1 9 rows, width 33, no padding", {1, 2, 11, 35}, 3, 3, {1, 1}, {1, 1}, {0, 0, 0, 0}},
      {"3x3 s1 width 64 (widest row groups), 5 rows", {1, 2, 5, 64}, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      {"5x5 s1 width 64, 6 rows, pads 1 and 3", {1, 2, 6, 64}, 5, 5, {1, 1}, {1, 1}, {2, 1, 2, 3}},
      // Flat padded-copy path (stride 1, fewer than 4 rows).
      // Narrower ones take the channel blocks here (the int8 QDQ depthwise runs them flat).
      {"3x3 s1 7x7 (MobileNet tail)", {1, 5, 7, 7}, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      {"3x3 s1 odd 13x11, batch 2", {2, 3, 13, 11}, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      {"3x3 s1 width 1", {1, 2, 5, 1}, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      {"3x3 s1 width 3 < vector, height 2", {1, 2, 2, 3}, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      {"3x3 s1 asymmetric pads", {1, 3, 9, 10}, 3, 3, {1, 1}, {1, 1}, {0, 2, 1, 0}},
      {"3x3 s1 no padding", {1, 2, 6, 9}, 3, 3, {1, 1}, {1, 1}, {0, 0, 0, 0}},
      {"5x5 s1 pad 2", {1, 3, 12, 12}, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}},
      {"3x3 s1 width 64 (largest flat), 3 rows", {1, 2, 3, 64}, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      {"3x3 s2 14x14 (MobileNet, flat)", {1, 4, 14, 14}, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}},
      {"3x3 s2 flat asymmetric pads", {1, 2, 9, 11}, 3, 3, {2, 2}, {1, 1}, {0, 1, 2, 0}},
      {"5x5 s2 flat odd 9x13", {1, 3, 9, 13}, 5, 5, {2, 2}, {1, 1}, {2, 2, 2, 2}},
      // Row kernel (stride 2, dilation, or stride 1 past 64 wide).
      {"3x3 s1 width 70 (row kernel)", {1, 2, 4, 70}, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      {"3x3 s1 width 67 asymmetric pads", {1, 2, 5, 67}, 3, 3, {1, 1}, {1, 1}, {2, 0, 0, 2}},
      {"5x5 s1 width 65", {1, 2, 6, 65}, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}},
      {"3x3 s2 28x28 (MobileNet)", {1, 4, 28, 28}, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}},
      {"3x3 s2 odd 15x17", {2, 3, 15, 17}, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}},
      {"3x3 s2 width 2", {1, 2, 6, 2}, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}},
      {"3x3 s2 asymmetric pads", {1, 3, 10, 21}, 3, 3, {2, 2}, {1, 1}, {0, 0, 1, 1}},
      {"3x3 s2 pad larger than kernel", {1, 2, 5, 5}, 3, 3, {2, 2}, {1, 1}, {3, 3, 3, 3}},
      {"3x3 s1 dilation 2", {1, 3, 11, 12}, 3, 3, {1, 1}, {2, 2}, {2, 2, 2, 2}},
      {"3x3 s1 dilation (1, 3)", {1, 2, 9, 20}, 3, 3, {1, 1}, {1, 3}, {1, 3, 1, 3}},
      {"3x3 s2 dilation 2", {1, 2, 13, 13}, 3, 3, {2, 2}, {2, 2}, {1, 1, 1, 1}},
      {"3x3 strides (2, 1)", {1, 2, 9, 9}, 3, 3, {2, 1}, {1, 1}, {1, 1, 1, 1}},
      {"3x3 strides (1, 2)", {1, 2, 9, 9}, 3, 3, {1, 2}, {1, 1}, {1, 1, 1, 1}},
      {"5x5 s2 pad 2", {1, 3, 17, 19}, 5, 5, {2, 2}, {1, 1}, {2, 2, 2, 2}},
      // 3x3 stride 2 in 16-output vector blocks: exactly one block, two and a last that overlaps, one and
      // a one-output overlap after asymmetric pads.
      {"3x3 s2 interior of 16", {1, 2, 5, 33}, 3, 3, {2, 2}, {1, 1}, {0, 0, 0, 0}},
      {"3x3 s2 width 70 (blocks and overlap)", {1, 3, 7, 70}, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}},
      {"3x3 s2 interior of 17", {2, 2, 6, 37}, 3, 3, {2, 2}, {1, 1}, {0, 0, 1, 1}},
      // Two output rows per pass (they share an input row), an odd last row alone, padding rows at both ends.
      {"3x3 s2 row pairs, 5 rows, pads 1 top 2 bottom", {1, 2, 9, 40}, 3, 3, {2, 2}, {1, 1}, {1, 1, 2, 0}},
      // 7x7 (ConvNeXt): channel blocks, row groups (stride 1 at any width from 16), flat, the generic loop.
      {"7x7 s1 blocked 14x14, 19 channels", {1, 19, 14, 14}, 7, 7, {1, 1}, {1, 1}, {3, 3, 3, 3}},
      {"7x7 s2 blocked into 7x7", {1, 17, 13, 13}, 7, 7, {2, 2}, {1, 1}, {3, 3, 3, 3}},
      {"7x7 s1 row groups 28x28", {1, 3, 28, 28}, 7, 7, {1, 1}, {1, 1}, {3, 3, 3, 3}},
      {"7x7 s1 row groups width 70 (past the 3x3 bound), 5 rows",
       {1, 2, 5, 70},
       7,
       7,
       {1, 1},
       {1, 1},
       {3, 3, 3, 3}},
      {"7x7 s1 row groups width 19, asymmetric pads", {1, 2, 9, 19}, 7, 7, {1, 1}, {1, 1}, {2, 4, 3, 1}},
      {"7x7 s1 flat 3 rows", {1, 2, 3, 40}, 7, 7, {1, 1}, {1, 1}, {3, 3, 3, 3}},
      {"7x7 s2 40 wide (generic loop)", {1, 2, 11, 80}, 7, 7, {2, 2}, {1, 1}, {3, 3, 3, 3}},
      {"7x7 s1 dilation 2 (generic loop)", {1, 2, 15, 20}, 7, 7, {1, 1}, {2, 2}, {6, 6, 6, 6}},
      // Generic loop.
      {"3x1 kernel", {1, 2, 7, 6}, 3, 1, {1, 1}, {1, 1}, {1, 0, 1, 0}},
      {"2x2 s2", {1, 3, 8, 9}, 2, 2, {2, 2}, {1, 1}, {0, 0, 1, 1}},
      {"3x3 s3", {1, 2, 10, 10}, 3, 3, {3, 3}, {1, 1}, {1, 1, 1, 1}},
  };
  const float inf = std::numeric_limits<float>::infinity();
  for (const DwCase& c : cases) {
    const int64_t C = c.x[1];
    const Tensor x = rnd(c.x, 3), w = rnd({C, 1, c.kh, c.kw}, 5), b = rnd({C}, 7);
    for (int variant = 0; variant < 3; ++variant) {
      INFO(c.name << " variant " << variant);
      EvalOptions o;
      Tensor y;
      float lo = -inf, hi = inf;
      if (variant == 0) {  // plain Conv, one thread
        o.opset = 11;
        y = eval_single("Conv", {x, w, b}, dw_attrs(c), o)[0];
      } else {  // FusedConv with Clip(0, 0.6) (variant 1) or Relu (variant 2), 3 threads
        Attrs a = dw_attrs(c);
        a.set_string("activation", variant == 1 ? "clip" : "relu");
        a.set_float("clip_min", 0.f);
        a.set_float("clip_max", 0.6f);
        o.domain = "ortkit";
        o.opset = 1;
        o.inputs_constant = true;
        o.threading = test_threads(3);
        y = eval_single("FusedConv", {x, w, b}, a, o)[0];
        lo = 0.f;
        hi = variant == 1 ? 0.6f : inf;
      }
      const Tensor r = ref_depthwise(x, w, b, c, lo, hi);
      REQUIRE(y.shape() == r.shape());
      CHECK(max_abs_diff(y, r) < 1e-5f);
    }
  }
}

TEST_CASE("depthwise Conv: non-clamp activation, NaN and infinity propagate", "[ops][perf]") {
  const DwCase c{"3x3", {1, 2, 6, 6}, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}};
  Tensor x = rnd(c.x, 11);
  const Tensor w = rnd({2, 1, 3, 3}, 12), b = rnd({2}, 13);
  // gelu is not a clamp: it runs as a pass after the plane kernel.
  Attrs a = dw_attrs(c);
  a.set_string("activation", "gelu_erf");
  EvalOptions o;
  o.domain = "ortkit";
  o.opset = 1;
  const Tensor y = eval_single("FusedConv", {x, w, b}, a, o)[0];
  const Tensor r = ref_depthwise(x, w, b, c, -1e30f, 1e30f);
  for (int64_t i = 0; i < y.numel(); ++i) {
    const float v = r.data_as<float>()[i];
    CHECK(y.data_as<float>()[i] == Approx(0.5f * v * (1.f + std::erf(v / std::sqrt(2.f)))).margin(1e-5));
  }
  // A NaN in the input poisons exactly the outputs whose window covers it (padding zeros do not).
  x.data_as<float>()[2 * 6 + 3] = std::nanf("");  // channel 0, (2, 3)
  Attrs rl = dw_attrs(c);
  rl.set_string("activation", "relu");
  const Tensor yn = eval_single("FusedConv", {x, w, b}, rl, o)[0];
  for (int64_t oh = 0; oh < 6; ++oh)
    for (int64_t ow = 0; ow < 6; ++ow) {
      const bool covered = std::abs(oh - 2) <= 1 && std::abs(ow - 3) <= 1;
      CHECK(std::isnan(yn.data_as<float>()[oh * 6 + ow]) == covered);
      CHECK_FALSE(std::isnan(yn.data_as<float>()[36 + oh * 6 + ow]));  // channel 1 untouched
    }
}

TEST_CASE("depthwise Conv: 1-D and 3-D take the generic loop", "[ops][perf]") {
  // 1-D: same as 2-D with H = 1.
  const Tensor x = rnd({1, 3, 11}, 21), w = rnd({3, 1, 3}, 22), b = rnd({3}, 23);
  Attrs a;
  a.set_int("group", 3);
  a.set_ints("pads", {1, 1});
  a.set_ints("strides", {2});
  const Tensor y = eval_single("Conv", {x, w, b}, a, at(11))[0];
  const DwCase c{"1-D", {1, 3, 1, 11}, 1, 3, {1, 2}, {1, 1}, {0, 1, 0, 1}};
  const Tensor r = ref_depthwise(f32({1, 3, 1, 11}, vals<float>(x)), f32({3, 1, 1, 3}, vals<float>(w)), b, c,
                                 -1e30f, 1e30f);
  CHECK(max_abs_diff(y, f32({1, 3, 6}, vals<float>(r))) < 1e-5f);
  // 3-D with a depth-1 kernel equals the 2-D conv of each depth slice.
  const Tensor x3 = rnd({1, 2, 2, 5, 5}, 24), w3 = rnd({2, 1, 1, 3, 3}, 25), b3 = rnd({2}, 26);
  Attrs a3;
  a3.set_int("group", 2);
  a3.set_ints("pads", {0, 1, 1, 0, 1, 1});
  const Tensor y3 = eval_single("Conv", {x3, w3, b3}, a3, at(11))[0];
  REQUIRE(y3.shape() == Shape{1, 2, 2, 5, 5});
  const DwCase c2{"slice", {1, 1, 5, 5}, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}};
  for (int64_t ch = 0; ch < 2; ++ch)
    for (int64_t d = 0; d < 2; ++d) {
      const float* xs = x3.data_as<float>() + (ch * 2 + d) * 25;
      const Tensor r2 = ref_depthwise(f32({1, 1, 5, 5}, std::vector<float>(xs, xs + 25)),
                                      f32({1, 1, 3, 3}, std::vector<float>(w3.data_as<float>() + ch * 9,
                                                                           w3.data_as<float>() + ch * 9 + 9)),
                                      f32({1}, {b3.data_as<float>()[ch]}), c2, -1e30f, 1e30f);
      for (int64_t i = 0; i < 25; ++i)
        CHECK(y3.data_as<float>()[(ch * 2 + d) * 25 + i] == Approx(r2.data_as<float>()[i]).margin(1e-5));
    }
}

TEST_CASE("transpose_2d_b32 handles ragged sizes and strides", "[ops][perf]") {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 1}, {7, 9}, {8, 8}, {33, 65}, {64, 3}, {5, 100}}) {
    INFO(rows << "x" << cols);
    const int64_t lds = cols + 3, ldd = rows + 5;
    std::vector<int32_t> src(static_cast<size_t>(rows * lds)), dst(static_cast<size_t>(cols * ldd), -1);
    for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<int32_t>(i * 7 + 1);
    transpose_2d_b32(src.data(), lds, dst.data(), ldd, rows, cols);
    bool ok = true;
    for (int64_t c = 0; c < cols; ++c)
      for (int64_t r = 0; r < ldd; ++r)
        ok = ok && dst[c * ldd + r] == (r < rows ? src[r * lds + c] : -1);  // padding untouched
    CHECK(ok);
  }
}

TEST_CASE("Transpose [0,2,3,1] and [0,2,1,3] match index arithmetic", "[ops][perf]") {
  const Shape s{2, 37, 5, 9};
  const Tensor x = rnd(s, 31);
  for (const std::vector<int64_t>& perm : {std::vector<int64_t>{0, 2, 3, 1}, {0, 2, 1, 3}, {0, 3, 1, 2}}) {
    Attrs a;
    a.set_ints("perm", perm);
    for (int threads : {1, 3}) {
      EvalOptions o;
      o.threading = test_threads(threads);
      const Tensor y = eval_single("Transpose", {x}, a, o)[0];
      const Shape os{s[perm[0]], s[perm[1]], s[perm[2]], s[perm[3]]};
      REQUIRE(y.shape() == os);
      bool ok = true;
      int64_t idx[4];
      for (idx[0] = 0; idx[0] < os[0]; ++idx[0])
        for (idx[1] = 0; idx[1] < os[1]; ++idx[1])
          for (idx[2] = 0; idx[2] < os[2]; ++idx[2])
            for (idx[3] = 0; idx[3] < os[3]; ++idx[3]) {
              int64_t in[4];
              for (int k = 0; k < 4; ++k) in[perm[k]] = idx[k];
              const float want = x.data_as<float>()[((in[0] * s[1] + in[1]) * s[2] + in[2]) * s[3] + in[3]];
              ok = ok &&
                   y.data_as<float>()[((idx[0] * os[1] + idx[1]) * os[2] + idx[2]) * os[3] + idx[3]] == want;
            }
      CHECK(ok);
    }
  }
}

TEST_CASE("Softmax and LogSoftmax rows around the 16-lane blocks match double math", "[ops][perf]") {
  for (int64_t len : {1, 7, 15, 16, 17, 33, 128, 1000}) {
    const int64_t rows = 3;
    Tensor x = rnd({rows, len}, static_cast<uint32_t>(len));
    for (int64_t i = 0; i < x.numel(); ++i) x.data_as<float>()[i] *= 20.f;  // spread: exp underflows
    for (const char* op : {"Softmax", "LogSoftmax"}) {
      INFO(op << " len " << len);
      const bool lg = op[0] == 'L';
      EvalOptions o;
      o.opset = 13;
      o.threading = test_threads(2);
      const Tensor y = eval_single(op, {x}, {}, o)[0];
      for (int64_t r = 0; r < rows; ++r) {
        const float* xr = x.data_as<float>() + r * len;
        double m = xr[0], s = 0;
        for (int64_t i = 0; i < len; ++i) m = std::max<double>(m, xr[i]);
        for (int64_t i = 0; i < len; ++i) s += std::exp(xr[i] - m);
        for (int64_t i = 0; i < len; ++i) {
          const double want = lg ? xr[i] - m - std::log(s) : std::exp(xr[i] - m) / s;
          CHECK(y.data_as<float>()[r * len + i] == Approx(want).margin(1e-6).epsilon(1e-5));
        }
      }
    }
  }
}

TEST_CASE("Conv 3-D im2col (runs across rows and depth slices) equals sums of 2-D convs", "[ops][perf]") {
  // Y[d] = conv2d(X[d], W[:, :, 0]) + conv2d(X[d + 1], W[:, :, 1]) + B, no depth padding; 2-D spatial pads
  // and stride 2 make rows ragged, and a big enough plane spans several pixel chunks.
  const int64_t C = 3, M = 4, D = 3, H = 9, W = 11;
  const Tensor x = rnd({1, C, D, H, W}, 41), w = rnd({M, C, 2, 3, 3}, 42), b = rnd({M}, 43);
  Attrs a;
  a.set_ints("pads", {0, 1, 2, 0, 0, 1});
  a.set_ints("strides", {1, 2, 1});
  EvalOptions o;
  o.opset = 11;
  o.threading = test_threads(2);
  const Tensor y = eval_single("Conv", {x, w, b}, a, o)[0];
  const int64_t OH = (H + 1 - 3) / 2 + 1, OW = (W + 2 + 1 - 3) + 1;
  REQUIRE(y.shape() == Shape{1, M, D - 1, OH, OW});
  Attrs a2;
  a2.set_ints("pads", {1, 2, 0, 1});
  a2.set_ints("strides", {2, 1});
  for (int64_t d = 0; d + 1 < D; ++d) {
    Tensor acc;
    for (int64_t kd = 0; kd < 2; ++kd) {
      std::vector<float> xs, ws;
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < H * W; ++i) xs.push_back(x.data_as<float>()[(c * D + d + kd) * H * W + i]);
      for (int64_t m = 0; m < M; ++m)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t i = 0; i < 9; ++i) ws.push_back(w.data_as<float>()[((m * C + c) * 2 + kd) * 9 + i]);
      const Tensor y2 = eval_single("Conv", {f32({1, C, H, W}, xs), f32({M, C, 3, 3}, ws)}, a2, at(11))[0];
      REQUIRE(y2.shape() == Shape{1, M, OH, OW});
      if (kd == 0)
        acc = y2;
      else
        for (int64_t i = 0; i < acc.numel(); ++i) acc.data_as<float>()[i] += y2.data_as<float>()[i];
    }
    for (int64_t m = 0; m < M; ++m)
      for (int64_t i = 0; i < OH * OW; ++i)
        CHECK(y.data_as<float>()[((m * (D - 1)) + d) * OH * OW + i] ==
              Approx(acc.data_as<float>()[m * OH * OW + i] + b.data_as<float>()[m]).margin(1e-5));
  }
}

namespace {
// Largest |y - A @ B| over the batch, A @ B summed in double: a [..., m, k], b [..., k, n] or one [k, n]
// shared by every batch, y [..., m, n].
float max_err_vs_double(const Tensor& a, const Tensor& b, const Tensor& y) {
  const Shape &as = a.shape(), &bs = b.shape();
  const int64_t k = as.back(), m = as[as.size() - 2], n = bs.back();
  const int64_t mats = a.numel() / (m * k), b_mats = b.numel() / (k * n);
  REQUIRE(y.numel() == mats * m * n);
  float worst = 0;
  for (int64_t i = 0; i < mats; ++i) {
    const float* pa = a.data_as<float>() + i * m * k;
    const float* pb = b.data_as<float>() + (b_mats == 1 ? 0 : i) * k * n;
    const float* py = y.data_as<float>() + i * m * n;
    for (int64_t r = 0; r < m; ++r)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p) acc += static_cast<double>(pa[r * k + p]) * pb[p * n + j];
        worst = std::max(worst, static_cast<float>(std::fabs(acc - py[r * n + j])));
      }
  }
  return worst;
}
}  // namespace

TEST_CASE("MatMul with a run-time B: in place and packed both match double math", "[ops][perf]") {
  struct Case {
    Shape a, b;
  };
  // Rows, B's size and B's row stride pick in place or packed (MatMul::b_in_place): 1-32 rows always in
  // place, 33-192 unless B passes 512 KiB or its rows are a multiple of 4 KiB apart, packed past that.
  // Widths off the 32-column panels exercise the masked loads of in-place rows.
  const std::vector<Case> cases = {
      {{2, 3, 1, 64}, {2, 3, 64, 1024}},  // decode step: 1 row, rows 4 KiB apart, in place
      {{2, 5, 7}, {2, 7, 37}},            // odd sizes, in place
      {{3, 33, 17}, {3, 17, 45}},         // 33 rows, in place
      {{2, 40, 64}, {2, 64, 1024}},       // 40 rows, rows 4 KiB apart: packed
      {{1, 200, 24}, {1, 24, 50}},        // 200 rows: packed
      {{2, 6, 17}, {17, 31}},             // one B for every batch (folded into M): in place
      {{2, 100, 17}, {17, 1024}},         // folded, 200 rows: packed
      {{12, 48, 160}, {12, 160, 800}},    // B of 500 KiB, in place
      {{2, 48, 200}, {2, 200, 700}},      // B past 512 KiB: packed
  };
  for (const Case& c : cases) {
    INFO("A " << shape_str(c.a) << " @ B " << shape_str(c.b));
    const Tensor a = rnd(c.a, 11), b = rnd(c.b, 12);
    for (int threads : {1, 2}) {
      EvalOptions o;
      o.opset = 13;
      o.threading = test_threads(threads);
      const Tensor y = eval_single("MatMul", {a, b}, {}, o)[0];
      CHECK(max_err_vs_double(a, b, y) < 1e-4f * static_cast<float>(c.a.back()));
    }
  }
}

TEST_CASE("MatMul with a run-time B under bf16 fast math: few rows run fp32 in place", "[ops][perf]") {
  // Up to 4 rows the fp32 kernel reads B as it is (no bf16 rounding at all); more rows round to bf16.
  for (const int64_t m : {1, 3, 4, 5, 40}) {
    INFO("rows " << m);
    const int64_t k = 64, n = 45;
    const Tensor a = rnd({3, m, k}, 21), b = rnd({3, k, n}, 22);
    EvalOptions o;
    o.opset = 13;
    o.precision = Precision::bf16;
    o.threading = test_threads(2);
    const Tensor y = eval_single("MatMul", {a, b}, {}, o)[0];
    const float worst = max_err_vs_double(a, b, y);
    if (m <= 4 || kernels::bf16_fast_math().kind == kernels::GemmKind::f32)
      CHECK(worst < 1e-5f);
    else
      CHECK(worst < 0.1f);  // bf16 operands: ~2^-9 relative per product over 64 terms
  }
}
