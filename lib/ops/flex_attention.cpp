// FlexAttention (ai.onnx.preview opset 1): torch's flex_attention as ONNX writes it.
//   Q [B, Hq, L, D], K [B, Hkv, S, D], V [B, Hkv, S, Dv] -> Y [B, Hq, L, Dv]; query head h reads KV head
//   h / (Hq / Hkv). Scores = scale * Q K^T (default 1 / sqrt(D)), then the optional score_mod subgraph
//   over the whole [B, Hq, L, S] score tensor, softmax over S, the optional prob_mod subgraph over the
//   probabilities, then P V. The modifier subgraphs run as nested plans (ops/subgraph_body.h), so a
//   mask or a bias written in them (Where, Range, comparisons) costs one pass over the scores.
// Scores and softmax are fp32 (softmax_precision other than float is refused); float16 / bfloat16
// inputs arrive as fp32 (narrow_float_compute).
#include <cmath>
#include <cstring>

#include "ops/op_util.h"
#include "ops/registry.h"
#include "ops/row_kernels.h"
#include "ops/subgraph_body.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::ops {
namespace {

using kernels::BDesc;
using kernels::PackedB;

class FlexAttention : public OpKernel {
 public:
  void prepack(const PrepackContext& pc) override {
    build(*pc.attrs, pc.constants.size(), pc.constants, pc.precision, pc.threading, pc.node->describe(),
          pc.optimization_level);
  }

  void compile(CompileContext& ctx) override {
    if (!built_)
      build(ctx.attr(), ctx.num_inputs(), {}, ctx.precision, ctx.threading, ctx.node->describe(), 99);
    if (formal_ != 3) ctx.fail("FlexAttention takes Q, K and V");
    for (size_t i = 0; i < 3; ++i) ctx.require_dtype(i, {DType::f32});
    if (ctx.attr().has("softmax_precision") && ctx.attr().get_int("softmax_precision") != 1)
      ctx.unsupported("softmax_precision other than float");
    const Shape &q = ctx.input(0).shape, &k = ctx.input(1).shape, &v = ctx.input(2).shape;
    if (q.size() != 4 || k.size() != 4 || v.size() != 4)
      ctx.fail("Q, K and V must be rank 4, got " + shape_str(q) + ", " + shape_str(k) + ", " + shape_str(v));
    B_ = q[0], hq_ = q[1], L_ = q[2], D_ = q[3], hkv_ = k[1], S_ = k[2], dv_ = v[3];
    if (k[0] != B_ || v[0] != B_ || v[1] != hkv_ || v[2] != S_ || k[3] != D_)
      ctx.fail("K / V do not match Q: " + shape_str(q) + ", " + shape_str(k) + ", " + shape_str(v));
    if (hkv_ <= 0 || hq_ % hkv_) ctx.fail("q heads must be a multiple of kv heads");
    const float sc = ctx.attr().get_float("scale", 0.f);
    scale_ = ctx.attr().has("scale") ? sc : 1.f / std::sqrt(static_cast<float>(D_));
    ctx.set_output(0, DType::f32, {B_, hq_, L_, dv_});
    scores_ = Tensor(DType::f32, {B_, hq_, L_, S_});  // kernel-owned: the modifier bodies read it
    probs_ = Tensor(DType::f32, {B_, hq_, L_, S_});
    slots_ = std::max(1, ctx.threading.threads);
    if (static_cast<int>(kp_.size()) < slots_) kp_.resize(static_cast<size_t>(slots_));
  }

