// ort-bench gemm: GEMM kernel throughput vs the measured peak of its instruction (lib/bench/gemm_bench).
//   ort-bench gemm --m 128 --n 768 --k 768 --precision fp32,bf16,int8 --threads 1,2 --json out.json
//   ort-bench gemm --shape 128x768x768,1x768x768 --shape 512x1024x1024 --csv out.csv
//   ort-bench gemm --shape 1x768x768 --precision bf16 --cold-b    # B from memory, as in a decode step
#include <iostream>
#include <memory>

#include "bench/gemm_bench.h"
#include "commands.h"
#include "ortkit/error.h"

namespace ortkit::bench_cli {

namespace {
struct GemmArgs {
  int64_t m = 0, n = 0, k = 0;
  std::vector<std::string> shapes, precisions = {"fp32"};
  std::vector<int> threads = {1};
  int repeats = 11;
  std::string json, csv, clock = "wall";
  bool cold_b = false;
};
}  // namespace

Command add_gemm_command(CLI::App& parent) {
  auto args = std::make_shared<GemmArgs>();
  Command c;
  c.app = parent.add_subcommand("gemm", "GEMM kernel throughput vs this machine's measured peak");
  c.app->add_option("--m", args->m, "rows of A and C");
  c.app->add_option("--n", args->n, "columns of B and C");
  c.app->add_option("--k", args->k, "inner dimension");
  c.app->add_option("--shape", args->shapes, "MxNxK, repeatable or comma separated")->delimiter(',');
  c.app
      ->add_option("--precision", args->precisions,
                   "fp32, bf16, bf16a (A already bf16), int8 (comma separated)")
      ->delimiter(',');
  c.app->add_option("--threads", args->threads, "thread counts (comma separated)")->delimiter(',');
  c.app->add_option("--repeats", args->repeats, "timed samples per point (median reported)");
  c.app->add_option("--clock", args->clock,
                    "wall, or cpu: CPU seconds of the calling thread (shared machines)");
  c.app->add_flag("--cold-b", args->cold_b,
                  "each call reads another copy of B (copies spanning 256 MiB): B from memory, as a model's "
                  "weights in a decode step, not from the caches the last call left it in");
  c.app->add_option("--json", args->json, "write the report as JSON (atomically)");
  c.app->add_option("--csv", args->csv, "write the results as CSV (atomically)");
  c.run = [args] {
    bench::GemmBenchOptions opt;
    if (args->m || args->n || args->k) {
      if (args->m < 1 || args->n < 1 || args->k < 1)
        throw Error("--m, --n and --k must all be given and >= 1", "ort-bench gemm");
      opt.shapes.push_back(bench::parse_gemm_shape(std::to_string(args->m) + "x" + std::to_string(args->n) +
                                                   "x" + std::to_string(args->k)));
    }
    for (const auto& s : args->shapes) opt.shapes.push_back(bench::parse_gemm_shape(s));
    if (opt.shapes.empty()) throw Error("give a shape: --m/--n/--k or --shape MxNxK", "ort-bench gemm");
    opt.precisions = args->precisions;
    opt.threads = args->threads;
    opt.repeats = args->repeats;
    opt.clock = args->clock;
    opt.cold_b = args->cold_b;
    const auto results = bench::run_gemm_bench(opt, &std::cerr);
    std::cout << bench::gemm_bench_table(results);
    if (!args->json.empty()) bench::write_file_atomic(args->json, bench::gemm_bench_json(opt, results));
    if (!args->csv.empty()) bench::write_file_atomic(args->csv, bench::gemm_bench_csv(results));
    return 0;
  };
  return c;
}

}  // namespace ortkit::bench_cli
