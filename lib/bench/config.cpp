#include "ortkit/bench/config.h"

#include <sched.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "ortkit/error.h"

namespace ortkit::bench {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) {
    cur.erase(0, cur.find_first_not_of(" \t"));
    cur.erase(cur.find_last_not_of(" \t") + 1);
    if (!cur.empty()) out.push_back(cur);
  }
  return out;
}

int64_t parse_int(const std::string& item, const std::string& what) {
  try {
    size_t used = 0;
    long long v = std::stoll(item, &used);
    if (used != item.size()) throw std::invalid_argument(item);
    return v;
  } catch (const std::exception&) {
    throw Error("'" + item + "' is not an integer", what);
  }
}

// A JSON value that may be an array or a comma string, as one comma string.
std::string as_list_string(const nlohmann::json& v, const std::string& key) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_array()) {
    std::string s;
    for (const auto& e : v) {
      if (!s.empty()) s += ",";
      if (e.is_string())
        s += e.get<std::string>();
      else if (e.is_number_integer())
        s += std::to_string(e.get<int64_t>());
      else
        throw Error("items must be numbers or strings", key);
    }
    return s;
  }
  throw Error("expected a list, a number or a string", key);
}

}  // namespace

int nproc() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

std::vector<int64_t> parse_int_list(const std::string& s, const std::string& what, int64_t min) {
  std::vector<int64_t> out;
  for (const auto& item : split(s, ',')) {
    int64_t v = parse_int(item, what);
    if (v < min)
      throw Error(min == 1 ? "values must be positive, got " + item
                           : "values must be >= " + std::to_string(min) + ", got " + item,
                  what);
    out.push_back(v);
  }
  if (out.empty()) throw Error("empty list: give at least one value", what);
  return out;
}

std::vector<int> parse_threads(const std::string& s) {
  std::vector<int> out;
  auto value = [](const std::string& t) -> int64_t {
    if (t == "nproc") return nproc();
    return parse_int(t, "--threads");
  };
  for (const auto& item : split(s, ',')) {
    auto dots = item.find("..");
    if (dots == std::string::npos) {
      out.push_back(static_cast<int>(value(item)));
    } else {
      int64_t a = value(item.substr(0, dots)), b = value(item.substr(dots + 2));
      if (a > b) throw Error("range '" + item + "' is empty", "--threads");
      for (int64_t t = a; t <= b; ++t) out.push_back(static_cast<int>(t));
    }
  }
  if (out.empty()) throw Error("empty list: give at least one thread count", "--threads");
  for (int t : out)
    if (t <= 0 || t > 1024)
      throw Error("thread count " + std::to_string(t) + " is out of range", "--threads");
  return out;
}

double parse_duration(const std::string& s) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    throw Error("'" + s + "' is not a duration (e.g. 10s, 500ms, 2m)", "--duration");
  }
  std::string unit = s.substr(used);
  double scale = unit.empty() || unit == "s"    ? 1
                 : unit == "ms"                 ? 1e-3
                 : unit == "m" || unit == "min" ? 60
                                                : -1;
  if (scale < 0 || v <= 0)
    throw Error("'" + s + "' is not a positive duration (e.g. 10s, 500ms, 2m)", "--duration");
  return v * scale;
}

std::vector<std::string> parse_precisions(const std::string& s) {
  auto out = split(s, ',');
  if (out.empty()) throw Error("empty list: give at least one of fp32, bf16, int8", "--precision");
  for (const auto& p : out)
    if (p != "fp32" && p != "bf16" && p != "int8")
      throw Error("unknown precision '" + p + "' (expected fp32, bf16 or int8)", "--precision");
  return out;
}

