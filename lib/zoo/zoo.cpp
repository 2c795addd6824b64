// The zoo's registry, serialization and on-disk cache (see ortkit/zoo.h).
#include "ortkit/zoo.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>

#include "ortkit/error.h"
#include "zoo/builder.h"
#include "zoo/families.h"

namespace ortkit::zoo {
namespace fs = std::filesystem;

namespace {

// Bump when any builder's output changes: cached files carry it in their name, so a stale cache
// is never reused.
constexpr const char* kBuilderVersion = "v1";

struct Recipe {
  ZooEntry entry;
  std::function<onnx::ModelProto()> build;
};

TransformerConfig tcfg(const std::string& name, int64_t layers, int64_t hidden, int64_t heads, int64_t vocab,
                       int64_t max_pos, int64_t type_vocab, float eps) {
  TransformerConfig c;
  c.name = name;
  c.layers = layers;
  c.hidden = hidden;
  c.heads = heads;
  c.ffn = 4 * hidden;
  c.vocab = vocab;
  c.max_positions = max_pos;
  c.type_vocab = type_vocab;
  c.eps = eps;
  return c;
}

CnnConfig resnet_cfg(const std::string& name, bool tiny, bool bn) {
  CnnConfig c;
  c.name = name;
  c.explicit_bn = bn;
  c.weights_of = tiny ? "resnet-tiny" : "resnet50";
  if (tiny) {
    c.image = 32;
    c.classes = 10;
    c.width = 8;
    c.blocks = {1, 1, 1, 1};
  }
  return c;
}

CnnConfig mobilenet_cfg(const std::string& name, bool tiny, bool bn) {
  CnnConfig c;
  c.name = name;
  c.explicit_bn = bn;
  c.weights_of = tiny ? "mobilenet-tiny" : "mobilenet_v2";
  c.blocks = {};
  if (tiny) {
    c.image = 32;
    c.classes = 10;
    c.width_mult = 0.25;
    c.blocks = {1, 1, 1, 1, 1, 1, 1};
    c.last_channel = 64;
  }
  return c;
}

const std::vector<Recipe>& recipes() {
  static const std::vector<Recipe> r = [] {
    std::vector<Recipe> v;
    auto add = [&](const char* name, const char* family, const char* desc,
                   std::function<onnx::ModelProto()> f) {
      v.push_back({{name, family, desc}, std::move(f)});
    };
    add("bert-base", "bert", "bert-base-uncased: 12 layers, hidden 768, 12 heads, 110M params",
        [] { return build_bert(tcfg("bert-base", 12, 768, 12, 30522, 512, 2, 1e-12f)); });
    add("bert-large", "bert", "bert-large-uncased: 24 layers, hidden 1024, 16 heads, 335M params",
        [] { return build_bert(tcfg("bert-large", 24, 1024, 16, 30522, 512, 2, 1e-12f)); });
    add("roberta-base", "roberta", "roberta-base: 12 layers, hidden 768, 12 heads, 125M params",
        [] { return build_roberta(tcfg("roberta-base", 12, 768, 12, 50265, 514, 1, 1e-5f)); });
    add("distilbert-base", "distilbert",
        "distilbert-base-uncased: 6 layers, hidden 768, 12 heads, 66M params",
        [] { return build_distilbert(tcfg("distilbert-base", 6, 768, 12, 30522, 512, 2, 1e-12f)); });
    add("gpt2", "gpt2", "gpt2 (small): 12 layers, hidden 768, 12 heads, 124M params; last_hidden_state",
        [] { return build_gpt2(tcfg("gpt2", 12, 768, 12, 50257, 1024, 1, 1e-5f)); });
    add("resnet50", "resnet", "torchvision resnet50: 3x224x224 -> 1000, BN folded, 25.6M params",
        [] { return build_resnet(resnet_cfg("resnet50", false, false)); });
    add("resnet50-bn", "resnet", "resnet50 with explicit BatchNormalization nodes (same weights)",
        [] { return build_resnet(resnet_cfg("resnet50-bn", false, true)); });
    add("mobilenet_v2", "mobilenet", "torchvision mobilenet_v2: 3x224x224 -> 1000, BN folded, 3.5M params",
        [] { return build_mobilenet_v2(mobilenet_cfg("mobilenet_v2", false, false)); });
    add("bert-tiny", "bert", "test model: 2 layers, hidden 64, 2 heads, vocab 1000, max sequence 128",
        [] { return build_bert(tcfg("bert-tiny", 2, 64, 2, 1000, 128, 2, 1e-12f)); });
    add("roberta-tiny", "roberta", "test model: 2 layers, hidden 64, 2 heads, vocab 1000, max sequence 128",
        [] { return build_roberta(tcfg("roberta-tiny", 2, 64, 2, 1000, 130, 1, 1e-5f)); });
    add("distilbert-tiny", "distilbert",
        "test model: 2 layers, hidden 64, 2 heads, vocab 1000, max sequence 128",
        [] { return build_distilbert(tcfg("distilbert-tiny", 2, 64, 2, 1000, 128, 2, 1e-12f)); });
    add("gpt2-tiny", "gpt2", "test model: 2 layers, hidden 64, 2 heads, vocab 1000, max sequence 128",
        [] { return build_gpt2(tcfg("gpt2-tiny", 2, 64, 2, 1000, 128, 1, 1e-5f)); });
    add("resnet-tiny", "resnet", "test model: bottleneck ResNet, width 8, 1 block per stage, 3x32x32 -> 10",
        [] { return build_resnet(resnet_cfg("resnet-tiny", true, false)); });
    add("resnet-tiny-bn", "resnet", "resnet-tiny with explicit BatchNormalization nodes (same weights)",
        [] { return build_resnet(resnet_cfg("resnet-tiny-bn", true, true)); });
    add("mobilenet-tiny", "mobilenet", "test model: MobileNetV2 x0.25, 1 block per stage, 3x32x32 -> 10",
        [] { return build_mobilenet_v2(mobilenet_cfg("mobilenet-tiny", true, false)); });
    return v;
  }();
  return r;
}

const Recipe* find(const std::string& name) {
  for (const auto& r : recipes())
    if (r.entry.name == name) return &r;
  return nullptr;
}

std::string names_list() {
  std::string s;
  for (const auto& r : recipes()) s += (s.empty() ? "" : ", ") + r.entry.name;
  return s;
}

const Recipe& require(const std::string& name) {
  const Recipe* r = find(name);
  if (!r) throw Error("unknown zoo model '" + name + "' (zoo models: " + names_list() + ")", "zoo");
  return *r;
}

fs::path cache_path() {
  if (const char* d = std::getenv("ORTKIT_CACHE_DIR"); d && *d) return d;
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "ortkit" / "zoo";
  return fs::temp_directory_path() / "ortkit-zoo";
}

}  // namespace

std::string cache_dir() {
  return cache_path().string();
}

uint64_t zoo_seed(const std::string& name) {
  return hash_name(name, 0x6f72746b6974ull /* "ortkit" */);
}

const std::vector<ZooEntry>& list() {
  static const std::vector<ZooEntry> entries = [] {
    std::vector<ZooEntry> v;
    for (const auto& r : recipes()) v.push_back(r.entry);
    return v;
  }();
  return entries;
}

bool is_zoo_name(const std::string& s) {
  return find(s) != nullptr;
}

std::string build_bytes(const std::string& name) {
  const onnx::ModelProto m = require(name).build();
  std::string bytes;
  if (!m.SerializeToString(&bytes))
    throw Error("cannot serialize the model (over 2 GB?)", "zoo '" + name + "'");
  return bytes;
}

std::string resolve(const std::string& model) {
  std::error_code ec;
  if (fs::is_regular_file(model, ec)) return model;
  if (!is_zoo_name(model)) {
    throw Error("no such file, and not a zoo model name (zoo models: " + names_list() + ")",
                "model '" + model + "'");
  }
  const fs::path dir = cache_path();
  const fs::path path = dir / (model + "-" + kBuilderVersion + ".onnx");
  if (fs::is_regular_file(path, ec)) return path.string();
  // One build at a time per process; concurrent processes are safe through the rename below.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (fs::is_regular_file(path, ec)) return path.string();
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create the zoo cache directory: " + ec.message(), dir.string());
  const onnx::ModelProto m = require(model).build();
  // Temp file in the same directory (so rename is atomic), unique per process.
  const fs::path tmp = dir / (path.filename().string() + ".tmp." + std::to_string(::getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot write the zoo cache", tmp.string());
    const bool ok = m.SerializeToOstream(&out);
    out.close();
    if (!ok || !out) {
      fs::remove(tmp, ec);
      throw Error("cannot write the zoo cache (disk full?)", tmp.string());
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::remove(tmp, ec);
    throw Error("cannot move the built model into place: " + why, path.string());
  }
  return path.string();
}

}  // namespace ortkit::zoo
