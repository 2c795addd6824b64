// The ops ONNX Runtime's transformer optimizer writes (com.microsoft Attention, EmbedLayerNormalization,
// SkipLayerNormalization, SkipSimplifiedLayerNormalization, Gelu / BiasGelu / FastGelu / QuickGelu) and
// their ai.onnx relatives (Gelu 20, SimplifiedLayerNormalization, RMSNormalization 23), against naive
// references written here. scripts/contrib_ops_check.py compares the same ops with ONNX Runtime itself
// when it is installed.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "ops/eval.h"
#include "ops/registry.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

namespace {
std::vector<float> seq(int64_t n, float scale, float shift = 0.f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = std::sin(0.7f * static_cast<float>(i) + shift) * scale;
  return v;
}

void check_close(const std::vector<float>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(tol));
}

std::vector<double> layer_norm(std::vector<double> x, int64_t h, const std::vector<float>& g,
                               const std::vector<float>* b, double eps, bool rms) {
  for (size_t r = 0; r < x.size() / static_cast<size_t>(h); ++r) {
    double* v = x.data() + r * static_cast<size_t>(h);
    double mean = 0, var = 0;
    for (int64_t i = 0; i < h; ++i) mean += v[i] / static_cast<double>(h);
    if (rms) mean = 0;
    for (int64_t i = 0; i < h; ++i) var += (v[i] - mean) * (v[i] - mean) / static_cast<double>(h);
    for (int64_t i = 0; i < h; ++i)
      v[i] = (v[i] - mean) / std::sqrt(var + eps) * g[static_cast<size_t>(i)] +
             (b ? (*b)[static_cast<size_t>(i)] : 0);
  }
  return x;
}
}  // namespace

TEST_CASE("GELU forms match their formulas", "[ops][contrib]") {
  const std::vector<float> xv = {-6, -3, -1, -0.25f, 0, 0.5f, 2, 5};
  const Tensor x = f32({2, 4}, xv);
  const Tensor bias = f32({4}, {0.5f, -1, 0, 2});
  std::vector<double> erf_form, tanh_form, biased, quick;
  for (size_t i = 0; i < xv.size(); ++i) {
    const double v = xv[i], vb = v + bias.data_as<float>()[i % 4];
    erf_form.push_back(0.5 * v * (1 + std::erf(v / std::sqrt(2.0))));
    tanh_form.push_back(0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))));
    biased.push_back(0.5 * vb * (1 + std::erf(vb / std::sqrt(2.0))));
    quick.push_back(v / (1 + std::exp(-1.5 * v)));
  }
  check_close(vals<float>(eval_single("Gelu", {x}, {}, ms())[0]), erf_form, 1e-6);
  check_close(vals<float>(eval_single("BiasGelu", {x, bias}, {}, ms())[0]), biased, 1e-6);
  check_close(vals<float>(eval_single("FastGelu", {x}, {}, ms())[0]), tanh_form, 1e-6);
  Attrs qa;
  qa.set_float("alpha", 1.5f);
  check_close(vals<float>(eval_single("QuickGelu", {x}, qa, ms())[0]), quick, 1e-6);
  EvalOptions o20;
  o20.opset = 20;
  check_close(vals<float>(eval_single("Gelu", {x}, {}, o20)[0]), erf_form, 1e-6);
  Attrs ta;
  ta.set_string("approximate", "tanh");
  check_close(vals<float>(eval_single("Gelu", {x}, ta, o20)[0]), tanh_form, 1e-6);
  // Errors: a bias that is not the last dimension, an unknown approximation, BiasGelu without bias.
  CHECK_THROWS_WITH(eval_single("BiasGelu", {x, f32({2}, {1, 2})}, {}, ms()),
                    Catch::Contains("bias must be 1-D with the input's last dimension"));
  ta.set_string("approximate", "sigmoid");
  CHECK_THROWS_WITH(eval_single("Gelu", {x}, ta, o20),
                    Catch::Contains("approximate must be 'none' or 'tanh'"));
  CHECK_THROWS_WITH(eval_single("BiasGelu", {x}, {}, ms()), Catch::Contains("bias input is required"));
  // Gelu is not an ai.onnx op before opset 20.
  CHECK_THROWS_AS(eval_single("Gelu", {x}, {}, EvalOptions{}), Error);
}

