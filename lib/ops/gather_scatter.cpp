// Index-driven data movement: GatherElements, GatherND, ScatterElements / Scatter, ScatterND, and the
// layout shuffles Trilu, DepthToSpace, SpaceToDepth. Scatters copy data to the output first, then apply
// updates in index order on one thread (duplicate indices with a reduction must be applied in order).
#include <algorithm>
#include <cstring>

#include "ops/copy_util.h"
#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

/// Reads index j of an i32/i64 tensor, wrapping negatives by n; throws when out of [-n, n).
inline int64_t checked_index(const RunContext& ctx, const Tensor& idx, int64_t j, int64_t n) {
  int64_t v = int_at(idx, j);
  if (v < -n || v >= n)
    ctx.fail("index " + std::to_string(v) + " out of range for axis size " + std::to_string(n));
  return v < 0 ? v + n : v;
}

// GatherElements / ScatterElements: the offset in data (shape s) of element t of idx, which shares its
// coordinates with data except on `axis`, where the index value (checked against s[axis]) stands.
int64_t element_offset(const RunContext& ctx, const Tensor& idx, int64_t t, const Shape& s, int64_t axis) {
  const Shape& is = idx.shape();
  int64_t rem = t, off = 0, stride = 1;
  for (int64_t d = static_cast<int64_t>(s.size()) - 1; d >= 0; --d) {
    const int64_t c = rem % is[d];
    rem /= is[d];
    if (d != axis && c >= s[d]) ctx.fail("indices shape exceeds data shape");
    off += (d == axis ? checked_index(ctx, idx, t, s[d]) : c) * stride;
    stride *= s[d];
  }
  return off;
}

// ----------------------------------------------------------------------------------------------
// GatherElements

class GatherElementsOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(1, {DType::i32, DType::i64});
    const Shape &s = ctx.input(0).shape, &is = ctx.input(1).shape;
    if (dtype_size(ctx.input(0).dtype) == 0) ctx.unsupported("dtype");
    if (s.empty() || s.size() != is.size()) ctx.fail("data and indices must have the same rank >= 1");
    axis_ =
        normalize_axis(ctx.attr().get_int("axis", 0), static_cast<int64_t>(s.size()), ctx.node->describe());
    ctx.set_output(0, ctx.input(0).dtype, is);
  }
  void run(RunContext& ctx) override {
    const Tensor &x = ctx.input(0), &idx = ctx.input(1);
    const Shape& s = x.shape();
    const int64_t n = idx.numel();
    visit_bytes(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* in = x.data_as<T>();
      T* out = ctx.output(0).data_as<T>();
      for (int64_t t = 0; t < n; ++t) out[t] = in[element_offset(ctx, idx, t, s, axis_)];
    });
  }

 private:
  int64_t axis_ = 0;
};

// ---------------------------------------------------------------------------------------------- reductions

enum class Red { none, add, mul, max, min };

Red parse_reduction(const CompileContext& ctx, int since_minmax) {
  const std::string r = ctx.attr().get_string("reduction", "none");
  if (r == "none") return Red::none;
  if (r == "add") return Red::add;
  if (r == "mul") return Red::mul;
  if (r == "max" && ctx.node->opset >= since_minmax) return Red::max;
  if (r == "min" && ctx.node->opset >= since_minmax) return Red::min;
  ctx.fail("unknown reduction '" + r + "'");
}

template <class T>
inline void apply_red(T& dst, T v, Red r) {
  switch (r) {
    case Red::none: dst = v; break;
    case Red::add: dst = static_cast<T>(dst + v); break;
    case Red::mul: dst = static_cast<T>(dst * v); break;
    case Red::max: dst = std::max(dst, v); break;
    case Red::min: dst = std::min(dst, v); break;
  }
}

/// Calls f(T{}) with a typed T for reductions, or a same-size unsigned type for plain assignment.
template <class F>
void visit_reduction(const CompileContext* cctx, const RunContext* rctx, DType dt, Red red, F&& f) {
  if (red == Red::none) {
    visit_bytes(dt, f);
    return;
  }
  const bool ok = dt != DType::boolean && visit_numeric(dt, [&](auto tag) {
                    if constexpr (!std::is_same_v<decltype(tag), bool>) f(tag);
                  });
  if (!ok) {
    if (cctx) cctx->unsupported(std::string("reduction on ") + dtype_name(dt));
    if (rctx) rctx->fail(std::string("reduction on ") + dtype_name(dt));
  }
}

