// `ort-bench gemm`: throughput of the dispatched GEMM kernels at given shapes, next to the measured
// peak of the instruction each kernel is built on and, for small M (B-streaming bound), next to a
// measured read bandwidth.
//
// Method: B is packed once (weights); every sample times `inner` back-to-back calls (inner chosen so a
// sample lasts >= ~20 ms), `repeats` samples, median reported. Each sample is preceded by a short probe
// of its instruction's peak on the same threads; % of peak is the median of the per-sample ratios. Shapes x
// precisions x thread counts run in that nesting order, so A/B runs of one shape sit next to each other in
// time.
//
// With cold_b, consecutive calls read different copies of B, a ring of them spanning dram_bytes, so B
// comes from memory as a model's weights do in a decode step (each weight is read once per step, and
// the rest of the model has evicted it since). Without it B stays in the caches the last call left it
// in, a best case no model run sees once its weights outgrow the L2 / L3.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "ortkit/bench/atomic_file.h"  // write_file_atomic for the gemm reports

namespace ortkit::bench {

struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
};

/// "128x768x768" (M x N x K) -> shape; throws ortkit::Error on anything else.
GemmShape parse_gemm_shape(const std::string& s);

struct GemmBenchOptions {
  std::vector<GemmShape> shapes;
  /// fp32, bf16 (fp32 A rounded by the GEMM), bf16a (A given in bf16: gemm_bf16), int8 (u8 x s8, fp32 out)
  std::vector<std::string> precisions = {"fp32"};
  std::vector<int> threads = {1};
  int repeats = 11;
  double sample_seconds = 0.02;           ///< minimum duration of one sample
  double peak_seconds = 0.15;             ///< peak probe time per point, split over its samples
  bool memory_bandwidth = true;           ///< measure read bandwidth for small-M shapes
  size_t dram_bytes = size_t{256} << 20;  ///< buffer of the DRAM bandwidth probe (well past any L3)
  bool cold_b = false;                    ///< rotate over copies of B spanning dram_bytes (see above)
  /// "wall" (default) or "cpu": CPU seconds of the process divided by the thread count, which leaves
  /// out time spent descheduled on a shared machine (the peak probes then use thread CPU time too).
  /// With threads > 1 it over-states speed whenever threads sit idle (blocked workers accrue no CPU
  /// time: serial parts, calls the driver keeps on one thread), so judge those with wall time.
  std::string clock = "wall";
};

struct GemmBenchResult {
  GemmShape shape;
  std::string precision;
  int threads = 1;
  std::string kernel;            ///< the micro-kernel that ran
  std::string peak_instruction;  ///< what the peak probe measured ("" if none)
  double median_s = 0, min_s = 0;
  double gops = 0;       ///< 2*M*N*K / median, in 1e9/s (GFLOP/s or GOP/s)
  double peak_gops = 0;  ///< measured peak of the instruction on `threads` threads, median (0: unknown)
  double pct_peak = 0;   ///< 100 * median over samples of (sample's GOP/s / the probe's just before it)
  double b_bytes = 0;    ///< packed B size
  double b_gbs = 0;      ///< b_bytes / median, 1e9 B/s
  int b_copies = 1;      ///< copies of B the calls rotate over (cold_b: > 1 unless B alone spans dram_bytes)
  double mem_gbs = 0;    ///< read bandwidth over a buffer the size of packed B (0: not measured)
  double dram_gbs = 0;   ///< read bandwidth over dram_bytes (0: not measured)
};

/// Small M is the decode-step regime where B is streamed once per call.
bool is_small_m(const GemmShape& s);

/// Run the benchmark; progress lines go to `log` if non-null.
std::vector<GemmBenchResult> run_gemm_bench(const GemmBenchOptions& opt, std::ostream* log);

std::string gemm_bench_json(const GemmBenchOptions& opt, const std::vector<GemmBenchResult>& r);
std::string gemm_bench_csv(const std::vector<GemmBenchResult>& r);
std::string gemm_bench_table(const std::vector<GemmBenchResult>& r);

}  // namespace ortkit::bench
