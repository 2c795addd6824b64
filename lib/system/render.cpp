// MachineInfo as the schema-versioned JSON document (the source of truth) and as readable text.
#include <cstdio>
#include <sstream>

#include "ortkit/cpuinfo.h"
#include "system/text_util.h"

namespace ortkit::cpuinfo {

using detail::human_bytes;
using nlohmann::json;

namespace {
json opt_int(int v) {
  return v < 0 ? json(nullptr) : json(v);
}
json opt_str(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}
std::string hex(int v, int width) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*x", width, v);
  return buf;
}
}  // namespace

json to_json(const MachineInfo& m, int processes) {
  json j;
  j["schema_version"] = kSchemaVersion;
  j["source"] = m.source;
  const CpuId& c = m.cpu;
  json cpu = {{"arch", c.arch},
              {"vendor", c.vendor},
              {"model_name", c.model_name},
              {"microarchitecture", opt_str(c.microarchitecture)},
              {"product", opt_str(c.product)},
              {"features", c.features.names()},
              {"sve_vector_bits", c.features.sve_vector_bits}};
  if (c.arch == "arm64") {
    cpu["implementer"] = c.implementer < 0 ? json(nullptr) : json(hex(c.implementer, 2));
    cpu["part"] = c.part < 0 ? json(nullptr) : json(hex(c.part, 3));
    cpu["variant"] = opt_int(c.variant);
    cpu["revision"] = opt_int(c.revision);
  } else {
    cpu["family"] = opt_int(c.family);
    cpu["model"] = opt_int(c.model);
    cpu["stepping"] = opt_int(c.stepping);
  }
  j["cpu"] = cpu;
  const Topology& t = m.topology;
  json caches = json::array();
  for (const CacheLevel& l : t.caches)
    caches.push_back({{"level", l.level},
                      {"type", l.type},
                      {"size_bytes", l.size_bytes},
                      {"instances", l.instances},
                      {"pus_per_instance", l.pus_per_instance}});
  j["topology"] = {{"packages", t.packages},
                   {"numa_nodes", t.numa_nodes},
                   {"cores", t.cores},
                   {"pus", t.pus},
                   {"smt", t.cores > 0 && t.pus > t.cores},
                   {"caches", caches},
                   {"source", t.source}};
  const OsInfo& o = m.os;
  j["os"] = {{"kernel_release", opt_str(o.kernel_release)},
             {"thp", opt_str(o.thp)},
             {"mem_total_bytes", o.mem_total_bytes},
             {"cgroup_version", o.quota.cgroup_version == 0 ? json(nullptr) : json(o.quota.cgroup_version)},
             {"cpu_quota", o.quota.cpus > 0 ? json(o.quota.cpus) : json(nullptr)},
             {"cpu_quota_raw", opt_str(o.quota.raw)},
             {"cpuset", opt_str(o.cpuset)},
             {"allowed_cpus", detail::format_cpu_list(o.allowed_cpus)},
             {"allowed_cpu_count", o.allowed_cpus.size()},
             {"usable_vcpus", m.usable_vcpus()},
             {"governor", opt_str(o.governor)}};
  json ks = json::array();
  for (const KernelChoice& k : m.kernels)
    ks.push_back({{"precision", k.precision},
                  {"gemm", k.gemm},
                  {"kernel", k.chosen},
                  {"isa", k.isa},
                  {"rejected", k.rejected}});
  j["kernels"] = ks;
  const GemmBlockingInfo& gb = m.gemm_blocking;
  j["gemm_blocking"] = {{"l2_bytes_per_thread", gb.l2_bytes_per_thread},
                        {"a_block_bytes", gb.a_block_bytes},
                        {"k_split_panel_bytes", gb.k_split_panel_bytes},
                        {"source", gb.source}};
  json rs = json::array();
  for (const Recommendation& r : recommendations(m, processes))
    rs.push_back({{"key", r.key}, {"value", r.value}, {"applies_to", r.applies_to}, {"reason", r.reason}});
  j["processes"] = processes;
  j["recommendations"] = rs;
  j["warnings"] = m.warnings;
  return j;
}

