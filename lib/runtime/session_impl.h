// The Session implementation (session.h): load -> optimize -> kernels + prepack -> plans per signature.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "ops/op.h"
#include "ortkit/session.h"
#include "runtime/arena.h"
#include "runtime/plan.h"
#include "runtime/thread_pool.h"

namespace ortkit::runtime {

class SessionImpl final : public Session {
 public:
  SessionImpl(graph::Graph g, const SessionOptions& opts, double load_ms);

  const std::vector<ValueInfo>& inputs() const override { return g_.inputs; }
  const std::vector<ValueInfo>& outputs() const override { return g_.outputs; }
  void prepare(const std::vector<NamedTensor>& inputs) override;
  std::vector<Tensor> run(const std::vector<NamedTensor>& inputs) override;
  const SessionOptions& options() const override { return opts_; }
  const SessionTimings& timings() const override { return timings_; }
  std::vector<std::string> kernels_used() const override;
  std::map<std::string, int> op_counts() const override;
  int64_t index_bound(const std::string& input) const override;  // index_bound.cpp
  void set_profiling(bool on) override;
  std::vector<NodeProfile> profile() const override;

  /// run() without building a new result vector: outputs are written into `outs` (reused).
  void run_into(const std::vector<NamedTensor>& inputs, std::vector<Tensor>& outs);
  const graph::Graph& graph() const { return g_; }
  size_t plan_count() const { return plans_.size(); }
  const Arena& arena() const { return arena_; }
  /// The optimizer's log ("pass: count").
  const std::vector<std::string>& optimizer_log() const { return opt_log_; }
  std::vector<std::string> notes() const override { return notes_; }

 private:
  /// Match named inputs to bindable inputs (validating names, dtypes, ranks, dims); fills given_.
  void bind(const std::vector<NamedTensor>& inputs);
  Plan& plan_for_given();

  graph::Graph g_;
  SessionOptions opts_;
  SessionTimings timings_;
  std::vector<std::string> opt_log_;
  std::vector<std::string> notes_;
  std::unique_ptr<ThreadPool> pool_;
  uint64_t scratch_allocs_ = ~uint64_t{0};  // kernels::scratch_allocations() when the pool last caught up
  std::vector<ops::NodeInfo> infos_;
  std::vector<std::unique_ptr<ops::OpKernel>> kernels_;
  std::vector<BindableInput> bindable_;
  std::vector<const ValueInfo*> bindable_info_;
  std::vector<const Tensor*> given_;
  std::vector<std::unique_ptr<Plan>> plans_;
  Plan* active_ = nullptr;
  Arena arena_;
  std::vector<Tensor> outs_;
  bool profiling_ = false;
  std::vector<Plan::NodeTime> profile_;  ///< per graph node, while profiling
};

/// Every unsupported (domain, op, opset) of the graph, listed in one Error (nothing thrown if none).
void check_supported(const graph::Graph& g);

}  // namespace ortkit::runtime
