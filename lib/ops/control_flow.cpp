// Control flow: If (opset 1+), Loop (1+), Scan (8 with a batch axis, 9+ with per-input axes and
// directions). Each body is a runtime::SubgraphRunner (a nested plan cache with its own arena on the
// session's pool and precision), built once at prepack (outer constants folded into the body) or at the
// first compile. The outer-scope values a body reads are the node's trailing inputs (from_onnx appends
// them, named by graph::kImplicitInputsAttr) and are bound by position. Outputs are data-dependent
// (a branch or an iteration count decides their shape): they are copied out of the body's arena into
// the plan's reusable dynamic buffers. Loop-carried values live in two kernel-owned buffers per value
// (written alternately), because the body's outputs are views into an arena the next iteration reuses.
// Sequence- and optional-typed values (If outputs, loop-carried values) pass as they are: their items
// are owned tensors that no arena reuses (ortkit/tensor.h), so they need no copy.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "graph/graph.h"
#include "ops/op_util.h"
#include "ops/registry.h"
#include "ops/subgraph_body.h"
#include "runtime/subgraph.h"

namespace ortkit::ops {
namespace {

/// Reusable 64-byte aligned bytes, grown (never shrunk) on demand: no heap traffic once big enough.
struct Buffer {
  std::shared_ptr<void> mem;
  size_t cap = 0;
  void* ensure(size_t n) {
    if (!mem || n > cap) {
      const size_t want = std::max<size_t>(64, (std::max(n, cap + cap / 2) + 63) / 64 * 64);
      void* p = std::aligned_alloc(64, want);
      if (!p) throw std::bad_alloc();
      mem.reset(p, std::free);
      cap = want;
    }
    return mem.get();
  }
  Tensor copy_of(const Tensor& t) {
    if (t.is_list()) return t;
    if (t.dtype() == DType::string) return t.clone();  // objects: an owned deep copy
    void* p = ensure(t.bytes());
    if (t.bytes()) std::memcpy(p, t.data(), t.bytes());
    return Tensor::view(t.dtype(), t.shape(), p);
  }
};

bool read_bool(const Tensor& t, const char* what, const RunContext& rc) {
  if (t.dtype() != DType::boolean || t.numel() != 1)
    rc.fail(std::string(what) + " must be a single bool, got " + dtype_name(t.dtype()) + " " +
            shape_str(t.shape()));
  return *t.data_as<uint8_t>() != 0;
}

/// An axis in [-rank, rank) as [0, rank), without building strings on the happy path (run() must not
/// allocate).
int64_t axis_in(int64_t axis, int64_t rank, const RunContext& rc) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    rc.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return a;
}

/// A body output's declared type as an empty-along-axis tensor shape (zero iterations): [0] + dims when
/// every dim is known, else [0].
Shape empty_scan_shape(const ValueInfo& v, int64_t axis_hint = 0) {
  Shape s;
  if (v.has_shape) {
    for (const Dim& d : v.dims) {
      if (d.value < 0) return {0};
      s.push_back(d.value);
    }
  }
  s.insert(s.begin() + std::clamp<int64_t>(axis_hint, 0, static_cast<int64_t>(s.size())), 0);
  return s;
}

// ------------------------------------------------------------------------------------------------ If

class If : public OpKernel {
 public:
  void prepack(const PrepackContext& pc) override {
    build(*pc.attrs, pc.constants.size(), pc.constants, pc.precision, pc.threading, pc.node->describe(),
          pc.optimization_level);
  }
  void compile(CompileContext& cc) override {
    if (!branch_[0].runner)
      build(cc.attr(), cc.num_inputs(), {}, cc.precision, cc.threading, cc.node->describe());
    if (formal_ != 1) cc.fail("If takes exactly one input (cond), got " + std::to_string(formal_));
    const InputDesc& c = cc.input(0);
    if (c.dtype != DType::boolean) cc.fail(std::string("cond must be bool, got ") + dtype_name(c.dtype));
    if (c.shape_known && shape_numel(c.shape) != 1)
      cc.fail("cond must hold a single value, got shape " + shape_str(c.shape));
    for (int b = 0; b < 2; ++b) {
      const size_t n = branch_[b].graph().outputs.size();
      if (n != cc.outputs.size())
        cc.fail(std::string(b == 0 ? "then_branch" : "else_branch") + " has " + std::to_string(n) +
                " outputs, the node has " + std::to_string(cc.outputs.size()));
      if (branch_[b].formal() != 0)
        cc.fail(std::string(b == 0 ? "then_branch" : "else_branch") + " must take no inputs, it declares " +
                std::to_string(branch_[b].formal()));
    }
    for (size_t i = 0; i < cc.outputs.size(); ++i) {
      cc.outputs[i].data_dependent = true;
      cc.outputs[i].dtype = branch_[0].graph().outputs[i].dtype;
    }
  }
  void run(RunContext& rc) override {
    Body& b = branch_[read_bool(rc.input(0), "cond", rc) ? 0 : 1];
    b.bind_outer(rc.inputs);
    const std::vector<Tensor>& outs = b.run(rc.node);
    for (size_t i = 0; i < outs.size(); ++i) copy_to_output(rc, i, outs[i]);
  }

