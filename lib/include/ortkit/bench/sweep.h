// The sweep engine: for each (model, precision, threads) it opens one Session, then for each (batch,
// seq, past) point it generates inputs, times prepare() (plan compile) and the first run, warms up, and runs
// the timed loop. Sessions come from a factory so tests can inject a fake engine.
//
// Before measuring anything, every model is opened once and the sweep is checked against its inputs
// (a --seq sweep on a model without a sequence dim, a batch the model cannot take, unreadable
// --input-dir): bad input fails fast with an Error and nothing measured is thrown away.
//
// int8 on a model that holds no quantized ops needs dynamic quantization (SweepHooks::quantize); while
// none is wired in, such points are reported with status "unsupported" and the reason, never dropped.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ortkit/bench/config.h"
#include "ortkit/bench/stats.h"
#include "ortkit/session.h"

namespace ortkit::bench {

struct PointResult {
  std::string model, precision;
  int64_t batch = 1;
  int64_t seq = -1;   ///< -1: the model has no sequence dim
  int64_t past = -1;  ///< KV-cache length; -1: the model has no past inputs
  int threads = 1;
  std::string status = "ok";  ///< "ok", "unsupported", "failed"
  std::string reason;
  std::string inputs;  ///< input summary, "input_ids:int64[batch,sequence], ..."
  int num_inputs = 0;
  Stats stats;
  double qps = 0;         ///< batch * 1000 / mean_ms (benchmark.py)
  double throughput = 0;  ///< batch * iterations / wall time of the timed loop
  double wall_s = 0;      ///< wall time of the timed loop
  double load_ms = 0, optimize_ms = 0, prepack_ms = 0, compile_ms = 0, first_inference_ms = 0;
  std::vector<std::string> kernels, warnings, notes;
  std::vector<double> latencies_ms;
  std::vector<NodeProfile> profile;  ///< --profile: per node, graph order
  int64_t profile_runs = 0;          ///< runs the profile sums over
  std::string datetime;              ///< when the point finished, "YYYY-MM-DD HH:MM:SS" UTC
};

/// A point's --profile summed per op type, slowest first (bench/profile.cpp).
struct OpTypeTime {
  std::string op_type;
  int nodes = 0;
  double ms_per_run = 0, percent = 0;
};
std::vector<OpTypeTime> profile_by_op_type(const PointResult& p);
/// Sum over the profiled nodes, per run (0 without a profile).
double profile_ms_per_run(const PointResult& p);

struct SweepResult {
  std::vector<PointResult> points;
  bool complete = true;  ///< false when cancelled: points holds the ones finished
  std::vector<std::string> warnings;
  double wall_s = 0;
};

using SessionFactory =
    std::function<std::unique_ptr<Session>(const std::string& model, const SessionOptions&)>;
/// Turns an fp32 model into an int8 one (a path or zoo name the factory can open).
using Quantizer = std::function<std::string(const std::string& model)>;

struct SweepHooks {
  SessionFactory open;  ///< empty: Session::open
  Quantizer quantize;   ///< empty: int8 of an fp32 model is "unsupported"
  /// Called before each point (done points so far, total, label of the next one) and once at the end.
  std::function<void(size_t done, size_t total, const std::string& next)> progress;
  const std::atomic<bool>* cancel = nullptr;  ///< set (e.g. by SIGINT) to stop after the current iteration
};

/// int8 of an fp32 model: dynamic quantization (as ort-quantize --mode dynamic), cached on disk; returns
/// the int8 model's path. The default SweepHooks::quantize of ort-bench run.
std::string quantize_dynamic_cached(const std::string& model);

/// True when the op counts show a quantized model (QuantizeLinear, MatMulInteger, QLinear*, ...).
bool has_quantized_ops(const std::map<std::string, int>& op_counts);

/// Runs the sweep. Throws Error on bad input found before measuring; per-point failures are recorded.
SweepResult run_sweep(const BenchConfig& cfg, const SweepHooks& hooks);

}  // namespace ortkit::bench
