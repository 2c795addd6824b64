// Integer matrix products on ortkit's int8 GEMM kernels:
//   MatMulInteger (10)    int32 Y = (A - a_zp) @ (B - b_zp); u8/s8 A and B, scalar or per-column b_zp.
//   QLinearMatMul (10)    u8/s8 Y = requantize((A - a_zp) @ (B - b_zp) * a_s * b_s / y_s) + y_zp.
//   ortkit.DynQuantMatMul the fused DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul [-> Add] chain
//                         of quantize_dynamic models: Y = a_s * b_s * (A_q - a_zp) @ (B - b_zp) + bias,
//                         A quantized inside the GEMM's packing (kernels::gemm_f32_dynamic_u8).
//   ortkit.QdqMatMul      the fused QDQ chain DQ(Q(X)) @ DQ(W) [+ bias]: X quantized with the static
//                         (a_s, a_zp) into scratch, then kernels::gemm_int8 with fp32 output.
//   Both fused ops also take FusedMatMul's activation attributes (set by the GELU fusion).
//   com.microsoft.DynamicQuantizeMatMul  ONNX Runtime's own name for DynQuantMatMul (same inputs), found in
//                         models saved from ORT at its extended optimization level.
//   com.microsoft.MatMulIntegerToFloat(A u8/s8, B u8/s8, a_scale, b_scale, a_zp?, b_zp?, bias?): Y =
//                         a_s * b_s * (A - a_zp) @ (B - b_zp) + bias, one int8 GEMM with fp32 output.
// A is [..., M, K]; B is [K, N] (any batch of A folds into M) or batched like A. A constant B is packed
// once (kernels::pack_b_int8, u8 B re-centred by the packer); a non-constant B is packed per run into
// PackedB buffers that keep their capacity.
#include <algorithm>
#include <cstring>

#include "ops/broadcast.h"
#include "ops/quant_common.h"
#include "ops/registry.h"
#include "ortkit/kernels/epilogue.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::ops {
namespace {

using kernels::BDesc;
using kernels::PackedB;

/// Shapes of an int8 matmul: Y[batch..., M, N]; B 2-D or with batch dims (broadcast like MatMul).
struct MatShapes {
  int64_t m = 0, k = 0, n = 0;
  Shape out;
};

MatShapes matmul_shapes(const CompileContext& ctx, size_t ia, size_t ib) {
  Shape a = ctx.input(ia).shape, b = ctx.input(ib).shape;
  if (a.size() < 2 || b.size() < 2) ctx.unsupported("int8 matmul inputs of rank < 2");
  MatShapes s;
  s.m = a[a.size() - 2];
  s.k = a.back();
  s.n = b.back();
  if (b[b.size() - 2] != s.k) ctx.fail("inner dimensions differ: " + shape_str(a) + " @ " + shape_str(b));
  s.out =
      broadcast_shapes(Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2), ctx.node->describe());
  s.out.push_back(s.m);
  s.out.push_back(s.n);
  return s;
}

/// The per-tensor zero point of input slot i (absent: 0); per-row/other shapes are unsupported.
void require_per_tensor(const CompileContext& ctx, size_t i, const char* what) {
  if (ctx.has_input(i) && shape_numel(ctx.input(i).shape) != 1)
    ctx.unsupported(std::string(what) + " must be per tensor (got " + shape_str(ctx.input(i).shape) + ")");
}

void require_per_column(const CompileContext& ctx, size_t i, int64_t n, const char* what) {
  if (!ctx.has_input(i)) return;
  const int64_t c = shape_numel(ctx.input(i).shape);
  if (c != 1 && !(c == n && ctx.input(i).shape.size() == 1))
    ctx.unsupported(std::string(what) + " must be a scalar or per column (got " +
                    shape_str(ctx.input(i).shape) + ")");
}

int32_t scalar_int(const Tensor* t) {
  return t ? quant::int_at(*t, 0) : 0;
}

