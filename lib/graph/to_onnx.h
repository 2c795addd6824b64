// Graph -> ONNX ModelProto, for tools that rewrite a graph and write it back (quantizer, "save the
// optimized model"). Initializers are written with raw_data; overridable initializers are listed as graph
// inputs again. ONNX has one opset per domain, so each domain is written with the highest opset any of
// its nodes uses (a fused LayerNormalization raises ai.onnx to 17); the ortkit domain is imported when
// fused ops are present.
#pragma once
#include <onnx/onnx_pb.h>

#include <string>

#include "graph/graph.h"

namespace ortkit::graph {

onnx::ModelProto to_onnx(const Graph& g);
/// to_onnx + atomic write.
void save_graph(const Graph& g, const std::string& path);

}  // namespace ortkit::graph
