// Every kernel in the registry that this CPU can run, forced one by one, against a naive oracle over the
// edge-case sweep of ARCHITECTURE.md: m = 1..MR+1 and beyond, n and k around tile multiples, prime
// strides, guard pages after every operand and NaN canaries in C's untouched parts.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "guarded.h"
#include "ortkit/kernels/epilogue.h"
#include "ortkit/kernels/gemm.h"
#include "ortkit/kernels/quantize.h"
#include "ortkit/kernels/registry.h"
#include "threads.h"

using namespace ortkit::kernels;
using ortkit::test::Guarded;

namespace {

bool runnable(const GemmKernel& g) {
  const CpuFeatures& f = host_features();
  return f.has_all(g.features) && (g.sve_bits == 0 || g.sve_bits == f.sve_vector_bits);
}

std::string env_str(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Whether the sweep runs kernel g here. ORTKIT_TEST_KERNELS=<substring> limits the sweep to matching
// names (emulated runs split their work); ORTKIT_TEST_REPORT=1 prints one "[kernel-sweep] ran|not-run
// NAME" line per kernel so scripts/test-arm64.sh can check that every kernel ran on some CPU model.
bool sweep_this(const GemmKernel& g) {
  static const std::string filter = env_str("ORTKIT_TEST_KERNELS");
  static const bool report = !env_str("ORTKIT_TEST_REPORT").empty();
  if (!filter.empty() && std::string(g.name).find(filter) == std::string::npos) return false;
  const bool run = runnable(g);
  if (report) std::printf("[kernel-sweep] %s %s\n", run ? "ran" : "not-run", g.name);
  if (!run) WARN(g.name << " not run: this CPU lacks its features");
  return run;
}

std::vector<int64_t> around(int64_t t, int64_t extra) {
  std::vector<int64_t> v = {1, t - 1, t, t + 1, 2 * t + 3, extra};
  v.erase(std::remove_if(v.begin(), v.end(), [](int64_t x) { return x < 1; }), v.end());
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

using ortkit::test::thread_parallel_for;

float bf16_round(float v) {
  return bf16_to_f32(f32_to_bf16(v));
}

// C is ldc-strided with canaries; returns the max error in units the caller chooses.
// A's last row ends right at its guard page (row kernels read A in place). lda_in = 0: a prime-ish k + 3.
void check_float_kernel(const GemmKernel& g, int64_t m, int64_t n, int64_t k, bool trans_b,
                        const Epilogue& ep, bool threaded, std::mt19937& rng, int64_t lda_in = 0) {
  const bool bf16 = g.kind == GemmKind::bf16;
  const int64_t lda = lda_in ? lda_in : k + 3, ldb = (trans_b ? k : n) + 5, ldc = n + 7;
  // Small integers make fp32 sums exact; bf16 inputs are exact in bf16 too when small.
  std::uniform_int_distribution<int> d(-8, 8);
  Guarded<float> a((m - 1) * lda + k), b((trans_b ? n : k) * ldb), c(m * ldc);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(d(rng)) * (bf16 ? 1.f : 0.5f);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(d(rng)) * 0.25f;
  std::vector<float> bias(static_cast<size_t>(std::max<int64_t>(n, 1)));
  for (auto& x : bias) x = static_cast<float>(d(rng));
  for (size_t i = 0; i < c.size(); ++i) c[i] = std::nanf("");
  std::vector<float> c_old(m * n);
  if (ep.accumulate)
    for (int64_t r = 0; r < m; ++r)
      for (int64_t j = 0; j < n; ++j) c[r * ldc + j] = c_old[r * n + j] = static_cast<float>(d(rng));
  // ep.add non-null: an Epilogue::add operand with a row stride of its own, its own guard page.
  const int64_t ld_add = n + 2;
  Guarded<float> add(m * ld_add);
  for (size_t i = 0; i < add.size(); ++i) add[i] = static_cast<float>(d(rng));
  Epilogue e = ep;
  if (e.bias) e.bias = bias.data();
  if (e.add) {
    e.add = add.data();
    e.ld_add = ld_add;
  }

  PackedB pb;
  pack_b(pb, g.kind, BDesc{b.data(), k, n, ldb, trans_b}, &g);
  Threading th;
  if (threaded) th = Threading{thread_parallel_for, nullptr, 3};
  gemm_f32(m, a.data(), lda, pb, c.data(), ldc, e, th);

  for (int64_t r = 0; r < m; ++r) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t kk = 0; kk < k; ++kk) {
        const float av = a[r * lda + kk], bv = trans_b ? b[j * ldb + kk] : b[kk * ldb + j];
        s += bf16 ? double(bf16_round(av)) * bf16_round(bv) : double(av) * bv;
      }
      if (e.accumulate) s += c_old[r * n + j];
      if (e.add) s += add[r * ld_add + j];
      if (e.bias) s += bias[j];
      const float want = apply_act(static_cast<float>(s), e.act, e.clip_lo, e.clip_hi);
      const float got = c[r * ldc + j];
      INFO(g.name << " m=" << m << " n=" << n << " k=" << k << " r=" << r << " c=" << j);
      REQUIRE(std::abs(got - want) <= 1e-5f * (1 + std::abs(want)) + (e.act >= Act::gelu_erf ? 1e-4f : 0.f));
    }
    for (int64_t j = n; j < ldc && r < m - 1; ++j) REQUIRE(std::isnan(c[r * ldc + j]));
  }
}

