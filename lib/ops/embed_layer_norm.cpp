// com.microsoft EmbedLayerNormalization: the BERT embedding block as ONNX Runtime's transformer optimizer
// fuses it. Per token: word_embedding[input_id] + position_embedding[position] (+ segment_embedding
// [segment_id]), then LayerNorm with gamma / beta.
//   inputs:  input_ids [B, S], segment_ids [B, S]?, word_embedding [V, H], position_embedding [P, H],
//            segment_embedding [T, H]?, gamma [H], beta [H], mask [B, S]?, position_ids [B, S] or [1, S]?
//   outputs: output [B, S, H], mask_index [B] (int32: the number of mask values equal to 1 per batch row,
//            which Attention reads as each row's key length), embedding_sum [B, S, H]? (before the norm)
// Ids are int32 (ORT's type) or int64; an id outside its table is an error naming it.
// com.microsoft QEmbedLayerNormalization (what ORT's quantize_dynamic makes of it) holds the five tables
// as u8/s8 with a scale and zero point each, after the mask:
//   ..., mask?, word/position/segment?/gamma/beta scales, the same five zero points
// (outputs: output, mask_index). The tables must be constants: they are dequantized once at compile.
#include <algorithm>
#include <array>

#include "ops/op_util.h"
#include "ops/quant_common.h"
#include "ops/registry.h"
#include "ops/row_kernels.h"

namespace ortkit::ops {
namespace {

enum In { kIds, kSeg, kWord, kPos, kSegEmb, kGamma, kBeta, kMask, kPosIds };
// QEmbedLayerNormalization: the scale of table input t (kWord..kBeta) is at t + kScaleOff, its zero
// point at t + kZpOff.
constexpr int kScaleOff = 6, kZpOff = 11;

class EmbedLayerNormOp : public OpKernel {
 public:
  explicit EmbedLayerNormOp(bool quantized) : quant_(quantized) {}

  void compile(CompileContext& ctx) override {
    if (quant_) dequantize_tables(ctx);
    ctx.require_dtype(kIds, {DType::i32, DType::i64});
    const Shape& ids = ctx.input(kIds).shape;
    if (ids.size() != 2) ctx.fail("input_ids must be 2-D [batch, sequence], got " + shape_str(ids));
    for (int i : {kWord, kPos}) {
      require_table(ctx, i);
      if (ctx.input(static_cast<size_t>(i)).shape.size() != 2)
        ctx.fail(std::string(i == kWord ? "word" : "position") + "_embedding must be 2-D");
    }
    hidden_ = ctx.input(kWord).shape[1];
    if (ctx.input(kPos).shape[1] != hidden_)
      ctx.fail("position_embedding's width differs from word_embedding's");
    if (ctx.has_input(kSeg) != ctx.has_input(kSegEmb))
      ctx.fail("segment_ids and segment_embedding must both be given or both be absent");
    if (ctx.has_input(kSeg)) {
      ctx.require_dtype(kSeg, {DType::i32, DType::i64});
      require_table(ctx, kSegEmb);
      if (ctx.input(kSeg).shape != ids) ctx.fail("segment_ids must have input_ids' shape");
      const Shape& se = ctx.input(kSegEmb).shape;
      if (se.size() != 2 || se[1] != hidden_) ctx.fail("segment_embedding must be 2-D with the hidden width");
    }
    for (int i : {kGamma, kBeta}) {
      require_table(ctx, i);
      const Shape& s = ctx.input(static_cast<size_t>(i)).shape;
      if (s.size() != 1 || s[0] != hidden_)
        ctx.fail(std::string(i == kGamma ? "gamma" : "beta") + " must be 1-D with " +
                 std::to_string(hidden_) + " values");
    }
    if (ctx.has_input(kMask)) {
      ctx.require_dtype(kMask, {DType::i32, DType::i64});
      if (ctx.input(kMask).shape != ids) ctx.fail("mask must have input_ids' shape");
    }
    if (!quant_ && ctx.has_input(kPosIds)) {
      ctx.require_dtype(kPosIds, {DType::i32, DType::i64});
      const Shape& p = ctx.input(kPosIds).shape;
      if (p.size() != 2 || (p[0] != ids[0] && p[0] != 1) || p[1] != ids[1])
        ctx.fail("position_ids must be [batch, sequence] or [1, sequence], got " + shape_str(p));
    }
    eps_ = ctx.attr().get_float("epsilon", 1e-12f);
    if (quant_ && ctx.outputs.size() > 2) ctx.fail("at most 2 outputs");
    ctx.set_output(0, DType::f32, {ids[0], ids[1], hidden_});
    if (ctx.outputs.size() > 1) ctx.set_output(1, DType::i32, {ids[0]});
    if (ctx.outputs.size() > 2) ctx.set_output(2, DType::f32, {ids[0], ids[1], hidden_});
    if (ctx.outputs.size() > 3) ctx.fail("at most 3 outputs");
  }

