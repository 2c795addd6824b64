// com.microsoft Attention: BERT / GPT-2 self-attention as ONNX Runtime's transformer optimizer fuses it
// (the graphs `python -m onnxruntime.transformers.optimizer` and ORT's benchmark.py write).
//   inputs:  input [B, S, Hin], weights [Hin, Dq + Dk + Dv], bias [Dq + Dk + Dv]?, mask_index (int32)?,
//            past [2, B, N, P, Dk / N]?, attention_bias [B or 1, N, S, P + S]?
//   outputs: output [B, S, Dv], present [2, B, N, P + S, Dk / N]? (past K, V followed by this call's)
//   attrs:   num_heads, qkv_hidden_sizes (default three equal parts), unidirectional, scale (default
//            1 / sqrt(head size)), mask_filter_value (default -10000)
// mask_index, as ORT reads it (T = P + S keys):
//   [B]       keys at or after mask_index[b] are masked (right padding; EmbedLayerNormalization's count)
//   [2B]      also keys before mask_index[B + b] (left padding)
//   [B, T]    raw 0/1 mask per key;  [B, S, T]  raw 0/1 mask per query and key
// A masked score gets mask_filter_value added; with unidirectional, keys after the query's position are
// set to the lowest float. Then softmax over the keys and the weighted sum of V.
// com.microsoft QAttention (what ORT's quantize_dynamic makes of Attention) is the same op with an int8
// projection: input u8/s8 with input_scale / input_zero_point (DynamicQuantizeLinear's outputs), weight
// u8/s8 with weight_scale / weight_zero_point per tensor or per column, float bias; no attention_bias.
//   inputs:  input, weight, bias, input_scale, weight_scale, mask_index?, input_zero_point?,
//            weight_zero_point?, past?
// The projection is one GEMM with the bias in its epilogue (weights packed once when constant; int8 for
// QAttention, dequantized in the epilogue); each (batch, head) then runs Q K^T and P V as small fp32
// GEMMs on one thread, heads in parallel.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/attention_matmul.h"
#include "ops/op_util.h"
#include "ops/quant_common.h"
#include "ops/registry.h"
#include "ops/row_kernels.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::ops {
namespace {

using kernels::BDesc;
using kernels::PackedB;

enum In { kInput, kWeights, kBias };

/// Input slots that differ between Attention and QAttention (-1: the op has no such input).
struct Slots {
  int mask, past, attn_bias, past_len, in_scale, w_scale, in_zp, w_zp;
};
constexpr Slots kFloatSlots{3, 4, 5, 6, -1, -1, -1, -1};
constexpr Slots kQuantSlots{5, 8, -1, -1, 3, 4, 6, 7};

bool has(const CompileContext& ctx, int slot) {
  return slot >= 0 && ctx.has_input(static_cast<size_t>(slot));
}
bool has(const RunContext& ctx, int slot) {
  return slot >= 0 && ctx.has_input(static_cast<size_t>(slot));
}

class AttentionOp : public OpKernel {
 public:
  explicit AttentionOp(bool quantized) : quant_(quantized), in_(quantized ? kQuantSlots : kFloatSlots) {}

