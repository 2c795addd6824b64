// DistilBERT (DistilBertModel) as Hugging Face exports it with torch.onnx.export at opset 14:
// positions from torch.arange (Range), q scaled before the scores MatMul, and the mask applied by
// masked_fill (Equal -> Reshape -> Expand -> Where) rather than an additive bias.
#include <cmath>
#include <string>

#include "zoo/builder.h"
#include "zoo/families.h"
#include "zoo/nn.h"

namespace ortkit::zoo {
namespace {

using I = std::vector<int64_t>;
constexpr float kStd = 0.02f;

// shape(x) = x.view(bs, -1, n_heads, dim_per_head).transpose(1, 2); torch unsqueezes bs per view.
std::string heads(GraphBuilder& b, const std::string& x, const std::string& bs0, const TransformerConfig& c,
                  bool key_transposed) {
  const auto bs = nn::unsqueeze0(b, bs0);
  const auto shape =
      b.node("Concat", {bs, b.const_i64s({-1}), b.const_i64s({c.heads}), b.const_i64s({c.hidden / c.heads})},
             {{"axis", int64_t{0}}});
  const auto r = b.node("Reshape", {x, shape});
  return b.node("Transpose", {r}, {{"perm", key_transposed ? I{0, 2, 3, 1} : I{0, 2, 1, 3}}});
}

// `is_pad` is (mask == 0); torch's export computes it once (in layer 0) and shares it.
std::string block(GraphBuilder& b, const TransformerConfig& c, int64_t i, const std::string& x,
                  const std::string& mask_in, std::string& is_pad) {
  const std::string p = "transformer.layer." + std::to_string(i);
  const int64_t d = c.hidden / c.heads;
  b.push("layer." + std::to_string(i));
  b.push("attention");
  const auto bs = nn::size_of(b, x, 0);
  const auto klen = nn::size_of(b, x, 1);
  const auto q = nn::linear(b, x, "q_lin", p + ".attention.q_lin", c.hidden, c.hidden, kStd);
  const auto k = nn::linear(b, x, "k_lin", p + ".attention.k_lin", c.hidden, c.hidden, kStd);
  const auto v = nn::linear(b, x, "v_lin", p + ".attention.v_lin", c.hidden, c.hidden, kStd);
  const auto qh = heads(b, q, bs, c, false);
  const auto kt = heads(b, k, bs, c, true);
  const auto vh = heads(b, v, bs, c, false);
  const auto qs = b.node("Div", {qh, b.const_f(std::sqrt(static_cast<float>(d)))});
  const auto scores = b.node("MatMul", {qs, kt});
  // mask = (mask == 0).view(bs, 1, 1, k_length).expand_as(scores)
  if (is_pad.empty()) is_pad = b.node("Equal", {mask_in, b.const_i64(0)});
  const auto mshape =
      b.node("Concat", {nn::unsqueeze0(b, bs), b.const_i64s({1}), b.const_i64s({1}), nn::unsqueeze0(b, klen)},
             {{"axis", int64_t{0}}});
  const auto mr = b.node("Reshape", {is_pad, mshape});
  const auto me = b.node("Expand", {mr, b.node("Shape", {scores})});
  const auto mb = b.node("Cast", {me}, {{"to", int64_t{onnx::TensorProto::BOOL}}});
  const auto masked = b.node("Where", {mb, b.const_f(nn::kFloatMin), scores});
  const auto probs = b.node("Softmax", {masked}, {{"axis", int64_t{-1}}});
  const auto ctx = b.node("MatMul", {probs, vh});
  // unshape: transpose(1, 2).contiguous().view(bs, -1, n_heads * dim_per_head)
  const auto ct = b.node("Transpose", {ctx}, {{"perm", I{0, 2, 1, 3}}});
  const auto ushape = b.node("Concat", {nn::unsqueeze0(b, bs), b.const_i64s({-1}), b.const_i64s({c.hidden})},
                             {{"axis", int64_t{0}}});
  const auto merged = b.node("Reshape", {ct, ushape});
  const auto out = nn::linear(b, merged, "out_lin", p + ".attention.out_lin", c.hidden, c.hidden, kStd);
  b.pop();
  const auto res = b.node("Add", {out, x});
  const auto sa = nn::layer_norm(b, res, "sa_layer_norm", p + ".sa_layer_norm", c.hidden, c.eps);
  b.push("ffn");
  const auto h = nn::linear(b, sa, "lin1", p + ".ffn.lin1", c.hidden, c.ffn, kStd);
  b.push("activation");
  const auto g = nn::gelu_erf(b, h);
  b.pop();
  const auto f = nn::linear(b, g, "lin2", p + ".ffn.lin2", c.ffn, c.hidden, kStd);
  b.pop();
  const auto res2 = b.node("Add", {f, sa});
  const auto y = nn::layer_norm(b, res2, "output_layer_norm", p + ".output_layer_norm", c.hidden, c.eps);
  b.pop();
  return y;
}

}  // namespace

onnx::ModelProto build_distilbert(const TransformerConfig& c) {
  GraphBuilder b("main_graph", zoo_seed(c.name));
  const auto ids = b.input("input_ids", onnx::TensorProto::INT64, {"batch", "sequence"});
  const auto mask_in = b.input("attention_mask", onnx::TensorProto::INT64, {"batch", "sequence"});

  b.push("embeddings");
  const auto word_w = b.init_normal("embeddings.word_embeddings.weight", {c.vocab, c.hidden}, kStd);
  const auto pos_w =
      b.init_normal("embeddings.position_embeddings.weight", {c.max_positions, c.hidden}, kStd);
  // position_ids = torch.arange(seq_length).unsqueeze(0).expand_as(input_ids)
  const auto seq = nn::size_of(b, ids, 1);
  const auto seq64 = b.node("Cast", {seq}, {{"to", int64_t{onnx::TensorProto::INT64}}});
  const auto range = b.node("Range", {b.const_i64(0), seq64, b.const_i64(1)});
  const auto pos_u = nn::unsqueeze0(b, range);
  const auto pos_ids = b.node("Expand", {pos_u, b.node("Shape", {ids})});
  b.push("word_embeddings");
  const auto we = b.node("Gather", {word_w, ids});
  b.pop();
  b.push("position_embeddings");
  const auto pe = b.node("Gather", {pos_w, pos_ids});
  b.pop();
  const auto e = b.node("Add", {we, pe});
  auto x = nn::layer_norm(b, e, "LayerNorm", "embeddings.LayerNorm", c.hidden, c.eps);
  b.pop();

  b.push("transformer");
  std::string is_pad;
  for (int64_t i = 0; i < c.layers; ++i) x = block(b, c, i, x, mask_in, is_pad);
  b.pop();
  b.output(x, "last_hidden_state", onnx::TensorProto::FLOAT, {"batch", "sequence", c.hidden});
  b.metadata("ortkit.zoo.family", "distilbert");
  b.metadata("ortkit.zoo.vocab_size", std::to_string(c.vocab));
  b.metadata("ortkit.zoo.max_sequence", std::to_string(c.max_positions));
  return std::move(b.model());
}

}  // namespace ortkit::zoo
