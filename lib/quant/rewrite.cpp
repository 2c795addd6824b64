#include "quant/rewrite.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "ortkit/error.h"
#include "quant/onnx_util.h"
#include "quant/qparams.h"
#include "quant/select.h"

namespace ortkit::quant {
namespace {

int reads_of(const onnx::GraphProto& g, const std::string& v) {
  int r = 0;
  for (const auto& n : g.node()) {
    for (const auto& in : n.input()) r += in == v;
    for (const auto& a : n.attribute()) {
      if (a.has_g()) r += reads_of(a.g(), v);
      for (const auto& sg : a.graphs()) r += reads_of(sg, v);
    }
  }
  return r;
}

// Static QDQ: a Relu or Clip that alone reads a quantized Conv's output takes the Conv's output Q/DQ pair,
// so the model holds DQ -> Conv -> Clip -> Q, the form runtimes fuse into one int8 conv with the
// activation in its epilogue (ONNX Runtime's quantizer goes further and drops the activation into the
// range). With the pair between them, every MobileNet layer paid a requantization and two float passes,
// and ran slower than fp32. Returns the activation's output, or "".
std::string activation_after_conv(const onnx::GraphProto& g, const onnx::NodeProto& conv) {
  if (conv.op_type() != "Conv" || conv.output_size() < 1) return {};
  const std::string& y = conv.output(0);
  for (const auto& v : g.output())
    if (v.name() == y) return {};
  const onnx::NodeProto* reader = nullptr;
  const int readers = reads_of(g, y);  // subgraphs included: such a reader keeps the pair
  for (const auto& n : g.node())
    if (!reader && n.input_size() > 0 && n.input(0) == y) reader = &n;
  if (readers != 1 || !reader || reader->output_size() != 1) return {};
  const bool onnx_domain = reader->domain().empty() || reader->domain() == "ai.onnx";
  if (!onnx_domain || (reader->op_type() != "Relu" && reader->op_type() != "Clip")) return {};
  return reader->output(0);
}

struct ActQ {  // a quantized activation: tensor, scale, zero point names
  std::string q, scale, zp;
  QParams p;
};
struct WeightQ {
  std::string q, scale, zp;
  std::vector<float> scales;
  int64_t rows = 0, cols = 0;  // of the (possibly transposed) 2-D weight, for Gemm
};

class Rewriter {
 public:
  Rewriter(onnx::ModelProto& m, const QuantizeOptions& o, const RangeMap& r)
      : m_(m), g_(*m.mutable_graph()), o_(o), ranges_(r) {
    for (const auto& t : g_.initializer()) names_.insert(t.name());
    for (const auto& v : g_.input()) names_.insert(v.name());
    for (const auto& n : g_.node())
      for (const auto& s : n.output()) names_.insert(s);
    inits_ = initializer_map(g_);
    wq_ = qrange(o.weight_type, o.reduce_range, weight_symmetric(o.weight_type));
    aq_ = qrange(o.activation_type, false, o.symmetric_activations);
  }

  std::vector<NodeDecision> run() {
    auto sel = select_nodes(m_, o_);
    std::map<int, Selected*> by_index;
    for (auto& s : sel) by_index[s.index] = &s;
    int64_t opset = default_opset(m_);
    bool any = std::any_of(sel.begin(), sel.end(), [](const Selected& s) { return s.d.quantized; });
    if (any) check_opset(opset);

    std::vector<onnx::NodeProto> old(g_.node().begin(), g_.node().end());
    for (int i = 0; i < static_cast<int>(old.size()); ++i) {
      onnx::NodeProto n = old[static_cast<size_t>(i)];
      auto it = by_index.find(i);
      if (it == by_index.end() || !it->second->d.quantized) {
        for (auto& in : *n.mutable_input()) in = renamed(in);
        const std::string y = n.output_size() > 0 ? n.output(0) : std::string();
        out_.push_back(std::move(n));
        if (!y.empty() && act_outputs_.count(y)) rename_[y] = qdq_activation(y);
        continue;
      }
      label_ = it->second->d.name;
      it->second->d.as = emit(n);
    }
    finish();
    std::vector<NodeDecision> d;
    for (auto& s : sel) d.push_back(std::move(s.d));
    return d;
  }

