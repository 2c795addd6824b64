// torchvision ResNet (Bottleneck, v1.5: stride on the 3x3) as torch.onnx.export writes it at opset
// 14 in eval mode: Conv(+folded BN) -> Relu, MaxPool, residual Add -> Relu, GlobalAveragePool,
// Flatten, Gemm. With explicit_bn the BatchNormalization nodes stay (the optimizer's folding test).
#include <string>

#include "zoo/builder.h"
#include "zoo/families.h"
#include "zoo/nn.h"

namespace ortkit::zoo {
namespace {

using I = std::vector<int64_t>;

std::string bottleneck(GraphBuilder& b, const CnnConfig& c, const std::string& x, const std::string& name,
                       int64_t in, int64_t planes, int64_t stride, bool downsample) {
  const int64_t out = planes * 4;
  b.push(name);
  auto y = nn::conv_bn(b, x, {name + ".conv1", name + ".bn1", in, planes, 1, 1, 0, 1}, c.explicit_bn);
  b.push("relu");
  y = b.node("Relu", {y});
  b.pop();
  y = nn::conv_bn(b, y, {name + ".conv2", name + ".bn2", planes, planes, 3, stride, 1, 1}, c.explicit_bn);
  b.push("relu");
  y = b.node("Relu", {y});
  b.pop();
  y = nn::conv_bn(b, y, {name + ".conv3", name + ".bn3", planes, out, 1, 1, 0, 1}, c.explicit_bn);
  std::string identity = x;
  if (downsample) {
    b.push("downsample");
    identity = nn::conv_bn(b, x, {name + ".downsample.0", name + ".downsample.1", in, out, 1, stride, 0, 1},
                           c.explicit_bn);
    b.pop();
  }
  y = b.node("Add", {y, identity});
  b.push("relu");
  y = b.node("Relu", {y});
  b.pop();
  b.pop();
  return y;
}

}  // namespace

onnx::ModelProto build_resnet(const CnnConfig& c) {
  GraphBuilder b("main_graph", zoo_seed(c.weights_of.empty() ? c.name : c.weights_of));
  auto x = b.input("input", onnx::TensorProto::FLOAT, {"batch", int64_t{3}, c.image, c.image});
  x = nn::conv_bn(b, x, {"conv1", "bn1", 3, c.width, 7, 2, 3, 1}, c.explicit_bn);
  b.push("relu");
  x = b.node("Relu", {x});
  b.pop();
  b.push("maxpool");
  x = b.node(
      "MaxPool", {x},
      {{"ceil_mode", int64_t{0}}, {"kernel_shape", I{3, 3}}, {"pads", I{1, 1, 1, 1}}, {"strides", I{2, 2}}});
  b.pop();
  int64_t in = c.width;
  for (size_t stage = 0; stage < c.blocks.size(); ++stage) {
    const std::string layer = "layer" + std::to_string(stage + 1);
    const int64_t planes = c.width << stage;
    b.push(layer);
    for (int64_t k = 0; k < c.blocks[stage]; ++k) {
      const int64_t stride = (k == 0 && stage > 0) ? 2 : 1;
      x = bottleneck(b, c, x, layer + "." + std::to_string(k), in, planes, stride, k == 0);
      in = planes * 4;
    }
    b.pop();
  }
  b.push("avgpool");
  x = b.node("GlobalAveragePool", {x});
  b.pop();
  x = b.node("Flatten", {x}, {{"axis", int64_t{1}}});
  x = nn::gemm_linear(b, x, "fc", in, c.classes);
  b.output(x, "output", onnx::TensorProto::FLOAT, {"batch", c.classes});
  b.metadata("ortkit.zoo.family", "resnet");
  return std::move(b.model());
}

}  // namespace ortkit::zoo