  void compile(CompileContext& ctx) override {
    const size_t mask_in = static_cast<size_t>(in_.mask), past_in = static_cast<size_t>(in_.past);
    if (quant_) {
      ctx.require_dtype(kInput, {DType::u8, DType::i8});
      ctx.require_dtype(kWeights, {DType::u8, DType::i8});
      if (!ctx.has_input(kBias)) ctx.fail("bias is required");
      compile_quant(ctx);
    } else {
      ctx.require_dtype(kInput, {DType::f32});
      ctx.require_dtype(kWeights, {DType::f32});
    }
    const Shape& x = ctx.input(kInput).shape;
    const Shape& w = ctx.input(kWeights).shape;
    if (x.size() != 3) ctx.fail("input must be 3-D [batch, sequence, hidden], got " + shape_str(x));
    if (w.size() != 2 || w[0] != x[2])
      ctx.fail("weights must be [" + std::to_string(x[2]) + ", Dq + Dk + Dv], got " + shape_str(w));
    heads_ = ctx.attr().get_int("num_heads");
    if (heads_ <= 0) ctx.fail("num_heads must be positive");
    std::vector<int64_t> qkv = ctx.attr().get_ints("qkv_hidden_sizes", {});
    if (qkv.empty()) {
      if (w[1] % 3) ctx.fail("weights' second dimension " + std::to_string(w[1]) + " is not 3 equal parts");
      qkv = {w[1] / 3, w[1] / 3, w[1] / 3};
    }
    if (qkv.size() != 3 || qkv[0] + qkv[1] + qkv[2] != w[1] || qkv[0] != qkv[1])
      ctx.fail("qkv_hidden_sizes must be 3 sizes with Dq == Dk summing to the weights' width");
    dq_ = qkv[0], dv_ = qkv[2];
    if (dq_ % heads_ || dv_ % heads_) ctx.fail("hidden sizes are not divisible by num_heads");
    if (ctx.attr().get_int("do_rotary", 0)) ctx.unsupported("do_rotary=1");
    if (ctx.attr().get_int("past_present_share_buffer", 0)) ctx.unsupported("past_present_share_buffer=1");
    if (has(ctx, in_.past_len)) ctx.unsupported("the past_sequence_length input");
    unidirectional_ = ctx.attr().get_int("unidirectional", 0) != 0;
    const float sc = ctx.attr().get_float("scale", 0.f);
    scale_ = sc != 0.f ? sc : 1.f / std::sqrt(static_cast<float>(dq_ / heads_));
    filter_ = ctx.attr().get_float("mask_filter_value", -10000.f);
    const int64_t B = x[0], S = x[1], hk = dq_ / heads_;
    if (ctx.has_input(kBias)) {
      ctx.require_dtype(kBias, {DType::f32});
      const Shape& b = ctx.input(kBias).shape;
      if (b.size() != 1 || b[0] != w[1])
        ctx.fail("bias must be 1-D with " + std::to_string(w[1]) + " values");
    }
    int64_t P = 0;
    if (has(ctx, in_.past)) {
      ctx.require_dtype(past_in, {DType::f32});
      const Shape& p = ctx.input(past_in).shape;
      if (dq_ != dv_) ctx.unsupported("past with Dk != Dv");
      if (p.size() != 5 || p[0] != 2 || p[1] != B || p[2] != heads_ || p[4] != hk)
        ctx.fail("past must be [2, " + std::to_string(B) + ", " + std::to_string(heads_) + ", past, " +
                 std::to_string(hk) + "], got " + shape_str(p));
      P = p[3];
    }
    const int64_t T = P + S;
    if (has(ctx, in_.mask)) {
      ctx.require_dtype(mask_in, {DType::i32});
      const Shape& m = ctx.input(mask_in).shape;
      const bool ok = (m.size() == 1 && (m[0] == B || m[0] == 2 * B)) ||
                      (m.size() == 2 && m[0] == B && m[1] == T) ||
                      (m.size() == 3 && m[0] == B && m[1] == S && m[2] == T);
      if (!ok) {
        if (m.size() == 4) ctx.unsupported("a 4-D mask_index");
        ctx.fail("mask_index " + shape_str(m) + " is none of [B], [2B], [B, T], [B, S, T] for B=" +
                 std::to_string(B) + ", S=" + std::to_string(S) + ", T=" + std::to_string(T));
      }
    }
    if (has(ctx, in_.attn_bias)) {
      const size_t bias_in = static_cast<size_t>(in_.attn_bias);
      ctx.require_dtype(bias_in, {DType::f32});
      const Shape& a = ctx.input(bias_in).shape;
      if (a.size() != 4 || (a[0] != B && a[0] != 1) || a[1] != heads_ || a[2] != S || a[3] != T)
        ctx.fail("attention_bias must be [B or 1, num_heads, S, T], got " + shape_str(a));
    }
    ctx.set_output(0, DType::f32, {B, S, dv_});
    if (ctx.outputs.size() > 1) {
      if (dq_ != dv_) ctx.unsupported("present with Dk != Dv");
      ctx.set_output(1, DType::f32, {2, B, heads_, T, hk});
    }
    if (ctx.outputs.size() > 2) ctx.fail("at most 2 outputs");

    const InputDesc& wd = ctx.input(kWeights);
    if (!quant_) {
      kind_ = ctx.float_gemm_kind();
      use_const_w_ = wd.constant != nullptr;
      if (use_const_w_ && packed_w_.empty())
        kernels::pack_b(packed_w_, kind_, BDesc{wd.constant->data_as<float>(), w[0], w[1], w[1], false});
    }
    core_kind_ = ctx.float_gemm_kind();
    slots_ = std::max(1, ctx.threading.threads);
    if (static_cast<int>(k_pack_.size()) < slots_) {
      k_pack_.resize(static_cast<size_t>(slots_));
      v_pack_.resize(static_cast<size_t>(slots_));
    }
    const int64_t D = w[1];
    const int64_t per_slot = T * hk + T * (dv_ / heads_) + S * T + T;
    ctx.scratch_bytes = sizeof(float) * static_cast<size_t>(B * S * D + slots_ * per_slot);
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(kInput);
    const int64_t B = x.shape()[0], S = x.shape()[1], Hin = x.shape()[2];
    const int64_t D = ctx.input(kWeights).shape()[1];
    const int64_t N = heads_, hk = dq_ / N, hv = dv_ / N;
    const Tensor* past = has(ctx, in_.past) ? &ctx.input(static_cast<size_t>(in_.past)) : nullptr;
    const int64_t P = past ? past->shape()[3] : 0, T = P + S;
    float* qkv = static_cast<float*>(ctx.scratch);
    float* slot_mem = qkv + B * S * D;
    const int64_t per_slot = T * hk + T * hv + S * T + T;

    // Q | K | V for every token, bias in the epilogue.
    const PackedB* wp = &packed_w_;
    if (!use_const_w_ || packed_w_.empty()) {
      pack_weights(ctx, dyn_w_);
      wp = &dyn_w_;
    }
    kernels::Epilogue ep;
    ep.bias = ctx.has_input(kBias) ? ctx.input(kBias).data_as<float>() : nullptr;
    if (quant_) {
      kernels::QuantA qa;
      qa.scale = ctx.input(static_cast<size_t>(in_.in_scale)).data_as<float>()[0];
      qa.zero_point = has(ctx, in_.in_zp) ? quant::int_at(ctx.input(static_cast<size_t>(in_.in_zp)), 0) : 0;
      kernels::gemm_int8(B * S, x.data(), Hin, qa, *wp, qkv, D, nullptr, 0, ep, {}, ctx.threading);
    } else {
      kernels::gemm_f32(B * S, x.data_as<float>(), Hin, *wp, qkv, D, ep, ctx.threading);
    }

    const int32_t* mask =
        has(ctx, in_.mask) ? ctx.input(static_cast<size_t>(in_.mask)).data_as<int32_t>() : nullptr;
    // Mask rank and length, read in place (a steady-state run does not allocate).
    const size_t mrank = mask ? ctx.input(static_cast<size_t>(in_.mask)).shape().size() : 0;
    const int64_t mlen0 = mask ? ctx.input(static_cast<size_t>(in_.mask)).shape()[0] : 0;
    const Tensor* ab = has(ctx, in_.attn_bias) ? &ctx.input(static_cast<size_t>(in_.attn_bias)) : nullptr;
    float* out = ctx.output(0).data_as<float>();
    float* present = ctx.outputs.size() > 1 && ctx.outputs[1] ? ctx.output(1).data_as<float>() : nullptr;
    const float lowest = std::numeric_limits<float>::lowest();

    run_tasks(ctx.threading, slots_, B * N, [&](int64_t task, int64_t slot, const kernels::Threading& th) {
      const int64_t b = task / N, n = task % N;
      float* kbuf = slot_mem + slot * per_slot;
      float* vbuf = kbuf + T * hk;
      float* scores = vbuf + T * hv;
      // Keys and values of this head: the past ones, then this call's.
      for (int64_t t = 0; t < T; ++t) {
        const float* ks = t < P ? past->data_as<float>() + ((b * N + n) * P + t) * hk
                                : qkv + (b * S + t - P) * D + dq_ + n * hk;
        const float* vs = t < P ? past->data_as<float>() + (((B + b) * N + n) * P + t) * hk
                                : qkv + (b * S + t - P) * D + 2 * dq_ + n * hv;
        std::memcpy(kbuf + t * hk, ks, sizeof(float) * static_cast<size_t>(hk));
        std::memcpy(vbuf + t * hv, vs, sizeof(float) * static_cast<size_t>(hv));
      }
      if (present) {
        std::memcpy(present + (b * N + n) * T * hk, kbuf, sizeof(float) * static_cast<size_t>(T * hk));
        std::memcpy(present + ((B + b) * N + n) * T * hk, vbuf, sizeof(float) * static_cast<size_t>(T * hv));
      }
      // scores = Q K^T: K rows are B's columns (BDesc trans).
      PackedB& kp = k_pack_[static_cast<size_t>(slot)];
      attention_qk(kp, S, qkv + b * S * D + n * hk, D, kbuf, T, hk, scores, th, core_kind_);
      // The mask as an additive row (0 or mask_filter_value; 0 without a mask), made once per head for 1-D
      // and 2-D masks and per query row for 3-D ones, so that the loops below are branch-free and vectorize.
      float* madd = scores + S * T;
      auto mask_row = [&](int64_t i) {
        for (int64_t j = 0; j < T; ++j) {
          bool keep = true;
          if (mask && mrank == 1) {
            keep = j < mask[b] && (mlen0 == B || j >= std::min<int64_t>(mask[B + b], T));
          } else if (mask && mrank == 2) {
            keep = mask[b * T + j] > 0;
          } else if (mask) {
            keep = mask[(b * S + i) * T + j] > 0;
          }
          madd[j] = keep ? 0.f : filter_;
        }
      };
      const bool per_row_mask = mask && mrank > 2;
      if (!per_row_mask) mask_row(0);
      for (int64_t i = 0; i < S; ++i) {
        float* row = scores + i * T;
        const float* bias_row =
            ab ? ab->data_as<float>() + (((ab->shape()[0] == 1 ? 0 : b) * N + n) * S + i) * T : nullptr;
        if (per_row_mask) mask_row(i);
        // Keys past P + i are hidden from query i when unidirectional (that replaces the mask's term).
        const int64_t seen = unidirectional_ ? std::clamp<int64_t>(P + i + 1, 0, T) : T;
        for (int64_t j = 0; j < seen; ++j) row[j] = row[j] * scale_ + madd[j];
        for (int64_t j = seen; j < T; ++j) row[j] = row[j] * scale_ + lowest;
        if (bias_row)
          for (int64_t j = 0; j < T; ++j) row[j] += bias_row[j];
        softmax_row(row, row, T, false);
      }
      // out[b, :, n*hv : (n+1)*hv] = P V
      PackedB& vp = v_pack_[static_cast<size_t>(slot)];
      attention_pv(vp, S, scores, T, vbuf, hv, out + b * S * dv_ + n * hv, dv_, th, core_kind_);
    });
  }

