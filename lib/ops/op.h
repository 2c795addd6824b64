// The operator interface: what every ONNX operator implementation (an OpKernel) provides.
//
// Life of a kernel. The session creates ONE OpKernel per graph node at open() (after optimization), then:
//   compile(CompileContext&)  once per input-shape signature (a Plan). Receives every input's dtype and
//                             shape (and its value when it is a constant: an initializer, a folded value,
//                             or a Shape of a known-shape tensor), the node's attributes, the precision and
//                             the thread pool. It MUST set every output's dtype and shape (or mark the shape
//                             data-dependent), may declare scratch bytes, may mark an output as an alias of
//                             an input (reshape-like views), and may prepack constant weights. Because
//                             compile runs once per signature on the same object, prepacking is done the
//                             first time only (`if (packed_.empty()) pack...`): weights are packed once.
//   run(RunContext&)          every inference. Inputs and outputs are Tensors; outputs with a static shape
//                             are preallocated from the plan's arena (do NOT allocate them); data-dependent
//                             outputs are allocated by the kernel through ctx.allocate_output(). Loop bounds
//                             come from the tensors' shapes. Scratch memory (declared at compile) is given
//                             in ctx.scratch. A steady-state run must not touch the heap.
// State rule: members set in compile() may depend on attributes and constant inputs only; anything that
// depends on input shapes must be derived in run() from the tensors (or re-derived: the session calls
// compile() again on the same object before running a different cached plan).
// Errors: throw through ctx.fail("reason") (adds the node's name, op type, domain and opset). A dtype or
// attribute combination the kernel does not implement throws ctx.unsupported("reason") (the backend test
// driver counts such cases as skipped, not failed).
// Registration: see registry.h and README.md in this folder.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ortkit/error.h"
#include "ortkit/kernels/gemm.h"
#include "ortkit/kernels/registry.h"
#include "ortkit/kernels/work_claims.h"
#include "ortkit/session.h"
#include "ortkit/tensor.h"

namespace ortkit::graph {
struct Graph;
}

namespace ortkit::ops {

// ---------------------------------------------------------------------------------------------- attributes

/// One node attribute, converted from the ONNX AttributeProto. A graph attribute (If/Loop/Scan bodies)
/// is the parsed subgraph (graph/from_onnx.h); lists of graphs and sparse tensors stay `undefined`.
struct Attribute {
  enum class Kind : uint8_t { undefined, f, i, s, t, floats, ints, strings, graph };
  Kind kind = Kind::undefined;
  float f = 0.f;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::shared_ptr<const graph::Graph> g;  ///< Kind::graph: the subgraph (shared by copies of the node)
};
const char* attribute_kind_name(Attribute::Kind k);

/// A node's attributes with typed accessors. Getters without a default throw Error when the attribute is
/// missing; every getter throws Error on a kind mismatch ("attribute 'axis' is a float, expected int").
/// Errors carry `where` (the node description) when set.
class Attrs {
 public:
  Attrs() = default;
  explicit Attrs(std::map<std::string, Attribute> m, std::string where = {})
      : map_(std::move(m)), where_(std::move(where)) {}

  bool has(const std::string& name) const { return map_.count(name) != 0; }
  const Attribute* find(const std::string& name) const;

  int64_t get_int(const std::string& name) const;
  int64_t get_int(const std::string& name, int64_t def) const;
  float get_float(const std::string& name) const;
  float get_float(const std::string& name, float def) const;
  std::string get_string(const std::string& name) const;
  std::string get_string(const std::string& name, const std::string& def) const;
  std::vector<int64_t> get_ints(const std::string& name) const;
  std::vector<int64_t> get_ints(const std::string& name, const std::vector<int64_t>& def) const;
  std::vector<float> get_floats(const std::string& name) const;
  std::vector<float> get_floats(const std::string& name, const std::vector<float>& def) const;
  std::vector<std::string> get_strings(const std::string& name) const;
  const Tensor& get_tensor(const std::string& name) const;
  const graph::Graph& get_graph(const std::string& name) const;

  void set(const std::string& name, Attribute a) { map_[name] = std::move(a); }
  void set_int(const std::string& name, int64_t v);
  void set_float(const std::string& name, float v);
  void set_ints(const std::string& name, std::vector<int64_t> v);
  void set_string(const std::string& name, std::string v);
  void erase(const std::string& name) { map_.erase(name); }
  const std::map<std::string, Attribute>& all() const { return map_; }
  void set_where(std::string w) { where_ = std::move(w); }

