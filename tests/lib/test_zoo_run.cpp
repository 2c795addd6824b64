// Every tiny zoo model through ortkit::Session. Enable (rename to .cpp) once the engine lane's
// Session is merged. Checks: ONNX Runtime's reference outputs (tests/data/zoo), output shapes at two
// input shapes, the folded and explicit-BatchNormalization ResNets agree, masked positions do not leak
// into the rest, GPT-2 is causal, and runs are repeatable.
#include <onnx/onnx_pb.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ortkit/session.h"
#include "ortkit/zoo.h"

namespace fs = std::filesystem;
using ortkit::DType;
using ortkit::NamedTensor;
using ortkit::Tensor;

namespace {

const char* const kTiny[] = {"bert-tiny",   "roberta-tiny",   "distilbert-tiny", "gpt2-tiny",
                             "resnet-tiny", "resnet-tiny-bn", "mobilenet-tiny"};

std::unique_ptr<ortkit::Session> open_zoo(const std::string& name) {
  return ortkit::Session::from_bytes(ortkit::zoo::build_bytes(name));
}

NamedTensor read_pb(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  onnx::TensorProto t;
  REQUIRE(t.ParseFromIstream(&in));
  ortkit::Shape shape(t.dims().begin(), t.dims().end());
  Tensor x(ortkit::dtype_from_onnx(t.data_type()), shape);
  REQUIRE(t.raw_data().size() == x.bytes());
  std::memcpy(x.data(), t.raw_data().data(), x.bytes());
  return {t.name(), std::move(x)};
}

// Text inputs (batch, seq) like the zoo_vs_ort script: ids in [2, 1000), mask with a padded last row.
std::vector<NamedTensor> text_inputs(const ortkit::Session& s, int64_t batch, int64_t seq) {
  std::vector<NamedTensor> v;
  for (const auto& in : s.inputs()) {
    Tensor t(DType::i64, {batch, seq});
    auto* p = t.data_as<int64_t>();
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t j = 0; j < seq; ++j) {
        int64_t& x = p[b * seq + j];
        if (in.name == "attention_mask")
          x = (b == batch - 1 && j >= seq - seq / 4) ? 0 : 1;
        else if (in.name == "token_type_ids")
          x = j >= seq / 2 ? 1 : 0;
        else
          x = 2 + (b * 131 + j * 17) % 997;
      }
    }
    v.push_back({in.name, std::move(t)});
  }
  return v;
}

// Another valid token id (ids stay in [2, 999), inside every tiny vocabulary).
int64_t other_id(int64_t id) {
  return 2 + (id - 2 + 5) % 997;
}

std::vector<NamedTensor> image_inputs(int64_t batch) {
  Tensor t(DType::f32, {batch, 3, 32, 32});
  auto* p = t.data_as<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = std::sin(0.37f * static_cast<float>(i));
  std::vector<NamedTensor> v;
  v.push_back({"input", std::move(t)});
  return v;
}

bool is_text(const std::string& name) {
  return name.find("net") == std::string::npos;
}

std::vector<NamedTensor> inputs_for(const std::string& name, const ortkit::Session& s, int64_t batch,
                                    int64_t seq) {
  return is_text(name) ? text_inputs(s, batch, seq) : image_inputs(batch);
}

void require_close(const Tensor& got, const Tensor& want, float rtol, float atol) {
  REQUIRE(got.shape() == want.shape());
  const float* g = got.data_as<float>();
  const float* w = want.data_as<float>();
  for (int64_t i = 0; i < got.numel(); ++i) {
    INFO("element " << i);
    REQUIRE(std::isfinite(g[i]));
    REQUIRE(std::fabs(g[i] - w[i]) <= atol + rtol * std::fabs(w[i]));
  }
}

}  // namespace

