// Support vector machines of the ai.onnx.ml domain, as sklearn-onnx writes them for SVC / NuSVC
// (SVMClassifier: one-vs-one votes, or with prob_a / prob_b libsvm's pairwise coupling into class
// probabilities), SVR / NuSVR / OneClassSVM (SVMRegressor), and with no support vectors a liblinear model
// (one row of coefficients per class). X is f32, f64, i64 or i32, [N, F] or [F], read as float like ONNX
// Runtime does; scores are finished as ONNX Runtime finishes them (its quirks for two classes included).
#include <numeric>

#include "ops/ml_transform.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

/// The kernel k(x, v) of the kernel_type and kernel_params (gamma, coef0, degree) attributes.
class SvmKernel {
 public:
  enum Type : uint8_t { linear, poly, rbf, sigmoid };

  void load(const CompileContext& cc) {
    const std::string t = cc.attr().get_string("kernel_type", "LINEAR");
    if (t == "LINEAR")
      type_ = linear;
    else if (t == "POLY")
      type_ = poly;
    else if (t == "RBF")
      type_ = rbf;
    else if (t == "SIGMOID")
      type_ = sigmoid;
    else
      cc.fail("kernel_type must be LINEAR, POLY, RBF or SIGMOID, got '" + t + "'");
    const std::vector<float> p = cc.attr().get_floats("kernel_params", {});
    if (!p.empty() && p.size() < 3)
      cc.fail("kernel_params holds gamma, coef0 and degree; got " + std::to_string(p.size()) + " values");
    if (!p.empty()) {
      gamma_ = p[0];
      coef0_ = p[1];
      degree_ = p[2];
    }
  }
  void force_linear() { type_ = linear; }

  double operator()(const float* x, const float* v, int64_t n) const {
    double s = 0;
    if (type_ == rbf) {
      for (int64_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(x[i]) - v[i];
        s += d * d;
      }
      return std::exp(-gamma_ * s);
    }
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * v[i];
    if (type_ == linear) return s;
    const double t = gamma_ * s + coef0_;
    return type_ == poly ? std::pow(t, degree_) : std::tanh(t);
  }

 private:
  Type type_ = linear;
  double gamma_ = 0, coef0_ = 0, degree_ = 0;
};

/// X's rows and features (checked against the model's), and its rows as float.
class SvmBase : public OpKernel {
 protected:
  void load_input(const CompileContext& cc, int64_t model_features) {
    ml_rows_and_features(cc, rows_, features_);
    if (features_ != model_features)
      cc.fail("X has " + std::to_string(features_) +
              " features; the model's support vectors or coefficients have " +
              std::to_string(model_features) + " (X is " + shape_str(cc.input(0).shape) + ")");
  }
  /// A float attribute that must hold at least `n` values.
  static std::vector<float> floats_at_least(const CompileContext& cc, const char* name, size_t n) {
    if (!cc.attr().has(name)) cc.fail(std::string("needs the ") + name + " attribute");
    std::vector<float> v = cc.attr().get_floats(name);
    require_size(cc, name, v, n);
    return v;
  }
  /// An attribute already read must hold at least `n` values.
  static void require_size(const CompileContext& cc, const char* name, const std::vector<float>& v,
                           size_t n) {
    if (v.size() < n)
      cc.fail(std::string(name) + " holds " + std::to_string(v.size()) + " values, the model needs " +
              std::to_string(n));
  }
  /// Row r of X as float into `x`.
  void read_row(const Tensor& t, int64_t r, std::vector<float>& x) const {
    x.resize(static_cast<size_t>(features_));
    for (int64_t f = 0; f < features_; ++f)
      x[static_cast<size_t>(f)] = static_cast<float>(number_at(t, r * features_ + f));
  }
  /// f(row, slot) for every row, split over the threads once the kernel evaluations outweigh a round of
  /// the pool.
  template <class F>
  void for_rows(const RunContext& rc, int64_t work_per_row, F&& f) {
    if (scratch_.size() < static_cast<size_t>(std::max(1, rc.threading.threads)))
      scratch_.resize(static_cast<size_t>(std::max(1, rc.threading.threads)));
    for_rows_with_scratch(rc.threading, rows_, rows_ * work_per_row >= (int64_t{1} << 15), scratch_, f);
  }

