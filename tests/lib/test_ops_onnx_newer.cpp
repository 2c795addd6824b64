// Semantics from newer ONNX releases (the onnx 1.23 node tests): Attention (opset 23+), Resize's
// antialias (18), SpaceToDepth's CRD mode, Clip with min > max, float Mod with fmod=0. Values by hand
// or from a naive reference written here.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "ops/eval.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

namespace {
std::vector<float> wave(int64_t n, float scale, float shift) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = std::sin(0.9f * static_cast<float>(i) + shift) * scale;
  return v;
}

/// Naive 4-D attention with grouped KV heads, a past cache, a boolean mask [Sq, T] and causal masking.
std::vector<double> attention_ref(const std::vector<float>& q, const std::vector<float>& k,
                                  const std::vector<float>& v, int64_t B, int64_t Hq, int64_t Hkv, int64_t Sq,
                                  int64_t T, int64_t d, bool causal, int64_t past,
                                  const std::vector<bool>* mask) {
  std::vector<double> y(static_cast<size_t>(B * Hq * Sq * d), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h) {
      const int64_t g = h / (Hq / Hkv);
      for (int64_t i = 0; i < Sq; ++i) {
        std::vector<double> s(static_cast<size_t>(T));
        double mx = -INFINITY;
        bool any = false;
        for (int64_t j = 0; j < T; ++j) {
          double a = 0;
          for (int64_t e = 0; e < d; ++e)
            a += double(q[static_cast<size_t>(((b * Hq + h) * Sq + i) * d + e)]) *
                 k[static_cast<size_t>(((b * Hkv + g) * T + j) * d + e)];
          a /= std::sqrt(static_cast<double>(d));
          const bool off = (causal && j > i + past) || (mask && !(*mask)[static_cast<size_t>(i * T + j)]);
          s[static_cast<size_t>(j)] = off ? -INFINITY : a;
          if (!off) any = true, mx = std::max(mx, a);
        }
        if (!any) continue;  // every key masked: zero output
        double sum = 0;
        for (auto& x : s) sum += (x = std::isinf(x) ? 0 : std::exp(x - mx));
        for (int64_t e = 0; e < d; ++e) {
          double acc = 0;
          for (int64_t j = 0; j < T; ++j)
            acc += s[static_cast<size_t>(j)] / sum * v[static_cast<size_t>(((b * Hkv + g) * T + j) * d + e)];
          y[static_cast<size_t>(((b * Hq + h) * Sq + i) * d + e)] = acc;
        }
      }
    }
  return y;
}

EvalOptions opset(int v, int outputs = 1) {
  EvalOptions o;
  o.opset = v;
  o.num_outputs = outputs;
  return o;
}
}  // namespace

