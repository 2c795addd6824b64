// Value and selection ops: OneHot, EyeLike, CastLike, Compress, ReverseSequence, NonZero, TopK, Unique.
// NonZero, Compress and Unique have data-dependent output shapes (allocated in run); TopK's shape is
// static when K is a constant.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

// Compress and Unique with an optional axis: the tensor as [outer, len, inner] around it; without one,
// the flattened tensor as a single row.
struct AxisView {
  int64_t outer = 1, len = 1, inner = 1;
};
AxisView axis_view(const Shape& s, bool has_axis, int64_t axis) {
  AxisView v;
  for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d) {
    const int64_t e = s[static_cast<size_t>(d)];
    if (!has_axis || d == axis)
      v.len *= e;
    else if (d < axis)
      v.outer *= e;
    else
      v.inner *= e;
  }
  return v;
}

bool is_numeric(DType t) {
  return visit_numeric(t, [](auto) {});
}

// ---------------------------------------------------------------------------------------------- OneHot

class OneHotOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    for (size_t i = 0; i < 3; ++i)
      if (!is_numeric(ctx.input(i).dtype))
        ctx.unsupported(std::string("OneHot on ") + dtype_name(ctx.input(i).dtype));
    if (dtype_size(ctx.input(2).dtype) == 0) ctx.unsupported("values dtype");
    const Shape& is = ctx.input(0).shape;
    axis_ = normalize_axis(ctx.attr().get_int("axis", -1), static_cast<int64_t>(is.size()) + 1,
                           ctx.node->describe());
    where_ = ctx.node->describe();
    if (ctx.input(1).constant) {
      ctx.set_output(0, ctx.input(2).dtype, out_shape(is, *ctx.input(1).constant));
    } else {
      dyn_ = true;
      ctx.outputs[0].dtype = ctx.input(2).dtype;
      ctx.outputs[0].data_dependent = true;
    }
  }
  void run(RunContext& ctx) override {
    const Tensor &idx = ctx.input(0), &vals = ctx.input(2);
    Tensor* y = &ctx.output(0);
    if (dyn_) y = &ctx.allocate_output(0, vals.dtype(), out_shape(idx.shape(), ctx.input(1)));
    if (vals.numel() != 2) ctx.fail("values must have two elements [off, on]");
    const int64_t depth = y->shape()[axis_];
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis_; ++d) outer *= idx.shape()[d];
    for (size_t d = static_cast<size_t>(axis_); d < idx.shape().size(); ++d) inner *= idx.shape()[d];
    visit_bytes(vals.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T off = vals.data_as<T>()[0], on = vals.data_as<T>()[1];
      T* out = y->data_as<T>();
      std::fill(out, out + y->numel(), off);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          int64_t v = static_cast<int64_t>(number_at(idx, o * inner + i));
          if (v < 0) v += depth;
          if (v >= 0 && v < depth) out[(o * depth + v) * inner + i] = on;
        }
    });
  }

 private:
  Shape out_shape(const Shape& is, const Tensor& depth_t) const {
    if (depth_t.numel() != 1) throw Error("depth must be a scalar", where_);
    const int64_t depth = static_cast<int64_t>(number_at(depth_t, 0));
    if (depth < 1) throw Error("depth must be positive", where_);
    Shape o = is;
    o.insert(o.begin() + axis_, depth);
    return o;
  }
  int64_t axis_ = -1;
  bool dyn_ = false;
  std::string where_;
};

// ---------------------------------------------------------------------------------------------- EyeLike

class EyeLikeOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    const Shape& s = ctx.input(0).shape;
    if (s.size() != 2) ctx.fail("input must be 2-D");
    DType dt = ctx.input(0).dtype;
    if (ctx.attr().has("dtype")) dt = dtype_from_onnx(static_cast<int>(ctx.attr().get_int("dtype")));
    if (!is_numeric(dt)) ctx.unsupported(std::string("EyeLike to ") + dtype_name(dt));
    k_ = ctx.attr().get_int("k", 0);
    ctx.set_output(0, dt, s);
  }
  void run(RunContext& ctx) override {
    Tensor& y = ctx.output(0);
    const int64_t rows = y.shape()[0], cols = y.shape()[1];
    std::memset(y.data(), 0, y.bytes());
    visit_numeric(y.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* out = y.data_as<T>();
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t j = i + k_;
        if (j >= 0 && j < cols) out[i * cols + j] = static_cast<T>(1);
      }
    });
  }

 private:
  int64_t k_ = 0;
};