void check_reduction_dtype(const CompileContext& ctx, DType dt, Red red) {
  if (dtype_size(dt) == 0) ctx.unsupported(std::string("dtype ") + dtype_name(dt));
  if (red != Red::none) {
    if (dt == DType::boolean) ctx.unsupported("reduction on bool");
    if (!visit_numeric(dt, [](auto) {})) ctx.unsupported(std::string("reduction on ") + dtype_name(dt));
  }
}

// ----------------------------------------------------------------------------------------------
// ScatterElements

class ScatterElementsOp : public OpKernel {
 public:
  explicit ScatterElementsOp(bool has_reduction) : has_reduction_(has_reduction) {}
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(1, {DType::i32, DType::i64});
    const Shape &s = ctx.input(0).shape, &is = ctx.input(1).shape;
    red_ = has_reduction_ ? parse_reduction(ctx, 18) : Red::none;
    check_reduction_dtype(ctx, ctx.input(0).dtype, red_);
    if (ctx.input(2).dtype != ctx.input(0).dtype) ctx.fail("updates and data have different dtypes");
    if (ctx.input(2).shape != is) ctx.fail("updates and indices have different shapes");
    if (s.empty() || s.size() != is.size()) ctx.fail("data and indices must have the same rank >= 1");
    axis_ =
        normalize_axis(ctx.attr().get_int("axis", 0), static_cast<int64_t>(s.size()), ctx.node->describe());
    ctx.set_output(0, ctx.input(0).dtype, s);
  }
  void run(RunContext& ctx) override {
    const Tensor &x = ctx.input(0), &idx = ctx.input(1), &upd = ctx.input(2);
    Tensor& y = ctx.output(0);
    const Shape& s = x.shape();
    const int64_t n = idx.numel();
    std::memcpy(y.data(), x.data(), x.bytes());
    visit_reduction(nullptr, &ctx, x.dtype(), red_, [&](auto tag) {
      using T = decltype(tag);
      const T* u = upd.data_as<T>();
      T* out = y.data_as<T>();
      for (int64_t t = 0; t < n; ++t) apply_red<T>(out[element_offset(ctx, idx, t, s, axis_)], u[t], red_);
    });
  }

 private:
  bool has_reduction_;
  Red red_ = Red::none;
  int64_t axis_ = 0;
};

// ---------------------------------------------------------------------------------------------- ScatterND

class ScatterNDOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(1, {DType::i32, DType::i64});
    red_ = parse_reduction(ctx, 18);
    check_reduction_dtype(ctx, ctx.input(0).dtype, red_);
    const Shape &s = ctx.input(0).shape, &is = ctx.input(1).shape, &us = ctx.input(2).shape;
    if (ctx.input(2).dtype != ctx.input(0).dtype) ctx.fail("updates and data have different dtypes");
    if (is.empty()) ctx.fail("indices must have rank >= 1");
    const int64_t k = is.back();
    if (k > static_cast<int64_t>(s.size())) ctx.fail("indices' last dimension exceeds the data rank");
    Shape expect(is.begin(), is.end() - 1);
    expect.insert(expect.end(), s.begin() + k, s.end());
    if (us != expect) ctx.fail("updates shape " + shape_str(us) + " should be " + shape_str(expect));
    ctx.set_output(0, ctx.input(0).dtype, s);
  }
  void run(RunContext& ctx) override {
    const Tensor &x = ctx.input(0), &idx = ctx.input(1), &upd = ctx.input(2);
    Tensor& y = ctx.output(0);
    const Shape& s = x.shape();
    const int64_t k = idx.shape().back();
    int64_t count = 1;  // index tuples
    for (size_t d = 0; d + 1 < idx.shape().size(); ++d) count *= idx.shape()[d];
    int64_t slice = 1;
    for (size_t d = static_cast<size_t>(k); d < s.size(); ++d) slice *= s[d];
    std::memcpy(y.data(), x.data(), x.bytes());
    visit_reduction(nullptr, &ctx, x.dtype(), red_, [&](auto tag) {
      using T = decltype(tag);
      const T* u = upd.data_as<T>();
      T* out = y.data_as<T>();
      for (int64_t t = 0; t < count; ++t) {
        int64_t off = 0;
        for (int64_t d = 0; d < k; ++d) off = off * s[d] + checked_index(ctx, idx, t * k + d, s[d]);
        T* dst = out + off * slice;
        const T* src = u + t * slice;
        for (int64_t i = 0; i < slice; ++i) apply_red<T>(dst[i], src[i], red_);
      }
    });
  }

 private:
  Red red_ = Red::none;
};