 private:
  void check_opset(int64_t opset) {
    if (o_.mode == QuantMode::dynamic && opset < 11)
      throw Error("model opset " + std::to_string(opset) +
                  " is too old: dynamic quantization needs opset >= 11 "
                  "(DynamicQuantizeLinear)");
    if (o_.mode == QuantMode::static_ && opset < 10)
      throw Error("model opset " + std::to_string(opset) +
                  " is too old: static quantization needs opset >= 10");
    if (o_.mode == QuantMode::static_ && o_.format == QuantFormat::qdq && o_.per_channel && opset < 13)
      throw Error("model opset " + std::to_string(opset) +
                  ": per-channel QDQ needs opset >= 13 (axis on DequantizeLinear)");
  }

  std::string unique(const std::string& base) {
    std::string s = base;
    for (int k = 1; names_.count(s); ++k) s = base + "_" + std::to_string(k);
    names_.insert(s);
    return s;
  }
  std::string renamed(const std::string& s) const {
    auto it = rename_.find(s);
    return it == rename_.end() ? s : it->second;
  }
  void add_init(onnx::TensorProto t) { g_.add_initializer()->Swap(&t); }
  onnx::NodeProto& add(onnx::NodeProto n) {
    created_.insert(n.name());
    out_.push_back(std::move(n));
    return out_.back();
  }
  const onnx::TensorProto& init(const std::string& name) const { return *inits_.at(name); }

  TensorRange range_of(const std::string& t) const {
    auto it = ranges_.find(t);
    if (it == ranges_.end())
      throw Error("no calibration range for tensor '" + t + "'", "node '" + label_ + "'");
    return it->second;
  }
  QParams act_params(const TensorRange& r) const {
    return compute_qparams(r.min, r.max, aq_, o_.symmetric_activations);
  }
  bool act_signed() const { return o_.activation_type == QuantType::s8; }
  bool w_signed() const { return o_.weight_type == QuantType::s8; }

  // ---- weights: W' = alpha * (transpose ? W^T : W), quantized per tensor or along `axis`.
  // conv_scale_shape: dynamic Conv, which multiplies [N, M, H, W] by the scales, so per-channel scales get
  // shape [M, 1, 1]; and ConvInteger (in ONNX Runtime) takes one weight zero point, so per-channel
  // needs symmetric weights (equal zero points) and otherwise falls back to per tensor.
  WeightQ weight(const std::string& name, bool transpose, float alpha, int axis, bool conv_scale_shape) {
    if (conv_scale_shape && o_.per_channel && !weight_symmetric(o_.weight_type)) axis = -1;
    std::string key =
        name + (transpose ? "|T" : "") + "|" + std::to_string(alpha) + "|" + std::to_string(axis);
    if (auto it = wcache_.find(key); it != wcache_.end()) return it->second;
    const auto& t = init(name);
    auto dims = tensor_dims(t);
    auto w = tensor_floats(t);
    std::string base = name;
    if (transpose) {
      std::vector<float> tw(w.size());
      int64_t r = dims[0], c = dims[1];
      for (int64_t i = 0; i < r; ++i)
        for (int64_t j = 0; j < c; ++j)
          tw[static_cast<size_t>(j * r + i)] = w[static_cast<size_t>(i * c + j)];
      w.swap(tw);
      std::swap(dims[0], dims[1]);
      base += "_transposed";
    }
    if (alpha != 1.0f) {
      for (auto& v : w) v *= alpha;
      base += "_alpha";
    }
    int axis_eff = o_.per_channel && axis >= 0 ? axis : -1;
    auto qw = quantize_weight(w, dims, axis_eff, wq_, weight_symmetric(o_.weight_type));
    WeightQ r;
    r.q = unique(base + "_quantized");
    r.scale = unique(base + "_scale");
    r.zp = unique(base + "_zero_point");
    r.scales = qw.scales;
    if (dims.size() == 2) r.rows = dims[0], r.cols = dims[1];
    add_init(make_q_tensor(r.q, w_signed(), dims, qw.q));
    std::vector<int64_t> pdims;
    if (axis_eff >= 0) pdims = {dims[static_cast<size_t>(axis_eff)]};
    std::vector<int64_t> sdims = pdims;
    // Dynamic Conv multiplies [N, M, H, W] by the scales: per-channel scales need shape [M, 1, 1].
    if (conv_scale_shape && axis_eff >= 0) sdims.resize(dims.size() - 1, 1);
    add_init(make_float_tensor(r.scale, sdims, qw.scales));
    if (conv_scale_shape && axis_eff >= 0) {
      pdims.clear();  // symmetric: every channel's zero point is the same
      qw.zero_points.resize(1);
    }
    add_init(make_q_tensor(r.zp, w_signed(), pdims, qw.zero_points));
    wcache_[key] = r;
    return r;
  }

