// Sequences and optionals (opset 11+ / 15+): SequenceEmpty, SequenceConstruct, SequenceInsert, SequenceAt,
// SequenceErase, SequenceLength, SplitToSequence, ConcatFromSequence, SequenceMap, Optional,
// OptionalHasElement, OptionalGetElement. A sequence is a Tensor of DType::sequence whose items are owned
// tensors (ortkit/tensor.h); items are shared between the sequences an insert or erase derives, never
// written after they are made, so a derived sequence costs a copy of pointers, not of data. Every output
// that is a sequence, or a tensor taken out of one, is data-dependent: the plan runs these nodes each
// time and never folds them. PyTorch exports lists built in loops this way (SequenceInsert in a Loop body,
// then ConcatFromSequence), and torch.split with a computed split size as SplitToSequence.
#include <algorithm>
#include <cstring>

#include "graph/graph.h"
#include "ops/op_util.h"
#include "ops/registry.h"
#include "ops/subgraph_body.h"

namespace ortkit::ops {
namespace {

void require_sequence(const CompileContext& cc, size_t i, const char* what) {
  if (cc.input(i).dtype != DType::sequence)
    cc.fail(std::string(what) + " must be a sequence, got " + dtype_name(cc.input(i).dtype));
}

void require_tensor(const CompileContext& cc, size_t i, const char* what) {
  if (is_list_dtype(cc.input(i).dtype))
    cc.fail(std::string(what) + " must be a tensor, got a " + dtype_name(cc.input(i).dtype));
}

/// A position input (int32 / int64 scalar) as an index into [0, n) (or [0, n] with `allow_end`).
int64_t position(const RunContext& rc, size_t i, int64_t n, bool allow_end) {
  const Tensor& p = rc.input(i);
  if (p.numel() != 1 || (p.dtype() != DType::i32 && p.dtype() != DType::i64))
    rc.fail("position must be an int32 or int64 scalar, got " + std::string(dtype_name(p.dtype())) + " " +
            shape_str(p.shape()));
  const int64_t v = p.dtype() == DType::i32 ? *p.data_as<int32_t>() : *p.data_as<int64_t>();
  const int64_t hi = allow_end ? n : n - 1;
  if (v < -n || v > hi)
    rc.fail("position " + std::to_string(v) + " is out of range [" + std::to_string(-n) + ", " +
            std::to_string(hi) + "] for a sequence of length " + std::to_string(n));
  return v < 0 ? v + n : v;
}

/// An item to store in a sequence: its own copy (the input may be a view into an arena the plan reuses).
Tensor owned(const Tensor& t, const RunContext& rc) {
  if (t.is_list()) rc.fail("a sequence holds tensors, got a " + std::string(dtype_name(t.dtype())));
  return t.clone();
}

void check_elem(const RunContext& rc, DType elem, const Tensor& t) {
  if (elem != DType::undefined && t.dtype() != elem)
    rc.fail("the sequence holds " + std::string(dtype_name(elem)) + " tensors, got a " +
            dtype_name(t.dtype()) + " tensor");
}

void sequence_output(CompileContext& cc, size_t i = 0) {
  cc.outputs[i].dtype = DType::sequence;
  cc.outputs[i].data_dependent = true;
}

class SequenceEmpty : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    const int64_t t = cc.attr().get_int("dtype", 1);  // TensorProto FLOAT
    elem_ = dtype_from_onnx(static_cast<int>(t));
    if (elem_ == DType::undefined) cc.unsupported("element type " + std::to_string(t));
    sequence_output(cc);
  }
  void run(RunContext& rc) override { rc.output(0) = Tensor::sequence(elem_, {}); }

 private:
  DType elem_ = DType::f32;
};

class SequenceConstruct : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    if (cc.num_inputs() == 0) cc.fail("needs at least one input");
    for (size_t i = 0; i < cc.num_inputs(); ++i) {
      require_tensor(cc, i, "every input");
      if (cc.input(i).dtype != cc.input(0).dtype)
        cc.fail("inputs must share one type: input 0 is " + std::string(dtype_name(cc.input(0).dtype)) +
                ", input " + std::to_string(i) + " is " + dtype_name(cc.input(i).dtype));
    }
    sequence_output(cc);
  }
  void run(RunContext& rc) override {
    std::vector<Tensor> items;
    for (size_t i = 0; i < rc.inputs.size(); ++i) items.push_back(owned(rc.input(i), rc));
    const DType elem = items.front().dtype();
    rc.output(0) = Tensor::sequence(elem, std::move(items));
  }
};

