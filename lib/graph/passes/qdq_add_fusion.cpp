// The QDQ residual Add of statically quantized CNNs (ONNX Runtime's quantize_static QDQ format):
//
//   y_q = QuantizeLinear([Relu](Add(DequantizeLinear(a_q, a_s, a_zp), DequantizeLinear(b_q, b_s, b_zp))),
//                        y_s, y_zp?)
//
// with constant per-tensor scales and zero points (zero points of the DQs present, so their dtype tells
// a_q's / b_q's) becomes ortkit.QdqAdd(a_q, a_s, a_zp, b_q, b_s, b_zp, y_s, y_zp?) (attribute
// `activation` = "relu" when a Relu sits between Add and Q): int8 in, int8 out, one pass over memory
// instead of DQ, DQ, Add, (Relu,) Q. Any numpy broadcast of a_q and b_q is handled by the operator (the
// graph carries no shapes). The Add (and Relu) result must be read by the next node only; a
// DequantizeLinear that is also read elsewhere stays for its other readers.
// Runs after qdq_conv_fusion (whose QdqConv outputs are the usual a_q / b_q) and before constant folding.
#include <algorithm>

#include "graph/optimizer.h"
#include "graph/passes/int8_pattern.h"
#include "graph/passes/pattern.h"
#include "ops/registry.h"

namespace ortkit::graph {

namespace {

bool is_scalar_f32(const Tensor* t) {
  return t && t->dtype() == DType::f32 && t->numel() == 1 && t->rank() <= 1;
}

bool is_scalar_int8(const Tensor* t) {
  return t && (t->dtype() == DType::u8 || t->dtype() == DType::i8) && t->numel() == 1 && t->rank() <= 1;
}

/// A DequantizeLinear producing `v` with constant per-tensor scale and an int8 zero point: its index.
int per_tensor_dq(const Graph& g, const std::string& v) {
  const int i = pattern::producer_of(g, v, "DequantizeLinear");
  if (i < 0) return -1;
  const Node& d = g.nodes[static_cast<size_t>(i)];
  if (d.inputs.size() < 3 || !is_scalar_f32(g.constant(d.inputs[1])) ||
      !is_scalar_int8(g.constant(d.inputs[2])))
    return -1;
  if (d.attrs.get_int("block_size", 0) != 0) return -1;
  return i;
}

}  // namespace

int fuse_qdq_add(Graph& g, bool require_kernel) {
  using namespace pattern;
  if (require_kernel && !ops::OpRegistry::global().knows(ops::kOrtkitDomain, "QdqAdd")) return 0;
  int fused = 0;
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& add = g.nodes[i];
    if (dead[i] || add.op_type != "Add" || !add.domain.empty() || add.inputs.size() != 2) continue;
    // a: a per-tensor DequantizeLinear; b: another one, or any float value (the Add makes it f32 like
    // the DQ's output, whose scale is f32).
    int ai = per_tensor_dq(g, add.inputs[0]), bi = per_tensor_dq(g, add.inputs[1]);
    std::string b_float;
    if (ai < 0 && bi < 0) continue;
    if (ai < 0) {
      ai = bi;
      bi = -1;
      b_float = add.inputs[0];
    } else if (bi < 0) {
      b_float = add.inputs[1];
    }
    const Node& da = g.nodes[static_cast<size_t>(ai)];
    // v: the Add result, or the Relu's when the Add is read by one Relu only.
    int relu = sole_consumer_of(g, add.outputs[0], "Relu");
    if (relu >= 0 && dead[static_cast<size_t>(relu)]) relu = -1;
    const std::string v = relu >= 0 ? g.nodes[static_cast<size_t>(relu)].outputs[0] : add.outputs[0];
    // One QuantizeLinear of v with constant per-tensor parameters becomes the quantized output; any
    // other reader of v (or v being a graph output) keeps v as the float output.
    int qi = -1;
    bool other_readers = false;
    for (size_t k = 0; k < g.nodes.size(); ++k) {
      const Node& c = g.nodes[k];
      if (dead[k] || std::find(c.inputs.begin(), c.inputs.end(), v) == c.inputs.end()) continue;
      const bool q_ok = qi < 0 && c.op_type == "QuantizeLinear" && c.domain.empty() && c.inputs[0] == v &&
                        c.inputs.size() >= 2 && is_scalar_f32(g.constant(c.inputs[1])) &&
                        (c.inputs.size() > 2 && !c.inputs[2].empty()
                             ? is_scalar_int8(g.constant(c.inputs[2]))
                             : c.attrs.get_int("output_dtype", 0) == 0) &&  // opset 21: u8 by default
                        c.attrs.get_int("block_size", 0) == 0;
      if (q_ok)
        qi = static_cast<int>(k);
      else
        other_readers = true;
    }
    for (const ValueInfo& o : g.outputs) other_readers = other_readers || o.name == v;
    if (qi < 0 && b_float.empty() && relu < 0 && !other_readers) continue;  // nothing reads it

    Node f;
    f.name = add.name;
    f.op_type = "QdqAdd";
    f.domain = ops::kOrtkitDomain;
    f.opset = 1;
    if (relu >= 0) f.attrs.set_string("activation", "relu");
    f.attrs.set_int("quantized_output", qi >= 0 ? 1 : 0);
    f.attrs.set_int("float_output", qi < 0 || other_readers ? 1 : 0);
    f.inputs = {da.inputs[0], da.inputs[1], da.inputs[2]};
    if (bi >= 0) {
      const Node& db = g.nodes[static_cast<size_t>(bi)];
      f.inputs.insert(f.inputs.end(), {db.inputs[0], db.inputs[1], db.inputs[2]});
    } else {
      f.inputs.insert(f.inputs.end(), {b_float, "", ""});
    }
    if (qi >= 0) {
      const Node& q = g.nodes[static_cast<size_t>(qi)];
      f.inputs.push_back(q.inputs[1]);
      f.inputs.push_back(q.inputs.size() > 2 ? q.inputs[2] : "");
      f.outputs.push_back(q.outputs[0]);
      dead[static_cast<size_t>(qi)] = true;
    }
    int8::trim_inputs(f);
    if (qi < 0 || other_readers) f.outputs.push_back(v);
    if (relu >= 0) dead[static_cast<size_t>(relu)] = true;
    g.nodes[i] = std::move(f);
    ++fused;
  }
  if (fused) int8::erase_fused(g, dead);
  return fused;
}

}  // namespace ortkit::graph