 private:
  void build(const Attrs& a, size_t node_inputs, const std::vector<const Tensor*>& consts, Precision p,
             const kernels::Threading& th, const std::string& where, int opt_level = 99) {
    formal_ = formal_node_inputs(a, node_inputs, where);
    build_body(branch_[0], a, "then_branch", node_inputs, consts, p, th, where, opt_level);
    build_body(branch_[1], a, "else_branch", node_inputs, consts, p, th, where, opt_level);
  }
  std::vector<std::string> kernels_used() const override {
    return bodies_kernels({&branch_[0], &branch_[1]});
  }
  Body branch_[2];
  size_t formal_ = 0;
};

// ------------------------------------------------------------------------------------------------ Loop

class Loop : public BodyKernel {
 public:
  void compile(CompileContext& cc) override {
    ensure_body(cc);
    if (formal_ < 2) cc.fail("Loop needs inputs M and cond (either may be \"\")");
    const size_t n = formal_ - 2;
    const graph::Graph& g = body_.graph();
    if (body_.formal() != n + 2)
      cc.fail("the body takes " + std::to_string(body_.formal()) + " inputs, expected 2 + " +
              std::to_string(n) + " (iteration number, condition, loop-carried values)");
    if (g.outputs.size() < n + 1)
      cc.fail("the body has " + std::to_string(g.outputs.size()) + " outputs, expected at least 1 + " +
              std::to_string(n) + " (condition, loop-carried values)");
    const size_t k = g.outputs.size() - 1 - n;
    if (cc.outputs.size() > n + k)
      cc.fail("the node has " + std::to_string(cc.outputs.size()) + " outputs, the body makes " +
              std::to_string(n) + " loop-carried and " + std::to_string(k) + " scan outputs");
    if (cc.has_input(0) && cc.input(0).dtype != DType::i64)
      cc.fail(std::string("M must be int64, got ") + dtype_name(cc.input(0).dtype));
    if (cc.has_input(1) && cc.input(1).dtype != DType::boolean)
      cc.fail(std::string("cond must be bool, got ") + dtype_name(cc.input(1).dtype));
    if (g.outputs[0].dtype != DType::undefined && g.outputs[0].dtype != DType::boolean)
      cc.fail(std::string("the body's condition output must be bool, it is declared ") +
              dtype_name(g.outputs[0].dtype));
    for (size_t j = 0; j < n; ++j)
      if (!cc.has_input(2 + j)) cc.fail("loop-carried input " + std::to_string(j) + " is missing");
    for (size_t i = 0; i < cc.outputs.size(); ++i) {
      cc.outputs[i].data_dependent = true;
      cc.outputs[i].dtype = i < n ? cc.input(2 + i).dtype : g.outputs[1 + i].dtype;
    }
    n_ = n;
    k_ = k;
    state_[0].resize(n);
    state_[1].resize(n);
    cur_.resize(n);
    acc_.resize(k);
    acc_shape_.resize(k);
    acc_dtype_.resize(k);
  }
  void run(RunContext& rc) override {
    int64_t max_trips = INT64_MAX;
    if (rc.has_input(0)) {
      const Tensor& m = rc.input(0);
      if (m.numel() != 1) rc.fail("M must hold a single value, got shape " + shape_str(m.shape()));
      max_trips = *m.data_as<int64_t>();
    }
    bool cond = rc.has_input(1) ? read_bool(rc.input(1), "cond", rc) : true;
    for (size_t j = 0; j < n_; ++j) cur_[j] = state_[0][j].copy_of(rc.input(2 + j));
    for (size_t k = 0; k < k_; ++k) acc_[k].clear();
    body_.bind_outer(rc.inputs);
    int side = 0;
    int64_t it = 0;
    for (; it < max_trips && cond; ++it) {
      *iter_.data_as<int64_t>() = it;
      *cond_.data_as<uint8_t>() = cond ? 1 : 0;
      body_.given[0] = &iter_;
      body_.given[1] = &cond_;
      for (size_t j = 0; j < n_; ++j) body_.given[2 + j] = &cur_[j];
      const std::vector<Tensor>& outs = body_.run(rc.node);
      cond = read_bool(outs[0], "the body's condition output", rc);
      for (size_t j = 0; j < n_; ++j) cur_[j] = state_[1 - side][j].copy_of(outs[1 + j]);
      side = 1 - side;
      for (size_t k = 0; k < k_; ++k) {
        const Tensor& s = outs[1 + n_ + k];
        if (s.is_list() || s.dtype() == DType::string)
          rc.fail("scan output " + std::to_string(k) + " is a " + dtype_name(s.dtype()) +
                  "; scan outputs must be numeric tensors");
        if (it == 0) {
          acc_shape_[k] = s.shape();
          acc_dtype_[k] = s.dtype();
        } else if (s.shape() != acc_shape_[k] || s.dtype() != acc_dtype_[k]) {
          rc.fail("scan output " + std::to_string(k) + " is " + shape_str(s.shape()) + " in iteration " +
                  std::to_string(it) + " but was " + shape_str(acc_shape_[k]) + " before");
        }
        const char* p = static_cast<const char*>(s.data());
        acc_[k].insert(acc_[k].end(), p, p + s.bytes());
      }
    }
    for (size_t j = 0; j < n_; ++j) copy_to_output(rc, j, cur_[j]);
    for (size_t k = 0; k < k_ && n_ + k < rc.outputs.size(); ++k) {
      const ValueInfo& vi = body_.graph().outputs[1 + n_ + k];
      Shape shape;
      DType dt;
      if (it == 0) {
        shape = empty_scan_shape(vi);
        dt = vi.dtype == DType::undefined ? DType::f32 : vi.dtype;
      } else {
        shape = acc_shape_[k];
        shape.insert(shape.begin(), it);
        dt = acc_dtype_[k];
      }
      Tensor& o = rc.allocate_output(n_ + k, dt, shape);
      if (o.bytes()) std::memcpy(o.data(), acc_[k].data(), o.bytes());
    }
  }