class SequenceInsert : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    require_sequence(cc, 0, "input_sequence");
    require_tensor(cc, 1, "tensor");
    sequence_output(cc);
  }
  void run(RunContext& rc) override {
    const Tensor& s = rc.input(0);
    const auto& items = s.items();
    const int64_t n = static_cast<int64_t>(items.size());
    const int64_t at = rc.has_input(2) ? position(rc, 2, n, true) : n;
    check_elem(rc, s.elem_dtype(), rc.input(1));
    std::vector<Tensor> out(items.begin(), items.end());
    out.insert(out.begin() + at, owned(rc.input(1), rc));
    rc.output(0) = Tensor::sequence(rc.input(1).dtype(), std::move(out));
  }
};

class SequenceAt : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    require_sequence(cc, 0, "input_sequence");
    require_tensor(cc, 1, "position");
    cc.outputs[0].data_dependent = true;
  }
  void run(RunContext& rc) override {
    const auto& items = rc.input(0).items();
    copy_to_output(rc, 0,
                   items[static_cast<size_t>(position(rc, 1, static_cast<int64_t>(items.size()), false))]);
  }
};

class SequenceErase : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    require_sequence(cc, 0, "input_sequence");
    sequence_output(cc);
  }
  void run(RunContext& rc) override {
    const Tensor& s = rc.input(0);
    const int64_t n = static_cast<int64_t>(s.items().size());
    if (n == 0) rc.fail("cannot erase from an empty sequence");
    const int64_t at = rc.has_input(1) ? position(rc, 1, n, false) : n - 1;
    std::vector<Tensor> out(s.items().begin(), s.items().end());
    out.erase(out.begin() + at);
    rc.output(0) = Tensor::sequence(s.elem_dtype(), std::move(out));
  }
};

class SequenceLength : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    require_sequence(cc, 0, "input_sequence");
    cc.set_output(0, DType::i64, {});
  }
  void run(RunContext& rc) override {
    *rc.output(0).data_as<int64_t>() = static_cast<int64_t>(rc.input(0).items().size());
  }
};

/// Rows [begin, begin + len) along `axis` of `t` as an owned tensor (the axis dropped when !keep).
Tensor slice_axis(const Tensor& t, int64_t axis, int64_t begin, int64_t len, bool keep) {
  Shape s = t.shape();
  const int64_t dim = s[static_cast<size_t>(axis)];
  int64_t outer = 1, inner = static_cast<int64_t>(dtype_size(t.dtype()));
  for (int64_t d = 0; d < axis; ++d) outer *= s[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < s.size(); ++d) inner *= s[d];
  s[static_cast<size_t>(axis)] = len;
  if (!keep) s.erase(s.begin() + axis);
  Tensor out(t.dtype(), s);
  const char* src = static_cast<const char*>(t.data());
  char* dst = static_cast<char*>(out.data());
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(dst + o * len * inner, src + (o * dim + begin) * inner, static_cast<size_t>(len * inner));
  return out;
}

class SplitToSequence : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    require_tensor(cc, 0, "input");
    if (cc.has_input(1) && cc.input(1).dtype != DType::i32 && cc.input(1).dtype != DType::i64)
      cc.fail(std::string("split must be int32 or int64, got ") + dtype_name(cc.input(1).dtype));
    axis_ = cc.attr().get_int("axis", 0);
    keepdims_ = cc.attr().get_int("keepdims", 1) != 0;
    sequence_output(cc);
  }
  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    if (x.rank() == 0) rc.fail("cannot split a scalar");
    const int64_t axis = normalize_axis(axis_, x.rank(), rc.node->describe());
    const int64_t dim = x.shape()[static_cast<size_t>(axis)];
    std::vector<int64_t> lens;
    bool keep = true;
    if (!rc.has_input(1)) {
      lens.assign(static_cast<size_t>(dim), 1);
      keep = keepdims_;
    } else {
      const Tensor& sp = rc.input(1);
      const std::vector<int64_t> v = to_int64_vector(sp, rc.node->describe());
      if (sp.rank() == 0) {
        if (v[0] <= 0) rc.fail("split size must be positive, got " + std::to_string(v[0]));
        for (int64_t b = 0; b < dim; b += v[0]) lens.push_back(std::min(v[0], dim - b));
      } else if (sp.rank() == 1) {
        int64_t sum = 0;
        for (int64_t l : v) {
          if (l < 0) rc.fail("split lengths must not be negative, got " + std::to_string(l));
          sum += l;
        }
        if (sum != dim)
          rc.fail("split lengths sum to " + std::to_string(sum) + ", but axis " + std::to_string(axis) +
                  " has " + std::to_string(dim));
        lens = v;
      } else {
        rc.fail("split must be a scalar or 1-D, got shape " + shape_str(sp.shape()));
      }
    }
    std::vector<Tensor> items;
    int64_t b = 0;
    for (int64_t l : lens) {
      items.push_back(slice_axis(x, axis, b, l, keep));
      b += l;
    }
    rc.output(0) = Tensor::sequence(x.dtype(), std::move(items));
  }

 private:
  int64_t axis_ = 0;
  bool keepdims_ = true;
};

