// Conv + BatchNormalization (inference) -> Conv with rescaled weights and bias:
//   s = scale / sqrt(var + eps);  W'[oc] = W[oc] * s[oc];  B'[oc] = (B[oc] - mean[oc]) * s[oc] + bias[oc]
// Conv weights (and bias) and every BN parameter must be float32 constants, the Conv output read only by
// the BN, and the BN must produce only its first output (inference mode).
#include <cmath>

#include "graph/optimizer.h"
#include "graph/passes/pattern.h"

namespace ortkit::graph {

int fold_conv_batchnorm(Graph& g) {
  using namespace pattern;
  int folded = 0;
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t ci = 0; ci < g.nodes.size(); ++ci) {
    Node& conv = g.nodes[ci];
    if (dead[ci] || conv.op_type != "Conv" || !conv.domain.empty() || conv.inputs.size() < 2) continue;
    const Tensor* w = g.constant(conv.inputs[1]);
    if (!w || w->dtype() != DType::f32 || w->rank() < 3) continue;
    const int64_t oc = w->shape()[0];
    const Tensor* b =
        conv.inputs.size() > 2 && !conv.inputs[2].empty() ? g.constant(conv.inputs[2]) : nullptr;
    if (conv.inputs.size() > 2 && !conv.inputs[2].empty() && (!b || b->numel() != oc)) continue;
    const int bi = sole_consumer_of(g, conv.outputs[0], "BatchNormalization");
    if (bi < 0 || dead[bi]) continue;
    const Node& bn = g.nodes[bi];
    if (bn.inputs.size() != 5 || bn.inputs[0] != conv.outputs[0]) continue;
    bool extra_outputs = false;
    for (size_t o = 1; o < bn.outputs.size(); ++o) extra_outputs = extra_outputs || !bn.outputs[o].empty();
    if (extra_outputs || bn.attrs.get_int("training_mode", 0) != 0) continue;
    const Tensor* p[4];
    bool ok = true;
    for (int k = 0; k < 4; ++k) {
      p[k] = g.constant(bn.inputs[1 + k]);
      ok = ok && p[k] && p[k]->dtype() == DType::f32 && p[k]->numel() == oc;
    }
    if (!ok) continue;
    const float eps = bn.attrs.get_float("epsilon", 1e-5f);
    const float *scale = p[0]->data_as<float>(), *bias = p[1]->data_as<float>(),
                *mean = p[2]->data_as<float>(), *var = p[3]->data_as<float>();
    auto nw = std::make_shared<Tensor>(w->clone());
    auto nb = std::make_shared<Tensor>(DType::f32, Shape{oc});
    const int64_t per = w->numel() / oc;
    for (int64_t c = 0; c < oc; ++c) {
      const float s = scale[c] / std::sqrt(var[c] + eps);
      float* wc = nw->data_as<float>() + c * per;
      for (int64_t i = 0; i < per; ++i) wc[i] *= s;
      const float b0 = b ? b->data_as<float>()[c] : 0.f;
      nb->data_as<float>()[c] = (b0 - mean[c]) * s + bias[c];
    }
    const std::string wn = g.fresh_name(conv.name + "_W_bn"), bnm = g.fresh_name(conv.name + "_B_bn");
    g.initializers[wn] = nw;
    g.initializers[bnm] = nb;
    conv.inputs.resize(3);
    conv.inputs[1] = wn;
    conv.inputs[2] = bnm;
    conv.outputs[0] = bn.outputs[0];
    dead[bi] = true;
    ++folded;
  }
  if (folded) {
    g.erase_nodes(dead);
    g.topo_sort();
  }
  return folded;
}

}  // namespace ortkit::graph
