// Data movement: Transpose, Concat, Slice, Split, Gather, Tile, CumSum, CumProd. Copies are memcpy of
// contiguous runs where the layout allows it; Transpose coalesces dimensions first so the attention
// permutations ([0,2,1,3]: contiguous rows; [0,2,3,1] / [0,3,1,2]: a batched 2-D transpose) hit fast paths.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "ops/copy_util.h"
#include "ops/op_util.h"
#include "ops/registry.h"
#include "ops/transpose_kernel.h"

namespace ortkit::ops {
namespace {

bool all_const(const CompileContext& ctx, std::initializer_list<size_t> idx) {
  for (size_t i : idx)
    if (ctx.has_input(i) && !ctx.input(i).constant) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------- Transpose

/// Blocked transpose of `batch` matrices [rows x cols] -> [cols x rows]. 4-byte types use the 8x8
/// register-tile kernel per 32x32 tile (parallel over tiles), others a scalar loop. 32, not 64: with
/// 64 columns of a 1 KiB-strided destination the written lines no longer fit L1's sets.
template <class T>
void batched_transpose(const T* in, T* out, int64_t batch, int64_t rows, int64_t cols,
                       const kernels::Threading& th) {
  constexpr int64_t kB = 32;
  const int64_t rt = (rows + kB - 1) / kB, ct = (cols + kB - 1) / kB;
  const int64_t tiles = batch * rt * ct;
  parallel_range(th, tiles, std::max<int64_t>(1, 16384 / (kB * kB)), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / (rt * ct), r0 = (t / ct) % rt * kB, c0 = t % ct * kB;
      const T* src = in + b * rows * cols;
      T* dst = out + b * rows * cols;
      const int64_t r1 = std::min(rows, r0 + kB), c1 = std::min(cols, c0 + kB);
      if constexpr (sizeof(T) == 4) {
        transpose_2d_b32(src + r0 * cols + c0, cols, dst + c0 * rows + r0, rows, r1 - r0, c1 - c0);
      } else {
        for (int64_t c = c0; c < c1; ++c)
          for (int64_t r = r0; r < r1; ++r) dst[c * rows + r] = src[r * cols + c];
      }
    }
  });
}

class TransposeOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    const Shape& s = ctx.input(0).shape;
    const int64_t r = static_cast<int64_t>(s.size());
    if (dtype_size(ctx.input(0).dtype) == 0) ctx.unsupported("dtype");
    std::vector<int64_t> perm = ctx.attr().get_ints("perm", {});
    if (perm.empty())
      for (int64_t i = r - 1; i >= 0; --i) perm.push_back(i);
    if (static_cast<int64_t>(perm.size()) != r) ctx.fail("perm has the wrong length");
    std::vector<bool> seen(static_cast<size_t>(r), false);
    Shape out(static_cast<size_t>(r));
    for (int64_t i = 0; i < r; ++i) {
      const int64_t p = normalize_axis(perm[i], r, ctx.node->describe());
      if (seen[p]) ctx.fail("perm repeats an axis");
      seen[p] = true;
      perm[i] = p;
      out[i] = s[p];
    }
    ctx.set_output(0, ctx.input(0).dtype, out);
    // Coalesce: drop size-1 dims, then merge output-adjacent dims that are input-adjacent too.
    std::vector<int64_t> keep;  // input dims kept, in output order
    for (int64_t i = 0; i < r; ++i)
      if (s[perm[i]] != 1) keep.push_back(perm[i]);
    std::vector<int64_t> order = keep;
    std::sort(order.begin(), order.end());
    // groups: runs of consecutive input dims in output order
    std::vector<std::pair<int64_t, int64_t>> groups;  // (first input dim, size)
    for (size_t i = 0; i < keep.size(); ++i) {
      if (!groups.empty()) {
        // adjacent in input among kept dims?
        const auto it = std::find(order.begin(), order.end(), keep[i - 1]);
        if (it + 1 != order.end() && *(it + 1) == keep[i]) {
          groups.back().second *= s[keep[i]];
          continue;
        }
      }
      groups.push_back({keep[i], s[keep[i]]});
    }
    // Reduced input shape (groups sorted by input position) and perm over it.
    std::vector<size_t> by_in(groups.size());
    for (size_t i = 0; i < groups.size(); ++i) by_in[i] = i;
    std::sort(by_in.begin(), by_in.end(),
              [&](size_t a, size_t b) { return groups[a].first < groups[b].first; });
    in_shape_.assign(groups.size(), 0);
    perm_.assign(groups.size(), 0);
    for (size_t j = 0; j < by_in.size(); ++j) in_shape_[j] = groups[by_in[j]].second;
    for (size_t j = 0; j < by_in.size(); ++j) perm_[by_in[j]] = static_cast<int64_t>(j);
    const int64_t rr = static_cast<int64_t>(perm_.size());
    bool identity = true;
    for (int64_t i = 0; i < rr; ++i) identity = identity && perm_[i] == i;
    if (identity)
      mode_ = Mode::copy;
    else if (perm_[rr - 1] == rr - 1)
      mode_ = Mode::rows;
    else {
      bool bt = rr >= 2 && perm_[rr - 1] == rr - 2 && perm_[rr - 2] == rr - 1;
      for (int64_t i = 0; i + 2 < rr; ++i) bt = bt && perm_[i] == i;
      mode_ = bt ? Mode::batched2d : Mode::general;
    }
    out_r_.clear();
    in_strides_.clear();
    const std::vector<int64_t> st = strides_of(in_shape_);
    for (int64_t i = 0; i < rr; ++i) {
      out_r_.push_back(in_shape_[perm_[i]]);
      in_strides_.push_back(st[perm_[i]]);
    }
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (x.numel() == 0) return;
    visit_bytes(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* in = x.data_as<T>();
      T* out = y.data_as<T>();
      switch (mode_) {
        case Mode::copy: std::memcpy(out, in, x.bytes()); return;
        case Mode::batched2d: {
          const int64_t rr = static_cast<int64_t>(in_shape_.size());
          const int64_t rows = in_shape_[rr - 2], cols = in_shape_[rr - 1];
          return batched_transpose<T>(in, out, x.numel() / (rows * cols), rows, cols, ctx.threading);
        }
        default: return strided_copy<T>(in, 0, in_strides_, out, out_r_, ctx.threading);
      }
    });
  }

 private:
  enum class Mode { copy, rows, batched2d, general } mode_ = Mode::general;
  Shape in_shape_, out_r_;
  std::vector<int64_t> perm_, in_strides_;
};

