// Parsers of recorded text for ort-cpuinfo: each takes what a machine wrote and must read it exactly.
#include <catch2/catch.hpp>

#include "ortkit/cpuinfo.h"
#include "ortkit/error.h"

using namespace ortkit::cpuinfo;
using ortkit::kernels::Feature;

TEST_CASE("cpuinfo: x86 microarchitecture from family/model", "[cpuinfo]") {
  CHECK(x86_microarchitecture("AMD", 0x17, 0x01) == "Zen");
  CHECK(x86_microarchitecture("AMD", 0x17, 0x08) == "Zen+");
  CHECK(x86_microarchitecture("AMD", 0x17, 0x31) == "Zen 2");
  CHECK(x86_microarchitecture("AMD", 0x19, 0x01) == "Zen 3");
  CHECK(x86_microarchitecture("AMD", 0x19, 0x11) == "Zen 4");
  CHECK(x86_microarchitecture("AMD", 0x19, 0x61) == "Zen 4");
  CHECK(x86_microarchitecture("AMD", 0x19, 0xa0) == "Zen 4c");
  CHECK(x86_microarchitecture("AMD", 0x1a, 0x02) == "Zen 5");
  CHECK(x86_codename("AMD", 0x1a, 0x02) == "Turin");
  CHECK(x86_codename("AMD", 0x19, 0x11) == "Genoa");
  CHECK(x86_microarchitecture("Intel", 6, 0x55, 4) == "Skylake-SP");
  CHECK(x86_microarchitecture("Intel", 6, 0x55, 7) == "Cascade Lake");
  CHECK(x86_microarchitecture("Intel", 6, 0x55, 11) == "Cooper Lake");
  CHECK(x86_microarchitecture("Intel", 6, 0x6a) == "Ice Lake-SP");
  CHECK(x86_microarchitecture("Intel", 6, 0x8f) == "Sapphire Rapids");
  CHECK(x86_microarchitecture("Intel", 6, 0xcf) == "Emerald Rapids");
  CHECK(x86_microarchitecture("Intel", 6, 0xad) == "Granite Rapids");
  CHECK(x86_microarchitecture("Intel", 6, 0x3f) == "Haswell-EP");
  CHECK(x86_microarchitecture("Intel", 6, 0x01).empty());
  CHECK(x86_microarchitecture("AMD", 0x10, 0x02).empty());
}

TEST_CASE("cpuinfo: arm64 MIDR implementer/part names the core and the Graviton generation", "[cpuinfo]") {
  CHECK(arm_part(0x41, 0xd0c).core == "Neoverse N1");
  CHECK(arm_part(0x41, 0xd0c).product == "AWS Graviton2");
  CHECK(arm_part(0x41, 0xd40).product == "AWS Graviton3");
  CHECK(arm_part(0x41, 0xd4f).core == "Neoverse V2");
  CHECK(arm_part(0x41, 0xd4f).product == "AWS Graviton4");
  CHECK(arm_part(0x41, 0xd08).core == "Cortex-A72");
  CHECK(arm_part(0xc0, 0xac3).vendor == "Ampere");
  CHECK(arm_part(0x41, 0xfff).core.empty());
  CHECK(arm_part(0x99, 0xd40).vendor.empty());
}

TEST_CASE("cpuinfo: arm64 Features line maps to HWCAP bits", "[cpuinfo]") {
  const auto [hw, hw2] = arm64_hwcaps_from_features("fp asimd asimddp sve i8mm bf16 sve2 unknownword");
  CHECK(hw == ((1u << 0) | (1u << 1) | (1u << 20) | (1u << 22)));
  CHECK(hw2 == ((1u << 1) | (1u << 13) | (1u << 14)));
}

TEST_CASE("cpuinfo: x86 flags line and cpuid text give the same features", "[cpuinfo]") {
  const auto f = ortkit::kernels::features_from_x86(x86_regs_from_flags(
      "fpu sse4_2 fma avx f16c avx2 avx512f avx512dq avx512bw avx512vl avx512_vnni avx_vnni"));
  CHECK(f.has(Feature::avx2));
  CHECK(f.has(Feature::avx512vnni));
  CHECK(f.has(Feature::avxvnni));
  CHECK_FALSE(f.has(Feature::avx512bf16));
  CHECK_FALSE(f.has(Feature::amx_tile));
  // No avx flag: the OS does not save ymm, so avx2 alone must not count.
  CHECK_FALSE(ortkit::kernels::features_from_x86(x86_regs_from_flags("avx2 fma")).has(Feature::avx2));

  const auto r = parse_cpuid_text("# comment\nmax_leaf: 0xd\nl1_ecx: 0x18001000\nl7_ebx = 0x20\nxcr0: 0x7\n");
  CHECK(r.max_leaf == 0xd);
  CHECK(r.l7_ebx == 0x20);
  CHECK(ortkit::kernels::features_from_x86(r).has(Feature::avx2));
  CHECK_THROWS_AS(parse_cpuid_text("l1_ecx 12\n"), ortkit::Error);
  CHECK_THROWS_AS(parse_cpuid_text("eax: 0x1\n"), ortkit::Error);
}

