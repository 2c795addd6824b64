// Layers as torch.onnx.export (opset 14) spells them for Hugging Face and torchvision modules.
// Each helper pushes the module's scope so node names match a real export, e.g.
// "/encoder/layer.0/attention/output/LayerNorm/ReduceMean".
#pragma once
#include <string>

#include "zoo/builder.h"

namespace ortkit::zoo::nn {

/// nn.LayerNorm at opset 14: ReduceMean, Sub, Pow, ReduceMean, Add(eps), Sqrt, Div, Mul, Add.
std::string layer_norm(GraphBuilder& b, const std::string& x, const std::string& scope,
                       const std::string& prefix, int64_t hidden, float eps);
/// nn.Linear on a 3-D input: MatMul with the transposed weight ("onnx::MatMul_<n>"), then Add(bias, y).
std::string linear(GraphBuilder& b, const std::string& x, const std::string& scope, const std::string& prefix,
                   int64_t in, int64_t out, float stddev);
/// HF Conv1D (GPT-2): view(-1, in) -> addmm (Gemm) -> view(size()[:-1] + (out,)).
std::string conv1d(GraphBuilder& b, const std::string& x, const std::string& scope, const std::string& prefix,
                   int64_t in, int64_t out, float stddev);
/// F.gelu (erf form): Div(sqrt 2), Erf, Add 1, Mul x, Mul 0.5.
std::string gelu_erf(GraphBuilder& b, const std::string& x);
/// gelu_new (tanh form, GPT-2): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
std::string gelu_tanh(GraphBuilder& b, const std::string& x);
/// x.size(i) as a 0-d int64 (Shape -> Gather).
std::string size_of(GraphBuilder& b, const std::string& x, int64_t i);
/// x.size(-k) as torch traces a negative index: Shape -> Slice([-k], [-k+1 or INT64_MAX]) -> Squeeze.
std::string size_from_end(GraphBuilder& b, const std::string& x, int64_t k);
/// Unsqueeze(v, axes=[0]) to make a 1-element shape part for Concat.
std::string unsqueeze0(GraphBuilder& b, const std::string& v);
/// HF get_extended_attention_mask: mask[:, None, None, :] -> Cast -> (1 - m) * finfo(float).min.
std::string extended_mask(GraphBuilder& b, const std::string& mask);
/// BERT transpose_for_scores: view(size()[:-1] + (heads, d)) -> permute(0, 2, 1, 3) (or (0, 2, 3, 1)
/// when `key_transposed`, which is what torch's peephole pass makes of permute + transpose(-1, -2)).
std::string split_heads(GraphBuilder& b, const std::string& x, int64_t heads, int64_t head_dim,
                        bool key_transposed);
/// Just the view(size()[:-1] + (heads, d)) part of split_heads.
std::string head_view(GraphBuilder& b, const std::string& x, int64_t heads, int64_t head_dim);
/// A 1-element float tensor attribute value (ConstantOfShape's "value").
onnx::TensorProto scalar_tensor(float v);
/// A 1-element int64 tensor attribute value.
onnx::TensorProto scalar_tensor_i64(int64_t v);
/// permute(0, 2, 1, 3).contiguous().view(size()[:-2] + (hidden,)).
std::string merge_heads(GraphBuilder& b, const std::string& x, int64_t hidden);

/// torchvision Conv2d(bias=False) + BatchNorm2d in eval mode. Folded (what do_constant_folding makes
/// of it): one Conv with weight "onnx::Conv_<n>" and a bias. Explicit: Conv + BatchNormalization with
/// state_dict names. Both compute the same function from the same seeded parameters.
struct ConvSpec {
  std::string conv;  ///< module path of the conv, e.g. "layer1.0.conv1"
  std::string bn;    ///< module path of the batch norm, e.g. "layer1.0.bn1"
  int64_t in = 0, out = 0, kernel = 1, stride = 1, pad = 0, group = 1;
};
std::string conv_bn(GraphBuilder& b, const std::string& x, const ConvSpec& s, bool explicit_bn);
/// torch.nn.Linear on a 2-D input: Gemm(x, W[out, in], bias, transB=1).
std::string gemm_linear(GraphBuilder& b, const std::string& x, const std::string& prefix, int64_t in,
                        int64_t out);

constexpr float kFloatMin = -3.4028234663852886e+38f;  // torch.finfo(torch.float32).min

}  // namespace ortkit::zoo::nn
