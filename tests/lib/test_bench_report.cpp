// ort-bench reports: JSON valid against schemas/ort-bench-report.schema.json (checked by a small
// validator for the JSON Schema subset the schema uses), CSV columns, atomic writes.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ortkit/bench/atomic_file.h"
#include "ortkit/bench/report.h"
#include "test_bench_fake_session.h"

using namespace ortkit;
using namespace ortkit::bench;
using namespace ortkit::bench::testing;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Validator for the keywords our schema uses: type (string or list), enum, properties, required,
// additionalProperties (bool or schema), items, minItems, maxItems, minimum, $ref to "#/$defs/...".
struct SchemaValidator {
  json root;
  std::vector<std::string> errors;

  static bool type_is(const json& v, const std::string& t) {
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "integer") return v.is_number_integer();
    if (t == "number") return v.is_number();
    if (t == "boolean") return v.is_boolean();
    if (t == "null") return v.is_null();
    return false;
  }

  void check(const json& v, const json& s, const std::string& path) {
    if (s.contains("$ref")) {
      std::string ref = s["$ref"];
      REQUIRE(ref.rfind("#/$defs/", 0) == 0);
      check(v, root["$defs"][ref.substr(8)], path);
    }
    if (s.contains("type")) {
      bool ok = false;
      if (s["type"].is_array()) {
        for (const auto& t : s["type"]) ok |= type_is(v, t);
      } else {
        ok = type_is(v, s["type"]);
      }
      if (!ok) {
        errors.push_back(path + ": type is not " + s["type"].dump());
        return;
      }
    }
    if (s.contains("enum") && std::find(s["enum"].begin(), s["enum"].end(), v) == s["enum"].end())
      errors.push_back(path + ": " + v.dump() + " not in " + s["enum"].dump());
    if (s.contains("minimum") && v.is_number() && v.get<double>() < s["minimum"].get<double>())
      errors.push_back(path + ": below minimum");
    if (v.is_object()) {
      if (s.contains("required"))
        for (const auto& k : s["required"])
          if (!v.contains(k.get<std::string>())) errors.push_back(path + ": missing " + k.get<std::string>());
      for (const auto& [k, val] : v.items()) {
        if (s.contains("properties") && s["properties"].contains(k)) {
          check(val, s["properties"][k], path + "." + k);
        } else if (s.contains("additionalProperties")) {
          const json& ap = s["additionalProperties"];
          if (ap.is_boolean()) {
            if (!ap.get<bool>()) errors.push_back(path + ": unexpected key " + k);
          } else {
            check(val, ap, path + "." + k);
          }
        }
      }
    }
    if (v.is_array()) {
      if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>())
        errors.push_back(path + ": too few items");
      if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>())
        errors.push_back(path + ": too many items");
      if (s.contains("items"))
        for (size_t i = 0; i < v.size(); ++i) check(v[i], s["items"], path + "[" + std::to_string(i) + "]");
    }
  }
};

json load_schema() {
  std::ifstream in(fs::path(ORTKIT_SOURCE_DIR) / "schemas" / "ort-bench-report.schema.json");
  REQUIRE(in);
  return json::parse(in);
}

std::vector<std::string> validate_report(const json& r) {
  SchemaValidator v{load_schema(), {}};
  v.check(r, v.root, "$");
  return v.errors;
}

