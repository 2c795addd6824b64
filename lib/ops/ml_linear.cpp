// Linear models and feature scaling of the ai.onnx.ml domain, as sklearn-onnx writes them for
// LinearRegression / Ridge / Lasso (LinearRegressor), LogisticRegression / LinearSVC / SGDClassifier
// (LinearClassifier), StandardScaler / MinMaxScaler / MaxAbsScaler (Scaler) and sklearn's Normalizer.
// X is f32, f64, i64 or i32, [N, F] or [F]; outputs are float. Scores are finished as ONNX Runtime does:
// more than one score per row takes the post transform; a single score takes only PROBIT, and a
// one-score classifier with two labels writes [1 - p, p], p the score or under LOGISTIC its logistic
// (the label by the score's sign).
#include "ops/ml_transform.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

/// Y = X W^T + b for W [targets, features] (coefficients row-major), b one per target.
class LinearBase : public OpKernel {
 protected:
  void load(CompileContext& cc, const std::vector<float>& intercepts, int64_t targets) {
    ml_rows_and_features(cc, rows_, features_);
    targets_ = targets;
    const std::vector<float> w = cc.attr().get_floats("coefficients");
    if (targets_ < 1 || targets_ > (int64_t{1} << 20))
      cc.fail("the number of targets must be in [1, 2^20], got " + std::to_string(targets_));
    if (static_cast<int64_t>(w.size()) != targets_ * features_)
      cc.fail(std::to_string(w.size()) + " coefficients for " + std::to_string(targets_) + " targets of " +
              std::to_string(features_) + " features (X is " + shape_str(cc.input(0).shape) + ")");
    if (!intercepts.empty() && static_cast<int64_t>(intercepts.size()) != targets_)
      cc.fail(std::to_string(intercepts.size()) + " intercepts for " + std::to_string(targets_) + " targets");
    w_.assign(w.begin(), w.end());
    b_.assign(static_cast<size_t>(targets_), 0.0);
    for (size_t t = 0; t < intercepts.size(); ++t) b_[t] = intercepts[t];
    post_ = post_from_name(cc, cc.attr().get_string("post_transform", "NONE"));
    row_.assign(static_cast<size_t>(targets_), 0.0);
  }
  /// The scores of row r into row_, before any transform.
  void score(const Tensor& x, int64_t r) {
    for (int64_t t = 0; t < targets_; ++t) {
      double s = b_[static_cast<size_t>(t)];
      const double* w = w_.data() + t * features_;
      for (int64_t f = 0; f < features_; ++f) s += w[f] * number_at(x, r * features_ + f);
      row_[static_cast<size_t>(t)] = s;
    }
  }
  /// The post transform of row_: per row when there are several scores, PROBIT alone for one.
  void transform() {
    if (targets_ > 1)
      post_transform(post_, row_);
    else if (post_ == Post::probit)
      row_[0] = probit(row_[0]);
  }

  int64_t rows_ = 0, features_ = 0, targets_ = 0;
  std::vector<double> w_, b_, row_;
  Post post_ = Post::none;
};

class LinearRegressor : public LinearBase {
 public:
  void compile(CompileContext& cc) override {
    load(cc, cc.attr().get_floats("intercepts", {}), cc.attr().get_int("targets", 1));
    cc.set_output(0, DType::f32, {rows_, targets_});
  }
  void run(RunContext& rc) override {
    float* y = rc.output(0).data_as<float>();
    for (int64_t r = 0; r < rows_; ++r) {
      score(rc.input(0), r);
      transform();
      for (int64_t t = 0; t < targets_; ++t)
        y[r * targets_ + t] = static_cast<float>(row_[static_cast<size_t>(t)]);
    }
  }
};

