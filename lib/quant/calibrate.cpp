// Calibration: run the model with the activations as outputs over a sample stream and merge ranges.
#include <map>

#include "ortkit/error.h"
#include "ortkit/quantize.h"
#include "ortkit/session.h"
#include "quant/augment.h"
#include "quant/onnx_util.h"
#include "quant/range_collector.h"

namespace ortkit {

namespace quant {
std::string add_outputs(const std::string& model_bytes, const std::vector<std::string>& tensors,
                        std::vector<size_t>& index) {
  auto m = parse_model(model_bytes);
  auto* g = m.mutable_graph();
  std::map<std::string, size_t> pos;
  for (int i = 0; i < g->output_size(); ++i) pos[g->output(i).name()] = static_cast<size_t>(i);
  index.clear();
  for (const auto& t : tensors) {
    auto it = pos.find(t);
    if (it == pos.end()) {
      auto* v = g->add_output();
      v->set_name(t);
      v->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
      it = pos.emplace(t, static_cast<size_t>(g->output_size() - 1)).first;
    }
    index.push_back(it->second);
  }
  return serialize_model(m);
}
}  // namespace quant

namespace {
class SessionRunner : public ModelRunner {
 public:
  SessionRunner(const std::string& bytes, int threads) {
    SessionOptions o;
    o.threads = threads;
    s_ = Session::from_bytes(bytes, o);
  }
  std::vector<Tensor> run(const std::vector<NamedTensor>& inputs) override {
    auto outs = s_->run(inputs);
    std::vector<Tensor> kept;  // the session's outputs are views until the next run
    for (auto& t : outs) kept.push_back(t.clone());
    return kept;
  }

 private:
  std::unique_ptr<Session> s_;
};
}  // namespace

RunnerFactory session_runner_factory(int threads) {
  return [threads](const std::string& bytes) -> std::unique_ptr<ModelRunner> {
    return std::make_unique<SessionRunner>(bytes, threads);
  };
}

RangeMap calibrate(const std::string& model_bytes, const std::vector<std::string>& tensors,
                   SampleSource& data, const RunnerFactory& runner, const CalibrationOptions& opts,
                   CalibrationStats* stats) {
  std::vector<size_t> index;
  auto bytes = quant::add_outputs(model_bytes, tensors, index);
  auto r = runner(bytes);
  bool hist = opts.method != CalibrationMethod::minmax;
  std::vector<quant::RangeCollector> col;
  col.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) col.emplace_back(opts.bins, hist);
  std::vector<NamedTensor> sample;
  int n = 0;
  data.rewind();
  while (data.next(sample)) {
    auto outs = r->run(sample);
    for (size_t i = 0; i < tensors.size(); ++i) {
      if (index[i] >= outs.size()) throw Error("runner returned too few outputs", "calibration");
      const Tensor& t = outs[index[i]];
      if (t.dtype() != DType::f32) throw Error("activation is not float32", "tensor '" + tensors[i] + "'");
      col[i].add(t.data_as<float>(), static_cast<size_t>(t.numel()));
    }
    ++n;
  }
  if (n == 0) throw Error("no calibration samples", data.describe());
  RangeMap out;
  for (size_t i = 0; i < tensors.size(); ++i) {
    switch (opts.method) {
      case CalibrationMethod::minmax: out[tensors[i]] = col[i].minmax(); break;
      case CalibrationMethod::percentile: out[tensors[i]] = col[i].percentile(opts.percentile); break;
      case CalibrationMethod::entropy: out[tensors[i]] = col[i].entropy(); break;
    }
  }
  if (stats) stats->samples = n;
  return out;
}

}  // namespace ortkit
