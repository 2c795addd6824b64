// ort-bench settings: list parsing, config files, validation.
#include <catch2/catch.hpp>
#include <filesystem>

#include "ortkit/bench/config.h"
#include "ortkit/error.h"
#include "test_bench_fake_session.h"

using namespace ortkit::bench;
using ortkit::bench::testing::error_of;

TEST_CASE("bench config: lists, ranges, durations, precisions", "[bench][config]") {
  CHECK(parse_int_list("1,2, 4", "--batch") == std::vector<int64_t>{1, 2, 4});
  CHECK_THROWS_AS(parse_int_list("", "--batch"), ortkit::Error);
  CHECK_THROWS_AS(parse_int_list("1,x", "--batch"), ortkit::Error);
  CHECK_THROWS_AS(parse_int_list("0", "--batch"), ortkit::Error);
  CHECK_THROWS_AS(parse_int_list("3abc", "--batch"), ortkit::Error);
  CHECK(parse_threads("1,2") == std::vector<int>{1, 2});
  CHECK(parse_threads("2..4,8") == std::vector<int>{2, 3, 4, 8});
  auto all = parse_threads("1..nproc");
  REQUIRE(static_cast<int>(all.size()) == nproc());
  CHECK(all.back() == nproc());
  CHECK_THROWS_AS(parse_threads("4..2"), ortkit::Error);
  CHECK(parse_duration("10s") == 10);
  CHECK(parse_duration("500ms") == Approx(0.5));
  CHECK(parse_duration("2m") == 120);
  CHECK(parse_duration("3") == 3);
  CHECK_THROWS_AS(parse_duration("fast"), ortkit::Error);
  CHECK_THROWS_AS(parse_duration("10h"), ortkit::Error);
  CHECK(parse_precisions("fp32,bf16,int8").size() == 3);
  CHECK_THROWS_WITH(parse_precisions("fp32,fp64"), Catch::Contains("unknown precision 'fp64'"));
}

TEST_CASE("bench config: JSON overlay, unknown keys rejected", "[bench][config]") {
  BenchConfig c;
  apply_json(
      c, nlohmann::json::parse(R"({"models": ["a", "b"], "batch": "1,2", "seq": [8, 16], "threads": "1..2",
                                       "precision": ["fp32", "int8"], "duration": "1s", "raw": true})"),
      "t.json");
  CHECK(c.models == std::vector<std::string>{"a", "b"});
  CHECK(c.batch == std::vector<int64_t>{1, 2});
  CHECK(c.seq == std::vector<int64_t>{8, 16});
  CHECK(c.threads == std::vector<int>{1, 2});
  CHECK(c.precision == std::vector<std::string>{"fp32", "int8"});
  CHECK(c.duration_s == 1);
  CHECK(c.raw);
  CHECK_THROWS_WITH(apply_json(c, nlohmann::json::parse(R"({"iteratoins": 5})"), "t.json"),
                    Catch::Contains("unknown key"));
  CHECK_THROWS_WITH(apply_json(c, nlohmann::json::parse(R"({"warmup": "lots"})"), "t.json"),
                    Catch::Contains("wrong type"));
  CHECK_THROWS_AS(apply_json(c, nlohmann::json::parse("[1]"), "t.json"), ortkit::Error);
}

TEST_CASE("bench config: validation names the bad setting", "[bench][config]") {
  BenchConfig c;
  CHECK_THROWS_WITH(validate(c), Catch::Contains("no model"));
  c.models = {"m"};
  CHECK_NOTHROW(validate(c));
  c.padding = 1.5;
  CHECK_THAT(error_of([&] { validate(c); }), Catch::Contains("--padding"));
  c.padding = 0;
  c.precision.clear();
  CHECK_THROWS_AS(validate(c), ortkit::Error);
  c.precision = {"fp32"};
  c.input_dir = "/tmp";
  c.batch = {1, 2};
  CHECK_THAT(error_of([&] { validate(c); }), Catch::Contains("--input-dir"));
}

TEST_CASE("bench config: every shipped config in configs/ parses and validates", "[bench][config]") {
  namespace fs = std::filesystem;
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(ORTKIT_SOURCE_DIR) / "configs")) {
    if (e.path().extension() != ".json") continue;
    INFO(e.path().string());
    BenchConfig c;
    REQUIRE_NOTHROW(apply_config_file(c, e.path().string()));
    CHECK_NOTHROW(validate(c));
    ++n;
  }
  CHECK(n >= 4);
  BenchConfig c;
  CHECK_THROWS_WITH(apply_config_file(c, "/nonexistent/cfg.json"), Catch::Contains("cannot open"));
}