void check_int8_kernel(const GemmKernel& g, int64_t m, int64_t n, int64_t k, bool extremes, bool raw32,
                       bool per_col, bool b_zp, std::mt19937& rng, int64_t lda_in = 0) {
  const bool a_signed = g.kind == GemmKind::s8s8;
  const int64_t lda = lda_in ? lda_in : k + 3, ldb = n + 5, ldc = n + 7;
  Guarded<uint8_t> a((m - 1) * lda + k);
  Guarded<int8_t> b(k * ldb);
  std::uniform_int_distribution<int> d(0, 255);
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = extremes ? (a_signed ? 0x80 : 255) : static_cast<uint8_t>(d(rng));
  for (size_t i = 0; i < b.size(); ++i) b[i] = extremes ? int8_t(-128) : static_cast<int8_t>(d(rng) - 128);
  std::vector<float> bscale(per_col ? n : 1);
  for (auto& s : bscale) s = 0.01f * (1 + d(rng) % 7);
  std::vector<int32_t> bzp(per_col ? n : 1);
  for (auto& z : bzp) z = b_zp ? d(rng) % 9 - 4 : 0;
  QuantA qa{0.02f, extremes ? 0 : d(rng) % 11};
  if (a_signed) qa.zero_point -= 5;
  PackedB pb;
  pack_b_int8(pb, g.kind, BDesc{b.data(), k, n, ldb, false}, false, bscale.data(), bscale.size(),
              b_zp ? bzp.data() : nullptr, bzp.size(), &g);
  Guarded<float> c(m * ldc);
  Guarded<int32_t> c32(m * ldc);
  for (size_t i = 0; i < c.size(); ++i) c[i] = std::nanf("");
  for (size_t i = 0; i < c32.size(); ++i) c32[i] = 0x7eadbeef;
  gemm_int8(m, a.data(), lda, qa, pb, raw32 ? nullptr : c.data(), ldc, raw32 ? c32.data() : nullptr, ldc, {},
            {}, {});
  for (int64_t r = 0; r < m; ++r)
    for (int64_t j = 0; j < n; ++j) {
      int64_t s = 0;
      for (int64_t kk = 0; kk < k; ++kk) {
        const int32_t av =
            a_signed ? int32_t{static_cast<int8_t>(a[r * lda + kk])} : int32_t{a[r * lda + kk]};
        s += int64_t(av - qa.zero_point) * (int32_t{b[kk * ldb + j]} - bzp[per_col ? j : 0]);
      }
      INFO(g.name << " m=" << m << " n=" << n << " k=" << k << " r=" << r << " c=" << j);
      if (raw32) {
        REQUIRE(c32[r * ldc + j] == s);
      } else {
        const double want = double(s) * qa.scale * bscale[per_col ? j : 0];
        REQUIRE(std::abs(c[r * ldc + j] - want) <= 1e-5 * (1 + std::abs(want)));
      }
    }
  if (raw32)
    for (int64_t r = 0; r + 1 < m; ++r) REQUIRE(c32[r * ldc + n] == 0x7eadbeef);
}

}  // namespace

TEST_CASE("every float kernel matches the oracle over the edge sweep", "[kernels][gemm]") {
  for (GemmKind kind : {GemmKind::f32, GemmKind::bf16}) {
    for (const GemmKernel* g : kernels_for(kind)) {
      if (!sweep_this(*g)) continue;
      std::mt19937 rng(42);
      const int64_t ms_max = 2 * g->mr + 3;
      for (int64_t m = 1; m <= ms_max; m += (m <= g->mr + 1 ? 1 : g->mr + 1))
        for (int64_t n : around(g->nr, 67))
          for (int64_t k : around(std::max(g->kr, 4), 131))
            check_float_kernel(*g, m, n, k, (m + n) % 2 == 1, {}, false, rng);
      Epilogue ep;
      ep.bias = reinterpret_cast<const float*>(1);  // "use a bias"
      for (Act act :
           {Act::none, Act::relu, Act::clip, Act::gelu_erf, Act::gelu_tanh, Act::silu, Act::hardswish}) {
        ep.act = act;
        ep.clip_lo = -3;
        ep.clip_hi = 5;
        check_float_kernel(*g, g->mr + 1, g->nr + 3, 37, false, ep, false, rng);
        ep.accumulate = true;
        check_float_kernel(*g, 3, 2 * g->nr + 1, 19, true, ep, false, rng);
        ep.accumulate = false;
      }
      // Epilogue::add (a conv's residual read by the epilogue): full and edge tiles, every activation
      // path (registers or spilled), threads.
      Epilogue add;
      add.add = reinterpret_cast<const float*>(1);  // "use an add operand"
      for (Act act : {Act::none, Act::relu, Act::gelu_erf, Act::silu}) {
        add.act = act;
        add.bias = act == Act::relu ? reinterpret_cast<const float*>(1) : nullptr;
        check_float_kernel(*g, 2 * g->mr + 1, 2 * g->nr + 3, 29, false, add, act == Act::none, rng);
        check_float_kernel(*g, 2, g->nr, 8, false, add, false, rng);
      }
      check_float_kernel(*g, 5 * g->mr + 2, 9 * g->nr + 5, 301, false, {}, true, rng);
      // Few rows, many columns: threads split N and share A (bf16 kernels that round their own A keep
      // one copy per thread).
      check_float_kernel(*g, g->mr + 3, 9 * g->nr + 5, 77, false, {}, true, rng);
      // Tall A, several ~512 KiB M blocks per rectangle (bf16 kernels that round their own A do so
      // block by block into their rectangle's slice, the block's first B panels in a skewed order), on
      // one thread, on threads that split N, and on threads that split M.
      check_float_kernel(*g, 260, 4 * g->nr + 1, 1100, false, {}, false, rng);
      check_float_kernel(*g, 260, 2 * g->nr + 1, 1100, true, {}, true, rng);
      check_float_kernel(*g, 260, g->nr - 3, 1100, false, {}, true, rng);
      // 18 A panels x 3 B panels on 3 threads: splitting rows and splitting columns tie, and AMX kernels
      // (square tiles) split the rows (choose_split's rows_first).
      check_float_kernel(*g, 18 * g->mr, 3 * g->nr - 5, 70, false, {}, true, rng);
      // Dense rows (lda = k) and a 4 KiB row stride, which row kernels copy to a padded stride.
      check_float_kernel(*g, g->mr + 3, g->nr + 1, 96, false, {}, false, rng, 96);
      check_float_kernel(*g, g->mr + 3, g->nr + 1, 1000, false, {}, true, rng, 1024);
    }
  }
}

namespace {

// gemm_bf16 on bf16 A against gemm_f32 on the same values in fp32 (which rounds them itself, exactly):
// the same kernel, blocking and order of sums, so C must match bit for bit, canaries included.
void check_bf16_a(const GemmKernel& g, int64_t m, int64_t n, int64_t k, int64_t lda, const Epilogue& ep,
                  bool threaded, std::mt19937& rng) {
  std::normal_distribution<float> d(0.f, 1.f);
  Guarded<uint16_t> a16((m - 1) * lda + k);  // the last row ends at the guard page
  std::vector<float> a32((m - 1) * lda + k);
  for (size_t i = 0; i < a16.size(); ++i) {
    a16[i] = f32_to_bf16(d(rng));
    a32[i] = bf16_to_f32(a16[i]);
  }
  std::vector<float> b(k * n), bias(n), c_old(m * n);
  for (auto& x : b) x = d(rng);
  for (auto& x : bias) x = d(rng);
  for (auto& x : c_old) x = d(rng);
  PackedB pb;
  pack_b(pb, GemmKind::bf16, BDesc{b.data(), k, n, n, false}, &g);
  Epilogue e = ep;
  if (e.bias) e.bias = bias.data();
  const int64_t ldc = n + 3;
  std::vector<float> want(m * ldc, std::nanf("")), got(m * ldc, std::nanf(""));
  if (e.accumulate)
    for (int64_t r = 0; r < m; ++r)
      for (int64_t j = 0; j < n; ++j) want[r * ldc + j] = got[r * ldc + j] = c_old[r * n + j];
  Threading th;
  if (threaded) th = Threading{thread_parallel_for, nullptr, 3};
  gemm_f32(m, a32.data(), lda, pb, want.data(), ldc, e, th);
  gemm_bf16(m, a16.data(), lda, pb, got.data(), ldc, e, th);
  INFO(g.name << " m=" << m << " n=" << n << " k=" << k << " lda=" << lda << " threads=" << threaded);
  REQUIRE(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0);
}

}  // namespace