std::string to_text(const MachineInfo& m, int processes) {
  std::ostringstream s;
  const CpuId& c = m.cpu;
  s << "Machine    " << m.source << "\n";
  s << "CPU        " << c.model_name;
  // arm64 model names are built from the core name; do not say it twice.
  std::string detail = c.model_name.find(c.microarchitecture) == std::string::npos ? c.microarchitecture : "";
  if (!c.product.empty()) detail += (detail.empty() ? "" : ", ") + c.product;
  if (c.arch == "arm64" && c.part >= 0)
    detail += (detail.empty() ? "" : "; ") + std::string("implementer ") + hex(c.implementer, 2) + " part " +
              hex(c.part, 3);
  if (c.arch != "arm64" && c.family >= 0)
    detail += (detail.empty() ? "" : "; ") + std::string("family ") + hex(c.family, 2) + " model " +
              hex(c.model, 2) + " stepping " + std::to_string(c.stepping);
  if (!detail.empty()) s << " (" << detail << ")";
  s << ", " << c.arch << "\n";
  s << "Features  ";
  for (const std::string& f : c.features.names()) s << " " << f;
  if (c.features.sve_vector_bits > 0) s << " (SVE " << c.features.sve_vector_bits << "-bit)";
  s << "\n";
  const Topology& t = m.topology;
  s << "Topology   " << t.packages << " package(s), " << t.numa_nodes << " NUMA node(s), " << t.cores
    << " cores, " << t.pus << " PUs" << (t.pus > t.cores ? " (SMT)" : " (no SMT)") << "\n";
  if (!t.caches.empty()) {
    s << "Caches     ";
    for (size_t i = 0; i < t.caches.size(); ++i) {
      const CacheLevel& l = t.caches[i];
      s << (i ? "; " : "") << "L" << l.level << (l.type == "data" ? "d" : "") << " "
        << human_bytes(l.size_bytes) << " x" << l.instances << " (" << l.pus_per_instance << " PU"
        << (l.pus_per_instance == 1 ? "" : "s") << " each)";
    }
    s << "\n";
  }
  const OsInfo& o = m.os;
  s << "OS         Linux " << (o.kernel_release.empty() ? "?" : o.kernel_release) << ", THP "
    << (o.thp.empty() ? "?" : o.thp) << ", "
    << (o.mem_total_bytes ? human_bytes(o.mem_total_bytes) : std::string("? GiB")) << " RAM, governor "
    << (o.governor.empty() ? "n/a" : o.governor) << "\n";
  s << "CPUs       " << m.usable_vcpus() << " usable (allowed " << detail::format_cpu_list(o.allowed_cpus)
    << (o.cpuset.empty() ? "" : ", cpuset " + o.cpuset) << ", cgroup quota ";
  if (o.quota.cpus > 0)
    s << o.quota.cpus << " CPUs)\n";
  else
    s << "none)\n";
  s << "\nKernels (ortkit GEMM per precision)\n";
  for (const KernelChoice& k : m.kernels) {
    s << "  " << k.precision << " (" << k.gemm << ")"
      << std::string(k.precision.size() + k.gemm.size() < 10 ? 10 - k.precision.size() - k.gemm.size() : 1,
                     ' ')
      << k.chosen << " [" << k.isa << "]\n";
    for (const std::string& r : k.rejected) s << "      rejected " << r << "\n";
  }
  const GemmBlockingInfo& gb = m.gemm_blocking;
  s << "  blocking: A blocks of " << human_bytes(gb.a_block_bytes) << " held in L2, K split past "
    << human_bytes(gb.k_split_panel_bytes) << " B micro-panels (from an L2 of "
    << human_bytes(gb.l2_bytes_per_thread) << " per thread, " << gb.source << ")\n";
  s << "\nRecommendations (" << processes << " process" << (processes == 1 ? "" : "es") << ")\n";
  for (const Recommendation& r : recommendations(m, processes))
    s << "  " << r.key << "=" << r.value << "  [" << r.applies_to << "]\n      " << r.reason << "\n";
  if (!m.warnings.empty()) {
    s << "\nWarnings\n";
    for (const std::string& w : m.warnings) s << "  ! " << w << "\n";
  }
  return s.str();
}

}  // namespace ortkit::cpuinfo
