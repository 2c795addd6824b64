// The built-in model zoo: builders that write Hugging Face / torchvision-structured ONNX models with
// seeded random weights, so nothing is downloaded. Anywhere a model path is accepted, a zoo name works.
#pragma once
#include <string>
#include <vector>

namespace ortkit::zoo {

struct ZooEntry {
  std::string name;         ///< "bert-base", "gpt2", "resnet50", "bert-tiny", ...
  std::string family;       ///< "bert", "roberta", "distilbert", "gpt2", "resnet", "mobilenet"
  std::string description;  ///< one line: layers, hidden size, parameters
};

const std::vector<ZooEntry>& list();
bool is_zoo_name(const std::string& s);
/// Serialized ModelProto of a zoo model (deterministic for a given name).
std::string build_bytes(const std::string& name);
/// A path for `model`: itself if it is a file; for a zoo name, the cached .onnx (built on first use into
/// $ORTKIT_CACHE_DIR or ~/.cache/ortkit/zoo, written atomically). Throws Error otherwise.
std::string resolve(const std::string& model);
/// The folder zoo models (and models derived from them, e.g. ort-bench's int8 versions) are cached in.
std::string cache_dir();

}  // namespace ortkit::zoo
