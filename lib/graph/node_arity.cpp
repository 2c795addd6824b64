#include "graph/node_arity.h"

#include <onnx/defs/schema.h>

#include <string>

#include "ortkit/error.h"

namespace ortkit::graph {
namespace {

/// Count of slots up to the last non-empty name (trailing "" are omitted optionals).
size_t used_slots(const std::vector<std::string>& names) {
  size_t n = names.size();
  while (n > 0 && names[n - 1].empty()) --n;
  return n;
}

void check_side(const Node& n, const std::string& where, const char* side,
                const std::vector<std::string>& names,
                const std::vector<onnx::OpSchema::FormalParameter>& formals, int min_count, int max_count,
                bool exact) {
  const size_t used = used_slots(names);
  for (size_t i = 0; i < formals.size(); ++i) {
    if (formals[i].GetOption() != onnx::OpSchema::Single) continue;  // Optional or Variadic
    if (i >= used || names[i].empty())
      throw Error(n.info().describe() + ": required " + side + " " + std::to_string(i) + " ('" +
                      formals[i].GetName() + "') is missing",
                  where);
  }
  if (static_cast<int64_t>(used) < min_count)
    throw Error(n.info().describe() + " has " + std::to_string(used) + " " + side + "s, needs at least " +
                    std::to_string(min_count),
                where);
  if (exact && static_cast<int64_t>(names.size()) > max_count)
    throw Error(n.info().describe() + " has " + std::to_string(names.size()) + " " + side +
                    "s, takes at most " + std::to_string(max_count),
                where);
}

}  // namespace

void check_node_arity(const Node& n, const std::string& where) {
  if (!n.domain.empty() && n.domain != "ai.onnx.ml") return;
  // Ops whose required inputs became optional after the schemas libonnx knows: their old lower bound no
  // longer holds at the later opset.
  if (n.domain.empty() && n.op_type == "OptionalHasElement" && n.opset >= 18) return;
  const onnx::OpSchema* s = onnx::OpSchemaRegistry::Schema(n.op_type, n.opset, n.domain);
  if (!s) return;
  const auto& range = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  const auto it = range.find(n.domain);
  const bool exact = it != range.end() && n.opset <= it->second.second;
  check_side(n, where, "input", n.inputs, s->inputs(), s->min_input(), s->max_input(), exact);
  check_side(n, where, "output", n.outputs, s->outputs(), s->min_output(), s->max_output(), exact);
}

}  // namespace ortkit::graph
