// ortkit.QdqAdd: the fused residual Add of QDQ models (graph/passes/qdq_add_fusion.cpp):
//
//   v   = [relu](a_s * (a_q - a_zp) + b')      b' = b_s * (b_q - b_zp) (int8 b), or b itself (float b)
//   y_q = saturate(round_half_even(v / y_s) + y_zp)
//
// Inputs: a_q, a_s, a_zp, b, b_s?, b_zp?, y_s?, y_zp? (a_q u8/s8; b u8/s8 with b_s/b_zp, or f32 without;
// per-tensor f32 scales and u8/s8 zero points; y_s absent when there is no quantized output; absent
// y_zp: u8, 0). Attributes: `activation` ("" or "relu"), `quantized_output` (default 1: y_q),
// `float_output` (default 0: v as f32, for other readers of the Add/Relu result such as the float
// residual stream of ONNX Runtime's quantize_static resnet). The outputs are y_q then v, those present.
// a and b broadcast like Add: equal sizes and scalar operands take a flat vectorized path, other shapes
// a per-element index path.
// The float arithmetic is the unfused graph's, step by step (each operand dequantized as
// DequantizeLinear does, one float add, max(., 0), x / y_s and the rounding as QuantizeLinear does
// (quant::quantize_one); this file is compiled without FMA contraction), so the results equal DQ, DQ -> Add
// [-> Relu] -> Q exactly.
#include <algorithm>
#include <limits>
#include <type_traits>

#include "ops/broadcast.h"
#include "ops/fast_math.h"
#include "ops/quant_common.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

struct Params {
  float sa, sb, sy, zy, lo;  // lo: -inf, or 0 with relu
  int32_t za, zb;
};

template <class Tb>
__attribute__((always_inline)) inline float deq_b(Tb b, const Params& p) {
  if constexpr (std::is_same_v<Tb, float>)
    return b;
  else
    return static_cast<float>(int32_t{b} - p.zb) * p.sb;
}

template <class To>
__attribute__((always_inline)) inline To quantize(float v, const Params& p) {
  constexpr float lo = std::is_signed_v<To> ? -128.f : 0.f, hi = std::is_signed_v<To> ? 127.f : 255.f;
  return quant::quantize_one<To>(v / p.sy, lo - p.zy, hi - p.zy, p.zy);
}

/// The flat loop (a and b full, or a scalar when its stride is 0): writes y_q (q) and/or v (f), those
/// not null. Inlined into the cloned wrappers below, so it is compiled for AVX2 there.
template <class Ta, class Tb, class To>
__attribute__((always_inline)) inline void flat_rows(const Ta* a, int64_t sa, const Tb* b, int64_t sb,
                                                     int64_t n, const Params& p, To* q, float* f) {
  const auto val = [&](int64_t i) {
    const float fa = static_cast<float>(int32_t{a[i * sa]} - p.za) * p.sa;
    return std::max(fa + deq_b(b[i * sb], p), p.lo);
  };
  if (q && f) {
    for (int64_t i = 0; i < n; ++i) {
      const float v = val(i);
      f[i] = v;
      q[i] = quantize<To>(v, p);
    }
  } else if (q) {
    for (int64_t i = 0; i < n; ++i) q[i] = quantize<To>(val(i), p);
  } else {
    for (int64_t i = 0; i < n; ++i) f[i] = val(i);
  }
}

// Equal sizes (stride 1 on both) are the hot case: one baseline + AVX2 clone per dtype combination.
#define ORTKIT_QDQ_ADD_FLAT(NAME, TA, TB, TO)                                                          \
  ORTKIT_OPS_CLONES_512 void NAME(const TA* a, const TB* b, int64_t n, const Params& p, TO* q, float* f) { \
    flat_rows<TA, TB, TO>(a, 1, b, 1, n, p, q, f);                                                     \
  }                                                                                                    \
  inline void flat_same(const TA* a, const TB* b, int64_t n, const Params& p, TO* q, float* f) {       \
    NAME(a, b, n, p, q, f);                                                                            \
  }
