#include "ops/eval.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "ops/registry.h"

namespace ortkit::ops {

std::vector<Tensor> eval_single(const std::string& op_type, const std::vector<Tensor>& inputs,
                                const Attrs& attrs, const EvalOptions& opts) {
  NodeInfo node{op_type + "_eval", op_type, canonical_domain(opts.domain), opts.opset};
  const OpEntry* e = OpRegistry::global().find(node.domain, op_type, opts.opset);
  if (!e) throw Error("no kernel registered for this op and opset", node.describe());
  std::unique_ptr<OpKernel> k = e->make();

  CompileContext cc;
  cc.node = &node;
  Attrs a = attrs;
  a.set_where(node.describe());
  cc.attrs = &a;
  cc.precision = opts.precision;
  cc.threading = opts.threading;
  for (const Tensor& t : inputs) {
    InputDesc d;
    d.present = !t.empty();
    d.dtype = t.dtype();
    d.shape = t.shape();
    d.shape_known = d.present;
    const int idx = static_cast<int>(cc.inputs.size());
    const bool listed = std::find(opts.constant_inputs.begin(), opts.constant_inputs.end(), idx) !=
                        opts.constant_inputs.end();
    d.constant = (opts.inputs_constant || listed) && d.present ? &t : nullptr;
    cc.inputs.push_back(d);
  }
  cc.outputs.resize(static_cast<size_t>(opts.num_outputs));
  k->compile(cc);

  std::vector<Tensor> outs(cc.outputs.size());
  RunContext rc;
  rc.node = &node;
  rc.threading = opts.threading;
  for (const Tensor& t : inputs) rc.inputs.push_back(t.empty() ? nullptr : &t);
  for (size_t i = 0; i < outs.size(); ++i) {
    const OutputDesc& o = cc.outputs[i];
    if (o.alias_of_input >= 0) {
      const Tensor& src = inputs.at(static_cast<size_t>(o.alias_of_input));
      outs[i] = Tensor::view(o.dtype, o.shape, const_cast<void*>(src.data()));
    } else if (!o.data_dependent && o.dtype != DType::undefined) {
      outs[i] = Tensor(o.dtype, o.shape);
    }
    rc.outputs.push_back(&outs[i]);
  }
  std::shared_ptr<void> scratch;
  if (cc.scratch_bytes) {
    scratch.reset(std::aligned_alloc(64, (cc.scratch_bytes + 63) / 64 * 64), std::free);
    rc.scratch = scratch.get();
    rc.scratch_bytes = cc.scratch_bytes;
  }
  k->run(rc);
  // Aliased outputs must not dangle once the caller's inputs go away.
  for (size_t i = 0; i < outs.size(); ++i)
    if (cc.outputs[i].alias_of_input >= 0) outs[i] = outs[i].clone();
  return outs;
}

}  // namespace ortkit::ops