TEST_CASE("gemm_bf16 on bf16 A equals gemm_f32 on the same values, bit for bit", "[kernels][gemm]") {
  for (const GemmKernel* g : kernels_for(GemmKind::bf16)) {
    if (!sweep_this(*g)) continue;
    std::mt19937 rng(7);
    for (int64_t m : {int64_t{1}, int64_t{g->mr}, int64_t{g->mr + 1}, int64_t{2 * g->mr + 3}})
      for (int64_t n : {int64_t{1}, int64_t{g->nr + 1}, int64_t{3 * g->nr}})
        for (int64_t k : {int64_t{1}, int64_t{2}, int64_t{7}, int64_t{64}, int64_t{131}}) {
          check_bf16_a(*g, m, n, k, k, {}, false, rng);      // dense rows, read in place when k is even
          check_bf16_a(*g, m, n, k, k + 5, {}, false, rng);  // an odd stride
        }
    Epilogue ep;
    ep.bias = reinterpret_cast<const float*>(1);  // "use a bias"
    ep.act = Act::gelu_erf;
    check_bf16_a(*g, g->mr + 2, 2 * g->nr + 1, 40, 40, ep, false, rng);
    ep.act = Act::relu;
    ep.accumulate = true;
    check_bf16_a(*g, 3, g->nr + 5, 33, 40, ep, true, rng);
    // A 4 KiB row stride (2048 bf16), which row kernels copy to a padded stride; threads; a long K
    // that float kinds split into blocks.
    check_bf16_a(*g, g->mr + 3, g->nr + 1, 1000, 2048, {}, true, rng);
    check_bf16_a(*g, 5 * g->mr + 2, 4 * g->nr + 1, 1100, 1100, {}, true, rng);
  }
  std::vector<int8_t> b8(4 * 4, 1);
  PackedB int8;
  const float one = 1.f;
  pack_b_int8(int8, GemmKind::u8s8, BDesc{b8.data(), 4, 4, 4, false}, false, &one, 1, nullptr, 0);
  std::vector<float> b32(4 * 4, 1.f);
  PackedB f32;
  pack_b(f32, GemmKind::f32, BDesc{b32.data(), 4, 4, 4, false});
  std::vector<uint16_t> a(4 * 4, 0x3f80);
  std::vector<float> c(4 * 4);
  REQUIRE_THROWS_WITH(gemm_bf16(4, a.data(), 4, f32, c.data(), 4), "gemm_bf16: B must be packed as bf16");
  REQUIRE_THROWS_AS(gemm_bf16(4, a.data(), 4, int8, c.data(), 4), std::invalid_argument);
}

TEST_CASE("a ones row under B adds A's column K to each row of C (a per-row bias)", "[kernels][gemm]") {
  for (GemmKind kind : {GemmKind::f32, GemmKind::bf16}) {
    for (const GemmKernel* g : kernels_for(kind)) {
      if (!sweep_this(*g)) continue;
      std::mt19937 rng(7);
      std::uniform_int_distribution<int> d(-8, 8);  // small integers: exact sums in fp32 and bf16
      for (int64_t m : {int64_t{1}, int64_t{g->mr}, int64_t{g->mr + 1}, int64_t{2 * g->mr + 3}})
        for (int64_t n : around(g->nr, 67))
          for (int64_t k : {int64_t{1}, int64_t{g->kr + 1}, int64_t{37}})
            for (bool threaded : {false, true}) {
              const int64_t lda = k + 4, ldb = n + 5, ldc = n + 7;
              Guarded<float> a((m - 1) * lda + k + 1), b(k * ldb), c(m * ldc);
              for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(d(rng));
              for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(d(rng)) * 0.25f;
              for (size_t i = 0; i < c.size(); ++i) c[i] = std::nanf("");
              PackedB pb;
              pack_b(pb, kind, BDesc{b.data(), k, n, ldb, false, /*ones_row=*/true}, g);
              REQUIRE(pb.k() == k + 1);
              Threading th;
              if (threaded) th = Threading{thread_parallel_for, nullptr, 3};
              gemm_f32(m, a.data(), lda, pb, c.data(), ldc, {}, th);
              for (int64_t r = 0; r < m; ++r) {
                for (int64_t j = 0; j < n; ++j) {
                  double want = a[r * lda + k];
                  for (int64_t kk = 0; kk < k; ++kk) want += double(a[r * lda + kk]) * b[kk * ldb + j];
                  INFO(g->name << " m=" << m << " n=" << n << " k=" << k << " r=" << r << " c=" << j);
                  REQUIRE(c[r * ldc + j] == static_cast<float>(want));
                }
                for (int64_t j = n; j < ldc && r < m - 1; ++j) REQUIRE(std::isnan(c[r * ldc + j]));
              }
            }
    }
  }
  const float b[4] = {1, 2, 3, 4};
  PackedB pb;
  CHECK_THROWS(pack_b(pb, GemmKind::f32, BDesc{b, 2, 2, 2, /*trans=*/true, /*ones_row=*/true}));
  const int8_t q[4] = {1, 2, 3, 4};
  const float scale = 1.f;
  if (dispatched(GemmKind::u8s8))
    CHECK_THROWS(
        pack_b_int8(pb, GemmKind::u8s8, BDesc{q, 2, 2, 2, false, true}, false, &scale, 1, nullptr, 0));
}