 private:
  size_t n_ = 0, k_ = 0;
  Tensor iter_{DType::i64, {}}, cond_{DType::boolean, {}};
  std::vector<Buffer> state_[2];
  std::vector<Tensor> cur_;
  std::vector<std::vector<char>> acc_;
  std::vector<Shape> acc_shape_;
  std::vector<DType> acc_dtype_;
};

// ------------------------------------------------------------------------------------------------ Scan

/// Copy slice `index` along `axis` of `t` into `buf` (the axis removed).
Tensor take_slice(const Tensor& t, int64_t axis, int64_t index, Buffer& buf) {
  Shape s = t.shape();
  const int64_t len = s[axis];
  int64_t outer = 1, inner = static_cast<int64_t>(dtype_size(t.dtype()));
  for (int64_t d = 0; d < axis; ++d) outer *= s[d];
  for (size_t d = static_cast<size_t>(axis) + 1; d < s.size(); ++d) inner *= s[d];
  s.erase(s.begin() + axis);
  char* dst = static_cast<char*>(buf.ensure(static_cast<size_t>(outer * inner)));
  const char* src = static_cast<const char*>(t.data());
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(dst + o * inner, src + (o * len + index) * inner, static_cast<size_t>(inner));
  return Tensor::view(t.dtype(), s, dst);
}

/// Write `slice` as position `index` along `axis` of `dst` (len entries along that axis).
void put_slice(const Tensor& slice, Tensor& dst, int64_t axis, int64_t index) {
  const Shape& s = dst.shape();
  const int64_t len = s[axis];
  int64_t outer = 1, inner = static_cast<int64_t>(dtype_size(dst.dtype()));
  for (int64_t d = 0; d < axis; ++d) outer *= s[d];
  for (size_t d = static_cast<size_t>(axis) + 1; d < s.size(); ++d) inner *= s[d];
  const char* src = static_cast<const char*>(slice.data());
  char* out = static_cast<char*>(dst.data());
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(out + (o * len + index) * inner, src + o * inner, static_cast<size_t>(inner));
}

class Scan : public OpKernel {
 public:
  void prepack(const PrepackContext& pc) override {
    build(*pc.attrs, pc.constants.size(), pc.constants, pc.precision, pc.threading, pc.node->describe(),
          pc.node->opset, pc.optimization_level);
  }
  void compile(CompileContext& cc) override {
    if (!body_.runner)
      build(cc.attr(), cc.num_inputs(), {}, cc.precision, cc.threading, cc.node->describe(), cc.node->opset);
    const Attrs& a = cc.attr();
    m_ = a.get_int("num_scan_inputs");
    const size_t lead = batched_ ? 1 : 0;  // opset 8: sequence_lens first
    if (m_ < 1 || static_cast<size_t>(m_) + lead > formal_)
      cc.fail("num_scan_inputs " + std::to_string(m_) + " does not fit the node's " +
              std::to_string(formal_) + " inputs");
    n_ = formal_ - lead - static_cast<size_t>(m_);
    const graph::Graph& g = body_.graph();
    if (body_.formal() != n_ + static_cast<size_t>(m_))
      cc.fail("the body takes " + std::to_string(body_.formal()) + " inputs, expected " + std::to_string(n_) +
              " state + " + std::to_string(m_) + " scan inputs");
    if (g.outputs.size() < n_)
      cc.fail("the body has " + std::to_string(g.outputs.size()) + " outputs, fewer than the " +
              std::to_string(n_) + " state values");
    k_ = g.outputs.size() - n_;
    if (cc.outputs.size() > n_ + k_)
      cc.fail("the node has " + std::to_string(cc.outputs.size()) + " outputs, the body makes " +
              std::to_string(n_ + k_));
    const size_t m = static_cast<size_t>(m_);
    if (batched_) {
      in_axes_.assign(m, 0);  // within one batch entry
      in_dirs_ = a.get_ints("directions", std::vector<int64_t>(m, 0));
      out_axes_.assign(k_, 0);
      out_dirs_.assign(k_, 0);
    } else {
      in_axes_ = a.get_ints("scan_input_axes", std::vector<int64_t>(m, 0));
      in_dirs_ = a.get_ints("scan_input_directions", std::vector<int64_t>(m, 0));
      out_axes_ = a.get_ints("scan_output_axes", std::vector<int64_t>(k_, 0));
      out_dirs_ = a.get_ints("scan_output_directions", std::vector<int64_t>(k_, 0));
    }
    if (in_axes_.size() != m || in_dirs_.size() != m || out_axes_.size() != k_ || out_dirs_.size() != k_)
      cc.fail("scan axes/directions attributes must have one entry per scan input (" + std::to_string(m) +
              ") or scan output (" + std::to_string(k_) + ")");
    for (size_t i = 0; i < m; ++i) {
      const InputDesc& d = cc.input(lead + n_ + i);
      const int64_t rank = static_cast<int64_t>(d.shape.size()) - (batched_ ? 1 : 0);
      if (d.shape_known) {
        if (rank < 1) cc.fail("scan input " + std::to_string(i) + " has no axis to scan");
        normalize_axis(in_axes_[i], rank, cc.node->describe());
      }
    }
    if (batched_ && cc.has_input(0) && cc.input(0).dtype != DType::i32 && cc.input(0).dtype != DType::i64)
      cc.fail("sequence_lens must be int32/int64");
    for (size_t i = 0; i < cc.outputs.size(); ++i) {
      cc.outputs[i].data_dependent = true;
      cc.outputs[i].dtype = i < n_ ? cc.input(lead + i).dtype : g.outputs[i].dtype;
    }
    state_[0].resize(n_);
    state_[1].resize(n_);
    cur_.resize(n_);
    slices_.resize(m);
    slice_t_.resize(m);
    ins_.resize(m);
    inits_.resize(n_);
    out_t_.resize(k_);
    first_shape_.resize(k_);
  }

