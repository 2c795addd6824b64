// GPT-2 (GPT2Model, use_cache=False) as Hugging Face exports it with torch.onnx.export at opset 14.
// Conv1D layers are addmm, which torch exports as Reshape -> Gemm -> Reshape; the causal mask is a
// Slice of the tril "bias" buffer feeding Where; the padding mask is the additive (1 - m) * min form.
// The output is last_hidden_state (after ln_f), not logits: the LM head would only add one MatMul
// with the tied embedding and a 50257-wide output that dominates nothing but memory.
#include <cmath>
#include <string>

#include "zoo/builder.h"
#include "zoo/families.h"
#include "zoo/nn.h"

namespace ortkit::zoo {
namespace {

using I = std::vector<int64_t>;
constexpr float kStd = 0.02f;

std::string block(GraphBuilder& b, const TransformerConfig& c, int64_t i, const std::string& x,
                  const std::string& mask, const std::string& tril) {
  const std::string p = "h." + std::to_string(i);
  const int64_t d = c.hidden / c.heads;
  // GPT-2 scales residual projections by 1/sqrt(2 * n_layer) at init.
  const float proj_std = kStd / std::sqrt(2.0f * static_cast<float>(c.layers));
  b.push(p);
  const auto ln1 = nn::layer_norm(b, x, "ln_1", p + ".ln_1", c.hidden, c.eps);
  b.push("attn");
  const auto qkv = nn::conv1d(b, ln1, "c_attn", p + ".attn.c_attn", c.hidden, 3 * c.hidden, kStd);
  const auto parts =
      b.node_n("Split", {qkv, b.const_i64s({c.hidden, c.hidden, c.hidden})}, 3, {{"axis", int64_t{2}}});
  const auto qh = nn::split_heads(b, parts[0], c.heads, d, false);
  // torch's peephole turns permute(0,2,1,3) + transpose(-1,-2) into one Transpose(0,2,3,1) but keeps
  // the permuted key for key.size(-2).
  const auto kv = nn::head_view(b, parts[1], c.heads, d);
  const auto kt_src = b.node("Transpose", {kv}, {{"perm", I{0, 2, 1, 3}}});
  const auto kt = b.node("Transpose", {kv}, {{"perm", I{0, 2, 3, 1}}});
  const auto vh = nn::split_heads(b, parts[2], c.heads, d, false);
  const auto w = b.node("MatMul", {qh, kt});
  // attn_weights / torch.full([], value.size(-1) ** 0.5): computed at run time from the shape.
  const auto vd = b.node("Cast", {nn::size_from_end(b, vh, 1)}, {{"to", int64_t{onnx::TensorProto::FLOAT}}});
  const auto root = b.node("Pow", {vd, b.const_f(0.5f)});
  const auto zero = b.node("ConstantOfShape", {b.const_i64s({})}, {{"value", nn::scalar_tensor(0.0f)}});
  const auto scale = b.node("Add", {zero, root});
  const auto ws = b.node("Div", {w, scale});
  // causal_mask = self.bias[:, :, key_length - query_length : key_length, :key_length]
  const auto qlen = nn::size_from_end(b, qh, 2);
  const auto klen = nn::size_from_end(b, kt_src, 2);
  const auto start = nn::unsqueeze0(b, b.node("Sub", {klen, qlen}));
  const auto end = nn::unsqueeze0(b, klen);
  const auto rows = b.node("Slice", {tril, start, end, b.const_i64s({2}), b.const_i64s({1})});
  const auto causal = b.node("Slice", {rows, b.const_i64s({0}), end, b.const_i64s({3}), b.const_i64s({1})});
  const auto wc = b.node("Where", {causal, ws, b.const_f(nn::kFloatMin)});
  const auto wm = b.node("Add", {wc, mask});
  const auto probs = b.node("Softmax", {wm}, {{"axis", int64_t{-1}}});
  const auto ctx = b.node("MatMul", {probs, vh});
  const auto merged = nn::merge_heads(b, ctx, c.hidden);
  const auto proj = nn::conv1d(b, merged, "c_proj", p + ".attn.c_proj", c.hidden, c.hidden, proj_std);
  b.pop();
  const auto r1 = b.node("Add", {proj, x});
  const auto ln2 = nn::layer_norm(b, r1, "ln_2", p + ".ln_2", c.hidden, c.eps);
  b.push("mlp");
  const auto fc = nn::conv1d(b, ln2, "c_fc", p + ".mlp.c_fc", c.hidden, c.ffn, kStd);
  b.push("act");
  const auto g = nn::gelu_tanh(b, fc);
  b.pop();
  const auto f = nn::conv1d(b, g, "c_proj", p + ".mlp.c_proj", c.ffn, c.hidden, proj_std);
  b.pop();
  const auto y = b.node("Add", {r1, f});
  b.pop();
  return y;
}

}  // namespace

onnx::ModelProto build_gpt2(const TransformerConfig& c) {
  GraphBuilder b("main_graph", zoo_seed(c.name));
  const auto ids_in = b.input("input_ids", onnx::TensorProto::INT64, {"batch", "sequence"});
  const auto mask_in = b.input("attention_mask", onnx::TensorProto::INT64, {"batch", "sequence"});

  const auto wte = b.init_normal("wte.weight", {c.vocab, c.hidden}, kStd);
  const auto wpe = b.init_normal("wpe.weight", {c.max_positions, c.hidden}, 0.01f);
  // The tril buffer every attention layer slices (torch keeps one per layer; one shared copy here
  // computes the same and keeps gpt2.onnx 11 MB smaller).
  const auto n = static_cast<size_t>(c.max_positions);
  std::vector<uint8_t> lower(n * n, 0);
  for (size_t r = 0; r < n; ++r)
    for (size_t col = 0; col <= r; ++col) lower[r * n + col] = 1;
  const auto tril = b.init_bool("h.0.attn.bias", {1, 1, c.max_positions, c.max_positions}, lower);
  // torch 1.13 deduplicates the identical per-layer buffers into Identity nodes of the first.
  std::vector<std::string> trils = {tril};
  for (int64_t i = 1; i < c.layers; ++i) {
    auto* n = b.graph().add_node();
    n->set_name("Identity_" + std::to_string(i - 1));
    n->set_op_type("Identity");
    n->add_input(tril);
    n->add_output("h." + std::to_string(i) + ".attn.bias");
    trils.push_back(n->output(0));
  }

  // input_ids = input_ids.view(-1, input_shape[-1])
  const auto bs = nn::size_of(b, ids_in, 0);
  const auto seq = nn::size_of(b, ids_in, 1);
  const auto seq_u = nn::unsqueeze0(b, seq);
  const auto ids =
      b.node("Reshape", {ids_in, b.node("Concat", {b.const_i64s({-1}), seq_u}, {{"axis", int64_t{0}}})});
  // position_ids = torch.arange(0, seq).unsqueeze(0)
  const auto seq64 = b.node("Cast", {seq}, {{"to", int64_t{onnx::TensorProto::INT64}}});
  const auto range = b.node("Range", {b.const_i64(0), seq64, b.const_i64(1)});
  const auto pos_ids = nn::unsqueeze0(b, range);
  // attention_mask = attention_mask.view(batch, -1)[:, None, None, :] -> (1 - m) * min
  const auto bs_u = nn::unsqueeze0(b, bs);
  const auto m2 =
      b.node("Reshape", {mask_in, b.node("Concat", {bs_u, b.const_i64s({-1})}, {{"axis", int64_t{0}}})});
  const auto mask = nn::extended_mask(b, m2);

  b.push("wte");
  const auto te = b.node("Gather", {wte, ids});
  b.pop();
  b.push("wpe");
  const auto pe = b.node("Gather", {wpe, pos_ids});
  b.pop();
  auto x = b.node("Add", {te, pe});
  for (int64_t i = 0; i < c.layers; ++i) x = block(b, c, i, x, mask, trils[static_cast<size_t>(i)]);
  const auto lf = nn::layer_norm(b, x, "ln_f", "ln_f", c.hidden, c.eps);
  // hidden_states.view(input_shape + (hidden_states.size(-1),))
  const auto out_shape =
      b.node("Concat",
             {nn::unsqueeze0(b, bs), nn::unsqueeze0(b, seq), nn::unsqueeze0(b, nn::size_from_end(b, lf, 1))},
             {{"axis", int64_t{0}}});
  const auto y = b.node("Reshape", {lf, out_shape});
  b.output(y, "last_hidden_state", onnx::TensorProto::FLOAT, {"batch", "sequence", c.hidden});
  b.metadata("ortkit.zoo.family", "gpt2");
  b.metadata("ortkit.zoo.vocab_size", std::to_string(c.vocab));
  b.metadata("ortkit.zoo.max_sequence", std::to_string(c.max_positions));
  return std::move(b.model());
}

}  // namespace ortkit::zoo