TEST_CASE("SkipLayerNormalization normalizes input + skip + bias and returns the sum", "[ops][contrib]") {
  const int64_t H = 6;
  const auto xv = seq(2 * 3 * H, 2.f), sv = seq(2 * 3 * H, 1.f, 0.3f), gv = seq(H, 1.f, 1.f),
             bv = seq(H, 0.5f, 2.f), biv = seq(H, 0.2f, 3.f);
  const Tensor x = f32({2, 3, H}, xv), skip = f32({2, 3, H}, sv), g = f32({H}, gv), b = f32({H}, bv),
               bias = f32({H}, biv);
  std::vector<double> sum(xv.size());
  for (size_t i = 0; i < xv.size(); ++i) sum[i] = double(xv[i]) + sv[i] + biv[i % H];
  Attrs eps;
  eps.set_float("epsilon", 1e-5f);
  const auto ys = eval_single("SkipLayerNormalization", {x, skip, g, b, bias}, eps, ms(4));
  check_close(vals<float>(ys[0]), layer_norm(sum, H, gv, &bv, 1e-5, false), 1e-5);
  check_close(vals<float>(ys[3]), sum, 1e-6);
  CHECK(ys[1].shape() == Shape{2, 3, 1});
  // skip of one batch [1, S, H], shared by both batches; no beta, no bias.
  const Tensor skip1 = f32({1, 3, H}, std::vector<float>(sv.begin(), sv.begin() + 3 * H));
  std::vector<double> sum1(xv.size());
  for (size_t i = 0; i < xv.size(); ++i) sum1[i] = double(xv[i]) + sv[i % (3 * H)];
  check_close(vals<float>(eval_single("SkipLayerNormalization", {x, skip1, g}, eps, ms())[0]),
              layer_norm(sum1, H, gv, nullptr, 1e-5, false), 1e-5);
  // RMS variant: input, skip, gamma, bias.
  check_close(vals<float>(eval_single("SkipSimplifiedLayerNormalization", {x, skip, g, bias}, eps, ms())[0]),
              layer_norm(sum, H, gv, nullptr, 1e-5, true), 1e-5);
  CHECK_THROWS_WITH(eval_single("SkipLayerNormalization", {x, f32({2, H}, seq(2 * H, 1.f)), g}, eps, ms()),
                    Catch::Contains("must have the input's shape"));
  CHECK_THROWS_WITH(
      eval_single("SkipLayerNormalization", {x, skip, f32({H - 1}, seq(H - 1, 1.f))}, eps, ms()),
      Catch::Contains("gamma must be 1-D with 6 values"));
}

TEST_CASE("SimplifiedLayerNormalization and RMSNormalization divide by the root mean square",
          "[ops][contrib]") {
  const auto xv = seq(4 * 5, 3.f);
  const auto gv = seq(5, 1.f, 0.5f);
  std::vector<double> xd(xv.begin(), xv.end());
  const auto want = layer_norm(xd, 5, gv, nullptr, 1e-5, true);
  EvalOptions o1;
  o1.opset = 1;
  check_close(
      vals<float>(eval_single("SimplifiedLayerNormalization", {f32({4, 5}, xv), f32({5}, gv)}, {}, o1)[0]),
      want, 1e-5);
  EvalOptions o23;
  o23.opset = 23;
  check_close(vals<float>(eval_single("RMSNormalization", {f32({4, 5}, xv), f32({5}, gv)}, {}, o23)[0]), want,
              1e-5);
}

