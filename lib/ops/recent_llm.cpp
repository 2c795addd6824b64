// Ops of LLM exports: RotaryEmbedding (23) and TensorScatter (24, the KV-cache update).
#include <algorithm>
#include <cstring>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

// ----------------------------------------------------------------------------------------------
// RotaryEmbedding

/// Rotates the first `rotary_embedding_dim` values of every head: pairs (x1, x2) taken as the two halves
/// or, interleaved, as even/odd neighbours become (c x1 - s x2, s x1 + c x2). The rest is copied.
/// X is [B, H, S, D] or [B, S, H * D] (num_heads given); cos/sin are [max_pos, rd/2] indexed by
/// position_ids [B, S], or [B, S, rd/2] without position_ids.
class RotaryEmbeddingOp : public OpKernel {
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    for (size_t i = 1; i < 3; ++i)
      if (ctx.input(i).dtype != DType::f32) ctx.fail("cos_cache and sin_cache must have X's dtype");
    const Shape& xs = ctx.input(0).shape;
    interleaved_ = ctx.attr().get_int("interleaved", 0) != 0;
    const int64_t heads_attr = ctx.attr().get_int("num_heads", 0);
    if (xs.size() == 4) {
      four_d_ = true;
      batch_ = xs[0], heads_ = xs[1], seq_ = xs[2], head_size_ = xs[3];
      if (heads_attr != 0 && heads_attr != heads_)
        ctx.fail("num_heads " + std::to_string(heads_attr) + " does not match X's dim 1 (" +
                 std::to_string(heads_) + ")");
    } else if (xs.size() == 3) {
      four_d_ = false;
      if (heads_attr <= 0) ctx.fail("num_heads must be given (> 0) for a 3-D input");
      if (xs[2] % heads_attr != 0)
        ctx.fail("hidden size " + std::to_string(xs[2]) + " is not a multiple of num_heads " +
                 std::to_string(heads_attr));
      batch_ = xs[0], seq_ = xs[1], heads_ = heads_attr, head_size_ = xs[2] / heads_attr;
    } else {
      ctx.fail("X must be 4-D [B, H, S, D] or 3-D [B, S, hidden], got " + shape_str(xs));
    }
    rot_dim_ = ctx.attr().get_int("rotary_embedding_dim", 0);
    if (rot_dim_ == 0) rot_dim_ = head_size_;
    if (rot_dim_ < 0 || rot_dim_ > head_size_ || rot_dim_ % 2 != 0)
      ctx.fail("rotary_embedding_dim " + std::to_string(rot_dim_) + " must be even and <= head size " +
               std::to_string(head_size_));
    const int64_t half = rot_dim_ / 2;
    with_ids_ = ctx.has_input(3);
    // With position_ids the caches are tables indexed by position, else one row per token.
    const Shape want = with_ids_ ? Shape{ctx.input(1).shape.empty() ? 0 : ctx.input(1).shape[0], half}
                                 : Shape{batch_, seq_, half};
    for (size_t i = 1; i < 3; ++i)
      if (ctx.input(i).shape != want)
        ctx.fail(std::string(i == 1 ? "cos_cache" : "sin_cache") + " must be " +
                 (with_ids_ ? "[max_position, rotary_dim / 2 = " : "[batch, seq, rotary_dim / 2 = ") +
                 std::to_string(half) + "], got " + shape_str(ctx.input(i).shape));
    if (ctx.input(1).shape != ctx.input(2).shape) ctx.fail("cos_cache and sin_cache must have one shape");
    if (with_ids_) {
      ctx.require_dtype(3, {DType::i64, DType::i32});
      if (ctx.input(3).shape != Shape{batch_, seq_})
        ctx.fail("position_ids must be [" + std::to_string(batch_) + ", " + std::to_string(seq_) + "], got " +
                 shape_str(ctx.input(3).shape));
    }
    ctx.set_output(0, DType::f32, xs);
  }

  void run(RunContext& ctx) override {
    const float* x = ctx.input(0).data_as<float>();
    const float* cos = ctx.input(1).data_as<float>();
    const float* sin = ctx.input(2).data_as<float>();
    const Tensor* ids = with_ids_ ? &ctx.input(3) : nullptr;
    const int64_t max_pos = with_ids_ ? ctx.input(1).shape()[0] : 0;
    float* y = ctx.output(0).data_as<float>();
    const int64_t half = rot_dim_ / 2, hs = head_size_;
    const bool inter = interleaved_;
    // Token (b, s) of head h: its row offset in X's layout.
    const int64_t B = batch_, H = heads_, S = seq_;
    const bool four = four_d_;
    if (ids)
      for (int64_t i = 0; i < B * S; ++i) {
        const int64_t pos = int_at(*ids, i);
        if (pos < 0 || pos >= max_pos)
          ctx.fail("position id " + std::to_string(pos) + " out of range [0, " + std::to_string(max_pos) +
                   ")");
      }
    parallel_for(ctx.threading, B * S, [&](int64_t bs) {
      const int64_t table_row = ids ? int_at(*ids, bs) : bs;
      const float* c = cos + table_row * half;
      const float* s = sin + table_row * half;
      const int64_t b = bs / S, t = bs % S;
      for (int64_t h = 0; h < H; ++h) {
        const int64_t off = four ? ((b * H + h) * S + t) * hs : (bs * H + h) * hs;
        const float* xr = x + off;
        float* yr = y + off;
        for (int64_t i = 0; i < half; ++i) {
          const int64_t i1 = inter ? 2 * i : i, i2 = inter ? 2 * i + 1 : i + half;
          const float x1 = xr[i1], x2 = xr[i2];
          yr[i1] = c[i] * x1 - s[i] * x2;
          yr[i2] = s[i] * x1 + c[i] * x2;
        }
        for (int64_t i = rot_dim_; i < hs; ++i) yr[i] = xr[i];
      }
    });
  }

  bool interleaved_ = false, four_d_ = true, with_ids_ = false;
  int64_t batch_ = 0, heads_ = 0, seq_ = 0, head_size_ = 0, rot_dim_ = 0;
};

