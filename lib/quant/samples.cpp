// Sample sources for calibration and evaluation: a folder of test data sets, or generated inputs.
#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <regex>
#include <set>

#include "ortkit/error.h"
#include "ortkit/quantize.h"
#include "quant/onnx_util.h"
#include "quant/tensor_io.h"

namespace ortkit {
namespace fs = std::filesystem;
namespace {

struct InputSpec {
  std::string name;
  int elem_type = 1;
  std::vector<std::pair<int64_t, std::string>> dims;  // value (-1 symbolic) and symbol
};

std::vector<InputSpec> model_inputs(const onnx::ModelProto& m) {
  std::set<std::string> inits;
  for (const auto& t : m.graph().initializer()) inits.insert(t.name());
  std::vector<InputSpec> out;
  for (const auto& v : m.graph().input()) {
    if (inits.count(v.name())) continue;
    InputSpec s;
    s.name = v.name();
    if (v.type().has_tensor_type()) {
      s.elem_type = v.type().tensor_type().elem_type();
      for (const auto& d : v.type().tensor_type().shape().dim())
        s.dims.push_back({d.has_dim_value() ? d.dim_value() : -1, d.dim_param()});
    }
    out.push_back(std::move(s));
  }
  return out;
}

class DirSource : public SampleSource {
 public:
  DirSource(const std::string& dir, const std::string& model_bytes) : dir_(dir) {
    inputs_ = model_inputs(quant::parse_model(model_bytes));
    if (!fs::is_directory(dir)) throw Error("calibration data folder does not exist", dir);
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && e.path().filename().string().rfind("test_data_set", 0) == 0)
        sets_.push_back(e.path());
    std::sort(sets_.begin(), sets_.end());
    if (sets_.empty()) sets_.push_back(dir);
    // Read the first sample now, so a bad folder fails before any work.
    std::vector<NamedTensor> s;
    load(sets_[0], s);
  }
  bool next(std::vector<NamedTensor>& sample) override {
    if (pos_ >= sets_.size()) return false;
    load(sets_[pos_++], sample);
    return true;
  }
  void rewind() override { pos_ = 0; }
  std::string describe() const override {
    return std::to_string(sets_.size()) + " sample" + (sets_.size() == 1 ? "" : "s") + " from " + dir_;
  }

 private:
  void load(const fs::path& set, std::vector<NamedTensor>& sample) const {
    sample.clear();
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(set)) {
      auto ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".pb" || ext == ".npy") &&
          e.path().stem().string().rfind("output_", 0) != 0)
        files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    std::regex idx("input_(\\d+)");
    for (const auto& f : files) {
      std::string name;
      Tensor t =
          f.extension() == ".pb" ? quant::read_pb_tensor(f.string(), &name) : quant::read_npy(f.string());
      std::string stem = f.stem().string();
      auto known = [&](const std::string& n) {
        return std::any_of(inputs_.begin(), inputs_.end(), [&](const InputSpec& s) { return s.name == n; });
      };
      if (name.empty() || !known(name)) name = known(stem) ? stem : "";
      std::smatch m;
      if (name.empty() && std::regex_match(stem, m, idx)) {
        size_t k = std::stoul(m[1]);
        if (k < inputs_.size()) name = inputs_[k].name;
      }
      if (name.empty())
        throw Error("cannot match this file to a model input (name it input_N or <input name>)", f.string());
      sample.push_back({name, std::move(t)});
    }
    for (const auto& in : inputs_)
      if (std::none_of(sample.begin(), sample.end(), [&](const NamedTensor& t) { return t.name == in.name; }))
        throw Error("no data for model input '" + in.name + "'", set.string());
  }

  std::string dir_;
  std::vector<InputSpec> inputs_;
  std::vector<fs::path> sets_;
  size_t pos_ = 0;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