  struct Scratch {
    std::vector<float> x;
    std::vector<double> k;
    std::vector<float> scores;
    std::vector<int64_t> votes;
    std::vector<float> pairs;      // the C x C pairwise probabilities of the coupling
    std::vector<float> q, qp;      // the coupling's C x C matrix and its product with p
    std::vector<double> finished;  // a row of scores through the post transform
  };
  SvmKernel kernel_;
  int64_t rows_ = 0, features_ = 0;
  /// The support_vectors attribute for `vectors` vectors (> 0); returns the features per vector.
  int64_t load_support(const CompileContext& cc, int64_t vectors) {
    support_ = cc.attr().get_floats("support_vectors", {});
    if (support_.empty() || support_.size() % static_cast<size_t>(vectors) != 0)
      cc.fail(std::to_string(support_.size()) + " support_vectors values for " + std::to_string(vectors) +
              " support vectors");
    return static_cast<int64_t>(support_.size()) / vectors;
  }

  std::vector<float> coef_, support_, rho_;
  std::vector<Scratch> scratch_;
};

/// Class probabilities from pairwise ones (r[i*C+j] = P(i | i or j)) by Wu, Lin and Weng's second method
/// (libsvm's multiclass_probability), in float and with ONNX Runtime's 100 rounds, so the scores agree.
/// q and qp are work buffers.
void couple_probabilities(int64_t classes, const std::vector<float>& r, float* p, std::vector<float>& q,
                          std::vector<float>& qp) {
  const auto c = static_cast<size_t>(classes);
  q.assign(c * c, 0.f);
  qp.assign(c, 0.f);
  for (size_t i = 0; i < c; ++i) {
    p[i] = 1.f / static_cast<float>(c);
    for (size_t j = 0; j < c; ++j) {
      if (j == i) continue;
      q[i * c + i] += r[j * c + i] * r[j * c + i];
      q[i * c + j] = j < i ? q[j * c + i] : -r[j * c + i] * r[i * c + j];
    }
  }
  const float eps = 0.005f / static_cast<float>(c);
  for (int round = 0; round < 100; ++round) {
    float pqp = 0;
    for (size_t i = 0; i < c; ++i) {
      qp[i] = 0;
      for (size_t j = 0; j < c; ++j) qp[i] += q[i * c + j] * p[j];
      pqp += p[i] * qp[i];
    }
    float worst = 0;
    for (size_t i = 0; i < c; ++i) worst = std::max(worst, std::fabs(qp[i] - pqp));
    if (worst < eps) break;
    for (size_t i = 0; i < c; ++i) {
      const float d = (pqp - qp[i]) / q[i * c + i];
      p[i] += d;
      pqp = (pqp + d * (d * q[i * c + i] + 2 * qp[i])) / (1 + d) / (1 + d);
      for (size_t j = 0; j < c; ++j) {
        qp[j] = (qp[j] + d * q[i * c + j]) / (1 + d);
        p[j] /= (1 + d);
      }
    }
  }
}

class SVMClassifier : public SvmBase {
 public:
  void compile(CompileContext& cc) override {
    const Attrs& a = cc.attr();
    labels_.load(cc, "classlabels_ints");
    classes_ = labels_.size();
    if (classes_ < 1 || classes_ >= 65536)
      cc.fail("the number of classes must be in [1, 65535], got " + std::to_string(classes_));
    kernel_.load(cc);
    post_ = post_from_name(cc, a.get_string("post_transform", "NONE"));
    per_class_ = a.get_ints("vectors_per_class", {});
    int64_t vectors = 0;
    for (int64_t v : per_class_) {
      if (v < 0 || v > (int64_t{1} << 24)) cc.fail("vectors_per_class holds " + std::to_string(v));
      start_.push_back(vectors);
      vectors += v;
    }
    vectors_ = vectors;
    coef_ = floats_at_least(cc, "coefficients", 1);
    const std::vector<float> pa = a.get_floats("prob_a", {}), pb = a.get_floats("prob_b", {});
    if (pa.size() != pb.size())
      cc.fail("prob_a holds " + std::to_string(pa.size()) + " values and prob_b " +
              std::to_string(pb.size()));
    proba_ = !pa.empty();
    pairs_ = classes_ * (classes_ - 1) / 2;
    int64_t model_features = 0;
    if (vectors_ > 0) {  // libsvm: support vectors, one-vs-one
      if (classes_ < 2) cc.fail("a support vector classifier needs at least two classes");
      if (static_cast<int64_t>(per_class_.size()) != classes_)
        cc.fail("vectors_per_class has " + std::to_string(per_class_.size()) + " entries for " +
                std::to_string(classes_) + " classes");
      model_features = load_support(cc, vectors_);
      require_size(cc, "coefficients", coef_, static_cast<size_t>((classes_ - 1) * vectors_));
      rho_ = floats_at_least(cc, "rho", static_cast<size_t>(pairs_));
      if (proba_) {
        require_size(cc, "prob_a", pa, static_cast<size_t>(pairs_));
        prob_a_ = pa;
        prob_b_ = pb;
      }
    } else {  // liblinear: one row of coefficients per class, the kernel linear
      if (coef_.size() % static_cast<size_t>(classes_) != 0)
        cc.fail(std::to_string(coef_.size()) + " coefficients for " + std::to_string(classes_) + " classes");
      model_features = static_cast<int64_t>(coef_.size()) / classes_;
      rho_ = floats_at_least(cc, "rho", 1);
      kernel_.force_linear();
    }
    load_input(cc, model_features);
    all_positive_ = std::all_of(coef_.begin(), coef_.end(), [](float v) { return v >= 0.f; });
    // Scores per row: one per class, except one-vs-one without probabilities: one per pair (two for two
    // classes, the second made from the first).
    raw_scores_ = vectors_ > 0 && !proba_ ? pairs_ : classes_;
    width_ = vectors_ > 0 && !proba_ ? (classes_ > 2 ? pairs_ : 2) : classes_;
    labels_.declare(cc, rows_);
    cc.set_output(1, DType::f32, {rows_, width_});
  }

