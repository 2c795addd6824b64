// Graph optimization: the pass pipeline run at Session::open (one pass per file in passes/).
#pragma once
#include <string>
#include <vector>

#include "graph/graph.h"

namespace ortkit::graph {

struct OptimizeOptions {
  int level = 99;        ///< 0: nothing; 1: folding and dead-node removal; 2+: fusions too
  bool verbose = false;  ///< print each rewrite to stderr
  /// Pass names (as in the log, e.g. "qdq_conv_fusion") to skip: for A/B comparisons of a fusion.
  std::vector<std::string> disabled_passes;
};

/// A pass returns how many rewrites it made. require_kernel: only rewrite into an op that has a registered
/// kernel (tests pass false to check the rewrite itself). Passes keep the graph topologically sorted.
int fold_constants(Graph& g);                                    // passes/constant_folding.cpp
int remove_dead_nodes(Graph& g);                                 // passes/dead_nodes.cpp
int fuse_matmul_add(Graph& g);                                   // passes/matmul_add_fusion.cpp
int fuse_gelu(Graph& g);                                         // passes/gelu_fusion.cpp
int fuse_swish(Graph& g);                                        // passes/swish_fusion.cpp
int fuse_layer_norm(Graph& g, bool require_kernel = true);       // passes/layernorm_fusion.cpp
int fold_conv_batchnorm(Graph& g);                               // passes/conv_bn_fold.cpp
int fuse_conv_activation(Graph& g, bool require_kernel = true);  // passes/conv_act_fusion.cpp
int fuse_conv_add(Graph& g, bool require_kernel = true);         // passes/conv_add_fusion.cpp
int fuse_dynquant_matmul(Graph& g, bool require_kernel = true);  // passes/dynquant_matmul_fusion.cpp
int fuse_qdq_matmul(Graph& g, bool require_kernel = true);       // passes/qdq_matmul_fusion.cpp
int fuse_dynquant_conv(Graph& g, bool require_kernel = true);    // passes/dynquant_conv_fusion.cpp
int fuse_qdq_conv(Graph& g, bool require_kernel = true);         // passes/qdq_conv_fusion.cpp
int fuse_qdq_add(Graph& g, bool require_kernel = true);          // passes/qdq_add_fusion.cpp
int qdq_conv_layout(Graph& g);                                   // passes/qdq_conv_layout.cpp

/// float16 / bfloat16 weights, constants and dtype attributes to fp32, Casts at the narrow graph inputs
/// and outputs (passes/narrow_float_compute.cpp). Not an optimization: Session runs it at every level,
/// as the ops compute in fp32. Returns the number of rewrites.
int compute_narrow_floats_in_f32(Graph& g);

/// com.microsoft.DynamicQuantizeLSTM with constant int8 weights -> LSTM over the dequantized weights
/// (passes/dq_lstm_lowering.cpp). Session runs it at every level, before the pipeline.
int lower_dynamic_quantize_lstm(Graph& g);

/// Run the pipeline; returns "pass: count" lines for the passes that changed something.
std::vector<std::string> optimize(Graph& g, const OptimizeOptions& opts = {});

}  // namespace ortkit::graph