TEST_CASE("ONNX Attention: grouped heads, past cache, causal and boolean masks", "[ops][attention23]") {
  const int64_t B = 2, Hq = 4, Hkv = 2, Sq = 3, P = 2, S = 3, d = 4, T = P + S;
  const auto qv = wave(B * Hq * Sq * d, 1.f, 0.f), kv = wave(B * Hkv * S * d, 1.f, 1.f),
             vv = wave(B * Hkv * S * d, 1.f, 2.f), pk = wave(B * Hkv * P * d, 1.f, 3.f),
             pv = wave(B * Hkv * P * d, 1.f, 4.f);
  // The cache the reference sees: past rows then this call's, per (b, kv head).
  std::vector<float> kall, vall;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t g = 0; g < Hkv; ++g) {
      for (int64_t t = 0; t < P; ++t)
        for (int64_t e = 0; e < d; ++e) {
          kall.push_back(pk[static_cast<size_t>(((b * Hkv + g) * P + t) * d + e)]);
        }
      for (int64_t t = 0; t < S; ++t)
        for (int64_t e = 0; e < d; ++e)
          kall.push_back(kv[static_cast<size_t>(((b * Hkv + g) * S + t) * d + e)]);
      for (int64_t t = 0; t < P; ++t)
        for (int64_t e = 0; e < d; ++e)
          vall.push_back(pv[static_cast<size_t>(((b * Hkv + g) * P + t) * d + e)]);
      for (int64_t t = 0; t < S; ++t)
        for (int64_t e = 0; e < d; ++e)
          vall.push_back(vv[static_cast<size_t>(((b * Hkv + g) * S + t) * d + e)]);
    }
  const Tensor Q = f32({B, Hq, Sq, d}, qv), K = f32({B, Hkv, S, d}, kv), V = f32({B, Hkv, S, d}, vv),
               PK = f32({B, Hkv, P, d}, pk), PV = f32({B, Hkv, P, d}, pv);
  Attrs causal;
  causal.set_int("is_causal", 1);
  const auto ys = eval_single("Attention", {Q, K, V, Tensor(), PK, PV}, causal, opset(23, 3));
  const auto want = attention_ref(qv, kall, vall, B, Hq, Hkv, Sq, T, d, true, P, nullptr);
  const auto got = vals<float>(ys[0]);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(1e-5));
  CHECK(ys[1].shape() == Shape{B, Hkv, T, d});
  CHECK(vals<float>(ys[1]) == kall);
  CHECK(vals<float>(ys[2]) == vall);

  // A boolean mask [Sq, T] with one query that sees no key: its output is zero.
  std::vector<bool> m(static_cast<size_t>(Sq * T), true);
  for (int64_t j = 0; j < T; ++j) m[static_cast<size_t>(1 * T + j)] = false;
  m[2 * T + 0] = false;
  const auto ym =
      vals<float>(eval_single("Attention", {Q, K, V, bools({Sq, T}, m), PK, PV}, {}, opset(23))[0]);
  const auto wm = attention_ref(qv, kall, vall, B, Hq, Hkv, Sq, T, d, false, P, &m);
  REQUIRE(ym.size() == wm.size());
  for (size_t i = 0; i < ym.size(); ++i) CHECK(ym[i] == Approx(wm[i]).margin(1e-5));
  CHECK(ym[1 * d] == 0.f);  // batch 0, head 0, query 1

  // 3-D inputs need the head counts; a head count that does not divide is an error.
  CHECK_THROWS_WITH(eval_single("Attention",
                                {f32({1, 2, 8}, wave(16, 1, 0)), f32({1, 2, 8}, wave(16, 1, 1)),
                                 f32({1, 2, 8}, wave(16, 1, 2))},
                                {}, opset(23)),
                    Catch::Contains("q_num_heads and kv_num_heads"));
  Attrs bad;
  bad.set_int("q_num_heads", 3);
  bad.set_int("kv_num_heads", 2);
  CHECK_THROWS_AS(eval_single("Attention",
                              {f32({1, 2, 9}, wave(18, 1, 0)), f32({1, 2, 8}, wave(16, 1, 1)),
                               f32({1, 2, 8}, wave(16, 1, 2))},
                              bad, opset(23)),
                  Error);
}

TEST_CASE("Resize antialias widens the downsampling filter", "[ops][resize]") {
  // 4 -> 2, linear, half_pixel: taps at -1..2 around x = 0.5 and 2.5 with weights 1/8, 3/8, 3/8, 1/8
  // (edge-clamped): 0.625 and 2.375. Without antialias: 0.5 and 2.5.
  const Tensor x = f32({1, 4}, {0, 1, 2, 3});
  Attrs a;
  a.set_string("mode", "linear");
  a.set_int("antialias", 1);
  const Tensor scales = f32({2}, {1.f, 0.5f});
  CHECK(vals<float>(eval_single("Resize", {x, Tensor(), scales}, a, opset(18))[0]) ==
        std::vector<float>{0.625f, 2.375f});
  a.set_int("antialias", 0);
  CHECK(vals<float>(eval_single("Resize", {x, Tensor(), scales}, a, opset(18))[0]) ==
        std::vector<float>{0.5f, 2.5f});
}

