#include "graph/passes/pattern.h"

#include <algorithm>
#include <cmath>

namespace ortkit::graph::pattern {

int producer_of(const Graph& g, const std::string& v, const char* op) {
  const int p = g.producer(v);
  return p >= 0 && g.nodes[p].op_type == op && g.nodes[p].domain.empty() ? p : -1;
}

int sole_consumer(const Graph& g, const std::string& v) {
  if (g.is_graph_output(v)) return -1;
  const std::vector<int> c = g.consumers(v);
  if (c.size() != 1) return -1;
  // A node reading v twice still counts once here; callers check operands.
  return c[0];
}

int sole_consumer_of(const Graph& g, const std::string& v, const char* op) {
  const int c = sole_consumer(g, v);
  return c >= 0 && g.nodes[c].op_type == op && g.nodes[c].domain.empty() ? c : -1;
}

bool is_const_value(const Graph& g, const std::string& v, double value, double tol) {
  const Tensor* t = g.constant(v);
  if (!t || t->numel() < 1) return false;
  for (int64_t i = 0; i < t->numel(); ++i) {
    double x;
    if (t->dtype() == DType::f32)
      x = t->data_as<float>()[i];
    else if (t->dtype() == DType::f64)
      x = t->data_as<double>()[i];
    else if (t->dtype() == DType::i64)
      x = static_cast<double>(t->data_as<int64_t>()[i]);
    else if (t->dtype() == DType::i32)
      x = t->data_as<int32_t>()[i];
    else
      return false;
    if (std::fabs(x - value) > tol * std::max(1.0, std::fabs(value))) return false;
  }
  return true;
}

std::string other_operand(const Node& n, const std::string& v) {
  if (n.inputs.size() != 2) return {};
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return {};
}

bool consumers_within(const Graph& g, const std::string& v, const std::vector<int>& allowed) {
  if (g.is_graph_output(v)) return false;
  for (int c : g.consumers(v))
    if (std::find(allowed.begin(), allowed.end(), c) == allowed.end()) return false;
  return true;
}

bool is_reduce_mean_last_axis(const Graph& g, const Node& n) {
  if (n.op_type != "ReduceMean" || !n.domain.empty()) return false;
  if (n.attrs.get_int("keepdims", 1) != 1) return false;
  std::vector<int64_t> axes;
  if (n.attrs.has("axes")) {
    axes = n.attrs.get_ints("axes");
  } else if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
    const Tensor* t = g.constant(n.inputs[1]);
    if (!t || t->dtype() != DType::i64) return false;
    axes.assign(t->data_as<int64_t>(), t->data_as<int64_t>() + t->numel());
  }
  return axes.size() == 1 && axes[0] == -1;
}

}  // namespace ortkit::graph::pattern
