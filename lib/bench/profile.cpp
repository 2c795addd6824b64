// Summaries of a point's per-node profile (ort-bench run --profile) for the reports.
#include <algorithm>
#include <map>

#include "ortkit/bench/sweep.h"

namespace ortkit::bench {

double profile_ms_per_run(const PointResult& p) {
  if (p.profile_runs <= 0) return 0;
  double total = 0;
  for (const NodeProfile& n : p.profile) total += n.total_ms;
  return total / static_cast<double>(p.profile_runs);
}

std::vector<OpTypeTime> profile_by_op_type(const PointResult& p) {
  std::vector<OpTypeTime> out;
  const double total = profile_ms_per_run(p);
  if (total <= 0) return out;
  std::map<std::string, OpTypeTime> by;
  for (const NodeProfile& n : p.profile) {
    OpTypeTime& t = by[n.op_type];
    t.op_type = n.op_type;
    ++t.nodes;
    t.ms_per_run += n.total_ms / static_cast<double>(p.profile_runs);
  }
  for (auto& [k, t] : by) {
    t.percent = 100.0 * t.ms_per_run / total;
    out.push_back(t);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const OpTypeTime& a, const OpTypeTime& b) { return a.ms_per_run > b.ms_per_run; });
  return out;
}

}  // namespace ortkit::bench