TEST_CASE("cpuinfo: first /proc/cpuinfo block", "[cpuinfo]") {
  const std::string text =
      "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 106\nmodel name\t: Intel(R) "
      "Xeon(R) Platinum 8375C CPU @ 2.90GHz\nstepping\t: 6\nflags\t\t: sse4_2 avx avx2 fma\n\nprocessor\t: "
      "1\n"
      "vendor_id\t: OtherVendor\n";
  const CpuId id = identify_cpu(text);
  CHECK(id.arch == "x86_64");
  CHECK(id.vendor == "Intel");
  CHECK(id.family == 6);
  CHECK(id.model == 106);
  CHECK(id.microarchitecture == "Ice Lake-SP");
  CHECK(id.model_name == "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz");
  CHECK(id.features.has(Feature::avx2));
  CHECK(identify_cpu("").vendor == "unknown");
}

TEST_CASE("cpuinfo: kernel version, THP, meminfo", "[cpuinfo]") {
  OsInfo os;
  parse_kernel_version("Linux version 5.10.215-203.850.amzn2.aarch64 (mockbuild@ip) (gcc 10) #1 SMP\n", os);
  CHECK(os.kernel_release == "5.10.215-203.850.amzn2.aarch64");
  CHECK(os.kernel_major == 5);
  CHECK(os.kernel_minor == 10);
  parse_kernel_version("4.14.1\n", os);
  CHECK(os.kernel_major == 4);
  parse_kernel_version("garbage", os);
  CHECK(os.kernel_major == 0);
  CHECK(parse_thp("always [madvise] never\n") == "madvise");
  CHECK(parse_thp("[always] madvise never") == "always");
  CHECK(parse_meminfo_total("MemFree: 1 kB\nMemTotal:       24684084 kB\n") == 24684084ull * 1024);
  CHECK(parse_meminfo_total("nothing") == 0);
}

TEST_CASE("cpuinfo: cgroup quotas and cpu lists", "[cpuinfo]") {
  CHECK(parse_cpu_max("max 100000\n").cpus == 0);
  CHECK(parse_cpu_max("250000 100000\n").cpus == Approx(2.5));
  CHECK(parse_cpu_max("250000 100000\n").cgroup_version == 2);
  CHECK_THROWS_AS(parse_cpu_max("lots 100000"), ortkit::Error);
  CHECK(parse_cfs_quota("-1\n", "100000\n").cpus == 0);
  CHECK(parse_cfs_quota("400000\n", "100000\n").cpus == Approx(4.0));
  CHECK(parse_cfs_quota("400000", "100000").cgroup_version == 1);
  CHECK_THROWS_AS(parse_cfs_quota("400000", ""), ortkit::Error);
  CHECK(parse_cpu_list("0-3,8,10-11\n") == std::vector<int>{0, 1, 2, 3, 8, 10, 11});
  CHECK(parse_cpu_list("5").size() == 1);
  CHECK(parse_cpu_list("").empty());
  CHECK_THROWS_AS(parse_cpu_list("3-1"), ortkit::Error);
  CHECK_THROWS_AS(parse_cpu_list("a-b"), ortkit::Error);
}

TEST_CASE("cpuinfo: usable vCPUs: allowed CPUs capped by the quota", "[cpuinfo]") {
  MachineInfo m;
  m.topology.pus = 16;
  CHECK(m.usable_vcpus() == 16);
  m.os.allowed_cpus = {0, 1, 2, 3, 4, 5};
  CHECK(m.usable_vcpus() == 6);
  m.os.quota.cpus = 2.5;
  CHECK(m.usable_vcpus() == 2);
  m.os.quota.cpus = 0.5;
  CHECK(m.usable_vcpus() == 1);
}

TEST_CASE("cpuinfo: hwloc synthetic topology", "[cpuinfo]") {
  const Topology t = topology_from_synthetic(
      "Package:2 NUMANode:1 L3Cache:1(size=32MiB) L2Cache:4(size=1MiB) L1dCache:1(size=48KiB) Core:1 PU:2");
  CHECK(t.packages == 2);
  CHECK(t.numa_nodes == 2);
  CHECK(t.cores == 8);
  CHECK(t.pus == 16);
  REQUIRE(t.caches.size() == 3);
  CHECK(t.caches[0].level == 1);
  CHECK(t.caches[0].type == "data");
  CHECK(t.caches[0].size_bytes == 48 * 1024);
  CHECK(t.caches[0].pus_per_instance == 2);
  CHECK(t.caches[2].size_bytes == 32u << 20);
  CHECK(t.caches[2].instances == 2);
  CHECK(t.caches[2].pus_per_instance == 8);
  CHECK_THROWS_AS(topology_from_synthetic("Bogus:7"), ortkit::Error);
}
