// x86 lane tests beyond the generic registry sweep: the driver's K blocking (long K, float kinds), the
// threaded split at decode-sized M, bf16 A rounded by each thread that reads it, the AVX-512 A packers
// against the portable packer (bit-identical panels, including NaN/Inf/denormal rounding to bf16 and the s8
// sign flip), and the peak/bandwidth probes. Kernels this CPU cannot run are skipped with a warning.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "ortkit/kernels/epilogue.h"
#include "ortkit/kernels/gemm.h"
#include "ortkit/kernels/peak.h"
#include "ortkit/kernels/registry.h"

using namespace ortkit::kernels;

namespace {

// Same rule as dispatch: the features, and for SVE kernels the exact vector length their NR assumes.
bool runnable(const GemmKernel& g) {
  const CpuFeatures& f = host_features();
  return f.has_all(g.features) && (g.sve_bits == 0 || g.sve_bits == f.sve_vector_bits);
}

void two_threads(void*, int64_t n, void (*task)(void*, int64_t), void* ctx) {
  std::thread t([=] {
    for (int64_t i = 1; i < n; i += 2) task(ctx, i);
  });
  for (int64_t i = 0; i < n; i += 2) task(ctx, i);
  t.join();
}

float bf16r(float v) {
  return bf16_to_f32(f32_to_bf16(v));
}

// C = act(C_old + A*B + bias) against a double oracle; tolerance scaled by K (fp32 rounding over K terms).
void check_long_k(const GemmKernel& g, int64_t m, int64_t n, int64_t k, const Threading& th) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> a(m * k), b(k * n), bias(n), c(m * n), c_old(m * n);
  for (auto& x : a) x = d(rng);
  for (auto& x : b) x = d(rng);
  for (auto& x : bias) x = d(rng);
  for (size_t i = 0; i < c.size(); ++i) c[i] = c_old[i] = d(rng);
  PackedB pb;
  pack_b(pb, g.kind, BDesc{b.data(), k, n, n, false}, &g);
  Epilogue ep;
  ep.bias = bias.data();
  ep.act = Act::gelu_erf;
  ep.accumulate = true;
  gemm_f32(m, a.data(), k, pb, c.data(), n, ep, th);
  const bool bf = g.kind == GemmKind::bf16;
  for (int64_t r = 0; r < m; ++r)
    for (int64_t j = 0; j < n; ++j) {
      double s = c_old[r * n + j] + bias[j];
      for (int64_t kk = 0; kk < k; ++kk)
        s += bf ? double(bf16r(a[r * k + kk])) * bf16r(b[kk * n + j]) : double(a[r * k + kk]) * b[kk * n + j];
      const double want = 0.5 * s * (1 + std::erf(s / std::sqrt(2.0)));
      INFO(g.name << " m=" << m << " n=" << n << " k=" << k << " r=" << r << " c=" << j);
      REQUIRE(std::abs(c[r * n + j] - want) <= 2e-6 * std::sqrt(double(k)) * 8 + 1e-4);
    }
}

}  // namespace

TEST_CASE("float kernels stay correct when the driver splits a long K", "[kernels][x86][kblock]") {
  for (GemmKind kind : {GemmKind::f32, GemmKind::bf16})
    for (const GemmKernel* g : kernels_for(kind)) {
      if (!runnable(*g)) {
        WARN(g->name << " not run: this CPU lacks its features");
        continue;
      }
      // The driver splits K once a B micro-panel passes 384 KiB (and K is 1.25 blocks long): 1.5 blocks
      // plus a ragged tail splits every kernel. bf16 then rounds A in the driver's row pass, not in the
      // kernel (a_from_f32 needs one K block).
      const int64_t esz = kind == GemmKind::bf16 ? 2 : 4;
      const int64_t k = 384 * 1024 / (g->nr * esz) * 3 / 2 + 7;
      check_long_k(*g, g->mr + 3, g->nr + 5, k, {});
      check_long_k(*g, 2, 2 * g->nr + 1, k, Threading{two_threads, nullptr, 2});
      check_long_k(*g, g->mr + 3, g->nr + 5, 3100, Threading{two_threads, nullptr, 2});
    }
}

