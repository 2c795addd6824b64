// Conv against a naive reference over the shapes the GEMM paths distinguish: im2col (pads, strides,
// dilations), pointwise (no im2col), grouped, depthwise (direct loop), 1-D; both GEMM forms (weights as A
// writing NCHW directly, or prepacked weights as B with a transpose, per chunk of pixels or, the wide path,
// one threaded GEMM per image), Winograd F(2x2, 3x3) for 3x3 stride-1 convs, the direct loop for few input
// channels, forced through ORTKIT_CONV_FORM;
// constant (prepacked) and per-run weights; a thread pool; the fused activation forms and the fused
// residual input Z. Pools: a thread-pool smoke test, and MaxPool Indices against a direct walk.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>

#include "ops/eval.h"
#include "ops/registry.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

namespace {

// Naive NCHW conv (2-D): pads {t, l, b, r}.
Tensor ref_conv(const Tensor& x, const Tensor& w, const float* bias, int64_t group, std::array<int64_t, 2> s,
                std::array<int64_t, 2> d, std::array<int64_t, 4> p) {
  const int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  const int64_t M = w.shape()[0], kh = w.shape()[2], kw = w.shape()[3], cg = C / group, mg = M / group;
  const int64_t OH = (H + p[0] + p[2] - ((kh - 1) * d[0] + 1)) / s[0] + 1;
  const int64_t OW = (W + p[1] + p[3] - ((kw - 1) * d[1] + 1)) / s[1] + 1;
  Tensor y(DType::f32, {N, M, OH, OW});
  const float *px = x.data_as<float>(), *pw = w.data_as<float>();
  float* py = y.data_as<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = bias ? bias[m] : 0.0;
          const int64_t g = m / mg;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t ih = oh * s[0] - p[0] + i * d[0], iw = ow * s[1] - p[1] + j * d[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += px[((n * C + g * cg + c) * H + ih) * W + iw] * pw[((m * cg + c) * kh + i) * kw + j];
              }
          py[((n * M + m) * OH + oh) * OW + ow] = static_cast<float>(acc);
        }
  return y;
}

/// Forces the conv GEMM form ("direct", "packed", "wide" or "" for the automatic choice) for one scope.
struct ConvForm {
  explicit ConvForm(const char* f) {
    if (*f)
      ::setenv("ORTKIT_CONV_FORM", f, 1);
    else
      ::unsetenv("ORTKIT_CONV_FORM");
  }
  ~ConvForm() { ::unsetenv("ORTKIT_CONV_FORM"); }
  ConvForm(const ConvForm&) = delete;
  ConvForm& operator=(const ConvForm&) = delete;
};

constexpr const char* kForms[] = {"direct", "packed", "wide", "winograd", "few", ""};

struct Case {
  const char* name;
  Shape x, w;
  int64_t group;
  std::array<int64_t, 2> s, d;
  std::array<int64_t, 4> p;
};

}  // namespace