TEST_CASE("EmbedLayerNormalization sums the three embeddings and counts the mask", "[ops][contrib]") {
  const int64_t H = 4, V = 5, P = 6;
  const auto wv = seq(V * H, 1.f), pv = seq(P * H, 0.5f, 1.f), sv = seq(2 * H, 0.3f, 2.f),
             gv = seq(H, 1.f, 3.f), bv = seq(H, 0.2f, 4.f);
  const Tensor ids = i32({2, 3}, {4, 0, 2, 1, 1, 3});
  const Tensor seg = i32({2, 3}, {0, 1, 1, 0, 0, 0});
  const Tensor mask = i32({2, 3}, {1, 1, 1, 1, 0, 0});
  const auto ys = eval_single(
      "EmbedLayerNormalization",
      {ids, seg, f32({V, H}, wv), f32({P, H}, pv), f32({2, H}, sv), f32({H}, gv), f32({H}, bv), mask}, {},
      ms(3));
  std::vector<double> sum;
  const int32_t id[] = {4, 0, 2, 1, 1, 3}, sg[] = {0, 1, 1, 0, 0, 0};
  for (int t = 0; t < 6; ++t)
    for (int64_t i = 0; i < H; ++i)
      sum.push_back(double(wv[id[t] * H + i]) + pv[(t % 3) * H + i] + sv[sg[t] * H + i]);
  check_close(vals<float>(ys[2]), sum, 1e-6);
  check_close(vals<float>(ys[0]), layer_norm(sum, H, gv, &bv, 1e-12, false), 1e-5);
  CHECK(vals<int32_t>(ys[1]) == std::vector<int32_t>{3, 1});
  CHECK_THROWS_WITH(eval_single("EmbedLayerNormalization",
                                {i32({1, 2}, {0, 5}), Tensor(), f32({V, H}, wv), f32({P, H}, pv), Tensor(),
                                 f32({H}, gv), f32({H}, bv)},
                                {}, ms()),
                    Catch::Contains("input id 5 is outside [0, 5)"));
  CHECK_THROWS_WITH(eval_single("EmbedLayerNormalization",
                                {i32({1, 7}, {0, 0, 0, 0, 0, 0, 0}), Tensor(), f32({V, H}, wv),
                                 f32({P, H}, pv), Tensor(), f32({H}, gv), f32({H}, bv)},
                                {}, ms()),
                    Catch::Contains("position 6 is outside [0, 6)"));
}

namespace {
/// Naive multi-head attention: QKV = x W + b, per head softmax(scale Q K^T + mask) V.
std::vector<double> attention_ref(const std::vector<float>& x, const std::vector<float>& w,
                                  const std::vector<float>& bias, int64_t B, int64_t S, int64_t Hin,
                                  int64_t N, int64_t hd, const std::vector<int32_t>& end_pos, bool causal) {
  const int64_t D = N * hd;
  std::vector<double> qkv(static_cast<size_t>(B * S * 3 * D)), out(static_cast<size_t>(B * S * D));
  for (int64_t r = 0; r < B * S; ++r)
    for (int64_t c = 0; c < 3 * D; ++c) {
      double a = bias[static_cast<size_t>(c)];
      for (int64_t k = 0; k < Hin; ++k)
        a += double(x[static_cast<size_t>(r * Hin + k)]) * w[static_cast<size_t>(k * 3 * D + c)];
      qkv[static_cast<size_t>(r * 3 * D + c)] = a;
    }
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) {
        std::vector<double> p(static_cast<size_t>(S));
        double mx = -1e300, sum = 0;
        for (int64_t j = 0; j < S; ++j) {
          double s = 0;
          for (int64_t d = 0; d < hd; ++d)
            s += qkv[static_cast<size_t>((b * S + i) * 3 * D + n * hd + d)] *
                 qkv[static_cast<size_t>((b * S + j) * 3 * D + D + n * hd + d)];
          s /= std::sqrt(static_cast<double>(hd));
          if (!end_pos.empty() && j >= end_pos[static_cast<size_t>(b)]) s -= 10000;
          if (causal && j > i) s = -1e30;
          p[static_cast<size_t>(j)] = s;
          mx = std::max(mx, s);
        }
        for (auto& v : p) sum += (v = std::exp(v - mx));
        for (int64_t d = 0; d < hd; ++d) {
          double a = 0;
          for (int64_t j = 0; j < S; ++j)
            a += p[static_cast<size_t>(j)] / sum *
                 qkv[static_cast<size_t>((b * S + j) * 3 * D + 2 * D + n * hd + d)];
          out[static_cast<size_t>((b * S + i) * D + n * hd + d)] = a;
        }
      }
  return out;
}
}  // namespace

