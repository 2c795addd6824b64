// ONNX Attention (opset 23+): scaled dot-product attention as newer exporters write it (torch's
// scaled_dot_product_attention at opset 23), with grouped-query heads and a KV cache.
//   inputs:  Q, K, V (3-D [B, S, heads * head] with q_num_heads / kv_num_heads, or 4-D [B, heads, S, head]),
//            attn_mask? (bool: false masks; float: added; broadcast to [B, Hq, Sq, T], a shorter last
//            dim masks the keys past it), past_key? / past_value? [B, Hkv, P, head],
//            nonpad_kv_seqlen? (opset 24: keys at or past it are masked, per batch)
//   outputs: Y, present_key? / present_value? [B, Hkv, P + Skv, head], qk_matmul_output? [B, Hq, Sq, T]
//   attrs:   is_causal (bottom-right aligned: query i sees keys j <= i + P, or + nonpad - Sq), scale
//            (default 1/sqrt(head)), softcap, qk_matmul_output_mode 0-3, left/right_window_size (25)
// Query head h reads KV head h / (Hq / Hkv). A query whose every key is masked gets zero probabilities
// (Y = 0), as the spec's reference does. Scores, softmax and Y are computed in fp32 whatever
// softmax_precision says (the inputs are fp32).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "ops/attention_matmul.h"
#include "ops/op_util.h"
#include "ops/registry.h"
#include "ops/row_kernels.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::ops {
namespace {

using kernels::BDesc;
using kernels::PackedB;

enum In { kQ, kK, kV, kMask, kPastK, kPastV, kNonpad };

class OnnxAttention : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    for (int i : {kQ, kK, kV}) ctx.require_dtype(static_cast<size_t>(i), {DType::f32});
    const Shape &q = ctx.input(kQ).shape, &k = ctx.input(kK).shape, &v = ctx.input(kV).shape;
    const size_t r = q.size();
    if ((r != 3 && r != 4) || k.size() != r || v.size() != r)
      ctx.fail("Q, K and V must all be 3-D or all 4-D, got " + shape_str(q) + ", " + shape_str(k) + ", " +
               shape_str(v));
    B_ = q[0];
    rank3_ = r == 3;
    if (rank3_) {
      hq_ = ctx.attr().get_int("q_num_heads", 0);
      hkv_ = ctx.attr().get_int("kv_num_heads", 0);
      if (hq_ <= 0 || hkv_ <= 0) ctx.fail("3-D inputs need positive q_num_heads and kv_num_heads");
      if (q[2] % hq_ || k[2] % hkv_ || v[2] % hkv_)
        ctx.fail("hidden sizes are not divisible by the head counts");
      sq_ = q[1], skv_ = k[1], dq_ = q[2] / hq_, dk_ = k[2] / hkv_, dv_ = v[2] / hkv_;
    } else {
      hq_ = q[1], hkv_ = k[1], sq_ = q[2], skv_ = k[2], dq_ = q[3], dk_ = k[3], dv_ = v[3];
      if (v[1] != hkv_) ctx.fail("K and V have different head counts");
    }
    if (k[0] != B_ || v[0] != B_ || v[rank3_ ? 1 : 2] != skv_)
      ctx.fail("K and V do not match Q's batch or each other");
    if (dq_ != dk_) ctx.fail("Q and K head sizes differ");
    if (hq_ % hkv_)
      ctx.fail("q heads (" + std::to_string(hq_) + ") are not a multiple of kv heads (" +
               std::to_string(hkv_) + ")");
    P_ = 0;
    if (ctx.has_input(kPastK) != ctx.has_input(kPastV))
      ctx.fail("past_key and past_value must be given together");
    if (ctx.has_input(kPastK)) {
      ctx.require_dtype(kPastK, {DType::f32});
      ctx.require_dtype(kPastV, {DType::f32});
      const Shape &pk = ctx.input(kPastK).shape, &pv = ctx.input(kPastV).shape;
      if (pk.size() != 4 || pv.size() != 4 || pk[0] != B_ || pk[1] != hkv_ || pk[3] != dk_ || pv[0] != B_ ||
          pv[1] != hkv_ || pv[2] != pk[2] || pv[3] != dv_)
        ctx.fail("past_key / past_value must be [B, kv_heads, past, head], got " + shape_str(pk) + " and " +
                 shape_str(pv));
      P_ = pk[2];
    }
    T_ = P_ + skv_;
    has_nonpad_ = ctx.has_input(kNonpad);
    if (has_nonpad_) {
      if (P_) ctx.fail("nonpad_kv_seqlen cannot be combined with past_key / past_value");
      ctx.require_dtype(kNonpad, {DType::i64});
      if (shape_numel(ctx.input(kNonpad).shape) != B_)
        ctx.fail("nonpad_kv_seqlen must have one value per batch");
    }
    mask_ = ctx.has_input(kMask);
    if (mask_) {
      ctx.require_dtype(kMask, {DType::f32, DType::boolean});
      const Shape& m = ctx.input(kMask).shape;
      if (m.empty() || m.size() > 4) ctx.fail("attn_mask must have rank 1 to 4, got " + shape_str(m));
      // Right-aligned broadcast to [B, Hq, Sq, Tm] (Tm <= T): strides, 0 along size-1 dims.
      const int64_t full[4] = {B_, hq_, sq_, m.back()};
      if (m.back() > T_)
        ctx.fail("attn_mask's last dim " + std::to_string(m.back()) + " exceeds the keys (" +
                 std::to_string(T_) + ")");
      int64_t stride = 1;
      for (int d = 3, md = static_cast<int>(m.size()) - 1; d >= 0; --d, --md) {
        const int64_t n = md >= 0 ? m[static_cast<size_t>(md)] : 1;
        if (n != 1 && n != full[d])
          ctx.fail("attn_mask " + shape_str(m) + " does not broadcast to [B, q_heads, Sq, keys]");
        mstride_[d] = n == 1 ? 0 : stride;
        stride *= n;
      }
      mlen_ = m.back();
    }
    causal_ = ctx.attr().get_int("is_causal", 0) != 0;
    const float sc = ctx.attr().get_float("scale", 0.f);
    scale_ = sc != 0.f ? sc : 1.f / std::sqrt(static_cast<float>(dq_));
    softcap_ = ctx.attr().get_float("softcap", 0.f);
    mode_ = ctx.attr().get_int("qk_matmul_output_mode", 0);
    if (mode_ < 0 || mode_ > 3) ctx.fail("qk_matmul_output_mode must be 0 to 3");
    left_ = ctx.attr().get_int("left_window_size", -1);
    right_ = ctx.attr().get_int("right_window_size", -1);
    if (left_ < -1 || right_ < -1) ctx.fail("window sizes must be -1 or nonnegative");

