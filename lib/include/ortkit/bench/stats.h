// Latency statistics for one benchmark point.
//
// Conventions (chosen so numbers line up with the peers and stay honest):
//  - percentiles use numpy's default linear interpolation (benchmark.py's method), so our p90/p95/p99
//    equal benchmark.py's on the same samples;
//  - QPS = batch * 1000 / mean_ms is benchmark.py's definition (derived from the mean serial latency);
//    the measured throughput (batch * iterations / wall time of the timed loop) is reported beside it;
//  - the 95% confidence interval of the median is distribution-free: two order statistics picked from
//    the Binomial(n, 1/2) law, so it holds for skewed, multi-modal latency distributions; below 6
//    samples no such interval reaches 95% and [min, max] is returned with ci_exact = false;
//  - an outlier is a sample above Q3 + 3 * IQR (Tukey's "far out" fence): slow iterations only.
#pragma once
#include <cstdint>
#include <vector>

namespace ortkit::bench {

struct Stats {
  int64_t n = 0;
  double mean = 0, variance = 0, std = 0;  ///< variance in ms^2 (population, like numpy.var)
  double min = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, max = 0;
  double cv = 0;                   ///< std / mean
  double ci_low = 0, ci_high = 0;  ///< 95% CI of the median
  bool ci_exact = false;           ///< false when n is too small for a 95% interval
  int64_t outliers = 0;
};

/// numpy.percentile(sorted, p) with linear interpolation; `sorted` ascending, p in [0, 100].
double percentile_sorted(const std::vector<double>& sorted, double p);

/// 0-based indices (lo, hi) of the order statistics bounding a `confidence` CI of the median of n samples.
/// Returns false (and 0, n-1) when n is too small to reach the confidence.
bool median_ci_indices(int64_t n, double confidence, int64_t& lo, int64_t& hi);

/// All statistics of latencies in milliseconds (any order). Empty input gives n = 0 and zeros.
Stats compute_stats(std::vector<double> latencies_ms);

/// Two-sided Mann-Whitney U test (normal approximation with tie correction and continuity correction).
/// Returns the p-value; 1.0 when either side is empty.
double mann_whitney_p(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace ortkit::bench
