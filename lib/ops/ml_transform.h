// Shared by the ai.onnx.ml ops (tree ensembles, linear models, encoders): the score transforms
// (post_transform NONE, SOFTMAX, LOGISTIC, SOFTMAX_ZERO, PROBIT, in double) and a classifier's labels.
#pragma once
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ops/op.h"
#include "ops/op_util.h"

namespace ortkit::ops {

enum class Post : uint8_t { none, softmax, logistic, softmax_zero, probit };

inline double logistic(double v) {
  return 1.0 / (1.0 + std::exp(-v));
}

/// The inverse of erf by Newton steps from a rational first guess (PROBIT is sqrt(2) erfinv(2p - 1)).
inline double erfinv(double y) {
  if (!(y >= -1 && y <= 1)) return NAN;  // a probability outside [0, 1]
  if (y == -1) return -INFINITY;
  if (y == 1) return INFINITY;
  const double w = -std::log((1 - y) * (1 + y));
  double x = y * (1.2533 + w * (0.0467 + w * 0.0062)) / (1 + w * (0.1546 + w * 0.0109));  // ~1e-2
  for (int i = 0; i < 4; ++i) x -= (std::erf(x) - y) / (2 / std::sqrt(M_PI) * std::exp(-x * x));
  return x;
}
inline double probit(double p) {
  return std::sqrt(2.0) * erfinv(2 * p - 1);
}

/// Transforms one row of scores in place.
inline void post_transform(Post p, std::vector<double>& s) {
  switch (p) {
    case Post::probit:
      for (double& v : s) v = probit(v);
      break;
    case Post::logistic:
      for (double& v : s) v = logistic(v);
      break;
    case Post::softmax:
    case Post::softmax_zero: {
      double top = -INFINITY, sum = 0;
      for (double v : s) top = std::max(top, v);
      for (double& v : s) {
        // SOFTMAX_ZERO keeps zeros (as exp(0 - max) scaled like the rest would not be).
        v = p == Post::softmax_zero && std::fabs(v) <= 1e-7 ? v * std::exp(-top) : std::exp(v - top);
        sum += v;
      }
      for (double& v : s) v /= sum;
      break;
    }
    case Post::none: break;
  }
}

/// The post_transform attribute's name as a Post; anything else is an error naming it.
inline Post post_from_name(const CompileContext& cc, const std::string& n) {
  if (n == "NONE") return Post::none;
  if (n == "SOFTMAX") return Post::softmax;
  if (n == "LOGISTIC") return Post::logistic;
  if (n == "SOFTMAX_ZERO") return Post::softmax_zero;
  if (n == "PROBIT") return Post::probit;
  cc.fail("post_transform must be NONE, SOFTMAX, LOGISTIC, SOFTMAX_ZERO or PROBIT, got '" + n + "'");
}

/// X's rows and features for the ml models that take X f32, f64, i64 or i32 as [F] or [N, F].
inline void ml_rows_and_features(const CompileContext& cc, int64_t& rows, int64_t& features) {
  const InputDesc& x = cc.input(0);
  if (x.dtype != DType::f32 && x.dtype != DType::f64 && x.dtype != DType::i64 && x.dtype != DType::i32)
    cc.unsupported(std::string("X of type ") + dtype_name(x.dtype));
  if (x.shape.empty() || x.shape.size() > 2) cc.fail("X must be [F] or [N, F], got " + shape_str(x.shape));
  rows = x.shape.size() == 2 ? x.shape[0] : 1;
  features = x.shape.back();
}

/// f(row, scratch[slot]) for each of `rows` rows: split over the threads, one scratch per thread (at most
/// scratch.size() threads), when `worth_threads` says the work outweighs a round of the pool; else on the
/// caller with scratch[0]. scratch must hold at least one.
template <class S, class F>
void for_rows_with_scratch(const kernels::Threading& th, int64_t rows, bool worth_threads,
                           std::vector<S>& scratch, F&& f) {
  const int64_t slots =
      worth_threads ? std::min<int64_t>(static_cast<int64_t>(scratch.size()), std::max(1, th.threads)) : 1;
  run_tasks(th, slots, rows, [&](int64_t r, int64_t slot, const kernels::Threading&) {
    f(r, scratch[static_cast<size_t>(slot)]);
  });
}

/// A classifier's labels: `classlabels_strings`, or integers under `int_attr` (classlabels_int64s for the
/// trees, classlabels_ints for the linear classifier); exactly one of the two.
struct ClassLabels {
  bool strings = false;
  std::vector<std::string> names;
  std::vector<int64_t> ints;

  void load(const CompileContext& cc, const std::string& int_attr) {
    strings = cc.attr().has("classlabels_strings");
    if (strings == cc.attr().has(int_attr))
      cc.fail("needs exactly one of classlabels_strings and " + int_attr);
    if (strings)
      names = cc.attr().get_strings("classlabels_strings");
    else
      ints = cc.attr().get_ints(int_attr);
  }
  int64_t size() const { return static_cast<int64_t>(strings ? names.size() : ints.size()); }
  /// Output 0 as the labels' type: strings are made at run time (allocate()), integers planned.
  void declare(CompileContext& cc, int64_t rows) const {
    if (strings) {
      cc.outputs[0].dtype = DType::string;
      cc.outputs[0].data_dependent = true;
    } else {
      cc.set_output(0, DType::i64, {rows});
    }
  }
  Tensor& allocate(RunContext& rc, int64_t rows) const {
    return strings ? rc.allocate_output(0, DType::string, {rows}) : rc.output(0);
  }
  /// Row r's label: label k, or with `literal` the value k itself ("1" / "0" for string labels).
  void write(Tensor& out, int64_t r, int64_t k, bool literal = false) const {
    if (strings)
      out.data_as<std::string>()[r] = literal ? (k ? "1" : "0") : names[static_cast<size_t>(k)];
    else
      out.data_as<int64_t>()[r] = literal ? k : ints[static_cast<size_t>(k)];
  }
};

}  // namespace ortkit::ops
