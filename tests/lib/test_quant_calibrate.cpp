// Calibration math (min/max, streaming histograms, percentile, entropy), the calibrate() and
// evaluate() pipelines through a fake runner, sample sources, atomic files and the report.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "ortkit/error.h"
#include "ortkit/quantize.h"
#include "quant/augment.h"
#include "quant/onnx_util.h"
#include "quant/range_collector.h"
#include "quant_test_models.h"

using namespace ortkit;
using quant::RangeCollector;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("ortkit_quant_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

Tensor f32(std::vector<float> v, Shape s) {
  Tensor t(DType::f32, s);
  std::copy(v.begin(), v.end(), t.data_as<float>());
  return t;
}

// Runs "models" by returning scripted tensors: every graph output gets data from `fn`.
struct FakeRunner : ModelRunner {
  std::vector<std::string> outputs;
  std::function<Tensor(const std::string&, const std::vector<NamedTensor>&)> fn;
  std::vector<Tensor> run(const std::vector<NamedTensor>& in) override {
    std::vector<Tensor> out;
    for (const auto& o : outputs) out.push_back(fn(o, in));
    return out;
  }
};

RunnerFactory fake(std::function<Tensor(const std::string&, const std::vector<NamedTensor>&)> fn,
                   std::vector<std::string>* seen_outputs = nullptr) {
  return [fn, seen_outputs](const std::string& bytes) -> std::unique_ptr<ModelRunner> {
    auto m = quant::parse_model(bytes);
    auto r = std::make_unique<FakeRunner>();
    for (const auto& o : m.graph().output()) r->outputs.push_back(o.name());
    if (seen_outputs) *seen_outputs = r->outputs;
    r->fn = fn;
    return r;
  };
}

}  // namespace

TEST_CASE("quant calib: min/max merges over batches", "[quant]") {
  RangeCollector c(16, false);
  std::vector<float> a = {0.5f, -1.0f, 2.0f}, b = {3.0f, -0.25f};
  c.add(a.data(), a.size());
  c.add(b.data(), b.size());
  CHECK(c.minmax().min == -1.0f);
  CHECK(c.minmax().max == 3.0f);
  CHECK(c.count() == 5);
  RangeCollector empty;
  CHECK(empty.minmax().max == 0.0f);
  std::vector<float> nan = {std::nanf("")};
  CHECK_THROWS_AS(c.add(nan.data(), 1), Error);
}

TEST_CASE("quant calib: histogram growth re-bins exactly", "[quant]") {
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0, 1);
  std::vector<float> small(1000), big(1000);
  for (auto& v : small) v = d(rng) * 0.3f;
  for (auto& v : big) v = d(rng) * 3.0f;
  RangeCollector streamed(64), once(64);
  streamed.add(small.data(), small.size());
  double r0 = streamed.half_width();
  streamed.add(big.data(), big.size());
  CHECK(streamed.half_width() > r0);
  std::vector<float> all(small);
  all.insert(all.end(), big.begin(), big.end());
  // One batch with the final R gives the same counts: merging pairs of bins loses nothing.
  std::vector<float> seed = {static_cast<float>(streamed.half_width())};
  once.add(seed.data(), 1);
  once.add(all.data(), all.size());
  auto h1 = streamed.hist(), h2 = once.hist();
  REQUIRE(streamed.half_width() == once.half_width());
  // `once` holds the extra seed value in its last bin.
  h2[h2.size() - 1] -= 1;
  CHECK(h1 == h2);
  uint64_t total = 0;
  for (auto x : h1) total += x;
  CHECK(total == 2000);
}

TEST_CASE("quant calib: percentile clips the tails of a known histogram", "[quant]") {
  // 10000 values evenly spread over [-1, 1), plus one outlier at 100.
  std::vector<float> v;
  for (int i = 0; i < 10000; ++i) v.push_back(-1.0f + 2.0f * static_cast<float>(i) / 10000.0f);
  v.push_back(100.0f);
  RangeCollector c(2048);
  c.add(v.data(), v.size());
  CHECK(c.minmax().max == 100.0f);
  auto p = c.percentile(99.9);
  CHECK(p.max == Approx(1.0f).margin(0.1));  // the outlier is clipped
  CHECK(p.min == Approx(-1.0f).margin(0.1));
  // 90: the 10th and 90th percentiles of the uniform part, about [-0.8, 0.8], to a bin (R 128 / 2048).
  auto p90 = c.percentile(90);
  CHECK(p90.max == Approx(0.8f).margin(0.0625));
  CHECK(p90.min == Approx(-0.8f).margin(0.0625));
  CHECK(c.percentile(100).max == 100.0f);
  CHECK_THROWS_AS(c.percentile(0), Error);
}

