// One builder per model family. Each returns a complete ModelProto (opset 14) whose structure follows
// what torch.onnx.export produces for the Hugging Face / torchvision module; see docs/zoo.md.
#pragma once
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ortkit::zoo {

struct TransformerConfig {
  std::string name;
  int64_t layers = 12;
  int64_t hidden = 768;
  int64_t heads = 12;
  int64_t ffn = 3072;
  int64_t vocab = 30522;
  int64_t max_positions = 512;
  int64_t type_vocab = 2;
  float eps = 1e-12f;
};

struct CnnConfig {
  std::string name;
  int64_t image = 224;  ///< input height = width
  int64_t classes = 1000;
  int64_t width = 64;                          ///< ResNet stem channels / MobileNet first conv channels
  std::vector<int64_t> blocks = {3, 4, 6, 3};  ///< ResNet bottlenecks per stage
  double width_mult = 1.0;                     ///< MobileNetV2 width multiplier
  int64_t last_channel = 1280;                 ///< MobileNetV2 final 1x1 conv width
  bool explicit_bn = false;  ///< keep BatchNormalization nodes instead of folding them into Conv
  std::string weights_of;    ///< seed name (a "-bn" variant shares the weights of its folded twin)
};

onnx::ModelProto build_bert(const TransformerConfig& c);
onnx::ModelProto build_roberta(const TransformerConfig& c);
onnx::ModelProto build_distilbert(const TransformerConfig& c);
onnx::ModelProto build_gpt2(const TransformerConfig& c);
onnx::ModelProto build_resnet(const CnnConfig& c);
onnx::ModelProto build_mobilenet_v2(const CnnConfig& c);

/// Seed of a model's weights: the same name always gives the same weights.
uint64_t zoo_seed(const std::string& name);

}  // namespace ortkit::zoo