TEST_CASE("decode-sized M splits N over threads with exact int8 results", "[kernels][x86][smallm]") {
  for (GemmKind kind : {GemmKind::u8s8, GemmKind::s8s8})
    for (const GemmKernel* g : kernels_for(kind)) {
      if (!runnable(*g)) continue;
      // Big enough that the driver does not keep the call on one thread (B >= 1 MiB, see run_job).
      const int64_t k = 3601, n = std::max<int64_t>(9 * g->nr + 3, 300);
      std::mt19937 rng(5);
      std::uniform_int_distribution<int> d(0, 255);
      std::vector<uint8_t> a(3 * k);
      std::vector<int8_t> b(k * n);
      for (auto& x : a) x = static_cast<uint8_t>(d(rng));
      for (auto& x : b) x = static_cast<int8_t>(d(rng) - 128);
      const float one = 1.f;
      PackedB pb;
      pack_b_int8(pb, kind, BDesc{b.data(), k, n, n, false}, false, &one, 1, nullptr, 0, g);
      for (int64_t m = 1; m <= 3; ++m) {
        std::vector<int32_t> c(m * n, -1);
        const QuantA qa{1.f, kind == GemmKind::s8s8 ? -3 : 7};
        gemm_int8(m, a.data(), k, qa, pb, nullptr, 0, c.data(), n, {}, {},
                  Threading{two_threads, nullptr, 2});
        for (int64_t r = 0; r < m; ++r)
          for (int64_t j = 0; j < n; ++j) {
            int64_t s = 0;
            for (int64_t kk = 0; kk < k; ++kk) {
              const int32_t av =
                  kind == GemmKind::s8s8 ? int32_t{static_cast<int8_t>(a[r * k + kk])} : a[r * k + kk];
              s += int64_t(av - qa.zero_point) * b[kk * n + j];
            }
            INFO(g->name << " m=" << m << " c=" << j);
            REQUIRE(c[r * n + j] == s);
          }
      }
    }
}

void serial_forward(void*, int64_t n, void (*task)(void*, int64_t), void* ctx) {
  for (int64_t i = 0; i < n; ++i) task(ctx, i);
}

void serial_backward(void*, int64_t n, void (*task)(void*, int64_t), void* ctx) {
  for (int64_t i = n - 1; i >= 0; --i) task(ctx, i);
}

// Threads that split N read the same A rows: a bf16 kernel that rounds A itself rounds them into each
// thread's own buffer, and a thread that takes over another's units rounds those rows again. Every
// schedule (threads at once, or the pool running the tasks one after another, in either order) must
// give the 1-thread result bit for bit. A 1-thread call with another A before each checked one leaves
// other rows in the buffers, so a tile reading rows its thread did not round shows.
TEST_CASE("bf16 threads that round A themselves match one thread bit for bit", "[kernels][x86][bf16]") {
  for (const GemmKernel* g : kernels_for(GemmKind::bf16)) {
    if (!runnable(*g)) continue;
    // 47 rows: three full 14-row panels and a balanced tail; 8 rows: one panel, fewer than the threads.
    // N: 9 NR panels and a partial one.
    for (int64_t m : {47, 8})
      for (int64_t k : {40, 300, 1024}) {
        const int64_t n = 9 * g->nr + 7, lda = k == 1024 ? k : k + 3;
        std::mt19937 rng(static_cast<unsigned>(k));
        std::uniform_real_distribution<float> d(-1.f, 1.f);
        std::vector<float> a(m * lda), other(m * lda), b(k * n);
        for (auto& x : a) x = d(rng);
        for (auto& x : other) x = d(rng);
        for (auto& x : b) x = d(rng);
        PackedB pb;
        pack_b(pb, GemmKind::bf16, BDesc{b.data(), k, n, n, false}, g);
        std::vector<float> want(m * n), got(m * n);
        gemm_f32(m, a.data(), lda, pb, want.data(), n);
        const ParallelFn schedules[] = {two_threads, serial_forward, serial_backward};
        for (ParallelFn sched : schedules)
          for (int threads : {2, 3, 4}) {
            const Threading th{sched, nullptr, threads};
            gemm_f32(m, other.data(), lda, pb, got.data(), n);
            gemm_f32(m, a.data(), lda, pb, got.data(), n, {}, th);
            INFO(g->name << " m=" << m << " k=" << k << " threads=" << threads);
            REQUIRE(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) == 0);
          }
      }
  }
}

