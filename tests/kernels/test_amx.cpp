// AMX kernels keep their tile shapes right when other code on the thread (another library's AMX kernels)
// loaded a different tile configuration between two calls: a kernel that trusted a remembered
// configuration would multiply with the wrong row counts or fault. The sweep in test_gemm_registry.cpp
// covers their arithmetic; this covers the shared per-thread tile state.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "cache_override.h"
#include "ortkit/kernels/cache_info.h"
#include "ortkit/kernels/epilogue.h"
#include "ortkit/kernels/gemm.h"
#include "ortkit/kernels/registry.h"

using namespace ortkit::kernels;

namespace {

#if defined(__x86_64__)
// Another library's configuration: every tile 8 rows of 32 bytes. (asm with a memory operand: GCC 12's
// _tile_loadconfig builtin lets the optimizer drop the stores that fill the configuration.)
struct alignas(64) ForeignConfig {
  uint8_t bytes[64] = {};
};
__attribute__((target("amx-tile"))) void load_foreign_tile_config() {
  ForeignConfig cfg;
  cfg.bytes[0] = 1;  // palette 1
  for (int t = 0; t < 8; ++t) {
    const uint16_t colsb = 32;
    std::memcpy(cfg.bytes + 16 + 2 * t, &colsb, 2);
    cfg.bytes[48 + t] = 8;
  }
  __asm__ volatile("ldtilecfg %0" : : "m"(cfg));
}

// The AMX kernel `name`, or null (with a warning) where it is not compiled in or the CPU cannot run it.
const GemmKernel* usable_amx(const char* name) {
  const GemmKernel* g = find_kernel(name);
  if (g && host_features().has_all(g->features)) return g;
  WARN("no usable AMX on this CPU (or not compiled in): nothing to check for " << name);
  return nullptr;
}
#endif

// g null: B packed for the dispatched kernel, so few-row calls may run on its GemmKernel::few_rows sibling.
std::vector<int32_t> run_int8(const GemmKernel* g, GemmKind kind, int64_t m, int64_t n, int64_t k,
                              const std::vector<uint8_t>& a, const std::vector<int8_t>& b) {
  PackedB pb;
  const float scale = 1.f;
  pack_b_int8(pb, kind, BDesc{b.data(), k, n, n, false}, false, &scale, 1, nullptr, 0, g);
  std::vector<int32_t> c(m * n, 0);
  gemm_int8(m, a.data(), k, QuantA{1.f, 0}, pb, nullptr, n, c.data(), n, {}, {}, {});
  return c;
}

// Random A (m x k) and B (k x n) and their exact int32 product, A read as s8 when a_signed.
struct Int8Case {
  std::vector<uint8_t> a;
  std::vector<int8_t> b;
  std::vector<int32_t> want;
  Int8Case(int64_t m, int64_t n, int64_t k, bool a_signed, std::mt19937& rng)
      : a(m * k), b(k * n), want(m * n, 0) {
    std::uniform_int_distribution<int> d(0, 255);
    for (auto& v : a) v = static_cast<uint8_t>(d(rng));
    for (auto& v : b) v = static_cast<int8_t>(d(rng) - 128);
    for (int64_t r = 0; r < m; ++r)
      for (int64_t j = 0; j < n; ++j)
        for (int64_t kk = 0; kk < k; ++kk) {
          const uint8_t x = a[r * k + kk];
          want[r * n + j] += (a_signed ? int32_t{static_cast<int8_t>(x)} : int32_t{x}) * b[kk * n + j];
        }
  }
};

}  // namespace

TEST_CASE("AMX kernels reload their tile shapes after other code changed them", "[kernels][x86][amx]") {
#if defined(__x86_64__)
  const GemmKernel* g = usable_amx("gemm_u8s8_amx_32x32c4");
  if (!g) return;
  std::mt19937 rng(7);
  for (int64_t m : {int64_t{5}, int64_t{20}, int64_t{32}}) {
    const int64_t n = 40, k = 100;  // an edge column block and a K tail
    const Int8Case c(m, n, k, false, rng);
    CAPTURE(m);
    CHECK(run_int8(g, g->kind, m, n, k, c.a, c.b) == c.want);
    load_foreign_tile_config();
    CHECK(run_int8(g, g->kind, m, n, k, c.a, c.b) == c.want);
  }
#else
  WARN("x86 only");
#endif
}

