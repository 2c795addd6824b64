// Which nodes get quantized: op types, exclusions, constant weights, keep-first-last.
#pragma once
#include <onnx/onnx_pb.h>

#include <vector>

#include "ortkit/quantize.h"

namespace ortkit::quant {

/// A label for messages and generated names: the node's name, or "<op>_<index>" when it has none.
std::string node_label(const onnx::NodeProto& n, int index);

/// One decision per MatMul/Gemm/Conv node in the main graph, in graph order; `index` is the node's
/// position. quantized=true means "to be rewritten".
struct Selected {
  int index = 0;
  NodeDecision d;
};
std::vector<Selected> select_nodes(const onnx::ModelProto& m, const QuantizeOptions& o);

}  // namespace ortkit::quant
