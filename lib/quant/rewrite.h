// The graph rewrite itself (dynamic, static QDQ, static QOperator) on a ModelProto, in place.
// Nodes are visited in graph order; replacements are emitted where the original node was, so the
// topological order is kept. Every new tensor name is made unique against the whole graph.
#pragma once
#include <onnx/onnx_pb.h>

#include <vector>

#include "ortkit/quantize.h"

namespace ortkit::quant {

/// Rewrites `m`; returns one decision per MatMul/Gemm/Conv node. Throws Error (missing range, old opset).
std::vector<NodeDecision> rewrite_model(onnx::ModelProto& m, const QuantizeOptions& o,
                                        const RangeMap& ranges);

/// Names of the activations static mode needs ranges for, in first-use order.
std::vector<std::string> calibration_tensors(const onnx::ModelProto& m, const QuantizeOptions& o);

}  // namespace ortkit::quant
