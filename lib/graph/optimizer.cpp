#include "graph/optimizer.h"

#include <algorithm>
#include <iostream>

namespace ortkit::graph {

std::vector<std::string> optimize(Graph& g, const OptimizeOptions& opts) {
  std::vector<std::string> log;
  if (opts.level <= 0) return log;
  struct Pass {
    const char* name;
    int (*fn)(Graph&);
    int min_level;
    bool numpy_broadcast = false;  ///< its matchers assume numpy broadcasting of elementwise ops
  };
  // Order matters: fold first (exposes constant weights), fuse GELU/LayerNorm before MatMul+Add so the
  // bias Add is still there for the GELU epilogue match, fold BN before fusing the Conv activation, and
  // take Conv -> Add -> Relu (a residual join) before Conv -> Relu; a swish after that join follows it.
  // The int8 fusions run before folding, which would turn DequantizeLinear(int8 weights) into floats.
  static const Pass kPasses[] = {
      {"qdq_matmul_fusion", [](Graph& g) { return fuse_qdq_matmul(g); }, 2},
      {"dynquant_matmul_fusion", [](Graph& g) { return fuse_dynquant_matmul(g); }, 2},
      {"dynquant_conv_fusion", [](Graph& g) { return fuse_dynquant_conv(g); }, 2},
      {"qdq_conv_fusion", [](Graph& g) { return fuse_qdq_conv(g); }, 2},
      {"qdq_add_fusion", [](Graph& g) { return fuse_qdq_add(g); }, 2, true},
      {"qdq_conv_layout", qdq_conv_layout, 2},
      {"constant_folding", fold_constants, 1},
      {"dead_nodes", remove_dead_nodes, 1},
      {"layernorm_fusion", [](Graph& g) { return fuse_layer_norm(g); }, 2, true},
      {"conv_bn_fold", fold_conv_batchnorm, 2},
      {"matmul_add_fusion", fuse_matmul_add, 2, true},
      {"gelu_fusion", fuse_gelu, 2, true},
      {"conv_add_fusion", [](Graph& g) { return fuse_conv_add(g); }, 2, true},
      {"swish_fusion", fuse_swish, 2, true},
      {"conv_act_fusion", [](Graph& g) { return fuse_conv_activation(g); }, 2},
      {"dead_nodes", remove_dead_nodes, 1},
  };
  // An opset < 7 binary op with broadcast=1 and an axis does not broadcast numpy-style, which the
  // elementwise pattern matchers assume; such (rare, 2017-era) graphs keep those nodes unfused.
  const bool legacy_axis = std::any_of(g.nodes.begin(), g.nodes.end(), [](const Node& n) {
    return n.domain.empty() && n.opset < 7 && n.attrs.get_int("broadcast", 0) != 0 && n.attrs.has("axis");
  });
  for (const Pass& p : kPasses) {
    if (opts.level < p.min_level || (legacy_axis && p.numpy_broadcast)) continue;
    if (std::find(opts.disabled_passes.begin(), opts.disabled_passes.end(), p.name) !=
        opts.disabled_passes.end())
      continue;
    const int n = p.fn(g);
    if (n > 0) {
      log.push_back(std::string(p.name) + ": " + std::to_string(n));
      if (opts.verbose) std::cerr << "ortkit: optimizer: " << p.name << ": " << n << " rewrite(s)\n";
    }
  }
  return log;
}

}  // namespace ortkit::graph