TEST_CASE("f32 kernels with b_rows read B in place (view_b_rows) and add Epilogue::row_bias",
          "[kernels][gemm]") {
  int viewed = 0;
  for (const GemmKernel* g : kernels_for(GemmKind::f32)) {
    if (!sweep_this(*g)) continue;
    PackedB probe;
    const float one = 1.f;
    if (!g->b_rows) {
      CHECK_FALSE(view_b_rows(probe, &one, 1, 1, 1, g));
      continue;
    }
    ++viewed;
    std::mt19937 rng(11);
    std::uniform_int_distribution<int> d(-8, 8);  // small integers: exact sums in any order
    // k = 4000: a long K that float kinds split into blocks (row_bias belongs to the first only).
    for (int64_t m : {int64_t{1}, int64_t{g->mr}, int64_t{g->mr + 1}, int64_t{2 * g->mr + 3}})
      for (int64_t n : around(g->nr, 67))
        for (int64_t k : {int64_t{1}, int64_t{2}, int64_t{37}, int64_t{4000}})
          for (int variant = 0; variant < 3; ++variant) {
            if (k == 4000 && (n > g->nr + 1 || m > g->mr + 1)) continue;  // keep the sweep quick
            const int64_t lda = k + 3, ldb = n + 5, ldc = n + 7;
            // B's last row ends at the guard page: a kernel reading a column past n faults.
            Guarded<float> a((m - 1) * lda + k), b((k - 1) * ldb + n), c(m * ldc);
            std::vector<float> bias(m), old(m * ldc), add(m * n);
            for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(d(rng));
            for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(d(rng)) * 0.25f;
            for (auto& x : bias) x = static_cast<float>(d(rng));
            for (auto& x : add) x = static_cast<float>(d(rng));
            for (size_t i = 0; i < c.size(); ++i)
              c[i] = old[i] = i % 3 ? static_cast<float>(d(rng)) : std::nanf("");
            PackedB pb;
            REQUIRE(view_b_rows(pb, b.data(), k, n, ldb, g));
            // 0: row bias, one thread; 1: row bias, relu, accumulate onto C, threads; 2: Epilogue::add and
            // a column bias, threads.
            Epilogue ep;
            std::vector<float> col_bias(n, 0.5f);
            if (variant < 2) ep.row_bias = bias.data();
            if (variant == 1) {
              ep.act = Act::relu;
              ep.accumulate = true;
              for (int64_t r = 0; r < m; ++r)
                for (int64_t j = 0; j < n; ++j)
                  c[r * ldc + j] = old[r * ldc + j] = static_cast<float>(d(rng));
            }
            if (variant == 2) {
              ep.add = add.data();
              ep.ld_add = n;
              ep.bias = col_bias.data();
            }
            Threading th;
            if (variant > 0) th = Threading{thread_parallel_for, nullptr, 3};
            gemm_f32(m, a.data(), lda, pb, c.data(), ldc, ep, th);
            for (int64_t r = 0; r < m; ++r) {
              for (int64_t j = 0; j < n; ++j) {
                double want = variant < 2 ? bias[r] : add[r * n + j] + 0.5;
                if (variant == 1) want += old[r * ldc + j];
                for (int64_t kk = 0; kk < k; ++kk) want += double(a[r * lda + kk]) * b[kk * ldb + j];
                if (variant == 1) want = std::max(want, 0.0);
                INFO(g->name << " m=" << m << " n=" << n << " k=" << k << " variant " << variant << " r=" << r
                             << " c=" << j);
                REQUIRE(c[r * ldc + j] == static_cast<float>(want));
              }
              for (int64_t j = n; j < ldc && r < m - 1; ++j) {
                const float o = old[r * ldc + j];
                REQUIRE((std::isnan(o) ? std::isnan(c[r * ldc + j]) : c[r * ldc + j] == o));
              }
            }
            // Packing into the same PackedB afterwards gives an ordinary packed B again.
            std::vector<float> dense(k * n);
            for (int64_t kk = 0; kk < k; ++kk)
              for (int64_t j = 0; j < n; ++j) dense[kk * n + j] = b[kk * ldb + j];
            pack_b(pb, GemmKind::f32, BDesc{dense.data(), k, n, n, false}, g);
            std::vector<float> c2(m * n);
            gemm_f32(m, a.data(), lda, pb, c2.data(), n, {}, {});
            for (int64_t j = 0; j < n; ++j) {
              double want = 0;
              for (int64_t kk = 0; kk < k; ++kk) want += double(a[kk]) * b[kk * ldb + j];
              REQUIRE(c2[j] == static_cast<float>(want));
            }
          }
  }
  CHECK(viewed > 0);  // the reference kernel reads B rows on every host
  // row_bias needs a B read in place: a packed one has no per-row bias path.
  const float b[4] = {1, 2, 3, 4}, rb[2] = {1, 1};
  float c[4];
  PackedB pb;
  pack_b(pb, GemmKind::f32, BDesc{b, 2, 2, 2, false});
  Epilogue ep;
  ep.row_bias = rb;
  CHECK_THROWS_AS(gemm_f32(2, b, 2, pb, c, 2, ep), std::invalid_argument);
  CHECK_THROWS_AS(view_b_rows(pb, b, 2, 3, 2), std::invalid_argument);  // ldb < n
}

