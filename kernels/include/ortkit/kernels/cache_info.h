// Cache sizes of the CPU the GEMM driver runs on, and the cache blocking it derives from them.
//
// The driver keeps an A block of about half of one thread's L2 resident while B micro-panels stream past
// it, and splits K (float kinds) only once one B micro-panel outgrows 3/8 of that L2. Both fractions were
// measured on Zen 5 (48 KiB L1d, 1 MiB L2 per core; see docs/x86-kernels.md); on a CPU with a 256 KiB or
// 2 MiB L2 the blocks scale with it instead of thrashing or under-using it.
//
// Detection (once per process): Linux sysfs (/sys/devices/system/cpu/cpu0/cache), else on x86 the
// deterministic cache parameters of cpuid (leaf 4 on Intel, 0x8000001D on AMD), else a default of
// 48 KiB L1d and 1 MiB L2. A cache shared by several logical CPUs counts for each of them as its size
// divided by their number (two SMT siblings running GEMM threads each get half of their core's L2).
#pragma once
#include <cstdint>
#include <string>

namespace ortkit::kernels {

struct CacheSizes {
  int64_t l1d = 0;     ///< bytes of L1 data cache per logical CPU (0: unknown)
  int64_t l2 = 0;      ///< bytes of L2 per logical CPU (0: unknown)
  int64_t l3 = 0;      ///< bytes of L3 per logical CPU (0: unknown); reported, not used for blocking
  std::string source;  ///< "sysfs", "cpuid", "default" or "set" (set_cache_sizes)
};

/// The blocking the GEMM driver uses for a given L2.
struct GemmBlocking {
  int64_t a_block_bytes = 0;        ///< bytes of A per M block (held in L2 while B streams past)
  int64_t k_split_panel_bytes = 0;  ///< float kinds split K once one B micro-panel passes this
  int64_t l2_bytes = 0;             ///< one thread's L2
};

/// Sizes from a sysfs cpu directory (e.g. "/sys/devices/system/cpu/cpu0"): its cache/index*/{level,
/// type, size, shared_cpu_list}. Levels it does not find stay 0; source is "sysfs" when it found an L2.
CacheSizes cache_sizes_from_sysfs(const std::string& cpu_dir);

/// One subleaf of cpuid leaf 4 / 0x8000001D, as returned in eax, ebx, ecx.
struct X86CacheLeaf {
  uint32_t eax = 0, ebx = 0, ecx = 0;
};
/// Sizes from the subleaves of the deterministic cache parameters leaf (stops at a type-0 subleaf).
CacheSizes cache_sizes_from_cpuid(const X86CacheLeaf* leaves, int count);

/// What detection falls back to: 48 KiB L1d and 1 MiB L2 (source "default").
CacheSizes default_cache_sizes();

/// The sizes of this machine (detected once), or those given to set_cache_sizes.
CacheSizes cache_sizes();
/// Replace the sizes the driver blocks for (e.g. with an hwloc topology's, or small ones in tests so
/// small shapes take every blocking path). An L2 of 0 restores the detected sizes.
void set_cache_sizes(const CacheSizes& sizes);

/// The blocking for an L2 of `l2_bytes` per thread: a_block = L2 / 2, k_split_panel = 3 * L2 / 8, each at
/// least 4 KiB (1 MiB gives 512 KiB and 384 KiB, the values measured on Zen 5).
GemmBlocking gemm_blocking_for(int64_t l2_bytes);
/// The blocking the driver uses now (from cache_sizes(); ORTKIT_TUNE_MCB still overrides the A block).
GemmBlocking gemm_blocking();

}  // namespace ortkit::kernels