TEST_CASE("SpaceToDepth CRD, Clip with min > max, float Mod with fmod=0", "[ops][onnx_newer]") {
  // [1, 1, 2, 2] -> [1, 4, 1, 1]: CRD and DCR agree with one input channel; two channels differ.
  const Tensor x = f32({1, 2, 2, 2}, {0, 1, 2, 3, 10, 11, 12, 13});
  Attrs crd, dcr;
  crd.set_int("blocksize", 2);
  crd.set_string("mode", "CRD");
  dcr.set_int("blocksize", 2);
  CHECK(vals<float>(eval_single("SpaceToDepth", {x}, crd)[0]) ==
        std::vector<float>{0, 1, 2, 3, 10, 11, 12, 13});
  CHECK(vals<float>(eval_single("SpaceToDepth", {x}, dcr)[0]) ==
        std::vector<float>{0, 10, 1, 11, 2, 12, 3, 13});
  crd.set_string("mode", "XYZ");
  CHECK_THROWS_WITH(eval_single("SpaceToDepth", {x}, crd), Catch::Contains("unknown mode 'XYZ'"));

  CHECK(vals<float>(eval_single("Clip", {f32({3}, {-5, 1.5f, 5}), f32({}, {2}), f32({}, {1})})[0]) ==
        std::vector<float>{1, 1, 1});

  Attrs py;
  py.set_int("fmod", 0);
  CHECK(vals<float>(eval_single("Mod", {f32({4}, {-5, 5, -5, 5.5f}), f32({4}, {3, -3, -3, 2})}, py)[0]) ==
        std::vector<float>{1, -1, -2, 1.5f});
}

TEST_CASE("DeformConv: zero offsets are a convolution, offsets move taps, the mask weights them",
          "[ops][onnx_newer]") {
  // X [1, 2, 3, 4], W [2, 2, 2, 2], stride 1, pads 1 0 1 0 -> output [1, 2, 4, 3].
  const auto xv = wave(24, 1.f, 0.f), wv = wave(16, 1.f, 1.f);
  const Tensor x = f32({1, 2, 3, 4}, xv), w = f32({2, 2, 2, 2}, wv), b = f32({2}, {0.5f, -1});
  Attrs a;
  a.set_ints("pads", {1, 0, 1, 0});
  const Tensor zero = f32({1, 8, 4, 3}, std::vector<float>(96, 0.f));
  const auto conv = vals<float>(eval_single("Conv", {x, w, b}, a)[0]);
  const auto dc = vals<float>(eval_single("DeformConv", {x, w, zero, b}, a, opset(19))[0]);
  REQUIRE(dc.size() == conv.size());
  for (size_t i = 0; i < dc.size(); ++i) CHECK(dc[i] == Approx(conv[i]).margin(1e-5));
  // A 1x1 kernel with dx = +0.5 everywhere averages each pixel with its right neighbour (0 past the
  // edge); a mask of 2 doubles it.
  const Tensor x1 = f32({1, 1, 1, 3}, {1, 2, 4}), w1 = f32({1, 1, 1, 1}, {1});
  const Tensor off = f32({1, 2, 1, 3}, {0, 0, 0, 0.5f, 0.5f, 0.5f});
  CHECK(vals<float>(eval_single("DeformConv", {x1, w1, off}, {}, opset(19))[0]) ==
        std::vector<float>{1.5f, 3, 2});
  const Tensor mask = f32({1, 1, 1, 3}, {2, 2, 2});
  CHECK(vals<float>(eval_single("DeformConv", {x1, w1, off, Tensor(), mask}, {}, opset(19))[0]) ==
        std::vector<float>{3, 6, 4});
  CHECK_THROWS_WITH(eval_single("DeformConv", {x1, w1, f32({1, 1, 1, 3}, {0, 0, 0})}, {}, opset(19)),
                    Catch::Contains("offset must be [1, 2, 1, 3]"));
}
