// Pixel-major (NHWC) tensors between fused int8 ops: a tensor that an ortkit.QdqConv or QdqAdd makes and
// that only QdqConvs (as their x) and QdqAdds read goes [N, H, W, C] (QdqConv's output_layout /
// input_layout "NHWC"), the layout the convs compute in. Each QdqConv transposed its input from NCHW and
// its output back, so a bottleneck's 1x1 -> 3x3 -> 1x1 chain, or MobileNet's 1x1 -> depthwise -> 1x1 ->
// residual add, moved every activation through transposes it did not need.
//
// The layouts are the largest consistent set, found by elimination from every candidate: a depthwise
// QdqConv (its loop needs x and y in one layout) and a QdqAdd (an elementwise op: both operands and the
// result must be permuted alike, which keeps broadcasting between two rank-4 tensors correct) take all
// their tensors NHWC or none. Tensors read by anything else, or leaving the graph, keep NCHW. Runs after
// qdq_conv_fusion and qdq_add_fusion, when the DequantizeLinear nodes they absorbed are gone.
#include <algorithm>
#include <set>

#include "graph/optimizer.h"
#include "ops/registry.h"

namespace ortkit::graph {

namespace {

bool is_ortkit(const Node& n, const char* op) {
  return n.op_type == op && n.domain == ops::kOrtkitDomain;
}

/// A QdqConv over rank-4 x and W (constant), the convs that can take either layout.
bool is_conv2d(const Graph& g, const Node& n) {
  if (!is_ortkit(n, "QdqConv") || n.outputs.size() != 1 || n.inputs.size() < 4) return false;
  const Tensor* w = g.constant(n.inputs[3]);
  return w && w->rank() == 4;
}

/// One input and one output channel per group: QdqConv's depthwise loop, which runs x and y alike.
bool is_depthwise(const Graph& g, const Node& n) {
  const Tensor* w = g.constant(n.inputs[3]);
  const int64_t group = n.attrs.get_int("group", 1);
  return group > 1 && w->shape()[1] == 1 && w->shape()[0] == group;
}

/// A QdqAdd with only its quantized output (no float output for other readers to see in NHWC).
bool is_qdq_add(const Node& n) {
  if (!is_ortkit(n, "QdqAdd") || n.inputs.size() < 4) return false;
  if (n.attrs.get_int("quantized_output", 1) != 1 || n.attrs.get_int("float_output", 0) != 0) return false;
  return std::count_if(n.outputs.begin(), n.outputs.end(), [](const std::string& o) { return !o.empty(); }) ==
             1 &&
         !n.outputs[0].empty();
}

/// Whether node c reads v only where a pixel-major tensor may go: a conv's x, an add's operands.
bool reads_as_data(const Graph& g, const Node& c, const std::string& v) {
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    if (c.inputs[i] != v) continue;
    const bool ok = (is_conv2d(g, c) && i == 0) || (is_qdq_add(c) && (i == 0 || i == 3));
    if (!ok) return false;
  }
  return true;
}

}  // namespace

int qdq_conv_layout(Graph& g) {
  std::set<std::string> nhwc;
  for (const Node& n : g.nodes)
    if ((is_conv2d(g, n) || is_qdq_add(n)) && n.attrs.get_string("output_layout", "NCHW") == "NCHW" &&
        !g.is_graph_output(n.outputs[0]))
      nhwc.insert(n.outputs[0]);
  // Drop what breaks a rule until nothing does (each round removes at least one tensor, or stops).
  for (bool changed = true; changed;) {
    changed = false;
    const auto drop = [&](const std::string& v) { changed |= nhwc.erase(v) > 0; };
    for (const std::string& v : std::vector<std::string>(nhwc.begin(), nhwc.end()))
      for (int c : g.consumers(v))
        if (!reads_as_data(g, g.nodes[static_cast<size_t>(c)], v)) {
          drop(v);
          break;
        }
    for (const Node& n : g.nodes) {
      std::vector<std::string> tied;  // all NHWC or none
      if (is_conv2d(g, n) && is_depthwise(g, n))
        tied = {n.inputs[0], n.outputs[0]};
      else if (is_qdq_add(n))
        tied = {n.inputs[0], n.inputs[3], n.outputs[0]};
      const bool all =
          std::all_of(tied.begin(), tied.end(), [&](const std::string& v) { return nhwc.count(v); });
      if (!all)
        for (const std::string& v : tied) drop(v);
    }
  }
  for (Node& n : g.nodes) {
    if (!is_conv2d(g, n)) continue;
    if (nhwc.count(n.inputs[0])) n.attrs.set_string("input_layout", "NHWC");
    if (nhwc.count(n.outputs[0])) n.attrs.set_string("output_layout", "NHWC");
  }
  return static_cast<int>(nhwc.size());
}

}  // namespace ortkit::graph