// ---------------------------------------------------------------------------------------------- CastLike

/// CastLike(x, like) = Cast(x, to = dtype(like)): delegates to the registered Cast kernel.
class CastLikeOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    if (!cast_) {
      const OpEntry* e = OpRegistry::global().find(kOnnxDomain, "Cast", 13);
      if (!e) ctx.unsupported("no Cast kernel");
      cast_ = e->make();
    }
    const DType to = ctx.input(1).dtype;
    if (to == DType::undefined) ctx.unsupported(std::string("CastLike to ") + dtype_name(to));
    attrs_ = Attrs({}, ctx.node->describe());
    attrs_.set_int("to", dtype_to_onnx(to));
    // saturate (19+) and round_mode (24+) mean what they mean for Cast.
    if (ctx.attr().has("saturate")) attrs_.set_int("saturate", ctx.attr().get_int("saturate"));
    if (ctx.attr().has("round_mode")) attrs_.set_string("round_mode", ctx.attr().get_string("round_mode"));
    const Attrs* saved = ctx.attrs;
    ctx.attrs = &attrs_;
    try {
      cast_->compile(ctx);
    } catch (...) {
      ctx.attrs = saved;
      throw;
    }
    ctx.attrs = saved;
  }
  void run(RunContext& ctx) override { cast_->run(ctx); }

 private:
  std::unique_ptr<OpKernel> cast_;
  Attrs attrs_;
};

// ---------------------------------------------------------------------------------------------- Compress

class CompressOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(1, {DType::boolean});
    if (dtype_size(ctx.input(0).dtype) == 0) ctx.unsupported("dtype");
    if (ctx.input(1).shape.size() != 1) ctx.fail("condition must be 1-D");
    has_axis_ = ctx.attr().has("axis");
    if (has_axis_)
      axis_ = normalize_axis(ctx.attr().get_int("axis"), static_cast<int64_t>(ctx.input(0).shape.size()),
                             ctx.node->describe());
    ctx.outputs[0].dtype = ctx.input(0).dtype;
    ctx.outputs[0].data_dependent = true;
  }
  void run(RunContext& ctx) override {
    const Tensor &x = ctx.input(0), &c = ctx.input(1);
    const Shape& s = x.shape();
    const AxisView v = axis_view(s, has_axis_, axis_);
    const int64_t outer = v.outer, len = v.len, inner = v.inner;
    const bool* cond = c.data_as<bool>();
    const int64_t n = std::min(len, c.numel());
    for (int64_t i = n; i < c.numel(); ++i)
      if (cond[i]) ctx.fail("condition selects index " + std::to_string(i) + " past the axis size");
    int64_t kept = 0;
    for (int64_t i = 0; i < n; ++i) kept += cond[i] ? 1 : 0;
    Shape os;
    if (has_axis_) {
      os = s;
      os[axis_] = kept;
    } else {
      os = {kept};
    }
    Tensor& y = ctx.allocate_output(0, x.dtype(), os);
    const size_t es = dtype_size(x.dtype()), row = static_cast<size_t>(inner) * es;
    const char* in = static_cast<const char*>(x.data());
    char* out = static_cast<char*>(y.data());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < n; ++i)
        if (cond[i]) {
          std::memcpy(out, in + (o * len + i) * row, row);
          out += row;
        }
  }

 private:
  bool has_axis_ = false;
  int64_t axis_ = 0;
};

// ----------------------------------------------------------------------------------------------
// ReverseSequence

class ReverseSequenceOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(1, {DType::i32, DType::i64});
    if (dtype_size(ctx.input(0).dtype) == 0) ctx.unsupported("dtype");
    const Shape& s = ctx.input(0).shape;
    if (s.size() < 2) ctx.fail("input must have rank >= 2");
    batch_axis_ = ctx.attr().get_int("batch_axis", 1);
    time_axis_ = ctx.attr().get_int("time_axis", 0);
    if (!((batch_axis_ == 0 && time_axis_ == 1) || (batch_axis_ == 1 && time_axis_ == 0)))
      ctx.fail("batch_axis and time_axis must be 0 and 1 (in either order)");
    if (ctx.input(1).shape != Shape{s[batch_axis_]}) ctx.fail("sequence_lens must have shape [batch]");
    ctx.set_output(0, ctx.input(0).dtype, s);
  }
  void run(RunContext& ctx) override {
    const Tensor &x = ctx.input(0), &lens = ctx.input(1);
    const Shape& s = x.shape();
    const int64_t B = s[batch_axis_], Tn = s[time_axis_];
    int64_t inner = 1;
    for (size_t d = 2; d < s.size(); ++d) inner *= s[d];
    const size_t row = static_cast<size_t>(inner) * dtype_size(x.dtype());
    const char* in = static_cast<const char*>(x.data());
    char* out = static_cast<char*>(ctx.output(0).data());
    auto at = [&](int64_t b, int64_t t) { return batch_axis_ == 0 ? b * Tn + t : t * B + b; };
    for (int64_t b = 0; b < B; ++b) {
      const int64_t len = int_at(lens, b);
      if (len < 0 || len > Tn) ctx.fail("sequence length " + std::to_string(len) + " out of range");
      for (int64_t t = 0; t < Tn; ++t) {
        const int64_t src = t < len ? len - 1 - t : t;
        std::memcpy(out + at(b, t) * row, in + at(b, src) * row, row);
      }
    }
  }

 private:
  int64_t batch_axis_ = 1, time_axis_ = 0;
};

// ---------------------------------------------------------------------------------------------- NonZero

class NonZeroOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    if (!is_numeric(ctx.input(0).dtype))
      ctx.unsupported(std::string("NonZero on ") + dtype_name(ctx.input(0).dtype));
    ctx.outputs[0].dtype = DType::i64;
    ctx.outputs[0].data_dependent = true;
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Shape& s = x.shape();
    const int64_t n = x.numel(), r = static_cast<int64_t>(s.size());
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* in = x.data_as<T>();
      int64_t nz = 0;
      for (int64_t i = 0; i < n; ++i) nz += in[i] != T(0) ? 1 : 0;
      Tensor& y = ctx.allocate_output(0, DType::i64, Shape{r, nz});
      int64_t* out = y.data_as<int64_t>();
      int64_t k = 0;
      for (int64_t i = 0; i < n; ++i) {
        if (in[i] == T(0)) continue;
        int64_t rem = i;
        for (int64_t d = r - 1; d >= 0; --d) {
          out[d * nz + k] = rem % s[d];
          rem /= s[d];
        }
        ++k;
      }
    });
  }
};

// ---------------------------------------------------------------------------------------------- TopK

