// `ort-bench run`: flags (or a JSON config) -> sweep -> JSON/CSV reports and a table.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.h"
#include "ortkit/bench/atomic_file.h"
#include "ortkit/bench/config.h"
#include "ortkit/bench/report.h"
#include "ortkit/bench/sweep.h"
#include "ortkit/error.h"
#include "ortkit/zoo.h"

namespace ortkit::bench_cli {

namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) {
  g_interrupted.store(true);
}

struct RunFlags {
  std::vector<std::string> models;
  std::string batch, seq, past, precision, threads, duration, config, json, csv, input_dir;
  int64_t warmup = 0, iterations = 0, min_iterations = 0;
  uint64_t seed = 0;
  double padding = 0, cv_threshold = 0;
  bool raw = false, quiet = false, profile = false;
  std::vector<std::string> argv;
};

bool model_exists(const std::string& m) {
  if (std::filesystem::exists(m)) return true;
  try {
    return zoo::is_zoo_name(m);
  } catch (const Error&) {
    return false;  // no zoo in this build
  }
}

bench::BenchConfig build_config(CLI::App* app, const RunFlags& f) {
  bench::BenchConfig cfg;
  if (!f.config.empty()) bench::apply_config_file(cfg, f.config);
  auto given = [&](const char* name) { return app->get_option(name)->count() > 0; };
  if (given("--model")) {
    // -m a,b as -m a -m b, like the other list flags; a name that exists as given (a file with a comma in
    // its path) is kept whole.
    cfg.models.clear();
    for (const std::string& m : f.models) {
      if (m.find(',') == std::string::npos || model_exists(m)) {
        cfg.models.push_back(m);
        continue;
      }
      size_t at = 0;
      while (at <= m.size()) {
        const size_t end = std::min(m.find(',', at), m.size());
        if (end > at) cfg.models.push_back(m.substr(at, end - at));
        at = end + 1;
      }
    }
  }
  if (given("--batch")) cfg.batch = bench::parse_int_list(f.batch, "--batch");
  if (given("--seq")) cfg.seq = bench::parse_int_list(f.seq, "--seq");
  if (given("--past")) cfg.past = bench::parse_int_list(f.past, "--past", 0);
  if (given("--precision")) cfg.precision = bench::parse_precisions(f.precision);
  if (given("--threads")) cfg.threads = bench::parse_threads(f.threads);
  if (given("--warmup")) cfg.warmup = f.warmup;
  if (given("--iterations")) cfg.iterations = f.iterations;
  if (given("--duration")) cfg.duration_s = bench::parse_duration(f.duration);
  if (given("--min-iterations")) cfg.min_iterations = f.min_iterations;
  if (given("--seed")) cfg.seed = f.seed;
  if (given("--json")) cfg.json = f.json;
  if (given("--csv")) cfg.csv = f.csv;
  if (given("--raw")) cfg.raw = f.raw;
  if (given("--profile")) cfg.profile = f.profile;
  if (given("--quiet")) cfg.quiet = f.quiet;
  if (given("--padding")) cfg.padding = f.padding;
  if (given("--input-dir")) cfg.input_dir = f.input_dir;
  if (given("--cv-threshold")) cfg.cv_threshold = f.cv_threshold;
  bench::validate(cfg);
  for (const auto& m : cfg.models)
    if (!model_exists(m)) {
      std::string names;
      for (const auto& z : zoo::list()) names += (names.empty() ? "" : ", ") + z.name;
      throw Error("no such file, and not a zoo model name (zoo models: " + names + ")", "model '" + m + "'");
    }
  if (!cfg.input_dir.empty() && !std::filesystem::is_directory(cfg.input_dir))
    throw Error("not a directory", "--input-dir " + cfg.input_dir);
  // Fail now, not after an hour of measuring.
  if (!cfg.json.empty()) bench::check_writable(cfg.json);
  if (!cfg.csv.empty()) bench::check_writable(cfg.csv);
  return cfg;
}

std::function<void(size_t, size_t, const std::string&)> progress_bar(bool enabled) {
  if (!enabled) return {};
  auto start = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  return [start](size_t done, size_t total, const std::string& label) {
    // Keep the line shorter than a terminal so \r can redraw it: the end of a long path is what differs.
    std::string next = label.size() > 48 ? "..." + label.substr(label.size() - 45) : label;
    double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - *start).count();
    const int width = 24;
    int filled = total ? static_cast<int>(width * done / total) : width;
    std::string eta =
        done ? fmt::format("ETA {:.0f}s", el / static_cast<double>(done) * static_cast<double>(total - done))
             : std::string("ETA ?");
    std::cerr << fmt::format("\r\033[K[{}{}] {}/{} {} {}", std::string(filled, '='),
                             std::string(width - filled, ' '), done, total, eta, next);
    if (next.empty()) std::cerr << "\r\033[K";
    std::cerr.flush();
  };
}