/// Runs Y(int32 per batch) = (A - a_zp) @ (B - b_zp) with B packed once (constant) or per run.
/// Shared by MatMulInteger and QLinearMatMul: B is packed with unit scales and its zero points.
class IntMatMulCore {
 public:
  /// compile(): validate dtypes/shapes; returns the shapes. Slots: a, b, b_zero_point.
  MatShapes compile(CompileContext& ctx, size_t ia, size_t ib, size_t ibzp) {
    ctx.require_dtype(ia, {DType::u8, DType::i8});
    ctx.require_dtype(ib, {DType::u8, DType::i8});
    MatShapes s = matmul_shapes(ctx, ia, ib);
    require_per_column(ctx, ibzp, s.n, "b_zero_point");
    kind_ = quant::int8_kind(ctx.input(ia).dtype);
    b_unsigned_ = ctx.input(ib).dtype == DType::u8;
    const bool zp_const = !ctx.has_input(ibzp) || ctx.input(ibzp).constant;
    use_const_ = ctx.input(ib).constant && zp_const;
    if (use_const_ && packed_const_.empty())
      pack_all(packed_const_, *ctx.input(ib).constant,
               ctx.has_input(ibzp) ? ctx.input(ibzp).constant : nullptr);
    return s;
  }

  /// c32 gets the int32 products (batch-major [..., M, N]).
  void run(RunContext& ctx, size_t ia, size_t ib, size_t iazp, size_t ibzp, int32_t* c32) {
    const Tensor &ta = ctx.input(ia), &tb = ctx.input(ib);
    const Shape &as = ta.shape(), &bs = tb.shape();
    const int ra = static_cast<int>(as.size()), rb = static_cast<int>(bs.size());
    const int64_t m = as[ra - 2], k = as[ra - 1], n = bs[rb - 1];
    kernels::QuantA qa;
    qa.zero_point = scalar_int(ctx.has_input(iazp) ? &ctx.input(iazp) : nullptr);
    const uint8_t* pa = static_cast<const uint8_t*>(ta.data());
    int64_t na = 1, nb = 1;
    for (int d = 0; d < ra - 2; ++d) na *= as[d];
    for (int d = 0; d < rb - 2; ++d) nb *= bs[d];
    if (na * m * n == 0) return;
    if (k == 0) {
      std::fill(c32, c32 + ctx.output(0).numel(), 0);
      return;
    }
    if (!use_const_ || packed_const_.empty())
      pack_all(dyn_, tb, ctx.has_input(ibzp) ? &ctx.input(ibzp) : nullptr);
    const std::vector<PackedB>& packs = use_const_ && !packed_const_.empty() ? packed_const_ : dyn_;
    if (nb == 1) {  // every batch of A folds into M
      kernels::gemm_int8(na * m, pa, k, qa, packs[0], nullptr, 0, c32, n, {}, {}, ctx.threading);
      return;
    }
    BroadcastIndex bi;
    if (!make_broadcast_index(as.data(), ra - 2, bs.data(), rb - 2, bi))
      ctx.fail("batch dimensions do not broadcast or rank above the limit");
    int64_t nbatch = 1;
    for (int d = 0; d < bi.rank; ++d) nbatch *= bi.out[d];
    for (int64_t b = 0; b < nbatch; ++b) {
      int64_t oa, ob;
      bi.offsets(b, oa, ob);
      kernels::gemm_int8(m, pa + oa * m * k, k, qa, packs[ob], nullptr, 0, c32 + b * m * n, n, {}, {},
                         ctx.threading);
    }
  }

  std::vector<std::string> kernels_used() const {
    const kernels::GemmKernel* kn = kernels::dispatched(kind_);
    return kn ? std::vector<std::string>{kn->name} : std::vector<std::string>{};
  }

 private:
  void pack_all(std::vector<PackedB>& out, const Tensor& b, const Tensor* zp) {
    const Shape& s = b.shape();
    const int64_t k = s[s.size() - 2], n = s.back(), nb = b.numel() / std::max<int64_t>(1, k * n);
    if (out.size() < static_cast<size_t>(nb)) out.resize(static_cast<size_t>(nb));
    quant::read_zero_points(zp, zps_);
    const float one = 1.f;
    const char* base = static_cast<const char*>(b.data());
    for (int64_t i = 0; i < nb; ++i)
      kernels::pack_b_int8(out[i], kind_, BDesc{base + i * k * n, k, n, n, false}, b_unsigned_, &one, 1,
                           zps_.data(), static_cast<int64_t>(zps_.size()));
  }

