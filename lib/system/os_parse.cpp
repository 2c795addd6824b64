// Parsers of OS facts from recorded text: /proc/version, THP mode, /proc/meminfo, cgroup quota and cpusets.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "ortkit/cpuinfo.h"
#include "ortkit/error.h"
#include "system/text_util.h"

namespace ortkit::cpuinfo {

using detail::parse_uint;
using detail::trim;

void parse_kernel_version(const std::string& proc_version, OsInfo& os) {
  // "Linux version 6.1.0-13-amd64 (debian-kernel@...) ..." or a bare release ("5.10.215-203.850.amzn2").
  std::istringstream ss(proc_version);
  std::string w1, w2, w3;
  ss >> w1 >> w2 >> w3;
  os.kernel_release = (w1 == "Linux" && w2 == "version") ? w3 : w1;
  os.kernel_major = os.kernel_minor = 0;
  if (std::sscanf(os.kernel_release.c_str(), "%d.%d", &os.kernel_major, &os.kernel_minor) != 2)
    os.kernel_major = os.kernel_minor = 0;
}

std::string parse_thp(const std::string& text) {
  const size_t b = text.find('['), e = text.find(']');
  if (b == std::string::npos || e == std::string::npos || e < b) return trim(text);
  return text.substr(b + 1, e - b - 1);
}

uint64_t parse_meminfo_total(const std::string& text) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("MemTotal:", 0) != 0) continue;
    std::istringstream ls(line.substr(9));
    uint64_t v = 0;
    std::string unit;
    ls >> v >> unit;
    return unit == "kB" ? v * 1024 : v;
  }
  return 0;
}

CpuQuota parse_cpu_max(const std::string& text) {
  CpuQuota q;
  q.cgroup_version = 2;
  q.raw = trim(text);
  std::istringstream ss(q.raw);
  std::string quota, period;
  ss >> quota >> period;
  const auto p = parse_uint(period.empty() ? "100000" : period);
  if (quota == "max") return q;
  const auto v = parse_uint(quota);
  if (!v || !p || *p == 0) throw Error("cannot parse cpu.max '" + q.raw + "'", "cgroup cpu.max");
  q.cpus = double(*v) / double(*p);
  return q;
}

CpuQuota parse_cfs_quota(const std::string& quota_text, const std::string& period_text) {
  CpuQuota q;
  q.cgroup_version = 1;
  const std::string quota = trim(quota_text), period = trim(period_text);
  q.raw = quota + "/" + period;
  if (quota == "-1") return q;
  const auto v = parse_uint(quota), p = parse_uint(period);
  if (!v || !p || *p == 0) throw Error("cannot parse cfs quota '" + q.raw + "'", "cgroup cpu.cfs_quota_us");
  q.cpus = double(*v) / double(*p);
  return q;
}

std::vector<int> parse_cpu_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(trim(text));
  for (std::string item; std::getline(ss, item, ',');) {
    item = trim(item);
    if (item.empty()) continue;
    const size_t dash = item.find('-');
    const auto lo = parse_uint(item.substr(0, dash));
    const auto hi = dash == std::string::npos ? lo : parse_uint(item.substr(dash + 1));
    if (!lo || !hi || *hi < *lo || *hi > 65535) throw Error("bad CPU list '" + trim(text) + "'", "cpuset");
    for (uint64_t c = *lo; c <= *hi; ++c) out.push_back(static_cast<int>(c));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

int MachineInfo::usable_vcpus() const {
  int n = !os.allowed_cpus.empty() ? static_cast<int>(os.allowed_cpus.size()) : topology.pus;
  if (os.quota.cpus > 0) n = std::min(n, std::max(1, static_cast<int>(std::floor(os.quota.cpus))));
  return std::max(1, n);
}

}  // namespace ortkit::cpuinfo
