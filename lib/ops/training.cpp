// The optimizer steps of ai.onnx.preview.training (opset 1): Adagrad, Momentum (standard and Nesterov)
// and Adam. Each takes the learning rate R and the step count T, then n groups of tensors (weights X,
// gradients G and one or two state tensors), and returns the updated weights and states, group by
// group. An inference engine runs them when a model applies an update inside its graph (exported
// on-device training steps). Arithmetic in double, rounded once to the tensors' type.
#include <cmath>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

double scalar(const Tensor& t, const RunContext& rc, const char* what) {
  if (t.numel() != 1) rc.fail(std::string(what) + " must hold one value, got shape " + shape_str(t.shape()));
  switch (t.dtype()) {
    case DType::f32: return *t.data_as<float>();
    case DType::f64: return *t.data_as<double>();
    case DType::i64: return static_cast<double>(*t.data_as<int64_t>());
    default: rc.fail(std::string(what) + " has type " + dtype_name(t.dtype()));
  }
}

void store(Tensor& t, int64_t i, double v) {
  if (t.dtype() == DType::f64)
    t.data_as<double>()[i] = v;
  else
    t.data_as<float>()[i] = static_cast<float>(v);
}

/// The shared shape of the step ops: R, T, then `groups` blocks of n tensors each (X, G, states...),
/// outputs X_new then one block per state, every tensor of a group shaped like its X.
class OptimizerStep : public OpKernel {
 public:
  explicit OptimizerStep(int groups) : groups_(groups) {}
  void compile(CompileContext& cc) override {
    const size_t ins = cc.num_inputs();
    if (ins < 2 + static_cast<size_t>(groups_) || (ins - 2) % static_cast<size_t>(groups_) != 0)
      cc.fail("takes R, T and " + std::to_string(groups_) + " tensors per optimized tensor, got " +
              std::to_string(ins) + " inputs");
    n_ = (ins - 2) / static_cast<size_t>(groups_);
    if (cc.outputs.size() > n_ * static_cast<size_t>(groups_ - 1))
      cc.fail("has " + std::to_string(cc.outputs.size()) + " outputs, at most " +
              std::to_string(n_ * static_cast<size_t>(groups_ - 1)));
    cc.require_dtype(0, {DType::f32, DType::f64});
    cc.require_dtype(1, {DType::i64});
    for (size_t i = 0; i < n_; ++i) {
      const InputDesc& x = cc.input(2 + i);
      cc.require_dtype(2 + i, {DType::f32, DType::f64});
      for (int g = 1; g < groups_; ++g) {
        const InputDesc& o = cc.input(2 + static_cast<size_t>(g) * n_ + i);
        if (o.dtype != x.dtype || o.shape != x.shape)
          cc.fail("input " + std::to_string(2 + static_cast<size_t>(g) * n_ + i) + " is " +
                  dtype_name(o.dtype) + " " + shape_str(o.shape) + ", its tensor X is " +
                  dtype_name(x.dtype) + " " + shape_str(x.shape));
      }
    }
    // Outputs: X_new for every tensor, then each state (skipping G) for every tensor.
    for (size_t o = 0; o < cc.outputs.size(); ++o) {
      const InputDesc& x = cc.input(2 + o % n_);
      cc.set_output(o, x.dtype, x.shape);
    }
  }
  void run(RunContext& rc) override {
    const double r = scalar(rc.input(0), rc, "R"), t = scalar(rc.input(1), rc, "T");
    for (size_t i = 0; i < n_; ++i) {
      const Tensor& x = rc.input(2 + i);
      const Tensor& g = rc.input(2 + n_ + i);
      for (int64_t e = 0; e < x.numel(); ++e) {
        double state[2] = {0, 0};
        for (int s = 0; s < groups_ - 2; ++s)
          state[s] = number_at(rc.input(2 + (2 + static_cast<size_t>(s)) * n_ + i), e);
        const double xn = step(r, t, number_at(x, e), number_at(g, e), state);
        if (i < rc.outputs.size() && rc.outputs[i]) store(rc.output(i), e, xn);
        for (int s = 0; s < groups_ - 2; ++s) {
          const size_t o = (1 + static_cast<size_t>(s)) * n_ + i;
          if (o < rc.outputs.size() && rc.outputs[o]) store(rc.output(o), e, state[s]);
        }
      }
    }
  }

