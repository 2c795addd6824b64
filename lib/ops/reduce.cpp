// Reductions: ReduceSum/Mean/Max/Min/Prod/SumSquare/L1/L2/LogSum/LogSumExp (axes attribute before
// opset 13 (18 for all but ReduceSum), axes input after; keepdims; noop_with_empty_axes), ArgMax/ArgMin.
// Reduced axes that form a suffix reduce contiguous rows (vectorised, parallel over rows); other
// patterns accumulate input rows into the output through broadcast strides.
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

enum class Red { sum, mean, max, min, prod, sum_square, l1, l2, log_sum, log_sum_exp };

/// The identity of the combine, which is also the result over an empty set: -inf / lowest for max
/// (false for bool), +inf / max for min (true for bool).
template <Red kOp, class T>
inline T red_init() {
  using L = std::numeric_limits<T>;
  if constexpr (kOp == Red::max) {
    if constexpr (L::has_infinity) return -L::infinity();
    return L::lowest();
  } else if constexpr (kOp == Red::min) {
    if constexpr (L::has_infinity) return L::infinity();
    return L::max();
  } else if constexpr (kOp == Red::prod) {
    return T(1);
  }
  return T(0);
}
template <Red kOp, class T>
inline T red_map(T v) {  // per-element transform before the sum-like combine
  if constexpr (kOp == Red::sum_square) return v * v;
  if constexpr (kOp == Red::l1) return v < 0 ? -v : v;
  if constexpr (kOp == Red::l2) return v * v;
  if constexpr (kOp == Red::log_sum_exp) return static_cast<T>(std::exp(v));
  return v;
}
template <Red kOp, class T>
inline T red_combine(T a, T b) {
  if constexpr (kOp == Red::max) {
    return a > b || std::isnan(static_cast<double>(a)) ? a : b;
  } else if constexpr (kOp == Red::min) {
    return a < b || std::isnan(static_cast<double>(a)) ? a : b;
  } else if constexpr (std::is_integral_v<T>) {
    if constexpr (kOp == Red::prod) return wrap_mul(a, b);
    return wrap_add(a, b);
  } else {
    if constexpr (kOp == Red::prod) return a * b;
    return a + b;
  }
}
template <Red kOp, class T>
inline T red_final(T v, int64_t count) {
  if constexpr (kOp == Red::mean) return count ? v / static_cast<T>(count) : v;
  if constexpr (kOp == Red::l2) return static_cast<T>(std::sqrt(v));
  if constexpr (kOp == Red::log_sum || kOp == Red::log_sum_exp) return static_cast<T>(std::log(v));
  return v;
}

template <Red kOp>
class ReduceOp : public OpKernel {
 public:
  explicit ReduceOp(bool axes_input) : axes_input_(axes_input) {}