// fp32 B packs for bf16 kernels through a vectorized row path, or (given transposed) a column path. Both
// must give the bits of the panel layout filled element by element with f32_to_bf16: rounding ties, NaNs,
// infinities and denormals included, padding and ones row too, over a reused PackedB's stale contents.
TEST_CASE("bf16 panels packed from rows or transposed rows hold f32_to_bf16 of every element", "[kernels][gemm]") {
  const uint32_t special[] = {0x3f808000u, 0x3f818000u, 0xbf808000u, 0x7fc00001u, 0xffa00000u, 0x7f800000u,
                              0xff800000u, 0x00000001u, 0x807fffffu, 0x7f7fffffu, 0x00000000u, 0x80000000u,
                              0x7f800001u, 0x7fffffffu, 0xff800001u};
  for (const GemmKernel* g : kernels_for(GemmKind::bf16)) {
    std::mt19937 rng(13);
    std::uniform_real_distribution<float> d(-2.f, 2.f);
    PackedB pb;  // reused across shapes and paths
    for (int path = 0; path < 3; ++path)  // rows, rows + ones row, transposed
      for (int64_t n : around(g->nr, 70))
        for (int64_t k : {int64_t{1}, int64_t{g->kr + 1}, int64_t{7}, int64_t{64}}) {
          const bool ones = path == 1, trans = path == 2;
          std::vector<float> b(static_cast<size_t>(k * n)), bt(b.size());
          for (size_t i = 0; i < b.size(); ++i) {
            if (i % 5 == 0) {
              const uint32_t u = special[(i / 5) % std::size(special)];
              std::memcpy(&b[i], &u, 4);
            } else {
              b[i] = d(rng);
            }
          }
          for (int64_t kk = 0; kk < k; ++kk)
            for (int64_t j = 0; j < n; ++j) bt[static_cast<size_t>(j * k + kk)] = b[static_cast<size_t>(kk * n + j)];
          std::vector<float> stale(static_cast<size_t>((k + 3) * (n + g->nr)), std::nanf(""));
          pack_b(pb, GemmKind::bf16, BDesc{stale.data(), k + 3, n + g->nr, n + g->nr}, g);
          if (trans)
            pack_b(pb, GemmKind::bf16, BDesc{bt.data(), k, n, k, /*trans=*/true}, g);
          else
            pack_b(pb, GemmKind::bf16, BDesc{b.data(), k, n, n, false, ones}, g);
          INFO(g->name << " n=" << n << " k=" << k << " path=" << path);
          const int nr = g->nr, kr = g->kr;
          REQUIRE(pb.k() == k + (ones ? 1 : 0));
          REQUIRE(pb.k_padded_ == (pb.k() + kr - 1) / kr * kr);
          const int64_t groups = pb.k_padded_ / kr;
          const uint16_t* p = static_cast<const uint16_t*>(pb.panels());
          for (int64_t j = 0; j < pb.n_panels_; ++j)
            for (int c = 0; c < nr; ++c) {
              const int64_t col = j * nr + c;
              for (int64_t kk = 0; kk < pb.k_padded_; ++kk) {
                const uint16_t got = p[((j * groups + kk / kr) * nr + c) * kr + kk % kr];
                uint16_t expect = 0;
                if (col < n && kk < k) expect = f32_to_bf16(b[static_cast<size_t>(kk * n + col)]);
                if (col < n && kk == k && ones) expect = 0x3f80;
                REQUIRE(got == expect);
              }
            }
        }
  }
}

// f32 B given transposed packs through its own column path: the same panels as B given as rows.
TEST_CASE("f32 panels packed from transposed rows equal those packed from rows", "[kernels][gemm]") {
  for (const GemmKernel* g : kernels_for(GemmKind::f32)) {
    std::mt19937 rng(17);
    std::uniform_real_distribution<float> d(-1.f, 1.f);
    PackedB pb;
    for (int64_t n : around(g->nr, 70))
      for (int64_t k : {int64_t{1}, int64_t{7}, int64_t{64}}) {
        std::vector<float> b(static_cast<size_t>(k * n)), bt(b.size());
        for (float& v : b) v = d(rng);
        for (int64_t kk = 0; kk < k; ++kk)
          for (int64_t j = 0; j < n; ++j) bt[static_cast<size_t>(j * k + kk)] = b[static_cast<size_t>(kk * n + j)];
        PackedB want;
        pack_b(want, GemmKind::f32, BDesc{b.data(), k, n, n}, g);
        std::vector<float> stale(static_cast<size_t>((k + 3) * (n + g->nr)), std::nanf(""));
        pack_b(pb, GemmKind::f32, BDesc{stale.data(), k + 3, n + g->nr, n + g->nr}, g);
        pack_b(pb, GemmKind::f32, BDesc{bt.data(), k, n, k, /*trans=*/true}, g);
        INFO(g->name << " n=" << n << " k=" << k);
        REQUIRE(pb.bytes() == want.bytes());
        REQUIRE(std::memcmp(pb.panels(), want.panels(), want.bytes()) == 0);
      }
  }
}

// A conv writes its im2col straight into the panels (pack_b_f32_rows); the result must be the panels
// pack_b makes of the same B, padding and ones row included, over stale contents of a reused PackedB.
TEST_CASE("panels written through pack_b_f32_rows equal pack_b's", "[kernels][gemm]") {
  for (const GemmKernel* g : kernels_for(GemmKind::f32)) {
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> d(-1.f, 1.f);
    PackedB rows;  // reused: the previous shape's values must not survive in the padding
    for (bool ones : {false, true})
      for (int64_t n : around(g->nr, 70))
        for (int64_t k : {int64_t{1}, int64_t{7}, int64_t{64}}) {
          std::vector<float> b(static_cast<size_t>(k * n));
          for (float& v : b) v = d(rng);
          PackedB want;
          pack_b(want, GemmKind::f32, BDesc{b.data(), k, n, n, false, ones}, g);
          // Fill the buffer with NaN first, as a stale previous pack would leave it.
          const PanelRows big = pack_b_f32_rows(rows, k + 3, n + g->nr, true, g);
          std::fill(big.data, big.data + rows.bytes() / sizeof(float), std::nanf(""));
          const PanelRows pr = pack_b_f32_rows(rows, k, n, ones, g);
          REQUIRE(pr.nr == g->nr);
          for (int64_t kk = 0; kk < k; ++kk)
            for (int64_t j = 0; j < n; ++j) *pr.at(kk, j) = b[static_cast<size_t>(kk * n + j)];
          INFO(g->name << " n=" << n << " k=" << k << " ones=" << ones);
          REQUIRE(rows.k() == want.k());
          REQUIRE(rows.n() == want.n());
          REQUIRE(rows.bytes() == want.bytes());
          REQUIRE(std::memcmp(rows.panels(), want.panels(), want.bytes()) == 0);
        }
  }
  if (const GemmKernel* bf = dispatched(GemmKind::bf16)) {
    PackedB pb;
    CHECK_THROWS(pack_b_f32_rows(pb, 4, 4, false, bf));
  }
}