  // ---- dynamic: one DynamicQuantizeLinear per activation, shared by its consumers.
  ActQ dyn_input(const std::string& x) {
    if (auto it = dyn_.find(x); it != dyn_.end()) return it->second;
    ActQ a{unique(x + "_quantized"), unique(x + "_scale"), unique(x + "_zero_point"), {}};
    add(make_node("DynamicQuantizeLinear", {renamed(x)}, {a.q, a.scale, a.zp},
                  unique(x + "_QuantizeLinear")));
    dyn_[x] = a;
    return a;
  }

  // Cast(int32 -> float) * (x_scale * w_scale) -> out
  void dyn_scale(const std::string& int_out, const ActQ& a, const WeightQ& w, const std::string& out) {
    std::string cast = unique(int_out + "_cast_output");
    auto& c = add(make_node("Cast", {int_out}, {cast}, unique(int_out + "_cast")));
    set_attr_int(c, "to", onnx::TensorProto::FLOAT);
    std::string sc = unique(label_ + "_scales_mul:0");
    add(make_node("Mul", {a.scale, w.scale}, {sc}, unique(label_ + "_scales_mul")));
    add(make_node("Mul", {cast, sc}, {out}, unique(label_ + "_output_scale_mul")));
  }

  std::string emit_dynamic(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    const std::string y = n.output(0);
    ActQ a = dyn_input(n.input(0));
    if (op == "Conv") {
      int rank = init(n.input(1)).dims_size();
      WeightQ w = weight(n.input(1), false, 1.0f, 0, true);
      std::string yi = unique(y + "_output_quantized");
      auto& c = add(make_node("ConvInteger", {a.q, w.q, a.zp, w.zp}, {yi}, unique(label_ + "_quant")));
      for (const auto& at : n.attribute()) *c.add_attribute() = at;
      bool bias = n.input_size() > 2 && !n.input(2).empty();
      std::string scaled = bias ? unique(y + "_no_bias") : y;
      dyn_scale(yi, a, w, scaled);
      if (bias) {
        auto b = tensor_floats(init(n.input(2)));
        std::vector<int64_t> bd(static_cast<size_t>(rank), 1);
        bd[1] = static_cast<int64_t>(b.size());
        std::string bn = unique(n.input(2) + "_reshaped");
        add_init(make_float_tensor(bn, bd, b));
        add(make_node("Add", {scaled, bn}, {y}, unique(label_ + "_bias_add")));
      }
      return "ConvInteger";
    }
    bool gemm = op == "Gemm";
    bool transB = gemm && attr_int(n, "transB", 0) != 0;
    float alpha = gemm ? attr_float(n, "alpha", 1.0f) : 1.0f;
    WeightQ w = weight(n.input(1), transB, alpha, 1, false);
    std::string yi = unique(y + "_output_quantized");
    add(make_node("MatMulInteger", {a.q, w.q, a.zp, w.zp}, {yi}, unique(label_ + "_quant")));
    std::string bias = gemm ? gemm_bias(n) : "";
    std::string scaled = bias.empty() ? y : unique(y + "_no_bias");
    dyn_scale(yi, a, w, scaled);
    if (!bias.empty()) add(make_node("Add", {scaled, bias}, {y}, unique(label_ + "_bias_add")));
    return "MatMulInteger";
  }

