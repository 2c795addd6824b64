#include "graph/passes/int8_pattern.h"

#include "graph/passes/pattern.h"

namespace ortkit::graph::int8 {

bool is_int8_matrix(const Tensor* t) {
  return t && (t->dtype() == DType::u8 || t->dtype() == DType::i8) && t->rank() == 2;
}

bool is_per_column_f32(const Tensor* t, int64_t n) {
  if (!t || t->dtype() != DType::f32) return false;
  if (t->numel() == 1 && t->rank() <= 1) return true;
  if (t->numel() != n) return false;
  return t->rank() == 1 || (t->rank() == 2 && t->shape()[0] == 1);
}

bool is_per_column_int(const Graph& g, const std::string& v, int64_t n) {
  if (v.empty()) return true;
  const Tensor* t = g.constant(v);
  if (!t || (t->dtype() != DType::u8 && t->dtype() != DType::i8 && t->dtype() != DType::i32)) return false;
  return (t->numel() == 1 && t->rank() <= 1) || (t->numel() == n && t->rank() == 1);
}

int bias_add_after(const Graph& g, const std::string& v, int64_t n, std::string& bias) {
  const int ai = pattern::sole_consumer_of(g, v, "Add");
  if (ai < 0) return -1;
  const std::string c = pattern::other_operand(g.nodes[ai], v);
  const Tensor* t = g.constant(c);
  if (!t || t->dtype() != DType::f32 || t->numel() != n) return -1;
  if (t->rank() > 2 || (t->rank() == 2 && t->shape()[0] != 1)) return -1;
  bias = c;
  return ai;
}

void trim_inputs(Node& n) {
  while (!n.inputs.empty() && n.inputs.back().empty()) n.inputs.pop_back();
}

}  // namespace ortkit::graph::int8