  void run(RunContext& ctx) override {
    const float* q = ctx.input(0).data_as<float>();
    const float* k = ctx.input(1).data_as<float>();
    const float* v = ctx.input(2).data_as<float>();
    float* scores = scores_.data_as<float>();
    const int64_t reps = hq_ / hkv_;
    run_tasks(ctx.threading, slots_, B_ * hq_, [&](int64_t task, int64_t slot, const kernels::Threading& th) {
      const int64_t b = task / hq_, g = (task % hq_) / reps;
      PackedB& kp = kp_[static_cast<size_t>(slot)];
      kernels::pack_b(kp, kernels::GemmKind::f32, BDesc{k + (b * hkv_ + g) * S_ * D_, D_, S_, D_, true});
      float* s = scores + task * L_ * S_;
      kernels::gemm_f32(L_, q + task * L_ * D_, D_, kp, s, S_, {}, th);
      for (int64_t i = 0; i < L_ * S_; ++i) s[i] *= scale_;
    });
    const float* mod = scores;
    if (has_score_) mod = modify(score_, scores_, ctx).data_as<float>();
    float* probs = probs_.data_as<float>();
    for (int64_t r = 0; r < B_ * hq_ * L_; ++r) softmax_row(mod + r * S_, probs + r * S_, S_, false);
    const float* p = probs;
    if (has_prob_) p = modify(prob_, probs_, ctx).data_as<float>();
    float* y = ctx.output(0).data_as<float>();
    run_tasks(ctx.threading, slots_, B_ * hq_, [&](int64_t task, int64_t slot, const kernels::Threading& th) {
      const int64_t b = task / hq_, g = (task % hq_) / reps;
      PackedB& vp = kp_[static_cast<size_t>(slot)];
      kernels::pack_b(vp, kernels::GemmKind::f32, BDesc{v + (b * hkv_ + g) * S_ * dv_, S_, dv_, dv_, false});
      kernels::gemm_f32(L_, p + task * L_ * S_, S_, vp, y + task * L_ * dv_, dv_, {}, th);
    });
  }

  std::vector<std::string> kernels_used() const override {
    const kernels::GemmKernel* kn = kernels::dispatched(kernels::GemmKind::f32);
    std::vector<std::string> names = bodies_kernels({&score_, &prob_});
    if (kn && std::find(names.begin(), names.end(), kn->name) == names.end()) names.push_back(kn->name);
    return names;
  }

 private:
  void build(const Attrs& a, size_t node_inputs, const std::vector<const Tensor*>& consts, Precision p,
             const kernels::Threading& th, const std::string& where, int opt_level) {
    formal_ = formal_node_inputs(a, node_inputs, where);
    has_score_ = a.has("score_mod");
    has_prob_ = a.has("prob_mod");
    if (has_score_) build_body(score_, a, "score_mod", node_inputs, consts, p, th, where, opt_level);
    if (has_prob_) build_body(prob_, a, "prob_mod", node_inputs, consts, p, th, where, opt_level);
    for (const Body* body : {has_score_ ? &score_ : nullptr, has_prob_ ? &prob_ : nullptr})
      if (body && (body->formal() != 1 || body->graph().outputs.size() != 1))
        throw Error("'" + body->name + "' must take one tensor and return one", where);
    built_ = true;
  }

  /// Runs a modifier body on `in`; its output must keep the shape (a view valid until the next run).
  const Tensor& modify(Body& body, const Tensor& in, RunContext& ctx) {
    body.given[0] = &in;
    body.bind_outer(ctx.inputs);
    const Tensor& out = body.run(ctx.node)[0];
    if (out.dtype() != DType::f32 || out.shape() != in.shape())
      ctx.fail("'" + body.name + "' returned " + dtype_name(out.dtype()) + " " + shape_str(out.shape()) +
               ", expected float32 " + shape_str(in.shape()));
    return out;
  }

  bool built_ = false, has_score_ = false, has_prob_ = false;
  size_t formal_ = 0;
  Body score_, prob_;
  int64_t B_ = 0, hq_ = 0, hkv_ = 1, L_ = 0, S_ = 0, D_ = 0, dv_ = 0;
  float scale_ = 1.f;
  Tensor scores_, probs_;
  int slots_ = 1;
  std::vector<PackedB> kp_;
};

}  // namespace

void register_flex_attention_ops(OpRegistry& r) {
  r.add("ai.onnx.preview", "FlexAttention", 1, kAnyOpset, [] { return std::make_unique<FlexAttention>(); });
}

}  // namespace ortkit::ops