  // Gemm's C scaled by beta (folded into a new initializer when beta != 1); "" when absent.
  std::string gemm_bias(const onnx::NodeProto& n) {
    if (n.input_size() < 3 || n.input(2).empty()) return "";
    float beta = attr_float(n, "beta", 1.0f);
    if (beta == 1.0f) return renamed(n.input(2));
    const auto& c = init(n.input(2));
    auto v = tensor_floats(c);
    for (auto& x : v) x *= beta;
    std::string name = unique(n.input(2) + "_beta");
    add_init(make_float_tensor(name, tensor_dims(c), v));
    return name;
  }

  // ---- static: activation scale / zero point initializers, once per tensor.
  ActQ act_consts(const std::string& x, const TensorRange& r) {
    if (auto it = aconst_.find(x); it != aconst_.end()) return it->second;
    ActQ a;
    a.p = act_params(r);
    a.scale = unique(x + "_scale");
    a.zp = unique(x + "_zero_point");
    add_init(make_float_tensor(a.scale, {}, {a.p.scale}));
    add_init(make_q_tensor(a.zp, act_signed(), {}, {a.p.zero_point}));
    aconst_[x] = a;
    return a;
  }

  // QDQ: x -> Q -> DQ, shared per tensor; returns the DQ output.
  std::string qdq_activation(const std::string& x) {
    if (auto it = qdq_.find(x); it != qdq_.end()) return it->second;
    ActQ a = act_consts(x, range_of(x));
    std::string q = unique(x + "_QuantizeLinear_Output"), dq = unique(x + "_DequantizeLinear_Output");
    add(make_node("QuantizeLinear", {renamed(x), a.scale, a.zp}, {q}, unique(x + "_QuantizeLinear")));
    add(make_node("DequantizeLinear", {q, a.scale, a.zp}, {dq}, unique(x + "_DequantizeLinear")));
    qdq_[x] = dq;
    return dq;
  }

  std::string dq_weight(const WeightQ& w, int axis) {
    std::string out = unique(w.q + "_DequantizeLinear_Output");
    auto& d =
        add(make_node("DequantizeLinear", {w.q, w.scale, w.zp}, {out}, unique(w.q + "_DequantizeLinear")));
    if (o_.per_channel) set_attr_int(d, "axis", axis);
    return out;
  }

  // int32 bias with scale x_scale * w_scale (per channel when the weight is), zero point 0.
  struct BiasQ {
    std::string q, scale, zp;
  };
  BiasQ quant_bias(const std::string& name, float x_scale, const WeightQ& w) {
    auto b = tensor_floats(init(name));
    std::vector<float> s(b.size());
    std::vector<int32_t> q(b.size()), z(w.scales.size() == 1 ? 1 : b.size(), 0);
    for (size_t i = 0; i < b.size(); ++i) {
      s[i] = x_scale * w.scales[w.scales.size() == 1 ? 0 : i];
      double v = s[i] > 0 ? std::nearbyint(static_cast<double>(b[i]) / s[i]) : 0.0;
      q[i] = static_cast<int32_t>(std::clamp(v, -2147483647.0, 2147483647.0));
    }
    if (w.scales.size() == 1) s.resize(1);
    BiasQ r{unique(name + "_quantized"), unique(name + "_quantized_scale"),
            unique(name + "_quantized_zero_point")};
    add_init(make_int32_tensor(r.q, {static_cast<int64_t>(b.size())}, q));
    std::vector<int64_t> sd;
    if (s.size() > 1) sd = {static_cast<int64_t>(s.size())};
    add_init(make_float_tensor(r.scale, sd, s));
    add_init(make_int32_tensor(r.zp, sd, z));
    return r;
  }

