// ONNX Runtime's attention ops for encoder-decoder and LLM graphs (its transformer optimizer for BART,
// T5, Whisper, ViT, CLIP, and its GenAI model builder for Llama/Phi/Mistral-style decoders):
//
// com.microsoft.MultiHeadAttention (num_heads, scale, mask_filter_value, unidirectional)
//   query [B, S, D], or packed QKV [B, S, N, 3, H] (no key / value)
//   key / value [B, L, D] / [B, L, Dv]; packed KV [B, L, N, 2, H] (no value); or BNSH [B, N, L, H]
//     (cross attention over cached keys: used as they are)
//   bias [D + D + Dv] added to Q, K and V (K and V only when they are not BNSH)
//   key_padding_mask int32: [B] key lengths, [B, T] or [B, S, T] raw 0/1 (0 adds mask_filter_value)
//   attention_bias [B or 1, N or 1, S, T]; past_key / past_value [B, N, P, H] (self attention)
//   outputs: [B, S, Dv], present_key / present_value [B, N, P + L, H]
//   unidirectional: keys after the query's position get the lowest float.
//
// com.microsoft.GroupQueryAttention (num_heads, kv_num_heads, scale, softcap, local_window_size,
//   do_rotary, rotary_interleaved)
//   query [B, S, Hq * H], or packed [B, S, (Hq + 2 Hkv) * H] (no key / value); key / value [B, S, Hkv * H]
//   past_key / past_value [B, Hkv, P, H] (P: the past buffer; rows past a batch's length are ignored)
//   seqlens_k int32 [B] = total length - 1 per batch; total_sequence_length int32 scalar (batch maximum)
//   cos_cache / sin_cache [max_pos, rotary_dim / 2] with do_rotary; position_ids? [B, S]
//   attention_bias [B or 1, Hq or 1, S, total]
//   outputs: [B, S, Hq * H], present_key / present_value [B, Hkv, max(P, total), H]
//   A first prompt (no past rows, total == S) starts at position 0; otherwise batch b's new tokens sit at
//   total_b - S .. total_b - 1. Query i sees keys j < total_b, j <= its position (causal) and, with a
//   local window W > 0, j > position - W. Query head h reads KV head h / (Hq / Hkv).
//   head_sink [Hq] (gpt-oss) adds a per-head logit to every softmax denominator; smooth_softmax alone
//   adds 0. Not supported (a clear error): KV-cache quantization, q/k norm weights, a sliding window
//   cache, the QK output.
//
// com.microsoft.RotaryEmbedding (num_heads, rotary_embedding_dim, interleaved)
//   input [B, S, hidden] or [B, N, S, H]; position_ids [1] (the first position; tokens follow it) or
//   [B, S]; cos_cache / sin_cache [max_pos, rotary_dim / 2].
//
// Scores, softmax and outputs in fp32; each (batch, head) runs Q K^T and P V on one thread, heads in
// parallel (as the com.microsoft Attention kernel does): small GEMMs, or for a decode step products that
// read the KV cache in place (ops/attention_matmul.h).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/attention_matmul.h"
#include "ops/op_util.h"
#include "ops/registry.h"
#include "ops/row_kernels.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::ops {
namespace {

using kernels::BDesc;
using kernels::PackedB;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

/// Rotates one head vector in place: pairs (x1, x2), the two halves of the first rot_dim values or
/// even/odd neighbours when interleaved, become (c x1 - s x2, s x1 + c x2).
void rotate(float* x, const float* cos, const float* sin, int64_t rot_dim, bool interleaved) {
  const int64_t half = rot_dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    const int64_t i1 = interleaved ? 2 * i : i, i2 = interleaved ? 2 * i + 1 : i + half;
    const float a = x[i1], b = x[i2];
    x[i1] = cos[i] * a - sin[i] * b;
    x[i2] = sin[i] * a + cos[i] * b;
  }
}

/// What query row i of one head adds to its scores: keys outside [lo, hi) are hidden; inside, add[j] (T
/// values, or none) is added, and an add of kNegInf hides a key too.
struct RowBias {
  const float* add = nullptr;
  int64_t lo = 0, hi = 0;
};

