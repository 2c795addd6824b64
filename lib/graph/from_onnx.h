// ONNX ModelProto -> Graph: opsets, initializers (raw, typed, external), Constant nodes folded into
// initializers (every attribute form), initializers listed in graph.input kept as overridable defaults,
// calls of model-local functions replaced by their bodies (local_functions.h), nodes sorted topologically
// (cycles are an Error), unnamed nodes named "<OpType>_<index>".
// Graph attributes (If/Loop/Scan bodies) are parsed recursively into ops::Attribute::Kind::graph; the
// outer-scope values a body reads (Graph::outer_refs) are appended to the owning node's inputs.
#pragma once
#include <onnx/onnx_pb.h>

#include "graph/graph.h"

namespace ortkit::graph {

/// `source` names the model in errors; `base_dir` resolves external data files.
Graph from_onnx(const onnx::ModelProto& model, const std::string& source, const std::string& base_dir);

/// One AttributeProto as an ops::Attribute (graph-valued attributes become Kind::undefined
/// here; from_onnx parses them).
ops::Attribute attribute_from_proto(const onnx::AttributeProto& a, const std::string& base_dir);

}  // namespace ortkit::graph
