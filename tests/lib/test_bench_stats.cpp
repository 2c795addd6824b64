// Statistics of ort-bench against values computed by hand or known from numpy / tables.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "ortkit/bench/stats.h"

using namespace ortkit::bench;

TEST_CASE("bench stats: percentiles match numpy's linear interpolation", "[bench][stats]") {
  std::vector<double> a = {1, 2, 3, 4};
  CHECK(percentile_sorted(a, 50) == Approx(2.5));   // numpy.percentile([1,2,3,4], 50)
  CHECK(percentile_sorted(a, 90) == Approx(3.7));   // ... 90 -> 3.7
  CHECK(percentile_sorted(a, 99) == Approx(3.97));  // ... 99 -> 3.97
  std::vector<double> b = {15, 20, 35, 40, 50};
  CHECK(percentile_sorted(b, 90) == Approx(46.0));
  CHECK(percentile_sorted(b, 0) == 15);
  CHECK(percentile_sorted(b, 100) == 50);
  CHECK(percentile_sorted({7}, 95) == 7);
}

TEST_CASE("bench stats: moments, min/max, CV of 1..100 in any order", "[bench][stats]") {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);
  std::shuffle(v.begin(), v.end(), std::mt19937(3));
  Stats s = compute_stats(v);
  CHECK(s.n == 100);
  CHECK(s.mean == Approx(50.5));
  CHECK(s.variance == Approx(833.25));  // (n^2 - 1) / 12, numpy.var
  CHECK(s.std == Approx(std::sqrt(833.25)));
  CHECK(s.cv == Approx(std::sqrt(833.25) / 50.5));
  CHECK(s.min == 1);
  CHECK(s.max == 100);
  CHECK(s.p50 == Approx(50.5));
  CHECK(s.p90 == Approx(90.1));
  CHECK(s.p99 == Approx(99.01));
  // Binomial table: the 95% CI of the median of 100 samples is [x(40), x(61)] (1-based).
  CHECK(s.ci_exact);
  CHECK(s.ci_low == 40);
  CHECK(s.ci_high == 61);
  CHECK(s.outliers == 0);
}

TEST_CASE("bench stats: median CI needs at least 6 samples", "[bench][stats]") {
  int64_t lo, hi;
  CHECK_FALSE(median_ci_indices(5, 0.95, lo, hi));
  CHECK(lo == 0);
  CHECK(hi == 4);
  CHECK(median_ci_indices(6, 0.95, lo, hi));  // 1 - 2/64 = 0.969
  CHECK(lo == 0);
  CHECK(hi == 5);
  CHECK(median_ci_indices(1000, 0.95, lo, hi));
  CHECK(lo == 468);  // normal approximation: 500 -/+ 1.96 * sqrt(1000) / 2 = 469..531 (1-based)
  CHECK(hi == 531);
  Stats s = compute_stats({1, 2, 3});
  CHECK_FALSE(s.ci_exact);
  CHECK(s.ci_low == 1);
  CHECK(s.ci_high == 3);
  CHECK(compute_stats({}).n == 0);
}

TEST_CASE("bench stats: the median CI covers the true median of a skewed distribution", "[bench][stats]") {
  // Log-normal latencies (median exp(0) = 1): over 400 seeded trials of 40 samples the 95% interval
  // must cover 1 in about 95% of them (the order-statistic interval is conservative: >= 95%).
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> d(0.0, 0.5);
  int covered = 0, trials = 400;
  for (int t = 0; t < trials; ++t) {
    std::vector<double> v(40);
    for (auto& x : v) x = d(rng);
    Stats s = compute_stats(v);
    covered += s.ci_low <= 1.0 && 1.0 <= s.ci_high;
  }
  CHECK(covered >= 0.93 * trials);
  CHECK(covered <= trials - 2);  // an interval that always covers would be useless
}

TEST_CASE("bench stats: exponential latencies give the known quantiles", "[bench][stats]") {
  std::mt19937_64 rng(11);
  std::exponential_distribution<double> d(1.0 / 2.0);  // mean 2 ms
  std::vector<double> v(40000);
  for (auto& x : v) x = d(rng);
  Stats s = compute_stats(v);
  CHECK(s.mean == Approx(2.0).epsilon(0.03));
  CHECK(s.p50 == Approx(2.0 * std::log(2.0)).epsilon(0.03));
  CHECK(s.p99 == Approx(2.0 * std::log(100.0)).epsilon(0.05));
  CHECK(s.cv == Approx(1.0).epsilon(0.03));
  CHECK(s.ci_low <= 2.0 * std::log(2.0));
  CHECK(s.ci_high >= 2.0 * std::log(2.0));
  // Q3 + 3 IQR = ln4*2 + 3*2*ln3 -> about 9.4 ms; P(X > 9.36) = exp(-4.68), about 0.9% of samples.
  CHECK(s.outliers > 0.005 * 40000);
  CHECK(s.outliers < 0.015 * 40000);
}

TEST_CASE("bench stats: outliers are slow samples beyond Q3 + 3 IQR", "[bench][stats]") {
  std::vector<double> v(99, 1.0);
  v.push_back(100.0);
  Stats s = compute_stats(v);
  CHECK(s.outliers == 1);
  CHECK(s.p50 == 1.0);
  CHECK(s.max == 100.0);
}

TEST_CASE("bench stats: Mann-Whitney U", "[bench][stats]") {
  std::vector<double> a, b;
  for (int i = 1; i <= 10; ++i) {
    a.push_back(i);
    b.push_back(i + 10);
  }
  // U = 0; z = (50 - 0.5) / sqrt(175) = 3.742; two-sided p = 1.83e-4.
  CHECK(mann_whitney_p(a, b) == Approx(1.83e-4).epsilon(0.02));
  CHECK(mann_whitney_p(b, a) == Approx(1.83e-4).epsilon(0.02));
  CHECK(mann_whitney_p(a, a) > 0.9);
  CHECK(mann_whitney_p({1, 1, 1}, {1, 1, 1}) == 1.0);  // all tied
  CHECK(mann_whitney_p({}, b) == 1.0);
  // Same distribution on both sides: the test must be significant at 5% in about 5% of trials.
  std::mt19937_64 rng(5);
  std::normal_distribution<double> d(10, 1);
  int false_positives = 0, trials = 400;
  for (int t = 0; t < trials; ++t) {
    std::vector<double> x(50), y(50);
    for (auto& v : x) v = d(rng);
    for (auto& v : y) v = d(rng);
    false_positives += mann_whitney_p(x, y) < 0.05;
  }
  CHECK(false_positives >= 0.02 * trials);
  CHECK(false_positives <= 0.08 * trials);
  std::vector<double> x(200), y(200);
  for (auto& v : x) v = d(rng);
  for (auto& v : y) v = d(rng) + 0.5;  // half a standard deviation slower: clearly significant at n = 200
  CHECK(mann_whitney_p(x, y) < 1e-4);
}
