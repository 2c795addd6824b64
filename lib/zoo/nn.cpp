#include "zoo/nn.h"

#include <cmath>
#include <cstdint>

namespace ortkit::zoo::nn {

using I = std::vector<int64_t>;

std::string layer_norm(GraphBuilder& b, const std::string& x, const std::string& scope,
                       const std::string& prefix, int64_t hidden, float eps) {
  b.push(scope);
  const auto w = b.init_normal(prefix + ".weight", {hidden}, 0.02f, 1.0f);
  const auto bias = b.init_normal(prefix + ".bias", {hidden}, 0.02f);
  const auto mean = b.node("ReduceMean", {x}, {{"axes", I{-1}}, {"keepdims", int64_t{1}}});
  const auto d = b.node("Sub", {x, mean});
  const auto sq = b.node("Pow", {d, b.const_f(2.0f)});
  const auto var = b.node("ReduceMean", {sq}, {{"axes", I{-1}}, {"keepdims", int64_t{1}}});
  const auto ve = b.node("Add", {var, b.const_f(eps)});
  const auto sd = b.node("Sqrt", {ve});
  const auto n = b.node("Div", {d, sd});
  const auto m = b.node("Mul", {n, w});
  const auto y = b.node("Add", {m, bias});
  b.pop();
  return y;
}

std::string linear(GraphBuilder& b, const std::string& x, const std::string& scope, const std::string& prefix,
                   int64_t in, int64_t out, float stddev) {
  b.push(scope);
  // torch stores Linear weights [out, in] and exports x @ W^T with W^T folded into a new initializer.
  const auto w = b.init_normal(b.anon_name("MatMul"), {in, out}, stddev);
  const auto bias = b.init_normal(prefix + ".bias", {out}, stddev);
  const auto mm = b.node("MatMul", {x, w});
  const auto y = b.node("Add", {bias, mm});
  b.pop();
  return y;
}

std::string conv1d(GraphBuilder& b, const std::string& x, const std::string& scope, const std::string& prefix,
                   int64_t in, int64_t out, float stddev) {
  b.push(scope);
  const auto w = b.init_normal(prefix + ".weight", {in, out}, stddev);  // Conv1D keeps [in, out]
  const auto bias = b.init_normal(prefix + ".bias", {out}, stddev);
  const auto d0 = size_of(b, x, 0);
  const auto d1 = size_of(b, x, 1);
  const auto last = unsqueeze0(b, size_from_end(b, x, 1));
  const auto x2 =
      b.node("Reshape", {x, b.node("Concat", {b.const_i64s({-1}), last}, {{"axis", int64_t{0}}})});
  const auto g = b.node("Gemm", {x2, w, bias}, {{"alpha", 1.0f}, {"beta", 1.0f}});
  const auto out_shape =
      b.node("Concat", {unsqueeze0(b, d0), unsqueeze0(b, d1), b.const_i64s({out})}, {{"axis", int64_t{0}}});
  const auto y = b.node("Reshape", {g, out_shape});
  b.pop();
  return y;
}

std::string gelu_erf(GraphBuilder& b, const std::string& x) {
  const auto d = b.node("Div", {x, b.const_f(1.4142135381698608f)});
  const auto e = b.node("Erf", {d});
  const auto a = b.node("Add", {e, b.const_f(1.0f)});
  const auto m = b.node("Mul", {x, a});
  return b.node("Mul", {m, b.const_f(0.5f)});
}

std::string gelu_tanh(GraphBuilder& b, const std::string& x) {
  const auto half = b.node("Mul", {b.const_f(0.5f), x});
  const auto cube = b.node("Pow", {x, b.const_f(3.0f)});
  const auto c = b.node("Mul", {b.const_f(0.044715f), cube});
  const auto s = b.node("Add", {x, c});
  const auto k = b.node("Mul", {b.const_f(0.7978845834732056f), s});
  const auto t = b.node("Tanh", {k});
  const auto one = b.node("Add", {b.const_f(1.0f), t});
  return b.node("Mul", {half, one});
}

std::string size_of(GraphBuilder& b, const std::string& x, int64_t i) {
  const auto shape = b.node("Shape", {x});
  return b.node("Gather", {shape, b.const_i64(i)}, {{"axis", int64_t{0}}});
}

std::string size_from_end(GraphBuilder& b, const std::string& x, int64_t k) {
  const auto shape = b.node("Shape", {x});
  const int64_t end = k == 1 ? INT64_MAX : 1 - k;
  const auto s = b.node("Slice", {shape, b.const_i64s({-k}), b.const_i64s({end}), b.const_i64s({0})});
  return b.node("Squeeze", {s, b.const_i64s({0})});
}

std::string unsqueeze0(GraphBuilder& b, const std::string& v) {
  return b.node("Unsqueeze", {v, b.const_i64s({0})});
}

std::string extended_mask(GraphBuilder& b, const std::string& mask) {
  const auto u1 = b.node("Unsqueeze", {mask, b.const_i64s({1})});
  const auto u2 = b.node("Unsqueeze", {u1, b.const_i64s({2})});
  const auto c = b.node("Cast", {u2}, {{"to", int64_t{onnx::TensorProto::FLOAT}}});
  const auto inv = b.node("Sub", {b.const_f(1.0f), c});
  return b.node("Mul", {inv, b.const_f(kFloatMin)});
}

std::string head_view(GraphBuilder& b, const std::string& x, int64_t heads, int64_t head_dim) {
  const auto s0 = unsqueeze0(b, size_of(b, x, 0));
  const auto s1 = unsqueeze0(b, size_of(b, x, 1));
  const auto shape =
      b.node("Concat", {s0, s1, b.const_i64s({heads}), b.const_i64s({head_dim})}, {{"axis", int64_t{0}}});
  return b.node("Reshape", {x, shape});
}

onnx::TensorProto scalar_tensor(float v) {
  onnx::TensorProto t;
  t.set_data_type(onnx::TensorProto::FLOAT);
  t.add_dims(1);
  t.mutable_raw_data()->assign(reinterpret_cast<const char*>(&v), sizeof v);
  return t;
}

onnx::TensorProto scalar_tensor_i64(int64_t v) {
  onnx::TensorProto t;
  t.set_data_type(onnx::TensorProto::INT64);
  t.add_dims(1);
  t.mutable_raw_data()->assign(reinterpret_cast<const char*>(&v), sizeof v);
  return t;
}

std::string split_heads(GraphBuilder& b, const std::string& x, int64_t heads, int64_t head_dim,
                        bool key_transposed) {
  const auto r = head_view(b, x, heads, head_dim);
  return b.node("Transpose", {r}, {{"perm", key_transposed ? I{0, 2, 3, 1} : I{0, 2, 1, 3}}});
}

std::string merge_heads(GraphBuilder& b, const std::string& x, int64_t hidden) {
  const auto t = b.node("Transpose", {x}, {{"perm", I{0, 2, 1, 3}}});
  const auto s0 = unsqueeze0(b, size_of(b, t, 0));
  const auto s1 = unsqueeze0(b, size_of(b, t, 1));
  const auto shape = b.node("Concat", {s0, s1, b.const_i64s({hidden})}, {{"axis", int64_t{0}}});
  return b.node("Reshape", {t, shape});
}

}  // namespace ortkit::zoo::nn

