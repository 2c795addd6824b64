// Recurrent-state ops of opset 27 for hybrid LLMs (Mamba-style convolutions, Qwen3-Next / gated DeltaNet
// linear attention), as exporters write them with a state carried from one call to the next:
//
// CausalConvWithState(input [B, C, L], weight [C, 1, k], bias? [C], past_state? [B, C, k-1];
//   activation "none" | "silu" | "swish") -> output [B, C, L], present_state [B, C, k-1]
//   A depthwise causal conv1d over [past_state | input] (zeros without a past state), then the
//   activation; present_state holds the last k-1 positions of that padded input.
//
// LinearAttention(query [B, T, Hq*dk], key [B, T, Hkv*dk], value [B, T, Hkv*dv], past_state?
//   [B, Hkv, dk, dv], decay? [B, T, Hkv or Hkv*dk], beta? [B, T, Hkv or 1]; q_num_heads, kv_num_heads,
//   scale (0: 1/sqrt(dk)), update_rule "linear" | "gated" | "delta" | "gated_delta", chunk_size (a
//   tuning hint)) -> output [B, T, Hq*dv], present_state [B, Hkv, dk, dv]
//   Per token t and KV head: S *= exp(decay_t) (gated), v_t = beta_t (v_t - S^T k_t) (delta),
//   S += k_t v_t^T, then o_t = scale * q_t^T S for each query head of the group. The state is fp32.
#include <cmath>
#include <cstring>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

class CausalConvWithState : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    ctx.require_dtype(1, {DType::f32});
    const Shape &x = ctx.input(0).shape, &w = ctx.input(1).shape;
    if (x.size() != 3) ctx.fail("input must be [batch, channels, length], got " + shape_str(x));
    if (w.size() != 3 || w[0] != x[1] || w[1] != 1 || w[2] < 1)
      ctx.fail("weight must be [channels, 1, k] with channels " + std::to_string(x[1]) + ", got " +
               shape_str(w));
    B_ = x[0], C_ = x[1], L_ = x[2], k_ = w[2];
    if (ctx.has_input(2)) {
      ctx.require_dtype(2, {DType::f32});
      if (shape_numel(ctx.input(2).shape) != C_) ctx.fail("bias must have one value per channel");
    }
    if (ctx.has_input(3)) {
      ctx.require_dtype(3, {DType::f32});
      if (ctx.input(3).shape != Shape{B_, C_, k_ - 1})
        ctx.fail("past_state must be " + shape_str({B_, C_, k_ - 1}) + ", got " +
                 shape_str(ctx.input(3).shape));
    }
    const std::string act = ctx.attr().get_string("activation", "none");
    if (act != "none" && act != "silu" && act != "swish")
      ctx.fail("activation must be none, silu or swish, got '" + act + "'");
    silu_ = act != "none";
    ctx.set_output(0, DType::f32, x);
    if (ctx.outputs.size() > 1) ctx.set_output(1, DType::f32, {B_, C_, k_ - 1});
    ctx.scratch_bytes = sizeof(float) * static_cast<size_t>(std::max<int64_t>(1, L_ + k_ - 1));
  }

  void run(RunContext& ctx) override {
    const float* x = ctx.input(0).data_as<float>();
    const float* w = ctx.input(1).data_as<float>();
    const float* bias = ctx.has_input(2) ? ctx.input(2).data_as<float>() : nullptr;
    const float* past = ctx.has_input(3) ? ctx.input(3).data_as<float>() : nullptr;
    float* y = ctx.output(0).data_as<float>();
    float* present = ctx.outputs.size() > 1 && ctx.outputs[1] ? ctx.output(1).data_as<float>() : nullptr;
    float* padded = static_cast<float*>(ctx.scratch);
    const int64_t P = k_ - 1;
    for (int64_t b = 0; b < B_; ++b)
      for (int64_t c = 0; c < C_; ++c) {
        const int64_t row = b * C_ + c;
        for (int64_t i = 0; i < P; ++i) padded[i] = past ? past[row * P + i] : 0.f;
        std::memcpy(padded + P, x + row * L_, sizeof(float) * static_cast<size_t>(L_));
        const float* wc = w + c * k_;
        for (int64_t t = 0; t < L_; ++t) {
          float s = bias ? bias[c] : 0.f;
          for (int64_t j = 0; j < k_; ++j) s += wc[j] * padded[t + j];
          y[row * L_ + t] = silu_ ? s / (1.f + std::exp(-s)) : s;
        }
        if (present) std::memcpy(present + row * P, padded + L_, sizeof(float) * static_cast<size_t>(P));
      }
  }

 private:
  int64_t B_ = 0, C_ = 0, L_ = 0, k_ = 1;
  bool silu_ = false;
};