  void run(RunContext& rc) override {
    body_.bind_outer(rc.inputs);
    const size_t lead = batched_ ? 1 : 0;
    if (!batched_) {
      for (size_t j = 0; j < n_; ++j) inits_[j] = rc.input(j);
      for (size_t i = 0; i < ins_.size(); ++i) ins_[i] = rc.input(n_ + i);
      const int64_t len = seq_len(rc);
      scan(rc, len, [&](size_t k, const Shape& full, DType dt) -> Tensor {
        return rc.allocate_output(n_ + k, dt, full);
      });
      for (size_t j = 0; j < n_; ++j) copy_to_output(rc, j, cur_[j]);
      if (len == 0) empty_outputs(rc, 0);
      return;
    }
    // Opset 8: every input has a leading batch axis; each batch entry is scanned on its own.
    const Tensor& first = rc.input(lead + n_);
    if (first.rank() < 2) rc.fail("scan inputs need a batch and a sequence axis");
    const int64_t batch = first.shape()[0];
    for (int64_t b = 0; b < batch; ++b) {
      for (size_t j = 0; j < n_; ++j) inits_[j] = batch_entry(rc.input(lead + j), b, rc);
      for (size_t i = 0; i < ins_.size(); ++i) ins_[i] = batch_entry(rc.input(lead + n_ + i), b, rc);
      const int64_t len = seq_len(rc);
      if (rc.has_input(0)) {
        const Tensor& sl = rc.input(0);
        for (int64_t i = 0; i < sl.numel(); ++i) {
          const int64_t l = sl.dtype() == DType::i64 ? sl.data_as<int64_t>()[i] : sl.data_as<int32_t>()[i];
          if (l != len)
            throw Unsupported("sequence_lens shorter than the sequence axis are not supported",
                              rc.node ? rc.node->describe() : std::string());
        }
      }
      scan(rc, len, [&](size_t k, const Shape& full, DType dt) -> Tensor {
        Shape s = full;
        s.insert(s.begin(), batch);
        if (b == 0) rc.allocate_output(n_ + k, dt, s);
        Tensor& o = rc.output(n_ + k);
        if (o.shape() != s) rc.fail("scan output " + std::to_string(k) + " changes shape across the batch");
        const size_t bytes = o.bytes() / static_cast<size_t>(batch);
        return Tensor::view(dt, full, static_cast<char*>(o.data()) + bytes * static_cast<size_t>(b));
      });
      for (size_t j = 0; j < n_ && j < rc.outputs.size(); ++j) {
        Shape s = cur_[j].shape();
        s.insert(s.begin(), batch);
        if (b == 0) rc.allocate_output(j, cur_[j].dtype(), s);
        Tensor& o = rc.output(j);
        if (o.shape() != s) rc.fail("state " + std::to_string(j) + " changes shape across the batch");
        std::memcpy(static_cast<char*>(o.data()) + cur_[j].bytes() * static_cast<size_t>(b), cur_[j].data(),
                    cur_[j].bytes());
      }
      if (len == 0 && b == 0) empty_outputs(rc, batch);
    }
    if (batch == 0) {
      for (size_t j = 0; j < n_; ++j) copy_to_output(rc, j, rc.input(lead + j));
      empty_outputs(rc, 0);
    }
  }