  kernels::GemmKind kind_ = kernels::GemmKind::u8s8;
  bool b_unsigned_ = false, use_const_ = false;
  std::vector<PackedB> packed_const_, dyn_;
  std::vector<int32_t> zps_;
};

/// MatMulInteger(A, B, a_zero_point?, b_zero_point?) -> int32.
class MatMulInteger : public OpKernel {
  void compile(CompileContext& ctx) override {
    if (ctx.has_input(2)) ctx.require_dtype(2, {ctx.input(0).dtype});
    if (ctx.has_input(3)) ctx.require_dtype(3, {ctx.input(1).dtype});
    require_per_tensor(ctx, 2, "a_zero_point");
    const MatShapes s = core_.compile(ctx, 0, 1, 3);
    ctx.set_output(0, DType::i32, s.out);
  }
  void run(RunContext& ctx) override { core_.run(ctx, 0, 1, 2, 3, ctx.output(0).data_as<int32_t>()); }
  std::vector<std::string> kernels_used() const override { return core_.kernels_used(); }
  IntMatMulCore core_;
};

/// QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp): int32 products in scratch, then
/// requantized per column with the float multiplier a_s * b_s[n] / y_s (ONNX Runtime's rule).
class QLinearMatMul : public OpKernel {
  void compile(CompileContext& ctx) override {
    for (size_t i : {1, 4, 6}) ctx.require_dtype(i, {DType::f32});
    ctx.require_dtype(2, {ctx.input(0).dtype});
    ctx.require_dtype(5, {ctx.input(3).dtype});
    ctx.require_dtype(7, {DType::u8, DType::i8});
    require_per_tensor(ctx, 1, "a_scale");
    require_per_tensor(ctx, 2, "a_zero_point");
    require_per_tensor(ctx, 6, "y_scale");
    require_per_tensor(ctx, 7, "y_zero_point");
    const MatShapes s = core_.compile(ctx, 0, 3, 5);
    require_per_column(ctx, 4, s.n, "b_scale");
    ctx.set_output(0, ctx.input(7).dtype, s.out);
    ctx.scratch_bytes = static_cast<size_t>(shape_numel(s.out)) * sizeof(int32_t);
  }
  void run(RunContext& ctx) override {
    int32_t* acc = static_cast<int32_t*>(ctx.scratch);
    core_.run(ctx, 0, 3, 2, 5, acc);
    Tensor& y = ctx.output(0);
    const int64_t n = y.shape().back(), total = y.numel();
    if (total == 0) return;
    const float sa = ctx.input(1).data_as<float>()[0], sy = ctx.input(6).data_as<float>()[0];
    const Tensor& tbs = ctx.input(4);
    const float* sb = tbs.data_as<float>();
    const bool per_col = tbs.numel() > 1;
    const int32_t zy = quant::int_at(ctx.input(7), 0);
    const DType out = y.dtype();
    void* py = y.data();
    parallel_range(ctx.threading, total / n, std::max<int64_t>(1, 16384 / n), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = 0; c < n; ++c) {
          const float mult = sa * sb[per_col ? c : 0] / sy;
          quant::store_q(out, py, r * n + c, static_cast<float>(acc[r * n + c]) * mult, zy);
        }
    });
  }
  std::vector<std::string> kernels_used() const override { return core_.kernels_used(); }
  IntMatMulCore core_;
};

/// Packing of the fused ops' int8 weights with their scales (dequantization in the epilogue): constant
/// ones once at compile, others per run into a reused buffer. B is 2-D (checked at compile), b_scale
/// f32 scalar or [N], b_zero_point optional. trans_b: B is stored [N, K].
void pack_scaled(PackedB& out, kernels::GemmKind kind, const Tensor& b, const Tensor& scale, const Tensor* zp,
                 bool trans_b) {
  std::vector<int32_t> zps;
  quant::read_zero_points(zp, zps);
  const int64_t k = b.shape()[trans_b ? 1 : 0], n = b.shape()[trans_b ? 0 : 1];
  kernels::pack_b_int8(out, kind, BDesc{b.data(), k, n, trans_b ? k : n, trans_b}, b.dtype() == DType::u8,
                       scale.data_as<float>(), scale.numel(), zps.data(), static_cast<int64_t>(zps.size()));
}