  std::vector<std::string> kernels_used() const override {
    const kernels::GemmKernel* kn = !packed_w_.empty() ? packed_w_.kernel() : kernels::dispatched(kind_);
    return kn ? std::vector<std::string>{kn->name} : std::vector<std::string>{};
  }

 private:
  /// QAttention: scales and zero points per tensor (weight's also per column), weights packed once
  /// with their scales when they are constant.
  void compile_quant(CompileContext& ctx) {
    const size_t is = static_cast<size_t>(in_.in_scale), ws = static_cast<size_t>(in_.w_scale);
    ctx.require_dtype(is, {DType::f32});
    ctx.require_dtype(ws, {DType::f32});
    if (shape_numel(ctx.input(is).shape) != 1) ctx.fail("input_scale must be a scalar");
    const int64_t D = ctx.input(kWeights).shape.size() == 2 ? ctx.input(kWeights).shape[1] : 0;
    const int64_t nws = shape_numel(ctx.input(ws).shape);
    if (nws != 1 && nws != D)
      ctx.fail("weight_scale must be a scalar or have " + std::to_string(D) + " values");
    if (has(ctx, in_.in_zp)) {
      ctx.require_dtype(static_cast<size_t>(in_.in_zp), {ctx.input(kInput).dtype});
      if (shape_numel(ctx.input(static_cast<size_t>(in_.in_zp)).shape) != 1)
        ctx.fail("input_zero_point must be a scalar");
    }
    if (has(ctx, in_.w_zp)) {
      const size_t wz = static_cast<size_t>(in_.w_zp);
      ctx.require_dtype(wz, {ctx.input(kWeights).dtype});
      const int64_t n = shape_numel(ctx.input(wz).shape);
      if (n != 1 && n != D)
        ctx.fail("weight_zero_point must be a scalar or have " + std::to_string(D) + " values");
    }
    kind_ = quant::int8_kind(ctx.input(kInput).dtype);
    use_const_w_ = ctx.input(kWeights).constant && ctx.input(ws).constant &&
                   (!has(ctx, in_.w_zp) || ctx.input(static_cast<size_t>(in_.w_zp)).constant);
    if (use_const_w_ && packed_w_.empty() && D > 0) {
      const Tensor* zp = has(ctx, in_.w_zp) ? ctx.input(static_cast<size_t>(in_.w_zp)).constant : nullptr;
      pack_int8(packed_w_, *ctx.input(kWeights).constant, *ctx.input(ws).constant, zp);
    }
  }