TEST_CASE("Attention matches a naive reference with and without masks", "[ops][contrib]") {
  const int64_t B = 2, S = 5, Hin = 6, N = 2, hd = 3, D = N * hd;
  const auto xv = seq(B * S * Hin, 1.f), wv = seq(Hin * 3 * D, 0.4f, 0.7f), bv = seq(3 * D, 0.1f, 1.3f);
  const Tensor x = f32({B, S, Hin}, xv), w = f32({Hin, 3 * D}, wv), b = f32({3 * D}, bv);
  Attrs a;
  a.set_int("num_heads", N);
  check_close(vals<float>(eval_single("Attention", {x, w, b}, a, ms())[0]),
              attention_ref(xv, wv, bv, B, S, Hin, N, hd, {}, false), 1e-5);
  check_close(vals<float>(eval_single("Attention", {x, w, b, i32({B}, {5, 2})}, a, ms())[0]),
              attention_ref(xv, wv, bv, B, S, Hin, N, hd, {5, 2}, false), 1e-5);
  // The same right padding as a raw [B, T] mask.
  check_close(vals<float>(eval_single("Attention", {x, w, b, i32({B, S}, {1, 1, 1, 1, 1, 1, 1, 0, 0, 0})}, a,
                                      ms())[0]),
              attention_ref(xv, wv, bv, B, S, Hin, N, hd, {5, 2}, false), 1e-5);
  Attrs causal = a;
  causal.set_int("unidirectional", 1);
  check_close(vals<float>(eval_single("Attention", {x, w, b}, causal, ms())[0]),
              attention_ref(xv, wv, bv, B, S, Hin, N, hd, {}, true), 1e-5);
  // Present = this call's K and V per head, [2, B, N, S, hd]; K of batch 1, head 0, token 2, dim 1:
  const auto ys = eval_single("Attention", {x, w, b}, causal, ms(2));
  REQUIRE(ys[1].shape() == Shape{2, B, N, S, hd});
  double k = bv[D + 1];
  for (int64_t i = 0; i < Hin; ++i) k += double(xv[(1 * S + 2) * Hin + i]) * wv[i * 3 * D + D + 1];
  CHECK(ys[1].data_as<float>()[((1 * N + 0) * S + 2) * hd + 1] == Approx(k).margin(1e-5));

  CHECK_THROWS_WITH(eval_single("Attention", {x, w, b, i32({3}, {1, 2, 3})}, a, ms()),
                    Catch::Contains("mask_index [3] is none of [B], [2B], [B, T], [B, S, T]"));
  CHECK_THROWS_AS(
      eval_single("Attention", {x, w, b, i32({B, 1, S, S}, std::vector<int32_t>(B * S * S, 1))}, a, ms()),
      Unsupported);
  Attrs three = a;
  three.set_int("num_heads", 4);
  CHECK_THROWS_WITH(eval_single("Attention", {x, w, b}, three, ms()),
                    Catch::Contains("not divisible by num_heads"));
  CHECK_THROWS_WITH(
      eval_single("Attention", {x, f32({Hin + 1, 3 * D}, seq((Hin + 1) * 3 * D, 1.f)), b}, a, ms()),
      Catch::Contains("weights must be [6, Dq + Dk + Dv]"));
}