    if (rank3_)
      ctx.set_output(0, DType::f32, {B_, sq_, hq_ * dv_});
    else
      ctx.set_output(0, DType::f32, {B_, hq_, sq_, dv_});
    if (ctx.outputs.size() > 1) ctx.set_output(1, DType::f32, {B_, hkv_, T_, dk_});
    if (ctx.outputs.size() > 2) ctx.set_output(2, DType::f32, {B_, hkv_, T_, dv_});
    if (ctx.outputs.size() > 3) ctx.set_output(3, DType::f32, {B_, hq_, sq_, T_});
    if (ctx.outputs.size() > 4) ctx.fail("at most 4 outputs");
    kind_ = ctx.float_gemm_kind();
    slots_ = std::max(1, ctx.threading.threads);
    if (static_cast<int>(kp_.size()) < slots_) {
      kp_.resize(static_cast<size_t>(slots_));
      vp_.resize(static_cast<size_t>(slots_));
    }
    // Scratch: the whole K and V caches (used when the present outputs are not asked for), then the
    // score matrix of each slot.
    kv_bytes_ = sizeof(float) * static_cast<size_t>(B_ * hkv_ * T_ * (dk_ + dv_));
    ctx.scratch_bytes = kv_bytes_ + sizeof(float) * static_cast<size_t>(slots_ * (sq_ + 1) * T_);
  }

  void run(RunContext& ctx) override {
    const float* q = ctx.input(kQ).data_as<float>();
    float* kc = static_cast<float*>(ctx.scratch);
    float* vc = kc + B_ * hkv_ * T_ * dk_;
    float* slot_mem = reinterpret_cast<float*>(static_cast<char*>(ctx.scratch) + kv_bytes_);
    auto out = [&](size_t i) -> float* {
      return i < ctx.outputs.size() && ctx.outputs[i] ? ctx.output(i).data_as<float>() : nullptr;
    };
    if (float* pk = out(1)) kc = pk;
    if (float* pv = out(2)) vc = pv;
    float* y = out(0);
    float* qk_out = out(3);
    // The caches: past rows, then this call's keys and values, [B, Hkv, T, head].
    const float* k = ctx.input(kK).data_as<float>();
    const float* v = ctx.input(kV).data_as<float>();
    for (int64_t b = 0; b < B_; ++b)
      for (int64_t h = 0; h < hkv_; ++h) {
        float* kd = kc + (b * hkv_ + h) * T_ * dk_;
        float* vd = vc + (b * hkv_ + h) * T_ * dv_;
        if (P_) {
          std::memcpy(kd, ctx.input(kPastK).data_as<float>() + (b * hkv_ + h) * P_ * dk_,
                      sizeof(float) * static_cast<size_t>(P_ * dk_));
          std::memcpy(vd, ctx.input(kPastV).data_as<float>() + (b * hkv_ + h) * P_ * dv_,
                      sizeof(float) * static_cast<size_t>(P_ * dv_));
        }
        for (int64_t t = 0; t < skv_; ++t) {
          const float* ks =
              rank3_ ? k + (b * skv_ + t) * hkv_ * dk_ + h * dk_ : k + ((b * hkv_ + h) * skv_ + t) * dk_;
          const float* vs =
              rank3_ ? v + (b * skv_ + t) * hkv_ * dv_ + h * dv_ : v + ((b * hkv_ + h) * skv_ + t) * dv_;
          std::memcpy(kd + (P_ + t) * dk_, ks, sizeof(float) * static_cast<size_t>(dk_));
          std::memcpy(vd + (P_ + t) * dv_, vs, sizeof(float) * static_cast<size_t>(dv_));
        }
      }
    const Tensor* mask = mask_ ? &ctx.input(kMask) : nullptr;
    const bool mask_bool = mask && mask->dtype() == DType::boolean;
    const int64_t* nonpad = has_nonpad_ ? ctx.input(kNonpad).data_as<int64_t>() : nullptr;
    const float ninf = -std::numeric_limits<float>::infinity();
    const int64_t reps = hq_ / hkv_;

    run_tasks(ctx.threading, slots_, B_ * hq_, [&](int64_t task, int64_t slot, const kernels::Threading& th) {
      const int64_t b = task / hq_, h = task % hq_, g = h / reps;
      float* scores = slot_mem + slot * (sq_ + 1) * T_;
      float* buf = scores + sq_ * T_;  // one row of additive mask
      const float* kh = kc + (b * hkv_ + g) * T_ * dk_;
      const float* vh = vc + (b * hkv_ + g) * T_ * dv_;
      const float* qh = rank3_ ? q + b * sq_ * hq_ * dq_ + h * dq_ : q + (b * hq_ + h) * sq_ * dq_;
      const int64_t ldq = rank3_ ? hq_ * dq_ : dq_;
      PackedB& kp = kp_[static_cast<size_t>(slot)];
      attention_qk(kp, sq_, qh, ldq, kh, T_, dk_, scores, th, kind_);
      // Causal and window frontiers are bottom-right aligned: query i sits at position i + offset.
      const int64_t offset = P_ ? P_ : nonpad ? nonpad[b] - sq_ : 0;
      float* qk = qk_out ? qk_out + ((b * hq_ + h) * sq_) * T_ : nullptr;
      for (int64_t i = 0; i < sq_; ++i) {
        float* row = scores + i * T_;
        if (!qk) {
          // The row's visible keys are one range (causal, windows, padding, the mask's length) and the
          // mask one additive row, so scaling and masking run as one vectorised pass (a branchy loop per
          // score was as slow as the two GEMMs).
          const int64_t pos = i + offset;
          int64_t lo = left_ >= 0 ? pos - left_ : 0, hi = T_;
          if (causal_) hi = std::min(hi, pos + 1);
          if (right_ >= 0) hi = std::min(hi, pos + right_ + 1);
          if (nonpad) hi = std::min(hi, nonpad[b]);
          if (mask) hi = std::min(hi, mlen_);
          lo = std::clamp<int64_t>(lo, 0, T_);
          hi = std::clamp<int64_t>(hi, lo, T_);
          const float* add = nullptr;
          if (mask && hi > lo) {
            const int64_t base = b * mstride_[0] + h * mstride_[1] + i * mstride_[2], js = mstride_[3];
            if (mask_bool) {
              const bool* mb = mask->data_as<bool>() + base;
              for (int64_t j = lo; j < hi; ++j) buf[j] = mb[j * js] ? 0.f : ninf;
            } else {
              const float* mf = mask->data_as<float>() + base;
              for (int64_t j = lo; j < hi; ++j) buf[j] = mf[j * js];
            }
            add = buf;
          }
          if (scale_bias_row(row, T_, scale_, softcap_, add, lo, hi))
            softmax_row(row, row, T_, false);
          else
            std::fill(row, row + T_, 0.f);
          continue;
        }
        // With the QK output requested: score by score, storing the stage the mode asks for.
        bool any = false;
        for (int64_t j = 0; j < T_; ++j) {
          float s = row[j] * scale_;
          if (softcap_ > 0) s = softcap_ * std::tanh(s / softcap_);
          if (qk && mode_ <= 1) qk[i * T_ + j] = s;
          float bias = 0.f;
          if (mask) {
            if (j >= mlen_) {
              bias = ninf;
            } else {
              const int64_t mi = b * mstride_[0] + h * mstride_[1] + i * mstride_[2] + j * mstride_[3];
              bias = mask_bool ? (mask->data_as<bool>()[mi] ? 0.f : ninf) : mask->data_as<float>()[mi];
            }
          }
          const int64_t d = i + offset - j;  // > 0: key before the query's position
          if (causal_ && d < 0) bias = ninf;
          if ((left_ >= 0 && d > left_) || (right_ >= 0 && -d > right_)) bias = ninf;
          if (nonpad && j >= nonpad[b]) bias = ninf;
          any = any || bias != ninf;
          row[j] = s + bias;
          if (qk && mode_ == 2) qk[i * T_ + j] = row[j];
        }
        if (any)
          softmax_row(row, row, T_, false);
        else
          std::fill(row, row + T_, 0.f);
        if (qk && mode_ == 3) std::memcpy(qk + i * T_, row, sizeof(float) * static_cast<size_t>(T_));
      }
      PackedB& vp = vp_[static_cast<size_t>(slot)];
      float* yh = rank3_ ? y + b * sq_ * hq_ * dv_ + h * dv_ : y + (b * hq_ + h) * sq_ * dv_;
      attention_pv(vp, sq_, scores, T_, vh, dv_, yh, rank3_ ? hq_ * dv_ : dv_, th, kind_);
    });
  }

 private:
  int64_t B_ = 0, hq_ = 0, hkv_ = 0, sq_ = 0, skv_ = 0, dq_ = 0, dk_ = 0, dv_ = 0, P_ = 0, T_ = 0;
  bool rank3_ = false, mask_ = false, causal_ = false, has_nonpad_ = false;
  int64_t mstride_[4] = {0, 0, 0, 0}, mlen_ = 0;
  float scale_ = 1.f, softcap_ = 0.f;
  int64_t mode_ = 0, left_ = -1, right_ = -1;
  int slots_ = 1;
  size_t kv_bytes_ = 0;
  std::vector<PackedB> kp_, vp_;
  kernels::GemmKind kind_ = kernels::GemmKind::f32;  // Q K^T and P V: the session's float GEMM kind
};

}  // namespace

void register_onnx_attention_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "Attention", 23, kAnyOpset, [] { return std::make_unique<OnnxAttention>(); });
}

}  // namespace ortkit::ops