// B packed by dispatch: calls of few rows may switch to the kernel's few_rows sibling (same panels), others
// stay on it; both must give the exact int32 sums, for u8 and s8 A, on either side of few_rows_max.
TEST_CASE("Few-row int8 calls on a dispatch-packed B give exact sums", "[kernels][amx]") {
  std::mt19937 rng(11);
  for (GemmKind kind : {GemmKind::u8s8, GemmKind::s8s8}) {
    const GemmKernel* g = dispatched(kind);
    const int64_t max = g->few_rows ? g->few_rows_max : 8;
    for (int64_t m : {int64_t{1}, int64_t{3}, max, max + 1, int64_t{33}}) {
      const int64_t n = 70, k = 131;
      const Int8Case c(m, n, k, kind == GemmKind::s8s8, rng);
      CAPTURE(g->name, m);
      CHECK(run_int8(nullptr, kind, m, n, k, c.a, c.b) == c.want);
    }
  }
}

// bf16 calls with a long K split it into blocks whose partial sums wait in C (gemm_driver.cpp, run_tiles):
// the AMX kernel's later blocks start their tiles from C and only the last adds bias and activation
// (and may store during the next block's products, MicroTile::defer). A 64 KiB L2 (set_cache_sizes) makes
// K = 600 and 1031 long enough to split. Small integers keep every product and sum exact in fp32
// whatever the order, so the result must equal the integer product exactly, with and without the
// caller's accumulation.
TEST_CASE("AMX bf16 K blocks carry their partial sums through C", "[kernels][x86][amx]") {
#if defined(__x86_64__)
  const GemmKernel* g = usable_amx("gemm_bf16_amx_32x32c2");
  if (!g) return;
  const ortkit::test::CacheOverride small_l2(64 << 10);
  REQUIRE(gemm_blocking().k_split_panel_bytes / (32 * 2) < 600 * 4 / 5);  // both K are split
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> d(-4, 4);
  for (int64_t k : {int64_t{600}, int64_t{1031}})
    for (int64_t m : {int64_t{1}, int64_t{17}, int64_t{32}, int64_t{45}})
      for (int64_t n : {int64_t{32}, int64_t{40}, int64_t{64}})
        for (int mode = 0; mode < 3; ++mode) {  // plain, bias + relu, accumulate into C
          std::vector<float> a(m * k), b(k * n), bias(n), c(m * n), want(m * n);
          for (auto& v : a) v = static_cast<float>(d(rng));
          for (auto& v : b) v = static_cast<float>(d(rng));
          for (auto& v : bias) v = static_cast<float>(d(rng) * 100);
          for (auto& v : c) v = static_cast<float>(d(rng) * 1000);
          Epilogue ep;
          if (mode == 1) {
            ep.bias = bias.data();
            ep.act = Act::relu;
          }
          ep.accumulate = mode == 2;
          for (int64_t r = 0; r < m; ++r)
            for (int64_t j = 0; j < n; ++j) {
              double s = mode == 2 ? c[r * n + j] : 0.0;
              for (int64_t kk = 0; kk < k; ++kk) s += double{a[r * k + kk]} * b[kk * n + j];
              if (mode == 1) s = std::max(0.0, s + bias[j]);
              want[r * n + j] = static_cast<float>(s);
            }
          PackedB pb;
          pack_b(pb, GemmKind::bf16, BDesc{b.data(), k, n, n, false}, g);
          gemm_f32(m, a.data(), k, pb, c.data(), n, ep);
          CAPTURE(k, m, n, mode);
          CHECK(c == want);
        }
#else
  WARN("x86 only");
#endif
}