// Epilogue::add on fp32 int8 output: act(A*B dequantized + add), against the same call without it; full
// tiles store from the registers, so this also checks their clip against the scalar one (within rounding).
TEST_CASE("int8 kernels add Epilogue::add before relu or clip", "[kernels][gemm][int8]") {
  for (GemmKind kind : {GemmKind::u8s8, GemmKind::s8s8})
    for (const GemmKernel* g : kernels_for(kind)) {
      if (!sweep_this(*g)) continue;
      std::mt19937 rng(5);
      std::uniform_int_distribution<int> d(0, 255);
      for (int64_t n : {int64_t{g->nr}, int64_t{2 * g->nr + 5}}) {
        const int64_t m = g->mr + 2, k = 45, ld = n + 3;
        std::vector<uint8_t> a(m * k);
        std::vector<int8_t> b(k * n);
        std::vector<float> add(m * ld);
        for (auto& v : a) v = static_cast<uint8_t>(d(rng));
        for (auto& v : b) v = static_cast<int8_t>(d(rng) - 128);
        for (auto& v : add) v = static_cast<float>(d(rng) - 128);
        const float scale = 0.01f;
        PackedB pb;
        pack_b_int8(pb, kind, BDesc{b.data(), k, n, n, false}, false, &scale, 1, nullptr, 0, g);
        std::vector<float> plain(m * n), with(m * n);
        const QuantA qa{0.02f, 3};
        gemm_int8(m, a.data(), k, qa, pb, plain.data(), n, nullptr, 0, {}, {}, {});
        for (Act act : {Act::relu, Act::clip}) {
          Epilogue ep;
          ep.add = add.data();
          ep.ld_add = ld;
          ep.act = act;
          ep.clip_lo = -20.f;
          ep.clip_hi = 30.f;
          gemm_int8(m, a.data(), k, qa, pb, with.data(), n, nullptr, 0, ep, {}, {});
          for (int64_t r = 0; r < m; ++r)
            for (int64_t j = 0; j < n; ++j) {
              INFO(g->name << " n=" << n << " r=" << r << " c=" << j << " act=" << int(act));
              // Not bit-exact: a compiler may fuse the scale and the add into one FMA on some paths.
              const float v = plain[r * n + j] + add[r * ld + j];
              const float want = act == Act::relu ? std::max(0.f, v) : std::min(std::max(v, -20.f), 30.f);
              REQUIRE(std::abs(with[r * n + j] - want) <= 1e-5f * (1 + std::abs(want)));
            }
        }
      }
    }
}

TEST_CASE("every int8 kernel is exact over the edge sweep", "[kernels][gemm][int8]") {
  for (GemmKind kind : {GemmKind::u8s8, GemmKind::s8s8}) {
    for (const GemmKernel* g : kernels_for(kind)) {
      if (!sweep_this(*g)) continue;
      std::mt19937 rng(7);
      for (int64_t m = 1; m <= g->mr + 1; ++m)
        for (int64_t n : around(g->nr, 45))
          for (int64_t k : around(g->kr * 4, 77))
            check_int8_kernel(*g, m, n, k, false, (m + n + k) % 2 == 0, n % 2 == 0, k % 3 == 0, rng);
      // 255 x -128 over a large K overflows any 16-bit intermediate.
      check_int8_kernel(*g, g->mr, g->nr + 1, 4099, true, true, false, false, rng);
      check_int8_kernel(*g, 2 * g->mr + 1, 3 * g->nr, 1024, false, false, true, true, rng);
      // Dense rows (lda = k, with and without a K tail) and a 4 KiB row stride.
      check_int8_kernel(*g, g->mr + 3, g->nr + 1, 64, false, false, false, false, rng, 64);
      check_int8_kernel(*g, g->mr + 3, g->nr + 1, 61, false, true, false, false, rng, 61);
      check_int8_kernel(*g, g->mr + 3, g->nr + 1, 300, false, false, true, false, rng, 4096);
    }
  }
}

// QuantOut: the requantized u8/s8 output equals QuantizeLinear of the fp32 result of the same kernel
// (after bias and activation), whether or not the caller also takes that fp32 C (without it, kernels
// with GemmKernel::requant_out requantize full-width tiles in their own store); the bytes past N in
// each output row stay untouched. Scale 1 takes the requantizing loops' path without a division.
void check_quant_out(const GemmKernel& g, int64_t m, int64_t n, int64_t k, bool out_signed, bool with_c,
                     bool threaded, Act act, float q_scale, std::mt19937& rng) {
  const bool a_signed = g.kind == GemmKind::s8s8;
  std::uniform_int_distribution<int> d(0, 255);
  Guarded<uint8_t> a(m * k);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<uint8_t>(d(rng));
  std::vector<int8_t> b(k * n);
  for (auto& v : b) v = static_cast<int8_t>(d(rng) - 128);
  std::vector<float> bias(n), bscale(n);
  for (int64_t j = 0; j < n; ++j) {
    bias[j] = 0.5f * static_cast<float>(d(rng) - 128);
    bscale[j] = 0.002f * static_cast<float>(1 + d(rng) % 5);
  }
  PackedB pb;
  pack_b_int8(pb, g.kind, BDesc{b.data(), k, n, n, false}, false, bscale.data(), n, nullptr, 0, &g);
  const QuantA qa{0.05f, a_signed ? -3 : 9};
  Epilogue ep;
  ep.bias = bias.data();
  ep.act = act;
  ep.clip_lo = -10.f;  // inside the byte range at both output scales
  ep.clip_hi = 20.5f;
  Threading th;
  if (threaded) th = Threading{thread_parallel_for, nullptr, 3};
  std::vector<float> want_c(m * n);
  gemm_int8(m, a.data(), k, qa, pb, want_c.data(), n, nullptr, 0, ep, {}, th);

  const int64_t ldq = n + 3;
  Guarded<uint8_t> q(m * ldq);
  for (size_t i = 0; i < q.size(); ++i) q[i] = 0xcc;
  QuantOut qo;
  qo.enabled = true;
  qo.is_signed = out_signed;
  qo.scale = q_scale;  // results span about +-150: at 0.4 both saturation ends are reached
  qo.zero_point = out_signed ? -5 : 100;
  qo.data = q.data();
  qo.ld = ldq;
  std::vector<float> c(with_c ? m * n : 0, std::nanf(""));
  gemm_int8(m, a.data(), k, qa, pb, with_c ? c.data() : nullptr, n, nullptr, 0, ep, qo, th);
  if (with_c) REQUIRE(c == want_c);
  std::vector<uint8_t> want(n);
  for (int64_t r = 0; r < m; ++r) {
    quantize_ops_ref().requantize(want_c.data() + r * n, n, qo.scale, qo.zero_point, out_signed, want.data());
    INFO(g.name << " m=" << m << " n=" << n << " k=" << k << " signed=" << out_signed << " with_c=" << with_c
                << " r=" << r);
    REQUIRE(std::equal(want.begin(), want.end(), q.data() + r * ldq));
    for (int64_t j = n; j < ldq && r + 1 < m; ++j) REQUIRE(q[r * ldq + j] == 0xcc);
  }
}