// ---------------------------------------------------------------------------------------------- GatherND

class GatherNDOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(1, {DType::i32, DType::i64});
    if (dtype_size(ctx.input(0).dtype) == 0) ctx.unsupported("dtype");
    const Shape &s = ctx.input(0).shape, &is = ctx.input(1).shape;
    b_ = ctx.attr().get_int("batch_dims", 0);
    if (s.empty() || is.empty()) ctx.fail("data and indices must have rank >= 1");
    if (b_ < 0 || b_ >= static_cast<int64_t>(std::min(s.size(), is.size())))
      ctx.fail("batch_dims must be in [0, min(rank(data), rank(indices)))");
    for (int64_t d = 0; d < b_; ++d)
      if (s[d] != is[d]) ctx.fail("batch dimensions of data and indices differ");
    const int64_t k = is.back();
    if (b_ + k > static_cast<int64_t>(s.size())) ctx.fail("indices' last dimension is too large for data");
    Shape out(is.begin(), is.end() - 1);
    out.insert(out.end(), s.begin() + b_ + k, s.end());
    ctx.set_output(0, ctx.input(0).dtype, out);
  }
  void run(RunContext& ctx) override {
    const Tensor &x = ctx.input(0), &idx = ctx.input(1);
    const Shape &s = x.shape(), &is = idx.shape();
    const int64_t k = is.back();
    int64_t batch = 1, slice = 1, data_batch = 1;
    for (int64_t d = 0; d < b_; ++d) batch *= is[d];
    for (size_t d = static_cast<size_t>(b_ + k); d < s.size(); ++d) slice *= s[d];
    for (size_t d = static_cast<size_t>(b_); d < s.size(); ++d) data_batch *= s[d];
    int64_t per_batch = 1;  // index tuples per batch entry
    for (size_t d = static_cast<size_t>(b_); d + 1 < is.size(); ++d) per_batch *= is[d];
    const size_t es = dtype_size(x.dtype());
    const char* in = static_cast<const char*>(x.data());
    char* out = static_cast<char*>(ctx.output(0).data());
    for (int64_t bb = 0; bb < batch; ++bb)
      for (int64_t t = 0; t < per_batch; ++t) {
        const int64_t tup = bb * per_batch + t;
        int64_t off = 0;
        for (int64_t d = 0; d < k; ++d)
          off = off * s[b_ + d] + checked_index(ctx, idx, tup * k + d, s[b_ + d]);
        std::memcpy(out + tup * slice * es, in + (bb * data_batch + off * slice) * es,
                    static_cast<size_t>(slice) * es);
      }
  }

 private:
  int64_t b_ = 0;
};

// ---------------------------------------------------------------------------------------------- Trilu

class TriluOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    if (dtype_size(ctx.input(0).dtype) == 0) ctx.unsupported("dtype");
    if (ctx.input(0).shape.size() < 2) ctx.fail("input must have rank >= 2");
    if (ctx.has_input(1)) ctx.require_dtype(1, {DType::i64});
    upper_ = ctx.attr().get_int("upper", 1) != 0;
    ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Shape& s = x.shape();
    int64_t k = 0;
    if (ctx.has_input(1)) {
      if (ctx.input(1).numel() != 1) ctx.fail("k must be a scalar");
      k = ctx.input(1).data_as<int64_t>()[0];
    }
    const int64_t rows = s[s.size() - 2], cols = s.back(),
                  mats = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
    visit_bytes(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* in = x.data_as<T>();
      T* out = ctx.output(0).data_as<T>();
      parallel_range(ctx.threading, mats * rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)),
                     [&](int64_t b, int64_t e) {
                       for (int64_t t = b; t < e; ++t) {
                         const int64_t i = t % rows;
                         const T* src = in + t * cols;
                         T* dst = out + t * cols;
                         // keep j >= i + k (upper) or j <= i + k (lower)
                         for (int64_t j = 0; j < cols; ++j) {
                           const bool keep = upper_ ? j - i >= k : j - i <= k;
                           dst[j] = keep ? src[j] : T{0};
                         }
                       }
                     });
    });
  }

 private:
  bool upper_ = true;
};