  void run(RunContext& rc) override {
    Tensor& labels = labels_.allocate(rc, rows_);
    float* z = rc.output(1).data_as<float>();
    const Tensor& x = rc.input(0);
    for_rows(rc, std::max<int64_t>(vectors_, classes_) * features_, [&](int64_t r, Scratch& s) {
      read_row(x, r, s.x);
      float* out = z + r * width_;
      int64_t best = 0;
      double top = 0;  // the highest score; ONNX Runtime leaves it 0 when the votes decide
      if (vectors_ == 0) {
        for (int64_t c = 0; c < classes_; ++c) {
          out[c] = static_cast<float>(kernel_(s.x.data(), coef_.data() + c * features_, features_) + rho_[0]);
          if (out[c] > out[best]) best = c;
        }
        top = out[best];
      } else {
        best = one_vs_one(s, proba_ ? nullptr : out);
        if (proba_) probabilities(s, out);
      }
      labels_.write(labels, r, pick_label(best, top));
      finish_scores(out, s.finished);
    });
  }

 private:
  /// The pairwise decision values (into `out`, or s.scores when probabilities follow) and the class with
  /// the most votes.
  int64_t one_vs_one(Scratch& s, float* out) {
    s.k.resize(static_cast<size_t>(vectors_));
    for (int64_t v = 0; v < vectors_; ++v)
      s.k[static_cast<size_t>(v)] = kernel_(s.x.data(), support_.data() + v * features_, features_);
    s.scores.resize(static_cast<size_t>(pairs_));
    float* d = out ? out : s.scores.data();
    s.votes.assign(static_cast<size_t>(classes_), 0);
    int64_t pair = 0;
    // Coefficients are [C - 1, V]: pair (i, j) weighs class i's vectors by row j - 1 and class j's by row i.
    for (int64_t i = 0; i + 1 < classes_; ++i)
      for (int64_t j = i + 1; j < classes_; ++j, ++pair) {
        double sum = 0;
        for (int64_t m = 0; m < per_class_[static_cast<size_t>(i)]; ++m) {
          const int64_t v = start_[static_cast<size_t>(i)] + m;
          sum += static_cast<double>(coef_[static_cast<size_t>((j - 1) * vectors_ + v)]) *
                 s.k[static_cast<size_t>(v)];
        }
        for (int64_t m = 0; m < per_class_[static_cast<size_t>(j)]; ++m) {
          const int64_t v = start_[static_cast<size_t>(j)] + m;
          sum +=
              static_cast<double>(coef_[static_cast<size_t>(i * vectors_ + v)]) * s.k[static_cast<size_t>(v)];
        }
        sum += rho_[static_cast<size_t>(pair)];
        d[pair] = static_cast<float>(sum);
        ++s.votes[static_cast<size_t>(sum > 0 ? i : j)];
      }
    return std::max_element(s.votes.begin(), s.votes.end()) - s.votes.begin();
  }

  /// Platt's sigmoid per pair (1 - logistic(A f + B), kept in [1e-7, 1 - 1e-7]), coupled into classes.
  void probabilities(Scratch& s, float* out) {
    const auto c = static_cast<size_t>(classes_);
    s.pairs.assign(c * c, 0.f);
    size_t pair = 0;
    for (size_t i = 0; i + 1 < c; ++i)
      for (size_t j = i + 1; j < c; ++j, ++pair) {
        const float f = s.scores[pair] * prob_a_[pair] + prob_b_[pair];
        float p = 1.f - static_cast<float>(logistic(f));
        p = std::min(std::max(p, 1.0e-7f), 1 - 1.0e-7f);
        s.pairs[i * c + j] = p;
        s.pairs[j * c + i] = 1 - p;
      }
    couple_probabilities(classes_, s.pairs, out, s.q, s.qp);
  }

