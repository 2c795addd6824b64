// cgroup CPU limits: the quota (how much CPU time) and the cpuset (which CPUs) of this process's cgroup.
#include <sstream>

#include "ortkit/cpuinfo.h"
#include "system/text_util.h"

namespace ortkit::cpuinfo {

using detail::read_text;
using detail::trim;

namespace {

struct CgroupPaths {
  std::string v2, v1_cpu_ctrl, v1_cpu, v1_cpuset;
  bool has_v2 = false, has_v1_cpu = false, has_v1_cpuset = false;
};

// Lines "id:controllers:path"; v2 is the line with no controllers.
CgroupPaths parse_self_cgroup(const std::string& text) {
  CgroupPaths p;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string ctrls = line.substr(a + 1, b - a - 1), path = trim(line.substr(b + 1));
    if (ctrls.empty()) {
      p.has_v2 = true;
      p.v2 = path == "/" ? "" : path;
      continue;
    }
    std::stringstream cs(ctrls);
    for (std::string c; std::getline(cs, c, ',');) {
      if (c == "cpu") p.has_v1_cpu = true, p.v1_cpu = path == "/" ? "" : path, p.v1_cpu_ctrl = ctrls;
      if (c == "cpuset") p.has_v1_cpuset = true, p.v1_cpuset = path == "/" ? "" : path;
    }
  }
  return p;
}

// Inside a container the cgroup namespace puts our own cgroup at the mount root while /proc/self/cgroup
// may still name a host path: try the nested path first, then the root.
std::optional<std::string> read_cgroup_file(const std::string& mount, const std::string& path,
                                            const std::string& file) {
  if (!path.empty())
    if (auto t = read_text(mount + path + "/" + file)) return t;
  return read_text(mount + "/" + file);
}

// v2 limits nest: a parent's cpu.max caps every child, so the effective quota is the smallest on the way up.
CpuQuota v2_quota(const std::string& root, std::string path) {
  CpuQuota best;
  best.cgroup_version = 2;
  bool found = false;
  for (;;) {
    if (auto t = read_text(root + path + "/cpu.max")) {
      const CpuQuota q = parse_cpu_max(*t);
      if (!found || (q.cpus > 0 && (best.cpus == 0 || q.cpus < best.cpus))) best = q;
      found = true;
    }
    if (path.empty()) break;
    const size_t slash = path.rfind('/');
    path = slash == std::string::npos ? "" : path.substr(0, slash);
  }
  return best;
}

}  // namespace

void read_cgroups(const std::string& proc_self_cgroup, const std::string& root, OsInfo& os) {
  const CgroupPaths p = parse_self_cgroup(proc_self_cgroup);
  if (p.has_v1_cpu) {
    for (const std::string& mount : {root + "/" + p.v1_cpu_ctrl, root + "/cpu"}) {
      const auto q = read_cgroup_file(mount, p.v1_cpu, "cpu.cfs_quota_us");
      const auto per = read_cgroup_file(mount, p.v1_cpu, "cpu.cfs_period_us");
      if (q && per) {
        os.quota = parse_cfs_quota(*q, *per);
        break;
      }
    }
  } else if (p.has_v2) {
    os.quota = v2_quota(root, p.v2);
  }
  std::optional<std::string> cpuset;
  if (p.has_v1_cpuset) cpuset = read_cgroup_file(root + "/cpuset", p.v1_cpuset, "cpuset.effective_cpus");
  if (!cpuset && p.has_v2) cpuset = read_cgroup_file(root, p.v2, "cpuset.cpus.effective");
  if (cpuset) os.cpuset = trim(*cpuset);
}

}  // namespace ortkit::cpuinfo