class ConcatFromSequence : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    require_sequence(cc, 0, "input_sequence");
    axis_ = cc.attr().get_int("axis");
    new_axis_ = cc.attr().get_int("new_axis", 0) != 0;
    cc.outputs[0].data_dependent = true;
  }
  void run(RunContext& rc) override {
    const auto& items = rc.input(0).items();
    if (items.empty()) rc.fail("cannot concatenate an empty sequence");
    const Tensor& f = items.front();
    const int64_t rank = f.rank();
    if (rank == 0 && !new_axis_) rc.fail("cannot concatenate scalars without new_axis");
    const int64_t axis = normalize_axis(axis_, new_axis_ ? rank + 1 : rank, rc.node->describe(), false);
    Shape out = f.shape();
    if (new_axis_)
      out.insert(out.begin() + axis, 0);
    else
      out[static_cast<size_t>(axis)] = 0;  // the items' lengths are summed below
    for (const Tensor& t : items) {
      bool ok = t.dtype() == f.dtype() && t.rank() == rank;
      for (int64_t d = 0; ok && d < rank; ++d)
        ok = t.shape()[static_cast<size_t>(d)] == f.shape()[static_cast<size_t>(d)] ||
             (!new_axis_ && d == axis);
      if (!ok)
        rc.fail("sequence items " + shape_str(f.shape()) + " " + dtype_name(f.dtype()) + " and " +
                shape_str(t.shape()) + " " + dtype_name(t.dtype()) + " cannot be " +
                (new_axis_ ? "stacked" : "concatenated along axis " + std::to_string(axis)));
      out[static_cast<size_t>(axis)] += new_axis_ ? 1 : t.shape()[static_cast<size_t>(axis)];
    }
    Tensor& o = rc.allocate_output(0, f.dtype(), out);
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= out[static_cast<size_t>(d)];
    const int64_t row = o.numel() / std::max<int64_t>(outer, 1) * static_cast<int64_t>(dtype_size(f.dtype()));
    char* dst = static_cast<char*>(o.data());
    int64_t at = 0;  // bytes into each outer row
    for (const Tensor& t : items) {
      const int64_t part = outer ? static_cast<int64_t>(t.bytes()) / std::max<int64_t>(outer, 1) : 0;
      const char* src = static_cast<const char*>(t.data());
      for (int64_t r = 0; r < outer && part; ++r)
        std::memcpy(dst + r * row + at, src + r * part, static_cast<size_t>(part));
      at += part;
    }
  }

 private:
  int64_t axis_ = 0;
  bool new_axis_ = false;
};

/// SequenceMap: the body runs once per item of the sequence inputs (all of one length), seeing item i of
/// each sequence input and every tensor input whole; each body output is collected into a sequence.
class SequenceMap : public BodyKernel {
 public:
  void compile(CompileContext& cc) override {
    ensure_body(cc);
    require_sequence(cc, 0, "input_sequence");
    for (size_t j = 1; j < formal_; ++j) cc.input(j);  // every input is required
    if (body_.formal() != formal_)
      cc.fail("the body takes " + std::to_string(body_.formal()) + " inputs, the node has " +
              std::to_string(formal_));
    if (body_.graph().outputs.size() != cc.outputs.size())
      cc.fail("the body has " + std::to_string(body_.graph().outputs.size()) + " outputs, the node has " +
              std::to_string(cc.outputs.size()));
    for (size_t i = 0; i < cc.outputs.size(); ++i) sequence_output(cc, i);
  }
  void run(RunContext& rc) override {
    const size_t n = rc.input(0).items().size();
    for (size_t j = 0; j < formal_; ++j)
      if (rc.input(j).dtype() == DType::sequence && rc.input(j).items().size() != n)
        rc.fail("sequence input " + std::to_string(j) + " has " + std::to_string(rc.input(j).items().size()) +
                " items, input 0 has " + std::to_string(n));
      else if (rc.input(j).dtype() == DType::optional)
        rc.fail("input " + std::to_string(j) + " is an optional; SequenceMap takes sequences and tensors");
    body_.bind_outer(rc.inputs);
    std::vector<std::vector<Tensor>> outs(rc.outputs.size());
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < formal_; ++j)
        body_.given[j] = rc.input(j).dtype() == DType::sequence ? &rc.input(j).items()[i] : &rc.input(j);
      const std::vector<Tensor>& r = body_.run(rc.node);
      for (size_t k = 0; k < outs.size(); ++k) outs[k].push_back(owned(r[k], rc));
    }
    for (size_t k = 0; k < outs.size(); ++k) {
      const DType elem = !outs[k].empty() ? outs[k].front().dtype() : body_.graph().outputs[k].dtype;
      rc.output(k) = Tensor::sequence(elem, std::move(outs[k]));
    }
  }
};