// ---------------------------------------------------------------------------------------------- Concat

class ConcatOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    const size_t n = ctx.num_inputs();
    if (n == 0) ctx.fail("no inputs");
    const Shape& s0 = ctx.input(0).shape;
    const int64_t r = static_cast<int64_t>(s0.size());
    if (r == 0) ctx.fail("Concat of scalars");
    axis_ = normalize_axis(ctx.attr().get_int("axis"), r, ctx.node->describe());
    Shape out = s0;
    out[axis_] = 0;
    for (size_t i = 0; i < n; ++i) {
      const InputDesc& in = ctx.input(i);
      if (in.dtype != ctx.input(0).dtype) ctx.fail("inputs have different types");
      if (static_cast<int64_t>(in.shape.size()) != r) ctx.fail("inputs have different ranks");
      for (int64_t d = 0; d < r; ++d)
        if (d != axis_ && in.shape[d] != s0[d])
          ctx.fail("input " + std::to_string(i) + " shape " + shape_str(in.shape) + " does not match " +
                   shape_str(s0));
      out[axis_] += in.shape[axis_];
    }
    ctx.set_output(0, ctx.input(0).dtype, out);
  }
  void run(RunContext& ctx) override {
    Tensor& y = ctx.output(0);
    const Shape& os = y.shape();
    const size_t es = dtype_size(y.dtype());
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis_; ++d) outer *= os[d];
    for (size_t d = static_cast<size_t>(axis_) + 1; d < os.size(); ++d) inner *= os[d];
    const int64_t orow = os[axis_] * inner * static_cast<int64_t>(es);
    char* out = static_cast<char*>(y.data());
    int64_t off = 0;
    for (size_t i = 0; i < ctx.inputs.size(); ++i) {
      const Tensor& x = ctx.input(i);
      const int64_t row = x.shape()[axis_] * inner * static_cast<int64_t>(es);
      const char* in = static_cast<const char*>(x.data());
      if (row > 0) {
        parallel_range(ctx.threading, outer, std::max<int64_t>(1, 262144 / row), [&](int64_t o0, int64_t o1) {
          for (int64_t o = o0; o < o1; ++o)
            std::memcpy(out + o * orow + off, in + o * row, static_cast<size_t>(row));
        });
      }
      off += row;
    }
  }

 private:
  int64_t axis_ = 0;
};