namespace ortkit::zoo::nn {

std::string conv_bn(GraphBuilder& b, const std::string& x, const ConvSpec& s, bool explicit_bn) {
  const int64_t in_per_group = s.in / s.group;
  const size_t per_out = static_cast<size_t>(in_per_group * s.kernel * s.kernel);
  const size_t n_out = static_cast<size_t>(s.out);
  // kaiming_normal_(mode="fan_out", nonlinearity="relu"), as torchvision initializes convs.
  const float he = std::sqrt(2.0f / static_cast<float>(s.out * s.kernel * s.kernel / s.group));
  std::vector<float> w(n_out * per_out), gamma(n_out), beta(n_out), mean(n_out), var(n_out);
  b.normal_values(s.conv + ".weight", w, he);
  // Running statistics of a trained net are not unit: make them vary so folding is not a no-op.
  b.normal_values(s.bn + ".weight", gamma, 0.1f, 1.0f);
  b.normal_values(s.bn + ".bias", beta, 0.05f);
  b.normal_values(s.bn + ".running_mean", mean, 0.05f);
  b.normal_values(s.bn + ".running_var", var, 0.1f, 1.0f);
  for (auto& v : var) v = std::fabs(v) + 0.05f;
  constexpr float kEps = 1e-5f;
  const std::vector<int64_t> wdims = {s.out, in_per_group, s.kernel, s.kernel};
  const std::vector<Attr> attrs = {{"dilations", I{1, 1}},
                                   {"group", s.group},
                                   {"kernel_shape", I{s.kernel, s.kernel}},
                                   {"pads", I{s.pad, s.pad, s.pad, s.pad}},
                                   {"strides", I{s.stride, s.stride}}};
  if (explicit_bn) {
    b.push(s.conv);
    const auto y = b.node("Conv", {x, b.init_f32(s.conv + ".weight", wdims, w)}, attrs);
    b.pop();
    b.push(s.bn);
    const auto z = b.node(
        "BatchNormalization",
        {y, b.init_f32(s.bn + ".weight", {s.out}, gamma), b.init_f32(s.bn + ".bias", {s.out}, beta),
         b.init_f32(s.bn + ".running_mean", {s.out}, mean), b.init_f32(s.bn + ".running_var", {s.out}, var)},
        {{"epsilon", kEps}, {"momentum", 0.9f}});
    b.pop();
    return z;
  }
  std::vector<float> bias(n_out);
  for (size_t o = 0; o < n_out; ++o) {
    const float scale = static_cast<float>(gamma[o] / std::sqrt(static_cast<double>(var[o]) + kEps));
    for (size_t i = 0; i < per_out; ++i) w[o * per_out + i] *= scale;
    bias[o] = beta[o] - mean[o] * scale;
  }
  b.push(s.conv);
  const auto wn = b.init_f32(b.anon_name("Conv"), wdims, w);
  const auto bn = b.init_f32(b.anon_name("Conv"), {s.out}, bias);
  const auto y = b.node("Conv", {x, wn, bn}, attrs);
  b.pop();
  return y;
}

std::string gemm_linear(GraphBuilder& b, const std::string& x, const std::string& prefix, int64_t in,
                        int64_t out) {
  // nn.Linear's default init: uniform(-1/sqrt(in), 1/sqrt(in)); a normal of the same variance here.
  const float sd = 1.0f / std::sqrt(3.0f * static_cast<float>(in));
  const auto w = b.init_normal(prefix + ".weight", {out, in}, sd);
  const auto bias = b.init_normal(prefix + ".bias", {out}, sd);
  b.push(prefix);
  const auto y = b.node("Gemm", {x, w, bias}, {{"alpha", 1.0f}, {"beta", 1.0f}, {"transB", int64_t{1}}});
  b.pop();
  return y;
}

}  // namespace ortkit::zoo::nn
