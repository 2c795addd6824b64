// ort-cpuinfo on the machine running the tests: cross-checked against what Linux itself reports in
// /proc/cpuinfo and /sys, so the test holds on any host (and names this one when it is the Zen 5 VM).
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>

#include "ortkit/cpuinfo.h"
#include "ortkit/kernels/q4gemm.h"
#include "ortkit/kernels/registry.h"

using namespace ortkit::cpuinfo;
using ortkit::kernels::Feature;

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
std::string first(const std::string& text) {
  std::istringstream ss(text);
  std::string w;
  ss >> w;
  return w;
}
// "48K" -> 49152
uint64_t sysfs_size(const std::string& s) {
  uint64_t v = std::stoull(s);
  if (s.find('K') != std::string::npos) v <<= 10;
  if (s.find('M') != std::string::npos) v <<= 20;
  return v;
}
}  // namespace

TEST_CASE("cpuinfo: this host: identity, features, topology and caches agree with Linux", "[cpuinfo][host]") {
  const MachineInfo m = detect();
  WARN(to_text(m, 1));
  CHECK(m.source == "host");
  CHECK(m.cpu.features.mask == ortkit::kernels::host_features().mask);
  CHECK(m.topology.pus >= 1);
  CHECK(m.topology.cores >= 1);
  CHECK(m.topology.cores <= m.topology.pus);
  CHECK(m.usable_vcpus() >= 1);
  CHECK(m.usable_vcpus() <= static_cast<int>(std::thread::hardware_concurrency()));
  CHECK(m.os.kernel_major >= 3);
  CHECK(m.os.mem_total_bytes > 0);
  REQUIRE(m.kernels.size() == 5);
  CHECK(m.kernels[4].chosen == std::string(ortkit::kernels::q4_kernel().name));
  for (const auto& k : std::vector<KernelChoice>(m.kernels.begin(), m.kernels.begin() + 4))
    CHECK(k.chosen == ortkit::kernels::dispatched(k.gemm == "f32"    ? ortkit::kernels::GemmKind::f32
                                                  : k.gemm == "bf16" ? ortkit::kernels::GemmKind::bf16
                                                  : k.gemm == "u8s8" ? ortkit::kernels::GemmKind::u8s8
                                                                     : ortkit::kernels::GemmKind::s8s8)
                          ->name);

  // Physical cores = distinct (physical id, core id) pairs of /proc/cpuinfo (x86 lists them).
  std::set<std::pair<std::string, std::string>> cores;
  std::istringstream in(slurp("/proc/cpuinfo"));
  std::string phys;
  for (std::string line; std::getline(in, line);) {
    const size_t c = line.find(':');
    if (c == std::string::npos) continue;
    const std::string k = line.substr(0, line.find_first_of(" \t")), v = first(line.substr(c + 1));
    if (k == "physical") phys = v;
    if (line.rfind("core id", 0) == 0) cores.insert({phys, v});
  }
  if (!cores.empty()) CHECK(m.topology.cores == static_cast<int>(cores.size()));

  // Cache sizes as the kernel's cacheinfo reports them for cpu0.
  for (int idx = 0; idx < 5; ++idx) {
    const std::string base = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(idx) + "/";
    const std::string level = first(slurp(base + "level")), type = first(slurp(base + "type"));
    if (level.empty() || type == "Instruction") continue;
    for (const CacheLevel& c : m.topology.caches)
      if (std::to_string(c.level) == level) {
        INFO("L" << level << " " << type);
        CHECK(c.size_bytes == sysfs_size(first(slurp(base + "size"))));
      }
  }

  // The Zen 5 VM this project is developed on: name it exactly.
  const CpuId id = identify_cpu(slurp("/proc/cpuinfo"));
  if (id.vendor == "AMD" && id.family == 0x1a) {
    CHECK(m.cpu.microarchitecture == "Zen 5");
    CHECK(m.cpu.features.has(Feature::avx512f));
    CHECK(m.cpu.features.has(Feature::avx512vnni));
    CHECK(m.cpu.features.has(Feature::avx512bf16));
    CHECK(find_if(m.topology.caches.begin(), m.topology.caches.end(), [](const CacheLevel& c) {
            return c.level == 1 && c.size_bytes == 48 * 1024;
          }) != m.topology.caches.end());
  }
}

TEST_CASE("cpuinfo: machine_json is the schema-versioned host document", "[cpuinfo][host]") {
  const nlohmann::json j = machine_json();
  CHECK(j["schema_version"] == kSchemaVersion);
  CHECK(j["source"] == "host");
  CHECK(j["cpu"]["features"].is_array());
  CHECK(j["topology"]["pus"].get<int>() >= 1);
  CHECK(j["kernels"].size() == 5);  // four GEMM kinds and the 4-bit weight kernel
  CHECK(j["recommendations"].size() >= 4);
  CHECK(machine_json() == j);  // cached: every report of one process describes the same machine
}
