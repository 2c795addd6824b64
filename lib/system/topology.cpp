// Topology through hwloc: of this machine, of an hwloc synthetic description, or of an hwloc XML export.
// One code path reads all three, so a fixture exercises exactly what a live run does.
#include <hwloc.h>

#include <algorithm>
#include <memory>

#include "ortkit/cpuinfo.h"
#include "ortkit/error.h"

namespace ortkit::cpuinfo {

namespace {

struct TopoDeleter {
  void operator()(hwloc_topology* t) const { hwloc_topology_destroy(t); }
};
using TopoPtr = std::unique_ptr<hwloc_topology, TopoDeleter>;

Topology summarize(hwloc_topology_t t, std::string source) {
  Topology out;
  out.source = std::move(source);
  auto count = [&](hwloc_obj_type_t type) { return std::max(0, hwloc_get_nbobjs_by_type(t, type)); };
  out.packages = std::max(1, count(HWLOC_OBJ_PACKAGE));
  out.numa_nodes = std::max(1, count(HWLOC_OBJ_NUMANODE));
  out.cores = count(HWLOC_OBJ_CORE);
  out.pus = count(HWLOC_OBJ_PU);
  if (out.cores == 0) out.cores = out.pus;
  const struct {
    hwloc_obj_type_t type;
    int level;
  } levels[] = {{HWLOC_OBJ_L1CACHE, 1}, {HWLOC_OBJ_L2CACHE, 2}, {HWLOC_OBJ_L3CACHE, 3}};
  for (const auto& l : levels) {
    const int n = count(l.type);
    if (n == 0) continue;
    hwloc_obj_t o = hwloc_get_obj_by_type(t, l.type, 0);
    CacheLevel c;
    c.level = l.level;
    c.type = o->attr->cache.type == HWLOC_OBJ_CACHE_DATA ? "data" : "unified";
    c.size_bytes = o->attr->cache.size;
    c.instances = n;
    c.pus_per_instance = o->cpuset ? hwloc_bitmap_weight(o->cpuset) : 0;
    out.caches.push_back(c);
  }
  return out;
}

TopoPtr make(const char* what) {
  hwloc_topology_t t = nullptr;
  if (hwloc_topology_init(&t) != 0) throw Error("hwloc_topology_init failed", what);
  return TopoPtr(t);
}

}  // namespace

Topology host_topology() {
  TopoPtr t = make("hwloc");
  // The whole machine, not only the PUs our cpuset allows: the cpuset is reported separately
  // (OsInfo::allowed_cpus), and a warning names the difference.
  hwloc_topology_set_flags(t.get(), HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
  if (hwloc_topology_load(t.get()) != 0) throw Error("hwloc cannot load this machine's topology", "hwloc");
  return summarize(t.get(), "hwloc");
}

Topology topology_from_synthetic(const std::string& description) {
  TopoPtr t = make("topology.synthetic");
  if (hwloc_topology_set_synthetic(t.get(), description.c_str()) != 0 || hwloc_topology_load(t.get()) != 0)
    throw Error("hwloc rejects the synthetic description '" + description + "'", "topology.synthetic");
  return summarize(t.get(), "hwloc synthetic");
}

Topology topology_from_xml_file(const std::string& path) {
  TopoPtr t = make(path.c_str());
  if (hwloc_topology_set_xml(t.get(), path.c_str()) != 0 || hwloc_topology_load(t.get()) != 0)
    throw Error("hwloc cannot read this XML topology", path);
  return summarize(t.get(), "hwloc xml");
}

}  // namespace ortkit::cpuinfo