/// Common compile of the fused ops: A f32 [..., K], B int8 [K, N] (or [N, K] with trans_b), scales, bias.
MatShapes fused_compile(CompileContext& ctx, size_t ib, size_t is, size_t iz, size_t ibias, bool trans_b) {
  ctx.require_dtype(0, {DType::f32});
  ctx.require_dtype(ib, {DType::u8, DType::i8});
  ctx.require_dtype(is, {DType::f32});
  if (ctx.has_input(iz)) ctx.require_dtype(iz, {ctx.input(ib).dtype});
  const Shape& bs = ctx.input(ib).shape;
  if (bs.size() != 2) ctx.unsupported("fused int8 matmul needs a 2-D B");
  const Shape& as = ctx.input(0).shape;
  if (as.empty()) ctx.fail("A must have rank >= 1");
  MatShapes s;
  s.k = as.back();
  s.n = bs[trans_b ? 0 : 1];
  if (bs[trans_b ? 1 : 0] != s.k)
    ctx.fail("inner dimensions differ: " + shape_str(as) + " @ " + shape_str(bs));
  s.out = as;
  s.out.back() = s.n;
  require_per_column(ctx, is, s.n, "b_scale");
  require_per_column(ctx, iz, s.n, "b_zero_point");
  if (ctx.has_input(ibias)) {
    ctx.require_dtype(ibias, {DType::f32});
    if (shape_numel(ctx.input(ibias).shape) != s.n) ctx.fail("bias must have N values");
  }
  return s;
}

/// ortkit.DynQuantMatMul(A f32, B u8/s8, b_scale, b_zero_point?, bias?).
class DynQuantMatMul : public OpKernel {
  void compile(CompileContext& ctx) override {
    const MatShapes s = fused_compile(ctx, 1, 2, 3, 4, false);
    ctx.set_output(0, DType::f32, s.out);
    ep_ = {};
    quant::read_activation(ctx, ep_);
    use_const_ =
        ctx.input(1).constant && ctx.input(2).constant && (!ctx.has_input(3) || ctx.input(3).constant);
    if (use_const_ && packed_.empty())
      pack_scaled(packed_, kernels::GemmKind::u8s8, *ctx.input(1).constant, *ctx.input(2).constant,
                  ctx.has_input(3) ? ctx.input(3).constant : nullptr, false);
  }
  void run(RunContext& ctx) override {
    const Tensor& a = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (y.numel() == 0) return;
    const int64_t k = a.shape().back(), n = y.shape().back(), m = y.numel() / n;
    if (!use_const_ || packed_.empty())  // only for a non-constant B (not made by the optimizer)
      pack_scaled(dyn_, kernels::GemmKind::u8s8, ctx.input(1), ctx.input(2),
                  ctx.has_input(3) ? &ctx.input(3) : nullptr, false);
    const PackedB& pb = use_const_ && !packed_.empty() ? packed_ : dyn_;
    kernels::Epilogue ep = ep_;
    if (ctx.has_input(4)) ep.bias = ctx.input(4).data_as<float>();
    if (k == 0) {
      for (int64_t i = 0; i < y.numel(); ++i)
        y.data_as<float>()[i] =
            kernels::apply_act(ep.bias ? ep.bias[i % n] : 0.f, ep.act, ep.clip_lo, ep.clip_hi);
      return;
    }
    kernels::gemm_f32_dynamic_u8(m, a.data_as<float>(), k, pb, y.data_as<float>(), n, ep, ctx.threading);
  }
  std::vector<std::string> kernels_used() const override {
    const kernels::GemmKernel* kn = kernels::dispatched(kernels::GemmKind::u8s8);
    return kn ? std::vector<std::string>{kn->name} : std::vector<std::string>{};
  }
  bool use_const_ = false;
  kernels::Epilogue ep_;
  PackedB packed_, dyn_;
};