class TopKOp : public OpKernel {
 public:
  explicit TopKOp(bool k_input) : k_input_(k_input) {}
  void compile(CompileContext& ctx) override {
    const DType dt = ctx.input(0).dtype;
    if (dt == DType::boolean || !is_numeric(dt)) ctx.unsupported(std::string("TopK on ") + dtype_name(dt));
    const Shape& s = ctx.input(0).shape;
    if (s.empty()) ctx.fail("input must have rank >= 1");
    where_ = ctx.node->describe();
    axis_ = normalize_axis(ctx.attr().get_int("axis", -1), static_cast<int64_t>(s.size()), where_);
    largest_ = ctx.attr().get_int("largest", 1) != 0;
    threads_ = std::max(1, ctx.threading.threads);
    ctx.scratch_bytes = static_cast<size_t>(threads_) * static_cast<size_t>(s[axis_]) * sizeof(int64_t);
    int64_t k = 0;
    if (!k_input_) {
      k = ctx.attr().get_int("k");
    } else if (ctx.input(1).constant) {
      k = k_value(*ctx.input(1).constant);
    } else {
      dyn_ = true;
      for (int i = 0; i < 2; ++i) {
        ctx.outputs[i].dtype = i == 0 ? dt : DType::i64;
        ctx.outputs[i].data_dependent = true;
      }
      return;
    }
    if (k < 0 || k > s[axis_]) ctx.fail("k = " + std::to_string(k) + " is out of [0, axis size]");
    Shape o = s;
    o[axis_] = k;
    ctx.set_output(0, dt, o);
    ctx.set_output(1, DType::i64, o);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Shape& s = x.shape();
    Tensor *yv = &ctx.output(0), *yi = &ctx.output(1);
    if (dyn_) {
      const int64_t k = k_value(ctx.input(1));
      if (k < 0 || k > s[axis_]) ctx.fail("k = " + std::to_string(k) + " is out of [0, axis size]");
      Shape o = s;
      o[axis_] = k;
      yv = &ctx.allocate_output(0, x.dtype(), o);
      yi = &ctx.allocate_output(1, DType::i64, o);
    }
    const int64_t k = yv->shape()[axis_], n = s[axis_];
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis_; ++d) outer *= s[d];
    for (size_t d = static_cast<size_t>(axis_) + 1; d < s.size(); ++d) inner *= s[d];
    const int64_t rows = outer * inner;
    if (k == 0 || rows == 0) return;
    int64_t* scratch = static_cast<int64_t*>(ctx.scratch);
    if (dyn_) {
      const size_t need = static_cast<size_t>(threads_ * n);
      if (dyn_scratch_.size() < need) dyn_scratch_.resize(need);
      scratch = dyn_scratch_.data();
    }
    const int64_t nt = std::min<int64_t>(threads_, rows), per = (rows + nt - 1) / nt;
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) {
        const T* in = x.data_as<T>();
        T* ov = yv->data_as<T>();
        int64_t* oi = yi->data_as<int64_t>();
        parallel_for(ctx.threading, nt, [&](int64_t t) {
          int64_t* ids = scratch + t * n;
          for (int64_t row = t * per; row < std::min(rows, (t + 1) * per); ++row) {
            const int64_t o = row / inner, i = row % inner;
            const T* src = in + o * n * inner + i;
            std::iota(ids, ids + n, int64_t{0});
            // Ties keep the lower index first (ORT's order).
            auto cmp = [&](int64_t a, int64_t b) {
              const T va = src[a * inner], vb = src[b * inner];
              if (va != vb) return largest_ ? va > vb : va < vb;
              return a < b;
            };
            std::partial_sort(ids, ids + k, ids + n, cmp);
            for (int64_t j = 0; j < k; ++j) {
              ov[(o * k + j) * inner + i] = src[ids[j] * inner];
              oi[(o * k + j) * inner + i] = ids[j];
            }
          }
        });
      }
    });
  }

 private:
  int64_t k_value(const Tensor& t) const {
    if (t.numel() != 1 || (t.dtype() != DType::i64 && t.dtype() != DType::i32))
      throw Error("K must be a single int64", where_);
    return int_at(t, 0);
  }
  bool k_input_, dyn_ = false, largest_ = true;
  int64_t axis_ = -1;
  int threads_ = 1;
  std::string where_;
  std::vector<int64_t> dyn_scratch_;
};

// ---------------------------------------------------------------------------------------------- Unique

class UniqueOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    const DType dt = ctx.input(0).dtype;
    if (!is_numeric(dt)) ctx.unsupported(std::string("Unique on ") + dtype_name(dt));
    has_axis_ = ctx.attr().has("axis");
    if (has_axis_)
      axis_ = normalize_axis(ctx.attr().get_int("axis"), static_cast<int64_t>(ctx.input(0).shape.size()),
                             ctx.node->describe());
    sorted_ = ctx.attr().get_int("sorted", 1) != 0;
    for (size_t i = 0; i < ctx.outputs.size(); ++i) {
      ctx.outputs[i].dtype = i == 0 ? dt : DType::i64;
      ctx.outputs[i].data_dependent = true;
    }
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Shape& s = x.shape();
    const AxisView v = axis_view(s, has_axis_, axis_);
    const int64_t outer = v.outer, len = v.len, inner = v.inner;
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* in = x.data_as<T>();
      // Slice i: elements in[(o * len + i) * inner + j] for o < outer, j < inner, compared lexicographically.
      auto less = [&](int64_t a, int64_t b) {
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t j = 0; j < inner; ++j) {
            const T va = in[(o * len + a) * inner + j], vb = in[(o * len + b) * inner + j];
            if (va != vb) return va < vb;
          }
        return false;
      };
      auto equal = [&](int64_t a, int64_t b) { return !less(a, b) && !less(b, a); };
      order_.resize(static_cast<size_t>(len));
      std::iota(order_.begin(), order_.end(), int64_t{0});
      std::stable_sort(order_.begin(), order_.end(), less);  // equal slices stay in input order
      // groups: first occurrence (sorted order's first element of each run) per unique slice
      firsts_.clear();
      inverse_.assign(static_cast<size_t>(len), 0);
      counts_.clear();
      for (size_t p = 0; p < order_.size(); ++p) {
        if (p == 0 || !equal(order_[p - 1], order_[p])) {
          firsts_.push_back(order_[p]);
          counts_.push_back(0);
        }
        inverse_[order_[p]] = static_cast<int64_t>(firsts_.size()) - 1;
        ++counts_.back();
      }
      const int64_t u = static_cast<int64_t>(firsts_.size());
      // remap[g] = output position of group g
      remap_.resize(static_cast<size_t>(u));
      std::iota(remap_.begin(), remap_.end(), int64_t{0});
      if (!sorted_) {
        std::vector<int64_t>& by_first = scratch_;
        by_first.resize(static_cast<size_t>(u));
        std::iota(by_first.begin(), by_first.end(), int64_t{0});
        std::sort(by_first.begin(), by_first.end(),
                  [&](int64_t a, int64_t b) { return firsts_[a] < firsts_[b]; });
        for (int64_t pos = 0; pos < u; ++pos) remap_[by_first[pos]] = pos;
      }
      Shape ys = has_axis_ ? s : Shape{u};
      if (has_axis_) ys[axis_] = u;
      Tensor& y = ctx.allocate_output(0, x.dtype(), ys);
      T* out = y.data_as<T>();
      for (int64_t g = 0; g < u; ++g) {
        const int64_t pos = remap_[g], src = firsts_[g];
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t j = 0; j < inner; ++j)
            out[(o * u + pos) * inner + j] = in[(o * len + src) * inner + j];
      }
      if (ctx.outputs.size() > 1) {
        int64_t* idx = ctx.allocate_output(1, DType::i64, Shape{u}).data_as<int64_t>();
        for (int64_t g = 0; g < u; ++g) idx[remap_[g]] = firsts_[g];
      }
      if (ctx.outputs.size() > 2) {
        int64_t* inv = ctx.allocate_output(2, DType::i64, Shape{len}).data_as<int64_t>();
        for (int64_t i = 0; i < len; ++i) inv[i] = remap_[inverse_[i]];
      }
      if (ctx.outputs.size() > 3) {
        int64_t* cnt = ctx.allocate_output(3, DType::i64, Shape{u}).data_as<int64_t>();
        for (int64_t g = 0; g < u; ++g) cnt[remap_[g]] = counts_[g];
      }
    });
  }

 private:
  bool has_axis_ = false, sorted_ = true;
  int64_t axis_ = 0;
  // Working memory, reused across runs (Unique's sizes are data-dependent).
  std::vector<int64_t> order_, firsts_, inverse_, counts_, remap_, scratch_;
};

}  // namespace

void register_tensor_misc_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "OneHot", 9, kAnyOpset, [] { return std::make_unique<OneHotOp>(); });
  r.add(kOnnxDomain, "EyeLike", 9, kAnyOpset, [] { return std::make_unique<EyeLikeOp>(); });
  r.add(kOnnxDomain, "CastLike", 15, kAnyOpset, [] { return std::make_unique<CastLikeOp>(); });
  r.add(kOnnxDomain, "Compress", 9, kAnyOpset, [] { return std::make_unique<CompressOp>(); });
  r.add(kOnnxDomain, "ReverseSequence", 10, kAnyOpset, [] { return std::make_unique<ReverseSequenceOp>(); });
  r.add(kOnnxDomain, "NonZero", 9, kAnyOpset, [] { return std::make_unique<NonZeroOp>(); });
  r.add(kOnnxDomain, "TopK", 1, 9, [] { return std::make_unique<TopKOp>(false); });
  r.add(kOnnxDomain, "TopK", 10, kAnyOpset, [] { return std::make_unique<TopKOp>(true); });
  r.add(kOnnxDomain, "Unique", 11, kAnyOpset, [] { return std::make_unique<UniqueOp>(); });
}

}  // namespace ortkit::ops