TEST_CASE("ISA row preparation matches the portable one bit for bit", "[kernels][x86][pack]") {
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            1e-40f,
                            -1e-40f,
                            1.00390625f,
                            1.01171875f,
                            -0.f,
                            3.4e38f};
  int tested = 0;
  for (GemmKind kind : {GemmKind::f32, GemmKind::bf16, GemmKind::u8s8, GemmKind::s8s8})
    for (const GemmKernel* g : kernels_for(kind)) {
      if (!g->prep_row || !runnable(*g)) continue;
      ++tested;
      GemmKernel portable = *g;
      portable.prep_row = nullptr;
      std::mt19937 rng(9);
      for (int64_t m : {1, g->mr - 1, g->mr + 2})
        for (int64_t k : {1, 15, 17, 63, 66, 131}) {
          const int64_t n = g->nr + 1, lda = k + 3;
          std::vector<float> c1(m * n), c2(m * n);
          if (kind == GemmKind::f32 || kind == GemmKind::bf16) {
            std::vector<float> a(m * lda), b(k * n);
            std::uniform_real_distribution<float> d(-2.f, 2.f);
            for (auto& x : a) x = d(rng);
            for (size_t i = 0; i < a.size(); i += 7) a[i] = specials[(i / 7) % 9];
            for (auto& x : b) x = d(rng);
            PackedB p1, p2;
            pack_b(p1, kind, BDesc{b.data(), k, n, n, false}, g);
            pack_b(p2, kind, BDesc{b.data(), k, n, n, false}, &portable);
            gemm_f32(m, a.data(), lda, p1, c1.data(), n);
            gemm_f32(m, a.data(), lda, p2, c2.data(), n);
          } else {
            std::vector<uint8_t> a(m * lda);
            std::vector<int8_t> b(k * n);
            for (auto& x : a) x = static_cast<uint8_t>(rng());
            for (auto& x : b) x = static_cast<int8_t>(rng());
            const float s = 0.5f;
            const int32_t zp = 2;
            PackedB p1, p2;
            pack_b_int8(p1, kind, BDesc{b.data(), k, n, n, false}, false, &s, 1, &zp, 1, g);
            pack_b_int8(p2, kind, BDesc{b.data(), k, n, n, false}, false, &s, 1, &zp, 1, &portable);
            const QuantA qa{0.25f, 5};
            gemm_int8(m, a.data(), lda, qa, p1, c1.data(), n, nullptr, 0);
            gemm_int8(m, a.data(), lda, qa, p2, c2.data(), n, nullptr, 0);
          }
          INFO(g->name << " m=" << m << " k=" << k);
          REQUIRE(std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)) == 0);
        }
    }
  if (tested == 0) WARN("no kernel with an ISA row preparation runs on this CPU");
}

// The bf16 rows themselves, element by element against f32_to_bf16 (a GEMM over them cannot tell a
// denormal A from zero where the dot instruction flushes bf16 denormals): denormals, the smallest normals,
// ties, NaN and Inf, in chunks with and without a denormal, and the zeroed padding up to kp.
TEST_CASE("bf16 row preparation rounds every value as f32_to_bf16", "[kernels][x86][pack]") {
  std::vector<float> src;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> d(-3.f, 3.f);
  const float specials[] = {1e-40f,
                            -1e-40f,
                            std::numeric_limits<float>::denorm_min(),
                            1.1754942e-38f,
                            std::numeric_limits<float>::min(),
                            1.00390625f,
                            1.01171875f,
                            std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(),
                            -0.f};
  for (int i = 0; i < 200; ++i) src.push_back(i % 37 == 5 ? specials[(i / 37) % 10] : d(rng));
  int tested = 0;
  for (const GemmKernel* g : kernels_for(GemmKind::bf16)) {
    if (!g->prep_row || !runnable(*g)) continue;
    ++tested;
    for (int64_t k : {int64_t{1}, int64_t{31}, int64_t{32}, int64_t{100}, int64_t{200}}) {
      const int64_t kp = (k + 31) / 32 * 32 + 2;
      std::vector<uint16_t> dst(kp, 0xffff);
      g->prep_row(src.data(), k, kp, 0, false, dst.data());
      for (int64_t i = 0; i < kp; ++i) {
        INFO(g->name << " k=" << k << " i=" << i);
        REQUIRE(dst[i] == (i < k ? f32_to_bf16(src[i]) : 0));
      }
    }
  }
  if (tested == 0) WARN("no bf16 kernel with an ISA row preparation runs on this CPU");
}

TEST_CASE("peak probes and the read-bandwidth probe measure something", "[kernels][x86][peak]") {
  for (GemmKind kind : {GemmKind::f32, GemmKind::bf16, GemmKind::u8s8, GemmKind::s8s8})
    for (const GemmKernel* g : kernels_for(kind)) {
      const PeakProbe p = peak_probe_for(*g);
      if (std::string(g->isa) == "ref" || !runnable(*g)) {
        REQUIRE(p.run == nullptr);
        continue;
      }
      INFO(g->name);
      REQUIRE(p.run != nullptr);
      INFO(p.instruction);
#if defined(__x86_64__)
      REQUIRE(measure_peak(p, 0.003) > 1e9);
#else
      REQUIRE(measure_peak(p, 0.003) > 0);  // arm64 runs under qemu here: a rate, not a speed
#endif
    }
  std::vector<uint64_t> buf(4096 + 8);
  uint64_t* p = reinterpret_cast<uint64_t*>((reinterpret_cast<uintptr_t>(buf.data()) + 63) / 64 * 64);
  for (int i = 0; i < 4096; ++i) p[i] = static_cast<uint64_t>(i);
  REQUIRE(stream_read_fn()(p, 4096 * 8) == uint64_t{4095} * 4096 / 2);
}
