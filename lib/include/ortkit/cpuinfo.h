// Machine description shared by ort-cpuinfo and every report (ort-bench embeds machine_json()).
//
// Design: every fact comes from recorded text (/proc/cpuinfo, AT_HWCAP values, cpuid registers, /sys and
// cgroup files, /proc/version, /proc/meminfo) or from an hwloc topology, and each parser takes that text as
// a value. detect() reads them from this machine; from_fixture(dir) reads the same files from a directory,
// so tests and "what if" questions describe a recorded machine with the same code. The fixture layout is
// documented in docs/ort-cpuinfo.md:
//   cpuinfo.txt          /proc/cpuinfo (vendor, model name, family/model or MIDR, flags/Features)
//   hwcap                arm64: "AT_HWCAP: 0x..", "AT_HWCAP2: 0x..", "sve_vl: <bytes>" (optional)
//   cpuid.txt            x86: X86CpuidRegs fields, "name: 0xvalue" per line (optional; else the flags line)
//   topology.synthetic   `lstopo --of synthetic` output (or topology.xml from `lstopo --of xml`)
//   meminfo, version     /proc/meminfo, /proc/version
//   sys/thp_enabled, sys/cpu.max | sys/cpu.cfs_quota_us + sys/cpu.cfs_period_us, sys/cpuset.cpus.effective,
//   sys/scaling_governor  (each optional)
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ortkit/kernels/cpu_features.h"

namespace ortkit::cpuinfo {

/// ort-cpuinfo's --json document for this machine (schema-versioned).
nlohmann::json machine_json();

/// Version of the JSON document; bump when a field changes meaning or is removed.
constexpr int kSchemaVersion = 1;

struct CpuId {
  std::string arch;               ///< "x86_64" or "arm64"
  std::string vendor;             ///< "AMD", "Intel", "ARM", "Ampere", ... (the MIDR implementer on arm64)
  std::string model_name;         ///< /proc/cpuinfo "model name", or built from the MIDR on arm64
  std::string microarchitecture;  ///< "Zen 4", "Sapphire Rapids", "Neoverse V1", ... ("" if unknown)
  std::string product;            ///< "AWS Graviton3" where the part implies it, else ""
  int family = -1, model = -1, stepping = -1;                    ///< x86 cpuid family/model (display values)
  int implementer = -1, part = -1, variant = -1, revision = -1;  ///< arm64 MIDR fields
  kernels::CpuFeatures features;
};

struct CacheLevel {
  int level = 0;            ///< 1, 2, 3
  std::string type;         ///< "data" or "unified"
  uint64_t size_bytes = 0;  ///< one instance
  int instances = 0;
  int pus_per_instance = 0;  ///< how many PUs share one instance
};

struct Topology {
  int packages = 0, numa_nodes = 0, cores = 0, pus = 0;
  std::vector<CacheLevel> caches;  ///< L1d, L2, L3 (those present), by level
  std::string source;              ///< "hwloc", "hwloc synthetic", "hwloc xml"
};

struct CpuQuota {
  double cpus = 0;         ///< quota / period; 0 = no limit
  std::string raw;         ///< "max 100000", "200000 100000", "-1/100000"
  int cgroup_version = 0;  ///< 1 or 2; 0 = not found
};

struct OsInfo {
  std::string kernel_release;  ///< "6.1.0-13-amd64"
  int kernel_major = 0, kernel_minor = 0;
  std::string thp;  ///< bracketed mode of transparent_hugepage/enabled: always|madvise|never
  uint64_t mem_total_bytes = 0;
  CpuQuota quota;
  std::vector<int> allowed_cpus;  ///< affinity ∩ cgroup cpuset (what this process may run on)
  std::string cpuset;             ///< cpuset.cpus.effective as written ("0-63"), "" if unknown
  std::string governor;           ///< scaling_governor of cpu0, "" if not readable
};

/// The kernel one GEMM kind will run and why better ones were rejected.
struct KernelChoice {
  std::string precision;  ///< "fp32", "bf16", "int8"
  std::string gemm;       ///< "f32", "bf16", "u8s8", "s8s8"
  std::string chosen, isa;
  uint64_t chosen_features = 0;
  std::vector<std::string> rejected;
};

/// The cache blocking ortkit's GEMM driver uses on this machine (kernels/cache_info.h).
struct GemmBlockingInfo {
  int64_t l2_bytes_per_thread = 0;  ///< the L2 the blocking is derived from
  int64_t a_block_bytes = 0;        ///< A held in L2 per M block
  int64_t k_split_panel_bytes = 0;  ///< float kinds split K past B micro-panels of this size
  std::string source;  ///< "sysfs", "cpuid", "default", "set" (this process) or "topology" (a fixture)
};

struct Recommendation {
  std::string key;  ///< "threads_per_process", "OMP_NUM_THREADS", ...
  std::string value;
  std::string applies_to;  ///< "ortkit", "OpenMP frameworks", "PyTorch", "ONNX Runtime", "OS", ...
  std::string reason;
};

struct MachineInfo {
  std::string source;  ///< "host" or "fixture <dir>"
  CpuId cpu;
  Topology topology;
  OsInfo os;
  std::vector<KernelChoice> kernels;
  GemmBlockingInfo gemm_blocking;
  std::vector<std::string> warnings;

