// Cache-size detection (sysfs, cpuid) and the GEMM blocking derived from it. See cache_info.h.
#include "ortkit/kernels/cache_info.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fstream>
#include <mutex>
#include <sstream>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif

namespace ortkit::kernels {

namespace {

bool read_line(const std::string& path, std::string& out) {
  std::ifstream f(path);
  if (!f || !std::getline(f, out)) return false;
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  return true;
}

// "48K", "1024K", "32M", "65536": bytes, or 0 when it is not a size.
int64_t parse_size(const std::string& s) {
  size_t i = 0;
  int64_t v = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    v = v * 10 + (s[i] - '0');
    if (v > (int64_t{1} << 40)) return 0;
    ++i;
  }
  if (i == 0) return 0;
  const std::string unit = s.substr(i);
  if (unit.empty()) return v;
  if (unit == "K" || unit == "KiB" || unit == "k") return v << 10;
  if (unit == "M" || unit == "MiB") return v << 20;
  if (unit == "G" || unit == "GiB") return v << 30;
  return 0;
}

// Number of CPUs in a list like "0-3,8-11" (at least 1: a cache is used by the CPU that lists it).
int count_cpus(const std::string& list) {
  int n = 0;
  std::stringstream ss(list);
  std::string part;
  while (std::getline(ss, part, ',')) {
    const size_t dash = part.find('-');
    try {
      if (dash == std::string::npos) {
        std::stoi(part);
        n += 1;
      } else {
        const int lo = std::stoi(part.substr(0, dash)), hi = std::stoi(part.substr(dash + 1));
        if (hi >= lo) n += hi - lo + 1;
      }
    } catch (...) {
      // A malformed entry counts for nothing.
    }
  }
  return std::max(1, n);
}

CacheSizes detect() {
  CacheSizes c = cache_sizes_from_sysfs("/sys/devices/system/cpu/cpu0");
  if (c.l2 > 0) return c;
#if defined(__x86_64__) || defined(_M_X64)
  unsigned a, b, cx, d;
  __cpuid(0, a, b, cx, d);
  const unsigned max_leaf = a;
  const bool amd = b == 0x68747541 || b == 0x6f677948;  // "Auth"enticAMD, "Hygo"nGenuine
  __cpuid(0x80000000, a, b, cx, d);
  const unsigned max_ext = a;
  unsigned leaf = 0;
  if (amd && max_ext >= 0x8000001D)
    leaf = 0x8000001D;
  else if (!amd && max_leaf >= 4)
    leaf = 4;
  if (leaf) {
    X86CacheLeaf leaves[16];
    int n = 0;
    for (; n < 16; ++n) {
      __cpuid_count(leaf, n, a, b, cx, d);
      leaves[n] = {a, b, cx};
      if ((a & 0x1f) == 0) break;
    }
    c = cache_sizes_from_cpuid(leaves, n);
    if (c.l2 > 0) return c;
  }
#endif
  return default_cache_sizes();
}

const CacheSizes& detected() {
  static const CacheSizes c = detect();
  return c;
}

std::mutex g_set_mutex;
CacheSizes g_set;                    // guarded by g_set_mutex; l2 == 0: none set
std::atomic<int64_t> g_set_l2{0};    // the driver's per-call read
constexpr int64_t kMinBlock = 4096;  // below a page the blocking stops meaning anything

}  // namespace

// 1 MiB per core is the common server L2 (Graviton 2/3, Zen 4/5, Skylake-SP..Ice Lake), and the one the
// blocking fractions were measured on.
CacheSizes default_cache_sizes() {
  CacheSizes c;
  c.l1d = 48 << 10;
  c.l2 = 1 << 20;
  c.source = "default";
  return c;
}

CacheSizes cache_sizes_from_sysfs(const std::string& cpu_dir) {
  CacheSizes c;
  for (int i = 0; i < 16; ++i) {
    const std::string dir = cpu_dir + "/cache/index" + std::to_string(i) + "/";
    std::string level, type, size, shared;
    if (!read_line(dir + "level", level)) {
      if (i == 0) continue;  // some kernels number from 1
      break;
    }
    if (!read_line(dir + "type", type) || !read_line(dir + "size", size)) continue;
    if (type == "Instruction") continue;
    const int64_t bytes = parse_size(size);
    if (bytes <= 0) continue;
    const int sharers = read_line(dir + "shared_cpu_list", shared) ? count_cpus(shared) : 1;
    const int64_t per_cpu = bytes / sharers;
    if (level == "1")
      c.l1d = per_cpu;
    else if (level == "2")
      c.l2 = per_cpu;
    else if (level == "3")
      c.l3 = per_cpu;
  }
  if (c.l2 > 0) c.source = "sysfs";
  return c;
}

CacheSizes cache_sizes_from_cpuid(const X86CacheLeaf* leaves, int count) {
  CacheSizes c;
  for (int i = 0; i < count; ++i) {
    const X86CacheLeaf& l = leaves[i];
    const uint32_t type = l.eax & 0x1f;  // 1 data, 2 instruction, 3 unified
    if (type == 0) break;
    if (type == 2) continue;
    const uint32_t level = (l.eax >> 5) & 0x7;
    const int64_t sharers = ((l.eax >> 14) & 0xfff) + 1;
    const int64_t line = (l.ebx & 0xfff) + 1, partitions = ((l.ebx >> 12) & 0x3ff) + 1,
                  ways = ((l.ebx >> 22) & 0x3ff) + 1, sets = int64_t{l.ecx} + 1;
    const int64_t per_cpu = ways * partitions * line * sets / sharers;
    if (level == 1)
      c.l1d = per_cpu;
    else if (level == 2)
      c.l2 = per_cpu;
    else if (level == 3)
      c.l3 = per_cpu;
  }
  if (c.l2 > 0) c.source = "cpuid";
  return c;
}

CacheSizes cache_sizes() {
  {
    std::lock_guard<std::mutex> lock(g_set_mutex);
    if (g_set.l2 > 0) return g_set;
  }
  return detected();
}

void set_cache_sizes(const CacheSizes& sizes) {
  std::lock_guard<std::mutex> lock(g_set_mutex);
  g_set = sizes;
  if (g_set.l2 > 0) g_set.source = "set";
  g_set_l2.store(std::max<int64_t>(0, sizes.l2), std::memory_order_relaxed);
}

GemmBlocking gemm_blocking_for(int64_t l2_bytes) {
  GemmBlocking b;
  b.l2_bytes = std::max(kMinBlock, l2_bytes);
  b.a_block_bytes = std::max(kMinBlock, l2_bytes / 2);
  b.k_split_panel_bytes = std::max(kMinBlock, l2_bytes / 8 * 3);
  return b;
}

GemmBlocking gemm_blocking() {
  const int64_t set = g_set_l2.load(std::memory_order_relaxed);
  return gemm_blocking_for(set > 0 ? set : detected().l2);
}

}  // namespace ortkit::kernels
