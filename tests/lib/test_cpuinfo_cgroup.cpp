// cgroup limits read from a fake /sys/fs/cgroup tree: v1 (combined cpu,cpuacct mount), v2 with nested
// limits, and a container whose /proc/self/cgroup names a host path that its namespace does not show.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "ortkit/cpuinfo.h"
#include "ortkit/error.h"

using namespace ortkit::cpuinfo;
namespace fs = std::filesystem;

namespace {
struct Tree {
  fs::path root;
  explicit Tree(const std::string& name) : root(fs::path(ORTKIT_BINARY_DIR) / name) {
    fs::remove_all(root);
    fs::create_directories(root);
  }
  ~Tree() { fs::remove_all(root); }
  void put(const std::string& rel, const std::string& text) const {
    fs::create_directories((root / rel).parent_path());
    std::ofstream(root / rel) << text;
  }
};
}  // namespace

TEST_CASE("cpuinfo: cgroup v1 quota and cpuset", "[cpuinfo][cgroup]") {
  Tree t("cgroup_v1");
  t.put("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "150000\n");
  t.put("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  t.put("cpuset/docker/abc/cpuset.effective_cpus", "2-5\n");
  OsInfo os;
  read_cgroups("12:cpuset:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n", t.root.string(), os);
  CHECK(os.quota.cgroup_version == 1);
  CHECK(os.quota.cpus == Approx(1.5));
  CHECK(os.cpuset == "2-5");
}

TEST_CASE("cpuinfo: cgroup v2: the tightest cpu.max on the way up wins", "[cpuinfo][cgroup]") {
  Tree t("cgroup_v2");
  t.put("cpu.max", "max 100000\n");
  t.put("kubepods/cpu.max", "300000 100000\n");
  t.put("kubepods/pod1/cpu.max", "max 100000\n");
  t.put("kubepods/pod1/cpuset.cpus.effective", "0-7\n");
  OsInfo os;
  read_cgroups("0::/kubepods/pod1\n", t.root.string(), os);
  CHECK(os.quota.cgroup_version == 2);
  CHECK(os.quota.cpus == Approx(3.0));
  CHECK(os.cpuset == "0-7");

  t.put("kubepods/pod1/cpu.max", "50000 100000\n");  // the child is tighter still
  OsInfo os2;
  read_cgroups("0::/kubepods/pod1\n", t.root.string(), os2);
  CHECK(os2.quota.cpus == Approx(0.5));

  t.put("kubepods/pod1/cpu.max", "much 100000\n");
  OsInfo os3;
  CHECK_THROWS_AS(read_cgroups("0::/kubepods/pod1\n", t.root.string(), os3), ortkit::Error);
}

TEST_CASE("cpuinfo: cgroup namespace: the host path is absent, the root has our limits",
          "[cpuinfo][cgroup]") {
  Tree t("cgroup_ns");
  t.put("cpu.max", "200000 100000\n");
  t.put("cpuset.cpus.effective", "0-1\n");
  OsInfo os;
  read_cgroups("0::/system.slice/docker-0123.scope\n", t.root.string(), os);
  CHECK(os.quota.cpus == Approx(2.0));
  CHECK(os.cpuset == "0-1");

  OsInfo none;  // no cgroup files at all: no limits, no error
  read_cgroups("0::/x\n", (t.root / "empty").string(), none);
  CHECK(none.quota.cpus == 0);
  CHECK(none.cpuset.empty());
}