ORTKIT_QDQ_ADD_FLAT(flat_u8_u8_u8, uint8_t, uint8_t, uint8_t)
ORTKIT_QDQ_ADD_FLAT(flat_u8_u8_s8, uint8_t, uint8_t, int8_t)
ORTKIT_QDQ_ADD_FLAT(flat_u8_s8_u8, uint8_t, int8_t, uint8_t)
ORTKIT_QDQ_ADD_FLAT(flat_u8_s8_s8, uint8_t, int8_t, int8_t)
ORTKIT_QDQ_ADD_FLAT(flat_s8_u8_u8, int8_t, uint8_t, uint8_t)
ORTKIT_QDQ_ADD_FLAT(flat_s8_u8_s8, int8_t, uint8_t, int8_t)
ORTKIT_QDQ_ADD_FLAT(flat_s8_s8_u8, int8_t, int8_t, uint8_t)
ORTKIT_QDQ_ADD_FLAT(flat_s8_s8_s8, int8_t, int8_t, int8_t)
ORTKIT_QDQ_ADD_FLAT(flat_u8_f_u8, uint8_t, float, uint8_t)
ORTKIT_QDQ_ADD_FLAT(flat_u8_f_s8, uint8_t, float, int8_t)
ORTKIT_QDQ_ADD_FLAT(flat_s8_f_u8, int8_t, float, uint8_t)
ORTKIT_QDQ_ADD_FLAT(flat_s8_f_s8, int8_t, float, int8_t)
#undef ORTKIT_QDQ_ADD_FLAT