TEST_CASE("QAttention and QEmbedLayerNormalization equal their float ops on dequantized data",
          "[ops][contrib][int8]") {
  const int64_t B = 2, S = 4, Hin = 5, N = 2, hd = 3, D = N * hd;
  std::vector<uint8_t> xq(static_cast<size_t>(B * S * Hin));
  std::vector<int8_t> wq(static_cast<size_t>(Hin * 3 * D));
  for (size_t i = 0; i < xq.size(); ++i) xq[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
  for (size_t i = 0; i < wq.size(); ++i)
    wq[i] = static_cast<int8_t>(static_cast<int>((i * 53 + 7) % 256) - 128);
  const float xs = 0.02f, ws = 0.004f;
  const int32_t xz = 9;
  std::vector<float> xf, wf;
  for (uint8_t v : xq) xf.push_back((static_cast<float>(v) - xz) * xs);
  for (int8_t v : wq) wf.push_back(static_cast<float>(v) * ws);
  const auto bv = seq(3 * D, 0.1f, 1.3f);
  Tensor xt(DType::u8, {B, S, Hin}), wt(DType::i8, {Hin, 3 * D}), zt(DType::u8, {});
  std::copy(xq.begin(), xq.end(), xt.data_as<uint8_t>());
  std::copy(wq.begin(), wq.end(), wt.data_as<int8_t>());
  zt.data_as<uint8_t>()[0] = static_cast<uint8_t>(xz);
  Attrs a;
  a.set_int("num_heads", N);
  const Tensor mask = i32({B}, {4, 2});
  const auto want = vals<float>(eval_single(
      "Attention", {f32({B, S, Hin}, xf), f32({Hin, 3 * D}, wf), f32({3 * D}, bv), mask}, a, ms())[0]);
  for (bool constant : {false, true}) {
    EvalOptions o = ms();
    o.inputs_constant = constant;
    const auto got = vals<float>(eval_single(
        "QAttention", {xt, wt, f32({3 * D}, bv), f32({}, {xs}), f32({}, {ws}), mask, zt}, a, o)[0]);
    std::vector<double> wd(want.begin(), want.end());
    check_close(got, wd, 1e-5);
  }
  CHECK_THROWS_WITH(
      eval_single("QAttention", {xt, wt, f32({3 * D}, bv), f32({2}, {xs, xs}), f32({}, {ws})}, a, ms()),
      Catch::Contains("input_scale must be a scalar"));

  // QEmbedLayerNormalization: u8 tables with zero point 128.
  const int64_t H = 4, V = 5, P = 6;
  auto quantize = [](const std::vector<float>& v, float s, Shape shape, std::vector<float>& deq) {
    Tensor q(DType::u8, std::move(shape));
    for (size_t i = 0; i < v.size(); ++i) {
      const int r = std::clamp(static_cast<int>(std::lround(v[i] / s)) + 128, 0, 255);
      q.data_as<uint8_t>()[i] = static_cast<uint8_t>(r);
      deq.push_back(static_cast<float>(r - 128) * s);
    }
    return q;
  };
  std::vector<float> dw, dp, dg, db;
  const Tensor qw = quantize(seq(V * H, 1.f), 0.01f, {V, H}, dw),
               qp = quantize(seq(P * H, 0.5f, 1.f), 0.005f, {P, H}, dp),
               qg = quantize(seq(H, 1.f, 3.f), 0.01f, {H}, dg),
               qb = quantize(seq(H, 0.2f, 4.f), 0.002f, {H}, db);
  Tensor z128(DType::u8, {});
  z128.data_as<uint8_t>()[0] = 128;
  const Tensor ids = i32({2, 3}, {4, 0, 2, 1, 1, 3}), emask = i32({2, 3}, {1, 1, 1, 1, 0, 0});
  const auto fw = eval_single(
      "EmbedLayerNormalization",
      {ids, Tensor(), f32({V, H}, dw), f32({P, H}, dp), Tensor(), f32({H}, dg), f32({H}, db), emask}, {},
      ms(2));
  EvalOptions oc = ms(2);
  oc.inputs_constant = true;
  const auto qy =
      eval_single("QEmbedLayerNormalization",
                  {ids, Tensor(), qw, qp, Tensor(), qg, qb, emask, f32({}, {0.01f}), f32({}, {0.005f}),
                   Tensor(), f32({}, {0.01f}), f32({}, {0.002f}), z128, z128, Tensor(), z128, z128},
                  {}, oc);
  const auto fv = vals<float>(fw[0]);
  check_close(vals<float>(qy[0]), std::vector<double>(fv.begin(), fv.end()), 1e-6);
  CHECK(vals<int32_t>(qy[1]) == std::vector<int32_t>{3, 1});
  // Tables given at run time (not constants) are not supported: they would be dequantized every run.
  CHECK_THROWS_AS(
      eval_single("QEmbedLayerNormalization",
                  {ids, Tensor(), qw, qp, Tensor(), qg, qb, emask, f32({}, {0.01f}), f32({}, {0.005f}),
                   Tensor(), f32({}, {0.01f}), f32({}, {0.002f}), z128, z128, Tensor(), z128, z128},
                  {}, ms(2)),
      Unsupported);
}
