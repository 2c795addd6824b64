// MachineInfo of this machine (detect) or of a recorded one (from_fixture); both end in finish(), which
// derives the kernel choices and warnings the same way.
#include <sched.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <thread>

#include "ortkit/cpuinfo.h"
#include "ortkit/error.h"
#include "ortkit/kernels/cache_info.h"
#include "system/text_util.h"

namespace ortkit::cpuinfo {

using detail::read_text;
using detail::trim;
namespace fs = std::filesystem;

namespace {

#if defined(__aarch64__)
constexpr const char* kBuildArch = "arm64";
#elif defined(__x86_64__)
constexpr const char* kBuildArch = "x86_64";
#else
constexpr const char* kBuildArch = "generic";
#endif

std::vector<int> intersect(const std::vector<int>& a, const std::vector<int>& b) {
  std::vector<int> out;
  for (int x : a)
    for (int y : b)
      if (x == y) out.push_back(x);
  return out;
}

// This process blocks for the sizes the kernels library detected (or was given); a recorded machine for
// its hwloc L2, shared out among the PUs that share one instance.
GemmBlockingInfo blocking_for(const MachineInfo& m, bool this_process) {
  GemmBlockingInfo g;
  if (this_process) {
    const kernels::CacheSizes c = kernels::cache_sizes();
    g.l2_bytes_per_thread = c.l2;
    g.source = c.source;
  } else {
    const kernels::CacheSizes fallback = kernels::default_cache_sizes();
    g.l2_bytes_per_thread = fallback.l2;
    g.source = fallback.source;
    for (const CacheLevel& l : m.topology.caches)
      if (l.level == 2 && l.size_bytes > 0) {
        g.l2_bytes_per_thread = static_cast<int64_t>(l.size_bytes) / std::max(1, l.pus_per_instance);
        g.source = "topology";
      }
  }
  const kernels::GemmBlocking b = kernels::gemm_blocking_for(g.l2_bytes_per_thread);
  g.a_block_bytes = b.a_block_bytes;
  g.k_split_panel_bytes = b.k_split_panel_bytes;
  return g;
}

void finish(MachineInfo& m, bool this_process) {
  m.kernels = kernel_choices(m.cpu.features, this_process);
  m.gemm_blocking = blocking_for(m, this_process);
  auto& w = m.warnings;
  const OsInfo& os = m.os;
  if (os.kernel_major > 0 && (os.kernel_major < 5 || (os.kernel_major == 5 && os.kernel_minor < 10)))
    w.push_back("Linux " + os.kernel_release +
                " is older than 5.10; the AWS Graviton guides advise 5.10 or newer (SVE state, scheduler and "
                "perf fixes)");
  if (os.thp == "never")
    w.push_back(
        "transparent huge pages are off (never): large weight and activation buffers pay for 4 KiB "
        "TLB misses");
  const int allowed = static_cast<int>(os.allowed_cpus.size());
  if (allowed > 0 && allowed < m.topology.pus)
    w.push_back("this process may run on " + std::to_string(allowed) + " of " +
                std::to_string(m.topology.pus) + " PUs (CPUs " + detail::format_cpu_list(os.allowed_cpus) +
                (os.cpuset.empty() ? "" : ", cgroup cpuset " + os.cpuset) + ")");
  if (os.quota.cpus > 0 && os.quota.cpus < (allowed > 0 ? allowed : m.topology.pus)) {
    std::ostringstream s;
    s << "cgroup CPU quota is " << os.quota.cpus << " CPUs (" << os.quota.raw
      << "): more threads than that are throttled";
    w.push_back(s.str());
  }
  if (m.cpu.features.has(kernels::Feature::sve) && m.cpu.features.sve_vector_bits == 0)
    w.push_back(
        "SVE is present but its vector length is unknown (record sve_vl in the fixture's hwcap file)");
  if (!os.governor.empty() && os.governor != "performance")
    w.push_back("CPU frequency governor is '" + os.governor + "', not 'performance': timings may vary");
  if (m.cpu.arch != kBuildArch)
    w.push_back("kernel choices come from this " + std::string(kBuildArch) + " build's kernel table; an " +
                m.cpu.arch + " build chooses among its own kernels");
}

}  // namespace

MachineInfo detect() {
  MachineInfo m;
  m.source = "host";
  m.cpu = identify_cpu(read_text("/proc/cpuinfo").value_or(""), kBuildArch);
  m.cpu.features = kernels::host_features();  // cpuid/hwcap beat the flags line, and give the SVE length
  try {
    m.topology = host_topology();
  } catch (const Error& e) {
    m.warnings.push_back(e.message());
    m.topology.pus = m.topology.cores = static_cast<int>(std::thread::hardware_concurrency());
  }
  parse_kernel_version(read_text("/proc/version").value_or(""), m.os);
  m.os.thp = parse_thp(read_text("/sys/kernel/mm/transparent_hugepage/enabled").value_or(""));
  m.os.mem_total_bytes = parse_meminfo_total(read_text("/proc/meminfo").value_or(""));
  m.os.governor = trim(read_text("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").value_or(""));
  try {
    read_cgroups(read_text("/proc/self/cgroup").value_or(""), "/sys/fs/cgroup", m.os);
  } catch (const Error& e) {
    m.warnings.push_back("cgroup: " + e.message());
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) m.os.allowed_cpus.push_back(c);
  if (!m.os.cpuset.empty()) {
    try {
      m.os.allowed_cpus = intersect(m.os.allowed_cpus, parse_cpu_list(m.os.cpuset));
    } catch (const Error& e) {
      m.warnings.push_back(e.message());
    }
  }
  finish(m, true);
  return m;
}

// --- a recorded machine ---------------------------------------------------------------------------------

namespace {

std::string must_read(const fs::path& p) {
  auto t = read_text(p.string());
  if (!t) throw Error("cannot read file", p.string());
  return *t;
}

void apply_hwcap_file(const std::string& text, const fs::path& where, CpuId& cpu) {
  uint64_t hw = 0, hw2 = 0;
  int vl = 0;
  bool have_hw = false;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const size_t sep = line.find_first_of(":=");
    if (sep == std::string::npos) throw Error("'" + line + "' is not 'NAME: value'", where.string());
    const std::string k = trim(line.substr(0, sep));
    std::string value = trim(line.substr(sep + 1));
    // HWCAP values are hex whether or not they carry 0x (LD_SHOW_AUXV prints them either way by libc).
    if (k != "sve_vl" && value.rfind("0x", 0) != 0) value = "0x" + value;
    const std::optional<uint64_t> parsed = detail::parse_uint(value);
    if (!parsed) throw Error("'" + line + "' is not 'NAME: value'", where.string());
    const uint64_t v = parsed.value_or(0);
    if (k == "AT_HWCAP")
      hw = v, have_hw = true;
    else if (k == "AT_HWCAP2")
      hw2 = v;
    else if (k == "sve_vl")
      vl = static_cast<int>(v);
    else
      throw Error("unknown key '" + k + "' (want AT_HWCAP, AT_HWCAP2, sve_vl)", where.string());
  }
  if (!have_hw) {  // only the vector length recorded: keep the features of the Features line
    if (cpu.features.has(kernels::Feature::sve)) cpu.features.sve_vector_bits = vl * 8;
    return;
  }
  cpu.features = kernels::features_from_arm64_hwcap(hw, hw2, vl);
}

}  // namespace

