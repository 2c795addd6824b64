// A Plan: the graph compiled for one input-shape signature.
//
// compile() walks the nodes in order, calls each kernel's compile() with the input dtypes/shapes (shape
// inference), folds nodes whose inputs are all constant (or whose kernel declares a constant output,
// e.g. Shape of a known-shape tensor) into constants, and gives every remaining intermediate tensor an
// offset in one arena by lifetime (arena.h). Tensors (views) and RunContexts are built once, so
// execute() only swaps the input pointers and calls the kernels: no heap allocation in the steady state.
// Nodes downstream of a data-dependent shape (NonZero, ...) are "dynamic": compiled at each run with
// the real shapes, their outputs allocated from per-slot buffers that are reused when big enough.
#pragma once
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "ops/op.h"
#include "runtime/arena.h"

namespace ortkit::runtime {

struct Slot {
  enum class Kind : uint8_t { input, constant, arena, alias, dynamic };
  Kind kind = Kind::arena;
  std::string name;
  DType dtype = DType::undefined;
  Shape shape;
  bool shape_known = true;
  const Tensor* value = nullptr;  ///< constants: the value (graph initializer or folded)
  int buffer = -1;                ///< arena: index into the memory plan
  int alias_root = -1;            ///< alias: slot whose bytes it shares
  int input_index = -1;           ///< input: position among the session's bindable inputs
  Tensor tensor;                  ///< the run-time tensor (views into the arena / user memory)
  std::shared_ptr<void> storage;  ///< dynamic: owned bytes, reused when big enough
  size_t capacity = 0;
};

struct Step {
  int node = -1;
  ops::OpKernel* kernel = nullptr;
  std::vector<int> in_slots, out_slots;  ///< -1 for absent
  ops::CompileContext compiled;          ///< inputs as compiled; replayed on plan switch
  ops::RunContext rc;                    ///< prebuilt pointers into slot tensors
  int scratch_buffer = -1;
  bool dynamic = false;
  std::shared_ptr<void> dyn_scratch;
  size_t dyn_scratch_bytes = 0;
};

struct BindableInput {
  std::string name;
  bool required = true;
};

class Plan {
 public:
  /// `given[i]` is the tensor for bindable input i (empty Tensor = not given, for optional ones).
  Plan(const graph::Graph& g, const std::vector<std::unique_ptr<ops::OpKernel>>& kernels,
       const std::vector<ops::NodeInfo>& infos, const std::vector<BindableInput>& bindable,
       const std::vector<const Tensor*>& given, Precision precision, const kernels::Threading& th);

  /// True when this plan was compiled for exactly these inputs' dtypes/shapes (and presence).
  bool matches(const std::vector<const Tensor*>& given) const;
  size_t arena_bytes() const { return arena_bytes_; }
  /// Point arena-backed tensors into `base` (done once per arena (re)allocation).
  void bind_arena(char* base);
  char* bound_arena() const { return bound_; }
  /// Re-run every kernel's compile() for this plan (after another plan ran).
  void recompile();
  /// Run; outputs[i] receives graph output i (views, valid until the next run). No allocation when the
  /// plan is static and `outputs` already has the right size.
  void execute(const std::vector<const Tensor*>& given, std::vector<Tensor>& outputs);
  const std::vector<Step>& steps() const { return steps_; }
  /// Per-node accumulators (indexed by graph node) that execute() adds each kernel call's time to; null
  /// stops timing.
  struct NodeTime {
    int64_t ns = 0, calls = 0;
  };
  void set_profile(std::vector<NodeTime>* p) { profile_ = p; }
  int folded_nodes() const { return folded_; }

 private:
  int slot_of(const std::string& name) const;
  void run_dynamic(Step& s);

  const graph::Graph& g_;
  std::vector<Slot> slots_;
  std::vector<Step> steps_;
  std::vector<int> output_slots_;
  std::vector<int> input_slots_;  // per bindable input, -1 when not given
  std::vector<std::pair<DType, Shape>> signature_;
  std::vector<bool> given_mask_;
  std::vector<std::shared_ptr<Tensor>> folded_values_;
  std::vector<BufferRequest> requests_;
  std::vector<size_t> offsets_;
  size_t arena_bytes_ = 0;
  char* bound_ = nullptr;
  int folded_ = 0;
  kernels::Threading th_;
  std::vector<NodeTime>* profile_ = nullptr;
  std::vector<std::pair<std::string, int>> index_;  // name -> slot (sorted)
};

}  // namespace ortkit::runtime
