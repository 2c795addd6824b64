// Cache-size detection (sysfs trees and cpuid leaves recorded from real machine types), the blocking derived
// from it, and every GEMM kernel under a tiny pretend L2, which makes small shapes take many M blocks and
// (float kinds) K splits.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "cache_override.h"
#include "ortkit/kernels/cache_info.h"
#include "ortkit/kernels/epilogue.h"
#include "ortkit/kernels/gemm.h"
#include "ortkit/kernels/registry.h"
#include "threads.h"

using namespace ortkit::kernels;
using ortkit::test::CacheOverride;
namespace fs = std::filesystem;

namespace {

struct Index {
  const char *level, *type, *size, *shared;
};

// A cpu0 directory holding cache/index<i>/{level,type,size,shared_cpu_list}; removed on destruction.
struct SysfsTree {
  fs::path root;
  explicit SysfsTree(const std::vector<Index>& idx) {
    root = fs::temp_directory_path() / ("ortkit_cache_" + std::to_string(::getpid()) + "_" +
                                        std::to_string(reinterpret_cast<uintptr_t>(this)));
    for (size_t i = 0; i < idx.size(); ++i) {
      const fs::path d = root / "cache" / ("index" + std::to_string(i));
      fs::create_directories(d);
      std::ofstream(d / "level") << idx[i].level << "\n";
      std::ofstream(d / "type") << idx[i].type << "\n";
      std::ofstream(d / "size") << idx[i].size << "\n";
      if (idx[i].shared) std::ofstream(d / "shared_cpu_list") << idx[i].shared << "\n";
    }
  }
  ~SysfsTree() { fs::remove_all(root); }
};

// cpuid leaf 4 / 0x8000001D subleaf for a cache of `bytes` (64-byte lines, one partition).
X86CacheLeaf leaf(uint32_t type, uint32_t level, int64_t bytes, uint32_t ways, uint32_t sharers) {
  const int64_t sets = bytes / (ways * 64);
  return {type | (level << 5) | ((sharers - 1) << 14), 63u | ((ways - 1) << 22),
          static_cast<uint32_t>(sets - 1)};
}

// Runnable here, and within ORTKIT_TEST_KERNELS (the sweep's filter, which emulated runs split work by).
bool runnable(const GemmKernel& g) {
  static const char* filter = std::getenv("ORTKIT_TEST_KERNELS");
  if (filter && *filter && std::string(g.name).find(filter) == std::string::npos) return false;
  const CpuFeatures& f = host_features();
  return f.has_all(g.features) && (g.sve_bits == 0 || g.sve_bits == f.sve_vector_bits);
}

float bf16r(float v) {
  return bf16_to_f32(f32_to_bf16(v));
}

}  // namespace

TEST_CASE("cache sizes are read from sysfs per logical CPU", "[kernels][cache]") {
  SECTION("Zen 5 VM: private L1d and L2, L3 shared by two vCPUs") {
    SysfsTree t({{"1", "Data", "48K", "0"},
                 {"1", "Instruction", "32K", "0"},
                 {"2", "Unified", "1024K", "0"},
                 {"3", "Unified", "32768K", "0-1"}});
    const CacheSizes c = cache_sizes_from_sysfs(t.root.string());
    CHECK(c.l1d == 48 << 10);
    CHECK(c.l2 == 1 << 20);
    CHECK(c.l3 == 16 << 20);
    CHECK(c.source == "sysfs");
  }
  SECTION("Intel server with SMT: the L2 is halved between the siblings") {
    SysfsTree t({{"1", "Data", "48K", "0,56"},
                 {"1", "Instruction", "32K", "0,56"},
                 {"2", "Unified", "2048K", "0,56"},
                 {"3", "Unified", "107520K", "0-27,56-83"}});
    const CacheSizes c = cache_sizes_from_sysfs(t.root.string());
    CHECK(c.l1d == 24 << 10);
    CHECK(c.l2 == 1 << 20);
    CHECK(c.l3 == (int64_t{107520} << 10) / 56);
  }
  SECTION("Graviton-style sizes without shared_cpu_list, in M units") {
    SysfsTree t({{"1", "Data", "64K", nullptr}, {"2", "Unified", "2M", nullptr}});
    const CacheSizes c = cache_sizes_from_sysfs(t.root.string());
    CHECK(c.l1d == 64 << 10);
    CHECK(c.l2 == 2 << 20);
    CHECK(c.l3 == 0);
  }
  SECTION("a malformed size is skipped, a missing tree finds nothing") {
    SysfsTree t({{"1", "Data", "lots", "0"}, {"2", "Unified", "512K", "0-3,x"}});
    const CacheSizes c = cache_sizes_from_sysfs(t.root.string());
    CHECK(c.l1d == 0);
    CHECK(c.l2 == 128 << 10);  // "x" counts for nothing; CPUs 0-3 share it
    const CacheSizes none = cache_sizes_from_sysfs((t.root / "absent").string());
    CHECK(none.l2 == 0);
    CHECK(none.source.empty());
  }
}

TEST_CASE("cache sizes are read from cpuid's deterministic cache leaves", "[kernels][cache]") {
  const X86CacheLeaf leaves[] = {leaf(1, 1, 48 << 10, 12, 2), leaf(2, 1, 32 << 10, 8, 2),
                                 leaf(3, 2, 2 << 20, 16, 2), leaf(3, 3, 105 << 20, 15, 128), X86CacheLeaf{}};
  const CacheSizes c = cache_sizes_from_cpuid(leaves, 5);
  CHECK(c.l1d == 24 << 10);
  CHECK(c.l2 == 1 << 20);
  CHECK(c.l3 == (int64_t{105} << 20) / 128);
  CHECK(c.source == "cpuid");
  // A type-0 subleaf ends the list even when more follow.
  const X86CacheLeaf cut[] = {leaf(1, 1, 32 << 10, 8, 1), X86CacheLeaf{}, leaf(3, 2, 1 << 20, 16, 1)};
  CHECK(cache_sizes_from_cpuid(cut, 3).l2 == 0);
}