// ---------------------------------------------------------------------------------------------- Slice

struct SliceParams {
  Shape out;
  int64_t base = 0;
  std::vector<int64_t> strides;
};

SliceParams slice_params(const Shape& s, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                         std::vector<int64_t> axes, std::vector<int64_t> steps, const std::string& where) {
  const int64_t r = static_cast<int64_t>(s.size());
  if (starts.size() != ends.size()) throw Error("starts and ends differ in length", where);
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    throw Error("axes/steps length mismatch", where);
  SliceParams p;
  p.out = s;
  const std::vector<int64_t> st = strides_of(s);
  p.strides = st;
  std::vector<bool> seen(static_cast<size_t>(r), false);
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t a = normalize_axis(axes[i], r, where);
    if (seen[a]) throw Error("repeated axis", where);
    seen[a] = true;
    const int64_t d = s[a], step = steps[i];
    if (step == 0) throw Error("step 0", where);
    int64_t b = starts[i], e = ends[i];
    if (b < 0) b += d;
    if (e < 0) e += d;
    int64_t len;
    if (step > 0) {
      b = std::clamp<int64_t>(b, 0, d);
      e = std::clamp<int64_t>(e, 0, d);
      len = e > b ? (e - b + step - 1) / step : 0;
    } else {
      b = std::clamp<int64_t>(b, 0, d - 1);
      e = std::clamp<int64_t>(e, -1, d - 1);
      len = b > e ? (b - e + (-step) - 1) / (-step) : 0;
    }
    p.out[a] = len;
    if (len > 0) p.base += b * st[a];
    p.strides[a] = st[a] * step;
  }
  return p;
}

class SliceOp : public OpKernel {
 public:
  explicit SliceOp(bool inputs) : inputs_(inputs) {}
  void compile(CompileContext& ctx) override {
    if (dtype_size(ctx.input(0).dtype) == 0) ctx.unsupported("dtype");
    if (!inputs_) {
      p_ = slice_params(ctx.input(0).shape, ctx.attr().get_ints("starts"), ctx.attr().get_ints("ends"),
                        ctx.attr().get_ints("axes", {}), {}, ctx.node->describe());
    } else if (all_const(ctx, {1, 2, 3, 4})) {
      p_ = params(
          ctx.input(0).shape,
          [&](size_t i) { return to_int64_vector(*ctx.input(i).constant, ctx.node->describe()); },
          [&](size_t i) { return ctx.has_input(i); }, ctx.node->describe());
    } else {
      dyn_ = true;
      ctx.outputs[0].dtype = ctx.input(0).dtype;
      ctx.outputs[0].data_dependent = true;
      return;
    }
    ctx.set_output(0, ctx.input(0).dtype, p_.out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor* y = &ctx.output(0);
    const SliceParams* p = &p_;
    SliceParams dp;
    if (dyn_) {
      dp = params(
          x.shape(), [&](size_t i) { return to_int64_vector(ctx.input(i), ctx.node->describe()); },
          [&](size_t i) { return ctx.has_input(i); }, ctx.node->describe());
      y = &ctx.allocate_output(0, x.dtype(), dp.out);
      p = &dp;
    }
    visit_bytes(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      strided_copy<T>(x.data_as<T>(), p->base, p->strides, y->data_as<T>(), p->out, ctx.threading);
    });
  }

 private:
  template <class Get, class Has>
  static SliceParams params(const Shape& s, Get get, Has has, const std::string& where) {
    return slice_params(s, get(1), get(2), has(3) ? get(3) : std::vector<int64_t>{},
                        has(4) ? get(4) : std::vector<int64_t>{}, where);
  }
  bool inputs_, dyn_ = false;
  SliceParams p_;
};

// ---------------------------------------------------------------------------------------------- Split