/// com.microsoft.MatMulIntegerToFloat: A is already quantized (per tensor); B's scale / zero point per
/// tensor or per column; the dequantization and bias are the GEMM's epilogue.
class MatMulIntegerToFloat : public OpKernel {
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::u8, DType::i8});
    ctx.require_dtype(1, {DType::u8, DType::i8});
    ctx.require_dtype(2, {DType::f32});
    ctx.require_dtype(3, {DType::f32});
    require_per_tensor(ctx, 2, "a_scale");
    if (ctx.has_input(4)) {
      ctx.require_dtype(4, {ctx.input(0).dtype});
      require_per_tensor(ctx, 4, "a_zero_point");
    }
    const Shape& as = ctx.input(0).shape;
    const Shape& bs = ctx.input(1).shape;
    if (as.empty() || bs.size() != 2)
      ctx.unsupported("MatMulIntegerToFloat needs A of rank >= 1 and a 2-D B");
    if (as.back() != bs[0]) ctx.fail("inner dimensions differ: " + shape_str(as) + " @ " + shape_str(bs));
    const int64_t n = bs[1];
    require_per_column(ctx, 3, n, "b_scale");
    if (ctx.has_input(5)) {
      ctx.require_dtype(5, {ctx.input(1).dtype});
      require_per_column(ctx, 5, n, "b_zero_point");
    }
    if (ctx.has_input(6)) {
      ctx.require_dtype(6, {DType::f32});
      if (shape_numel(ctx.input(6).shape) != n) ctx.fail("bias must have N values");
    }
    Shape out = as;
    out.back() = n;
    ctx.set_output(0, DType::f32, out);
    kind_ = quant::int8_kind(ctx.input(0).dtype);
    use_const_ =
        ctx.input(1).constant && ctx.input(3).constant && (!ctx.has_input(5) || ctx.input(5).constant);
    if (use_const_ && packed_.empty())
      pack_scaled(packed_, kind_, *ctx.input(1).constant, *ctx.input(3).constant,
                  ctx.has_input(5) ? ctx.input(5).constant : nullptr, false);
  }
  void run(RunContext& ctx) override {
    const Tensor& a = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (y.numel() == 0) return;
    const int64_t k = a.shape().back(), n = y.shape().back(), m = y.numel() / n;
    if (!use_const_ || packed_.empty())
      pack_scaled(dyn_, kind_, ctx.input(1), ctx.input(3), ctx.has_input(5) ? &ctx.input(5) : nullptr, false);
    const PackedB& pb = use_const_ && !packed_.empty() ? packed_ : dyn_;
    kernels::Epilogue ep;
    if (ctx.has_input(6)) ep.bias = ctx.input(6).data_as<float>();
    if (k == 0) {
      for (int64_t i = 0; i < y.numel(); ++i) y.data_as<float>()[i] = ep.bias ? ep.bias[i % n] : 0.f;
      return;
    }
    kernels::QuantA qa;
    qa.scale = ctx.input(2).data_as<float>()[0];
    qa.zero_point = ctx.has_input(4) ? quant::int_at(ctx.input(4), 0) : 0;
    kernels::gemm_int8(m, a.data(), k, qa, pb, y.data_as<float>(), n, nullptr, 0, ep, {}, ctx.threading);
  }
  std::vector<std::string> kernels_used() const override {
    const kernels::GemmKernel* kn = kernels::dispatched(kind_);
    return kn ? std::vector<std::string>{kn->name} : std::vector<std::string>{};
  }
  bool use_const_ = false;
  kernels::GemmKind kind_ = kernels::GemmKind::u8s8;
  PackedB packed_, dyn_;
};