class OptionalOp : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    if (cc.has_input(0) && cc.input(0).dtype == DType::optional)
      cc.fail("input must be a tensor or sequence");
    cc.outputs[0].dtype = DType::optional;
    cc.outputs[0].data_dependent = true;
  }
  void run(RunContext& rc) override {
    if (!rc.has_input(0)) {
      rc.output(0) = Tensor::optional_none(DType::undefined);  // the `type` attribute is not kept
      return;
    }
    const Tensor& x = rc.input(0);
    rc.output(0) = Tensor::optional_of(x.is_list() ? x : x.clone());
  }
};

class OptionalHasElement : public OpKernel {
 public:
  // A tensor or sequence counts as an optional holding it (opset 18 says so; a Loop that carries an
  // optional feeds its body's sequence output back in at every opset).
  void compile(CompileContext& cc) override { cc.set_output(0, DType::boolean, {}); }
  void run(RunContext& rc) override {
    bool has = rc.has_input(0);
    if (has && rc.input(0).dtype() == DType::optional) has = !rc.input(0).items().empty();
    *rc.output(0).data_as<uint8_t>() = has ? 1 : 0;
  }
};

class OptionalGetElement : public OpKernel {
 public:
  void compile(CompileContext& cc) override {  // a tensor or sequence input is returned as it is
    cc.input(0);
    cc.outputs[0].data_dependent = true;
  }
  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    const Tensor* v = &x;
    if (x.dtype() == DType::optional) {
      if (x.items().empty()) rc.fail("the optional input holds no value");
      v = &x.items().front();
    }
    copy_to_output(rc, 0, *v);
  }
};

}  // namespace

bool accepts_lists(const NodeInfo& n) {
  static const char* kOps[] = {
      "Identity",           "If",          "Loop",          "SequenceEmpty",      "SequenceConstruct",
      "SequenceInsert",     "SequenceAt",  "SequenceErase", "SequenceLength",     "SplitToSequence",
      "ConcatFromSequence", "SequenceMap", "Optional",      "OptionalHasElement", "OptionalGetElement"};
  if (canonical_domain(n.domain) != kOnnxDomain) return false;
  for (const char* o : kOps)
    if (n.op_type == o) return true;
  return false;
}

void register_sequence_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "SequenceEmpty", 11, kAnyOpset, [] { return std::make_unique<SequenceEmpty>(); });
  r.add(kOnnxDomain, "SequenceConstruct", 11, kAnyOpset,
        [] { return std::make_unique<SequenceConstruct>(); });
  r.add(kOnnxDomain, "SequenceInsert", 11, kAnyOpset, [] { return std::make_unique<SequenceInsert>(); });
  r.add(kOnnxDomain, "SequenceAt", 11, kAnyOpset, [] { return std::make_unique<SequenceAt>(); });
  r.add(kOnnxDomain, "SequenceErase", 11, kAnyOpset, [] { return std::make_unique<SequenceErase>(); });
  r.add(kOnnxDomain, "SequenceLength", 11, kAnyOpset, [] { return std::make_unique<SequenceLength>(); });
  r.add(kOnnxDomain, "SplitToSequence", 11, kAnyOpset, [] { return std::make_unique<SplitToSequence>(); });
  r.add(kOnnxDomain, "ConcatFromSequence", 11, kAnyOpset,
        [] { return std::make_unique<ConcatFromSequence>(); });
  r.add(kOnnxDomain, "SequenceMap", 17, kAnyOpset, [] { return std::make_unique<SequenceMap>(); });
  r.add(kOnnxDomain, "Optional", 15, kAnyOpset, [] { return std::make_unique<OptionalOp>(); });
  r.add(kOnnxDomain, "OptionalHasElement", 15, kAnyOpset,
        [] { return std::make_unique<OptionalHasElement>(); });
  r.add(kOnnxDomain, "OptionalGetElement", 15, kAnyOpset,
        [] { return std::make_unique<OptionalGetElement>(); });
}

}  // namespace ortkit::ops