class SplitOp : public OpKernel {
 public:
  enum class Form { attr, input, input18 };
  explicit SplitOp(Form f) : form_(f) {}
  void compile(CompileContext& ctx) override {
    const Shape& s = ctx.input(0).shape;
    if (dtype_size(ctx.input(0).dtype) == 0) ctx.unsupported("dtype");
    axis_ =
        normalize_axis(ctx.attr().get_int("axis", 0), static_cast<int64_t>(s.size()), ctx.node->describe());
    num_outputs_ = ctx.attr().get_int("num_outputs", 0);
    where_ = ctx.node->describe();
    std::vector<int64_t> sizes;
    if (form_ == Form::attr) sizes = ctx.attr().get_ints("split", {});
    if (sizes.empty() && ctx.has_input(1) && !const_ints(ctx, 1, sizes)) {
      // Sizes known only at run time: every output is data-dependent.
      dyn_ = true;
      for (auto& o : ctx.outputs) {
        o.dtype = ctx.input(0).dtype;
        o.data_dependent = true;
      }
      return;
    }
    sizes_ = resolve(s, sizes, static_cast<int64_t>(ctx.outputs.size()));
    for (size_t i = 0; i < sizes_.size(); ++i) {
      Shape o = s;
      o[axis_] = sizes_[i];
      ctx.set_output(i, ctx.input(0).dtype, o);
    }
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Shape& s = x.shape();
    if (dyn_) {
      sizes_ = resolve(s, to_int64_vector(ctx.input(1), where_), static_cast<int64_t>(ctx.outputs.size()));
      for (size_t i = 0; i < sizes_.size(); ++i) {
        Shape o = s;
        o[axis_] = sizes_[i];
        ctx.allocate_output(i, x.dtype(), o);
      }
    }
    const size_t es = dtype_size(x.dtype());
    int64_t outer = 1, inner = static_cast<int64_t>(es);
    for (int64_t d = 0; d < axis_; ++d) outer *= s[d];
    for (size_t d = static_cast<size_t>(axis_) + 1; d < s.size(); ++d) inner *= s[d];
    const int64_t irow = s[axis_] * inner;
    const char* in = static_cast<const char*>(x.data());
    int64_t off = 0;
    for (size_t i = 0; i < sizes_.size(); ++i) {
      const int64_t row = sizes_[i] * inner;
      char* out = static_cast<char*>(ctx.output(i).data());
      if (row > 0)
        parallel_range(ctx.threading, outer, std::max<int64_t>(1, 262144 / row), [&](int64_t o0, int64_t o1) {
          for (int64_t o = o0; o < o1; ++o)
            std::memcpy(out + o * row, in + o * irow + off, static_cast<size_t>(row));
        });
      off += row;
    }
  }

 private:
  /// Explicit sizes (checked) or the equal split for n outputs (opset 18 num_outputs: last one smaller).
  std::vector<int64_t> resolve(const Shape& s, std::vector<int64_t> sizes, int64_t n) const {
    const int64_t d = s[axis_];
    if (sizes.empty()) {
      if (form_ == Form::input18 && num_outputs_ > 0) {
        const int64_t k = num_outputs_;
        if (k != n) throw Error("num_outputs differs from the node's output count", where_);
        const int64_t chunk = (d + k - 1) / k;
        for (int64_t i = 0; i < k; ++i) sizes.push_back(std::clamp<int64_t>(d - i * chunk, 0, chunk));
      } else {
        if (n == 0 || d % n)
          throw Error(
              "axis size " + std::to_string(d) + " is not divisible into " + std::to_string(n) + " outputs",
              where_);
        sizes.assign(static_cast<size_t>(n), d / n);
      }
    }
    if (static_cast<int64_t>(sizes.size()) != n)
      throw Error(
          "split has " + std::to_string(sizes.size()) + " sizes for " + std::to_string(n) + " outputs",
          where_);
    int64_t total = 0;
    for (int64_t v : sizes) {
      if (v < 0) throw Error("negative split size", where_);
      total += v;
    }
    if (total != d) throw Error("split sizes do not sum to the axis size " + std::to_string(d), where_);
    return sizes;
  }

  Form form_;
  int64_t axis_ = 0, num_outputs_ = 0;
  bool dyn_ = false;
  std::string where_;
  std::vector<int64_t> sizes_;
};

// ---------------------------------------------------------------------------------------------- Gather

class GatherOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(1, {DType::i32, DType::i64});
    const Shape& s = ctx.input(0).shape;
    if (s.empty()) ctx.fail("data must have rank >= 1");
    if (dtype_size(ctx.input(0).dtype) == 0) ctx.unsupported("dtype");
    axis_ =
        normalize_axis(ctx.attr().get_int("axis", 0), static_cast<int64_t>(s.size()), ctx.node->describe());
    Shape out(s.begin(), s.begin() + axis_);
    const Shape& is = ctx.input(1).shape;
    out.insert(out.end(), is.begin(), is.end());
    out.insert(out.end(), s.begin() + axis_ + 1, s.end());
    ctx.set_output(0, ctx.input(0).dtype, out);
  }
  void run(RunContext& ctx) override {
    const Tensor &x = ctx.input(0), &idx = ctx.input(1);
    const Shape& s = x.shape();
    const size_t es = dtype_size(x.dtype());
    int64_t outer = 1, inner = static_cast<int64_t>(es);
    for (int64_t d = 0; d < axis_; ++d) outer *= s[d];
    for (size_t d = static_cast<size_t>(axis_) + 1; d < s.size(); ++d) inner *= s[d];
    const int64_t n = s[axis_], ni = idx.numel();
    for (int64_t j = 0; j < ni; ++j) {
      const int64_t v = int_at(idx, j);
      if (v < -n || v >= n)
        ctx.fail("index " + std::to_string(v) + " out of range for axis size " + std::to_string(n));
    }
    const char* in = static_cast<const char*>(x.data());
    char* out = static_cast<char*>(ctx.output(0).data());
    parallel_range(ctx.threading, outer * ni, std::max<int64_t>(1, 65536 / std::max<int64_t>(inner, 1)),
                   [&](int64_t t0, int64_t t1) {
                     for (int64_t t = t0; t < t1; ++t) {
                       const int64_t o = t / ni, j = t % ni;
                       int64_t v = int_at(idx, j);
                       if (v < 0) v += n;
                       std::memcpy(out + t * inner, in + (o * n + v) * inner, static_cast<size_t>(inner));
                     }
                   });
  }

 private:
  int64_t axis_ = 0;
};

// ---------------------------------------------------------------------------------------------- Tile

Shape tile_shape(const Shape& s, const std::vector<int64_t>& rep, const std::string& where) {
  if (rep.size() != s.size())
    throw Error("repeats has " + std::to_string(rep.size()) + " values for rank " + std::to_string(s.size()),
                where);
  Shape o = s;
  for (size_t d = 0; d < s.size(); ++d) {
    if (rep[d] < 0) throw Error("negative repeat", where);
    o[d] *= rep[d];
  }
  return o;
}

class TileOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    if (dtype_size(ctx.input(0).dtype) == 0) ctx.unsupported("dtype");
    std::vector<int64_t> rep;
    in_strides_ = strides_of(ctx.input(0).shape);
    if (const_ints(ctx, 1, rep)) {
      ctx.set_output(0, ctx.input(0).dtype, tile_shape(ctx.input(0).shape, rep, ctx.node->describe()));
    } else {
      dyn_ = true;
      ctx.outputs[0].dtype = ctx.input(0).dtype;
      ctx.outputs[0].data_dependent = true;
    }
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor* y = &ctx.output(0);
    if (dyn_)
      y = &ctx.allocate_output(0, x.dtype(),
                               tile_shape(x.shape(), to_int64_vector(ctx.input(1)), ctx.node->describe()));
    const Shape &is = x.shape(), &os = y->shape();
    const int64_t n = y->numel(), r = static_cast<int64_t>(os.size());
    if (n == 0) return;
    if (r == 0) {
      std::memcpy(y->data(), x.data(), x.bytes());
      return;
    }
    if (dyn_ || in_strides_.size() != is.size()) in_strides_ = strides_of(is);
    const std::vector<int64_t>& st = in_strides_;
    const int64_t inner = os[r - 1], rows = n / inner, iin = is[r - 1];
    const size_t es = dtype_size(x.dtype());
    const char* in = static_cast<const char*>(x.data());
    char* out = static_cast<char*>(y->data());
    parallel_range(ctx.threading, rows, std::max<int64_t>(1, 16384 / inner), [&](int64_t r0, int64_t r1) {
      for (int64_t row = r0; row < r1; ++row) {
        int64_t rem = row, off = 0;
        for (int64_t d = r - 2; d >= 0; --d) {
          off += (rem % os[d]) % is[d] * st[d];
          rem /= os[d];
        }
        char* o = out + row * inner * es;
        for (int64_t k = 0; k < inner; k += iin)
          std::memcpy(o + k * es, in + off * es, static_cast<size_t>(iin) * es);
      }
    });
  }

 private:
  bool dyn_ = false;
  std::vector<int64_t> in_strides_;
};