// MicroTile::defer lets an AMX kernel store a block's C rows during its next call on the thread, or at
// GemmKernel::finish. Run tile by tile over a mix of what the deferred store plans (bias, relu, clip,
// accumulation onto C, Epilogue::add's rows, int8 zero-point rows) and what it does not (a narrow last
// B panel, GELU), with every streamed-operand hint, the deferred C must equal the immediate one bit for
// bit, canaries past N included; and a deferred run must leave nothing behind for the next call.
TEST_CASE("AMX kernels' deferred stores equal their immediate ones", "[kernels][x86][amx]") {
#if defined(__x86_64__)
  for (const char* name : {"gemm_bf16_amx_32x32c2", "gemm_u8s8_amx_32x32c4", "gemm_s8s8_amx_32x32c4"}) {
    const GemmKernel* g = usable_amx(name);
    if (!g) continue;
    const bool int8 = g->kind != GemmKind::bf16;
    const int64_t m = 39, n = 116, k = 200;  // A panels of 32 and 7 rows; B panels of 32 and 20; K tails
    const int64_t esz = int8 ? 1 : 2;
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> d(-100, 100);
    PackedB pb;
    if (int8) {
      std::vector<int8_t> b(k * n);
      for (auto& v : b) v = static_cast<int8_t>(d(rng));
      const float scale = 1.f;
      pack_b_int8(pb, g->kind, BDesc{b.data(), k, n, n, false}, false, &scale, 1, nullptr, 0, g);
    } else {
      std::vector<float> b(k * n);
      for (auto& v : b) v = static_cast<float>(d(rng)) / 64.f;
      pack_b(pb, GemmKind::bf16, BDesc{b.data(), k, n, n, false}, g);
    }
    const int64_t kp = pb.k_padded_, lda = kp + 64 / esz;
    std::vector<uint8_t> a(m * lda * esz, 0);  // rows as the kernel reads them, zero past K
    for (int64_t r = 0; r < m; ++r)
      for (int64_t i = 0; i < k; ++i) {
        const int v = d(rng);
        if (int8) {
          a[r * lda + i] = static_cast<uint8_t>(v + 128);
        } else {
          const uint16_t h = f32_to_bf16(static_cast<float>(v) / 32.f);
          std::memcpy(a.data() + (r * lda + i) * 2, &h, 2);
        }
      }
    // The int8 epilogue's vectors, any values: both runs read the same ones.
    const int64_t np = pb.n_panels_ * 32;
    std::vector<int32_t> col_offset(np), col_zp_neg(np), row_sum(m);
    std::vector<float> col_scale(np), bias(np), add(m * n);
    for (auto& v : col_offset) v = d(rng) * 1000;
    for (auto& v : col_zp_neg) v = d(rng) % 7;
    for (auto& v : row_sum) v = d(rng) * 50;
    for (auto& v : col_scale) v = 0.001f * static_cast<float>(1 + std::abs(d(rng)));
    for (auto& v : bias) v = static_cast<float>(d(rng));
    for (auto& v : add) v = static_cast<float>(d(rng));
    const int64_t ldc = n + 4;
    std::vector<float> c_old(m * ldc);
    for (auto& v : c_old) v = static_cast<float>(d(rng));
    for (int64_t r = 0; r < m; ++r)
      for (int64_t j = n; j < ldc; ++j) c_old[r * ldc + j] = std::nanf("");

    auto run = [&](bool defer) {
      std::vector<float> c = c_old;
      if (g->begin) g->begin();
      int variant = 0;
      for (int64_t ap = 0; ap < 2; ++ap)
        for (int64_t p = 0; p < pb.n_panels_; ++p, ++variant) {
          const int64_t r0 = ap * 32, c0 = p * 32;
          MicroTile t;
          t.kp = kp;
          t.a = a.data() + r0 * lda * esz;
          t.lda = lda;
          t.b = static_cast<const char*>(pb.panels()) + p * kp * 32 * esz;
          t.m = static_cast<int>(std::min<int64_t>(32, m - r0));
          t.n = static_cast<int>(std::min<int64_t>(32, n - c0));
          t.c = c.data() + r0 * ldc + c0;
          t.ldc = ldc;
          t.stream = static_cast<MicroTile::Stream>(variant % 3);
          t.defer = defer;
          switch (variant % 6) {
            case 1: t.bias = bias.data() + c0, t.act = Act::relu; break;
            case 2: t.bias = bias.data() + c0, t.act = Act::clip, t.clip_lo = -2.f, t.clip_hi = 3.f; break;
            case 3: t.accumulate = true; break;
            case 4: t.accumulate = true, t.c_in = add.data() + r0 * n + c0, t.ldc_in = n; break;
            case 5: t.act = Act::gelu_erf; break;
            default: break;
          }
          if (int8) {
            t.col_offset = col_offset.data() + c0;
            t.col_scale = col_scale.data() + c0;
            if (variant % 4 == 1) {
              t.col_zp_neg = col_zp_neg.data() + c0;
              t.row_sum = row_sum.data() + r0;
            }
          }
          g->run(t);
        }
      if (defer && g->finish) g->finish();
      return c;
    };
    const std::vector<float> now = run(false), later = run(true), again = run(false);
    CAPTURE(name);
    CHECK(std::memcmp(now.data(), later.data(), now.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(now.data(), again.data(), now.size() * sizeof(float)) == 0);
    int64_t changed = 0;  // the tiles wrote C (a kernel that skipped every store would pass the rest)
    for (int64_t r = 0; r < m; ++r)
      for (int64_t j = 0; j < n; ++j) changed += now[r * ldc + j] != c_old[r * ldc + j];
    CHECK(changed > m * n * 9 / 10);
  }
#else
  WARN("x86 only");
#endif
}
