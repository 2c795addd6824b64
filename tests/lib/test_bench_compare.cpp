// The regression gate: self-compare passes, a slower report fails naming the point, bad input is exit 2.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "ortkit/bench/compare.h"
#include "ortkit/bench/report.h"
#include "test_bench_fake_session.h"

using namespace ortkit;
using namespace ortkit::bench;
using namespace ortkit::bench::testing;
using nlohmann::json;

namespace {

// A report from the fake engine, with per-model latency; 30 runs per point.
json fake_report(double bert_ms, double img_ms, bool raw) {
  FakeSpec b = bert_spec(), i = image_spec();
  b.latency_ms = bert_ms;
  i.latency_ms = img_ms;
  BenchConfig c = quick_config({"bert", "img"});
  c.iterations = 30;
  c.raw = raw;
  SweepHooks h;
  h.open = fake_factory({{"bert", b}, {"img", i}});
  return make_report(run_sweep(c, h), c, {"ort-bench"}, json::object());
}

// A report whose point has exactly these statistics (no timing noise at all).
json synthetic(double p50, double lo, double hi) {
  json p = {{"model", "m"},
            {"precision", "fp32"},
            {"batch", 1},
            {"seq", 8},
            {"threads", 1},
            {"status", "ok"},
            {"reason", ""},
            {"stats",
             {{"p50_ms", p50},
              {"mean_ms", p50},
              {"p99_ms", p50 * 1.2},
              {"qps", 1000.0 / p50},
              {"ci95_median_ms", {lo, hi}}}}};
  return {{"schema_version", 1}, {"complete", true}, {"points", {p}}};
}

}  // namespace

TEST_CASE("bench compare: a report against itself is unchanged, exit 0", "[bench][compare]") {
  for (bool raw : {false, true}) {
    json r = fake_report(0.05, 0.05, raw);
    CHECK_NOTHROW(check_report(r, "r"));
    for (const char* metric : {"p50", "mean", "p99", "qps"}) {
      CompareResult c = compare_reports(r, r, 0.05, metric);
      CHECK(c.exit_code == 0);
      REQUIRE(c.rows.size() == 2);
      for (const auto& row : c.rows) {
        CHECK(row.verdict == "unchanged");
        CHECK(row.method == (raw ? "mann-whitney" : "ci95-median"));
      }
      CHECK_THAT(c.markdown, Catch::Contains("no significant regression"));
    }
  }
}

TEST_CASE("bench compare: a really slower point is a regression, named, exit 1", "[bench][compare]") {
  for (bool raw : {false, true}) {
    // img three times slower, bert identical: derived from one measured report so that machine noise
    // cannot make bert look different.
    json base = fake_report(0.2, 0.2, raw);
    json slow = base;
    json& img = slow["points"][1];
    REQUIRE(img["model"] == "img");
    for (const char* k : {"p50_ms", "mean_ms", "p99_ms"}) img["stats"][k] = img["stats"][k].get<double>() * 3;
    img["stats"]["qps"] = img["stats"]["qps"].get<double>() / 3;
    for (auto& x : img["stats"]["ci95_median_ms"]) x = x.get<double>() * 3;
    if (raw)
      for (auto& x : img["latencies_ms"]) x = x.get<double>() * 3;
    CompareResult c = compare_reports(base, slow, 0.05, "p50");
    CHECK(c.exit_code == 1);
    CHECK_THAT(c.markdown, Catch::Contains("- img fp32 b1 t1"));
    CHECK_THAT(c.markdown, Catch::Contains("**regressed**"));
    CHECK_FALSE(c.markdown.find("- bert") != std::string::npos);
    // The other way round it is an improvement, and the gate passes.
    CompareResult back = compare_reports(slow, base, 0.05, "qps");
    CHECK(back.exit_code == 0);
    bool improved = false;
    for (const auto& row : back.rows) improved |= row.point.starts_with("img") && row.verdict == "improved";
    CHECK(improved);
  }
}

TEST_CASE("bench compare: verdicts from confidence intervals", "[bench][compare]") {
  // Disjoint intervals, 20% slower: regressed.
  CHECK(compare_reports(synthetic(10, 9.8, 10.2), synthetic(12, 11.8, 12.2), 0.05, "p50").rows[0].verdict ==
        "regressed");
  // Disjoint but 2% slower, under the 5% threshold: unchanged.
  CHECK(
      compare_reports(synthetic(10, 9.9, 10.1), synthetic(10.2, 10.15, 10.25), 0.05, "p50").rows[0].verdict ==
      "unchanged");
  // 20% slower but wide, overlapping intervals: inconclusive, and it does not fail the gate.
  CompareResult c = compare_reports(synthetic(10, 5, 15), synthetic(12, 6, 18), 0.05, "p50");
  CHECK(c.rows[0].verdict == "inconclusive");
  CHECK(c.exit_code == 0);
  // A point that ran before and fails now is a regression.
  json broken = synthetic(10, 9, 11);
  broken["points"][0]["status"] = "failed";
  broken["points"][0]["reason"] = "boom";
  broken["points"][0]["stats"] = nullptr;
  CompareResult f = compare_reports(synthetic(10, 9, 11), broken, 0.05, "p50");
  CHECK(f.exit_code == 1);
  CHECK_THAT(f.markdown, Catch::Contains("boom"));
  CHECK(compare_reports(broken, broken, 0.05, "p50").rows[0].verdict == "skipped");
}

TEST_CASE("bench compare: bad input is exit 2 or an Error", "[bench][compare]") {
  json a = synthetic(10, 9, 11);
  json b = a;
  b["points"][0]["threads"] = 2;
  CompareResult c = compare_reports(a, b, 0.05, "p50");
  CHECK(c.exit_code == 2);
  REQUIRE(c.errors.size() == 2);
  CHECK_THAT(c.errors[0], Catch::Contains("m fp32 b1 s8 t1"));
  json dup = a;
  dup["points"].push_back(a["points"][0]);
  CHECK(compare_reports(dup, dup, 0.05, "p50").exit_code == 2);

  json bad = a;
  bad["schema_version"] = 99;
  CHECK_THAT(error_of([&] { check_report(bad, "x.json"); }), Catch::Contains("schema_version 99"));
  bad = a;
  bad["points"][0].erase("batch");
  CHECK_THAT(error_of([&] { check_report(bad, "x.json"); }), Catch::Contains("batch"));
  bad = a;
  bad["points"][0]["stats"].erase("ci95_median_ms");
  CHECK_THROWS_AS(check_report(bad, "x.json"), Error);
  CHECK_THROWS_AS(check_report(json::array(), "x.json"), Error);
  CHECK_THROWS_AS(compare_reports(a, a, 0.05, "p42"), Error);

  auto path = std::filesystem::temp_directory_path() / ("ortkit_cmp_" + std::to_string(getpid()) + ".json");
  std::ofstream(path) << "{\"schema_version\": 1, \"points\": [";
  CHECK_THAT(error_of([&] { load_report(path.string()); }), Catch::Contains("malformed JSON"));
  std::filesystem::remove(path);
  CHECK_THAT(error_of([&] { load_report("/nonexistent.json"); }), Catch::Contains("cannot open"));

  CHECK(parse_threshold("5%") == Approx(0.05));
  CHECK(parse_threshold("2.5") == Approx(0.025));
  CHECK_THROWS_AS(parse_threshold("lots"), Error);
  CHECK_THROWS_AS(parse_threshold("-3%"), Error);
}