enum LaIn { kQ, kK, kV, kPast, kDecay, kBeta };

class LinearAttention : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    for (int i : {kQ, kK, kV}) ctx.require_dtype(static_cast<size_t>(i), {DType::f32});
    hq_ = ctx.attr().get_int("q_num_heads", 0);
    hkv_ = ctx.attr().get_int("kv_num_heads", 0);
    if (hq_ <= 0 || hkv_ <= 0 || hq_ % hkv_)
      ctx.fail("q_num_heads (" + std::to_string(hq_) + ") must be a positive multiple of kv_num_heads (" +
               std::to_string(hkv_) + ")");
    const std::string rule = ctx.attr().get_string("update_rule", "gated_delta");
    if (rule != "linear" && rule != "gated" && rule != "delta" && rule != "gated_delta")
      ctx.fail("update_rule must be linear, gated, delta or gated_delta, got '" + rule + "'");
    gated_ = rule == "gated" || rule == "gated_delta";
    delta_ = rule == "delta" || rule == "gated_delta";
    if (gated_ != ctx.has_input(kDecay))
      ctx.fail("update_rule '" + rule + (gated_ ? "' requires" : "' forbids") + " the decay input");
    if (delta_ != ctx.has_input(kBeta))
      ctx.fail("update_rule '" + rule + (delta_ ? "' requires" : "' forbids") + " the beta input");
    const Shape &q = ctx.input(kQ).shape, &k = ctx.input(kK).shape, &v = ctx.input(kV).shape;
    if (q.size() != 3 || k.size() != 3 || v.size() != 3 || k[0] != q[0] || v[0] != q[0] || k[1] != q[1] ||
        v[1] != q[1])
      ctx.fail("query, key and value must be [B, T, heads * head_size] with one B and T, got " +
               shape_str(q) + ", " + shape_str(k) + ", " + shape_str(v));
    B_ = q[0], T_ = q[1];
    if (q[2] % hq_ || k[2] % hkv_ || v[2] % hkv_)
      ctx.fail("hidden sizes are not divisible by the head counts");
    dk_ = q[2] / hq_, dv_ = v[2] / hkv_;
    if (k[2] / hkv_ != dk_) ctx.fail("query and key head sizes differ");
    if (ctx.has_input(kPast)) {
      ctx.require_dtype(kPast, {DType::f32});
      if (ctx.input(kPast).shape != Shape{B_, hkv_, dk_, dv_})
        ctx.fail("past_state must be " + shape_str({B_, hkv_, dk_, dv_}) + ", got " +
                 shape_str(ctx.input(kPast).shape));
    }
    if (gated_) {
      ctx.require_dtype(kDecay, {DType::f32});
      const Shape& d = ctx.input(kDecay).shape;
      if (d.size() != 3 || d[0] != B_ || d[1] != T_ || (d[2] != hkv_ && d[2] != hkv_ * dk_))
        ctx.fail("decay must be [B, T, kv_num_heads] or [B, T, kv_num_heads * d_k], got " + shape_str(d));
      decay_per_key_ = d[2] == hkv_ * dk_;
    }
    if (delta_) {
      ctx.require_dtype(kBeta, {DType::f32});
      const Shape& b = ctx.input(kBeta).shape;
      if (b.size() != 3 || b[0] != B_ || b[1] != T_ || (b[2] != hkv_ && b[2] != 1))
        ctx.fail("beta must be [B, T, kv_num_heads or 1], got " + shape_str(b));
      beta_w_ = b[2];
    }
    const float sc = ctx.attr().get_float("scale", 0.f);
    scale_ = sc != 0.f ? sc : 1.f / std::sqrt(static_cast<float>(dk_));
    ctx.set_output(0, DType::f32, {B_, T_, hq_ * dv_});
    if (ctx.outputs.size() > 1) ctx.set_output(1, DType::f32, {B_, hkv_, dk_, dv_});
    // Scratch: the state of every (batch, KV head) unless present_state holds it, and one corrected
    // value vector per (batch, KV head).
    ctx.scratch_bytes = sizeof(float) * static_cast<size_t>(B_ * hkv_ * (dk_ * dv_ + dv_));
  }

  void run(RunContext& ctx) override {
    const float* q = ctx.input(kQ).data_as<float>();
    const float* k = ctx.input(kK).data_as<float>();
    const float* v = ctx.input(kV).data_as<float>();
    const float* decay = gated_ ? ctx.input(kDecay).data_as<float>() : nullptr;
    const float* beta = delta_ ? ctx.input(kBeta).data_as<float>() : nullptr;
    float* y = ctx.output(0).data_as<float>();
    float* state = static_cast<float*>(ctx.scratch);
    float* vcorr = state + B_ * hkv_ * dk_ * dv_;
    if (ctx.outputs.size() > 1 && ctx.outputs[1]) state = ctx.output(1).data_as<float>();
    const size_t state_bytes = sizeof(float) * static_cast<size_t>(B_ * hkv_ * dk_ * dv_);
    if (ctx.has_input(kPast))
      std::memcpy(state, ctx.input(kPast).data_as<float>(), state_bytes);
    else
      std::memset(state, 0, state_bytes);
    const int64_t group = hq_ / hkv_;
    // Each (batch, KV head) is an independent recurrence over the tokens.
    parallel_for(ctx.threading, B_ * hkv_, [&](int64_t task) {
      const int64_t b = task / hkv_, h = task % hkv_;
      float* S = state + task * dk_ * dv_;  // [dk, dv]
      float* vt = vcorr + task * dv_;
      for (int64_t t = 0; t < T_; ++t) {
        const int64_t tok = b * T_ + t;
        const float* kt = k + tok * hkv_ * dk_ + h * dk_;
        const float* vin = v + tok * hkv_ * dv_ + h * dv_;
        if (gated_) {
          for (int64_t d = 0; d < dk_; ++d) {
            const float g =
                std::exp(decay_per_key_ ? decay[tok * hkv_ * dk_ + h * dk_ + d] : decay[tok * hkv_ + h]);
            for (int64_t m = 0; m < dv_; ++m) S[d * dv_ + m] *= g;
          }
        }
        if (delta_) {
          const float bt = beta[tok * beta_w_ + (beta_w_ == 1 ? 0 : h)];
          for (int64_t m = 0; m < dv_; ++m) {
            float r = 0.f;
            for (int64_t d = 0; d < dk_; ++d) r += S[d * dv_ + m] * kt[d];
            vt[m] = bt * (vin[m] - r);
          }
        } else {
          std::memcpy(vt, vin, sizeof(float) * static_cast<size_t>(dv_));
        }
        for (int64_t d = 0; d < dk_; ++d)
          for (int64_t m = 0; m < dv_; ++m) S[d * dv_ + m] += kt[d] * vt[m];
        for (int64_t g = 0; g < group; ++g) {
          const int64_t hq = h * group + g;
          const float* qt = q + tok * hq_ * dk_ + hq * dk_;
          float* out = y + tok * hq_ * dv_ + hq * dv_;
          for (int64_t m = 0; m < dv_; ++m) out[m] = 0.f;
          for (int64_t d = 0; d < dk_; ++d)
            for (int64_t m = 0; m < dv_; ++m) out[m] += qt[d] * S[d * dv_ + m];
          for (int64_t m = 0; m < dv_; ++m) out[m] *= scale_;
        }
      }
    });
  }

 private:
  int64_t hq_ = 1, hkv_ = 1, B_ = 0, T_ = 0, dk_ = 0, dv_ = 0, beta_w_ = 1;
  bool gated_ = true, delta_ = true, decay_per_key_ = false;
  float scale_ = 1.f;
};

}  // namespace

void register_recent_recurrent_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "CausalConvWithState", 27, kAnyOpset,
        [] { return std::make_unique<CausalConvWithState>(); });
  r.add(kOnnxDomain, "LinearAttention", 27, kAnyOpset, [] { return std::make_unique<LinearAttention>(); });
}

}  // namespace ortkit::ops
