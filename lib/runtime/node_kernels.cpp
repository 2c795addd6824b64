#include "runtime/node_kernels.h"

#include "ops/registry.h"

namespace ortkit::runtime {

void make_node_kernels(graph::Graph& g, Precision precision, const kernels::Threading& th, int opt_level,
                       const std::string& missing, const std::string& where,
                       std::vector<ops::NodeInfo>& infos,
                       std::vector<std::unique_ptr<ops::OpKernel>>& kernels) {
  infos.reserve(g.nodes.size());
  for (graph::Node& n : g.nodes) {
    infos.push_back(n.info());
    n.attrs.set_where(n.info().describe());
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const graph::Node& n = g.nodes[i];
    const ops::OpEntry* e = ops::OpRegistry::global().find(n.domain, n.op_type, n.opset);
    if (!e) throw Error(missing, infos[i].describe() + where);
    kernels.push_back(e->make());
    ops::PrepackContext pc;
    pc.node = &infos[i];
    pc.attrs = &n.attrs;
    pc.precision = precision;
    pc.threading = th;
    pc.optimization_level = opt_level;
    for (const std::string& in : n.inputs) pc.constants.push_back(g.constant(in));
    kernels.back()->prepack(pc);
  }
}

}  // namespace ortkit::runtime