  /// ONNX Runtime's label: for two classes without probabilities a positive top score picks the second
  /// label (at least 0.5 when every coefficient is positive), else the winning class.
  int64_t pick_label(int64_t best, double top) const {
    if (pairs_ == 1 && !proba_) {
      if (all_positive_ ? top >= 0.5 : top > 0) return 1;
    }
    return best;
  }

  /// The post transform over a row's scores (through `row`, a work buffer); one decision value of two classes
  /// becomes two scores.
  void finish_scores(float* out, std::vector<double>& row) const {
    if (raw_scores_ > 1) {
      row.assign(out, out + raw_scores_);
      post_transform(post_, row);
      for (int64_t i = 0; i < raw_scores_; ++i) out[i] = static_cast<float>(row[static_cast<size_t>(i)]);
      return;
    }
    if (width_ != 2) {  // one class: one score
      if (post_ == Post::probit) out[0] = static_cast<float>(probit(out[0]));
      return;
    }
    // ONNX Runtime 1.2x: -f and f, their logistics under LOGISTIC, probit(f) and 0 under PROBIT, and 1 - f
    // and f (untransformed) under the softmaxes.
    const float f = out[0];
    switch (post_) {
      case Post::none:
        out[0] = -f;
        out[1] = f;
        break;
      case Post::logistic:
        out[0] = static_cast<float>(logistic(-f));
        out[1] = static_cast<float>(logistic(f));
        break;
      case Post::probit:
        out[0] = static_cast<float>(probit(f));
        out[1] = 0.f;
        break;
      default:
        out[0] = 1.f - f;
        out[1] = f;
        break;
    }
  }

  ClassLabels labels_;
  int64_t classes_ = 0, vectors_ = 0, pairs_ = 0, raw_scores_ = 0, width_ = 0;
  std::vector<int64_t> per_class_, start_;
  std::vector<float> prob_a_, prob_b_;
  bool proba_ = false, all_positive_ = true;
  Post post_ = Post::none;
};

class SVMRegressor : public SvmBase {
 public:
  void compile(CompileContext& cc) override {
    const Attrs& a = cc.attr();
    kernel_.load(cc);
    // Validated, not applied: ONNX Runtime ignores post_transform here, and sklearn-onnx writes NONE.
    post_from_name(cc, a.get_string("post_transform", "NONE"));
    vectors_ = a.get_int("n_supports", 0);
    if (vectors_ < 0 || vectors_ > (int64_t{1} << 24))
      cc.fail("n_supports holds " + std::to_string(vectors_));
    one_class_ = a.get_int("one_class", 0) != 0;
    coef_ = floats_at_least(cc, "coefficients", static_cast<size_t>(std::max<int64_t>(vectors_, 1)));
    rho_ = floats_at_least(cc, "rho", 1);
    int64_t model_features = static_cast<int64_t>(coef_.size());
    if (vectors_ > 0) {
      model_features = load_support(cc, vectors_);
    } else {
      kernel_.force_linear();  // the coefficients are one weight per feature
    }
    load_input(cc, model_features);
    cc.set_output(0, DType::f32, {rows_, 1});
  }

  void run(RunContext& rc) override {
    float* y = rc.output(0).data_as<float>();
    const Tensor& x = rc.input(0);
    for_rows(rc, std::max<int64_t>(vectors_, 1) * features_, [&](int64_t r, Scratch& s) {
      read_row(x, r, s.x);
      double sum = rho_[0];
      if (vectors_ == 0)
        sum += kernel_(s.x.data(), coef_.data(), features_);
      else
        for (int64_t v = 0; v < vectors_; ++v)
          sum +=
              coef_[static_cast<size_t>(v)] * kernel_(s.x.data(), support_.data() + v * features_, features_);
      y[r] = one_class_ ? (sum > 0 ? 1.f : -1.f) : static_cast<float>(sum);
    });
  }

 private:
  int64_t vectors_ = 0;
  bool one_class_ = false;
};

}  // namespace

void register_ml_svm_ops(OpRegistry& r) {
  r.add(kMlDomain, "SVMClassifier", 1, kAnyOpset, [] { return std::make_unique<SVMClassifier>(); });
  r.add(kMlDomain, "SVMRegressor", 1, kAnyOpset, [] { return std::make_unique<SVMRegressor>(); });
}

}  // namespace ortkit::ops