// ------------------------------------------------------------------------------------------ CumSum, CumProd

/// CumSum (11+) and CumProd (26+): a scan along the axis input, inclusive or exclusive (starting from the
/// identity, 0 or 1), forward or reversed. Integers wrap modulo 2^bits, as Add and Mul do.
class ScanAlongAxisOp : public OpKernel {
 public:
  explicit ScanAlongAxisOp(bool product) : product_(product) {}
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64, DType::i32, DType::i64, DType::u32, DType::u64});
    ctx.require_dtype(1, {DType::i32, DType::i64});
    if (ctx.input(1).shape_known && shape_numel(ctx.input(1).shape) != 1)
      ctx.fail("axis must be a scalar, got shape " + shape_str(ctx.input(1).shape));
    exclusive_ = ctx.attr().get_int("exclusive", 0) != 0;
    reverse_ = ctx.attr().get_int("reverse", 0) != 0;
    ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Shape& s = x.shape();
    if (ctx.input(1).numel() != 1) ctx.fail("axis must be a scalar");
    const int64_t axis = normalize_axis(int_at(ctx.input(1), 0), x.rank(), ctx.node->describe());
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= s[d];
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= s[d];
    const int64_t len = s[axis];
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) {
        auto combine = [product = product_](T a, T b) -> T {
          if constexpr (std::is_integral_v<T>)
            return product ? wrap_mul(a, b) : wrap_add(a, b);
          else
            return product ? a * b : a + b;
        };
        const T identity = product_ ? T(1) : T(0);
        const T* in = x.data_as<T>();
        T* out = ctx.output(0).data_as<T>();
        parallel_for(ctx.threading, outer, [&](int64_t o) {
          const T* xo = in + o * len * inner;
          T* yo = out + o * len * inner;
          for (int64_t step = 0; step < len; ++step) {
            const int64_t k = reverse_ ? len - 1 - step : step, prev = reverse_ ? k + 1 : k - 1;
            T* row = yo + k * inner;
            if (step == 0) {
              for (int64_t i = 0; i < inner; ++i) row[i] = exclusive_ ? identity : xo[k * inner + i];
            } else {
              const T* pr = yo + prev * inner;
              const T* src = xo + (exclusive_ ? prev : k) * inner;
              for (int64_t i = 0; i < inner; ++i) row[i] = combine(pr[i], src[i]);
            }
          }
        });
      }
    });
  }

 private:
  bool product_, exclusive_ = false, reverse_ = false;
};

}  // namespace

void register_movement_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "Transpose", 1, kAnyOpset, [] { return std::make_unique<TransposeOp>(); });
  r.add(kOnnxDomain, "Concat", 4, kAnyOpset, [] { return std::make_unique<ConcatOp>(); });
  r.add(kOnnxDomain, "Slice", 1, 9, [] { return std::make_unique<SliceOp>(false); });
  r.add(kOnnxDomain, "Slice", 10, kAnyOpset, [] { return std::make_unique<SliceOp>(true); });
  r.add(kOnnxDomain, "Split", 2, 12, [] { return std::make_unique<SplitOp>(SplitOp::Form::attr); });
  r.add(kOnnxDomain, "Split", 13, 17, [] { return std::make_unique<SplitOp>(SplitOp::Form::input); });
  r.add(kOnnxDomain, "Split", 18, kAnyOpset,
        [] { return std::make_unique<SplitOp>(SplitOp::Form::input18); });
  r.add(kOnnxDomain, "Gather", 1, kAnyOpset, [] { return std::make_unique<GatherOp>(); });
  r.add(kOnnxDomain, "Tile", 6, kAnyOpset, [] { return std::make_unique<TileOp>(); });
  r.add(kOnnxDomain, "CumSum", 11, kAnyOpset, [] { return std::make_unique<ScanAlongAxisOp>(false); });
  r.add(kOnnxDomain, "CumProd", 26, kAnyOpset, [] { return std::make_unique<ScanAlongAxisOp>(true); });
}

}  // namespace ortkit::ops