class QdqAdd : public OpKernel {
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::u8, DType::i8});
    ctx.require_dtype(2, {ctx.input(0).dtype});
    ctx.require_dtype(1, {DType::f32});
    ctx.require_dtype(3, {DType::u8, DType::i8, DType::f32});
    b_float_ = ctx.input(3).dtype == DType::f32;
    if (b_float_ == (ctx.has_input(4) || ctx.has_input(5)))
      ctx.fail("QdqAdd: b_scale and b_zero_point go with an int8 b only (both present)");
    if (!b_float_) {
      if (!ctx.has_input(4) || !ctx.has_input(5)) ctx.fail("QdqAdd: int8 b needs b_scale and b_zero_point");
      ctx.require_dtype(4, {DType::f32});
      ctx.require_dtype(5, {ctx.input(3).dtype});
    }
    for (size_t i : {1, 2, 4, 5, 6, 7})
      if (ctx.has_input(i) && shape_numel(ctx.input(i).shape) != 1)
        ctx.unsupported("QdqAdd scales and zero points must be per tensor");
    has_q_ = ctx.attr().get_int("quantized_output", 1) != 0;
    has_f_ = ctx.attr().get_int("float_output", 0) != 0;
    if (!has_q_ && !has_f_) ctx.fail("QdqAdd without outputs");
    if (has_q_) {
      if (!ctx.has_input(6)) ctx.fail("QdqAdd: the quantized output needs y_scale");
      ctx.require_dtype(6, {DType::f32});
      if (ctx.has_input(7)) ctx.require_dtype(7, {DType::u8, DType::i8});
    }
    const std::string act = ctx.attr().get_string("activation", "");
    if (act != "" && act != "none" && act != "relu") ctx.fail("QdqAdd: unknown activation '" + act + "'");
    relu_ = act == "relu";
    out_type_ = ctx.has_input(7) ? ctx.input(7).dtype : DType::u8;
    const Shape s = broadcast_shapes(ctx.input(0).shape, ctx.input(3).shape, ctx.node->describe());
    size_t o = 0;
    if (has_q_) ctx.set_output(o++, out_type_, s);
    if (has_f_) ctx.set_output(o, DType::f32, s);
  }

  /// Q: write y_q; F: write v.
  template <class Ta, class Tb, class To, bool Q, bool F>
  void add(RunContext& ctx, const Params& p) const {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(3);
    Tensor& out0 = ctx.output(0);
    const int64_t n = out0.numel();
    if (n == 0) return;
    const Ta* pa = a.data_as<Ta>();
    const Tb* pb = b.data_as<Tb>();
    To* pq = Q ? out0.data_as<To>() : nullptr;
    float* pf = F ? ctx.output(Q ? 1 : 0).data_as<float>() : nullptr;
    const int64_t na = a.numel(), nb = b.numel();
    if (na == n && nb == n) {
      parallel_range(ctx.threading, n, 16384, [&](int64_t s, int64_t e) {
        flat_same(pa + s, pb + s, e - s, p, Q ? pq + s : nullptr, F ? pf + s : nullptr);
      });
      return;
    }
    if ((na == n || na == 1) && (nb == n || nb == 1)) {  // a scalar operand: stride 0
      const int64_t ia = na == n ? 1 : 0, ib = nb == n ? 1 : 0;
      parallel_range(ctx.threading, n, 16384, [&](int64_t s, int64_t e) {
        flat_rows<Ta, Tb, To>(pa + s * ia, ia, pb + s * ib, ib, e - s, p, Q ? pq + s : nullptr,
                              F ? pf + s : nullptr);
      });
      return;
    }
    BroadcastIndex bi;
    if (!make_broadcast_index(a.shape().data(), static_cast<int>(a.rank()), b.shape().data(),
                              static_cast<int>(b.rank()), bi))
      ctx.fail("QdqAdd: cannot broadcast " + shape_str(a.shape()) + " with " + shape_str(b.shape()));
    parallel_range(ctx.threading, n, 16384, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) {
        int64_t oa, ob;
        bi.offsets(i, oa, ob);
        const float fa = static_cast<float>(int32_t{pa[oa]} - p.za) * p.sa;
        const float v = std::max(fa + deq_b(pb[ob], p), p.lo);
        if constexpr (F) pf[i] = v;
        if constexpr (Q) pq[i] = quantize<To>(v, p);
      }
    });
  }

  template <class Ta, class Tb>
  void add_out(RunContext& ctx, const Params& p) const {
    if (!has_q_)
      add<Ta, Tb, uint8_t, false, true>(ctx, p);
    else if (out_type_ == DType::u8)
      has_f_ ? add<Ta, Tb, uint8_t, true, true>(ctx, p) : add<Ta, Tb, uint8_t, true, false>(ctx, p);
    else
      has_f_ ? add<Ta, Tb, int8_t, true, true>(ctx, p) : add<Ta, Tb, int8_t, true, false>(ctx, p);
  }

  template <class Ta>
  void add_b(RunContext& ctx, const Params& p) const {
    switch (ctx.input(3).dtype()) {
      case DType::u8: add_out<Ta, uint8_t>(ctx, p); break;
      case DType::i8: add_out<Ta, int8_t>(ctx, p); break;
      default: add_out<Ta, float>(ctx, p); break;
    }
  }

  void run(RunContext& ctx) override {
    Params p{};
    p.sa = ctx.input(1).data_as<float>()[0];
    p.za = quant::int_at(ctx.input(2), 0);
    if (!b_float_) {
      p.sb = ctx.input(4).data_as<float>()[0];
      p.zb = quant::int_at(ctx.input(5), 0);
    }
    if (has_q_) {
      p.sy = ctx.input(6).data_as<float>()[0];
      if (p.sy == 0.f) ctx.fail("y_scale is 0");
      p.zy = static_cast<float>(ctx.has_input(7) ? quant::int_at(ctx.input(7), 0) : 0);
    }
    p.lo = relu_ ? 0.f : -std::numeric_limits<float>::infinity();
    if (ctx.input(0).dtype() == DType::u8)
      add_b<uint8_t>(ctx, p);
    else
      add_b<int8_t>(ctx, p);
  }

  bool relu_ = false, b_float_ = false, has_q_ = true, has_f_ = false;
  DType out_type_ = DType::u8;
};

}  // namespace

void register_quant_qdq_add_ops(OpRegistry& r) {
  r.add(kOrtkitDomain, "QdqAdd", 1, kAnyOpset, [] { return std::make_unique<QdqAdd>(); });
}

}  // namespace ortkit::ops