/// One (batch, head): scores = scale * Q K^T (softcapped), + the row bias, softmax (a query that sees no
/// key gets zeros), Y = P V. K is [T, dk], V [T, dv], both contiguous. The caller describes each row's
/// bias (row_bias(i, buf) -> RowBias, buf a T-float row it may fill) rather than each element: a callback
/// per score was a third of a 128-token MultiHeadAttention's time.
class HeadAttention {
 public:
  void reserve(int slots, kernels::GemmKind kind) {
    kind_ = kind;
    if (static_cast<int>(kp_.size()) < slots) {
      kp_.resize(static_cast<size_t>(slots));
      vp_.resize(static_cast<size_t>(slots));
    }
  }
  /// `sink`: an extra logit that joins each softmax denominator and then is dropped (GQA's head_sink /
  /// smooth_softmax: attention may go "nowhere"); null for none. `scores`: (S + 1) x T floats.
  template <class Bias>
  void run(int64_t slot, const float* q, int64_t ldq, int64_t S, const float* k, const float* v, int64_t T,
           int64_t dk, int64_t dv, float scale, float softcap, const float* sink, float* scores, float* y,
           int64_t ldy, const kernels::Threading& th, Bias&& row_bias) {
    PackedB& kp = kp_[static_cast<size_t>(slot)];
    attention_qk(kp, S, q, ldq, k, T, dk, scores, th, kind_);
    float* buf = scores + S * T;
    for (int64_t i = 0; i < S; ++i) {
      float* row = scores + i * T;
      const RowBias rb = row_bias(i, buf);
      const bool any = scale_bias_row(row, T, scale, softcap, rb.add, rb.lo, rb.hi);
      if (sink) {
        float m = *sink;
        for (int64_t j = 0; j < T; ++j) m = std::max(m, row[j]);
        float sum = std::exp(*sink - m);
        for (int64_t j = 0; j < T; ++j) sum += row[j] = std::exp(row[j] - m);
        for (int64_t j = 0; j < T; ++j) row[j] /= sum;
      } else if (any) {
        softmax_row(row, row, T, false);
      } else {
        std::fill(row, row + T, 0.f);
      }
    }
    PackedB& vp = vp_[static_cast<size_t>(slot)];
    attention_pv(vp, S, scores, T, v, dv, y, ldy, th, kind_);
  }

 private:
  std::vector<PackedB> kp_, vp_;
  kernels::GemmKind kind_ = kernels::GemmKind::f32;
};

float* output_or_null(RunContext& ctx, size_t i) {
  return i < ctx.outputs.size() && ctx.outputs[i] ? ctx.output(i).data_as<float>() : nullptr;
}

// ---------------------------------------------------------------------------------- MultiHeadAttention

enum MhaIn { kQuery, kKey, kValue, kBias, kPadMask, kAttnBias, kPastK, kPastV, kPastLen, kCacheIndir };