// The command line as typed, for the report (main() keeps argv to itself; /proc has it verbatim).
std::vector<std::string> command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string a; std::getline(in, a, '\0');) args.push_back(a);
  return args;
}

int run(CLI::App* app, RunFlags f) {
  f.argv = command_line();
  bench::BenchConfig cfg = build_config(app, f);
  bench::SweepHooks hooks;
  hooks.cancel = &g_interrupted;
  hooks.quantize = bench::quantize_dynamic_cached;
  hooks.progress = progress_bar(!cfg.quiet && isatty(STDERR_FILENO));
  struct sigaction sa = {}, old = {};
  sa.sa_handler = on_sigint;
  sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C kills at once
  sigaction(SIGINT, &sa, &old);
  bench::SweepResult res = bench::run_sweep(cfg, hooks);
  sigaction(SIGINT, &old, nullptr);

  nlohmann::json report = bench::make_report(res, cfg, f.argv, bench::machine_or_error());
  // The table first: if a report cannot be written at the end (disk full), the numbers are still seen.
  if (!cfg.quiet) std::cout << bench::report_to_table(report) << std::flush;
  if (!cfg.json.empty()) bench::write_file_atomic(cfg.json, report.dump(2) + "\n");
  if (!cfg.csv.empty()) bench::write_file_atomic(cfg.csv, bench::report_to_csv(report));
  if (!res.complete) {
    std::cerr << "ort-bench: interrupted: wrote the " << res.points.size()
              << " finished point(s), marked incomplete\n";
    return 130;
  }
  for (const auto& p : res.points)
    if (p.status == "failed") return 1;
  return 0;
}

}  // namespace

Command add_run_command(CLI::App& parent) {
  auto f = std::make_shared<RunFlags>();
  Command c;
  CLI::App* a = parent.add_subcommand(
      "run", "sweep models over batch, seq, past, precision and threads (default verb)");
  c.app = a;
  a->add_option("-m,--model", f->models, "ONNX file or zoo name (repeatable, or a comma list)");
  a->add_option("-b,--batch", f->batch, "batch sizes, e.g. 1,2,4 (default 1)");
  a->add_option("-s,--seq", f->seq, "sequence lengths, e.g. 8,16,32 (default 128 for text models)");
  a->add_option("--past", f->past,
                "KV-cache lengths of past inputs, e.g. 0,128 (default 0; decoders exported with past)");
  a->add_option("-p,--precision", f->precision, "fp32,bf16,int8 (default fp32)");
  a->add_option("-t,--threads", f->threads, "thread counts: 1,2 or 1..nproc (default 1)");
  a->add_option("--warmup", f->warmup, "untimed runs per point after the first inference (default 5)");
  a->add_option("-n,--iterations", f->iterations, "timed runs per point (default 100 without --duration)");
  a->add_option("-d,--duration", f->duration, "time per point, e.g. 10s, 500ms");
  a->add_option("--min-iterations", f->min_iterations,
                "with --duration: at least this many runs (default 10)");
  a->add_option("--seed", f->seed, "seed of the synthetic inputs (default 42)");
  a->add_option("-c,--config", f->config, "JSON config; every flag can come from it, the command line wins");
  a->add_option("--json", f->json, "write the JSON report (the source of truth) here");
  a->add_option("--csv", f->csv, "write the CSV report here (benchmark.py's columns first)");
  a->add_flag("--raw", f->raw, "keep every latency in the JSON report (enables Mann-Whitney in compare)");
  a->add_flag("--profile", f->profile,
              "time every node in as many runs again after the timed ones: the slowest nodes and op types "
              "per point in the table, all nodes in the JSON report");
  a->add_flag("-q,--quiet", f->quiet, "no table and no progress bar");
  a->add_option("--padding", f->padding,
                "fraction of attention-mask positions set to 0 at the end of each row");
  a->add_option("--input-dir", f->input_dir,
                "real inputs: a test_data_set folder of input_*.pb or *.npy files");
  a->add_option("--cv-threshold", f->cv_threshold,
                "flag a point as noisy above this coefficient of variation (0.10)");
  c.run = [a, f] { return run(a, *f); };
  return c;
}

}  // namespace ortkit::bench_cli