  std::string emit_qdq(onnx::NodeProto n) {
    const std::string& op = n.op_type();
    const std::string x = n.input(0), y = n.output(0);
    std::string xdq = qdq_activation(x);
    ActQ a = aconst_.at(x);
    bool gemm = op == "Gemm";
    bool transB = gemm && attr_int(n, "transB", 0) != 0;
    int axis = op == "Conv" ? 0 : (transB ? 0 : 1);
    WeightQ w = weight(n.input(1), false, 1.0f, axis, false);
    const int64_t conv_out = op == "Conv" ? init(n.input(1)).dims(0) : 0;
    n.set_input(0, xdq);
    n.set_input(1, dq_weight(w, axis));
    if (n.input_size() > 2 && !n.input(2).empty()) {
      bool unit = attr_float(n, "alpha", 1.0f) == 1.0f && attr_float(n, "beta", 1.0f) == 1.0f;
      const auto& bt = init(n.input(2));
      int64_t nout = op == "Conv" ? conv_out : (transB ? w.rows : w.cols);
      bool vector_bias = bt.dims_size() == 1 && bt.dims(0) == nout;
      if (unit && vector_bias) {  // else the bias stays fp32: it is not a per-output vector
        BiasQ b = quant_bias(n.input(2), a.p.scale, w);
        std::string out = unique(b.q + "_DequantizeLinear_Output");
        auto& d = add(
            make_node("DequantizeLinear", {b.q, b.scale, b.zp}, {out}, unique(b.q + "_DequantizeLinear")));
        if (o_.per_channel) set_attr_int(d, "axis", 0);
        n.set_input(2, out);
      }
    }
    const std::string act = activation_after_conv(g_, n);
    add(std::move(n));
    // Output Q/DQ: runtimes fuse DQ -> op -> Q into one int8 kernel; fp32 consumers read the DQ output.
    // After a Conv whose only reader is a Relu or Clip, the pair goes after that instead.
    if (!act.empty() && ranges_.count(act)) {  // ranges given by hand may lack it: the pair stays
      act_outputs_.insert(act);
      return "QDQ";
    }
    std::string ydq = qdq_activation(y);
    rename_[y] = ydq;
    return "QDQ";
  }

  // QOperator: the uint8/int8 version of x, reusing the output of an earlier QLinear op.
  ActQ qop_input(const std::string& x) {
    if (auto it = qop_.find(x); it != qop_.end()) return it->second;
    ActQ a = act_consts(x, range_of(x));
    a.q = unique(x + "_quantized");
    add(make_node("QuantizeLinear", {renamed(x), a.scale, a.zp}, {a.q}, unique(x + "_QuantizeLinear")));
    qop_[x] = a;
    return a;
  }

  std::string emit_qop(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    const std::string y = n.output(0);
    ActQ a = qop_input(n.input(0));
    if (op == "Conv") {
      WeightQ w = weight(n.input(1), false, 1.0f, 0, false);
      ActQ yo = act_consts(y, range_of(y));
      std::vector<std::string> in = {a.q, a.scale, a.zp, w.q, w.scale, w.zp, yo.scale, yo.zp};
      if (n.input_size() > 2 && !n.input(2).empty()) in.push_back(quant_bias(n.input(2), a.p.scale, w).q);
      yo.q = unique(y + "_quantized");
      auto& c = add(make_node("QLinearConv", in, {yo.q}, unique(label_ + "_quant")));
      for (const auto& at : n.attribute()) *c.add_attribute() = at;
      add(make_node("DequantizeLinear", {yo.q, yo.scale, yo.zp}, {y}, unique(y + "_DequantizeLinear")));
      qop_[y] = yo;
      return "QLinearConv";
    }
    bool gemm = op == "Gemm";
    bool transB = gemm && attr_int(n, "transB", 0) != 0;
    float alpha = gemm ? attr_float(n, "alpha", 1.0f) : 1.0f;
    WeightQ w = weight(n.input(1), transB, alpha, 1, false);
    std::string bias = gemm ? gemm_bias(n) : "";
    TensorRange r = range_of(y);
    std::string prod = y;
    if (!bias.empty()) {
      // Only Y = A*B + C was calibrated; A*B lies within [min(Y) - max(C), max(Y) - min(C)].
      prod = unique(y + "_matmul");
      if (auto it = inits_.find(n.input(2)); it != inits_.end()) {
        auto bv = tensor_floats(*it->second);
        float beta = attr_float(n, "beta", 1.0f);
        for (auto& v : bv) v *= beta;
        auto [lo, hi] = std::minmax_element(bv.begin(), bv.end());
        r = {r.min - *hi, r.max - *lo};
      }
    }
    ActQ yo = act_consts(prod, r);
    yo.q = unique(prod + "_quantized");
    add(make_node("QLinearMatMul", {a.q, a.scale, a.zp, w.q, w.scale, w.zp, yo.scale, yo.zp}, {yo.q},
                  unique(label_ + "_quant")));
    add(make_node("DequantizeLinear", {yo.q, yo.scale, yo.zp}, {prod}, unique(prod + "_DequantizeLinear")));
    if (bias.empty())
      qop_[y] = yo;
    else
      add(make_node("Add", {prod, bias}, {y}, unique(label_ + "_bias_add")));
    return "QLinearMatMul";
  }