class MultiHeadAttention : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(kQuery, {DType::f32});
    N_ = ctx.attr().get_int("num_heads");
    if (N_ <= 0) ctx.fail("num_heads must be positive");
    if (ctx.has_input(kPastLen) || ctx.has_input(kCacheIndir))
      ctx.unsupported("past_sequence_length / cache_indirection (buffer sharing, beam search)");
    if (ctx.outputs.size() > 3) ctx.unsupported("the qk output");
    const Shape& q = ctx.input(kQuery).shape;
    const bool has_k = ctx.has_input(kKey), has_v = ctx.has_input(kValue);
    if (q.size() == 5) {  // packed QKV [B, S, N, 3, H]
      if (has_k || has_v) ctx.fail("packed QKV query takes no key or value");
      if (q[2] != N_ || q[3] != 3)
        ctx.fail("packed QKV must be [B, S, num_heads, 3, H], got " + shape_str(q));
      form_ = Form::packed_qkv;
      B_ = q[0], S_ = q[1], L_ = q[1], H_ = q[4], Hv_ = q[4];
    } else {
      if (q.size() != 3) ctx.fail("query must be [B, S, D] or packed [B, S, N, 3, H], got " + shape_str(q));
      if (!has_k) ctx.fail("key is required unless the query is packed QKV");
      ctx.require_dtype(kKey, {DType::f32});
      B_ = q[0], S_ = q[1];
      if (q[2] % N_)
        ctx.fail("query hidden size " + std::to_string(q[2]) + " is not a multiple of num_heads");
      H_ = q[2] / N_;
      const Shape& k = ctx.input(kKey).shape;
      if (k.size() == 5) {
        if (has_v) ctx.fail("packed KV key takes no value");
        if (k[0] != B_ || k[2] != N_ || k[3] != 2 || k[4] != H_)
          ctx.fail("packed KV must be [B, L, num_heads, 2, head_size], got " + shape_str(k));
        form_ = Form::packed_kv;
        L_ = k[1], Hv_ = H_;
      } else {
        if (!has_v) ctx.fail("value is required with a 3-D or 4-D key");
        ctx.require_dtype(kValue, {DType::f32});
        const Shape& v = ctx.input(kValue).shape;
        if (k.size() == 3 && v.size() == 3) {
          if (k[0] != B_ || v[0] != B_ || k[2] != q[2] || v[1] != k[1] || v[2] % N_)
            ctx.fail("key / value must be [B, L, D] / [B, L, Dv], got " + shape_str(k) + " and " +
                     shape_str(v));
          form_ = Form::bsd;
          L_ = k[1], Hv_ = v[2] / N_;
        } else if (k.size() == 4 && v.size() == 4) {
          if (k[0] != B_ || k[1] != N_ || k[3] != H_ || v[0] != B_ || v[1] != N_ || v[2] != k[2])
            ctx.fail("BNSH key / value must be [B, num_heads, L, head_size], got " + shape_str(k) + " and " +
                     shape_str(v));
          form_ = Form::bnsh_kv;
          L_ = k[2], Hv_ = v[3];
        } else {
          ctx.fail("key / value must both be 3-D or both 4-D, got " + shape_str(k) + " and " + shape_str(v));
        }
      }
    }
    if (ctx.has_input(kBias)) {
      ctx.require_dtype(kBias, {DType::f32});
      if (shape_numel(ctx.input(kBias).shape) != N_ * (2 * H_ + Hv_))
        ctx.fail("bias must have D + D + Dv = " + std::to_string(N_ * (2 * H_ + Hv_)) + " values");
    }
    P_ = 0;
    if (ctx.has_input(kPastK) != ctx.has_input(kPastV))
      ctx.fail("past_key and past_value must be given together");
    if (ctx.has_input(kPastK)) {
      if (form_ == Form::bnsh_kv) ctx.unsupported("past_key with BNSH key (cross attention)");
      const Shape &pk = ctx.input(kPastK).shape, &pv = ctx.input(kPastV).shape;
      if (pk.size() != 4 || pk[0] != B_ || pk[1] != N_ || pk[3] != H_ || pv.size() != 4 || pv[0] != B_ ||
          pv[1] != N_ || pv[2] != pk[2] || pv[3] != Hv_)
        ctx.fail("past_key / past_value must be [B, num_heads, past, head_size], got " + shape_str(pk) +
                 " and " + shape_str(pv));
      P_ = pk[2];
    }
    T_ = P_ + L_;
    if (ctx.has_input(kPadMask)) {
      ctx.require_dtype(kPadMask, {DType::i32});
      const Shape& m = ctx.input(kPadMask).shape;
      const bool ok = (m.size() == 1 && m[0] == B_) || (m.size() == 2 && m[0] == B_ && m[1] == T_) ||
                      (m.size() == 3 && m[0] == B_ && m[1] == S_ && m[2] == T_);
      if (!ok) {
        if (m.size() == 1 && m[0] == 3 * B_ + 2) ctx.unsupported("key_padding_mask of shape [3B + 2]");
        ctx.fail("key_padding_mask " + shape_str(m) + " is none of [B], [B, T], [B, S, T] for B=" +
                 std::to_string(B_) + ", S=" + std::to_string(S_) + ", T=" + std::to_string(T_));
      }
    }
    if (ctx.has_input(kAttnBias)) {
      ctx.require_dtype(kAttnBias, {DType::f32});
      const Shape& a = ctx.input(kAttnBias).shape;
      if (a.size() != 4 || (a[0] != B_ && a[0] != 1) || (a[1] != N_ && a[1] != 1) || a[2] != S_ || a[3] != T_)
        ctx.fail("attention_bias must be [B or 1, num_heads or 1, S, T], got " + shape_str(a));
    }
    unidirectional_ = ctx.attr().get_int("unidirectional", 0) != 0;
    const float sc = ctx.attr().get_float("scale", 0.f);
    scale_ = sc != 0.f ? sc : 1.f / std::sqrt(static_cast<float>(H_));
    filter_ = ctx.attr().get_float("mask_filter_value", -10000.f);
    ctx.set_output(0, DType::f32, {B_, S_, N_ * Hv_});
    if (ctx.outputs.size() > 1) ctx.set_output(1, DType::f32, {B_, N_, T_, H_});
    if (ctx.outputs.size() > 2) ctx.set_output(2, DType::f32, {B_, N_, T_, Hv_});
    slots_ = std::max(1, ctx.threading.threads);
    heads_.reserve(slots_, ctx.float_gemm_kind());
    // Scratch: Q, K and V as [B, N, rows, head] (K and V unless the present outputs hold them), then a
    // score matrix per slot.
    q_elems_ = B_ * N_ * S_ * H_;
    kv_elems_ = B_ * N_ * T_ * (H_ + Hv_);
    ctx.scratch_bytes = sizeof(float) * static_cast<size_t>(q_elems_ + kv_elems_ + slots_ * (S_ + 1) * T_);
  }

  void run(RunContext& ctx) override {
    float* qb = static_cast<float*>(ctx.scratch);
    float* kc = qb + q_elems_;
    float* vc = kc + B_ * N_ * T_ * H_;
    float* slot_mem = qb + q_elems_ + kv_elems_;
    if (float* pk = output_or_null(ctx, 1)) kc = pk;
    if (float* pv = output_or_null(ctx, 2)) vc = pv;
    const float* bias = ctx.has_input(kBias) ? ctx.input(kBias).data_as<float>() : nullptr;
    const float* q = ctx.input(kQuery).data_as<float>();
    const float* k = form_ == Form::packed_qkv ? nullptr : ctx.input(kKey).data_as<float>();
    const float* v =
        form_ == Form::bsd || form_ == Form::bnsh_kv ? ctx.input(kValue).data_as<float>() : nullptr;
    const int64_t D = N_ * H_, Dv = N_ * Hv_;
    // Source of head n's row t of Q / K / V in each layout, with the projection bias.
    auto copy_row = [](float* dst, const float* src, const float* b, int64_t len) {
      for (int64_t x = 0; x < len; ++x) dst[x] = src[x] + (b ? b[x] : 0.f);
    };
    for (int64_t b = 0; b < B_; ++b)
      for (int64_t n = 0; n < N_; ++n) {
        const float* bq = bias ? bias + n * H_ : nullptr;
        const float* bk = bias && form_ != Form::bnsh_kv ? bias + D + n * H_ : nullptr;
        const float* bv = bias && form_ != Form::bnsh_kv ? bias + 2 * D + n * Hv_ : nullptr;
        for (int64_t i = 0; i < S_; ++i) {
          const float* src = form_ == Form::packed_qkv ? q + (((b * S_ + i) * N_ + n) * 3) * H_
                                                       : q + (b * S_ + i) * D + n * H_;
          copy_row(qb + ((b * N_ + n) * S_ + i) * H_, src, bq, H_);
        }
        float* kd = kc + (b * N_ + n) * T_ * H_;
        float* vd = vc + (b * N_ + n) * T_ * Hv_;
        if (P_) {
          std::memcpy(kd, ctx.input(kPastK).data_as<float>() + (b * N_ + n) * P_ * H_,
                      sizeof(float) * static_cast<size_t>(P_ * H_));
          std::memcpy(vd, ctx.input(kPastV).data_as<float>() + (b * N_ + n) * P_ * Hv_,
                      sizeof(float) * static_cast<size_t>(P_ * Hv_));
        }
        for (int64_t t = 0; t < L_; ++t) {
          const float *ks, *vs;
          switch (form_) {
            case Form::packed_qkv:
              ks = q + (((b * S_ + t) * N_ + n) * 3 + 1) * H_;
              vs = q + (((b * S_ + t) * N_ + n) * 3 + 2) * H_;
              break;
            case Form::packed_kv:
              ks = k + (((b * L_ + t) * N_ + n) * 2) * H_;
              vs = k + (((b * L_ + t) * N_ + n) * 2 + 1) * H_;
              break;
            case Form::bsd:
              ks = k + (b * L_ + t) * D + n * H_;
              vs = v + (b * L_ + t) * Dv + n * Hv_;
              break;
            default:  // BNSH
              ks = k + ((b * N_ + n) * L_ + t) * H_;
              vs = v + ((b * N_ + n) * L_ + t) * Hv_;
          }
          copy_row(kd + (P_ + t) * H_, ks, bk, H_);
          copy_row(vd + (P_ + t) * Hv_, vs, bv, Hv_);
        }
      }
    const Tensor* mask = ctx.has_input(kPadMask) ? &ctx.input(kPadMask) : nullptr;
    const int32_t* m = mask ? mask->data_as<int32_t>() : nullptr;
    const size_t mrank = mask ? mask->shape().size() : 0;
    const Tensor* ab = ctx.has_input(kAttnBias) ? &ctx.input(kAttnBias) : nullptr;
    float* out = ctx.output(0).data_as<float>();
    const float lowest = std::numeric_limits<float>::lowest();
    run_tasks(ctx.threading, slots_, B_ * N_, [&](int64_t task, int64_t slot, const kernels::Threading& th) {
      const int64_t b = task / N_, n = task % N_;
      const float* bias_rows =
          ab ? ab->data_as<float>() +
                   ((ab->shape()[0] == 1 ? 0 : b) * ab->shape()[1] + (ab->shape()[1] == 1 ? 0 : n)) * S_ * T_
             : nullptr;
      heads_.run(slot, qb + (b * N_ + n) * S_ * H_, H_, S_, kc + (b * N_ + n) * T_ * H_,
                 vc + (b * N_ + n) * T_ * Hv_, T_, H_, Hv_, scale_, 0.f, nullptr,
                 slot_mem + slot * (S_ + 1) * T_, out + b * S_ * Dv + n * Hv_, Dv, th,
                 [&](int64_t i, float* buf) {
                   const float* brow = bias_rows ? bias_rows + i * T_ : nullptr;
                   RowBias r{brow, 0, T_};
                   if (m) {  // masked keys add mask_filter_value
                     r.add = buf;
                     // A key mask (rank 1 or 2) with no bias gives every row the same buf: made once.
                     const bool same = !brow && mrank <= 2 && !unidirectional_;
                     if (i == 0 || !same) {
                       if (mrank == 1) {
                         const int64_t valid = m[b];
                         for (int64_t j = 0; j < T_; ++j)
                           buf[j] = (brow ? brow[j] : 0.f) + (j < valid ? 0.f : filter_);
                       } else {
                         const int32_t* mr = mrank == 2 ? m + b * T_ : m + (b * S_ + i) * T_;
                         for (int64_t j = 0; j < T_; ++j)
                           buf[j] = (brow ? brow[j] : 0.f) + (mr[j] > 0 ? 0.f : filter_);
                       }
                     }
                   }
                   // Future keys add the lowest float: hidden, yet the row still counts as seeing keys.
                   if (unidirectional_ && P_ + i + 1 < T_) {
                     if (r.add != buf) {
                       if (r.add)
                         std::copy(r.add, r.add + T_, buf);
                       else
                         std::fill(buf, buf + T_, 0.f);
                       r.add = buf;
                     }
                     std::fill(buf + P_ + i + 1, buf + T_, lowest);
                   }
                   return r;
                 });
    });
  }

 private:
  enum class Form { bsd, packed_qkv, packed_kv, bnsh_kv };
  Form form_ = Form::bsd;
  int64_t N_ = 1, B_ = 0, S_ = 0, L_ = 0, H_ = 0, Hv_ = 0, P_ = 0, T_ = 0, q_elems_ = 0, kv_elems_ = 0;
  bool unidirectional_ = false;
  float scale_ = 1.f, filter_ = -10000.f;
  int slots_ = 1;
  HeadAttention heads_;
};