TEST_CASE("every int8 kernel writes requantized u8/s8 output (QuantOut)", "[kernels][gemm][int8]") {
  for (GemmKind kind : {GemmKind::u8s8, GemmKind::s8s8}) {
    for (const GemmKernel* g : kernels_for(kind)) {
      if (!sweep_this(*g)) continue;
      std::mt19937 rng(17);
      int i = 0;
      for (int64_t m : {int64_t{1}, int64_t{g->mr}, int64_t{2 * g->mr + 3}})
        for (int64_t n : {int64_t{1}, int64_t{g->nr + 1}, int64_t{2 * g->nr + 5}}) {
          ++i;
          const Act act = i / 2 % 3 == 0 ? Act::none : i / 2 % 3 == 1 ? Act::relu : Act::clip;
          check_quant_out(*g, m, n, 45, i % 2 == 0, i % 4 == 0, i % 5 == 0, act, i % 3 ? 0.4f : 1.f, rng);
        }
      // Threads that split rows where splitting columns costs the same (see the float sweep).
      check_quant_out(*g, 18 * g->mr, 3 * g->nr - 5, 45, false, true, true, Act::relu, 0.4f, rng);
    }
  }
  // Requantized output is taken from the fp32 result: asking for it with the raw int32 sums is refused.
  const std::vector<int8_t> b(8 * 4, 1);
  const float sc = 1.f;
  PackedB pb;
  pack_b_int8(pb, GemmKind::u8s8, BDesc{b.data(), 8, 4, 4, false}, false, &sc, 1, nullptr, 0);
  const std::vector<uint8_t> a(2 * 8, 1);
  std::vector<int32_t> c32(2 * 4);
  std::vector<uint8_t> q(2 * 4);
  QuantOut qo;
  qo.enabled = true;
  qo.data = q.data();
  qo.ld = 4;
  REQUIRE_THROWS_WITH(gemm_int8(2, a.data(), 8, {}, pb, nullptr, 0, c32.data(), 4, {}, qo),
                      Catch::Contains("raw int32"));
  qo.scale = 0.f;
  REQUIRE_THROWS_WITH(gemm_int8(2, a.data(), 8, {}, pb, nullptr, 0, nullptr, 0, {}, qo),
                      Catch::Contains("positive"));
  qo.scale = 1.f;
  qo.ld = 3;
  REQUIRE_THROWS_WITH(gemm_int8(2, a.data(), 8, {}, pb, nullptr, 0, nullptr, 0, {}, qo),
                      Catch::Contains("stride"));
}

TEST_CASE("dynamic u8 quantization fused into packing follows DynamicQuantizeLinear",
          "[kernels][gemm][int8]") {
  const int64_t m = 5, n = 19, k = 33;
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> a(m * k);
  std::vector<int8_t> b(k * n);
  for (auto& x : a) x = d(rng);
  for (auto& x : b) x = static_cast<int8_t>(std::clamp(d(rng) * 40.f, -127.f, 127.f));
  const float bs = 0.01f;
  PackedB pb;
  pack_b_int8(pb, GemmKind::u8s8, BDesc{b.data(), k, n, n, false}, false, &bs, 1, nullptr, 0);
  std::vector<float> c(m * n);
  QuantA qa;
  gemm_f32_dynamic_u8(m, a.data(), k, pb, c.data(), n, {}, {}, &qa);
  float lo = 0, hi = 0;
  for (float x : a) lo = std::min(lo, x), hi = std::max(hi, x);
  REQUIRE(qa.scale == Approx((hi - lo) / 255.f));
  for (int64_t r = 0; r < m; ++r)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t kk = 0; kk < k; ++kk) {
        const float q = std::clamp(std::nearbyint(a[r * k + kk] / qa.scale) + qa.zero_point, 0.f, 255.f);
        s += (q - qa.zero_point) * double(b[kk * n + j]);
      }
      REQUIRE(c[r * n + j] == Approx(s * qa.scale * bs).margin(1e-4));
    }
  // A big enough A finds its range on all threads: the extremes sit in the last rows, in different
  // chunks, and the result equals one thread's bit for bit.
  const int64_t bm = 300, bk = 256;
  std::vector<float> big(bm * bk);
  for (auto& x : big) x = d(rng);
  big[(bm - 1) * bk + 7] = 9.5f;
  big[(bm - 40) * bk + 3] = -7.25f;
  std::vector<int8_t> bb(bk * n);
  for (auto& x : bb) x = static_cast<int8_t>(std::clamp(d(rng) * 40.f, -127.f, 127.f));
  PackedB pbig;
  pack_b_int8(pbig, GemmKind::u8s8, BDesc{bb.data(), bk, n, n, false}, false, &bs, 1, nullptr, 0);
  std::vector<float> c1(bm * n), c3(bm * n);
  QuantA q1, q3;
  gemm_f32_dynamic_u8(bm, big.data(), bk, pbig, c1.data(), n, {}, {}, &q1);
  gemm_f32_dynamic_u8(bm, big.data(), bk, pbig, c3.data(), n, {}, Threading{thread_parallel_for, nullptr, 3},
                      &q3);
  REQUIRE(q1.scale == (9.5f + 7.25f) / 255.f);
  REQUIRE(q3.scale == q1.scale);
  REQUIRE(q3.zero_point == q1.zero_point);
  REQUIRE(c3 == c1);
}

// Threads take over each other's units (work_claims.h): a schedule that runs task 0 to the end before
// any other task starts must find C complete when task 0 returns, equal bit for bit to one thread's C,
// in every split the driver picks (N split with bf16 A rounded by every thread, M split, K blocks).
struct TakeoverCheck {
  const std::vector<float>* want = nullptr;
  const std::vector<float>* got = nullptr;
  bool complete_after_first = false;
};
TakeoverCheck g_takeover;

void first_task_then_rest(void*, int64_t n, void (*task)(void*, int64_t), void* ctx) {
  task(ctx, 0);
  g_takeover.complete_after_first = std::memcmp(g_takeover.got->data(), g_takeover.want->data(),
                                                g_takeover.want->size() * sizeof(float)) == 0;
  for (int64_t i = 1; i < n; ++i) task(ctx, i);
}