// A report with ok, unsupported and failed points.
json sample_report(bool raw) {
  FakeSpec bad = image_spec();
  bad.fail_run = "boom";
  BenchConfig c = quick_config({"bert", "bad"});
  c.precision = {"fp32", "int8"};
  c.seq = {8};
  c.raw = raw;
  c.profile = raw;  // one of the two reports carries per-node profiles
  SweepHooks h;
  h.open = fake_factory({{"bert", bert_spec()}, {"bad", bad}});
  c.seq = {};  // bad has no seq dim; bert gets the default 128
  SweepResult r = run_sweep(c, h);
  return make_report(r, c, {"ort-bench", "run", "--model", "bert"}, json{{"cpu", "fake"}});
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("bench report: JSON is valid against the schema", "[bench][report]") {
  for (bool raw : {false, true}) {
    json r = sample_report(raw);
    // For cross-checking with a full validator: python3 -m jsonschema (see docs/ort-bench.md).
    if (const char* dump = std::getenv("ORTKIT_BENCH_DUMP_REPORT")) std::ofstream(dump) << r.dump(2);
    auto errors = validate_report(r);
    INFO(r.dump(1));
    for (const auto& e : errors) FAIL_CHECK(e);
    CHECK(errors.empty());
    REQUIRE(r["points"].size() == 4);
    CHECK(r["points"][0]["status"] == "ok");
    CHECK(r["points"][0]["seq"] == 128);
    CHECK(r["points"][1]["status"] == "unsupported");
    CHECK(r["points"][1]["stats"].is_null());
    CHECK(r["points"][2]["status"] == "failed");
    CHECK(r["points"][2]["seq"].is_null());
    CHECK(r["points"][0].contains("latencies_ms") == raw);
    CHECK(r["points"][0].contains("profile") == raw);
    CHECK(r["context"]["settings"]["profile"] == raw);
    if (raw) {
      const json& pr = r["points"][0]["profile"];
      CHECK(pr["runs"] == 5);
      CHECK(pr["nodes"].size() == 2);
      CHECK(pr["op_types"][0]["op_type"] == "MatMul");
      CHECK(pr["op_types"][0]["percent"].get<double>() == Approx(75.0));
      CHECK(pr["nodes"][1]["ms_per_run"].get<double>() == Approx(0.25 * 0.05));
      CHECK(!r["points"][2].contains("profile"));  // a failed point has none
      const std::string table = report_to_table(r);
      CHECK(table.find("profile: bert fp32 b1 s128 t1: 5 runs") != std::string::npos);
      CHECK(table.find("/layer.0/MatMul") != std::string::npos);
    }
    CHECK(r["context"]["kernels"]["fp32"] == json{"gemm_f32_fake_8x8"});
    CHECK(r["context"]["command_line"] == "ort-bench run --model bert");
    CHECK(r["context"]["machine"]["cpu"] == "fake");
    CHECK(r["context"]["settings"]["precision"] == json{"fp32", "int8"});
    CHECK(r["complete"] == true);
  }
}

TEST_CASE("bench report: the schema validator catches broken reports", "[bench][report]") {
  json r = sample_report(false);
  json bad = r;
  bad.erase("schema_version");
  CHECK_FALSE(validate_report(bad).empty());
  bad = r;
  bad["points"][0]["status"] = "great";
  CHECK_FALSE(validate_report(bad).empty());
  bad = r;
  bad["points"][0]["stats"]["p50_ms"] = "fast";
  CHECK_FALSE(validate_report(bad).empty());
  bad = r;
  bad["points"][0]["stats"]["ci95_median_ms"] = json{1.0};
  CHECK_FALSE(validate_report(bad).empty());
  bad = r;
  bad["points"][0]["surprise"] = 1;
  CHECK_FALSE(validate_report(bad).empty());
}

TEST_CASE("bench report: CSV has benchmark.py's columns first, then ours", "[bench][report]") {
  const std::vector<std::string> bp = {"engine",
                                       "version",
                                       "providers",
                                       "device",
                                       "precision",
                                       "optimizer",
                                       "io_binding",
                                       "model_name",
                                       "inputs",
                                       "threads",
                                       "batch_size",
                                       "sequence_length",
                                       "custom_layer_num",
                                       "datetime",
                                       "test_times",
                                       "QPS",
                                       "average_latency_ms",
                                       "latency_variance",
                                       "latency_90_percentile",
                                       "latency_95_percentile",
                                       "latency_99_percentile"};
  REQUIRE(csv_columns().size() > bp.size());
  CHECK(std::vector<std::string>(csv_columns().begin(), csv_columns().begin() + bp.size()) == bp);
  CHECK(csv_columns().back() == "status");

  json r = sample_report(false);
  std::istringstream csv(report_to_csv(r));
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(csv, line);) {
    std::vector<std::string> cells;
    std::istringstream ls(line);
    for (std::string cell; std::getline(ls, cell, ',');) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    rows.push_back(cells);
  }
  REQUIRE(rows.size() == 5);
  for (const auto& row : rows) CHECK(row.size() == csv_columns().size());
  auto col = [&](const std::string& name) {
    return static_cast<size_t>(std::find(csv_columns().begin(), csv_columns().end(), name) -
                               csv_columns().begin());
  };
  const auto& ok = rows[1];
  const auto& st = r["points"][0]["stats"];
  CHECK(ok[col("model_name")] == "bert");
  CHECK(ok[col("batch_size")] == "1");
  CHECK(ok[col("sequence_length")] == "128");
  CHECK(ok[col("test_times")] == "5");
  CHECK(std::stod(ok[col("average_latency_ms")]) == Approx(st["mean_ms"].get<double>()).margin(1e-4));
  CHECK(std::stod(ok[col("latency_variance")]) == Approx(st["variance_ms2"].get<double>()).margin(1e-4));
  CHECK(std::stod(ok[col("QPS")]) == Approx(st["qps"].get<double>()).epsilon(1e-3));
  CHECK(ok[col("status")] == "ok");
  CHECK(rows[2][col("status")] == "unsupported");
  CHECK(rows[2][col("QPS")].empty());
  CHECK(rows[3][col("sequence_length")].empty());
  // And the table shows every point.
  std::string table = report_to_table(r);
  CHECK_THAT(table, Catch::Contains("unsupported") && Catch::Contains("failed") && Catch::Contains("boom"));
}

TEST_CASE("bench report: files are written atomically", "[bench][report]") {
  fs::path dir = fs::temp_directory_path() / ("ortkit_bench_atomic_" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::path f = dir / "r.json";
  write_file_atomic(f.string(), "first");
  CHECK(read_file(f) == "first");
  std::string big(1 << 20, 'x');
  write_file_atomic(f.string(), big);
  CHECK(read_file(f) == big);
  CHECK_NOTHROW(check_writable((dir / "new.csv").string()));
  CHECK_FALSE(fs::exists(dir / "new.csv"));
  CHECK_THAT(error_of([&] { write_file_atomic((dir / "no" / "x.json").string(), "y"); }),
             Catch::Contains("cannot write"));
  CHECK_THROWS_AS(check_writable((dir / "no" / "x.json").string()), Error);
  CHECK_THROWS_AS(check_writable(dir.string()), Error);
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().filename() != "r.json";
  CHECK(n == 0);  // no temporary left behind
  fs::remove_all(dir);
}

TEST_CASE("bench report: an interrupted sweep gives a valid report marked incomplete", "[bench][report]") {
  std::atomic<bool> cancel{false};
  FakeSpec spec = bert_spec();
  int runs = 0;
  spec.on_run = [&] {
    if (++runs == 10) cancel = true;
  };
  BenchConfig c = quick_config({"bert"});
  c.seq = {8, 16, 32};
  SweepHooks h;
  h.open = fake_factory({{"bert", spec}});
  h.cancel = &cancel;
  json r = make_report(run_sweep(c, h), c, {"ort-bench"}, json::object());
  CHECK(r["complete"] == false);
  CHECK(r["points"].size() == 1);
  CHECK(validate_report(r).empty());
  CHECK_THAT(report_to_table(r), Catch::Contains("interrupted"));
}