// ---------------------------------------------------------------------------------- GroupQueryAttention

enum GqaIn {
  kGQuery,
  kGKey,
  kGValue,
  kGPastK,
  kGPastV,
  kSeqlensK,
  kTotalLen,
  kCos,
  kSin,
  kPosIds,
  kGAttnBias,
  kHeadSink,
  kKScale,
  kVScale,
  kQNorm,
  kKNorm
};

class GroupQueryAttention : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(kGQuery, {DType::f32});
    const Attrs& at = ctx.attr();
    Hq_ = at.get_int("num_heads");
    Hkv_ = at.get_int("kv_num_heads");
    if (Hq_ <= 0 || Hkv_ <= 0 || Hq_ % Hkv_)
      ctx.fail("num_heads (" + std::to_string(Hq_) + ") must be a positive multiple of kv_num_heads (" +
               std::to_string(Hkv_) + ")");
    for (int i : {kKScale, kVScale, kQNorm, kKNorm})
      if (ctx.has_input(static_cast<size_t>(i))) ctx.unsupported("KV-cache scales and q/k norm weights");
    smooth_ = at.get_int("smooth_softmax", 0) != 0;
    if (ctx.has_input(kHeadSink)) {
      ctx.require_dtype(kHeadSink, {DType::f32});
      if (shape_numel(ctx.input(kHeadSink).shape) != Hq_) ctx.fail("head_sink must have num_heads values");
    }
    if (at.get_int("sliding_window_cache", 0) || at.get_int("qk_output", 0) ||
        at.get_int("kv_cache_bit_width", 0) || at.get_string("k_quant_type", "NONE") != "NONE" ||
        at.get_string("v_quant_type", "NONE") != "NONE")
      ctx.unsupported("sliding_window_cache, qk_output and KV-cache quantization");
    if (ctx.outputs.size() > 3) ctx.unsupported("the output_qk output");
    causal_ = at.get_int("causal", 1) != 0;
    window_ = at.get_int("local_window_size", -1);
    softcap_ = at.get_float("softcap", 0.f);
    rotary_ = at.get_int("do_rotary", 0) != 0;
    interleaved_ = at.get_int("rotary_interleaved", 0) != 0;
    const Shape& q = ctx.input(kGQuery).shape;
    if (q.size() != 3) ctx.fail("query must be [B, S, hidden], got " + shape_str(q));
    B_ = q[0], S_ = q[1];
    packed_ = !ctx.has_input(kGKey);
    if (packed_) {
      if (ctx.has_input(kGValue)) ctx.fail("value without key");
      if (q[2] % (Hq_ + 2 * Hkv_))
        ctx.fail("packed QKV width is not (num_heads + 2 kv_num_heads) * head_size");
      H_ = q[2] / (Hq_ + 2 * Hkv_);
    } else {
      if (!ctx.has_input(kGValue)) ctx.fail("key without value");
      ctx.require_dtype(kGKey, {DType::f32});
      ctx.require_dtype(kGValue, {DType::f32});
      if (q[2] % Hq_) ctx.fail("query hidden size is not a multiple of num_heads");
      H_ = q[2] / Hq_;
      const Shape &k = ctx.input(kGKey).shape, &v = ctx.input(kGValue).shape;
      if (k != Shape{B_, S_, Hkv_ * H_} || v != k)
        ctx.fail("key and value must be [B, S, kv_num_heads * head_size] = " +
                 shape_str({B_, S_, Hkv_ * H_}) + ", got " + shape_str(k) + " and " + shape_str(v));
    }
    P_ = 0;
    if (ctx.has_input(kGPastK) != ctx.has_input(kGPastV))
      ctx.fail("past_key and past_value must be given together");
    if (ctx.has_input(kGPastK)) {
      ctx.require_dtype(kGPastK, {DType::f32});
      ctx.require_dtype(kGPastV, {DType::f32});
      const Shape &pk = ctx.input(kGPastK).shape, &pv = ctx.input(kGPastV).shape;
      if (pk.size() != 4 || pk[0] != B_ || pk[1] != Hkv_ || pk[3] != H_ || pv != pk)
        ctx.fail("past_key / past_value must be [B, kv_num_heads, past, head_size], got " + shape_str(pk) +
                 " and " + shape_str(pv));
      P_ = pk[2];
    }
    ctx.require_dtype(kSeqlensK, {DType::i32});
    ctx.require_dtype(kTotalLen, {DType::i32});
    if (shape_numel(ctx.input(kSeqlensK).shape) != B_) ctx.fail("seqlens_k must have one value per batch");
    if (shape_numel(ctx.input(kTotalLen).shape) != 1) ctx.fail("total_sequence_length must be a scalar");
    // The present length depends on total_sequence_length's value: known here when it is a constant,
    // otherwise the outputs are sized at run.
    const Tensor* total = ctx.input(kTotalLen).constant;
    if (rotary_) {
      if (!ctx.has_input(kCos) || !ctx.has_input(kSin)) ctx.fail("do_rotary needs cos_cache and sin_cache");
      const Shape &c = ctx.input(kCos).shape, &s = ctx.input(kSin).shape;
      if (c.size() != 2 || c != s || 2 * c[1] > H_)
        ctx.fail("cos_cache / sin_cache must be [max_pos, rotary_dim / 2]");
      rot_dim_ = 2 * c[1];
    }
    if (ctx.has_input(kPosIds)) {
      ctx.require_dtype(kPosIds, {DType::i64});
      if (ctx.input(kPosIds).shape != Shape{B_, S_}) ctx.fail("position_ids must be [B, S]");
    }
    if (ctx.has_input(kGAttnBias)) {
      ctx.require_dtype(kGAttnBias, {DType::f32});
      const Shape& a = ctx.input(kGAttnBias).shape;
      if (a.size() != 4 || (a[0] != B_ && a[0] != 1) || (a[1] != Hq_ && a[1] != 1) || a[2] != S_)
        ctx.fail("attention_bias must be [B or 1, num_heads or 1, S, total], got " + shape_str(a));
    }
    const float sc = at.get_float("scale", 0.f);
    scale_ = sc != 0.f ? sc : 1.f / std::sqrt(static_cast<float>(H_));
    ctx.set_output(0, DType::f32, {B_, S_, Hq_ * H_});
    static_present_ = total != nullptr;
    if (total) {
      const int64_t T = std::max<int64_t>(P_, total->data_as<int32_t>()[0]);
      for (size_t o = 1; o < ctx.outputs.size() && o < 3; ++o)
        ctx.set_output(o, DType::f32, {B_, Hkv_, T, H_});
    } else {
      for (size_t o = 1; o < ctx.outputs.size() && o < 3; ++o) ctx.outputs[o].data_dependent = true;
    }
    slots_ = std::max(1, ctx.threading.threads);
    heads_.reserve(slots_, ctx.float_gemm_kind());
    // Scratch for the largest valid total (past + S): K and V caches, rotated Q, a score matrix per slot.
    const int64_t tmax = P_ + S_;
    ctx.scratch_bytes = sizeof(float) * static_cast<size_t>(2 * B_ * Hkv_ * tmax * H_ + B_ * S_ * Hq_ * H_ +
                                                            slots_ * (S_ + 1) * tmax);
  }

  void run(RunContext& ctx) override {
    const int32_t* seqlens = ctx.input(kSeqlensK).data_as<int32_t>();
    const int64_t total = ctx.input(kTotalLen).data_as<int32_t>()[0];
    const int64_t T = std::max<int64_t>(P_, total);
    const bool first_prompt = P_ == 0 && total == S_;
    if (total < 1 || total > P_ + S_)
      ctx.fail("total_sequence_length " + std::to_string(total) +
               " is not in [1, past + S = " + std::to_string(P_ + S_) + "]");
    for (int64_t b = 0; b < B_; ++b) {
      const int64_t tb = seqlens[b] + 1, past = first_prompt ? 0 : tb - S_;
      if (tb < 1 || tb > T || past < 0 || past > P_)
        ctx.fail("seqlens_k[" + std::to_string(b) + "] = " + std::to_string(seqlens[b]) +
                 " does not fit S = " + std::to_string(S_) + ", past buffer " + std::to_string(P_) +
                 " and total_sequence_length " + std::to_string(total));
    }
    // present_key / present_value (sized now when total_sequence_length was not a constant), or scratch.
    float *kc = nullptr, *vc = nullptr;
    for (size_t o = 1; o < 3; ++o) {
      if (o >= ctx.outputs.size() || !ctx.outputs[o]) continue;
      Tensor& t = static_present_ ? ctx.output(o) : ctx.allocate_output(o, DType::f32, {B_, Hkv_, T, H_});
      (o == 1 ? kc : vc) = t.data_as<float>();
    }
    const int64_t tmax = P_ + S_;  // T <= P + S (checked above): compile() sized the scratch with it
    float* mem = static_cast<float*>(ctx.scratch);
    if (!kc) kc = mem;
    if (!vc) vc = mem + B_ * Hkv_ * tmax * H_;
    float* qb = mem + 2 * B_ * Hkv_ * tmax * H_;
    float* slot_mem = qb + B_ * S_ * Hq_ * H_;

    const float* q = ctx.input(kGQuery).data_as<float>();
    const float* k = packed_ ? nullptr : ctx.input(kGKey).data_as<float>();
    const float* v = packed_ ? nullptr : ctx.input(kGValue).data_as<float>();
    const int64_t qw = packed_ ? (Hq_ + 2 * Hkv_) * H_ : Hq_ * H_, kw = packed_ ? qw : Hkv_ * H_;
    const float* cos = rotary_ ? ctx.input(kCos).data_as<float>() : nullptr;
    const float* sin = rotary_ ? ctx.input(kSin).data_as<float>() : nullptr;
    const int64_t max_pos = rotary_ ? ctx.input(kCos).shape()[0] : 0, half = rot_dim_ / 2;
    const int64_t* pos_ids = ctx.has_input(kPosIds) ? ctx.input(kPosIds).data_as<int64_t>() : nullptr;
    for (int64_t b = 0; b < B_; ++b) {
      const int64_t past = first_prompt ? 0 : seqlens[b] + 1 - S_;
      auto position = [&](int64_t i) { return pos_ids ? pos_ids[b * S_ + i] : past + i; };
      auto rope = [&](float* x, int64_t i) {
        if (!rotary_) return;
        const int64_t p = position(i);
        if (p < 0 || p >= max_pos)
          ctx.fail("position " + std::to_string(p) + " is outside cos_cache's " + std::to_string(max_pos) +
                   " rows");
        rotate(x, cos + p * half, sin + p * half, rot_dim_, interleaved_);
      };
      for (int64_t i = 0; i < S_; ++i)
        for (int64_t h = 0; h < Hq_; ++h) {
          float* dst = qb + ((b * Hq_ + h) * S_ + i) * H_;
          std::memcpy(dst, q + (b * S_ + i) * qw + h * H_, sizeof(float) * static_cast<size_t>(H_));
          rope(dst, i);
        }
      for (int64_t h = 0; h < Hkv_; ++h) {
        float* kd = kc + (b * Hkv_ + h) * T * H_;
        float* vd = vc + (b * Hkv_ + h) * T * H_;
        std::fill(kd, kd + T * H_, 0.f);
        std::fill(vd, vd + T * H_, 0.f);
        if (P_) {  // the whole past buffer: rows past this batch's length are kept as they were
          std::memcpy(kd, ctx.input(kGPastK).data_as<float>() + (b * Hkv_ + h) * P_ * H_,
                      sizeof(float) * static_cast<size_t>(P_ * H_));
          std::memcpy(vd, ctx.input(kGPastV).data_as<float>() + (b * Hkv_ + h) * P_ * H_,
                      sizeof(float) * static_cast<size_t>(P_ * H_));
        }
        for (int64_t i = 0; i < S_; ++i) {
          const float* ks = packed_ ? q + (b * S_ + i) * qw + (Hq_ + h) * H_ : k + (b * S_ + i) * kw + h * H_;
          const float* vs =
              packed_ ? q + (b * S_ + i) * qw + (Hq_ + Hkv_ + h) * H_ : v + (b * S_ + i) * kw + h * H_;
          std::memcpy(kd + (past + i) * H_, ks, sizeof(float) * static_cast<size_t>(H_));
          std::memcpy(vd + (past + i) * H_, vs, sizeof(float) * static_cast<size_t>(H_));
          rope(kd + (past + i) * H_, i);
        }
      }
    }
    const Tensor* ab = ctx.has_input(kGAttnBias) ? &ctx.input(kGAttnBias) : nullptr;
    // head_sink per head; smooth_softmax alone is a sink of 0 for every head.
    static constexpr float kZeroSink = 0.f;
    const float* sinks = ctx.has_input(kHeadSink) ? ctx.input(kHeadSink).data_as<float>() : nullptr;
    const int64_t sink_step = sinks ? 1 : 0;
    if (!sinks && smooth_) sinks = &kZeroSink;
    const int64_t ab_t = ab ? ab->shape()[3] : 0;
    float* out = ctx.output(0).data_as<float>();
    const int64_t reps = Hq_ / Hkv_;
    run_tasks(ctx.threading, slots_, B_ * Hq_, [&](int64_t task, int64_t slot, const kernels::Threading& th) {
      const int64_t b = task / Hq_, h = task % Hq_, g = h / reps;
      const int64_t tb = seqlens[b] + 1, past = first_prompt ? 0 : tb - S_;
      const float* bias_rows = ab ? ab->data_as<float>() + ((ab->shape()[0] == 1 ? 0 : b) * ab->shape()[1] +
                                                            (ab->shape()[1] == 1 ? 0 : h)) *
                                                               S_ * ab_t
                                  : nullptr;
      heads_.run(slot, qb + (b * Hq_ + h) * S_ * H_, H_, S_, kc + (b * Hkv_ + g) * T * H_,
                 vc + (b * Hkv_ + g) * T * H_, T, H_, H_, scale_, softcap_,
                 sinks ? sinks + h * sink_step : nullptr, slot_mem + slot * (S_ + 1) * T,
                 out + b * S_ * Hq_ * H_ + h * H_, Hq_ * H_, th, [&](int64_t i, float* buf) {
                   // Keys past the sequence, in the future (causal) or out of the window are hidden.
                   const int64_t p = past + i;
                   RowBias r{nullptr, window_ > 0 ? p - window_ + 1 : 0, causal_ ? std::min(tb, p + 1) : tb};
                   if (bias_rows) {
                     if (ab_t >= T) {
                       r.add = bias_rows + i * ab_t;
                     } else {  // a bias narrower than the keys adds 0 past its end
                       std::copy(bias_rows + i * ab_t, bias_rows + (i + 1) * ab_t, buf);
                       std::fill(buf + ab_t, buf + T, 0.f);
                       r.add = buf;
                     }
                   }
                   return r;
                 });
    });
  }

 private:
  int64_t Hq_ = 1, Hkv_ = 1, B_ = 0, S_ = 0, H_ = 0, P_ = 0, rot_dim_ = 0, window_ = -1;
  bool packed_ = false, causal_ = true, rotary_ = false, interleaved_ = false, static_present_ = false;
  bool smooth_ = false;
  float scale_ = 1.f, softcap_ = 0.f;
  int slots_ = 1;
  HeadAttention heads_;
};