// ----------------------------------------------------------------------------------------------
// TensorScatter

/// present = past with update written along `axis` from write_indices[batch] on (mod the cache length in
/// circular mode). Byte copies: every fixed-size dtype works.
class TensorScatterOp : public OpKernel {
  void compile(CompileContext& ctx) override {
    const InputDesc &past = ctx.input(0), &upd = ctx.input(1);
    if (dtype_size(past.dtype) == 0 || past.dtype == DType::string) ctx.unsupported("string tensors");
    if (upd.dtype != past.dtype) ctx.fail("update must have past_cache's dtype");
    const std::string mode = ctx.attr().get_string("mode", "linear");
    if (mode != "linear" && mode != "circular")
      ctx.fail("mode must be 'linear' or 'circular', got '" + mode + "'");
    circular_ = mode == "circular";
    const int64_t rank = static_cast<int64_t>(past.shape.size());
    if (rank < 2) ctx.fail("past_cache must have rank >= 2");
    if (static_cast<int64_t>(upd.shape.size()) != rank) ctx.fail("update must have past_cache's rank");
    axis_ = normalize_axis(ctx.attr().get_int("axis", -2), rank, ctx.node->describe());
    if (axis_ == 0) ctx.fail("axis cannot be 0 (the batch dimension)");
    for (int64_t d = 0; d < rank; ++d) {
      if (d != axis_ && upd.shape[d] != past.shape[d])
        ctx.fail("update " + shape_str(upd.shape) + " and past_cache " + shape_str(past.shape) +
                 " differ outside the sequence axis");
      if (d == axis_ && upd.shape[d] > past.shape[d])
        ctx.fail("update's sequence length " + std::to_string(upd.shape[d]) + " exceeds the cache's " +
                 std::to_string(past.shape[d]));
    }
    if (ctx.has_input(2)) {
      ctx.require_dtype(2, {DType::i64});
      if (ctx.input(2).shape != Shape{past.shape[0]})
        ctx.fail("write_indices must be [batch_size], got " + shape_str(ctx.input(2).shape));
    }
    ctx.set_output(0, past.dtype, past.shape);
  }

  void run(RunContext& ctx) override {
    const Tensor &past = ctx.input(0), &upd = ctx.input(1);
    Tensor& out = ctx.output(0);
    if (past.bytes()) std::memcpy(out.data(), past.data(), past.bytes());
    const Shape& ps = past.shape();
    int64_t prefix = 1, inner = 1;
    for (int64_t d = 0; d < axis_; ++d) prefix *= ps[d];
    for (int64_t d = axis_ + 1; d < past.rank(); ++d) inner *= ps[d];
    const int64_t per_batch = prefix / ps[0], max_len = ps[axis_], len = upd.shape()[axis_];
    const size_t row = static_cast<size_t>(inner) * dtype_size(past.dtype());
    const int64_t* idx = ctx.has_input(2) ? ctx.input(2).data_as<int64_t>() : nullptr;
    for (int64_t b = 0; b < ps[0]; ++b) {
      const int64_t start = idx ? idx[b] : 0;
      if (start < 0 || (!circular_ && start + len > max_len))
        ctx.fail("write index " + std::to_string(start) + " + sequence length " + std::to_string(len) +
                 " does not fit the cache length " + std::to_string(max_len) + " (linear mode)");
    }
    const char* src = static_cast<const char*>(upd.data());
    char* dst = static_cast<char*>(out.data());
    parallel_for(ctx.threading, prefix, [&](int64_t p) {
      const int64_t start = idx ? idx[p / per_batch] : 0;
      for (int64_t s = 0; s < len; ++s) {
        const int64_t at = circular_ ? (start + s) % max_len : start + s;
        std::memcpy(dst + (p * max_len + at) * row, src + (p * len + s) * row, row);
      }
    });
  }

  bool circular_ = false;
  int64_t axis_ = 0;
};

}  // namespace

void register_recent_llm_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "RotaryEmbedding", 23, kAnyOpset, [] { return std::make_unique<RotaryEmbeddingOp>(); });
  r.add(kOnnxDomain, "TensorScatter", 24, kAnyOpset, [] { return std::make_unique<TensorScatterOp>(); });
}

}  // namespace ortkit::ops