TEST_CASE("Conv matches a naive reference on every path", "[ops][conv]") {
  const Case cases[] = {
      {"3x3 pad 1", {2, 5, 9, 11}, {7, 5, 3, 3}, 1, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      {"stride 2, dilation 2, asymmetric pads",
       {1, 3, 13, 10},
       {4, 3, 3, 2},
       1,
       {2, 2},
       {2, 2},
       {0, 1, 2, 0}},
      // Output rows as wide as the input's at stride 1: im2col copies each tap's row as one shifted plane.
      {"same width, dilation 2, asymmetric pads",
       {1, 3, 9, 8},
       {5, 3, 3, 3},
       1,
       {1, 1},
       {2, 2},
       {0, 1, 3, 3}},
      {"same width, kernel taller than the input",
       {2, 2, 2, 6},
       {3, 2, 5, 3},
       1,
       {1, 1},
       {1, 1},
       {2, 1, 2, 1}},
      {"pointwise", {2, 16, 7, 7}, {24, 16, 1, 1}, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}},
      {"pointwise strided", {1, 8, 8, 8}, {4, 8, 1, 1}, 1, {2, 2}, {1, 1}, {0, 0, 0, 0}},
      {"grouped", {1, 8, 6, 6}, {6, 4, 3, 3}, 2, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      // The direct form reads a 1x1 conv's input as B in place, group by group (view_b_rows).
      {"grouped pointwise", {2, 8, 6, 7}, {6, 4, 1, 1}, 2, {1, 1}, {1, 1}, {0, 0, 0, 0}},
      // Kg = 1024: the packed-weights forms pad their pixel-major rows off the 4 KiB stride.
      {"pointwise, 1024 channels", {1, 1024, 3, 5}, {9, 1024, 1, 1}, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}},
      {"depthwise", {2, 6, 10, 9}, {6, 1, 3, 3}, 6, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      {"depthwise stride 2", {1, 4, 11, 11}, {4, 1, 5, 5}, 4, {2, 2}, {1, 1}, {2, 2, 2, 2}},
      {"depthwise multiplier 2 (grouped GEMM)", {1, 3, 6, 6}, {6, 1, 3, 3}, 3, {1, 1}, {1, 1}, {0, 0, 0, 0}},
      {"big (many chunks)", {1, 3, 64, 64}, {8, 3, 3, 3}, 1, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      // 126 pixels on 4 threads make 3 chunks of 42 with 14-row tiles (AVX-512): the automatic form is wide.
      {"14x9 pixels, 40 channels", {1, 40, 14, 9}, {24, 40, 3, 3}, 1, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      // One image of 224 pixels on 4 threads: one 56-row chunk per thread (the automatic form).
      {"one image, a chunk per thread", {1, 8, 14, 16}, {12, 8, 3, 3}, 1, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      // Few input channels (conv_few_channels.h): 71 outputs a row are 48 + 16 + a partial 7, 20 output
      // channels two 8-channel blocks and 4 rows of a third.
      {"few channels, 7x7 stride 2", {1, 3, 9, 141}, {20, 3, 7, 7}, 1, {2, 2}, {1, 1}, {3, 3, 3, 3}},
      {"few channels, stride 3 (three phases), asymmetric pads",
       {2, 4, 11, 200},
       {5, 4, 2, 3},
       1,
       {3, 3},
       {1, 1},
       {1, 0, 0, 2}},
      {"few channels, one, dilation 2", {2, 1, 7, 70}, {9, 1, 5, 5}, 1, {1, 1}, {2, 2}, {0, 2, 3, 1}},
      // Strided windows: the direct form reads phase planes (PhaseGeo), on a virtual grid wider than the
      // output where a tap spans more than its stride.
      {"grouped, stride 2", {2, 8, 9, 11}, {6, 4, 3, 3}, 2, {2, 2}, {1, 1}, {1, 1, 1, 1}},
      // Groups of at most 16 output channels take the phase planes at stride 1 too (one phase: the padded
      // plane), so the grid is wider than the output by the kernel's reach.
      {"group width 16, 5 groups", {1, 80, 7, 9}, {80, 16, 3, 3}, 5, {1, 1}, {1, 1}, {1, 1, 1, 1}},
      {"narrow groups, asymmetric pads, 1x3", {2, 12, 6, 13}, {9, 4, 1, 3}, 3, {1, 1}, {1, 1}, {0, 2, 1, 0}},
      {"narrow groups, dilation 2", {1, 8, 11, 10}, {8, 2, 3, 3}, 4, {1, 1}, {2, 2}, {2, 1, 2, 3}},
      {"narrow groups, no padding, 5x3", {1, 6, 9, 8}, {12, 3, 5, 3}, 2, {1, 1}, {1, 1}, {0, 0, 0, 0}},
      {"narrow groups, stride (2, 1)", {1, 8, 10, 9}, {16, 4, 3, 3}, 2, {2, 1}, {1, 1}, {1, 1, 1, 1}},
      {"patchify 2x2 stride 2 (the grid is the output)",
       {1, 5, 8, 10},
       {7, 5, 2, 2},
       1,
       {2, 2},
       {1, 1},
       {0, 0, 0, 0}},
      {"strides (1, 2)", {1, 3, 7, 12}, {4, 3, 3, 3}, 1, {1, 2}, {1, 1}, {1, 2, 0, 1}},
  };
  for (const char* form : kForms)
    for (const Case& c : cases) {
      const ConvForm forced(form);
      for (int variant = 0; variant < 3; ++variant) {
        INFO(c.name << " form '" << form << "'"
                    << (variant == 2   ? " (constant weights, per-run bias)"
                        : variant == 1 ? " (constant weights and bias, 4 threads)"
                                       : " (per-run weights)"));
        const Tensor x = rnd(c.x, 3), w = rnd(c.w, 5), b = rnd({c.w[0]}, 7);
        Attrs a;
        a.set_int("group", c.group);
        a.set_ints("strides", {c.s[0], c.s[1]});
        a.set_ints("dilations", {c.d[0], c.d[1]});
        a.set_ints("pads", {c.p[0], c.p[1], c.p[2], c.p[3]});
        EvalOptions o;
        o.opset = 11;
        if (variant == 1) {
          o.inputs_constant = true;
          o.threading = test_threads(4);
        }
        if (variant == 2) o.constant_inputs = {1};
        const Tensor y = eval_single("Conv", {x, w, b}, a, o)[0];
        const Tensor r = ref_conv(x, w, b.data_as<float>(), c.group, c.s, c.d, c.p);
        CHECK(max_abs_diff(y, r) < 1e-4f);
      }
    }
}

TEST_CASE("Winograd F(2x2, 3x3) convs stay within a few ulp of the exact sum", "[ops][conv]") {
  // Odd output sizes (a last tile row and column half outside), asymmetric pads, chunks that end
  // mid-row (ORTKIT_WINOGRAD_TILES) and more chunks than threads; Z and an activation in the output
  // transform. The bound is relative to the sum of |x * w| terms, as a reordered fp32 sum would be.
  struct WCase {
    const char* name;
    Shape x, w;
    std::array<int64_t, 4> p;
    const char* tiles;
  };
  const WCase cases[] = {
      {"56x56-like, 32 -> 24 channels", {1, 32, 17, 19}, {24, 32, 3, 3}, {1, 1, 1, 1}, ""},
      {"asymmetric pads, chunks of 7 tiles", {2, 20, 13, 10}, {18, 20, 3, 3}, {0, 2, 1, 0}, "7"},
      {"no pads, chunks of 33 tiles", {1, 17, 21, 21}, {16, 17, 3, 3}, {0, 0, 0, 0}, "33"},
  };
  const ConvForm forced("winograd");
  for (const WCase& c : cases)
    for (int variant = 0; variant < 3; ++variant) {
      INFO(c.name << " variant " << variant);
      if (*c.tiles) ::setenv("ORTKIT_WINOGRAD_TILES", c.tiles, 1);
      const Tensor x = rnd(c.x, 41), w = rnd(c.w, 42), b = rnd({c.w[0]}, 43);
      const Tensor r = ref_conv(x, w, b.data_as<float>(), 1, {1, 1}, {1, 1}, c.p);
      const Tensor z = rnd(r.shape(), 44);
      Attrs a;
      a.set_ints("pads", {c.p[0], c.p[1], c.p[2], c.p[3]});
      EvalOptions o;
      o.constant_inputs = {1, 2};
      if (variant > 0) o.threading = test_threads(variant == 1 ? 2 : 3);
      Tensor y;
      if (variant == 2) {
        a.set_string("activation", "relu");
        o.domain = "ortkit";
        o.opset = 1;
        y = eval_single("FusedConv", {x, w, b, z}, a, o)[0];
      } else {
        o.opset = 11;
        y = eval_single("Conv", {x, w, b}, a, o)[0];
      }
      ::unsetenv("ORTKIT_WINOGRAD_TILES");
      REQUIRE(y.shape() == r.shape());
      // Each output sums Cin * 9 products of values in [-1, 1).
      const float scale = static_cast<float>(c.w[1] * 9);
      const float *py = y.data_as<float>(), *pr = r.data_as<float>(), *pz = z.data_as<float>();
      float worst = 0.f;
      for (int64_t i = 0; i < y.numel(); ++i) {
        const float want = variant == 2 ? std::max(pr[i] + pz[i], 0.f) : pr[i];
        worst = std::max(worst, std::fabs(py[i] - want));
      }
      CHECK(worst < 8e-7f * scale);
    }
}

TEST_CASE("Conv 1-D, auto_pad SAME_UPPER and errors", "[ops][conv]") {
  // 1-D: same as 2-D with H = 1.
  const Tensor x = rnd({1, 2, 9}, 1), w = rnd({3, 2, 4}, 2);
  Attrs a;
  a.set_string("auto_pad", "SAME_UPPER");
  const Tensor y = eval_single("Conv", {x, w}, a)[0];
  REQUIRE(y.shape() == Shape{1, 3, 9});
  // SAME_UPPER with k=4: total pad 3, 1 at the start, 2 at the end.
  const Tensor x2 = f32({1, 2, 1, 9}, vals<float>(x)), w2 = f32({3, 2, 1, 4}, vals<float>(w));
  const Tensor r = ref_conv(x2, w2, nullptr, 1, {1, 1}, {1, 1}, {0, 1, 0, 2});
  CHECK(max_abs_diff(y, f32({1, 3, 9}, vals<float>(r))) < 1e-5f);
  CHECK_THROWS_AS(eval_single("Conv", {rnd({1, 3, 5, 5}), rnd({2, 2, 3, 3})}), Error);  // channels mismatch
  CHECK_THROWS_AS(eval_single("Conv", {rnd({1, 2, 2, 2}), rnd({2, 2, 3, 3})}), Error);  // kernel > input
}

TEST_CASE("Conv with few input channels: 1-D, long rows, activations, Z and NaN", "[ops][conv]") {
  const ConvForm forced("few");
  // 1-D, 1 -> 12, k 17, stride 2: 1097 outputs are three 512-column tasks (the last partial).
  const Tensor x = rnd({2, 1, 2200}, 41), w = rnd({12, 1, 17}, 42), b = rnd({12}, 43);
  Attrs a;
  a.set_ints("strides", {2});
  a.set_ints("pads", {4, 5});
  for (int threads : {1, 3}) {
    INFO("threads " << threads);
    EvalOptions o;
    o.constant_inputs = {1, 2};
    o.threading = test_threads(threads);
    const Tensor y = eval_single("Conv", {x, w, b}, a, o)[0];
    REQUIRE(y.shape() == Shape{2, 12, 1097});
    const Tensor r = ref_conv(f32({2, 1, 1, 2200}, vals<float>(x)), f32({12, 1, 1, 17}, vals<float>(w)),
                              b.data_as<float>(), 1, {1, 2}, {1, 1}, {0, 4, 0, 5});
    CHECK(max_abs_diff(y, f32({2, 12, 1097}, vals<float>(r))) < 1e-4f);
  }
  // 2-D with Z and each activation: relu and clip in the store, gelu as a pass after it.
  Tensor x2 = rnd({1, 3, 5, 66}, 44);
  const Tensor w2 = rnd({11, 3, 3, 3}, 45), b2 = rnd({11}, 46), z2 = rnd({1, 11, 5, 66}, 47);
  Attrs p;
  p.set_ints("pads", {1, 1, 1, 1});
  const Tensor conv = ref_conv(x2, w2, b2.data_as<float>(), 1, {1, 1}, {1, 1}, {1, 1, 1, 1});
  EvalOptions of;
  of.domain = "ortkit";
  of.opset = 1;
  for (const char* act : {"relu", "clip", "gelu_erf", "none"}) {
    INFO(act);
    Attrs f = p;
    f.set_string("activation", act);
    f.set_float("clip_min", -0.25f);
    f.set_float("clip_max", 0.5f);
    const Tensor y = eval_single("FusedConv", {x2, w2, b2, z2}, f, of)[0];
    float worst = 0.f;
    for (int64_t i = 0; i < y.numel(); ++i) {
      const float v = conv.data_as<float>()[i] + z2.data_as<float>()[i];
      const float want = std::string(act) == "relu"   ? std::max(v, 0.f)
                         : std::string(act) == "clip" ? std::clamp(v, -0.25f, 0.5f)
                         : std::string(act) == "none" ? v
                                                      : 0.5f * v * (1.f + std::erf(v / std::sqrt(2.f)));
      worst = std::max(worst, std::fabs(y.data_as<float>()[i] - want));
    }
    CHECK(worst < 1e-4f);
  }
  // A NaN input reaches exactly the outputs whose window covers it; relu sends it to 0 (as the GEMM
  // epilogue does), clip keeps it.
  x2.data_as<float>()[2 * 66 + 40] = std::nanf("");  // channel 0, (2, 40)
  for (const char* act : {"relu", "clip"}) {
    Attrs f = p;
    f.set_string("activation", act);
    f.set_float("clip_min", -1.f);
    f.set_float("clip_max", 1.f);
    const Tensor y = eval_single("FusedConv", {x2, w2, b2}, f, of)[0];
    for (int64_t m = 0; m < 11; ++m)
      for (int64_t oh = 0; oh < 5; ++oh)
        for (int64_t ow = 0; ow < 66; ++ow) {
          const bool covered = std::abs(oh - 2) <= 1 && std::abs(ow - 40) <= 1;
          const float v = y.data_as<float>()[(m * 5 + oh) * 66 + ow];
          CHECK(std::isnan(v) == (covered && std::string(act) == "clip"));
          if (covered && std::string(act) == "relu") CHECK(v == 0.f);
        }
  }
}

TEST_CASE("Conv forms agree with the reference over random windows", "[ops][conv]") {
  // Strides past the kernel, dilations with strides, pads past the kernel, asymmetric pads, 1-row
  // outputs: the few-channel loop's and the phase planes' geometry (forced where they apply).
  std::mt19937 rng(20261124);
  auto pick = [&](int lo, int hi) {
    return static_cast<int64_t>(std::uniform_int_distribution<int>(lo, hi)(rng));
  };
  for (int trial = 0; trial < 60; ++trial) {
    const int64_t cin = trial % 3 == 0 ? pick(5, 9) : pick(1, 4), cout = pick(1, 19);
    const int64_t kh = pick(1, 5), kw = pick(1, 5);
    const std::array<int64_t, 2> st{pick(1, 4), pick(1, 4)}, dl{pick(1, 3), pick(1, 3)};
    const std::array<int64_t, 4> pd{pick(0, 3), pick(0, 3), pick(0, 3), pick(0, 3)};
    const int64_t ekh = (kh - 1) * dl[0] + 1, ekw = (kw - 1) * dl[1] + 1;
    const int64_t H = std::max<int64_t>(pick(1, 20), ekh - pd[0] - pd[2]);
    const int64_t W = std::max<int64_t>(pick(12, 90), ekw - pd[1] - pd[3]);
    const Tensor x = rnd({pick(1, 2), cin, H, W}, 60 + trial), w = rnd({cout, cin, kh, kw}, 61 + trial),
                 b = rnd({cout}, 62 + trial);
    Attrs a;
    a.set_ints("strides", {st[0], st[1]});
    a.set_ints("dilations", {dl[0], dl[1]});
    a.set_ints("pads", {pd[0], pd[1], pd[2], pd[3]});
    const Tensor r = ref_conv(x, w, b.data_as<float>(), 1, st, dl, pd);
    for (const char* form : {"few", "direct", ""}) {
      const ConvForm forced(form);
      INFO("trial " << trial << " form '" << form << "' x " << shape_str(x.shape()) << " w "
                    << shape_str(w.shape()) << " strides " << st[0] << "," << st[1] << " dilations " << dl[0]
                    << "," << dl[1] << " pads " << pd[0] << "," << pd[1] << "," << pd[2] << "," << pd[3]);
      EvalOptions o;
      o.constant_inputs = {1, 2};
      o.threading = test_threads(trial % 2 ? 3 : 1);
      const Tensor y = eval_single("Conv", {x, w, b}, a, o)[0];
      REQUIRE(y.shape() == r.shape());
      CHECK(max_abs_diff(y, r) < 1e-4f);
    }
  }
}

TEST_CASE("strided FusedConv with Z on the phase-plane path", "[ops][conv]") {
  const ConvForm forced("direct");
  // 3x3 stride 2 (virtual grid one column wider than the output) and 1x1 stride 2 (the plane read in place).
  for (const int64_t k : {int64_t{3}, int64_t{1}})
    for (int variant = 0; variant < 2; ++variant) {
      INFO("kernel " << k << " variant " << variant);
      const int64_t p = k / 2, OH = (13 + 2 * p - k) / 2 + 1, OW = (17 + 2 * p - k) / 2 + 1;
      const Tensor x = rnd({2, 6, 13, 17}, 51), w = rnd({10, 6, k, k}, 52), b = rnd({10}, 53),
                   z = rnd({2, 10, OH, OW}, 54);
      Attrs a;
      a.set_ints("strides", {2, 2});
      a.set_ints("pads", {p, p, p, p});
      a.set_string("activation", "relu");
      EvalOptions o;
      o.domain = "ortkit";
      o.opset = 1;
      if (variant == 1) {
        o.constant_inputs = {1, 2};
        o.threading = test_threads(3);
      }
      const Tensor y = eval_single("FusedConv", {x, w, b, z}, a, o)[0];
      const Tensor r = ref_conv(x, w, b.data_as<float>(), 1, {2, 2}, {1, 1}, {p, p, p, p});
      REQUIRE(y.shape() == r.shape());
      float worst = 0.f;
      for (int64_t i = 0; i < y.numel(); ++i)
        worst = std::max(worst, std::fabs(y.data_as<float>()[i] -
                                          std::max(r.data_as<float>()[i] + z.data_as<float>()[i], 0.f)));
      CHECK(worst < 1e-4f);
    }
}

TEST_CASE("FusedConv applies the activation in the epilogue", "[ops][conv]") {
  const Tensor x = rnd({1, 4, 6, 6}, 11), w = rnd({5, 4, 3, 3}, 12), b = rnd({5}, 13);
  const Tensor plain = eval_single("Conv", {x, w, b})[0];
  Attrs a;
  a.set_string("activation", "clip");
  a.set_float("clip_min", 0.f);
  a.set_float("clip_max", 0.5f);
  EvalOptions o;
  o.domain = "ortkit";
  o.opset = 1;
  const Tensor y = eval_single("FusedConv", {x, w, b}, a, o)[0];
  for (int64_t i = 0; i < y.numel(); ++i)
    CHECK(y.data_as<float>()[i] == Approx(std::clamp(plain.data_as<float>()[i], 0.f, 0.5f)).margin(1e-6));
  // com.microsoft form, and the depthwise path with relu.
  Attrs ms;
  ms.set_string("activation", "Relu");
  ms.set_int("group", 4);
  const Tensor wd = rnd({4, 1, 3, 3}, 14);
  Attrs g;
  g.set_int("group", 4);
  const Tensor pd = eval_single("Conv", {x, wd}, g)[0];
  EvalOptions om;
  om.domain = "com.microsoft";
  om.opset = 1;
  const Tensor yd = eval_single("FusedConv", {x, wd}, ms, om)[0];
  for (int64_t i = 0; i < yd.numel(); ++i)
    CHECK(yd.data_as<float>()[i] == std::max(pd.data_as<float>()[i], 0.f));
}

TEST_CASE("FusedConv adds Z before the activation (the residual join)", "[ops][conv]") {
  struct ZCase {
    const char* name;
    Shape x, w, z;
    int64_t group;
  };
  const ZCase cases[] = {
      {"3x3, Z of Y's shape", {2, 6, 9, 9}, {8, 6, 3, 3}, {2, 8, 9, 9}, 1},
      {"pointwise, Z of Y's shape", {1, 16, 30, 30}, {12, 16, 1, 1}, {1, 12, 30, 30}, 1},
      {"grouped", {1, 6, 7, 7}, {4, 3, 3, 3}, {1, 4, 7, 7}, 2},
      {"depthwise", {1, 5, 8, 8}, {5, 1, 3, 3}, {1, 5, 8, 8}, 5},
      {"Z per channel (broadcast)", {2, 6, 9, 9}, {8, 6, 3, 3}, {1, 8, 1, 1}, 1},
      {"Z widens the batch (broadcast)", {1, 6, 9, 9}, {8, 6, 3, 3}, {3, 8, 9, 9}, 1},
  };
  for (const char* form : kForms)
    for (const ZCase& c : cases)
      for (int variant = 0; variant < 3; ++variant) {
        const ConvForm forced(form);
        INFO(c.name << " form '" << form << "' variant " << variant);
        const Tensor x = rnd(c.x, 31), w = rnd(c.w, 32), b = rnd({c.w[0]}, 33), z = rnd(c.z, 34);
        const bool bias = variant != 2;
        Attrs a;
        a.set_int("group", c.group);
        a.set_ints("pads", {1, 1, 1, 1});
        if (c.w[2] == 1) a.set_ints("pads", {0, 0, 0, 0});
        const Tensor conv =
            ref_conv(x, w, bias ? b.data_as<float>() : nullptr, c.group, {1, 1}, {1, 1},
                     c.w[2] == 1 ? std::array<int64_t, 4>{0, 0, 0, 0} : std::array<int64_t, 4>{1, 1, 1, 1});
        Attrs f = a;
        f.set_string("activation", "relu");
        EvalOptions o;
        o.domain = "ortkit";
        o.opset = 1;
        if (variant == 1) {
          o.constant_inputs = {1, 2};  // the weights and bias fold into one A
          o.threading = test_threads(2);
        }
        const Tensor y = eval_single("FusedConv", {x, w, bias ? b : Tensor(), z}, f, o)[0];
        // Expected: relu(conv + z) under numpy broadcasting (both operands rank 4).
        Shape ys(4);
        for (int d = 0; d < 4; ++d) ys[d] = std::max(conv.shape()[d], c.z[d]);
        REQUIRE(y.shape() == ys);
        const float *pc = conv.data_as<float>(), *pz = z.data_as<float>(), *py = y.data_as<float>();
        float worst = 0.f;
        for (int64_t i = 0; i < y.numel(); ++i) {
          int64_t rem = i, oc = 0, oz = 0, sc = 1, sz = 1;
          for (int d = 3; d >= 0; --d) {
            const int64_t idx = rem % ys[d];
            rem /= ys[d];
            if (conv.shape()[d] > 1) oc += idx * sc;
            if (c.z[d] > 1) oz += idx * sz;
            sc *= conv.shape()[d];
            sz *= c.z[d];
          }
          worst = std::max(worst, std::fabs(py[i] - std::max(pc[oc] + pz[oz], 0.f)));
        }
        CHECK(worst < 1e-4f);
      }
}

TEST_CASE("com.microsoft.FusedConv takes Z of Y's shape only", "[ops][conv]") {
  const Tensor x = rnd({1, 4, 6, 6}, 41), w = rnd({5, 4, 3, 3}, 42), b = rnd({5}, 43),
               z = rnd({1, 5, 4, 4}, 44);
  EvalOptions om;
  om.domain = "com.microsoft";
  om.opset = 1;
  Attrs ms;
  ms.set_string("activation", "Relu");
  const Tensor plain = eval_single("Conv", {x, w, b})[0];
  const Tensor y = eval_single("FusedConv", {x, w, b, z}, ms, om)[0];
  for (int64_t i = 0; i < y.numel(); ++i)
    CHECK(y.data_as<float>()[i] ==
          Approx(std::max(plain.data_as<float>()[i] + z.data_as<float>()[i], 0.f)).margin(1e-5));
  CHECK_THROWS_WITH(eval_single("FusedConv", {x, w, b, rnd({1, 5, 1, 1}, 45)}, ms, om),
                    Catch::Contains("must have the output's shape"));
}

TEST_CASE("FusedConv with Z under bf16 precision stays close to fp32", "[ops][conv]") {
  const Tensor x = rnd({1, 8, 8, 8}, 51), w = rnd({8, 8, 3, 3}, 52), z = rnd({1, 8, 8, 8}, 53);
  Attrs f;
  f.set_string("activation", "relu");
  f.set_ints("pads", {1, 1, 1, 1});
  EvalOptions o;
  o.domain = "ortkit";
  o.opset = 1;
  const Tensor y32 = eval_single("FusedConv", {x, w, Tensor(), z}, f, o)[0];
  o.precision = Precision::bf16;
  o.inputs_constant = true;
  const Tensor y16 = eval_single("FusedConv", {x, w, Tensor(), z}, f, o)[0];
  CHECK(max_abs_diff(y32, y16) < 0.1f);
}

TEST_CASE("Conv under bf16 precision stays close to fp32", "[ops][conv]") {
  const Tensor x = rnd({1, 8, 8, 8}, 21), w = rnd({8, 8, 3, 3}, 22);
  const Tensor y32 = eval_single("Conv", {x, w})[0];
  EvalOptions o;
  o.precision = Precision::bf16;
  o.inputs_constant = true;
  const Tensor y16 = eval_single("Conv", {x, w}, {}, o)[0];
  CHECK(max_abs_diff(y32, y16) < 0.1f);
}

TEST_CASE("pools agree with and without a thread pool", "[ops][pool]") {
  const Tensor x = rnd({2, 3, 17, 15}, 31);
  for (const char* op : {"MaxPool", "AveragePool"}) {
    Attrs a;
    a.set_ints("kernel_shape", {3, 3});
    a.set_ints("strides", {2, 2});
    a.set_ints("pads", {1, 1, 1, 1});
    a.set_int("ceil_mode", 1);
    EvalOptions o;
    o.opset = 12;
    const Tensor y1 = eval_single(op, {x}, a, o)[0];
    o.threading = test_threads(3);
    const Tensor y2 = eval_single(op, {x}, a, o)[0];
    CHECK(y1.shape() == Shape{2, 3, 9, 8});
    CHECK(max_abs_diff(y1, y2) == 0.f);
  }
  const Tensor g = eval_single("GlobalAveragePool", {f32({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8})})[0];
  CHECK(vals<float>(g) == std::vector<float>{2.5f, 6.5f});
}

TEST_CASE("AveragePool with dilations, with and without counting the padding", "[ops][pool]") {
  // The ONNX example: 4x4, kernel 2, dilation 2, ceil_mode: each output averages a 2x2 grid of stride 2.
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i + 1);
  Attrs a;
  a.set_ints("kernel_shape", {2, 2});
  a.set_ints("dilations", {2, 2});
  a.set_int("ceil_mode", 1);
  const Tensor y = eval_single("AveragePool", {f32({1, 1, 4, 4}, v)}, a, at(19))[0];
  CHECK(y.shape() == Shape{1, 1, 2, 2});
  CHECK(vals<float>(y) == std::vector<float>{6, 7, 10, 11});
  // 1-D, pads 1: windows {s, s + 2} for s = -1..3; padding counts only with count_include_pad.
  Attrs p;
  p.set_ints("kernel_shape", {2});
  p.set_ints("dilations", {2});
  p.set_ints("pads", {1, 1});
  const Tensor x = f32({1, 1, 5}, {1, 2, 3, 4, 5});
  CHECK(vals<float>(eval_single("AveragePool", {x}, p, at(19))[0]) == std::vector<float>{2, 2, 3, 4, 4});
  p.set_int("count_include_pad", 1);
  CHECK(vals<float>(eval_single("AveragePool", {x}, p, at(19))[0]) == std::vector<float>{1, 2, 3, 4, 2});
}

TEST_CASE("MaxPool Indices: flat over N, C and the spatial dims, row- or column-major", "[ops][pool]") {
  // A direct walk of every window (the ONNX reference's order: first strict maximum wins), against the
  // kernel, for 1-3 spatial dims with padding, strides, dilations and ceil_mode.
  struct Case {
    Shape x;
    std::vector<int64_t> k, s, d, pads;
    int ceil;
  };
  const Case cases[] = {
      {{2, 3, 7}, {3}, {2}, {1}, {1, 1}, 0},
      {{2, 3, 7, 6}, {3, 2}, {2, 1}, {1, 2}, {1, 0, 1, 1}, 1},
      {{1, 2, 5, 4, 6}, {2, 3, 2}, {2, 1, 2}, {1, 1, 2}, {0, 1, 1, 1, 0, 0}, 0},
  };
  for (const Case& c : cases)
    for (int order : {0, 1}) {
      // Repeated values make ties, which must resolve to the first tap in window order.
      Tensor x = rnd(c.x, 41);
      for (int64_t i = 0; i < x.numel(); ++i) x.data_as<float>()[i] = std::round(x.data_as<float>()[i] * 3.f);
      Attrs a;
      a.set_ints("kernel_shape", c.k);
      a.set_ints("strides", c.s);
      a.set_ints("dilations", c.d);
      a.set_ints("pads", c.pads);
      a.set_int("ceil_mode", c.ceil);
      a.set_int("storage_order", order);
      EvalOptions o;
      o.opset = 12;
      o.num_outputs = 2;
      const auto out = eval_single("MaxPool", {x}, a, o);
      const Tensor& y = out[0];
      const Tensor& ind = out[1];
      REQUIRE(ind.dtype() == DType::i64);
      REQUIRE(ind.shape() == y.shape());
      const Shape& ys = y.shape();
      const size_t nd = c.x.size() - 2;
      Shape in(c.x.begin() + 2, c.x.end()), os(ys.begin() + 2, ys.end());
      int64_t plane = 1, oplane = 1;
      for (size_t j = 0; j < nd; ++j) plane *= in[j], oplane *= os[j];
      for (int64_t p = 0; p < c.x[0] * c.x[1]; ++p)
        for (int64_t oi = 0; oi < oplane; ++oi) {
          std::vector<int64_t> oc(nd);
          for (int64_t r = oi, j = static_cast<int64_t>(nd) - 1; j >= 0; --j) oc[j] = r % os[j], r /= os[j];
          float best = 0;
          int64_t where = -1;
          for (int64_t t = 0; t < c.k[0] * (nd > 1 ? c.k[1] : 1) * (nd > 2 ? c.k[2] : 1); ++t) {
            std::vector<int64_t> kc(nd), ic(nd);
            bool inside = true;
            for (int64_t r = t, j = static_cast<int64_t>(nd) - 1; j >= 0; --j)
              kc[j] = r % c.k[j], r /= c.k[j];
            int64_t row = 0, col = 0, mul = 1;
            for (size_t j = 0; j < nd; ++j) {
              ic[j] = oc[j] * c.s[j] - c.pads[j] + kc[j] * c.d[j];
              inside = inside && ic[j] >= 0 && ic[j] < in[j];
              row = row * in[j] + ic[j];
              col += ic[j] * mul;
              mul *= in[j];
            }
            if (!inside) continue;
            const float v = x.data_as<float>()[p * plane + row];
            if (where < 0 || v > best) best = v, where = p * plane + (order ? col : row);
          }
          INFO("rank " << c.x.size() << " order " << order << " plane " << p << " output " << oi);
          CHECK(y.data_as<float>()[p * oplane + oi] == best);
          CHECK(ind.data_as<int64_t>()[p * oplane + oi] == where);
        }
    }
  // A window entirely in the padding has no maximum: -inf for float, the type's lowest for integers.
  Attrs far;
  far.set_ints("kernel_shape", {1, 1});
  far.set_ints("pads", {1, 1, 1, 1});
  const Tensor u = make<uint8_t>(DType::u8, {1, 1, 1, 1}, {7});
  CHECK(vals<uint8_t>(eval_single("MaxPool", {u}, far)[0]) ==
        std::vector<uint8_t>{0, 0, 0, 0, 7, 0, 0, 0, 0});
  CHECK(std::isinf(eval_single("MaxPool", {f32({1, 1, 1, 1}, {7})}, far)[0].data_as<float>()[0]));
  // storage_order is 0 or 1.
  Attrs bad;
  bad.set_ints("kernel_shape", {2, 2});
  bad.set_int("storage_order", 2);
  EvalOptions o;
  o.num_outputs = 2;
  CHECK_THROWS_WITH(eval_single("MaxPool", {rnd({1, 1, 4, 4})}, bad, o), Catch::Contains("storage_order"));
}

TEST_CASE("float MaxPool row path equals the window walk over a geometry sweep", "[ops][pool]") {
  // Without Indices, 1-D and 2-D float MaxPool runs output row by output row (max_rows); with Indices it
  // walks each window. Their maxima must be identical, -inf taps and all-padding windows included. (A NaN
  // tap never wins without Indices, as before the row path; the Indices walk keeps a NaN first tap.)
  int cases = 0;
  // 17 and 40: rows of whole 16-column vectors with a last one overlapping, in the column maxima and in the
  // output (stride 1 and 2); the shorter ones take the scalar loops, or at stride 1 the whole-plane path.
  for (int64_t n : {1, 2, 5, 9, 17, 40})
    for (int64_t k : {1, 2, 3, 4})
      for (int64_t s : {1, 2, 3})
        for (int64_t d : {1, 2})
          for (int64_t p : {0, 1, 2})
            for (int ceil : {0, 1}) {
              if (p >= k || (k - 1) * d + 1 > n + 2 * p) continue;  // pads below the kernel, a window fits
              for (int form : {0, 1, 2}) {  // 1-D; 2-D with strides (s, 1 + s % 2); 2-D with (s, s)
                const bool two_d = form > 0;
                const Shape xs = two_d ? Shape{1, 2, n, n + 2} : Shape{2, 1, n};
                Tensor x = rnd(xs, 7 + n + k);
                float* v = x.data_as<float>();
                v[0] = -INFINITY;
                Attrs a;
                if (two_d && (k - 1) * d + 1 > n + 2 + p) continue;
                a.set_ints("kernel_shape", two_d ? std::vector<int64_t>{k, k} : std::vector<int64_t>{k});
                a.set_ints("strides", form == 2 ? std::vector<int64_t>{s, s}
                                      : two_d   ? std::vector<int64_t>{s, 1 + s % 2}
                                                : std::vector<int64_t>{s});
                a.set_ints("dilations", two_d ? std::vector<int64_t>{d, d} : std::vector<int64_t>{d});
                a.set_ints("pads", two_d ? std::vector<int64_t>{p, 0, p, p} : std::vector<int64_t>{p, p});
                a.set_int("ceil_mode", ceil);
                EvalOptions o;
                o.opset = 12;
                const Tensor fast = eval_single("MaxPool", {x}, a, o)[0];
                o.num_outputs = 2;
                const Tensor walk = eval_single("MaxPool", {x}, a, o)[0];
                REQUIRE(fast.shape() == walk.shape());
                for (int64_t i = 0; i < fast.numel(); ++i) {
                  const float f = fast.data_as<float>()[i], w = walk.data_as<float>()[i];
                  INFO("n " << n << " k " << k << " s " << s << " d " << d << " p " << p << " ceil " << ceil
                            << " form " << form << " element " << i);
                  REQUIRE(f == w);
                }
                ++cases;
              }
            }
  CHECK(cases > 300);
  Attrs a;
  a.set_ints("kernel_shape", {2});
  const Tensor y = eval_single("MaxPool", {f32({1, 1, 4}, {NAN, NAN, 1.f, NAN})}, a, at(12))[0];
  CHECK(vals<float>(y) == std::vector<float>{-INFINITY, 1.f, 1.f});
  // The same over 40-wide rows, stride 2 and pad 1 (ResNet's pool): NaN taps never win.
  std::vector<float> row(40);
  for (size_t i = 0; i < row.size(); ++i) row[i] = i % 3 == 0 ? NAN : static_cast<float>(i);
  Attrs a2;
  a2.set_ints("kernel_shape", {3});
  a2.set_ints("strides", {2});
  a2.set_ints("pads", {1, 1});
  const Tensor y2 = eval_single("MaxPool", {f32({1, 1, 40}, row)}, a2, at(12))[0];
  std::vector<float> want(20);
  for (size_t o = 0; o < want.size(); ++o) {
    float m = -INFINITY;
    for (int64_t t = -1; t <= 1; ++t) {
      const int64_t i = 2 * static_cast<int64_t>(o) + t;
      if (i >= 0 && i < 40 && i % 3 != 0) m = std::max(m, static_cast<float>(i));
    }
    want[o] = m;
  }
  CHECK(vals<float>(y2) == want);
}

TEST_CASE("float AveragePool whole-plane path equals a naive average over a geometry sweep", "[ops][pool]") {
  // 1-D and 2-D, strides 1 to 3 (the whole-plane grid) and 4 (the window walk), dilations, pads, ceil_mode
  // windows overhanging the padding, with and without counting the padding.
  int cases = 0;
  for (int64_t n : {1, 4, 7, 17, 30})
    for (int64_t k : {1, 2, 3})
      for (int64_t s : {1, 2, 3, 4})
        for (int64_t d : {1, 2})
          for (int64_t p : {0, 1})
            for (int ceil : {0, 1})
              for (int inc : {0, 1})
                for (bool two_d : {false, true}) {
                  if (p >= k || (k - 1) * d + 1 > n + p) continue;  // pads on one side only
                  const Shape xs = two_d ? Shape{2, 3, n, n + 3} : Shape{2, 2, n};
                  const Tensor x = rnd(xs, 11 + n + k);
                  Attrs a;
                  a.set_ints("kernel_shape", two_d ? std::vector<int64_t>{k, k} : std::vector<int64_t>{k});
                  a.set_ints("strides", two_d ? std::vector<int64_t>{s, 1 + s % 3} : std::vector<int64_t>{s});
                  a.set_ints("dilations", two_d ? std::vector<int64_t>{d, d} : std::vector<int64_t>{d});
                  a.set_ints("pads", two_d ? std::vector<int64_t>{p, 0, 0, p} : std::vector<int64_t>{p, 0});
                  a.set_int("ceil_mode", ceil);
                  a.set_int("count_include_pad", inc);
                  const Tensor y = eval_single("AveragePool", {x}, a, at(19))[0];
                  // Naive: taps inside the input summed; the divisor counts them, or (inc) the window
                  // clipped to the padded extent.
                  const int64_t H = two_d ? n : 1, W = two_d ? n + 3 : n;
                  const int64_t sh = two_d ? s : 1, sw = two_d ? 1 + s % 3 : s, kh_n = two_d ? k : 1;
                  // Pads: 2-D top p, bottom 0, left 0, right p; 1-D begin p, end 0.
                  const int64_t dh = two_d ? d : 1, ph0 = two_d ? p : 0, ph1 = 0, pw0 = two_d ? 0 : p,
                                pw1 = two_d ? p : 0;
                  // The output size is the op's (its rules are checked by the backend node tests).
                  const int64_t OH = two_d ? y.shape()[2] : 1, OW = y.shape().back();
                  const int64_t planes = xs[0] * xs[1];
                  for (int64_t pl = 0; pl < planes; ++pl)
                    for (int64_t oh = 0; oh < OH; ++oh)
                      for (int64_t ow = 0; ow < OW; ++ow) {
                        double sum = 0;
                        int64_t valid = 0, rows = 0, cols = 0;
                        for (int64_t i = 0; i < kh_n; ++i) {
                          const int64_t ih = oh * sh - ph0 + i * dh;
                          if (ih < H + ph1) ++rows;
                          for (int64_t j = 0; j < k; ++j) {
                            const int64_t iw = ow * sw - pw0 + j * d;
                            if (i == 0 && iw < W + pw1) ++cols;
                            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                            sum += x.data_as<float>()[(pl * H + ih) * W + iw];
                            ++valid;
                          }
                        }
                        const int64_t count = inc ? rows * cols : valid;
                        const float want = count ? static_cast<float>(sum / static_cast<double>(count)) : 0.f;
                        const float got = y.data_as<float>()[(pl * OH + oh) * OW + ow];
                        INFO("n " << n << " k " << k << " s " << s << " d " << d << " p " << p << " ceil "
                                  << ceil << " inc " << inc << " 2-D " << two_d << " at " << pl << "," << oh
                                  << "," << ow);
                        REQUIRE(got == Approx(want).margin(1e-6).epsilon(1e-5));
                      }
                  ++cases;
                }
  CHECK(cases > 300);
}