// ---------------------------------------------------------------------------------- RotaryEmbedding

class MsRotaryEmbedding : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    ctx.require_dtype(1, {DType::i64});
    ctx.require_dtype(2, {DType::f32});
    ctx.require_dtype(3, {DType::f32});
    if (ctx.attr().get_int("is_packed_batching", 0)) ctx.unsupported("is_packed_batching=1");
    interleaved_ = ctx.attr().get_int("interleaved", 0) != 0;
    const Shape &x = ctx.input(0).shape, &c = ctx.input(2).shape;
    if (c.size() != 2 || ctx.input(3).shape != c)
      ctx.fail("cos_cache and sin_cache must be [max_pos, rotary_dim / 2]");
    rot_dim_ = ctx.attr().get_int("rotary_embedding_dim", 0);
    if (rot_dim_ == 0) rot_dim_ = 2 * c[1];
    if (rot_dim_ != 2 * c[1]) ctx.fail("rotary_embedding_dim must be twice cos_cache's second dimension");
    int64_t heads = ctx.attr().get_int("num_heads", 0);
    if (x.size() == 4) {
      four_d_ = true;
      B_ = x[0], N_ = x[1], S_ = x[2], H_ = x[3];
    } else if (x.size() == 3) {
      four_d_ = false;
      B_ = x[0], S_ = x[1];
      if (heads <= 0) heads = x[2] / rot_dim_;  // no num_heads: the whole head is rotated
      if (heads <= 0 || x[2] % heads) ctx.fail("hidden size is not a multiple of num_heads");
      N_ = heads, H_ = x[2] / heads;
    } else {
      ctx.fail("input must be [B, S, hidden] or [B, N, S, H], got " + shape_str(x));
    }
    if (rot_dim_ > H_) ctx.fail("rotary_embedding_dim exceeds the head size");
    const Shape& p = ctx.input(1).shape;
    if (shape_numel(p) != 1 && p != Shape{B_, S_})
      ctx.fail("position_ids must be [1] or [B, S], got " + shape_str(p));
    ctx.set_output(0, DType::f32, x);
  }

  void run(RunContext& ctx) override {
    const float* x = ctx.input(0).data_as<float>();
    float* y = ctx.output(0).data_as<float>();
    std::memcpy(y, x, ctx.input(0).bytes());
    const Tensor& ids = ctx.input(1);
    const bool start_only = ids.numel() == 1 && !(B_ == 1 && S_ == 1 && ids.rank() == 2);
    const float* cos = ctx.input(2).data_as<float>();
    const float* sin = ctx.input(3).data_as<float>();
    const int64_t max_pos = ctx.input(2).shape()[0], half = rot_dim_ / 2;
    for (int64_t b = 0; b < B_; ++b)
      for (int64_t s = 0; s < S_; ++s) {
        const int64_t p = start_only ? ids.data_as<int64_t>()[0] + s : ids.data_as<int64_t>()[b * S_ + s];
        if (p < 0 || p >= max_pos)
          ctx.fail("position " + std::to_string(p) + " is outside cos_cache's " + std::to_string(max_pos) +
                   " rows");
        for (int64_t n = 0; n < N_; ++n) {
          float* row = four_d_ ? y + ((b * N_ + n) * S_ + s) * H_ : y + ((b * S_ + s) * N_ + n) * H_;
          rotate(row, cos + p * half, sin + p * half, rot_dim_, interleaved_);
        }
      }
  }

 private:
  bool interleaved_ = false, four_d_ = false;
  int64_t rot_dim_ = 0, B_ = 0, N_ = 0, S_ = 0, H_ = 0;
};

}  // namespace

void register_ms_llm_attention_ops(OpRegistry& r) {
  r.add(kMsDomain, "MultiHeadAttention", 1, kAnyOpset, [] { return std::make_unique<MultiHeadAttention>(); });
  r.add(kMsDomain, "GroupQueryAttention", 1, kAnyOpset,
        [] { return std::make_unique<GroupQueryAttention>(); });
  r.add(kMsDomain, "RotaryEmbedding", 1, kAnyOpset, [] { return std::make_unique<MsRotaryEmbedding>(); });
}

}  // namespace ortkit::ops
