#include "quant/range_collector.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ortkit/error.h"

namespace ortkit::quant {

RangeCollector::RangeCollector(int bins, bool histogram)
    : bins_(bins),
      use_hist_(histogram),
      min_(std::numeric_limits<float>::max()),
      max_(std::numeric_limits<float>::lowest()) {
  if (bins < 2 || bins % 2) throw Error("histogram bins must be even and >= 2");
  if (use_hist_) h_.assign(static_cast<size_t>(2 * bins), 0);
}

void RangeCollector::grow_to(double a) {
  if (R_ == 0) {
    // First non-zero value: R is the next power of two, so later growth merges bins exactly.
    R_ = std::exp2(std::ceil(std::log2(a)));
    h_[static_cast<size_t>(bins_)] += zeros_before_;  // 0 falls in the first bin right of center
    zeros_before_ = 0;
    return;
  }
  while (R_ < a) {
    // Old bin i covers [-R + i w, -R + (i+1) w] = [-2R + (bins + i) w, ...]: new bin (bins + i) / 2.
    std::vector<uint64_t> n(h_.size(), 0);
    for (size_t i = 0; i < h_.size(); ++i) n[(static_cast<size_t>(bins_) + i) / 2] += h_[i];
    h_.swap(n);
    R_ *= 2;
  }
}

void RangeCollector::add(const float* x, size_t n) {
  if (n == 0) return;
  float lo = min_, hi = max_;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) throw Error("NaN or Inf in a calibration tensor");
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  min_ = lo;
  max_ = hi;
  count_ += n;
  if (!use_hist_) return;
  double a = std::max(std::abs(static_cast<double>(lo)), std::abs(static_cast<double>(hi)));
  if (a > 0 && a > R_) grow_to(a);
  if (R_ == 0) {
    zeros_before_ += n;
    return;
  }
  const double scale = bins_ / R_;
  const int64_t last = 2 * static_cast<int64_t>(bins_) - 1;
  for (size_t i = 0; i < n; ++i) {
    int64_t b = static_cast<int64_t>(std::floor((x[i] + R_) * scale));
    h_[static_cast<size_t>(std::clamp<int64_t>(b, 0, last))]++;
  }
}

TensorRange RangeCollector::minmax() const {
  if (count_ == 0) return {0, 0};
  return {min_, max_};
}

TensorRange RangeCollector::percentile(double p) const {
  if (count_ == 0) return {0, 0};
  if (!use_hist_ || R_ == 0) return minmax();
  if (!(p > 0 && p <= 100)) throw Error("percentile must be in (0, 100]");
  const double w = R_ / bins_;
  const double total = static_cast<double>(count_);
  const double tail = total * (100.0 - p) / 100.0;
  // Lower edge: the first bin whose cumulative count exceeds the lower tail.
  double cum = 0;
  size_t lo_bin = 0;
  for (; lo_bin < h_.size(); ++lo_bin) {
    cum += static_cast<double>(h_[lo_bin]);
    if (cum > tail) break;
  }
  cum = 0;
  size_t hi_bin = h_.size() - 1;
  for (size_t k = h_.size(); k-- > 0;) {
    cum += static_cast<double>(h_[k]);
    hi_bin = k;
    if (cum > tail) break;
  }
  float lo = static_cast<float>(-R_ + static_cast<double>(lo_bin) * w);
  float hi = static_cast<float>(-R_ + static_cast<double>(hi_bin + 1) * w);
  return {std::clamp(lo, min_, max_), std::clamp(hi, min_, max_)};
}

TensorRange RangeCollector::entropy(int levels) const {
  if (count_ == 0) return {0, 0};
  if (!use_hist_ || R_ == 0) return minmax();
  // Histogram of |x|: bins_ bins over [0, R].
  std::vector<double> a(static_cast<size_t>(bins_), 0);
  for (int i = 0; i < bins_; ++i)
    a[static_cast<size_t>(i)] =
        static_cast<double>(h_[static_cast<size_t>(bins_ + i)] + h_[static_cast<size_t>(bins_ - 1 - i)]);
  int last_nz = bins_;
  while (last_nz > 0 && a[static_cast<size_t>(last_nz - 1)] == 0) --last_nz;
  double best = std::numeric_limits<double>::max();
  int best_i = last_nz;
  std::vector<double> p, q;
  for (int i = std::min(levels, last_nz); i <= last_nz; ++i) {
    // P: the first i bins with the clipped outliers folded into the last one.
    p.assign(a.begin(), a.begin() + i);
    for (int k = i; k < bins_; ++k) p[static_cast<size_t>(i - 1)] += a[static_cast<size_t>(k)];
    // Q: the first i bins merged into `levels` groups, each spread over its non-empty bins.
    q.assign(static_cast<size_t>(i), 0);
    for (int g = 0; g < levels; ++g) {
      int b0 = g * i / levels, b1 = (g + 1) * i / levels;
      double sum = 0;
      int nz = 0;
      for (int k = b0; k < b1; ++k) {
        sum += a[static_cast<size_t>(k)];
        nz += a[static_cast<size_t>(k)] > 0;
      }
      for (int k = b0; k < b1; ++k)
        if (a[static_cast<size_t>(k)] > 0) q[static_cast<size_t>(k)] = sum / nz;
    }
    double ps = 0, qs = 0;
    for (int k = 0; k < i; ++k) ps += p[static_cast<size_t>(k)], qs += q[static_cast<size_t>(k)];
    if (ps == 0 || qs == 0) continue;
    double kl = 0;
    for (int k = 0; k < i; ++k) {
      double pk = p[static_cast<size_t>(k)] / ps, qk = q[static_cast<size_t>(k)] / qs;
      if (pk > 0) kl += pk * std::log(pk / (qk > 0 ? qk : 1e-12));
    }
    if (kl < best) best = kl, best_i = i;
  }
  float t = static_cast<float>(best_i * (R_ / bins_));
  return {std::max(min_, -t), std::min(max_, t)};
}

}  // namespace ortkit::quant
