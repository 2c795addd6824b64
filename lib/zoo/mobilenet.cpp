// torchvision MobileNetV2 as torch.onnx.export writes it at opset 14 in eval mode: Conv(+folded BN)
// with ReLU6 as Clip(x, 0, 6), inverted residuals (expand 1x1, depthwise 3x3, linear project 1x1),
// GlobalAveragePool, Flatten, Gemm (the classifier's Dropout disappears in eval mode).
#include <algorithm>
#include <string>

#include "zoo/builder.h"
#include "zoo/families.h"
#include "zoo/nn.h"

namespace ortkit::zoo {
namespace {

// torchvision's _make_divisible: round to a multiple of 8, never more than 10% below v.
int64_t make_divisible(double v, int64_t divisor = 8) {
  int64_t r = std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (static_cast<double>(r) < 0.9 * v) r += divisor;
  return r;
}

std::string relu6(GraphBuilder& b, const std::string& x, const std::string& scope) {
  b.push(scope);
  const auto y = b.node("Clip", {x, b.const_f(0.0f), b.const_f(6.0f)});
  b.pop();
  return y;
}

// Conv2dNormActivation: modules <p>.0 (conv), <p>.1 (bn), <p>.2 (ReLU6).
std::string conv_bn_relu6(GraphBuilder& b, const CnnConfig& c, const std::string& x, const std::string& p,
                          int64_t in, int64_t out, int64_t k, int64_t stride, int64_t group) {
  b.push(p);
  auto y = nn::conv_bn(b, x, {p + ".0", p + ".1", in, out, k, stride, (k - 1) / 2, group}, c.explicit_bn);
  y = relu6(b, y, p + ".2");
  b.pop();
  return y;
}

}  // namespace

onnx::ModelProto build_mobilenet_v2(const CnnConfig& c) {
  struct Stage {
    int64_t t, ch, n, s;
  };
  const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  GraphBuilder b("main_graph", zoo_seed(c.weights_of.empty() ? c.name : c.weights_of));
  auto x = b.input("input", onnx::TensorProto::FLOAT, {"batch", int64_t{3}, c.image, c.image});
  b.push("features");
  int64_t in = make_divisible(32 * c.width_mult);
  x = conv_bn_relu6(b, c, x, "features.0", 3, in, 3, 2, 1);
  int64_t idx = 1;
  for (size_t si = 0; si < std::size(stages); ++si) {
    const auto& st = stages[si];
    const int64_t out = make_divisible(static_cast<double>(st.ch) * c.width_mult);
    const int64_t n = c.blocks.size() == std::size(stages) ? c.blocks[si] : st.n;
    for (int64_t k = 0; k < n; ++k, ++idx) {
      const std::string f = "features." + std::to_string(idx);
      const int64_t stride = k == 0 ? st.s : 1;
      const int64_t hidden = in * st.t;
      b.push(f);
      b.push("conv");
      std::string y = x;
      int m = 0;
      if (st.t != 1) y = conv_bn_relu6(b, c, y, f + ".conv." + std::to_string(m++), in, hidden, 1, 1, 1);
      y = conv_bn_relu6(b, c, y, f + ".conv." + std::to_string(m++), hidden, hidden, 3, stride, hidden);
      const std::string pc = f + ".conv." + std::to_string(m);
      const std::string pb = f + ".conv." + std::to_string(m + 1);
      y = nn::conv_bn(b, y, {pc, pb, hidden, out, 1, 1, 0, 1}, c.explicit_bn);
      b.pop();
      if (stride == 1 && in == out) y = b.node("Add", {x, y});
      b.pop();
      x = y;
      in = out;
    }
  }
  const int64_t last = make_divisible(static_cast<double>(c.last_channel) * std::max(1.0, c.width_mult));
  x = conv_bn_relu6(b, c, x, "features." + std::to_string(idx), in, last, 1, 1, 1);
  b.pop();
  x = b.node("GlobalAveragePool", {x});
  x = b.node("Flatten", {x}, {{"axis", int64_t{1}}});
  b.push("classifier");
  x = nn::gemm_linear(b, x, "classifier.1", last, c.classes);
  b.pop();
  b.output(x, "output", onnx::TensorProto::FLOAT, {"batch", c.classes});
  b.metadata("ortkit.zoo.family", "mobilenet");
  return std::move(b.model());
}

}  // namespace ortkit::zoo
