// Constant folding at open time: a node whose inputs are all (non-overridable) initializers is evaluated
// once with its own kernel (ops::eval_single) and replaced by initializers. Shape-dependent chains
// (Shape -> Gather -> ... -> Reshape) are folded later, per shape signature, by the Plan compiler.
#include "graph/optimizer.h"
#include "ops/eval.h"
#include "ops/registry.h"

namespace ortkit::graph {

namespace {
bool foldable_op(const Node& n) {
  for (const char* o :
       {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"})
    if (n.op_type == o) return false;
  return true;
}
}  // namespace

int fold_constants(Graph& g) {
  int folded = 0;
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (!foldable_op(n) || !ops::OpRegistry::global().find(n.domain, n.op_type, n.opset)) continue;
    std::vector<Tensor> ins;
    bool ok = !n.inputs.empty();
    for (const std::string& in : n.inputs) {
      if (in.empty()) {
        ins.emplace_back();
        continue;
      }
      const Tensor* c = g.constant(in);
      if (!c) {
        ok = false;
        break;
      }
      ins.push_back(Tensor::view(c->dtype(), c->shape(), const_cast<void*>(c->data())));
    }
    if (!ok) continue;
    ops::EvalOptions eo;
    eo.domain = n.domain;
    eo.opset = n.opset;
    eo.num_outputs = static_cast<int>(n.outputs.size());
    eo.inputs_constant = true;
    std::vector<Tensor> outs;
    try {
      outs = ops::eval_single(n.op_type, ins, n.attrs, eo);
    } catch (const Error&) {
      continue;  // leave it to run time, where the error (if any) is reported with its inputs
    }
    bool all = true;
    // A sequence or optional is made at run time: initializers are tensors.
    for (const Tensor& t : outs) all = all && t.dtype() != DType::undefined && !t.is_list();
    if (!all) continue;
    for (size_t o = 0; o < n.outputs.size(); ++o)
      if (!n.outputs[o].empty()) g.initializers[n.outputs[o]] = std::make_shared<Tensor>(std::move(outs[o]));
    dead[i] = true;
    ++folded;
  }
  if (folded) g.erase_nodes(dead);
  return folded;
}

}  // namespace ortkit::graph
