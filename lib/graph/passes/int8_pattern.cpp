#include "graph/passes/int8_pattern.h"

#include "graph/optimizer.h"
#include "graph/passes/pattern.h"
#include "ops/eval.h"

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

bool is_bias(const Tensor* t, int64_t n) {
  if (!t || t->dtype() != DType::f32 || t->numel() != n) return false;
  return t->rank() <= 1 || (t->rank() == 2 && t->shape()[0] == 1);
}

std::string constant_or_folded_dq(Graph& g, const std::string& v) {
  if (v.empty()) return "";
  if (g.constant(v)) return v;
  const int p = pattern::producer_of(g, v, "DequantizeLinear");
  if (p < 0) return "";
  const Node& dq = g.nodes[p];
  std::vector<Tensor> ins;
  for (const std::string& in : dq.inputs) {
    if (in.empty()) {
      ins.emplace_back();
      continue;
    }
    const Tensor* c = g.constant(in);
    if (!c) return "";
    ins.push_back(Tensor::view(c->dtype(), c->shape(), const_cast<void*>(c->data())));
  }
  ops::EvalOptions eo;
  eo.opset = dq.opset;
  Tensor out;
  try {
    out = ops::eval_single("DequantizeLinear", ins, dq.attrs, eo)[0];
  } catch (const Error&) {
    return "";
  }
  const std::string name = g.fresh_name(v + "_folded");
  g.initializers[name] = std::make_shared<Tensor>(std::move(out));
  return name;
}

int bias_add_after(Graph& g, const std::string& v, int64_t n, std::string& bias) {
  const int ai = pattern::sole_consumer_of(g, v, "Add");
  if (ai < 0) return -1;
  const std::string other = pattern::other_operand(g.nodes[ai], v);
  const Tensor* t = g.constant(other);
  if (!t) {  // QDQ: DequantizeLinear(int32 bias): check the shape before folding it
    const int p = pattern::producer_of(g, other, "DequantizeLinear");
    const Tensor* q = p >= 0 ? g.constant(g.nodes[p].inputs[0]) : nullptr;
    if (!q || q->numel() != n || q->rank() > 1) return -1;
  } else if (!is_bias(t, n)) {
    return -1;
  }
  const std::string c = constant_or_folded_dq(g, other);
  if (c.empty() || !is_bias(g.constant(c), n)) return -1;
  bias = c;
  return ai;
}

void trim_inputs(Node& n) {
  while (!n.inputs.empty() && n.inputs.back().empty()) n.inputs.pop_back();
}

void erase_fused(Graph& g, const std::vector<bool>& dead) {
  g.erase_nodes(dead);
  remove_dead_nodes(g);
  g.topo_sort();
}

}  // namespace ortkit::graph::int8
