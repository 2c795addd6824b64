// The CI regression gate: compare two ort-bench reports point by point.
//
// Points are matched by (model, precision, batch, seq, threads). For each pair the chosen metric's
// relative change decides the size of a difference and a test decides whether it is real:
//  - both reports hold raw latencies (--raw): a two-sided Mann-Whitney U test, significant at p < 0.05;
//  - otherwise: the 95% confidence intervals of the median (significant when they do not overlap).
// Verdict: regressed (significant and worse than the threshold), improved (significant and better than
// the threshold), unchanged (within the threshold), inconclusive (beyond the threshold but not
// significant: measure longer). A point that ran in the baseline but failed now counts as regressed.
// Exit code: 0 no regression, 1 one or more regressions (named), 2 bad input (unreadable, malformed,
// wrong schema version, points missing on one side).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ortkit::bench {

struct CompareRow {
  std::string point;                             ///< "bert-base fp32 b1 s128 t2"
  double baseline = 0, current = 0, change = 0;  ///< change: (current - baseline) / baseline
  double p_value = -1;                           ///< Mann-Whitney p, -1 when CIs were used
  std::string verdict, method, note;
};

struct CompareResult {
  std::vector<CompareRow> rows;
  std::vector<std::string> errors;  ///< bad input; non-empty means exit 2
  int exit_code = 0;
  std::string markdown;
};

/// Reads and structurally checks a report; throws Error naming the file and the problem.
nlohmann::json load_report(const std::string& path);
/// Throws Error when `r` is not an ort-bench report of a schema version we understand.
void check_report(const nlohmann::json& r, const std::string& origin);
/// "5%" or "5" -> 0.05; throws Error.
double parse_threshold(const std::string& s);

/// metric: "p50", "mean", "p99" or "qps".
CompareResult compare_reports(const nlohmann::json& baseline, const nlohmann::json& current, double threshold,
                              const std::string& metric);

}  // namespace ortkit::bench