  /// vCPUs this process can really use: allowed CPUs, capped by the cgroup quota (at least 1).
  int usable_vcpus() const;
};

/// Describe this machine (reads /proc, /sys and hwloc on every call; machine_json() caches its result).
MachineInfo detect();
/// Describe the machine recorded in `dir` (layout above). Throws ortkit::Error when dir or a file in it is
/// unreadable or malformed.
MachineInfo from_fixture(const std::string& dir);

/// Advice for running `processes` processes side by side, each with its reason.
std::vector<Recommendation> recommendations(const MachineInfo& m, int processes = 1);

nlohmann::json to_json(const MachineInfo& m, int processes = 1);
std::string to_text(const MachineInfo& m, int processes = 1);

// ---- Parsers of recorded text (exposed for tests) -------------------------------------------------

/// Fields of the first processor block of /proc/cpuinfo ("key" -> "value"), keys trimmed.
std::vector<std::pair<std::string, std::string>> parse_cpuinfo_block(const std::string& text);
/// CPU identity from /proc/cpuinfo text; features are filled from the flags/Features line.
CpuId identify_cpu(const std::string& cpuinfo_text, const std::string& arch_hint = "");
/// "Zen 4", "Sapphire Rapids", ... from x86 display family/model (stepping splits Skylake-SP / Cascade
/// Lake / Cooper Lake); "" if unknown.
std::string x86_microarchitecture(const std::string& vendor, int family, int model, int stepping = -1);
/// Server codename ("Genoa", "Turin", ...) for known AMD EPYC family/model pairs; "" otherwise.
std::string x86_codename(const std::string& vendor, int family, int model);
/// arm64 implementer and part to {vendor, core name, product}; empty strings when unknown.
struct ArmPart {
  std::string vendor, core, product;
};
ArmPart arm_part(int implementer, int part);
/// AT_HWCAP/AT_HWCAP2 bits named by a /proc/cpuinfo "Features" line.
std::pair<uint64_t, uint64_t> arm64_hwcaps_from_features(const std::string& features_line);
/// cpuid registers implied by a /proc/cpuinfo "flags" line (the kernel lists only OS-enabled features).
kernels::X86CpuidRegs x86_regs_from_flags(const std::string& flags_line);
/// "name: 0xvalue" lines (names of X86CpuidRegs fields).
kernels::X86CpuidRegs parse_cpuid_text(const std::string& text);
/// Kernel release from /proc/version text, and its major/minor numbers.
void parse_kernel_version(const std::string& proc_version, OsInfo& os);
/// The bracketed word of a transparent_hugepage/enabled file: "always [madvise] never" -> "madvise".
std::string parse_thp(const std::string& text);
/// MemTotal from /proc/meminfo, in bytes (0 if absent).
uint64_t parse_meminfo_total(const std::string& text);
/// cgroup v2 cpu.max ("max 100000" / "200000 100000").
CpuQuota parse_cpu_max(const std::string& text);
/// cgroup v1 cpu.cfs_quota_us and cpu.cfs_period_us.
CpuQuota parse_cfs_quota(const std::string& quota_text, const std::string& period_text);
/// CPU quota and cpuset of the cgroups named by /proc/self/cgroup text, read from the cgroup mounts under
/// `cgroup_root` ("/sys/fs/cgroup"): v1 (cpu / cpu,cpuacct and cpuset hierarchies) when it has the cpu
/// controller, else v2, where the tightest cpu.max of the cgroup and its ancestors wins. Missing files
/// leave fields empty; malformed ones throw ortkit::Error.
void read_cgroups(const std::string& proc_self_cgroup, const std::string& cgroup_root, OsInfo& os);
/// A CPU list "0-3,8,10-11" -> {0,1,2,3,8,10,11}; throws ortkit::Error when malformed.
std::vector<int> parse_cpu_list(const std::string& text);
/// Topology from an hwloc synthetic description ("Package:1 L3Cache:1(size=32MiB) ... PU:1").
Topology topology_from_synthetic(const std::string& description);
/// Topology from an hwloc XML export.
Topology topology_from_xml_file(const std::string& path);
/// Topology of this machine through hwloc.
Topology host_topology();
/// Kernel choices for fp32, bf16 and int8 (u8s8 and s8s8) on a CPU with these features.
std::vector<KernelChoice> kernel_choices(const kernels::CpuFeatures& features, bool this_process);

}  // namespace ortkit::cpuinfo
