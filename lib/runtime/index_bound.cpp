// Session::index_bound: the valid index range of an integer input, read from the graph, so generated
// token ids stay inside the embedding table whatever the model (ours or anyone's export).
#include <set>
#include <string>

#include "runtime/session_impl.h"

namespace ortkit::runtime {

namespace {
// Ops that pass indices through unchanged in value (only their shape or dtype changes).
bool passes_values(const std::string& op) {
  static const std::set<std::string> ops = {"Cast",    "Reshape",  "Unsqueeze", "Squeeze",
                                            "Flatten", "Identity", "Expand",    "Transpose"};
  return ops.count(op) != 0;
}
}  // namespace

int64_t SessionImpl::index_bound(const std::string& input) const {
  // Breadth-first over value-preserving ops; the first Gather that uses the value as indices of a constant
  // table (axis 0) gives the bound. Several tables: the smallest, so every consumer stays in range.
  int64_t bound = -1;
  std::set<std::string> seen = {input};
  std::vector<std::string> frontier = {input};
  while (!frontier.empty()) {
    const std::string v = frontier.back();
    frontier.pop_back();
    for (const graph::Node& n : g_.nodes) {
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        if (n.inputs[i] != v) continue;
        // The table an index input selects rows of: Gather's data, or for ONNX Runtime's fused
        // EmbedLayerNormalization, word_embedding (input_ids) and segment_embedding (segment_ids).
        std::string table;
        if (n.op_type == "Gather" && i == 1 && n.attrs.get_int("axis", 0) == 0) table = n.inputs[0];
        const size_t ti = i == 0 ? 2 : 4;
        if (n.op_type == "EmbedLayerNormalization" && i <= 1 && n.inputs.size() > ti) table = n.inputs[ti];
        if (!table.empty()) {
          auto it = g_.initializers.find(table);
          if (it != g_.initializers.end() && it->second->rank() >= 1) {
            const int64_t rows = it->second->shape()[0];
            bound = bound < 0 ? rows : std::min(bound, rows);
          }
        } else if (i == 0 && passes_values(n.op_type) && !n.outputs.empty() &&
                   seen.insert(n.outputs[0]).second) {
          frontier.push_back(n.outputs[0]);
        }
      }
    }
  }
  return bound;
}

}  // namespace ortkit::runtime
