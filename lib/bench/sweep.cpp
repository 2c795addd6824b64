#include "ortkit/bench/sweep.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>

#include "ortkit/bench/environment.h"
#include "ortkit/bench/inputs.h"
#include "ortkit/error.h"

namespace ortkit::bench {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::gmtime(&t));
  return buf;
}

Precision to_precision(const std::string& p) {
  if (p == "fp32") return Precision::fp32;
  if (p == "bf16") return Precision::bf16;
  if (p == "int8") return Precision::int8;
  throw Error("unknown precision '" + p + "'", "--precision");
}

std::string format_pct(double f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", f * 100);
  return buf;
}

// An engine error that says the feature is missing is "unsupported", anything else "failed".
std::string classify(const std::string& msg) {
  return msg.find("not supported") != std::string::npos || msg.find("unsupported") != std::string::npos
             ? "unsupported"
             : "failed";
}

struct ModelInfo {
  std::vector<ValueInfo> inputs;
  InputLayout layout;
  bool quantized = false;         // holds quantized ops: int8 runs it as is
  std::vector<NamedTensor> data;  // --input-dir tensors
};

// The timed loop: iterations and/or duration, never fewer than min_iterations when a duration is set.
bool timed_loop(Session& s, const std::vector<NamedTensor>& in, const BenchConfig& cfg,
                const std::atomic<bool>* cancel, std::vector<double>& lat, double& wall_s) {
  int64_t max_iter =
      cfg.iterations > 0 ? cfg.iterations : (cfg.duration_s > 0 ? INT64_MAX : kDefaultIterations);
  int64_t min_iter = cfg.duration_s > 0 ? std::min(cfg.min_iterations, max_iter) : max_iter;
  if (cfg.duration_s > 0 && cfg.iterations > 0) min_iter = std::min(cfg.min_iterations, cfg.iterations);
  auto start = Clock::now();
  for (int64_t i = 0; i < max_iter; ++i) {
    if (cancel && cancel->load()) return false;
    double elapsed_s = ms_since(start) / 1000.0;
    if (cfg.duration_s > 0 && i >= min_iter && elapsed_s >= cfg.duration_s) break;
    auto t0 = Clock::now();
    s.run(in);
    lat.push_back(ms_since(t0));
  }
  wall_s = ms_since(start) / 1000.0;
  return true;
}

void finish_stats(PointResult& p, const BenchConfig& cfg, const CpuSample& a, const CpuSample& b) {
  p.stats = compute_stats(p.latencies_ms);
  p.qps = p.stats.mean > 0 ? static_cast<double>(p.batch) * 1000.0 / p.stats.mean : 0;
  p.throughput = p.wall_s > 0 ? static_cast<double>(p.batch * p.stats.n) / p.wall_s : 0;
  if (p.stats.cv > cfg.cv_threshold)
    p.warnings.push_back("noisy: CV " + format_pct(p.stats.cv) + " is above " + format_pct(cfg.cv_threshold));
  if (!p.stats.ci_exact)
    p.warnings.push_back("too few iterations (" + std::to_string(p.stats.n) +
                         ") for a 95% confidence interval of the median; the interval is [min, max]");
  double busy = other_busy_fraction(a, b);
  if (busy > 0.10)
    p.warnings.push_back("other processes busy: they used " + format_pct(busy) +
                         " of all CPU time during the measurement");
  double spread = clock_spread({a, b});
  if (spread > 0.05) p.warnings.push_back("clock moving: CPU frequency varied by " + format_pct(spread));
}

}  // namespace

bool has_quantized_ops(const std::map<std::string, int>& ops) {
  for (const auto& [op, n] : ops) {
    if (n <= 0) continue;
    if (op.find("QuantizeLinear") != std::string::npos || op.find("Integer") != std::string::npos ||
        op.starts_with("QLinear") || op.starts_with("QGemm") || op.starts_with("QAttention") ||
        op.find("Int8") != std::string::npos || op.find("int8") != std::string::npos ||
        op.find("DynQuant") != std::string::npos || op.find("QdqMatMul") != std::string::npos)  // fused int8
      return true;
  }
  return false;
}

