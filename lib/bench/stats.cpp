#include "ortkit/bench/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ortkit::bench {

double percentile_sorted(const std::vector<double>& s, double p) {
  if (s.empty()) return 0;
  // numpy 'linear': virtual index (n-1)*p/100, interpolate between its neighbours.
  double idx = (static_cast<double>(s.size()) - 1) * std::clamp(p, 0.0, 100.0) / 100.0;
  size_t lo = static_cast<size_t>(std::floor(idx));
  size_t hi = std::min(lo + 1, s.size() - 1);
  double frac = idx - static_cast<double>(lo);
  return s[lo] + (s[hi] - s[lo]) * frac;
}

namespace {
// log of the Binomial(n, 1/2) pmf at k, through lgamma so large n does not overflow.
double log_binom_half(int64_t n, int64_t k) {
  return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) - n * std::log(2.0);
}
}  // namespace

bool median_ci_indices(int64_t n, double confidence, int64_t& lo, int64_t& hi) {
  lo = 0;
  hi = n > 0 ? n - 1 : 0;
  if (n <= 0) return false;
  // With B ~ Bin(n, 1/2) the number of samples below the median, [x_(j), x_(n-1-j)] (0-based) covers the
  // median with probability P(j < B <= n-1-j) + ... = 1 - 2 * P(B <= j). Take the largest such j.
  double tail = 0;  // P(B <= j)
  int64_t best = -1;
  for (int64_t j = 0; j < n / 2; ++j) {
    tail += std::exp(log_binom_half(n, j));
    if (1.0 - 2.0 * tail >= confidence)
      best = j;
    else
      break;
  }
  if (best < 0) return false;
  lo = best;
  hi = n - 1 - best;
  return true;
}

Stats compute_stats(std::vector<double> v) {
  Stats st;
  st.n = static_cast<int64_t>(v.size());
  if (v.empty()) return st;
  std::sort(v.begin(), v.end());
  double n = static_cast<double>(v.size());
  st.mean = std::accumulate(v.begin(), v.end(), 0.0) / n;
  double ss = 0;
  for (double x : v) ss += (x - st.mean) * (x - st.mean);
  st.variance = ss / n;
  st.std = std::sqrt(st.variance);
  st.cv = st.mean > 0 ? st.std / st.mean : 0;
  st.min = v.front();
  st.max = v.back();
  st.p50 = percentile_sorted(v, 50);
  st.p90 = percentile_sorted(v, 90);
  st.p95 = percentile_sorted(v, 95);
  st.p99 = percentile_sorted(v, 99);
  int64_t lo, hi;
  st.ci_exact = median_ci_indices(st.n, 0.95, lo, hi);
  st.ci_low = v[static_cast<size_t>(lo)];
  st.ci_high = v[static_cast<size_t>(hi)];
  double q1 = percentile_sorted(v, 25), q3 = percentile_sorted(v, 75);
  double fence = q3 + 3.0 * (q3 - q1);
  st.outliers = std::count_if(v.begin(), v.end(), [&](double x) { return x > fence; });
  return st;
}

double mann_whitney_p(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.empty() || b.empty()) return 1.0;
  struct Obs {
    double x;
    int side;
  };
  std::vector<Obs> all;
  all.reserve(a.size() + b.size());
  for (double x : a) all.push_back({x, 0});
  for (double x : b) all.push_back({x, 1});
  std::sort(all.begin(), all.end(), [](const Obs& l, const Obs& r) { return l.x < r.x; });
  double n1 = static_cast<double>(a.size()), n2 = static_cast<double>(b.size()), n = n1 + n2;
  double rank_sum_a = 0, tie_term = 0;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].x == all[i].x) ++j;
    double avg_rank = (static_cast<double>(i + j) + 1.0) / 2.0;  // ranks i+1 .. j
    double t = static_cast<double>(j - i);
    tie_term += t * t * t - t;
    for (size_t k = i; k < j; ++k)
      if (all[k].side == 0) rank_sum_a += avg_rank;
    i = j;
  }
  double u = rank_sum_a - n1 * (n1 + 1) / 2;
  double mu = n1 * n2 / 2;
  double sigma2 = n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1)));
  if (sigma2 <= 0) return 1.0;  // every value tied: no evidence of a difference
  double z = (std::fabs(u - mu) - 0.5) / std::sqrt(sigma2);
  if (z < 0) z = 0;
  return std::erfc(z / std::sqrt(2.0));
}

}  // namespace ortkit::bench