TEST_CASE("quant calib: entropy picks a threshold inside the distribution", "[quant]") {
  std::mt19937 rng(5);
  std::normal_distribution<float> d(0, 1);
  std::vector<float> v(50000);
  for (auto& x : v) x = d(rng);
  for (int i = 0; i < 5; ++i) v.push_back(40.0f);  // rare outliers
  RangeCollector c(512);
  c.add(v.data(), v.size());
  auto e = c.entropy(128);
  CHECK(e.max > 2.0f);             // keeps the bulk of a N(0, 1)
  CHECK(e.max < 20.0f);            // but not the outliers at 40
  CHECK(e.min >= -e.max - 1e-6f);  // never wider than the |x| threshold
  // All-zero data: a zero range, no crash.
  RangeCollector z(16);
  std::vector<float> zeros(10, 0.0f);
  z.add(zeros.data(), zeros.size());
  CHECK(z.entropy().max == 0.0f);
  CHECK(z.percentile(99).max == 0.0f);
}

TEST_CASE("quant calib: calibrate() adds the tensors as outputs and merges every sample", "[quant]") {
  auto bytes = quant_test::mlp();
  std::vector<size_t> idx;
  auto aug = quant::parse_model(quant::add_outputs(bytes, {"y", "z", "r"}, idx));
  CHECK(aug.graph().output_size() == 3);  // z was already an output
  CHECK(idx == std::vector<size_t>{1, 0, 2});

  int call = 0;
  std::vector<std::string> seen;
  auto runner = fake(
      [&](const std::string& name, const std::vector<NamedTensor>&) {
        float k = static_cast<float>(call / 3 + 1);  // three outputs per sample: z, x, y
        ++call;
        return name == "x" ? f32({-k, k}, {2}) : f32({0, 10 * k}, {2});
      },
      &seen);
  auto data = generated_samples(bytes, 3);
  CalibrationStats st;
  auto r = calibrate(bytes, {"x", "y"}, *data, runner, {}, &st);
  CHECK(st.samples == 3);
  CHECK(seen.size() == 3);  // z, x, y
  CHECK(r["x"].min == -3.0f);
  CHECK(r["x"].max == 3.0f);
  CHECK(r["y"].max == 30.0f);
  CalibrationOptions pct;
  pct.method = CalibrationMethod::percentile;
  pct.percentile = 100;
  call = 0;
  auto rp = calibrate(bytes, {"x", "y"}, *data, runner, pct);
  CHECK(rp["y"].max == 30.0f);
}

TEST_CASE("quant eval: cosine, errors, top-1 and per-layer SQNR", "[quant]") {
  auto bytes = quant_test::mlp();
  // fp32 and "int8" differ by a known offset on the int8 side.
  auto make = [](float offset) {
    return fake([offset](const std::string& name, const std::vector<NamedTensor>&) {
      if (name == "z") return f32({1, 2, 3, 3, 2, 1}, {2, 3});
      return f32({1 + offset, 1 + offset}, {2});
    });
  };
  int n = 0;
  RunnerFactory both = [&](const std::string& b) {
    // The first model opened is the fp32 one, the second the int8 one.
    return (n++ == 0 ? make(0) : make(0.5f))(b);
  };
  auto data = generated_samples(bytes, 2);
  auto rep = evaluate(bytes, bytes, *data, both, {{"mm", "y"}});
  CHECK(rep.samples == 2);
  REQUIRE(rep.outputs.size() == 1);
  CHECK(rep.outputs[0].cosine == Approx(1.0));
  CHECK(rep.outputs[0].max_abs == 0.0);
  CHECK(rep.outputs[0].top1 == 1.0);
  REQUIRE(rep.layers.size() == 1);
  // signal 1^2 per element, noise 0.5^2: 10 log10(4) = 6.02 dB
  CHECK(rep.layers[0].sqnr_db == Approx(6.0206).epsilon(1e-3));
  CHECK(rep.min_cosine() == Approx(1.0));
}

TEST_CASE("quant samples: generated inputs follow the model's inputs", "[quant]") {
  quant_test::Builder b;
  onnx::ValueInfoProto ids;
  ids.set_name("input_ids");
  auto* t = ids.mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::INT64);
  t->mutable_shape()->add_dim()->set_dim_param("batch");
  t->mutable_shape()->add_dim()->set_dim_param("sequence");
  *b.g().add_input() = ids;
  onnx::ValueInfoProto mask = ids;
  mask.set_name("attention_mask");
  *b.g().add_input() = mask;
  b.weight("emb", {30, 4});
  b.node("Gather", {"emb", "input_ids"}, {"e"}, "gather");
  b.output("e", {1, 8, 4});
  auto src = generated_samples(b.bytes(), 2, 1, 8);
  CHECK(src->generated());
  CHECK_THAT(src->describe(), Catch::Contains("GENERATED"));
  std::vector<NamedTensor> s;
  REQUIRE(src->next(s));
  REQUIRE(s.size() == 2);
  CHECK(s[0].tensor.shape() == Shape{1, 8});
  for (int i = 0; i < 8; ++i) {
    CHECK(s[0].tensor.data_as<int64_t>()[i] >= 0);
    CHECK(s[0].tensor.data_as<int64_t>()[i] < 30);  // below the embedding's vocabulary
    CHECK(s[1].tensor.data_as<int64_t>()[i] == 1);  // mask of ones
  }
  REQUIRE(src->next(s));
  CHECK(!src->next(s));
  src->rewind();
  CHECK(src->next(s));
}

