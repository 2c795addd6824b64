// ort-bench's settings: what to sweep and how long to measure each point.
// Every field can come from a JSON config file (configs/*.json) with the same key as the command-line
// flag (long name, '-' -> '_'); the command line wins. Lists accept a JSON array or a "1,2,4" string;
// threads also accept ranges "1..nproc" / "2..8" ("nproc" = CPUs this process may use).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ortkit::bench {

struct BenchConfig {
  std::vector<std::string> models;  ///< paths or zoo names
  std::vector<int64_t> batch;       ///< empty: 1 (or the model's fixed batch)
  std::vector<int64_t> seq;         ///< empty: 128 for models with a sequence dim
  std::vector<int64_t> past;        ///< KV-cache lengths; empty: 0 for models with past inputs
  std::vector<std::string> precision = {"fp32"};
  std::vector<int> threads = {1};
  int64_t warmup = 5;
  int64_t iterations = 0;       ///< 0: not set (duration or the default 100 decides)
  double duration_s = 0;        ///< 0: not set
  int64_t min_iterations = 10;  ///< with duration: at least this many timed runs
  uint64_t seed = 42;
  std::string json, csv;  ///< output paths ("" = none)
  bool raw = false;       ///< keep every latency in the JSON report
  bool profile = false;   ///< after the timed runs, as many again with per-node timers (report: profile)
  bool quiet = false;
  double padding = 0;          ///< fraction of attention-mask positions zeroed at the end
  std::string input_dir;       ///< real inputs (test_data_set_* .pb or .npy files)
  double cv_threshold = 0.10;  ///< a point with CV above this is flagged noisy
};

/// "1,2,4" -> {1,2,4}; throws Error naming `what` on a bad item or one below `min`.
std::vector<int64_t> parse_int_list(const std::string& s, const std::string& what, int64_t min = 1);
/// "1,2", "1..nproc", "2..8,16"; throws Error.
std::vector<int> parse_threads(const std::string& s);
/// "10s", "500ms", "2m", "3" (seconds) -> seconds; throws Error.
double parse_duration(const std::string& s);
/// "fp32,bf16" -> validated list; throws Error on an unknown precision.
std::vector<std::string> parse_precisions(const std::string& s);
/// Number of CPUs this process may run on.
int nproc();

/// Overlay the keys present in `j` onto `cfg`. Throws Error (with `origin`, e.g. the file name) on an
/// unknown key or a bad value, so a typo in a config is never silently ignored.
void apply_json(BenchConfig& cfg, const nlohmann::json& j, const std::string& origin);
/// Read a JSON config file and overlay it; throws Error.
void apply_config_file(BenchConfig& cfg, const std::string& path);
/// Every setting, for the report's context block.
nlohmann::json to_json(const BenchConfig& cfg);
/// Checks the sweep is not empty and values are sane; throws Error with a clear message.
void validate(const BenchConfig& cfg);
/// The timed iteration count when neither --iterations nor --duration is given.
inline constexpr int64_t kDefaultIterations = 100;

}  // namespace ortkit::bench
