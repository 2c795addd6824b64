// Session: load -> optimize -> compile (per input-shape signature) -> run.
//
//   auto s = ortkit::Session::open("bert-base", {.precision = Precision::bf16, .threads = 2});
//   auto outs = s->run({{"input_ids", ids}, {"attention_mask", mask}});
//
// Weights are prepacked once at open(); a Plan is compiled and cached per input-shape signature; a
// steady-state run() does no heap allocation. Outputs returned by run() are views into the session's
// memory, valid until the next run() (clone() them to keep them).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ortkit/tensor.h"

namespace ortkit {

enum class Precision : uint8_t { fp32, bf16, int8 };
const char* precision_name(Precision p);          ///< "fp32", "bf16", "int8"
Precision parse_precision(const std::string& s);  ///< throws Error on an unknown name

struct SessionOptions {
  Precision precision = Precision::fp32;
  int threads = 1;              ///< exact intra-op thread count, caller included
  bool pin_threads = false;     ///< pin workers to cores through hwloc
  int optimization_level = 99;  ///< 0: no graph optimization, 99: all passes
  bool verbose = false;         ///< print optimizer and dispatch decisions to stderr
  /// Optimizer passes to skip by name (e.g. "qdq_conv_fusion"), for fused-vs-unfused comparisons. The
  /// environment variable ORTKIT_DISABLE_PASSES (comma-separated names) adds to this list.
  std::vector<std::string> disabled_passes;
};

/// A dimension: value >= 0 when fixed, else -1 with the symbolic name from the model ("batch", ...).
struct Dim {
  int64_t value = -1;
  std::string symbol;
};

struct ValueInfo {
  std::string name;
  DType dtype = DType::undefined;
  std::vector<Dim> dims;
  bool has_shape = true;  ///< false when the model gives no shape at all
};

/// One node's share of profiled runs (Session::set_profiling).
struct NodeProfile {
  std::string name;                  ///< the node's name, or "#<index>" when the model gives none
  std::string op_type;               ///< "Conv", "com.microsoft.Attention", "ortkit.FusedMatMul", ...
  std::vector<std::string> kernels;  ///< GEMM kernels the node runs (empty for non-GEMM ops)
  double total_ms = 0;               ///< summed over the profiled runs
  int64_t calls = 0;                 ///< runs in which the node executed
};

struct SessionTimings {
  double load_ms = 0;      ///< read and parse the file
  double optimize_ms = 0;  ///< graph passes
  double prepack_ms = 0;   ///< weight packing
  double compile_ms = 0;   ///< the most recent plan compile (shape binding, memory planning)
};

class Session {
 public:
  /// A path to an .onnx file or a zoo name (see zoo.h). Throws Error.
  static std::unique_ptr<Session> open(const std::string& model, const SessionOptions& opts = {});
  /// A serialized ModelProto; base_dir resolves external data files.
  static std::unique_ptr<Session> from_bytes(const std::string& bytes, const SessionOptions& opts = {},
                                             const std::string& base_dir = {});
  virtual ~Session() = default;

  virtual const std::vector<ValueInfo>& inputs() const = 0;  ///< graph inputs that are not initializers
  virtual const std::vector<ValueInfo>& outputs() const = 0;
  /// Compile (or fetch from cache) the plan for these inputs' shapes without running.
  virtual void prepare(const std::vector<NamedTensor>& inputs) = 0;
  /// Outputs in outputs() order. They view the session's own memory (no copy per run): valid until the
  /// next run() and never after the session is destroyed; Tensor::clone() keeps one.
  virtual std::vector<Tensor> run(const std::vector<NamedTensor>& inputs) = 0;

  virtual const SessionOptions& options() const = 0;
  virtual const SessionTimings& timings() const = 0;
  /// GEMM kernels this session uses, by name (e.g. {"gemm_f32_avx512_14x32"}).
  virtual std::vector<std::string> kernels_used() const = 0;
  /// Node count per op type after optimization (fused ops included), for reports.
  virtual std::map<std::string, int> op_counts() const = 0;
  /// What the engine changed about the model's arithmetic (e.g. a float16 model computed in fp32), for
  /// reports; empty when it runs as written.
  virtual std::vector<std::string> notes() const { return {}; }
  /// Time each node of the following runs (a steady_clock read around every kernel call, tens of ns per
  /// node); set_profiling(true) also clears what earlier runs gathered, false stops timing.
  virtual void set_profiling(bool on) { (void)on; }
  /// Per-node times gathered since set_profiling(true), in graph order, nodes that ran only (nodes folded
  /// into constants at compile time never run). Nested graphs (If, Loop, Scan) count as their node.
  virtual std::vector<NodeProfile> profile() const { return {}; }
  /// Exclusive upper bound of the index values `input` may hold: the first dimension of the data
  /// (table) of the Gather that consumes it, e.g. the vocabulary size for input_ids; -1 if the input
  /// feeds no Gather or the engine does not know. ort-bench uses it to make valid token ids.
  virtual int64_t index_bound(const std::string& input) const {
    (void)input;
    return -1;
  }
};

}  // namespace ortkit