  void compile(CompileContext& ctx) override {
    if constexpr (kOp == Red::max || kOp == Red::min)
      ctx.require_dtype(0, {DType::f32, DType::f64, DType::i8, DType::u8, DType::i32, DType::u32, DType::i64,
                            DType::u64, DType::boolean});
    else if constexpr (kOp == Red::sum || kOp == Red::prod)
      ctx.require_dtype(0, {DType::f32, DType::f64, DType::i32, DType::u32, DType::i64, DType::u64});
    else
      ctx.require_dtype(0, {DType::f32, DType::f64});
    keep_ = ctx.attr().get_int("keepdims", 1) != 0;
    noop_attr_ = ctx.attr().get_int("noop_with_empty_axes", 0) != 0;
    where_ = ctx.node->describe();
    std::vector<int64_t> axes;
    if (axes_input_) {
      if (ctx.has_input(1) && !const_ints(ctx, 1, axes)) {
        // Axes known only at run time: the output shape is data-dependent.
        dyn_ = true;
        ctx.outputs[0].dtype = ctx.input(0).dtype;
        ctx.outputs[0].data_dependent = true;
        return;
      }
    } else {
      axes = ctx.attr().get_ints("axes", {});
    }
    ctx.set_output(0, ctx.input(0).dtype, configure(ctx.input(0).shape, axes));
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor* yp = &ctx.output(0);
    if (dyn_) {
      std::vector<int64_t> axes;
      if (ctx.has_input(1)) axes = to_int64_vector(ctx.input(1), where_);
      yp = &ctx.allocate_output(0, x.dtype(), configure(x.shape(), axes));
    }
    Tensor& y = *yp;
    if (noop_) {
      if (x.bytes()) std::memcpy(y.data(), x.data(), x.bytes());
      return;
    }
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      // bool only reaches here for ReduceMax / ReduceMin (compile() admits it for them alone).
      if constexpr (!std::is_same_v<T, bool> || kOp == Red::max || kOp == Red::min)
        go<T>(x, y, ctx.threading);
    });
  }

 private:
  template <class T>
  void go(const Tensor& x, Tensor& y, const kernels::Threading& th) {
    const T* in = x.data_as<T>();
    T* out = y.data_as<T>();
    const int64_t nout = y.numel(), cnt = count_;
    const T init = red_init<kOp, T>();
    if (nout == 0) return;
    if (cnt == 0) {
      for (int64_t i = 0; i < nout; ++i) out[i] = red_final<kOp, T>(init, cnt);
      return;
    }
    if (suffix_) {
      parallel_range(th, nout, std::max<int64_t>(1, 16384 / cnt), [&](int64_t o0, int64_t o1) {
        for (int64_t o = o0; o < o1; ++o) {
          const T* row = in + o * cnt;
          T acc[8];
          for (auto& a : acc) a = init;
          int64_t i = 0;
          for (; i + 8 <= cnt; i += 8)
            for (int j = 0; j < 8; ++j) acc[j] = red_combine<kOp, T>(acc[j], red_map<kOp, T>(row[i + j]));
          T v = init;
          for (; i < cnt; ++i) v = red_combine<kOp, T>(v, red_map<kOp, T>(row[i]));
          for (int j = 0; j < 8; ++j) v = red_combine<kOp, T>(v, acc[j]);
          out[o] = red_final<kOp, T>(v, cnt);
        }
      });
      return;
    }
    // General: walk input rows (last dim), accumulating into the output via strides (0 on reduced dims).
    const Shape& s = x.shape();
    const int64_t r = static_cast<int64_t>(s.size());
    const std::vector<int64_t>& ost = out_strides_;
    for (int64_t i = 0; i < nout; ++i) out[i] = init;
    const int64_t inner = s[r - 1], rows = x.numel() / inner, is = ost[r - 1];
    for (int64_t row = 0; row < rows; ++row) {
      int64_t rem = row, off = 0;
      for (int64_t d = r - 2; d >= 0; --d) {
        off += (rem % s[d]) * ost[d];
        rem /= s[d];
      }
      const T* xr = in + row * inner;
      T* o = out + off;
      if (is == 0) {
        T v = o[0];
        for (int64_t i = 0; i < inner; ++i) v = red_combine<kOp, T>(v, red_map<kOp, T>(xr[i]));
        o[0] = v;
      } else {
        for (int64_t i = 0; i < inner; ++i) o[i] = red_combine<kOp, T>(o[i], red_map<kOp, T>(xr[i]));
      }
    }
    for (int64_t i = 0; i < nout; ++i) out[i] = red_final<kOp, T>(out[i], cnt);
  }

  /// Sets reduced_, count_, suffix_, noop_ for input shape s; returns the output shape.
  Shape configure(const Shape& s, const std::vector<int64_t>& axes) {
    const int64_t r = static_cast<int64_t>(s.size());
    noop_ = axes.empty() && noop_attr_;
    reduced_.assign(static_cast<size_t>(r), axes.empty() && !noop_attr_);
    for (int64_t a : axes) reduced_[normalize_axis(a, r, where_)] = true;
    Shape out;
    count_ = 1;
    for (int64_t d = 0; d < r; ++d) {
      if (reduced_[d]) {
        count_ *= s[d];
        if (keep_) out.push_back(1);
      } else {
        out.push_back(s[d]);
      }
    }
    // Suffix pattern: every reduced axis after every kept one (ignoring size-1 dims).
    suffix_ = true;
    bool seen_red = false;
    for (int64_t d = 0; d < r; ++d) {
      if (s[d] == 1) continue;
      if (reduced_[d])
        seen_red = true;
      else if (seen_red)
        suffix_ = false;
    }
    // Output element strides over the input's dims (0 on reduced dims), for the general path.
    out_strides_.assign(static_cast<size_t>(r), 0);
    int64_t stride = 1;
    for (int64_t d = r - 1; d >= 0; --d) {
      if (!reduced_[d]) {
        out_strides_[d] = stride;
        stride *= s[d];
      }
    }
    return noop_ ? s : out;
  }

  bool axes_input_;
  bool keep_ = true, noop_attr_ = false, dyn_ = false;
  std::string where_;
  bool noop_ = false, suffix_ = true;
  int64_t count_ = 1;
  std::vector<bool> reduced_;
  std::vector<int64_t> out_strides_;
};