  std::string emit(const onnx::NodeProto& n) {
    if (o_.mode == QuantMode::dynamic) return emit_dynamic(n);
    if (o_.format == QuantFormat::qdq) return emit_qdq(n);
    return emit_qop(n);
  }

  // Every tensor a node reads, including outer-scope names read inside its subgraphs (If, Loop, Scan).
  static void collect_inputs(const onnx::NodeProto& n, std::set<std::string>& used) {
    for (const auto& s : n.input()) used.insert(s);
    for (const auto& a : n.attribute()) {
      if (a.has_g())
        for (const auto& sn : a.g().node()) collect_inputs(sn, used);
      for (const auto& g : a.graphs())
        for (const auto& sn : g.node()) collect_inputs(sn, used);
    }
  }

  // Replace the node list, drop the Q/DQ nodes we made that nobody reads, and fp32 weights nobody uses.
  void finish() {
    std::set<std::string> graph_out;
    for (const auto& v : g_.output()) graph_out.insert(v.name());
    for (bool changed = true; changed;) {
      changed = false;
      std::set<std::string> used(graph_out);
      for (const auto& n : out_) collect_inputs(n, used);
      for (auto it = out_.begin(); it != out_.end();) {
        bool qdq = it->op_type() == "DequantizeLinear" || it->op_type() == "QuantizeLinear";
        if (qdq && created_.count(it->name()) && !used.count(it->output(0))) {
          it = out_.erase(it);
          changed = true;
        } else {
          ++it;
        }
      }
    }
    g_.clear_node();
    for (auto& n : out_) g_.add_node()->Swap(&n);
    std::set<std::string> used(graph_out);
    for (const auto& n : g_.node()) collect_inputs(n, used);
    auto* inits = g_.mutable_initializer();
    std::set<std::string> dropped;
    for (int i = inits->size() - 1; i >= 0; --i) {
      const auto& t = inits->Get(i);
      if (!used.count(t.name())) {
        dropped.insert(t.name());
        inits->DeleteSubrange(i, 1);
      }
    }
    auto* ins = g_.mutable_input();
    for (int i = ins->size() - 1; i >= 0; --i)
      if (dropped.count(ins->Get(i).name()) && inits_.count(ins->Get(i).name())) ins->DeleteSubrange(i, 1);
  }

  onnx::ModelProto& m_;
  onnx::GraphProto& g_;
  const QuantizeOptions& o_;
  const RangeMap& ranges_;
  std::set<std::string> names_;
  std::map<std::string, const onnx::TensorProto*> inits_;
  QRange wq_, aq_;
  std::string label_;
  std::vector<onnx::NodeProto> out_;
  std::map<std::string, std::string> rename_;
  std::map<std::string, WeightQ> wcache_;
  std::map<std::string, ActQ> dyn_, aconst_, qop_;
  std::map<std::string, std::string> qdq_;
  std::set<std::string> created_;
  std::set<std::string> act_outputs_;  // Relu / Clip outputs that take their Conv's Q/DQ pair
};

}  // namespace

std::vector<NodeDecision> rewrite_model(onnx::ModelProto& m, const QuantizeOptions& o,
                                        const RangeMap& ranges) {
  return Rewriter(m, o, ranges).run();
}

std::vector<std::string> calibration_tensors(const onnx::ModelProto& m, const QuantizeOptions& o) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& s : select_nodes(m, o)) {
    if (!s.d.quantized) continue;
    const auto& n = m.graph().node(s.index);
    for (const auto& t : {n.input(0), n.output(0)})
      if (seen.insert(t).second) out.push_back(t);
    if (o.format == QuantFormat::qdq)
      if (const std::string act = activation_after_conv(m.graph(), n);
          !act.empty() && seen.insert(act).second)
        out.push_back(act);
  }
  return out;
}

}  // namespace ortkit::quant