 private:
  void build(const Attrs& a, size_t node_inputs, const std::vector<const Tensor*>& consts, Precision p,
             const kernels::Threading& th, const std::string& where, int opset, int opt_level = 99) {
    batched_ = opset < 9;
    formal_ = formal_node_inputs(a, node_inputs, where);
    build_body(body_, a, "body", node_inputs, consts, p, th, where, opt_level);
  }

  Tensor batch_entry(const Tensor& t, int64_t b, RunContext& rc) {
    if (t.rank() < 1 || t.shape()[0] <= b) rc.fail("inputs must share the batch axis");
    Shape s(t.shape().begin() + 1, t.shape().end());
    const size_t bytes = t.bytes() / static_cast<size_t>(t.shape()[0]);
    return Tensor::view(t.dtype(), s, const_cast<char*>(static_cast<const char*>(t.data())) + bytes * b);
  }

  int64_t seq_len(RunContext& rc) {
    int64_t len = -1;
    for (size_t i = 0; i < ins_.size(); ++i) {
      const int64_t ax = axis_in(in_axes_[i], ins_[i].rank(), rc);
      const int64_t l = ins_[i].shape()[ax];
      if (len >= 0 && l != len)
        rc.fail("scan inputs have different sequence lengths (" + std::to_string(len) + " and " +
                std::to_string(l) + ")");
      len = l;
    }
    return len;
  }

