// Accuracy of an int8 model against its fp32 original on the same inputs.
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "ortkit/error.h"
#include "ortkit/quantize.h"
#include "quant/augment.h"

namespace ortkit {
namespace {

std::vector<double> as_doubles(const Tensor& t, const std::string& what) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  switch (t.dtype()) {
    case DType::f32:
      for (size_t i = 0; i < v.size(); ++i) v[i] = t.data_as<float>()[i];
      break;
    case DType::f64:
      for (size_t i = 0; i < v.size(); ++i) v[i] = t.data_as<double>()[i];
      break;
    case DType::i64:
      for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(t.data_as<int64_t>()[i]);
      break;
    case DType::i32:
      for (size_t i = 0; i < v.size(); ++i) v[i] = t.data_as<int32_t>()[i];
      break;
    default: throw Error(std::string("cannot compare outputs of type ") + dtype_name(t.dtype()), what);
  }
  return v;
}

struct Acc {
  double min_cos = 1, max_abs = 0, sum_abs = 0;
  uint64_t n = 0, rows = 0, agree = 0;
  bool classifier = true;
  double sig = 0, noise = 0;
};

void accumulate(Acc& a, const Tensor& ft, const Tensor& qt, const std::string& name) {
  if (ft.shape() != qt.shape())
    throw Error("shape differs: fp32 " + shape_str(ft.shape()) + " vs int8 " + shape_str(qt.shape()),
                "output '" + name + "'");
  auto f = as_doubles(ft, name), q = as_doubles(qt, name);
  double dot = 0, ff = 0, qq = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    double d = std::abs(f[i] - q[i]);
    a.max_abs = std::max(a.max_abs, d);
    a.sum_abs += d;
    dot += f[i] * q[i], ff += f[i] * f[i], qq += q[i] * q[i];
    a.noise += (f[i] - q[i]) * (f[i] - q[i]);
  }
  a.sig += ff;
  a.n += f.size();
  double cos = (ff == 0 && qq == 0) ? 1.0 : (ff == 0 || qq == 0) ? 0.0 : dot / std::sqrt(ff * qq);
  a.min_cos = std::min(a.min_cos, cos);
  // [batch, classes] with more than one class: compare the arg-max of every row.
  const auto& s = ft.shape();
  a.classifier = a.classifier && s.size() == 2 && s[1] > 1;
  if (a.classifier) {
    for (int64_t r = 0; r < s[0]; ++r) {
      auto b = static_cast<size_t>(r * s[1]), e = b + static_cast<size_t>(s[1]);
      a.agree += (std::max_element(f.begin() + b, f.begin() + e) - f.begin()) ==
                 (std::max_element(q.begin() + b, q.begin() + e) - q.begin());
      a.rows++;
    }
  }
}

}  // namespace

double AccuracyReport::min_cosine() const {
  double m = 1;
  for (const auto& o : outputs) m = std::min(m, o.cosine);
  return m;
}

AccuracyReport evaluate(const std::string& fp32_bytes, const std::string& int8_bytes, SampleSource& data,
                        const RunnerFactory& runner,
                        const std::vector<std::pair<std::string, std::string>>& layers) {
  std::vector<std::string> tensors;
  for (const auto& l : layers) tensors.push_back(l.second);
  std::vector<size_t> fidx, qidx;
  auto fb = quant::add_outputs(fp32_bytes, tensors, fidx);
  auto qb = quant::add_outputs(int8_bytes, tensors, qidx);
  auto fr = runner(fb);
  auto qr = runner(qb);
  // The original outputs come first in both models and in the same order.
  size_t n_out = 0;
  std::vector<std::string> out_names;
  {
    onnx::ModelProto p;
    if (!p.ParseFromString(fp32_bytes)) throw Error("not a valid ONNX model", "fp32 model");
    for (const auto& o : p.graph().output()) out_names.push_back(o.name());
    n_out = out_names.size();
  }
  std::vector<Acc> acc(n_out), lacc(layers.size());
  std::vector<NamedTensor> sample;
  AccuracyReport rep;
  data.rewind();
  while (data.next(sample)) {
    auto fo = fr->run(sample);
    auto qo = qr->run(sample);
    if (fo.size() < n_out || qo.size() < n_out) throw Error("runner returned too few outputs", "evaluation");
    for (size_t i = 0; i < n_out; ++i) accumulate(acc[i], fo[i], qo[i], out_names[i]);
    for (size_t i = 0; i < layers.size(); ++i)
      accumulate(lacc[i], fo[fidx[i]], qo[qidx[i]], layers[i].second);
    rep.samples++;
  }
  if (rep.samples == 0) throw Error("no evaluation samples", data.describe());
  for (size_t i = 0; i < n_out; ++i) {
    OutputAccuracy o;
    o.name = out_names[i];
    o.cosine = acc[i].min_cos;
    o.max_abs = acc[i].max_abs;
    o.mean_abs = acc[i].n ? acc[i].sum_abs / static_cast<double>(acc[i].n) : 0;
    o.top1 = acc[i].classifier && acc[i].rows
                 ? static_cast<double>(acc[i].agree) / static_cast<double>(acc[i].rows)
                 : -1;
    rep.outputs.push_back(o);
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    double s = lacc[i].sig, e = lacc[i].noise;
    double db = e == 0 ? std::numeric_limits<double>::infinity()
                       : (s == 0 ? -std::numeric_limits<double>::infinity() : 10.0 * std::log10(s / e));
    rep.layers.push_back({layers[i].first, layers[i].second, db});
  }
  return rep;
}

}  // namespace ortkit
