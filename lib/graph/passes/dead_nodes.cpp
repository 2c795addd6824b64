// Dead node removal: nodes none of whose outputs is read (by a node or as a graph output), and
// initializers nothing reads any more (so folded-away weights do not stay in memory).
#include <set>

#include "graph/optimizer.h"

namespace ortkit::graph {

int remove_dead_nodes(Graph& g) {
  std::set<std::string> live;
  for (const ValueInfo& o : g.outputs) live.insert(o.name);
  std::vector<bool> dead(g.nodes.size(), false);
  int removed = 0;
  for (size_t i = g.nodes.size(); i-- > 0;) {
    const Node& n = g.nodes[i];
    bool used = false;
    for (const std::string& o : n.outputs) used = used || (!o.empty() && live.count(o));
    if (!used) {
      dead[i] = true;
      ++removed;
      continue;
    }
    for (const std::string& in : n.inputs) live.insert(in);
  }
  if (removed) g.erase_nodes(dead);
  for (auto it = g.initializers.begin(); it != g.initializers.end();) {
    if (!live.count(it->first) && !g.overridable.count(it->first))
      it = g.initializers.erase(it);
    else
      ++it;
  }
  return removed;
}

}  // namespace ortkit::graph