class LinearClassifier : public LinearBase {
 public:
  void compile(CompileContext& cc) override {
    const Attrs& a = cc.attr();
    labels_.load(cc, "classlabels_ints");
    const std::vector<float> intercepts = a.get_floats("intercepts", {});
    const int64_t labels = labels_.size();
    // One row of coefficients per score: as many as the intercepts (ONNX Runtime's count), else per label.
    const int64_t scores = intercepts.empty() ? labels : static_cast<int64_t>(intercepts.size());
    load(cc, intercepts, scores);
    if (scores > 1 && labels != scores)
      cc.fail(std::to_string(labels) + " class labels for " + std::to_string(scores) + " scores");
    two_from_one_ = scores == 1 && labels == 2;
    labels_.declare(cc, rows_);
    cc.set_output(1, DType::f32, {rows_, two_from_one_ ? 2 : scores});
  }
  void run(RunContext& rc) override {
    Tensor& labels = labels_.allocate(rc, rows_);
    float* z = rc.output(1).data_as<float>();
    const int64_t width = two_from_one_ ? 2 : targets_;
    for (int64_t r = 0; r < rows_; ++r) {
      score(rc.input(0), r);
      // The label comes from the raw scores: the first highest, or for one score its sign.
      int64_t best = 0;
      if (targets_ == 1) {
        best = row_[0] > 0 ? 1 : 0;
      } else {
        for (int64_t t = 1; t < targets_; ++t)
          if (row_[static_cast<size_t>(t)] > row_[static_cast<size_t>(best)]) best = t;
      }
      // Label k, or for one score without two labels the value 1 / 0.
      labels_.write(labels, r, best, targets_ == 1 && !two_from_one_);
      if (two_from_one_ && post_ != Post::probit) {  // [1 - p, p], p the score or its logistic
        const double p = post_ == Post::logistic ? logistic(row_[0]) : row_[0];
        z[r * 2] = static_cast<float>(1 - p);
        z[r * 2 + 1] = static_cast<float>(p);
        continue;
      }
      transform();
      for (int64_t t = 0; t < targets_; ++t)
        z[r * width + t] = static_cast<float>(row_[static_cast<size_t>(t)]);
      if (two_from_one_) z[r * 2 + 1] = 0.f;
    }
  }

 private:
  bool two_from_one_ = false;
  ClassLabels labels_;
};

/// (x - offset) * scale, each one value or one per feature.
class Scaler : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    ml_rows_and_features(cc, rows_, features_);
    offset_ = cc.attr().get_floats("offset", {0.f});
    scale_ = cc.attr().get_floats("scale", {1.f});
    for (const auto* v : {&offset_, &scale_})
      if (v->size() != 1 && static_cast<int64_t>(v->size()) != features_)
        cc.fail(std::string(v == &offset_ ? "offset" : "scale") + " has " + std::to_string(v->size()) +
                " values; X has " + std::to_string(features_) + " features");
    cc.set_output(0, DType::f32, cc.input(0).shape);
  }
  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    float* y = rc.output(0).data_as<float>();
    for (int64_t r = 0; r < rows_; ++r)
      for (int64_t f = 0; f < features_; ++f) {
        const float o = offset_[offset_.size() == 1 ? 0 : static_cast<size_t>(f)];
        const float s = scale_[scale_.size() == 1 ? 0 : static_cast<size_t>(f)];
        y[r * features_ + f] = (static_cast<float>(number_at(x, r * features_ + f)) - o) * s;
      }
  }

 private:
  int64_t rows_ = 0, features_ = 0;
  std::vector<float> offset_, scale_;
};

/// Each row divided by its MAX, L1 or L2 norm (a zero norm leaves the row as it is).
class Normalizer : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    ml_rows_and_features(cc, rows_, features_);
    const std::string n = cc.attr().get_string("norm", "MAX");
    if (n != "MAX" && n != "L1" && n != "L2") cc.fail("norm must be MAX, L1 or L2, got '" + n + "'");
    norm_ = n[0] == 'M' ? 0 : n[1] == '1' ? 1 : 2;
    cc.set_output(0, DType::f32, cc.input(0).shape);
  }
  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    float* y = rc.output(0).data_as<float>();
    for (int64_t r = 0; r < rows_; ++r) {
      const int64_t o = r * features_;
      double z = norm_ == 0 ? -INFINITY : 0.0;
      for (int64_t f = 0; f < features_; ++f) {
        const double v = number_at(x, o + f);
        z = norm_ == 0 ? std::max(z, v) : norm_ == 1 ? z + std::fabs(v) : z + v * v;
      }
      if (norm_ == 2) z = std::sqrt(z);
      for (int64_t f = 0; f < features_; ++f) {
        const double v = number_at(x, o + f);
        y[o + f] = static_cast<float>(z != 0.0 && features_ > 0 ? v / z : v);
      }
    }
  }

 private:
  int64_t rows_ = 0, features_ = 0;
  int norm_ = 0;
};

}  // namespace

void register_ml_linear_ops(OpRegistry& r) {
  r.add(kMlDomain, "LinearRegressor", 1, kAnyOpset, [] { return std::make_unique<LinearRegressor>(); });
  r.add(kMlDomain, "LinearClassifier", 1, kAnyOpset, [] { return std::make_unique<LinearClassifier>(); });
  r.add(kMlDomain, "Scaler", 1, kAnyOpset, [] { return std::make_unique<Scaler>(); });
  r.add(kMlDomain, "Normalizer", 1, kAnyOpset, [] { return std::make_unique<Normalizer>(); });
}

}  // namespace ortkit::ops
