// Comparison and logic ops: Equal Less Greater LessOrEqual GreaterOrEqual (numeric -> bool), And Or Xor
// Not (bool), and Where (bool condition, three-way numpy broadcasting).
#include <algorithm>
#include <cstring>

#include "ops/broadcast.h"
#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

enum class Cmp { eq, lt, gt, le, ge, and_, or_, xor_ };

template <Cmp kOp, class T>
inline bool cmp(T a, T b) {
  if constexpr (kOp == Cmp::eq) return a == b;
  if constexpr (kOp == Cmp::lt) return a < b;
  if constexpr (kOp == Cmp::gt) return a > b;
  if constexpr (kOp == Cmp::le) return a <= b;
  if constexpr (kOp == Cmp::ge) return a >= b;
  if constexpr (kOp == Cmp::and_) return a && b;
  if constexpr (kOp == Cmp::or_) return a || b;
  if constexpr (kOp == Cmp::xor_) return a != b;
}

template <Cmp kOp>
class CompareOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    constexpr bool logical = kOp == Cmp::and_ || kOp == Cmp::or_ || kOp == Cmp::xor_;
    if (logical) {
      ctx.require_dtype(0, {DType::boolean});
    } else {
      ctx.require_dtype(0, {DType::f32, DType::f64, DType::i8, DType::u8, DType::i16, DType::u16, DType::i32,
                            DType::u32, DType::i64, DType::u64, DType::boolean});
    }
    if (ctx.input(1).dtype != ctx.input(0).dtype) ctx.fail("inputs have different types");
    const Shape b = legacy_.b_shape(ctx, ctx.input(0).shape, ctx.input(1).shape);
    ctx.set_output(0, DType::boolean, broadcast_shapes(ctx.input(0).shape, b, ctx.node->describe()));
  }
  void run(RunContext& ctx) override {
    Tensor view;
    const Tensor& a = ctx.input(0);
    const Tensor& b = legacy_.b(a, ctx.input(1), view);
    visit_numeric(a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      broadcast_binary<T, T, bool>(a, b, ctx.output(0), ctx.threading,
                                   [](T x, T y) { return cmp<kOp>(x, y); });
    });
  }

 private:
  LegacyBroadcast legacy_;
};

class NotOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::boolean});
    ctx.set_output(0, DType::boolean, ctx.input(0).shape);
  }
  void run(RunContext& ctx) override {
    unary_map<bool, bool>(ctx.input(0), ctx.output(0), ctx.threading, [](bool v) { return !v; });
  }
};

class WhereOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::boolean});
    const DType t = ctx.input(1).dtype;
    if (ctx.input(2).dtype != t) ctx.fail("X and Y have different types");
    if (dtype_size(t) == 0) ctx.unsupported(std::string("Where on ") + dtype_name(t));
    const Shape out =
        broadcast_shapes({ctx.input(0).shape, ctx.input(1).shape, ctx.input(2).shape}, ctx.node->describe());
    ctx.set_output(0, t, out);
    // Broadcast strides now, so run() does not allocate.
    sc_ = broadcast_strides(ctx.input(0).shape, out);
    sx_ = broadcast_strides(ctx.input(1).shape, out);
    sy_ = broadcast_strides(ctx.input(2).shape, out);
  }
  void run(RunContext& ctx) override {
    const Tensor &c = ctx.input(0), &x = ctx.input(1), &y = ctx.input(2);
    Tensor& o = ctx.output(0);
    const int64_t n = o.numel();
    if (n == 0) return;
    visit_bytes(o.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const bool* pc = c.data_as<bool>();
      const T* px = x.data_as<T>();
      const T* py = y.data_as<T>();
      T* po = o.data_as<T>();
      if (c.numel() == n && x.numel() == n && y.numel() == n) {
        parallel_range(ctx.threading, n, 16384, [&](int64_t s, int64_t e) {
          for (int64_t i = s; i < e; ++i) po[i] = pc[i] ? px[i] : py[i];
        });
        return;
      }
      // General broadcast: per output row, each operand at stride 0 or 1 along the last dim.
      const Shape& os = o.shape();
      const int64_t rank = static_cast<int64_t>(os.size());
      const std::vector<int64_t>&sc = sc_, &sx = sx_, &sy = sy_;
      const int64_t inner = rank ? os[rank - 1] : 1, rows = n / inner;
      const int64_t ic = rank ? sc[rank - 1] : 0, ix = rank ? sx[rank - 1] : 0, iy = rank ? sy[rank - 1] : 0;
      parallel_range(ctx.threading, rows, std::max<int64_t>(1, 16384 / inner), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          int64_t rem = r, oc = 0, ox = 0, oy = 0;
          for (int64_t d = rank - 2; d >= 0; --d) {
            const int64_t idx = rem % os[d];
            rem /= os[d];
            oc += idx * sc[d];
            ox += idx * sx[d];
            oy += idx * sy[d];
          }
          T* out = po + r * inner;
          for (int64_t i = 0; i < inner; ++i) out[i] = pc[oc + i * ic] ? px[ox + i * ix] : py[oy + i * iy];
        }
      });
    });
  }

 private:
  std::vector<int64_t> sc_, sx_, sy_;
};

}  // namespace

void register_logic_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "Equal", 1, kAnyOpset,
        [] { return equal_with_strings(std::make_unique<CompareOp<Cmp::eq>>()); });
  r.add(kOnnxDomain, "Less", 1, kAnyOpset, [] { return std::make_unique<CompareOp<Cmp::lt>>(); });
  r.add(kOnnxDomain, "Greater", 1, kAnyOpset, [] { return std::make_unique<CompareOp<Cmp::gt>>(); });
  r.add(kOnnxDomain, "LessOrEqual", 12, kAnyOpset, [] { return std::make_unique<CompareOp<Cmp::le>>(); });
  r.add(kOnnxDomain, "GreaterOrEqual", 12, kAnyOpset, [] { return std::make_unique<CompareOp<Cmp::ge>>(); });
  r.add(kOnnxDomain, "And", 1, kAnyOpset, [] { return std::make_unique<CompareOp<Cmp::and_>>(); });
  r.add(kOnnxDomain, "Or", 1, kAnyOpset, [] { return std::make_unique<CompareOp<Cmp::or_>>(); });
  r.add(kOnnxDomain, "Xor", 1, kAnyOpset, [] { return std::make_unique<CompareOp<Cmp::xor_>>(); });
  r.add(kOnnxDomain, "Not", 1, kAnyOpset, [] { return std::make_unique<NotOp>(); });
  r.add(kOnnxDomain, "Where", 9, kAnyOpset, [] { return std::make_unique<WhereOp>(); });
}

}  // namespace ortkit::ops
