// BERT (BertModel) and RoBERTa (RobertaModel) as Hugging Face transformers exports them with
// torch.onnx.export(opset_version=14, do_constant_folding=True, dynamic_axes batch/sequence).
// Only last_hidden_state is an output (the pooler is left out).
#include <cmath>
#include <string>

#include "zoo/builder.h"
#include "zoo/families.h"
#include "zoo/nn.h"

namespace ortkit::zoo {
namespace {

using I = std::vector<int64_t>;
constexpr float kStd = 0.02f;  // HF initializer_range

// BertLayer: self-attention, add & norm, intermediate (GELU), output, add & norm.
std::string encoder_layer(GraphBuilder& b, const TransformerConfig& c, int64_t i, const std::string& x,
                          const std::string& mask, const std::string& root) {
  const std::string scope = "layer." + std::to_string(i);
  const std::string p = root + "encoder.layer." + std::to_string(i);
  const int64_t d = c.hidden / c.heads;
  b.push(scope);
  b.push("attention");
  b.push("self");
  const auto q = nn::linear(b, x, "query", p + ".attention.self.query", c.hidden, c.hidden, kStd);
  const auto k = nn::linear(b, x, "key", p + ".attention.self.key", c.hidden, c.hidden, kStd);
  const auto v = nn::linear(b, x, "value", p + ".attention.self.value", c.hidden, c.hidden, kStd);
  const auto kt = nn::split_heads(b, k, c.heads, d, /*key_transposed=*/true);
  const auto vh = nn::split_heads(b, v, c.heads, d, false);
  const auto qh = nn::split_heads(b, q, c.heads, d, false);
  const auto scores = b.node("MatMul", {qh, kt});
  const auto scaled = b.node("Div", {scores, b.const_f(std::sqrt(static_cast<float>(d)))});
  const auto masked = b.node("Add", {scaled, mask});
  const auto probs = b.node("Softmax", {masked}, {{"axis", int64_t{-1}}});
  const auto ctx = b.node("MatMul", {probs, vh});
  const auto merged = nn::merge_heads(b, ctx, c.hidden);
  b.pop();
  b.push("output");
  const auto dense = nn::linear(b, merged, "dense", p + ".attention.output.dense", c.hidden, c.hidden, kStd);
  const auto res = b.node("Add", {dense, x});
  const auto attn_out =
      nn::layer_norm(b, res, "LayerNorm", p + ".attention.output.LayerNorm", c.hidden, c.eps);
  b.pop();
  b.pop();
  b.push("intermediate");
  const auto inter = nn::linear(b, attn_out, "dense", p + ".intermediate.dense", c.hidden, c.ffn, kStd);
  b.push("intermediate_act_fn");
  const auto act = nn::gelu_erf(b, inter);
  b.pop();
  b.pop();
  b.push("output");
  const auto out = nn::linear(b, act, "dense", p + ".output.dense", c.ffn, c.hidden, kStd);
  const auto res2 = b.node("Add", {out, attn_out});
  const auto y = nn::layer_norm(b, res2, "LayerNorm", p + ".output.LayerNorm", c.hidden, c.eps);
  b.pop();
  b.pop();
  return y;
}

std::string encoder(GraphBuilder& b, const TransformerConfig& c, std::string x, const std::string& mask,
                    const std::string& root) {
  b.push("encoder");
  for (int64_t i = 0; i < c.layers; ++i) x = encoder_layer(b, c, i, x, mask, root);
  b.pop();
  return x;
}

void finish(GraphBuilder& b, const TransformerConfig& c, const std::string& family, const std::string& y) {
  b.output(y, "last_hidden_state", onnx::TensorProto::FLOAT, {"batch", "sequence", c.hidden});
  b.metadata("ortkit.zoo.family", family);
  b.metadata("ortkit.zoo.vocab_size", std::to_string(c.vocab));
  b.metadata("ortkit.zoo.max_sequence", std::to_string(c.max_positions - (family == "roberta" ? 2 : 0)));
}

}  // namespace

onnx::ModelProto build_bert(const TransformerConfig& c) {
  GraphBuilder b("main_graph", zoo_seed(c.name));
  const auto ids = b.input("input_ids", onnx::TensorProto::INT64, {"batch", "sequence"});
  const auto mask_in = b.input("attention_mask", onnx::TensorProto::INT64, {"batch", "sequence"});
  const auto types = b.input("token_type_ids", onnx::TensorProto::INT64, {"batch", "sequence"});
  const auto mask = nn::extended_mask(b, mask_in);

  b.push("embeddings");
  const auto word_w = b.init_normal("embeddings.word_embeddings.weight", {c.vocab, c.hidden}, kStd);
  const auto pos_w =
      b.init_normal("embeddings.position_embeddings.weight", {c.max_positions, c.hidden}, kStd);
  const auto type_w =
      b.init_normal("embeddings.token_type_embeddings.weight", {c.type_vocab, c.hidden}, kStd);
  I pos(static_cast<size_t>(c.max_positions));
  for (int64_t i = 0; i < c.max_positions; ++i) pos[static_cast<size_t>(i)] = i;
  const auto pos_buf = b.init_i64("embeddings.position_ids", {1, c.max_positions}, pos);
  // position_ids = self.position_ids[:, 0 : seq_length]
  const auto seq = nn::unsqueeze0(b, nn::size_of(b, ids, 1));
  const auto pos_ids =
      b.node("Slice", {pos_buf, b.const_i64s({0}), seq, b.const_i64s({1}), b.const_i64s({1})});
  b.push("word_embeddings");
  const auto we = b.node("Gather", {word_w, ids});
  b.pop();
  b.push("token_type_embeddings");
  const auto te = b.node("Gather", {type_w, types});
  b.pop();
  const auto e1 = b.node("Add", {we, te});
  b.push("position_embeddings");
  const auto pe = b.node("Gather", {pos_w, pos_ids});
  b.pop();
  const auto e2 = b.node("Add", {e1, pe});
  const auto emb = nn::layer_norm(b, e2, "LayerNorm", "embeddings.LayerNorm", c.hidden, c.eps);
  b.pop();

  finish(b, c, "bert", encoder(b, c, emb, mask, ""));
  return std::move(b.model());
}

onnx::ModelProto build_roberta(const TransformerConfig& c) {
  constexpr int64_t kPad = 1;  // RoBERTa's padding_idx; positions start at padding_idx + 1
  GraphBuilder b("main_graph", zoo_seed(c.name));
  const auto ids = b.input("input_ids", onnx::TensorProto::INT64, {"batch", "sequence"});
  const auto mask_in = b.input("attention_mask", onnx::TensorProto::INT64, {"batch", "sequence"});
  const auto mask = nn::extended_mask(b, mask_in);

  b.push("embeddings");
  const auto word_w = b.init_normal("embeddings.word_embeddings.weight", {c.vocab, c.hidden}, kStd);
  const auto pos_w =
      b.init_normal("embeddings.position_embeddings.weight", {c.max_positions, c.hidden}, kStd);
  const auto type_w =
      b.init_normal("embeddings.token_type_embeddings.weight", {c.type_vocab, c.hidden}, kStd);
  const auto type_buf = b.init_i64("embeddings.token_type_ids", {1, c.max_positions},
                                   I(static_cast<size_t>(c.max_positions), 0));
  // create_position_ids_from_input_ids: cumsum(ids != pad) * (ids != pad) + pad
  const auto eq = b.node("Equal", {ids, b.const_i64(kPad)});
  const auto ne = b.node("Not", {eq});
  const auto m32 = b.node("Cast", {ne}, {{"to", int64_t{onnx::TensorProto::INT32}}});
  const auto cs = b.node("CumSum", {m32, b.const_i64(1)});  // type_as(mask) is a no-op: no Cast
  const auto inc = b.node("Mul", {cs, m32});
  const auto inc64 = b.node("Cast", {inc}, {{"to", int64_t{onnx::TensorProto::INT64}}});
  const auto pos_ids = b.node("Add", {inc64, b.const_i64(kPad)});
  // buffered_token_type_ids[:, :seq].expand(batch, seq)
  const auto seq = nn::size_of(b, ids, 1);
  const auto tt = b.node(
      "Slice", {type_buf, b.const_i64s({0}), nn::unsqueeze0(b, seq), b.const_i64s({1}), b.const_i64s({1})});
  // expand(batch, seq) as torch traces it: sizes of -1 keep the input's size (Where over a mask).
  const auto s0 = nn::unsqueeze0(b, nn::size_of(b, ids, 0));
  const auto bs = b.node("Concat", {s0, nn::unsqueeze0(b, seq)}, {{"axis", int64_t{0}}});
  const auto sizes = b.node("Reshape", {bs, b.const_i64s({-1})});
  const auto ones =
      b.node("ConstantOfShape", {b.node("Shape", {sizes})}, {{"value", nn::scalar_tensor_i64(1)}});
  const auto neg = b.node("Mul", {ones, b.const_i64(-1)});
  const auto keep = b.node("Equal", {sizes, neg});
  const auto target = b.node("Where", {keep, ones, sizes});
  const auto types = b.node("Expand", {tt, target});
  b.push("word_embeddings");
  const auto we = b.node("Gather", {word_w, ids});
  b.pop();
  b.push("token_type_embeddings");
  const auto te = b.node("Gather", {type_w, types});
  b.pop();
  const auto e1 = b.node("Add", {we, te});
  b.push("position_embeddings");
  const auto pe = b.node("Gather", {pos_w, pos_ids});
  b.pop();
  const auto e2 = b.node("Add", {e1, pe});
  const auto emb = nn::layer_norm(b, e2, "LayerNorm", "embeddings.LayerNorm", c.hidden, c.eps);
  b.pop();

  finish(b, c, "roberta", encoder(b, c, emb, mask, ""));
  return std::move(b.model());
}

}  // namespace ortkit::zoo