class GeneratedSource : public SampleSource {
 public:
  GeneratedSource(const std::string& model_bytes, int count, uint64_t seed, int64_t seq)
      : count_(count), seed_(seed), seq_(seq) {
    auto m = quant::parse_model(model_bytes);
    inputs_ = model_inputs(m);
    auto inits = quant::initializer_map(m.graph());
    // Token ids must index the embedding table: find Gather(table, ids) to learn the vocabulary size.
    for (const auto& n : m.graph().node())
      if (n.op_type() == "Gather" && n.input_size() > 1 && inits.count(n.input(0)) &&
          inits.at(n.input(0))->dims_size())
        vocab_[n.input(1)] = std::max<int64_t>(1, inits.at(n.input(0))->dims(0));
  }
  bool next(std::vector<NamedTensor>& sample) override {
    if (pos_ >= count_) return false;
    std::mt19937_64 rng(seed_ + static_cast<uint64_t>(pos_++));
    sample.clear();
    for (const auto& in : inputs_) sample.push_back({in.name, make(in, rng)});
    return true;
  }
  void rewind() override { pos_ = 0; }
  std::string describe() const override {
    return "GENERATED " + std::to_string(count_) +
           " random samples (no --calibration-data: token ids, masks of "
           "ones, N(0,1) floats; ranges will not match real data)";
  }
  bool generated() const override { return true; }

 private:
  Tensor make(const InputSpec& in, std::mt19937_64& rng) const {
    DType dt = dtype_from_onnx(in.elem_type);
    if (dt == DType::undefined || dt == DType::string)
      throw Error("cannot generate data of this type", "input '" + in.name + "'");
    Shape s;
    for (size_t i = 0; i < in.dims.size(); ++i) {
      auto [v, sym] = in.dims[i];
      if (v >= 0)
        s.push_back(v);
      else if (i == 0 || lower(sym).find("batch") != std::string::npos)
        s.push_back(1);
      else
        s.push_back(seq_);
    }
    Tensor t(dt, s);
    std::string n = lower(in.name);
    int64_t k = t.numel();
    if (dt == DType::f32) {
      std::normal_distribution<float> d(0.0f, 1.0f);
      for (int64_t i = 0; i < k; ++i) t.data_as<float>()[i] = d(rng);
    } else if (dt == DType::i64 || dt == DType::i32) {
      auto it = vocab_.find(in.name);
      int64_t hi = it != vocab_.end() ? it->second : 100;
      std::uniform_int_distribution<int64_t> d(0, hi - 1);
      for (int64_t i = 0; i < k; ++i) {
        int64_t v = n.find("mask") != std::string::npos       ? 1
                    : n.find("type") != std::string::npos     ? 0
                    : n.find("position") != std::string::npos ? i % (s.empty() ? 1 : s.back())
                                                              : d(rng);
        if (dt == DType::i64)
          t.data_as<int64_t>()[i] = v;
        else
          t.data_as<int32_t>()[i] = static_cast<int32_t>(v);
      }
    } else if (dt == DType::boolean || dt == DType::u8) {
      for (int64_t i = 0; i < k; ++i) t.data_as<uint8_t>()[i] = 1;
    } else if (dt != DType::f64) {
      throw Error(std::string("cannot generate data of type ") + dtype_name(dt), "input '" + in.name + "'");
    } else {
      std::normal_distribution<double> d(0.0, 1.0);
      for (int64_t i = 0; i < k; ++i) t.data_as<double>()[i] = d(rng);
    }
    return t;
  }

  int count_;
  uint64_t seed_;
  int64_t seq_;
  int pos_ = 0;
  std::vector<InputSpec> inputs_;
  std::map<std::string, int64_t> vocab_;
};

}  // namespace

std::unique_ptr<SampleSource> open_sample_dir(const std::string& dir, const std::string& model_bytes) {
  return std::make_unique<DirSource>(dir, model_bytes);
}

std::unique_ptr<SampleSource> generated_samples(const std::string& model_bytes, int count, uint64_t seed,
                                                int64_t seq_len) {
  if (count < 1) throw Error("sample count must be >= 1");
  return std::make_unique<GeneratedSource>(model_bytes, count, seed, seq_len);
}

}  // namespace ortkit