  void run(RunContext& ctx) override {
    const Tensor& ids = ctx.input(kIds);
    const int64_t batch = ids.shape()[0], seq = ids.shape()[1], h = hidden_;
    const Tensor& word = table(ctx, kWord);
    const Tensor& pos = table(ctx, kPos);
    const Tensor* seg = ctx.has_input(kSeg) ? &ctx.input(kSeg) : nullptr;
    const Tensor* seg_emb = seg ? &table(ctx, kSegEmb) : nullptr;
    const Tensor* pos_ids = !quant_ && ctx.has_input(kPosIds) ? &ctx.input(kPosIds) : nullptr;
    const float* gamma = table(ctx, kGamma).data_as<float>();
    const float* beta = table(ctx, kBeta).data_as<float>();
    float* y = ctx.output(0).data_as<float>();
    float* emb_sum = ctx.outputs.size() > 2 && ctx.outputs[2] ? ctx.output(2).data_as<float>() : nullptr;
    auto row_of = [&](const Tensor& table, int64_t id, const char* what) {
      const int64_t rows = table.shape()[0];
      if (id < 0 || id >= rows)
        throw Error(
            std::string(what) + " " + std::to_string(id) + " is outside [0, " + std::to_string(rows) + ")",
            ctx.node->describe());
      return table.data_as<float>() + id * h;
    };
    // Ids are checked here, before the parallel part, so an error leaves from the calling thread.
    for (int64_t t = 0; t < batch * seq; ++t) {
      row_of(word, int_at(ids, t), "input id");
      if (seg) row_of(*seg_emb, int_at(*seg, t), "segment id");
      const int64_t s = t % seq;
      row_of(pos, pos_ids ? int_at(*pos_ids, pos_ids->shape()[0] == 1 ? s : t) : s, "position");
    }
    const float eps = eps_;
    parallel_range(ctx.threading, batch * seq, std::max<int64_t>(1, 8192 / std::max<int64_t>(h, 1)),
                   [&](int64_t t0, int64_t t1) {
                     for (int64_t t = t0; t < t1; ++t) {
                       const int64_t s = t % seq;
                       const float* w = word.data_as<float>() + int_at(ids, t) * h;
                       const int64_t p = pos_ids ? int_at(*pos_ids, pos_ids->shape()[0] == 1 ? s : t) : s;
                       const float* pe = pos.data_as<float>() + p * h;
                       const float* se = seg ? seg_emb->data_as<float>() + int_at(*seg, t) * h : nullptr;
                       float* sum = emb_sum ? emb_sum + t * h : y + t * h;
                       for (int64_t i = 0; i < h; ++i) sum[i] = se ? w[i] + pe[i] + se[i] : w[i] + pe[i];
                       layernorm_row(sum, y + t * h, h, eps, gamma, false, beta, false, nullptr, nullptr);
                     }
                   });
    if (ctx.outputs.size() > 1 && ctx.outputs[1]) {
      int32_t* mi = ctx.output(1).data_as<int32_t>();
      for (int64_t b = 0; b < batch; ++b) {
        int32_t n = 0;
        if (ctx.has_input(kMask))
          for (int64_t s = 0; s < seq; ++s) n += int_at(ctx.input(kMask), b * seq + s) == 1;
        mi[b] = n;
      }
    }
  }

 private:
  void require_table(const CompileContext& ctx, int i) const {
    if (!quant_) ctx.require_dtype(static_cast<size_t>(i), {DType::f32});
  }
  const Tensor& table(const RunContext& ctx, int i) const {
    return quant_ ? deq_[static_cast<size_t>(i - kWord)] : ctx.input(static_cast<size_t>(i));
  }

  /// (q - zero_point) * scale of every constant table, once (compile runs again per input shape). The
  /// dequantized tables have the inputs' shapes, which compile() checks as for the float op.
  void dequantize_tables(const CompileContext& ctx) {
    for (int i = kWord; i <= kBeta; ++i) {
      if (i == kSegEmb && !ctx.has_input(kSegEmb)) continue;
      const size_t t = static_cast<size_t>(i), sc = t + kScaleOff, zp = t + kZpOff;
      ctx.require_dtype(t, {DType::u8, DType::i8});
      ctx.require_dtype(sc, {DType::f32});
      const InputDesc& q = ctx.input(t);
      if (!q.constant || !ctx.input(sc).constant || (ctx.has_input(zp) && !ctx.input(zp).constant))
        ctx.unsupported("quantized embedding tables, scales and zero points must be constants");
      if (shape_numel(ctx.input(sc).shape) != 1 ||
          (ctx.has_input(zp) && shape_numel(ctx.input(zp).shape) != 1))
        ctx.fail("table scales and zero points must be scalars");
      Tensor& out = deq_[t - kWord];
      if (out.numel() == q.constant->numel() && out.shape() == q.constant->shape()) continue;
      const float s = ctx.input(sc).constant->data_as<float>()[0];
      const int32_t z = ctx.has_input(zp) ? quant::int_at(*ctx.input(zp).constant, 0) : 0;
      out = Tensor(DType::f32, q.constant->shape());
      for (int64_t k = 0; k < out.numel(); ++k)
        out.data_as<float>()[k] = static_cast<float>(quant::int_at(*q.constant, k) - z) * s;
    }
  }

  bool quant_;
  std::array<Tensor, 5> deq_;
  int64_t hidden_ = 0;
  float eps_ = 1e-12f;
};

}  // namespace

void register_embed_layer_norm_ops(OpRegistry& r) {
  r.add(kMsDomain, "EmbedLayerNormalization", 1, kAnyOpset,
        [] { return std::make_unique<EmbedLayerNormOp>(false); });
  r.add(kMsDomain, "QEmbedLayerNormalization", 1, kAnyOpset,
        [] { return std::make_unique<EmbedLayerNormOp>(true); });
}

}  // namespace ortkit::ops