  void pack_int8(PackedB& out, const Tensor& w, const Tensor& scale, const Tensor* zp) const {
    std::vector<int32_t> zps;
    quant::read_zero_points(zp, zps);
    const int64_t k = w.shape()[0], n = w.shape()[1];
    kernels::pack_b_int8(out, kind_, BDesc{w.data(), k, n, n, false}, w.dtype() == DType::u8,
                         scale.data_as<float>(), scale.numel(), zps.data(), static_cast<int64_t>(zps.size()));
  }

  void pack_weights(const RunContext& ctx, PackedB& out) const {
    const Tensor& w = ctx.input(kWeights);
    if (quant_) {
      pack_int8(out, w, ctx.input(static_cast<size_t>(in_.w_scale)),
                has(ctx, in_.w_zp) ? &ctx.input(static_cast<size_t>(in_.w_zp)) : nullptr);
      return;
    }
    const int64_t k = w.shape()[0], n = w.shape()[1];
    kernels::pack_b(out, kind_, BDesc{w.data_as<float>(), k, n, n, false});
  }

  bool quant_;
  Slots in_;
  bool use_const_w_ = false;
  int64_t heads_ = 1, dq_ = 0, dv_ = 0;
  bool unidirectional_ = false;
  float scale_ = 1.f, filter_ = -10000.f;
  int slots_ = 1;
  kernels::GemmKind kind_ = kernels::GemmKind::f32;
  PackedB packed_w_, dyn_w_;
  std::vector<PackedB> k_pack_, v_pack_;
  kernels::GemmKind core_kind_ = kernels::GemmKind::f32;  // Q K^T and P V: the session's float GEMM kind
};

}  // namespace

void register_attention_ops(OpRegistry& r) {
  r.add(kMsDomain, "Attention", 1, kAnyOpset, [] { return std::make_unique<AttentionOp>(false); });
  r.add(kMsDomain, "QAttention", 1, kAnyOpset, [] { return std::make_unique<AttentionOp>(true); });
}

}  // namespace ortkit::ops