 protected:
  /// One element: returns the new weight, updates the states in place.
  virtual double step(double r, double t, double x, double g, double* state) const = 0;
  int groups_;
  size_t n_ = 0;
};

class Adagrad : public OptimizerStep {
 public:
  Adagrad() : OptimizerStep(3) {}
  void compile(CompileContext& cc) override {
    decay_ = cc.attr().get_float("decay_factor", 0.f);
    eps_ = cc.attr().get_float("epsilon", 1e-6f);
    norm_ = cc.attr().get_float("norm_coefficient", 0.f);
    OptimizerStep::compile(cc);
  }

 private:
  double step(double r, double t, double x, double g, double* h) const override {
    const double rate = r / (1 + t * decay_), gr = norm_ * x + g;
    h[0] += gr * gr;
    return x - rate * gr / (std::sqrt(h[0]) + eps_);
  }
  double decay_ = 0, eps_ = 1e-6, norm_ = 0;
};

class Momentum : public OptimizerStep {
 public:
  Momentum() : OptimizerStep(3) {}
  void compile(CompileContext& cc) override {
    alpha_ = cc.attr().get_float("alpha");
    beta_ = cc.attr().get_float("beta");
    norm_ = cc.attr().get_float("norm_coefficient");
    const std::string mode = cc.attr().get_string("mode");
    if (mode != "standard" && mode != "nesterov")
      cc.fail("mode must be standard or nesterov, got '" + mode + "'");
    nesterov_ = mode == "nesterov";
    OptimizerStep::compile(cc);
  }

 private:
  double step(double r, double t, double x, double g, double* v) const override {
    const double gr = norm_ * x + g;
    v[0] = alpha_ * v[0] + (t > 0 ? beta_ : 1.0) * gr;
    return x - r * (nesterov_ ? gr + alpha_ * v[0] : v[0]);
  }
  double alpha_ = 0, beta_ = 0, norm_ = 0;
  bool nesterov_ = false;
};

class Adam : public OptimizerStep {
 public:
  Adam() : OptimizerStep(4) {}
  void compile(CompileContext& cc) override {
    alpha_ = cc.attr().get_float("alpha", 0.9f);
    beta_ = cc.attr().get_float("beta", 0.999f);
    eps_ = cc.attr().get_float("epsilon", 1e-6f);
    norm_ = cc.attr().get_float("norm_coefficient", 0.f);
    post_ = cc.attr().get_float("norm_coefficient_post", 0.f);
    OptimizerStep::compile(cc);
  }

 private:
  double step(double r, double t, double x, double g, double* vh) const override {
    const double gr = norm_ * x + g;
    vh[0] = alpha_ * vh[0] + (1 - alpha_) * gr;
    vh[1] = beta_ * vh[1] + (1 - beta_) * gr * gr;
    const double rate = t > 0 ? r * std::sqrt(1 - std::pow(beta_, t)) / (1 - std::pow(alpha_, t)) : r;
    return (1 - post_) * (x - rate * (vh[0] / (std::sqrt(vh[1]) + eps_)));
  }
  double alpha_ = 0.9, beta_ = 0.999, eps_ = 1e-6, norm_ = 0, post_ = 0;
};

}  // namespace

void register_training_ops(OpRegistry& r) {
  const char* d = "ai.onnx.preview.training";
  r.add(d, "Adagrad", 1, kAnyOpset, [] { return std::make_unique<Adagrad>(); });
  r.add(d, "Momentum", 1, kAnyOpset, [] { return std::make_unique<Momentum>(); });
  r.add(d, "Adam", 1, kAnyOpset, [] { return std::make_unique<Adam>(); });
}

}  // namespace ortkit::ops