  /// Run the body over `len` steps: states from inits_, scan inputs ins_; `dest(k, full shape, dtype)`
  /// gives the tensor scan output k is written to (called once, at the first step).
  template <class Dest>
  void scan(RunContext& rc, int64_t len, Dest&& dest) {
    for (size_t j = 0; j < n_; ++j) cur_[j] = state_[0][j].copy_of(inits_[j]);
    int side = 0;
    for (int64_t t = 0; t < len; ++t) {
      for (size_t i = 0; i < ins_.size(); ++i) {
        const int64_t ax = axis_in(in_axes_[i], ins_[i].rank(), rc);
        slice_t_[i] = take_slice(ins_[i], ax, in_dirs_[i] ? len - 1 - t : t, slices_[i]);
        body_.given[n_ + i] = &slice_t_[i];
      }
      for (size_t j = 0; j < n_; ++j) body_.given[j] = &cur_[j];
      const std::vector<Tensor>& outs = body_.run(rc.node);
      for (size_t j = 0; j < n_; ++j) cur_[j] = state_[1 - side][j].copy_of(outs[j]);
      side = 1 - side;
      for (size_t k = 0; k < k_; ++k) {
        const Tensor& s = outs[n_ + k];
        if (s.is_list() || s.dtype() == DType::string)
          rc.fail("scan output " + std::to_string(k) + " is a " + dtype_name(s.dtype()) +
                  "; scan outputs must be numeric tensors");
        const int64_t ax = axis_in(out_axes_[k], s.rank() + 1, rc);
        if (t == 0) {
          Shape full = s.shape();
          full.insert(full.begin() + ax, len);
          if (n_ + k < rc.outputs.size()) out_t_[k] = dest(k, full, s.dtype());
          first_shape_[k] = s.shape();
        } else if (s.shape() != first_shape_[k]) {
          rc.fail("scan output " + std::to_string(k) + " is " + shape_str(s.shape()) + " in step " +
                  std::to_string(t) + " but was " + shape_str(first_shape_[k]) + " before");
        }
        if (n_ + k < rc.outputs.size()) put_slice(s, out_t_[k], ax, out_dirs_[k] ? len - 1 - t : t);
      }
    }
  }

  void empty_outputs(RunContext& rc, int64_t batch) {
    for (size_t k = 0; k < k_ && n_ + k < rc.outputs.size(); ++k) {
      const ValueInfo& vi = body_.graph().outputs[n_ + k];
      Shape s = empty_scan_shape(vi, out_axes_[k] < 0 ? 0 : out_axes_[k]);
      if (batched_) s.insert(s.begin(), batch);
      rc.allocate_output(n_ + k, vi.dtype == DType::undefined ? DType::f32 : vi.dtype, s);
    }
  }

  std::vector<std::string> kernels_used() const override { return bodies_kernels({&body_}); }
  Body body_;
  bool batched_ = false;
  size_t formal_ = 0, n_ = 0, k_ = 0;
  int64_t m_ = 0;
  std::vector<int64_t> in_axes_, in_dirs_, out_axes_, out_dirs_;
  std::vector<Buffer> state_[2], slices_;
  std::vector<Tensor> cur_, slice_t_, ins_, inits_;
  std::vector<Tensor> out_t_;  // per scan output: where it is written
  std::vector<Shape> first_shape_;
};

}  // namespace

void register_control_flow_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "If", 1, kAnyOpset, [] { return std::make_unique<If>(); });
  r.add(kOnnxDomain, "Loop", 1, kAnyOpset, [] { return std::make_unique<Loop>(); });
  r.add(kOnnxDomain, "Scan", 8, kAnyOpset, [] { return std::make_unique<Scan>(); });
}

}  // namespace ortkit::ops
