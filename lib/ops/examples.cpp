// Example operators of the op interface: Add (numpy broadcasting) and Relu. See README.md.
#include <algorithm>

#include "ops/broadcast.h"
#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> s(out.size(), 0);
  const std::vector<int64_t> is = strides_of(in);
  const size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) s[off + i] = in[i] == 1 ? 0 : is[i];
  return s;
}

bool make_broadcast_index(const int64_t* a, int ra, const int64_t* b, int rb, BroadcastIndex& bi) {
  const int r = std::max(ra, rb);
  if (r > kMaxBroadcastRank) return false;
  bi.rank = r;
  int64_t stride_a = 1, stride_b = 1;
  for (int d = r - 1; d >= 0; --d) {
    const int da = d - (r - ra), db = d - (r - rb);
    const int64_t xa = da >= 0 ? a[da] : 1, xb = db >= 0 ? b[db] : 1;
    if (xa != xb && xa != 1 && xb != 1) return false;
    bi.out[d] = xa == 1 ? xb : xa;
    bi.sa[d] = xa == 1 ? 0 : stride_a;
    bi.sb[d] = xb == 1 ? 0 : stride_b;
    stride_a *= xa;
    stride_b *= xb;
  }
  // Drop size-1 dimensions and merge neighbours that both inputs walk alike (contiguous across both, or
  // broadcast over both): a per-channel scale of NCHW becomes C rows of H*W (squeeze-excite's Mul ran
  // rows of W, 14 values each, at a tenth of the speed), and offsets() has fewer dimensions to divide.
  int k = 0;
  for (int d = 0; d < r; ++d) {
    if (bi.out[d] == 1) continue;
    if (k > 0 && bi.sa[k - 1] == bi.sa[d] * bi.out[d] && bi.sb[k - 1] == bi.sb[d] * bi.out[d]) {
      bi.out[k - 1] *= bi.out[d];
    } else {
      bi.out[k] = bi.out[d];
      ++k;
    }
    bi.sa[k - 1] = bi.sa[d];
    bi.sb[k - 1] = bi.sb[d];
  }
  bi.rank = k;
  if (k == 0) {  // scalars, or all dimensions 1: one element
    bi.rank = 1;
    bi.out[0] = 1;
    bi.sa[0] = bi.sb[0] = 0;
  }
  return true;
}

namespace {

class Add : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64, DType::i8, DType::u8, DType::i16, DType::u16, DType::i32,
                          DType::u32, DType::i64, DType::u64});
    if (ctx.input(1).dtype != ctx.input(0).dtype) ctx.fail("inputs have different types");
    const Shape b = legacy_.b_shape(ctx, ctx.input(0).shape, ctx.input(1).shape);
    ctx.set_output(0, ctx.input(0).dtype, broadcast_shapes(ctx.input(0).shape, b, ctx.node->describe()));
  }
  void run(RunContext& ctx) override {
    Tensor view;
    const Tensor& a = ctx.input(0);
    const Tensor& b = legacy_.b(a, ctx.input(1), view);
    Tensor& o = ctx.output(0);
    visit_numeric(a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) go<T>(a, b, o, ctx.threading);
    });
  }

 private:
  template <class T>
  static void go(const Tensor& a, const Tensor& b, Tensor& o, const kernels::Threading& th) {
    if constexpr (std::is_integral_v<T>)
      broadcast_binary<T, T, T>(a, b, o, th, [](T x, T y) { return wrap_add(x, y); });
    else
      broadcast_binary<T, T, T>(a, b, o, th, [](T x, T y) { return x + y; });
  }
  LegacyBroadcast legacy_;
};

class Relu : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64, DType::i32, DType::i64, DType::i8});
    ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    switch (x.dtype()) {
      case DType::f32:
        return unary_map<float, float>(x, y, ctx.threading, [](float v) { return v > 0.f ? v : 0.f; });
      case DType::f64:
        return unary_map<double, double>(x, y, ctx.threading, [](double v) { return v > 0 ? v : 0.0; });
      case DType::i32:
        return unary_map<int32_t, int32_t>(x, y, ctx.threading, [](int32_t v) { return std::max(v, 0); });
      case DType::i64:
        return unary_map<int64_t, int64_t>(x, y, ctx.threading,
                                           [](int64_t v) { return std::max<int64_t>(v, 0); });
      case DType::i8:
        return unary_map<int8_t, int8_t>(x, y, ctx.threading,
                                         [](int8_t v) { return std::max<int8_t>(v, 0); });
      default: ctx.fail("unsupported dtype");
    }
  }
};

}  // namespace

void register_example_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "Add", 1, kAnyOpset, [] { return std::make_unique<Add>(); });
  r.add(kOnnxDomain, "Relu", 1, kAnyOpset, [] { return std::make_unique<Relu>(); });
}

}  // namespace ortkit::ops