TEST_CASE("tiny zoo models match ONNX Runtime's reference outputs", "[zoo][engine]") {
  for (const char* name : kTiny) {
    INFO(name);
    const fs::path dir = fs::path(ORTKIT_TEST_DATA) / "zoo" / name / "test_data_set_0";
    REQUIRE(fs::is_directory(dir));
    auto s = open_zoo(name);
    std::vector<NamedTensor> ins;
    for (size_t k = 0; fs::exists(dir / ("input_" + std::to_string(k) + ".pb")); ++k)
      ins.push_back(read_pb(dir / ("input_" + std::to_string(k) + ".pb")));
    const NamedTensor want = read_pb(dir / "output_0.pb");
    const auto outs = s->run(ins);
    REQUIRE(outs.size() == 1);
    require_close(outs[0], want.tensor, 1e-4f, 1e-4f);
  }
}

TEST_CASE("tiny zoo models give the promised output shapes at two input shapes", "[zoo][engine]") {
  for (const char* name : kTiny) {
    INFO(name);
    auto s = open_zoo(name);
    for (auto [batch, seq] : {std::pair<int64_t, int64_t>{1, 7}, {3, 20}}) {
      const auto outs = s->run(inputs_for(name, *s, batch, seq));
      REQUIRE(outs.size() == 1);
      const ortkit::Shape want = is_text(name) ? ortkit::Shape{batch, seq, 64} : ortkit::Shape{batch, 10};
      CHECK(outs[0].shape() == want);
    }
  }
}

TEST_CASE("folded and explicit-BN resnet-tiny agree, runs repeat exactly", "[zoo][engine]") {
  auto a = open_zoo("resnet-tiny");
  auto b = open_zoo("resnet-tiny-bn");
  const Tensor ya = a->run(image_inputs(2))[0].clone();
  const Tensor yb = b->run(image_inputs(2))[0].clone();
  require_close(yb, ya, 1e-4f, 1e-5f);
  const Tensor ya2 = a->run(image_inputs(2))[0].clone();
  require_close(ya2, ya, 0.f, 0.f);
}

TEST_CASE("masked tokens do not change unmasked outputs, GPT-2 is causal", "[zoo][engine]") {
  constexpr int64_t kB = 2, kS = 12;
  for (const char* name : {"bert-tiny", "roberta-tiny", "distilbert-tiny", "gpt2-tiny"}) {
    INFO(name);
    auto s = open_zoo(name);
    auto in1 = text_inputs(*s, kB, kS);
    const Tensor y1 = s->run(in1)[0].clone();
    // Change the ids where the last row is masked (its last kS/4 positions).
    auto in2 = text_inputs(*s, kB, kS);
    for (auto& t : in2)
      if (t.name == "input_ids")
        for (int64_t j = kS - kS / 4; j < kS; ++j) {
          int64_t& id = t.tensor.data_as<int64_t>()[(kB - 1) * kS + j];
          id = other_id(id);
        }
    const Tensor y2 = s->run(in2)[0].clone();
    const float* a = y1.data_as<float>();
    const float* b = y2.data_as<float>();
    for (int64_t j = 0; j < kS - kS / 4; ++j)
      for (int64_t h = 0; h < 64; ++h) {
        const int64_t i = ((kB - 1) * kS + j) * 64 + h;
        REQUIRE(std::fabs(a[i] - b[i]) <= 1e-5f);
      }
  }
  // GPT-2: with a full mask, changing the last token leaves every earlier position unchanged.
  auto s = open_zoo("gpt2-tiny");
  auto in1 = text_inputs(*s, 1, kS);
  for (auto& t : in1)
    if (t.name == "attention_mask")
      for (int64_t j = 0; j < kS; ++j) t.tensor.data_as<int64_t>()[j] = 1;
  const Tensor y1 = s->run(in1)[0].clone();
  for (auto& t : in1)
    if (t.name == "input_ids")
      t.tensor.data_as<int64_t>()[kS - 1] = other_id(t.tensor.data_as<int64_t>()[kS - 1]);
  const Tensor y2 = s->run(in1)[0].clone();
  for (int64_t i = 0; i < (kS - 1) * 64; ++i)
    REQUIRE(std::fabs(y1.data_as<float>()[i] - y2.data_as<float>()[i]) <= 1e-5f);
  bool last_changed = false;
  for (int64_t i = (kS - 1) * 64; i < kS * 64; ++i)
    last_changed |= std::fabs(y1.data_as<float>()[i] - y2.data_as<float>()[i]) > 1e-4f;
  CHECK(last_changed);
}
