#include "ortkit/bench/compare.h"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <map>

#include "ortkit/bench/report.h"
#include "ortkit/bench/stats.h"
#include "ortkit/error.h"

namespace ortkit::bench {

namespace {

// A past (KV-cache) length of 0 or none is left out, so reports from before --past still match.
std::string point_key(const nlohmann::json& p) {
  int64_t past = p.contains("past") && p["past"].is_number_integer() ? p["past"].get<int64_t>() : 0;
  return fmt::format("{} {} b{}{}{} t{}", p["model"].get<std::string>(), p["precision"].get<std::string>(),
                     p["batch"].get<int64_t>(),
                     p["seq"].is_null() ? "" : fmt::format(" s{}", p["seq"].get<int64_t>()),
                     past > 0 ? fmt::format(" p{}", past) : "", p["threads"].get<int>());
}

const char* metric_field(const std::string& m) {
  if (m == "p50") return "p50_ms";
  if (m == "mean") return "mean_ms";
  if (m == "p99") return "p99_ms";
  if (m == "qps") return "qps";
  throw Error("unknown metric '" + m + "' (expected p50, mean, p99 or qps)", "--metric");
}

std::map<std::string, nlohmann::json> index_points(const nlohmann::json& r, const std::string& side,
                                                   std::vector<std::string>& errors) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& p : r["points"]) {
    std::string k = point_key(p);
    if (!out.emplace(k, p).second) errors.push_back(side + " has the point '" + k + "' twice");
  }
  return out;
}

}  // namespace

void check_report(const nlohmann::json& r, const std::string& origin) {
  if (!r.is_object()) throw Error("not an ort-bench report (expected a JSON object)", origin);
  if (!r.contains("schema_version") || !r["schema_version"].is_number_integer())
    throw Error("not an ort-bench report (no integer schema_version)", origin);
  if (r["schema_version"].get<int>() != kReportSchemaVersion)
    throw Error(fmt::format("schema_version {} is not supported (this ort-bench reads {})",
                            r["schema_version"].get<int>(), kReportSchemaVersion),
                origin);
  if (!r.contains("points") || !r["points"].is_array()) throw Error("no \"points\" array", origin);
  size_t i = 0;
  for (const auto& p : r["points"]) {
    std::string where = fmt::format("{}: points[{}]", origin, i++);
    auto need = [&](const char* k, bool ok) {
      if (!p.contains(k) || !ok) throw Error(std::string("missing or wrong type: \"") + k + "\"", where);
    };
    if (!p.is_object()) throw Error("not an object", where);
    need("model", p.contains("model") && p["model"].is_string());
    need("precision", p.contains("precision") && p["precision"].is_string());
    need("batch", p.contains("batch") && p["batch"].is_number_integer());
    need("seq", p.contains("seq") && (p["seq"].is_null() || p["seq"].is_number_integer()));
    need("threads", p.contains("threads") && p["threads"].is_number_integer());
    if (p.contains("past") && !p["past"].is_null() && !p["past"].is_number_integer())
      throw Error("wrong type: \"past\" (an integer or null)", where);
    need("status", p.contains("status") && p["status"].is_string());
    need("stats", p.contains("stats") && (p["stats"].is_null() || p["stats"].is_object()));
    if (p["status"] == "ok") {
      const auto& s = p["stats"];
      for (const char* k : {"p50_ms", "mean_ms", "p99_ms", "qps"})
        if (!s.is_object() || !s.contains(k) || !s[k].is_number())
          throw Error(std::string("stats lacks a number \"") + k + "\"", where);
      if (!s.contains("ci95_median_ms") || !s["ci95_median_ms"].is_array() || s["ci95_median_ms"].size() != 2)
        throw Error("stats lacks \"ci95_median_ms\" [low, high]", where);
    }
  }
}

nlohmann::json load_report(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open report", path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("malformed JSON: ") + e.what(), path);
  }
  check_report(j, path);
  return j;
}

double parse_threshold(const std::string& s) {
  std::string t = s;
  if (!t.empty() && t.back() == '%') t.pop_back();
  try {
    size_t used = 0;
    double v = std::stod(t, &used);
    if (used != t.size() || v < 0 || !std::isfinite(v)) throw std::invalid_argument(s);
    return v / 100.0;
  } catch (const std::exception&) {
    throw Error("'" + s + "' is not a percentage (e.g. 5%)", "--threshold");
  }
}

