// A subgraph (If branch, Loop/Scan body) run through the same machinery as a top-level graph: optimized
// once, one kernel per node (prepacked), a Plan per input-shape signature (cached, so repeated iterations
// with the same shapes never re-plan) over its own arena, on the parent's thread pool and precision.
//
// Bound inputs, in order: the body's formal inputs, then the outer-scope values it reads (outer_refs)
// that were not known as constants when the runner was built (those become initializers of the body,
// so its weights fold and prepack like a top-level graph's).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "ops/op.h"
#include "runtime/arena.h"
#include "runtime/plan.h"

namespace ortkit::runtime {

class SubgraphRunner {
 public:
  /// `outer_constants`: outer-scope values known now (not owned: they must outlive the runner).
  SubgraphRunner(const graph::Graph& body, const std::map<std::string, const Tensor*>& outer_constants,
                 Precision precision, const kernels::Threading& th, int optimization_level = 99);
  ~SubgraphRunner();

  /// Names run() binds, in order (formal inputs, then the remaining outer refs).
  const std::vector<std::string>& bind_names() const { return bind_names_; }
  size_t num_formal_inputs() const { return formal_; }
  const graph::Graph& graph() const { return g_; }
  /// Run with one tensor per bind name (none may be null). The outputs are views that stay valid until
  /// the next run() of this runner.
  const std::vector<Tensor>& run(const std::vector<const Tensor*>& given);
  size_t plan_count() const { return plans_.size(); }
  /// GEMM kernel names the body's nodes run (nested bodies included).
  std::vector<std::string> kernels_used() const;

 private:
  Plan& plan_for(const std::vector<const Tensor*>& given);

  graph::Graph g_;
  Precision precision_;
  int opt_level_;
  kernels::Threading th_;
  size_t formal_ = 0;
  std::vector<std::string> bind_names_;
  std::vector<BindableInput> bindable_;
  std::vector<ops::NodeInfo> infos_;
  std::vector<std::unique_ptr<ops::OpKernel>> kernels_;
  std::vector<std::unique_ptr<Plan>> plans_;  // most recently used last
  Plan* active_ = nullptr;
  Arena arena_;
  std::vector<Tensor> outs_;
  std::vector<const Tensor*> given_all_;
};

}  // namespace ortkit::runtime