void apply_json(BenchConfig& cfg, const nlohmann::json& j, const std::string& origin) {
  if (!j.is_object()) throw Error("a config must be a JSON object", origin);
  for (const auto& [key, v] : j.items()) {
    std::string where = origin + ": \"" + key + "\"";
    try {
      if (key == "model" || key == "models") {
        cfg.models.clear();
        if (v.is_string())
          cfg.models.push_back(v.get<std::string>());
        else
          for (const auto& m : v) cfg.models.push_back(m.get<std::string>());
      } else if (key == "batch") {
        cfg.batch = parse_int_list(as_list_string(v, where), where);
      } else if (key == "seq") {
        cfg.seq = parse_int_list(as_list_string(v, where), where);
      } else if (key == "past") {
        cfg.past = parse_int_list(as_list_string(v, where), where, 0);
      } else if (key == "precision") {
        cfg.precision = parse_precisions(as_list_string(v, where));
      } else if (key == "threads") {
        cfg.threads = parse_threads(as_list_string(v, where));
      } else if (key == "warmup") {
        cfg.warmup = v.get<int64_t>();
      } else if (key == "iterations") {
        cfg.iterations = v.get<int64_t>();
      } else if (key == "duration") {
        cfg.duration_s = v.is_number() ? v.get<double>() : parse_duration(v.get<std::string>());
      } else if (key == "min_iterations") {
        cfg.min_iterations = v.get<int64_t>();
      } else if (key == "seed") {
        cfg.seed = v.get<uint64_t>();
      } else if (key == "json") {
        cfg.json = v.get<std::string>();
      } else if (key == "csv") {
        cfg.csv = v.get<std::string>();
      } else if (key == "raw") {
        cfg.raw = v.get<bool>();
      } else if (key == "profile") {
        cfg.profile = v.get<bool>();
      } else if (key == "quiet") {
        cfg.quiet = v.get<bool>();
      } else if (key == "padding") {
        cfg.padding = v.get<double>();
      } else if (key == "input_dir") {
        cfg.input_dir = v.get<std::string>();
      } else if (key == "cv_threshold") {
        cfg.cv_threshold = v.get<double>();
      } else if (key == "description" || key.starts_with("_")) {
        // Free text for humans.
      } else {
        throw Error("unknown key (see docs/ort-bench.md for the keys)", where);
      }
    } catch (const nlohmann::json::exception& e) {
      throw Error(std::string("wrong type: ") + e.what(), where);
    }
  }
}

void apply_config_file(BenchConfig& cfg, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open config file", path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in, nullptr, true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("malformed JSON: ") + e.what(), path);
  }
  apply_json(cfg, j, path);
}

nlohmann::json to_json(const BenchConfig& c) {
  return {{"models", c.models},
          {"batch", c.batch},
          {"seq", c.seq},
          {"past", c.past},
          {"precision", c.precision},
          {"threads", c.threads},
          {"warmup", c.warmup},
          {"iterations", c.iterations},
          {"duration_s", c.duration_s},
          {"min_iterations", c.min_iterations},
          {"seed", c.seed},
          {"json", c.json},
          {"csv", c.csv},
          {"raw", c.raw},
          {"profile", c.profile},
          {"padding", c.padding},
          {"input_dir", c.input_dir},
          {"cv_threshold", c.cv_threshold}};
}

void validate(const BenchConfig& c) {
  if (c.models.empty()) throw Error("no model given: use --model PATH|zoo-name (repeatable)", "sweep");
  if (c.precision.empty()) throw Error("empty precision list", "--precision");
  if (c.threads.empty()) throw Error("empty thread list", "--threads");
  if (c.warmup < 0) throw Error("must be >= 0", "--warmup");
  if (c.iterations < 0) throw Error("must be >= 0", "--iterations");
  if (c.duration_s < 0) throw Error("must be > 0", "--duration");
  if (c.min_iterations < 1) throw Error("must be >= 1", "--min-iterations");
  if (!(c.padding >= 0 && c.padding < 1)) throw Error("must be in [0, 1)", "--padding");
  if (!(c.cv_threshold > 0)) throw Error("must be > 0", "cv_threshold");
  if (!c.input_dir.empty() && (c.batch.size() > 1 || c.seq.size() > 1))
    throw Error("--input-dir fixes the input shapes; drop the --batch/--seq sweep", "--input-dir");
  if (!c.input_dir.empty() && !c.past.empty())
    throw Error("--input-dir fixes the input shapes (the KV cache too); drop --past", "--input-dir");
  for (int64_t p : c.past)
    if (p < 0) throw Error("KV-cache lengths must be >= 0", "--past");
}

}  // namespace ortkit::bench