TEST_CASE("the first task takes over the other threads' units: C is complete when it returns",
          "[kernels][gemm]") {
  struct Shape {
    int64_t m, k;
  };
  for (GemmKind kind : {GemmKind::f32, GemmKind::bf16, GemmKind::u8s8})
    for (const GemmKernel* g : kernels_for(kind)) {
      if (!sweep_this(*g)) continue;
      // 47 rows (a balanced tail), 300 rows (several A panels per thread), K long enough for the float
      // kinds' K blocks.
      for (Shape sh : {Shape{47, 300}, Shape{300, 160}, Shape{20, 3100}}) {
        const int64_t m = sh.m, k = sh.k, n = 9 * g->nr + 7;
        std::mt19937 rng(static_cast<unsigned>(m + k));
        std::vector<float> want(m * n), got(m * n);
        PackedB pb;
        std::vector<float> af(m * k);
        std::vector<uint8_t> a8(m * k);
        if (kind == GemmKind::u8s8) {
          std::uniform_int_distribution<int> d(0, 255);
          for (auto& v : a8) v = static_cast<uint8_t>(d(rng));
          std::vector<int8_t> b(k * n);
          for (auto& v : b) v = static_cast<int8_t>(d(rng) - 128);
          std::vector<float> bscale(n, 0.01f);
          pack_b_int8(pb, kind, BDesc{b.data(), k, n, n, false}, false, bscale.data(), n, nullptr, 0, g);
        } else {
          std::uniform_real_distribution<float> d(-1.f, 1.f);
          for (auto& v : af) v = d(rng);
          std::vector<float> b(k * n);
          for (auto& v : b) v = d(rng);
          pack_b(pb, kind, BDesc{b.data(), k, n, n, false}, g);
        }
        auto run = [&](std::vector<float>& c, const Threading& th) {
          std::fill(c.begin(), c.end(), std::nanf(""));
          if (kind == GemmKind::u8s8)
            gemm_int8(m, a8.data(), k, QuantA{0.05f, 7}, pb, c.data(), n, nullptr, 0, {}, {}, th);
          else
            gemm_f32(m, af.data(), k, pb, c.data(), n, {}, th);
        };
        run(want, Threading{});
        g_takeover = {&want, &got, false};
        for (int threads : {2, 3, 4}) {
          run(got, Threading{first_task_then_rest, nullptr, threads});
          INFO(g->name << " m=" << m << " k=" << k << " threads=" << threads);
          CHECK(g_takeover.complete_after_first);
          REQUIRE(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) == 0);
        }
      }
    }
}

TEST_CASE("dispatch honours ORTKIT_MAX_ISA and pins, and explains rejections", "[kernels][dispatch]") {
  for (GemmKind kind : {GemmKind::f32, GemmKind::bf16, GemmKind::u8s8, GemmKind::s8s8}) {
    const auto& table = kernels_for(kind);
    REQUIRE(!table.empty());
    REQUIRE(std::string(table.back()->isa) == "ref");
    const DispatchDecision capped = choose_kernel(kind, host_features(), "ref");
    REQUIRE(std::string(capped.chosen->isa) == "ref");
    REQUIRE(capped.rejected.size() == table.size() - 1);
    const DispatchDecision none = choose_kernel(kind, CpuFeatures{}, "");
    REQUIRE(std::string(none.chosen->isa) == "ref");
    const DispatchDecision pinned = choose_kernel(kind, host_features(), "", table.back()->name);
    REQUIRE(pinned.chosen == table.back());
  }
  REQUIRE(find_kernel("gemm_f32_ref_4x8") != nullptr);
  REQUIRE(find_kernel("no_such_kernel") == nullptr);
}

TEST_CASE("bf16 fast math runs the f32 kernel where vdpbf16ps is the slower instruction",
          "[kernels][dispatch]") {
  const GemmKernel* b = kernels_for(GemmKind::bf16).front();
  const GemmKernel* f = kernels_for(GemmKind::f32).front();
  // Emerald Rapids, measured: vdpbf16ps zmm 86 GFLOP/s, vfmadd231ps zmm 175 on one core.
  const Bf16FastMath slow = bf16_fast_math_rule(*b, *f, 86e9, 175e9);
  CHECK(slow.kind == GemmKind::f32);
  CHECK(slow.reason.find(f->name) != std::string::npos);
  CHECK(slow.reason.find(b->name) != std::string::npos);
  CHECK(slow.reason.find("86 GFLOP/s") != std::string::npos);
  // Zen 4, measured: 2x the FMA rate; and the edges of the 0.8 cut.
  CHECK(bf16_fast_math_rule(*b, *f, 216e9, 108e9).kind == GemmKind::bf16);
  CHECK(bf16_fast_math_rule(*b, *f, 80e9, 100e9).kind == GemmKind::bf16);
  CHECK(bf16_fast_math_rule(*b, *f, 79e9, 100e9).kind == GemmKind::f32);
  // A failed probe (0 ops/s) never changes the kernel.
  CHECK(bf16_fast_math_rule(*b, *f, 0, 100e9).kind == GemmKind::bf16);
  CHECK(bf16_fast_math_rule(*b, *f, 50e9, 0).kind == GemmKind::bf16);
  CHECK(bf16_fast_math_rule(*b, *f, 216e9, 108e9).reason.empty());
}

TEST_CASE("every float kernel's epilogue activations hold at extreme values", "[kernels][gemm][epilogue]") {
  // C = act(A * 1) over values from tiny to near FLT_MAX, both signs, in full-width and edge tiles: the
  // exp-based activations clamp their exp, and a huge negative input must still give (about) zero.
  std::vector<float> vals;
  for (float v : {0.f, 1e-30f, 0.5f, 2.9f, 3.1f, 10.f, 20.f, 40.f, 87.f, 88.f, 89.f, 100.f, 1e4f, 1e20f,
                  1e30f, 1e36f, 3e38f})
    vals.insert(vals.end(), {v, -v});
  const int64_t m = static_cast<int64_t>(vals.size());
  for (const GemmKernel* g : kernels_for(GemmKind::f32)) {
    if (!sweep_this(*g)) continue;
    const int64_t n = g->nr + 3;
    std::vector<float> ones(static_cast<size_t>(n), 1.f), c(static_cast<size_t>(m * n));
    PackedB pb;
    pack_b(pb, GemmKind::f32, BDesc{ones.data(), 1, n, n, false}, g);
    for (Act act : {Act::relu, Act::clip, Act::gelu_erf, Act::gelu_tanh, Act::silu, Act::hardswish}) {
      Epilogue e;
      e.act = act;
      e.clip_lo = -3.f;
      e.clip_hi = 5.f;
      gemm_f32(m, vals.data(), 1, pb, c.data(), n, e, {});
      for (int64_t r = 0; r < m; ++r)
        for (int64_t j = 0; j < n; ++j) {
          const float want = apply_act(vals[static_cast<size_t>(r)], act, -3.f, 5.f), got = c[r * n + j];
          INFO(g->name << " act " << act_name(act) << " v " << vals[static_cast<size_t>(r)] << " col " << j
                       << " got " << got << " want " << want);
          REQUIRE(std::isfinite(got) == std::isfinite(want));
          if (std::isfinite(want)) REQUIRE(std::abs(got - want) <= 1e-5f * std::max(1.f, std::abs(want)));
        }
    }
  }
}