 private:
  const Attribute& need(const std::string& name, Attribute::Kind k) const;
  std::map<std::string, Attribute> map_;
  std::string where_;
};

// ---------------------------------------------------------------------------------------------- node
// identity

/// Which node a kernel belongs to (for error messages and reports).
struct NodeInfo {
  std::string name;     ///< may be empty in the model; the session then makes one up ("MatMul_12")
  std::string op_type;  ///< "MatMul"
  std::string domain;   ///< "" for ai.onnx, "com.microsoft", "ortkit" (fused ops of our optimizer)
  int opset = 0;        ///< opset version of the node's domain in the model
  /// "node 'name' (MatMul, ai.onnx opset 14)"
  std::string describe() const;
};

/// Raised by kernels for dtype/attribute combinations they do not implement (a subclass of Error).
using Unsupported = ortkit::Unsupported;

// ---------------------------------------------------------------------------------------------- compile

/// An input as seen at compile time.
struct InputDesc {
  bool present = false;  ///< false for an omitted optional input ("" in the node) or one past the end
  DType dtype = DType::undefined;
  Shape shape;                       ///< valid when shape_known
  bool shape_known = false;          ///< false only downstream of a data-dependent shape
  const Tensor* constant = nullptr;  ///< the value when known at compile time, else null
};

/// An output as declared by compile().
struct OutputDesc {
  DType dtype = DType::undefined;
  Shape shape;
  bool data_dependent = false;  ///< shape known only at run: the kernel calls ctx.allocate_output()
  int alias_of_input = -1;      ///< >= 0: the output shares that input's buffer (same bytes, new shape)
  /// Set when the value is known at compile time (e.g. Shape of a known-shape tensor): the session then
  /// treats the output as a constant and does not run the node.
  std::shared_ptr<Tensor> constant;
};

struct CompileContext {
  const NodeInfo* node = nullptr;
  const Attrs* attrs = nullptr;
  std::vector<InputDesc> inputs;    ///< one per node input slot (absent optional inputs: present=false)
  std::vector<OutputDesc> outputs;  ///< one per node output; compile() fills them
  Precision precision = Precision::fp32;
  kernels::Threading threading;  ///< the session's pool (for parallel prepacking, if wanted)
  size_t scratch_bytes = 0;      ///< set by compile(): 64-byte aligned scratch given to run()

  size_t num_inputs() const { return inputs.size(); }
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i].present; }
  const InputDesc& input(size_t i) const;  ///< throws via fail() if absent
  const Attrs& attr() const { return *attrs; }
  /// GEMM kind for float GEMMs under the session precision (f32, or in bf16 mode what bf16 fast math
  /// runs on this CPU: see kernels::bf16_fast_math).
  kernels::GemmKind float_gemm_kind() const {
    return precision == Precision::bf16 ? kernels::bf16_fast_math().kind : kernels::GemmKind::f32;
  }
  /// Throw Error naming the node.
  [[noreturn]] void fail(const std::string& what) const;
  /// Throw Unsupported naming the node.
  [[noreturn]] void unsupported(const std::string& what) const;
  /// Throw Unsupported unless input i's dtype is one of `allowed`.
  void require_dtype(size_t i, std::initializer_list<DType> allowed) const;
  /// Set output i: dtype and static shape.
  void set_output(size_t i, DType dtype, Shape shape);
};

// ---------------------------------------------------------------------------------------------- run

struct RunContext {
  const NodeInfo* node = nullptr;
  std::vector<const Tensor*> inputs;  ///< null for absent optional inputs
  std::vector<Tensor*> outputs;       ///< preallocated for static shapes; empty Tensors for data-dependent
  void* scratch = nullptr;            ///< compile()'s scratch_bytes, 64-byte aligned
  size_t scratch_bytes = 0;
  kernels::Threading threading;  ///< the session's pool; pass to kernels::gemm_* and parallel_for

  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  const Tensor& input(size_t i) const { return *inputs[i]; }
  Tensor& output(size_t i) { return *outputs[i]; }
  /// For data-dependent outputs: storage for (dtype, shape) from the plan's dynamic pool (reused across
  /// runs when big enough). Returns the output tensor.
  Tensor& allocate_output(size_t i, DType dtype, const Shape& shape);
  [[noreturn]] void fail(const std::string& what) const;

  /// Set by the session: the allocator behind allocate_output (opaque to kernels).
  void* dynamic_pool = nullptr;
  Tensor (*allocate_fn)(void* pool, size_t output_index, DType dtype, const Shape& shape) = nullptr;
};

// ---------------------------------------------------------------------------------------------- kernel