class ArgOp : public OpKernel {
 public:
  explicit ArgOp(bool max) : max_(max) {}
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64, DType::i32, DType::i64, DType::i8, DType::u8});
    const Shape& s = ctx.input(0).shape;
    const int64_t r = static_cast<int64_t>(s.size());
    axis_ = normalize_axis(ctx.attr().get_int("axis", 0), r, ctx.node->describe());
    last_ = ctx.attr().get_int("select_last_index", 0) != 0;
    Shape out = s;
    if (ctx.attr().get_int("keepdims", 1) != 0)
      out[axis_] = 1;
    else
      out.erase(out.begin() + axis_);
    ctx.set_output(0, DType::i64, out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Shape& s = x.shape();
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis_; ++d) outer *= s[d];
    for (size_t d = static_cast<size_t>(axis_) + 1; d < s.size(); ++d) inner *= s[d];
    const int64_t len = s[axis_];
    int64_t* out = ctx.output(0).data_as<int64_t>();
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* in = x.data_as<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const T* p = in + o * len * inner + i;
          int64_t best = 0;
          for (int64_t k = 1; k < len; ++k) {
            const T v = p[k * inner], b = p[best * inner];
            const bool better = max_ ? (last_ ? v >= b : v > b) : (last_ ? v <= b : v < b);
            if (better) best = k;
          }
          out[o * inner + i] = best;
        }
    });
  }

 private:
  bool max_, last_ = false;
  int64_t axis_ = 0;
};

template <Red kOp>
void add_reduce(OpRegistry& r, const char* name, int input_since) {
  r.add(kOnnxDomain, name, 1, input_since - 1, [] { return std::make_unique<ReduceOp<kOp>>(false); });
  r.add(kOnnxDomain, name, input_since, kAnyOpset, [] { return std::make_unique<ReduceOp<kOp>>(true); });
}

}  // namespace

void register_reduce_ops(OpRegistry& r) {
  add_reduce<Red::sum>(r, "ReduceSum", 13);
  add_reduce<Red::mean>(r, "ReduceMean", 18);
  add_reduce<Red::max>(r, "ReduceMax", 18);
  add_reduce<Red::min>(r, "ReduceMin", 18);
  add_reduce<Red::prod>(r, "ReduceProd", 18);
  add_reduce<Red::sum_square>(r, "ReduceSumSquare", 18);
  add_reduce<Red::l1>(r, "ReduceL1", 18);
  add_reduce<Red::l2>(r, "ReduceL2", 18);
  add_reduce<Red::log_sum>(r, "ReduceLogSum", 18);
  add_reduce<Red::log_sum_exp>(r, "ReduceLogSumExp", 18);
  r.add(kOnnxDomain, "ArgMax", 1, kAnyOpset, [] { return std::make_unique<ArgOp>(true); });
  r.add(kOnnxDomain, "ArgMin", 1, kAnyOpset, [] { return std::make_unique<ArgOp>(false); });
}

}  // namespace ortkit::ops