MachineInfo from_fixture(const std::string& dir_text) {
  const fs::path dir(dir_text);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("not a readable fixture directory", dir_text);
  MachineInfo m;
  m.source = "fixture " + dir_text;
  const std::string cpuinfo = must_read(dir / "cpuinfo.txt");
  m.cpu = identify_cpu(cpuinfo);
  if (fs::exists(dir / "hwcap")) apply_hwcap_file(must_read(dir / "hwcap"), dir / "hwcap", m.cpu);
  if (fs::exists(dir / "cpuid.txt")) {
    try {
      m.cpu.features = kernels::features_from_x86(parse_cpuid_text(must_read(dir / "cpuid.txt")));
    } catch (const Error& e) {
      throw Error(e.what(), (dir / "cpuid.txt").string());
    }
  }
  if (fs::exists(dir / "topology.synthetic")) {
    m.topology = topology_from_synthetic(trim(must_read(dir / "topology.synthetic")));
  } else if (fs::exists(dir / "topology.xml")) {
    m.topology = topology_from_xml_file((dir / "topology.xml").string());
  } else {  // no topology recorded: one core per processor block, no caches
    int n = 0;
    std::istringstream in(cpuinfo);
    for (std::string line; std::getline(in, line);)
      if (line.rfind("processor", 0) == 0) ++n;
    m.topology.packages = m.topology.numa_nodes = 1;
    m.topology.cores = m.topology.pus = std::max(1, n);
    m.topology.source = "cpuinfo.txt processor count";
  }
  const fs::path sys = dir / "sys";
  auto opt = [&](const fs::path& p) { return fs::exists(p) ? must_read(p) : std::string(); };
  parse_kernel_version(opt(dir / "version"), m.os);
  m.os.thp = parse_thp(opt(sys / "thp_enabled"));
  m.os.mem_total_bytes = parse_meminfo_total(opt(dir / "meminfo"));
  m.os.governor = trim(opt(sys / "scaling_governor"));
  if (fs::exists(sys / "cpu.max"))
    m.os.quota = parse_cpu_max(must_read(sys / "cpu.max"));
  else if (fs::exists(sys / "cpu.cfs_quota_us"))
    m.os.quota = parse_cfs_quota(must_read(sys / "cpu.cfs_quota_us"), opt(sys / "cpu.cfs_period_us"));
  m.os.cpuset = trim(opt(sys / "cpuset.cpus.effective"));
  if (!m.os.cpuset.empty()) {
    m.os.allowed_cpus = parse_cpu_list(m.os.cpuset);
  } else {
    for (int c = 0; c < m.topology.pus; ++c) m.os.allowed_cpus.push_back(c);
  }
  finish(m, false);
  return m;
}

nlohmann::json machine_json() {
  static const nlohmann::json j = to_json(detect(), 1);
  return j;
}

}  // namespace ortkit::cpuinfo