TEST_CASE("the GEMM blocking scales with the L2", "[kernels][cache]") {
  CHECK(gemm_blocking_for(1 << 20).a_block_bytes == 512 << 10);  // the values measured on Zen 5
  CHECK(gemm_blocking_for(1 << 20).k_split_panel_bytes == 384 << 10);
  CHECK(gemm_blocking_for(256 << 10).a_block_bytes == 128 << 10);
  CHECK(gemm_blocking_for(2 << 20).k_split_panel_bytes == 768 << 10);
  CHECK(gemm_blocking_for(0).a_block_bytes == 4096);
  const CacheSizes host = cache_sizes();
  CHECK(host.l2 > 0);
  CHECK_FALSE(host.source.empty());
  {
    CacheOverride small(64 << 10);
    CHECK(cache_sizes().source == "set");
    CHECK(gemm_blocking().a_block_bytes == 32 << 10);
  }
  CHECK(cache_sizes().l2 == host.l2);
  CHECK(gemm_blocking().a_block_bytes == gemm_blocking_for(host.l2).a_block_bytes);
}

TEST_CASE("every GEMM kernel is correct with the blocking of a tiny L2", "[kernels][cache]") {
  // A 16 KiB L2 gives 8 KiB A blocks (one or two A panels per M block) and K blocks of 48..96 for the
  // float kinds, so these shapes run many M blocks, K splits with a ragged tail, and both with threads.
  const int64_t m = 45, n = 70, k = 301;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> a(m * k), b(k * n), bias(n), c_old(m * n);
  for (auto& x : a) x = d(rng);
  for (auto& x : b) x = d(rng);
  for (auto& x : bias) x = d(rng);
  for (auto& x : c_old) x = d(rng);
  std::vector<uint8_t> a8(m * k);
  std::vector<int8_t> b8(k * n);
  for (auto& x : a8) x = static_cast<uint8_t>(rng());
  for (auto& x : b8) x = static_cast<int8_t>(rng());
  const Threading threaded{ortkit::test::thread_parallel_for, nullptr, 3};

  for (GemmKind kind : {GemmKind::f32, GemmKind::bf16})
    for (const GemmKernel* g : kernels_for(kind)) {
      if (!runnable(*g)) continue;
      PackedB pb;
      pack_b(pb, kind, BDesc{b.data(), k, n, n, false}, g);
      // mode 4 and 5: Epilogue::add (c_old as a separate operand) instead of accumulate.
      for (int mode = 0; mode < 6; ++mode) {
        const bool thr = mode & 1, acc = mode & 2, add = mode & 4;
        std::vector<float> c = c_old;
        if (add) std::fill(c.begin(), c.end(), std::nanf(""));
        Epilogue ep;
        ep.bias = bias.data();
        ep.act = Act::relu;
        ep.accumulate = acc;
        if (add) {
          ep.add = c_old.data();
          ep.ld_add = n;
        }
        {
          CacheOverride tiny(16 << 10);
          gemm_f32(m, a.data(), k, pb, c.data(), n, ep, thr ? threaded : Threading{});
        }
        const bool bf = kind == GemmKind::bf16;
        for (int64_t r = 0; r < m; ++r)
          for (int64_t j = 0; j < n; ++j) {
            double s = (acc || add ? c_old[r * n + j] : 0.0) + bias[j];
            for (int64_t kk = 0; kk < k; ++kk)
              s += bf ? double(bf16r(a[r * k + kk])) * bf16r(b[kk * n + j])
                      : double(a[r * k + kk]) * b[kk * n + j];
            INFO(g->name << (thr ? " threaded" : "") << (acc ? " accumulate" : "") << (add ? " add" : "")
                         << " r=" << r << " c=" << j);
            REQUIRE(std::abs(c[r * n + j] - std::max(0.0, s)) <= 1e-4);
          }
      }
    }

  for (GemmKind kind : {GemmKind::u8s8, GemmKind::s8s8})
    for (const GemmKernel* g : kernels_for(kind)) {
      if (!runnable(*g)) continue;
      const float scale = 0.5f;
      const int32_t zp = 3;
      PackedB pb;
      pack_b_int8(pb, kind, BDesc{b8.data(), k, n, n, false}, false, &scale, 1, &zp, 1, g);
      const int32_t a_zp = kind == GemmKind::u8s8 ? 7 : -2;
      for (bool thr : {false, true}) {
        std::vector<int32_t> c32(m * n);
        {
          CacheOverride tiny(16 << 10);
          gemm_int8(m, a8.data(), k, QuantA{1.f, a_zp}, pb, nullptr, 0, c32.data(), n, {}, {},
                    thr ? threaded : Threading{});
        }
        for (int64_t r = 0; r < m; ++r)
          for (int64_t j = 0; j < n; ++j) {
            int64_t s = 0;
            for (int64_t kk = 0; kk < k; ++kk) {
              const int av = kind == GemmKind::u8s8 ? a8[r * k + kk] : static_cast<int8_t>(a8[r * k + kk]);
              s += int64_t(av - a_zp) * (b8[kk * n + j] - zp);
            }
            INFO(g->name << (thr ? " threaded" : "") << " r=" << r << " c=" << j);
            REQUIRE(c32[r * n + j] == s);
          }
      }
    }
}