/// What prepack() sees at Session::open: the node's constant inputs (initializers) and attributes; no
/// shapes of runtime inputs yet.
struct PrepackContext {
  const NodeInfo* node = nullptr;
  const Attrs* attrs = nullptr;
  std::vector<const Tensor*> constants;  ///< per input slot: the constant value, or null
  Precision precision = Precision::fp32;
  kernels::Threading threading;
  int optimization_level = 99;  ///< the session's; subgraphs (If/Loop/Scan bodies) are optimized with it
  kernels::GemmKind float_gemm_kind() const {
    return precision == Precision::bf16 ? kernels::bf16_fast_math().kind : kernels::GemmKind::f32;
  }
};

class OpKernel {
 public:
  virtual ~OpKernel() = default;
  /// Optional: pack constant weights once at Session::open (timed as SessionTimings::prepack_ms).
  /// compile() must still work (and pack lazily) when prepack() did nothing.
  virtual void prepack(const PrepackContext&) {}
  virtual void compile(CompileContext& ctx) = 0;
  virtual void run(RunContext& ctx) = 0;
  /// GEMM kernel names this node runs (for Session::kernels_used()); empty for non-GEMM ops.
  virtual std::vector<std::string> kernels_used() const { return {}; }
};

// ---------------------------------------------------------------------------------------------- threading

/// Run f(i) for i in [0, n) over the pool (on the caller when there is no pool or n <= 1).
template <class F>
void parallel_for(const kernels::Threading& th, int64_t n, F&& f) {
  if (n <= 0) return;
  if (!th.parallel_for || th.threads <= 1 || n == 1) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  th.parallel_for(
      th.pool, n, [](void* c, int64_t i) { (*static_cast<Fn*>(c))(i); },
      const_cast<void*>(static_cast<const void*>(&f)));
}

/// Split [0, total) into contiguous chunks of at least `grain` items, up to 4 per thread, and run
/// f(begin, end) on each in parallel. Small ranges run on the caller in one piece. Several chunks per
/// thread let the pool hand a lagging thread's chunks to the others.
template <class F>
void parallel_range(const kernels::Threading& th, int64_t total, int64_t grain, F&& f) {
  if (total <= 0) return;
  if (grain < 1) grain = 1;
  int64_t chunks = std::min<int64_t>(int64_t{4} * th.threads, (total + grain - 1) / grain);
  if (!th.parallel_for || chunks <= 1) {
    f(int64_t{0}, total);
    return;
  }
  const int64_t per = (total + chunks - 1) / chunks;
  chunks = (total + per - 1) / per;
  parallel_for(th, chunks, [&](int64_t c) { f(c * per, std::min(total, (c + 1) * per)); });
}

/// Independent tasks with per-thread scratch: when there are at least `slots` (> 1) tasks, slot s of
/// `slots` runs task(t, s, single-threaded Threading) for its contiguous share of the tasks, then for
/// tasks left in the other shares (a lagging thread's work is taken over, kernels/work_claims.h); s
/// indexes its scratch slot. Otherwise the tasks run one by one on the caller as task(t, 0, th),
/// threading inside.
/// The first task of each share is never taken over: every slot runs at least one task in every call, so
/// a slot's scratch (grown on first use) is sized by the first run, and a later run in which the
/// scheduling differs (a worker that woke late before, on time now) allocates nothing.
template <class F>
void run_tasks(const kernels::Threading& th, int64_t slots, int64_t tasks, F&& task) {
  if (tasks >= slots && slots > 1) {
    kernels::WorkClaims claims;
    const int n = static_cast<int>(slots);
    claims.reset(n);
    for (int r = 0; r < n; ++r) claims.set_range(r, tasks * r / n + 1, tasks * (r + 1) / n, 1);
    parallel_for(th, slots, [&](int64_t s) {
      task(tasks * s / slots, s, kernels::Threading{});
      claims.run(static_cast<int>(s), [&](int64_t t) { task(t, s, kernels::Threading{}); });
    });
  } else {
    for (int64_t t = 0; t < tasks; ++t) task(t, int64_t{0}, th);
  }
}

// ---------------------------------------------------------------------------------------------- helpers

/// numpy broadcasting of two shapes; throws Error (with `where`) when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& where = {});
/// Multi-way numpy broadcast.
Shape broadcast_shapes(const std::vector<Shape>& shapes, const std::string& where = {});
/// Row-major strides of `shape` (in elements).
std::vector<int64_t> strides_of(const Shape& shape);
/// Normalise an axis in [-rank, rank) (or [-rank-1, rank] with allow_end) to [0, rank); throws Error.
int64_t normalize_axis(int64_t axis, int64_t rank, const std::string& where = {}, bool allow_end = false);
/// A constant integer tensor (i32 or i64) as int64 values (for shape/axes inputs); throws Error otherwise.
std::vector<int64_t> to_int64_vector(const Tensor& t, const std::string& where = {});

}  // namespace ortkit::ops
