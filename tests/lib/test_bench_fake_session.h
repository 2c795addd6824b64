// A fake engine for ort-bench tests: declared inputs with symbolic dims, a deterministic spin of a
// controllable latency per run, controllable op counts, kernels and index bounds, and hooks to fail or
// to observe runs. No model file is involved.
#pragma once
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ortkit/bench/sweep.h"
#include "ortkit/error.h"
#include "ortkit/session.h"

namespace ortkit::bench::testing {

struct FakeSpec {
  std::vector<ValueInfo> inputs;
  double latency_ms = 0.05;  ///< spin per run (plus latency_per_item_ms * numel of the first input)
  double latency_per_item_ms = 0;
  std::map<std::string, int> ops = {{"MatMul", 12}};
  std::vector<std::string> kernels = {"gemm_f32_fake_8x8"};
  std::map<std::string, int64_t> bounds;
  std::string fail_run;                             ///< non-empty: run() throws Error(fail_run)
  std::function<void()> on_run;                     ///< called at every run (e.g. to trigger a cancel)
  std::vector<NamedTensor>* last_inputs = nullptr;  ///< receives a copy of the inputs of each run
};

inline ValueInfo vi(const std::string& name, DType t, std::vector<Dim> dims) {
  return {name, t, std::move(dims), true};
}
inline Dim sym(const std::string& s) {
  return {-1, s};
}
inline Dim fix(int64_t v) {
  return {v, ""};
}

/// BERT-like: input_ids, attention_mask, token_type_ids [batch, sequence].
inline FakeSpec bert_spec() {
  FakeSpec s;
  s.inputs = {vi("input_ids", DType::i64, {sym("batch"), sym("sequence")}),
              vi("attention_mask", DType::i64, {sym("batch"), sym("sequence")}),
              vi("token_type_ids", DType::i64, {sym("batch"), sym("sequence")})};
  s.bounds["input_ids"] = 30;
  return s;
}

/// ResNet-like: pixel_values [N, 3, 8, 8] float; no sequence dim.
inline FakeSpec image_spec() {
  FakeSpec s;
  s.inputs = {vi("pixel_values", DType::f32, {sym("N"), fix(3), fix(8), fix(8)})};
  return s;
}

class FakeSession : public Session {
 public:
  FakeSession(FakeSpec spec, SessionOptions opts) : spec_(std::move(spec)), opts_(opts) {
    timings_.load_ms = 1;
    timings_.optimize_ms = 0.5;
    timings_.prepack_ms = 0.25;
  }
  const std::vector<ValueInfo>& inputs() const override { return spec_.inputs; }
  const std::vector<ValueInfo>& outputs() const override { return outputs_; }
  void prepare(const std::vector<NamedTensor>& in) override {
    if (in.size() != spec_.inputs.size()) throw Error("wrong input count");
    ++prepares;
  }
  std::vector<Tensor> run(const std::vector<NamedTensor>& in) override {
    ++runs;
    if (profiling_) ++profiled_runs;
    if (spec_.on_run) spec_.on_run();
    if (!spec_.fail_run.empty()) throw Error(spec_.fail_run, "fake");
    if (spec_.last_inputs) *spec_.last_inputs = in;
    double ms = spec_.latency_ms + spec_.latency_per_item_ms * static_cast<double>(in.at(0).tensor.numel());
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double, std::milli>(ms);
    while (std::chrono::steady_clock::now() < until) {
    }
    return {};
  }
  const SessionOptions& options() const override { return opts_; }
  const SessionTimings& timings() const override { return timings_; }
  std::vector<std::string> kernels_used() const override { return spec_.kernels; }
  std::map<std::string, int> op_counts() const override { return spec_.ops; }
  int64_t index_bound(const std::string& input) const override {
    auto it = spec_.bounds.find(input);
    return it == spec_.bounds.end() ? -1 : it->second;
  }

  // Two fake nodes per profiled run: a MatMul taking 3/4 of the latency and a Softmax the rest.
  void set_profiling(bool on) override {
    if (on) profiled_runs = 0;
    profiling_ = on;
  }
  std::vector<NodeProfile> profile() const override {
    if (profiled_runs == 0) return {};
    const double ms = spec_.latency_ms * static_cast<double>(profiled_runs);
    return {{"/layer.0/MatMul", "MatMul", spec_.kernels, 0.75 * ms, profiled_runs},
            {"/layer.0/Softmax", "Softmax", {}, 0.25 * ms, profiled_runs}};
  }

  int runs = 0, prepares = 0, profiled_runs = 0;

 private:
  bool profiling_ = false;
  FakeSpec spec_;
  SessionOptions opts_;
  SessionTimings timings_;
  std::vector<ValueInfo> outputs_;
};

/// A factory serving specs by model name; unknown names throw like a missing file would.
inline SessionFactory fake_factory(std::map<std::string, FakeSpec> specs) {
  return [specs = std::move(specs)](const std::string& model,
                                    const SessionOptions& o) -> std::unique_ptr<Session> {
    auto it = specs.find(model);
    if (it == specs.end()) throw Error("no such model", model);
    return std::make_unique<FakeSession>(it->second, o);
  };
}

/// Small, fast settings: 5 timed runs, 1 warmup.
inline BenchConfig quick_config(std::vector<std::string> models) {
  BenchConfig c;
  c.models = std::move(models);
  c.iterations = 5;
  c.warmup = 1;
  return c;
}

/// The full message ("where: what") of the ortkit::Error `f` throws, "" if it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

}  // namespace ortkit::bench::testing
