#include "graph/graph.h"

#include <algorithm>
#include <queue>
#include <unordered_map>

namespace ortkit::graph {

const Tensor* Graph::constant(const std::string& value) const {
  if (value.empty() || overridable.count(value)) return nullptr;
  auto it = initializers.find(value);
  return it == initializers.end() ? nullptr : it->second.get();
}

bool Graph::is_graph_output(const std::string& value) const {
  for (const ValueInfo& o : outputs)
    if (o.name == value) return true;
  return false;
}

int Graph::producer(const std::string& value) const {
  if (value.empty()) return -1;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const std::string& o : nodes[i].outputs)
      if (o == value) return static_cast<int>(i);
  return -1;
}

std::vector<int> Graph::consumers(const std::string& value) const {
  std::vector<int> out;
  if (value.empty()) return out;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (std::find(nodes[i].inputs.begin(), nodes[i].inputs.end(), value) != nodes[i].inputs.end())
      out.push_back(static_cast<int>(i));
  return out;
}

std::string Graph::fresh_name(const std::string& prefix) const {
  std::set<std::string> used;
  for (const auto& [k, v] : initializers) used.insert(k);
  for (const ValueInfo& v : inputs) used.insert(v.name);
  for (const Node& n : nodes) {
    used.insert(n.name);
    for (const auto& o : n.outputs) used.insert(o);
    for (const auto& i : n.inputs) used.insert(i);
  }
  if (!used.count(prefix)) return prefix;
  for (int i = 1;; ++i)
    if (!used.count(prefix + "_" + std::to_string(i))) return prefix + "_" + std::to_string(i);
}

void Graph::topo_sort() {
  // Kahn's algorithm over value names; ties keep the original order (a min-heap on the index).
  std::unordered_map<std::string, int> prod;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& o : nodes[i].outputs)
      if (!o.empty()) prod[o] = static_cast<int>(i);
  std::vector<int> indeg(nodes.size(), 0);
  std::vector<std::vector<int>> succ(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& in : nodes[i].inputs) {
      auto it = prod.find(in);
      if (it == prod.end()) continue;
      succ[it->second].push_back(static_cast<int>(i));
      ++indeg[i];
    }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (indeg[i] == 0) ready.push(static_cast<int>(i));
  std::vector<int> order;
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int s : succ[i])
      if (--indeg[s] == 0) ready.push(s);
  }
  if (order.size() != nodes.size()) {
    for (size_t i = 0; i < nodes.size(); ++i)
      if (indeg[i] > 0)
        throw Error("the graph has a cycle through this node",
                    nodes[i].info().describe() + (source.empty() ? "" : " in " + source));
  }
  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  for (int i : order) sorted.push_back(std::move(nodes[i]));
  nodes = std::move(sorted);
}

void Graph::erase_nodes(const std::vector<bool>& dead) {
  std::vector<Node> keep;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!dead[i]) keep.push_back(std::move(nodes[i]));
  nodes = std::move(keep);
}

}  // namespace ortkit::graph