SweepResult run_sweep(const BenchConfig& cfg_in, const SweepHooks& hooks) {
  validate(cfg_in);
  // A model named twice is swept once (duplicate points would make the report ambiguous).
  BenchConfig cfg = cfg_in;
  cfg.models.clear();
  for (const auto& m : cfg_in.models)
    if (std::find(cfg.models.begin(), cfg.models.end(), m) == cfg.models.end()) cfg.models.push_back(m);
  SessionFactory open = hooks.open ? hooks.open : [](const std::string& m, const SessionOptions& o) {
    return Session::open(m, o);
  };
  auto cancelled = [&] { return hooks.cancel && hooks.cancel->load(); };
  auto run_start = Clock::now();

  // Preflight: every model opens and every model fits the sweep, before anything is measured.
  std::map<std::string, ModelInfo> info;
  for (const auto& m : cfg.models) {
    if (info.count(m)) continue;
    auto s = open(m, SessionOptions{});
    ModelInfo mi;
    mi.inputs = s->inputs();
    mi.layout = analyze_inputs(mi.inputs);
    mi.quantized = has_quantized_ops(s->op_counts());
    if (!cfg.input_dir.empty()) {
      mi.data = load_input_dir(cfg.input_dir, mi.inputs);
      if (!cfg.batch.empty() || !cfg.seq.empty()) {
        int64_t b, q;
        shape_of_inputs(mi.inputs, mi.data, b, q);
        if ((!cfg.batch.empty() && cfg.batch[0] != b) || (!cfg.seq.empty() && cfg.seq[0] != q))
          throw Error("the files in --input-dir have batch " + std::to_string(b) + " and seq " +
                          std::to_string(q) + "; --batch/--seq disagree (drop them)",
                      "--input-dir");
      }
    } else {
      check_sweep_fits(m, mi.inputs, cfg.batch, cfg.seq, cfg.past);
    }
    info[m] = std::move(mi);
  }

  struct Shape2 {
    int64_t batch, seq, past;
  };
  auto shapes_of = [&](const ModelInfo& mi) {
    std::vector<Shape2> out;
    if (!mi.data.empty()) {
      int64_t b, q;
      shape_of_inputs(mi.inputs, mi.data, b, q);
      return std::vector<Shape2>{{b, q, -1}};
    }
    std::vector<int64_t> bs = cfg.batch;
    if (bs.empty())
      bs = {mi.layout.has_batch_dim ? 1 : (mi.layout.fixed_batch > 0 ? mi.layout.fixed_batch : 1)};
    std::vector<int64_t> qs = cfg.seq;
    if (qs.empty()) qs = {mi.layout.has_seq_dim ? 128 : mi.layout.fixed_seq};
    std::vector<int64_t> ps = mi.layout.has_past_dim ? cfg.past : std::vector<int64_t>{};
    if (ps.empty()) ps = {mi.layout.has_past_dim ? 0 : -1};
    for (int64_t b : bs)
      for (int64_t q : qs)
        for (int64_t pl : ps) out.push_back({b, q, pl});
    return out;
  };
  size_t total = 0;
  for (const auto& m : cfg.models)
    total += cfg.precision.size() * cfg.threads.size() * shapes_of(info[m]).size();

  SweepResult res;
  res.warnings = static_warnings();
  size_t done = 0;
  for (const auto& m : cfg.models) {
    const ModelInfo& mi = info[m];
    auto shapes = shapes_of(mi);
    for (const auto& prec : cfg.precision) {
      for (int threads : cfg.threads) {
        // One session per (model, precision, threads); its load time is reported on each of its points.
        PointResult proto;
        proto.model = m;
        proto.precision = prec;
        proto.threads = threads;
        proto.inputs = mi.layout.summary;
        proto.num_inputs = static_cast<int>(mi.inputs.size());
        std::unique_ptr<Session> s;
        if (cancelled()) break;
        try {
          SessionOptions o;
          o.precision = to_precision(prec);
          o.threads = threads;
          std::string path = m;
          if (prec == "int8" && !mi.quantized) {
            if (hooks.quantize) {
              path = hooks.quantize(m);
              proto.notes.push_back("dynamically quantized to int8 from " + m);
            } else {
              proto.status = "unsupported";
              proto.reason =
                  "the model has no quantized ops and dynamic quantization (ortkit::quant) is not available "
                  "in this build; quantize it with ort-quantize and pass the int8 model";
            }
          }
          if (proto.status == "ok") {
            auto t0 = Clock::now();
            s = open(path, o);
            proto.load_ms = ms_since(t0);
          }
          if (s) {
            proto.optimize_ms = s->timings().optimize_ms;
            proto.prepack_ms = s->timings().prepack_ms;
            proto.kernels = s->kernels_used();
            for (std::string& n : s->notes()) proto.notes.push_back(std::move(n));
          }
        } catch (const Error& e) {
          s.reset();
          proto.status = classify(e.message());
          proto.reason = e.message();
        } catch (const std::exception& e) {
          s.reset();
          proto.status = "failed";
          proto.reason = e.what();
        }
        for (const auto& sh : shapes) {
          PointResult p = proto;
          p.batch = sh.batch;
          p.seq = sh.seq;
          p.past = sh.past;
          if (hooks.progress)
            hooks.progress(done, total,
                           m + " " + prec + " b" + std::to_string(sh.batch) +
                               (sh.seq >= 0 ? " s" + std::to_string(sh.seq) : "") +
                               (sh.past >= 0 ? " p" + std::to_string(sh.past) : "") + " t" +
                               std::to_string(threads));
          if (cancelled()) break;
          if (s) {
            try {
              std::vector<NamedTensor> in;
              if (!mi.data.empty()) {
                in = mi.data;
              } else {
                auto g = make_inputs(*s, sh.batch, sh.seq, cfg.padding, cfg.seed, sh.past);
                in = std::move(g.tensors);
                p.notes.insert(p.notes.end(), g.notes.begin(), g.notes.end());
              }
              auto t0 = Clock::now();
              s->prepare(in);
              p.compile_ms = ms_since(t0);
              t0 = Clock::now();
              s->run(in);
              p.first_inference_ms = ms_since(t0);
              for (int64_t w = 0; w < cfg.warmup && !cancelled(); ++w) s->run(in);
              CpuSample a = sample_cpu();
              bool finished = timed_loop(*s, in, cfg, hooks.cancel, p.latencies_ms, p.wall_s);
              CpuSample b = sample_cpu();
              if (!finished || cancelled()) break;
              finish_stats(p, cfg, a, b);
              p.kernels = s->kernels_used();
              if (cfg.profile) {
                // Separate runs, so the timers never touch the latencies above.
                s->set_profiling(true);
                for (int64_t r = 0; r < p.stats.n && !cancelled(); ++r, ++p.profile_runs) s->run(in);
                s->set_profiling(false);
                p.profile = s->profile();
              }
            } catch (const Error& e) {
              p.status = classify(e.message());
              p.reason = e.message();
              p.latencies_ms.clear();
            } catch (const std::exception& e) {
              p.status = "failed";
              p.reason = e.what();
              p.latencies_ms.clear();
            }
          }
          p.datetime = utc_now();
          res.points.push_back(std::move(p));
          ++done;
        }
        if (cancelled()) break;
      }
      if (cancelled()) break;
    }
    if (cancelled()) break;
  }
  res.complete = !cancelled() && done == total;
  if (hooks.progress) hooks.progress(done, total, "");
  res.wall_s = ms_since(run_start) / 1000.0;
  return res;
}

}  // namespace ortkit::bench