/// ortkit.QdqMatMul(X f32, a_scale, a_zero_point, W u8/s8, w_scale, w_zero_point?, bias?), attribute
/// trans_b (W stored [N, K], from Gemm's transB): X is quantized per tensor with the static parameters
/// into scratch (u8 or s8 like a_zero_point), then one int8 GEMM dequantizes into Y with the bias in
/// the epilogue.
class QdqMatMul : public OpKernel {
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(1, {DType::f32});
    ctx.require_dtype(2, {DType::u8, DType::i8});
    require_per_tensor(ctx, 1, "a_scale");
    require_per_tensor(ctx, 2, "a_zero_point");
    trans_b_ = ctx.attr().get_int("trans_b", 0) != 0;
    const MatShapes f = fused_compile(ctx, 3, 4, 5, 6, trans_b_);
    ctx.set_output(0, DType::f32, f.out);
    ep_ = {};
    quant::read_activation(ctx, ep_);
    a_type_ = ctx.input(2).dtype;
    kind_ = quant::int8_kind(a_type_);
    ctx.scratch_bytes = static_cast<size_t>(shape_numel(ctx.input(0).shape));
    use_const_ =
        ctx.input(3).constant && ctx.input(4).constant && (!ctx.has_input(5) || ctx.input(5).constant);
    if (use_const_ && packed_.empty())
      pack_scaled(packed_, kind_, *ctx.input(3).constant, *ctx.input(4).constant,
                  ctx.has_input(5) ? ctx.input(5).constant : nullptr, trans_b_);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (y.numel() == 0) return;
    const int64_t k = x.shape().back(), n = y.shape().back(), m = y.numel() / n;
    if (!use_const_ || packed_.empty())
      pack_scaled(dyn_, kind_, ctx.input(3), ctx.input(4), ctx.has_input(5) ? &ctx.input(5) : nullptr,
                  trans_b_);
    const PackedB& pb = use_const_ && !packed_.empty() ? packed_ : dyn_;
    kernels::QuantA qa;
    qa.scale = ctx.input(1).data_as<float>()[0];
    qa.zero_point = quant::int_at(ctx.input(2), 0);
    kernels::Epilogue ep = ep_;
    if (ctx.has_input(6)) ep.bias = ctx.input(6).data_as<float>();
    if (k == 0) {
      for (int64_t i = 0; i < y.numel(); ++i)
        y.data_as<float>()[i] =
            kernels::apply_act(ep.bias ? ep.bias[i % n] : 0.f, ep.act, ep.clip_lo, ep.clip_hi);
      return;
    }
    const float* px = x.data_as<float>();
    void* q = ctx.scratch;
    const DType t = a_type_;
    const float sa = qa.scale;
    const int32_t za = qa.zero_point;
    parallel_range(ctx.threading, m * k, 16384, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) quant::store_q(t, q, i, px[i] / sa, za);
    });
    kernels::gemm_int8(m, q, k, qa, pb, y.data_as<float>(), n, nullptr, 0, ep, {}, ctx.threading);
  }
  std::vector<std::string> kernels_used() const override {
    const kernels::GemmKernel* kn = kernels::dispatched(kind_);
    return kn ? std::vector<std::string>{kn->name} : std::vector<std::string>{};
  }

 private:
  bool trans_b_ = false;
  kernels::Epilogue ep_;
  DType a_type_ = DType::u8;
  kernels::GemmKind kind_ = kernels::GemmKind::u8s8;
  bool use_const_ = false;
  PackedB packed_, dyn_;
};

}  // namespace

void register_quant_matmul_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "MatMulInteger", 10, kAnyOpset, [] { return std::make_unique<MatMulInteger>(); });
  r.add(kOnnxDomain, "QLinearMatMul", 10, kAnyOpset, [] { return std::make_unique<QLinearMatMul>(); });
  r.add(kOrtkitDomain, "DynQuantMatMul", 1, kAnyOpset, [] { return std::make_unique<DynQuantMatMul>(); });
  r.add(kOrtkitDomain, "QdqMatMul", 1, kAnyOpset, [] { return std::make_unique<QdqMatMul>(); });
  r.add(kMsDomain, "DynamicQuantizeMatMul", 1, kAnyOpset, [] { return std::make_unique<DynQuantMatMul>(); });
  r.add(kMsDomain, "MatMulIntegerToFloat", 1, kAnyOpset,
        [] { return std::make_unique<MatMulIntegerToFloat>(); });
}

}  // namespace ortkit::ops
