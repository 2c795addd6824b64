// CSV and terminal views of a report.
#include <fmt/format.h>

#include <algorithm>

#include "ortkit/bench/report.h"

namespace ortkit::bench {

namespace {

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

double num(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}
// Six decimals: sub-microsecond latencies of tiny models must not print as 0.0000.
std::string f6(double v) {
  return fmt::format("{:.6f}", v);
}

// The KV-cache length of a point; -1 when it has none (no past inputs, or a report from before --past).
int64_t past_of(const nlohmann::json& p) {
  return p.contains("past") && p["past"].is_number_integer() ? p["past"].get<int64_t>() : -1;
}

}  // namespace

const std::vector<std::string>& csv_columns() {
  static const std::vector<std::string> cols = {
      // benchmark.py (onnxruntime/python/tools/transformers) detail CSV, exact order.
      "engine", "version", "providers", "device", "precision", "optimizer", "io_binding", "model_name",
      "inputs", "threads", "batch_size", "sequence_length", "custom_layer_num", "datetime", "test_times",
      "QPS", "average_latency_ms", "latency_variance", "latency_90_percentile", "latency_95_percentile",
      "latency_99_percentile",
      // ours
      "past_sequence_length", "p50", "min", "max", "std", "ci_low", "ci_high", "throughput", "cv", "outliers",
      "load_ms", "compile_ms", "first_inference_ms", "status"};
  return cols;
}

std::string report_to_csv(const nlohmann::json& r) {
  std::string out;
  for (size_t i = 0; i < csv_columns().size(); ++i) {
    if (i) out += ',';
    out += csv_columns()[i];
  }
  out += "\n";
  std::string version = r["context"]["tool"]["version"].get<std::string>() + "+" +
                        r["context"]["tool"]["git_rev"].get<std::string>();
  for (const auto& p : r["points"]) {
    const auto& s = p["stats"];
    bool ok = s.is_object();
    auto stat = [&](const char* k) { return ok ? f6(num(s, k)) : std::string(); };
    const auto& t = p["timings"];
    std::vector<std::string> row = {
        "ortkit",
        version,
        "CPU",
        "cpu",
        p["precision"].get<std::string>(),
        "ortkit",
        "False",
        p["model"].get<std::string>(),
        std::to_string(p["num_inputs"].get<int>()),
        std::to_string(p["threads"].get<int>()),
        std::to_string(p["batch"].get<int64_t>()),
        p["seq"].is_null() ? std::string() : std::to_string(p["seq"].get<int64_t>()),
        "None",
        p["datetime"].get<std::string>(),
        ok ? std::to_string(s["iterations"].get<int64_t>()) : std::string(),
        stat("qps"),
        stat("mean_ms"),
        stat("variance_ms2"),
        stat("p90_ms"),
        stat("p95_ms"),
        stat("p99_ms"),
        past_of(p) < 0 ? std::string() : std::to_string(past_of(p)),
        stat("p50_ms"),
        stat("min_ms"),
        stat("max_ms"),
        stat("std_ms"),
        ok ? f6(s["ci95_median_ms"][0].get<double>()) : std::string(),
        ok ? f6(s["ci95_median_ms"][1].get<double>()) : std::string(),
        stat("throughput"),
        stat("cv"),
        ok ? std::to_string(s["outliers"].get<int64_t>()) : std::string(),
        f6(num(t, "load_ms")),
        f6(num(t, "compile_ms")),
        f6(num(t, "first_inference_ms")),
        p["status"].get<std::string>()};
    for (size_t i = 0; i < row.size(); ++i) {
      if (i) out += ',';  // (gcc 12 warns falsely on "," + std::string&&)
      out += csv_escape(row[i]);
    }
    out += "\n";
  }
  return out;
}

namespace {
/// --profile: per profiled point, the op types and the slowest nodes.
std::string profile_tables(const nlohmann::json& r) {
  constexpr size_t kTypes = 8, kNodes = 10;
  std::string out;
  for (const auto& p : r["points"]) {
    if (!p.contains("profile")) continue;
    const auto& pr = p["profile"];
    out += fmt::format(
        "\nprofile: {} {} b{}{} t{}: {} runs, {:.4g} ms per run inside nodes\n",
        p["model"].get<std::string>(), p["precision"].get<std::string>(), p["batch"].get<int64_t>(),
        p["seq"].is_null() ? std::string() : " s" + std::to_string(p["seq"].get<int64_t>()),
        p["threads"].get<int>(), pr["runs"].get<int64_t>(), pr["total_ms_per_run"].get<double>());
    out += fmt::format("  {:<32} {:>5} {:>10} {:>6}\n", "op type", "nodes", "ms/run", "%");
    size_t i = 0;
    for (const auto& t : pr["op_types"]) {
      if (i++ == kTypes) break;
      out += fmt::format("  {:<32} {:>5} {:>10.4g} {:>5.1f}%\n", t["op_type"].get<std::string>(),
                         t["nodes"].get<int>(), t["ms_per_run"].get<double>(), t["percent"].get<double>());
    }
    std::vector<const nlohmann::json*> nodes;
    for (const auto& n : pr["nodes"]) nodes.push_back(&n);
    std::stable_sort(nodes.begin(), nodes.end(), [](const nlohmann::json* a, const nlohmann::json* b) {
      return (*a)["ms_per_run"].get<double>() > (*b)["ms_per_run"].get<double>();
    });
    out += fmt::format("  {:<48} {:<20} {:>10} {:>6}\n", "slowest nodes", "op type", "ms/run", "%");
    for (size_t k = 0; k < nodes.size() && k < kNodes; ++k) {
      std::string name = (*nodes[k])["name"].get<std::string>();
      if (name.size() > 48) name = "..." + name.substr(name.size() - 45);
      std::string op = (*nodes[k])["op_type"].get<std::string>();
      if (op.size() > 20) op = op.substr(op.size() - 20);
      out += fmt::format("  {:<48} {:<20} {:>10.4g} {:>5.1f}%\n", name, op,
                         (*nodes[k])["ms_per_run"].get<double>(), (*nodes[k])["percent"].get<double>());
    }
  }
  return out;
}
}  // namespace

std::string report_to_table(const nlohmann::json& r) {
  std::string out =
      fmt::format("{:<24} {:<5} {:>5} {:>5} {:>5} {:>3} {:>6} {:>10} {:>21} {:>10} {:>10} {:>10} {:>6}  {}\n",
                  "model", "prec", "batch", "seq", "past", "thr", "iters", "p50 ms", "95% CI of p50",
                  "mean ms", "p99 ms", "QPS", "CV", "status");
  for (const auto& p : r["points"]) {
    std::string model = p["model"].get<std::string>();
    if (model.size() > 24) model = "..." + model.substr(model.size() - 21);
    std::string seq = p["seq"].is_null() ? "-" : std::to_string(p["seq"].get<int64_t>());
    std::string past = past_of(p) < 0 ? "-" : std::to_string(past_of(p));
    const auto& s = p["stats"];
    if (s.is_object()) {
      out += fmt::format(
          "{:<24} {:<5} {:>5} {:>5} {:>5} {:>3} {:>6} {:>10.4g} {:>21} {:>10.4g} {:>10.4g} {:>10.1f} "
          "{:>5.1f}%  "
          "{}\n",
          model, p["precision"].get<std::string>(), p["batch"].get<int64_t>(), seq, past,
          p["threads"].get<int>(), s["iterations"].get<int64_t>(), num(s, "p50_ms"),
          fmt::format("[{:.4g}, {:.4g}]", s["ci95_median_ms"][0].get<double>(),
                      s["ci95_median_ms"][1].get<double>()),
          num(s, "mean_ms"), num(s, "p99_ms"), num(s, "qps"), num(s, "cv") * 100,
          p["warnings"].empty() ? std::string("ok")
                                : "ok (" + std::to_string(p["warnings"].size()) + " warnings)");
    } else {
      out += fmt::format("{:<24} {:<5} {:>5} {:>5} {:>5} {:>3}  {}: {}\n", model,
                         p["precision"].get<std::string>(), p["batch"].get<int64_t>(), seq, past,
                         p["threads"].get<int>(), p["status"].get<std::string>(),
                         p["reason"].get<std::string>());
    }
  }
  out += profile_tables(r);
  std::vector<std::string> warnings;
  for (const auto& w : r["context"]["warnings"]) warnings.push_back(w.get<std::string>());
  for (const auto& p : r["points"])
    for (const auto& w : p["warnings"])
      warnings.push_back(p["model"].get<std::string>() + " " + p["precision"].get<std::string>() + " b" +
                         std::to_string(p["batch"].get<int64_t>()) +
                         (p["seq"].is_null() ? "" : " s" + std::to_string(p["seq"].get<int64_t>())) +
                         (past_of(p) < 0 ? "" : " p" + std::to_string(past_of(p))) + " t" +
                         std::to_string(p["threads"].get<int>()) + ": " + w.get<std::string>());
  for (const auto& w : warnings) out += "warning: " + w + "\n";
  if (!r["complete"].get<bool>()) out += "warning: interrupted: the report holds only the points finished\n";
  return out;
}

}  // namespace ortkit::bench