// ---------------------------------------------------------------------------------------------- DepthToSpace

/// DepthToSpace / SpaceToDepth as one 6-D transpose: out (shape os6) [i] = in[sum i_d * st6[d]].
class BlockShuffleOp : public OpKernel {
 public:
  explicit BlockShuffleOp(bool to_space) : to_space_(to_space) {}
  void compile(CompileContext& ctx) override {
    const Shape& s = ctx.input(0).shape;
    if (dtype_size(ctx.input(0).dtype) == 0) ctx.unsupported("dtype");
    if (s.size() != 4) ctx.fail("input must be 4-D (N, C, H, W)");
    const int64_t b = ctx.attr().get_int("blocksize");
    if (b <= 0) ctx.fail("blocksize must be positive");
    const int64_t N = s[0], C = s[1], H = s[2], W = s[3];
    std::vector<int64_t> in6, perm;
    Shape out;
    if (to_space_) {
      if (b > C || C % (b * b))
        ctx.fail("channels are not divisible by blocksize^2");  // b > C: b * b may overflow
      const std::string mode = ctx.attr().get_string("mode", "DCR");
      const int64_t c = C / (b * b);
      if (mode == "DCR") {
        in6 = {N, b, b, c, H, W};
        perm = {0, 3, 4, 1, 5, 2};
      } else if (mode == "CRD") {
        in6 = {N, c, b, b, H, W};
        perm = {0, 1, 4, 2, 5, 3};
      } else {
        ctx.fail("unknown mode '" + mode + "'");
      }
      out = {N, c, H * b, W * b};
    } else {
      if (H % b || W % b) ctx.fail("H and W must be divisible by blocksize");
      // DCR: output channel (bh * b + bw) * C + c; CRD (opset 25): (c * b + bh) * b + bw.
      const std::string mode = ctx.attr().get_string("mode", "DCR");
      in6 = {N, C, H / b, b, W / b, b};
      if (mode == "DCR")
        perm = {0, 3, 5, 1, 2, 4};
      else if (mode == "CRD")
        perm = {0, 1, 3, 5, 2, 4};
      else
        ctx.fail("unknown mode '" + mode + "'");
      out = {N, C * b * b, H / b, W / b};
    }
    const std::vector<int64_t> st = strides_of(in6);
    os6_.clear();
    st6_.clear();
    for (int64_t p : perm) {
      os6_.push_back(in6[p]);
      st6_.push_back(st[p]);
    }
    ctx.set_output(0, ctx.input(0).dtype, out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    visit_bytes(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      strided_copy<T>(x.data_as<T>(), 0, st6_, ctx.output(0).data_as<T>(), os6_, ctx.threading);
    });
  }

 private:
  bool to_space_;
  Shape os6_;
  std::vector<int64_t> st6_;
};

}  // namespace

void register_gather_scatter_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "GatherElements", 11, kAnyOpset, [] { return std::make_unique<GatherElementsOp>(); });
  r.add(kOnnxDomain, "Scatter", 9, 10, [] { return std::make_unique<ScatterElementsOp>(false); });
  r.add(kOnnxDomain, "ScatterElements", 11, kAnyOpset,
        [] { return std::make_unique<ScatterElementsOp>(true); });
  r.add(kOnnxDomain, "ScatterND", 11, kAnyOpset, [] { return std::make_unique<ScatterNDOp>(); });
  r.add(kOnnxDomain, "GatherND", 11, kAnyOpset, [] { return std::make_unique<GatherNDOp>(); });
  r.add(kOnnxDomain, "Trilu", 14, kAnyOpset, [] { return std::make_unique<TriluOp>(); });
  r.add(kOnnxDomain, "DepthToSpace", 1, kAnyOpset, [] { return std::make_unique<BlockShuffleOp>(true); });
  r.add(kOnnxDomain, "SpaceToDepth", 1, kAnyOpset, [] { return std::make_unique<BlockShuffleOp>(false); });
}

}  // namespace ortkit::ops