CompareResult compare_reports(const nlohmann::json& base, const nlohmann::json& cur, double threshold,
                              const std::string& metric) {
  CompareResult res;
  const char* field = metric_field(metric);
  bool higher_is_better = metric == "qps";
  auto b = index_points(base, "the baseline", res.errors);
  auto c = index_points(cur, "the current report", res.errors);
  for (const auto& [k, _] : b)
    if (!c.count(k))
      res.errors.push_back("point '" + k + "' is in the baseline but not in the current report");
  for (const auto& [k, _] : c)
    if (!b.count(k))
      res.errors.push_back("point '" + k + "' is in the current report but not in the baseline");
  if (!res.errors.empty()) {
    res.exit_code = 2;
    for (const auto& e : res.errors) res.markdown += "- error: " + e + "\n";
    return res;
  }

  std::vector<std::string> regressions;
  for (const auto& [k, bp] : b) {
    const auto& cp = c.at(k);
    CompareRow row;
    row.point = k;
    bool b_ok = bp["status"] == "ok", c_ok = cp["status"] == "ok";
    if (!b_ok || !c_ok) {
      row.method = "status";
      if (b_ok && !c_ok) {
        row.verdict = "regressed";
        row.note = "now " + cp["status"].get<std::string>() + ": " + cp.value("reason", std::string());
        row.baseline = bp["stats"][field].get<double>();
      } else if (!b_ok && c_ok) {
        row.verdict = "new";
        row.note = "baseline was " + bp["status"].get<std::string>();
        row.current = cp["stats"][field].get<double>();
      } else {
        row.verdict = "skipped";
        row.note = "both " + cp["status"].get<std::string>();
      }
    } else {
      const auto& bs = bp["stats"];
      const auto& cs = cp["stats"];
      row.baseline = bs[field].get<double>();
      row.current = cs[field].get<double>();
      row.change = row.baseline != 0 ? (row.current - row.baseline) / row.baseline : 0;
      double worse = higher_is_better ? -row.change : row.change;  // > 0: slower
      bool significant;
      if (bp.contains("latencies_ms") && cp.contains("latencies_ms") && !bp["latencies_ms"].empty() &&
          !cp["latencies_ms"].empty()) {
        row.method = "mann-whitney";
        row.p_value = mann_whitney_p(bp["latencies_ms"].get<std::vector<double>>(),
                                     cp["latencies_ms"].get<std::vector<double>>());
        significant = row.p_value < 0.05;
      } else {
        row.method = "ci95-median";
        double blo = bs["ci95_median_ms"][0], bhi = bs["ci95_median_ms"][1];
        double clo = cs["ci95_median_ms"][0], chi = cs["ci95_median_ms"][1];
        significant = clo > bhi || chi < blo;
      }
      if (std::fabs(worse) <= threshold)
        row.verdict = "unchanged";
      else if (significant)
        row.verdict = worse > 0 ? "regressed" : "improved";
      else
        row.verdict = "inconclusive";
      if (row.verdict == "inconclusive")
        row.note = "beyond the threshold but not significant: measure longer";
    }
    if (row.verdict == "regressed") regressions.push_back(k);
    res.rows.push_back(row);
  }
  res.exit_code = regressions.empty() ? 0 : 1;

  std::string unit = higher_is_better ? "" : " ms";
  res.markdown = fmt::format("| point | baseline {}{} | current {}{} | change | verdict | test |\n", metric,
                             unit, metric, unit);
  res.markdown += "|---|---:|---:|---:|---|---|\n";
  for (const auto& r : res.rows) {
    std::string test =
        r.method == "mann-whitney" ? fmt::format("Mann-Whitney p={:.3g}", r.p_value) : r.method;
    std::string verdict = r.verdict == "regressed" ? "**regressed**" : r.verdict;
    if (!r.note.empty()) verdict += " (" + r.note + ")";
    res.markdown += fmt::format("| {} | {:.4g} | {:.4g} | {:+.1f}% | {} | {} |\n", r.point, r.baseline,
                                r.current, r.change * 100, verdict, test);
  }
  res.markdown += fmt::format("\nthreshold {:.1f}% on {}: ", threshold * 100, metric);
  if (regressions.empty()) {
    res.markdown += "no significant regression\n";
  } else {
    res.markdown += fmt::format("{} regression(s):\n", regressions.size());
    for (const auto& r : regressions) res.markdown += "- " + r + "\n";
  }
  return res;
}

}  // namespace ortkit::bench
