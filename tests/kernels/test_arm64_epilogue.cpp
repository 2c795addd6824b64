// The NEON tile store shared by the arm64 kernels (kernels/arm64/epilogue_neon.cpp) against the portable
// store_tile_* over every activation, with values from deep negative to large positive, tails of 1-3
// columns, bias, accumulate and the int8 dequantization. GELU is approximated there (vector erf / exp),
// so it must stay within 1e-6 x max(1, |v|) of the std::erf / std::tanh reference.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "ortkit/kernels/epilogue.h"
#if defined(__aarch64__)
#include "arm64/epilogue_neon.h"
#endif

using namespace ortkit::kernels;

#if defined(__aarch64__)
namespace {

std::vector<float> test_values() {
  std::vector<float> v;
  for (float x = -40.f; x <= 40.f; x += 0.0371f) v.push_back(x);
  for (float x :
       {0.f, -0.f, 1e-30f, -1e-30f, 1e-4f, -1e-4f, 87.f, -87.f, 100.f, -100.f, 1e4f, -1e4f, 3e38f, -3e38f})
    v.push_back(x);
  return v;
}

// Runs both stores over tiles of width w (w % 4 != 0 exercises the tail) and returns the worst
// |got - want| / max(1, |want|) (float outputs) or requires exact equality (int32 outputs).
double compare_f32(Act act, int w, bool accumulate, bool bias) {
  const std::vector<float> vals = test_values();
  std::vector<float> bias_v(w), c_old(w);
  for (int j = 0; j < w; ++j)
    bias_v[j] = 0.25f * static_cast<float>(j % 5 - 2), c_old[j] = 0.5f * (j % 3 - 1);
  double worst = 0;
  for (size_t i0 = 0; i0 < vals.size(); i0 += w) {
    const int n = static_cast<int>(std::min<size_t>(w, vals.size() - i0));
    std::vector<float> got(c_old), want(c_old);
    MicroTile t;
    t.m = 1;
    t.n = n;
    t.ldc = w;
    t.act = act;
    t.clip_lo = -3.f;
    t.clip_hi = 5.f;
    t.accumulate = accumulate;
    t.bias = bias ? bias_v.data() : nullptr;
    t.c = got.data();
    arm64_store_tile_f32(t, vals.data() + i0, w);
    t.c = want.data();
    store_tile_f32(t, vals.data() + i0, w);
    for (int j = 0; j < n; ++j) {
      INFO("act " << int(act) << " v=" << vals[i0 + j] << " got " << got[j] << " want " << want[j]);
      REQUIRE(std::isfinite(got[j]) == std::isfinite(want[j]));
      if (std::isfinite(want[j]))
        worst =
            std::max(worst, std::abs(double(got[j]) - want[j]) / std::max(1.0, std::abs(double(want[j]))));
    }
    for (int j = n; j < w; ++j) REQUIRE(got[j] == c_old[j]);  // columns beyond t.n untouched
  }
  return worst;
}

}  // namespace

TEST_CASE("arm64 NEON epilogue matches the portable one", "[kernels][arm64][epilogue]") {
  for (Act act : {Act::none, Act::relu, Act::clip, Act::gelu_erf, Act::gelu_tanh, Act::silu, Act::hardswish})
    for (int w : {4, 5, 6, 7, 12})
      for (bool acc : {false, true})
        for (bool bias : {false, true}) {
          const double worst = compare_f32(act, w, acc, bias);
          INFO("act " << int(act) << " w " << w << " worst relative error " << worst);
          if (act == Act::gelu_erf || act == Act::gelu_tanh || act == Act::silu || act == Act::hardswish)
            REQUIRE(worst <= 1e-6);
          else
            REQUIRE(worst <= 1e-7);  // plain adds and compares: the same fp32 operations
        }
}

TEST_CASE("arm64 NEON int8 epilogue matches the portable one", "[kernels][arm64][epilogue][int8]") {
  const int w = 11, m = 3;
  std::vector<int32_t> acc(m * w), off(w), zpn(w), rsum(m);
  std::vector<float> scale(w), bias(w);
  for (int i = 0; i < m * w; ++i) acc[i] = (i * 7919) % 20001 - 10000;
  for (int j = 0; j < w; ++j)
    off[j] = j * 37 - 200, zpn[j] = j % 4 - 2, scale[j] = 0.001f * (j + 1), bias[j] = 0.1f * j;
  for (int r = 0; r < m; ++r) rsum[r] = 100 * r - 50;
  for (Act act : {Act::none, Act::relu, Act::gelu_erf, Act::gelu_tanh, Act::silu})
    for (bool raw : {false, true})
      for (bool zp : {false, true}) {
        std::vector<float> got(m * w, 1.f), want(m * w, 1.f);
        std::vector<int32_t> got32(m * w, 5), want32(m * w, 5);
        MicroTile t;
        t.m = m;
        t.n = w - 1;
        t.act = act;
        t.bias = bias.data();
        t.accumulate = true;
        t.col_offset = off.data();
        t.col_zp_neg = zp ? zpn.data() : nullptr;
        t.row_sum = rsum.data();
        t.col_scale = scale.data();
        t.ldc = t.ldc32 = w;
        t.c = raw ? nullptr : got.data();
        t.c32 = raw ? got32.data() : nullptr;
        arm64_store_tile_i32(t, acc.data(), w);
        t.c = raw ? nullptr : want.data();
        t.c32 = raw ? want32.data() : nullptr;
        store_tile_i32(t, acc.data(), w);
        REQUIRE(got32 == want32);
        for (int i = 0; i < m * w; ++i)
          REQUIRE(std::abs(got[i] - want[i]) <= 1e-6f * std::max(1.f, std::abs(want[i])));
      }
}
#else
TEST_CASE("arm64 NEON epilogue matches the portable one", "[kernels][arm64][epilogue]") {
  WARN("arm64 only: the NEON epilogue is not compiled into this build");
}
#endif