TEST_CASE("quant samples: test_data_set folders with .pb and .npy", "[quant]") {
  auto dir = temp_dir("data");
  auto bytes = quant_test::mlp();
  for (int k = 0; k < 2; ++k) {
    auto set = dir / ("test_data_set_" + std::to_string(k));
    fs::create_directories(set);
    std::vector<float> v(16, static_cast<float>(k + 1));
    if (k == 0) {
      auto t = quant::make_float_tensor("", {2, 8}, v);
      std::ofstream(set / "input_0.pb", std::ios::binary) << t.SerializeAsString();
    } else {
      // A minimal NumPy v1 file: <f4, shape (2, 8), header padded to 128 bytes.
      std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 8), }";
      h.resize(128 - 10 - 1, ' ');
      h += '\n';
      std::string f = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(h.size()) + '\0' + h;
      f.append(reinterpret_cast<const char*>(v.data()), v.size() * 4);
      std::ofstream(set / "x.npy", std::ios::binary) << f;
    }
  }
  auto src = open_sample_dir(dir.string(), bytes);
  CHECK_THAT(src->describe(), Catch::Contains("2 samples"));
  std::vector<NamedTensor> s;
  REQUIRE(src->next(s));
  CHECK(s[0].name == "x");
  CHECK(s[0].tensor.data_as<float>()[3] == 1.0f);
  REQUIRE(src->next(s));
  CHECK(s[0].tensor.shape() == Shape{2, 8});
  CHECK(s[0].tensor.data_as<float>()[15] == 2.0f);
  CHECK(!src->next(s));
  // A folder with data for no input fails when opened, naming the input.
  auto bad = temp_dir("bad");
  fs::create_directories(bad / "test_data_set_0");
  CHECK_THROWS_WITH(open_sample_dir(bad.string(), bytes), Catch::Contains("no data for model input 'x'"));
  CHECK_THROWS_WITH(open_sample_dir((bad / "nope").string(), bytes), Catch::Contains("does not exist"));
  fs::remove_all(dir);
  fs::remove_all(bad);
}

TEST_CASE("quant files: atomic writes, ranges JSON, report", "[quant]") {
  auto dir = temp_dir("files");
  auto p = (dir / "m.onnx").string();
  write_file_atomic(p, "first");
  write_file_atomic(p, "second");
  CHECK(read_file_bytes(p) == "second");
  int entries = 0;
  for (auto& e : fs::directory_iterator(dir)) entries += 1, (void)e;
  CHECK(entries == 1);  // no temporary left behind
  CHECK_THROWS_WITH(write_file_atomic((dir / "no" / "m.onnx").string(), "x"),
                    Catch::Contains("does not exist"));
  CHECK_THROWS_WITH(read_file_bytes((dir / "missing").string()), Catch::Contains("cannot open"));

  RangeMap r = {{"a", {-1.5f, 2.0f}}, {"b", {0, 0}}};
  write_file_atomic((dir / "r.json").string(), ranges_json(r));
  auto back = read_ranges_json((dir / "r.json").string());
  CHECK(back["a"].min == -1.5f);
  CHECK(back["a"].max == 2.0f);
  write_file_atomic((dir / "bad.json").string(), "{\"a\": [1]}");
  CHECK_THROWS_WITH(read_ranges_json((dir / "bad.json").string()), Catch::Contains("not [min, max]"));

  QuantizeReport rep;
  rep.model = "m.onnx";
  rep.result = quantize_model_bytes(quant_test::mlp(), {});
  rep.eval_skipped = "--no-eval";
  auto j = nlohmann::json::parse(report_json(rep));
  CHECK(j["schema"] == "ortkit.quantize/1");
  CHECK(j["quantized_nodes"] == 2);
  CHECK(j["nodes"].size() == 2);
  CHECK(j["size_bytes"]["before"].get<size_t>() == rep.result.bytes_before);
  rep.evaluated = true;
  rep.accuracy.samples = 1;
  rep.accuracy.outputs.push_back({"z", 0.999, 0.1, 0.01, 1.0});
  rep.accuracy.layers.push_back({"mm", "y", std::numeric_limits<double>::infinity()});
  auto j2 = nlohmann::json::parse(report_json(rep));
  CHECK(j2["accuracy"]["outputs"][0]["top1_agreement"] == 1.0);
  CHECK(j2["accuracy"]["layers"][0]["sqnr_db"].is_null());  // Inf is not JSON
  CHECK_THAT(report_text(rep), Catch::Contains("2 quantized") && Catch::Contains("top-1 agreement"));
  fs::remove_all(dir);
}
