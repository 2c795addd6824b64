// GEMM-backed operators: MatMul (numpy semantics, batched), Gemm, ortkit.FusedMatMul (MatMul + bias +
// activation, made by the optimizer) and com.microsoft.FusedMatMul (ONNX Runtime's: alpha * op(A) @ op(B)
// with op a transpose of the last two dims, from its MatMul + Transpose + Mul fusions). A constant B is
// packed once (first compile); a non-constant B (attention's K^T and V) is read in place where that is
// faster (b_in_place), else packed per run into PackedB buffers that keep their capacity, so a
// steady-state run does not allocate.
#include <algorithm>
#include <cstring>

#include "ops/broadcast.h"
#include "ops/registry.h"
#include "ortkit/kernels/epilogue.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::ops {
namespace {

using kernels::Act;
using kernels::BDesc;
using kernels::Epilogue;
using kernels::PackedB;

Act parse_act(const std::string& s, const std::string& where) {
  Act a;
  if (!kernels::act_from_name(s, a)) throw Error("unknown activation '" + s + "'", where);
  return a;
}

/// MatMul and FusedMatMul: Y = act(A @ op(B) + bias), numpy matmul broadcasting over batch dims (ours takes
/// transB, which a Gemm it replaced had). `ms`: ORT's
/// com.microsoft.FusedMatMul, Y = alpha * op(A) @ op(B) (transA / transB; transBatch* unsupported).
class MatMul : public OpKernel {
 public:
  explicit MatMul(bool fused, bool ms = false) : fused_(fused), ms_(ms) {}

  void compile(CompileContext& ctx) override {
    // Plain ONNX MatMul also takes f64, through a reference loop instead of the packed f32 GEMM.
    f64_ = !fused_ && !ms_ && ctx.input(0).dtype == DType::f64;
    ctx.require_dtype(0, {f64_ ? DType::f64 : DType::f32});
    ctx.require_dtype(1, {f64_ ? DType::f64 : DType::f32});
    const std::string where = ctx.node->describe();
    Shape a = ctx.input(0).shape, b = ctx.input(1).shape;
    if (a.empty() || b.empty()) ctx.fail("MatMul inputs must have rank >= 1");
    ta_ = tb_ = false;
    alpha_ = 1.f;
    if (ms_) {
      if (ctx.attr().get_int("transBatchA", 0) || ctx.attr().get_int("transBatchB", 0))
        ctx.unsupported("transBatchA / transBatchB");
      ta_ = ctx.attr().get_int("transA", 0) != 0 && a.size() >= 2;
      tb_ = ctx.attr().get_int("transB", 0) != 0 && b.size() >= 2;
      alpha_ = ctx.attr().get_float("alpha", 1.f);
      if (ta_) std::swap(a[a.size() - 1], a[a.size() - 2]);
      if (tb_) std::swap(b[b.size() - 1], b[b.size() - 2]);
      // op(A) is materialized for the GEMM, which reads A row-major.
      ctx.scratch_bytes = ta_ ? sizeof(float) * static_cast<size_t>(shape_numel(a)) : 0;
    } else if (fused_) {
      // Ours keeps an ONNX Gemm's transB when it takes the Gemm's place (passes/gelu_fusion.cpp).
      tb_ = ctx.attr().get_int("transB", 0) != 0 && b.size() >= 2;
      if (tb_) std::swap(b[b.size() - 1], b[b.size() - 2]);
    }
    const bool a1 = a.size() == 1, b1 = b.size() == 1;
    if (a1) a.insert(a.begin(), 1);
    if (b1) b.push_back(1);
    const int64_t k = a.back(), kb = b[b.size() - 2];
    if (k != kb)
      ctx.fail("inner dimensions differ: " + shape_str(ctx.input(0).shape) + " @ " +
               shape_str(ctx.input(1).shape));
    Shape ba(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
    Shape out = broadcast_shapes(ba, bb, where);
    if (!a1) out.push_back(a[a.size() - 2]);
    if (!b1) out.push_back(b.back());
    ctx.set_output(0, f64_ ? DType::f64 : DType::f32, out);
    if (f64_) return;

    ep_ = {};
    if (fused_) {
      ep_.act = parse_act(ctx.attr().get_string("activation", ""), where);
      ep_.clip_lo = ctx.attr().get_float("clip_min", -3.4e38f);
      ep_.clip_hi = ctx.attr().get_float("clip_max", 3.4e38f);
      if (ctx.has_input(2)) {
        const InputDesc& bias = ctx.input(2);
        if (bias.dtype != DType::f32 || shape_numel(bias.shape) != b.back())
          ctx.fail("bias must be float32 with " + std::to_string(b.back()) + " values");
      }
    }
    kind_ = ctx.float_gemm_kind();
    // Constant B: pack each batch matrix once (if prepack() did not already).
    // use_const_ is per plan: an overridable initializer given at run is not constant in that plan.
    use_const_ = ctx.input(1).constant != nullptr;
    if (use_const_ && packed_const_.empty()) pack_const(*ctx.input(1).constant);
  }

  void prepack(const PrepackContext& ctx) override {
    kind_ = ctx.float_gemm_kind();
    if (ctx.constants.size() > 1 && ctx.constants[1] && ctx.constants[1]->dtype() == DType::f32 &&
        ctx.constants[1]->rank() >= 2) {
      tb_ = (ms_ || fused_) && ctx.attrs->get_int("transB", 0) != 0;
      pack_const(*ctx.constants[1]);
    }
  }

  void run(RunContext& ctx) override {
    // No allocation here: shapes are read in place, batch broadcasting uses fixed-size arrays.
    if (f64_) return run_f64(ctx);
    const Tensor &ta = ctx.input(0), &tb = ctx.input(1);
    Tensor& ty = ctx.output(0);
    const Shape &as = ta.shape(), &bs = tb.shape();  // no copies: a steady-state run does not allocate
    const int ra = static_cast<int>(as.size()), rb = static_cast<int>(bs.size());
    // op(A) [M, K] and op(B) [K, N]: with transA / transB the stored matrices are [K, M] and [N, K].
    const int64_t m = ra == 1 ? 1 : as[ra - (ta_ ? 1 : 2)], k = as[ra - (ta_ ? 2 : 1)];
    const int64_t n = rb == 1 ? 1 : bs[rb - (tb_ ? 2 : 1)];
    const int bra = std::max(ra - 2, 0), brb = std::max(rb - 2, 0);  // batch ranks
    Epilogue ep = ep_;
    if (fused_ && ctx.has_input(2)) ep.bias = ctx.input(2).data_as<float>();
    float* y = ty.data_as<float>();
    const float* pa = ta.data_as<float>();
    const float* pb = tb.data_as<float>();
    if (ty.numel() == 0) return;
    if (ta_) {  // op(A): each [K, M] matrix transposed into scratch as [M, K]
      float* t = static_cast<float*>(ctx.scratch);
      const int64_t mats = ta.numel() / (m * k);
      for (int64_t i = 0; i < mats; ++i)
        for (int64_t r = 0; r < k; ++r)
          for (int64_t c = 0; c < m; ++c) t[i * m * k + c * k + r] = pa[i * m * k + r * m + c];
      pa = t;
    }
    if (k == 0) {  // empty reduction: act(bias) or zeros
      for (int64_t i = 0; i < ty.numel(); ++i)
        y[i] = kernels::apply_act(ep.bias ? ep.bias[i % n] : 0.f, ep.act, ep.clip_lo, ep.clip_hi);
      return;
    }
    int64_t nb = 1, na = 1;
    for (int d = 0; d < brb; ++d) nb *= bs[d];
    for (int d = 0; d < bra; ++d) na *= as[d];
    const bool b_const = use_const_ && !packed_const_.empty();
    // B is one matrix: fold every batch of A into M, one GEMM.
    if (nb == 1) {
      const PackedB* pk = b_const ? &packed_const_[0] : &pack_dynamic(0, pb, na * m, k, n);
      kernels::gemm_f32(na * m, pa, k, *pk, y, n, ep, ctx.threading);
      scale_output(ctx, ty);
      return;
    }
    BroadcastIndex bi;
    if (!make_broadcast_index(as.data(), bra, bs.data(), brb, bi))
      ctx.fail("batch dimensions do not broadcast or rank above 10");
    int64_t nbatch = 1;
    for (int d = 0; d < bi.rank; ++d) nbatch *= bi.out[d];
    if (!b_const) {
      if (dyn_.size() < static_cast<size_t>(nb)) dyn_.resize(static_cast<size_t>(nb));
      const kernels::GemmKind kind = kind_;
      const bool tb = tb_;
      bool viewed = view_dynamic(0, pb, m, k, n);
      for (int64_t i = 1; viewed && i < nb; ++i)
        view_dynamic(static_cast<size_t>(i), pb + i * k * n, m, k, n);
      if (!viewed)
        parallel_for(ctx.threading, nb, [&](int64_t i) {
          kernels::pack_b(dyn_[i], kind, BDesc{pb + i * k * n, k, n, tb ? k : n, tb});
        });
    }
    const std::vector<PackedB>& packs = b_const ? packed_const_ : dyn_;
    // bi's strides count batch matrices; scale to elements.
    auto one = [&](int64_t b, const kernels::Threading& th) {
      int64_t oa, ob;
      bi.offsets(b, oa, ob);
      kernels::gemm_f32(m, pa + oa * m * k, k, packs[ob], y + b * m * n, n, ep, th);
    };
    if (nbatch >= ctx.threading.threads) {
      // Enough matrices to feed every thread: one whole GEMM per task, single-threaded inside.
      parallel_for(ctx.threading, nbatch, [&](int64_t b) { one(b, kernels::Threading{}); });
    } else {
      for (int64_t b = 0; b < nbatch; ++b) one(b, ctx.threading);
    }
    scale_output(ctx, ty);
  }

  std::vector<std::string> kernels_used() const override {
    if (f64_) return {};
    const kernels::GemmKernel* kn = kernels::dispatched(kind_);
    return kn ? std::vector<std::string>{kn->name} : std::vector<std::string>{};
  }

 private:
  /// f64 MatMul: a plain i-p-j loop per batch matrix (no packing; f64 models are rare and small).
  void run_f64(RunContext& ctx) const {
    const Tensor &ta = ctx.input(0), &tb = ctx.input(1);
    Tensor& ty = ctx.output(0);
    const Shape &as = ta.shape(), &bs = tb.shape();
    const int ra = static_cast<int>(as.size()), rb = static_cast<int>(bs.size());
    const int64_t m = ra == 1 ? 1 : as[ra - 2], k = as[ra - 1], n = rb == 1 ? 1 : bs[rb - 1];
    if (ty.numel() == 0) return;
    BroadcastIndex bi;
    if (!make_broadcast_index(as.data(), std::max(ra - 2, 0), bs.data(), std::max(rb - 2, 0), bi))
      ctx.fail("batch dimensions do not broadcast or batch rank above 8");
    int64_t nbatch = 1;
    for (int d = 0; d < bi.rank; ++d) nbatch *= bi.out[d];
    const double* pa = ta.data_as<double>();
    const double* pb = tb.data_as<double>();
    double* py = ty.data_as<double>();
    parallel_for(ctx.threading, nbatch, [&](int64_t bt) {
      int64_t oa, ob;
      bi.offsets(bt, oa, ob);
      const double* a = pa + oa * m * k;
      const double* b = pb + ob * k * n;
      double* y = py + bt * m * n;
      for (int64_t i = 0; i < m * n; ++i) y[i] = 0;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t p = 0; p < k; ++p) {
          const double v = a[i * k + p];
          for (int64_t j = 0; j < n; ++j) y[i * n + j] += v * b[p * n + j];
        }
    });
  }

  /// com.microsoft.FusedMatMul's alpha, applied to the product (it has no bias or activation).
  void scale_output(RunContext& ctx, Tensor& y) const {
    if (alpha_ == 1.f) return;
    const float a = alpha_;
    unary_map<float, float>(y, y, ctx.threading, [a](float v) { return v * a; });
  }

  void pack_const(const Tensor& b) {
    Shape s = b.shape();
    if (s.size() == 1) s.push_back(1);
    if (tb_) std::swap(s[s.size() - 1], s[s.size() - 2]);
    const int64_t k = s[s.size() - 2], n = s.back(), nb = shape_numel(Shape(s.begin(), s.end() - 2));
    packed_const_.resize(static_cast<size_t>(nb));
    for (int64_t i = 0; i < nb; ++i)
      kernels::pack_b(packed_const_[i], kind_, BDesc{b.data_as<float>() + i * k * n, k, n, tb_ ? k : n, tb_});
  }

  /// A B computed at run time (attention's K^T and V) for m rows of A: read in place as rows
  /// (view_b_rows, kernels that can) instead of packed, where the packing pass costs more than the panels
  /// save. AVX-512 fp32 kernel, Sapphire Rapids class, 1 thread, 12 heads back to back, packing + product
  /// against in place: 1-32 rows 1.4-2.9x faster in place (B is read once); 64-192 rows 1.0-1.09x; 256-2048
  /// rows 0.93-1.0x (each row tile reads B again, from strided rows). Rows a multiple of 4 KiB apart fall
  /// in few L1 sets (n = 1024: 0.60x at 128 rows), and a large B streams badly as rows (128x768x3072:
  /// 0.54x). bert-base int8 seq 128, 1 thread: its 24 batched MatMuls 5.35 -> 4.17 ms.
  /// Under bf16 fast math (which permits rounding, not requires it) up to 4 rows run the fp32 kernel over
  /// B in place: packing B into bf16 pairs cost more than their product. gpt2 bf16, 1 thread, AMX, its 24
  /// attention MatMuls: 1 row 0.30 -> 0.08 ms, 2 rows 0.30 -> 0.11, 4 rows 0.30 -> 0.21; but 8 rows 0.31
  /// -> 0.56 and 16 rows 0.36 -> 2.4, although 16x16x64 alone ran 1.1x faster in place: between AMX
  /// calls, fp32 kernels of 8 rows and more ran several times slower than alone.
  bool b_in_place(int64_t m, int64_t k, int64_t n) const {
    if (tb_) return false;
    if (kind_ == kernels::GemmKind::bf16) return m <= 4;
    if (kind_ != kernels::GemmKind::f32) return false;
    if (m <= 32) return true;
    const bool aliases = (n * static_cast<int64_t>(sizeof(float))) % 4096 == 0;
    return m <= 192 && !aliases && k * n * static_cast<int64_t>(sizeof(float)) <= (512 << 10);
  }

  /// dyn_[i] as a view of B's rows where b_in_place and the kernel allow: false leaves it to be packed.
  bool view_dynamic(size_t i, const float* b, int64_t m, int64_t k, int64_t n) {
    return b_in_place(m, k, n) && kernels::view_b_rows(dyn_[i], b, k, n, n);
  }

  const PackedB& pack_dynamic(size_t i, const float* b, int64_t m, int64_t k, int64_t n) {
    if (dyn_.size() <= i) dyn_.resize(i + 1);
    if (!view_dynamic(i, b, m, k, n)) kernels::pack_b(dyn_[i], kind_, BDesc{b, k, n, tb_ ? k : n, tb_});
    return dyn_[i];
  }

  bool fused_, ms_;
  bool f64_ = false;
  bool ta_ = false, tb_ = false;
  float alpha_ = 1.f;
  bool use_const_ = false;
  Epilogue ep_;
  kernels::GemmKind kind_ = kernels::GemmKind::f32;
  std::vector<PackedB> packed_const_;
  std::vector<PackedB> dyn_;
};

/// ONNX Gemm: Y = alpha * op(A) @ op(B) + beta * C.
class Gemm : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    ctx.require_dtype(1, {DType::f32});
    read_attrs(ctx.attr());
    const Shape &a = ctx.input(0).shape, &b = ctx.input(1).shape;
    if (a.size() != 2 || b.size() != 2) ctx.fail("Gemm inputs must be 2-D");
    const int64_t m = ta_ ? a[1] : a[0], k = ta_ ? a[0] : a[1];
    const int64_t kb = tb_ ? b[1] : b[0], n = tb_ ? b[0] : b[1];
    if (k != kb) ctx.fail("inner dimensions differ: " + shape_str(a) + " and " + shape_str(b));
    if (ctx.has_input(2)) broadcast_shapes(ctx.input(2).shape, {m, n}, ctx.node->describe());
    ctx.set_output(0, DType::f32, {m, n});
    ctx.scratch_bytes = ta_ ? static_cast<size_t>(m * k) * sizeof(float) : 0;
    kind_ = ctx.float_gemm_kind();
    const Tensor* cb = ctx.input(1).constant;
    use_const_ = cb != nullptr;  // per plan (see MatMul)
    if (cb && packed_const_.empty()) pack(packed_const_, cb->data_as<float>(), k, n);
  }

  void prepack(const PrepackContext& ctx) override {
    kind_ = ctx.float_gemm_kind();
    read_attrs(*ctx.attrs);
    const Tensor* b = ctx.constants.size() > 1 ? ctx.constants[1] : nullptr;
    if (!b || b->dtype() != DType::f32 || b->rank() != 2) return;
    pack(packed_const_, b->data_as<float>(), tb_ ? b->shape()[1] : b->shape()[0],
         tb_ ? b->shape()[0] : b->shape()[1]);
  }

  void run(RunContext& ctx) override {
    const Tensor &ta = ctx.input(0), &tb = ctx.input(1);
    Tensor& ty = ctx.output(0);
    const int64_t m = ty.shape()[0], n = ty.shape()[1];
    const int64_t k = ta_ ? ta.shape()[0] : ta.shape()[1];
    float* y = ty.data_as<float>();
    if (ty.numel() == 0) return;
    const float* a = ta.data_as<float>();
    if (ta_ && k > 0) {  // transpose A into scratch
      float* t = static_cast<float*>(ctx.scratch);
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < m; ++j) t[j * k + i] = a[i * m + j];
      a = t;
    }
    const PackedB* pk = &packed_const_;
    if (!use_const_ || packed_const_.empty()) {
      pack(dyn_, tb.data_as<float>(), k, n);
      pk = &dyn_;
    }
    Epilogue ep;
    const bool has_c = ctx.has_input(2) && beta_ != 0.f;
    if (has_c) {
      const Tensor& c = ctx.input(2);
      if (beta_ == 1.f && c.numel() == n && (c.rank() == 1 || c.shape()[c.rank() - 1] == n)) {
        ep.bias = c.data_as<float>();
      } else {  // general broadcast of C: write beta*C first, then accumulate
        const std::vector<int64_t> sc = broadcast_strides(c.shape(), ty.shape());
        const float* pc = c.data_as<float>();
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) y[i * n + j] = beta_ * pc[i * sc[0] + j * sc[1]];
        ep.accumulate = true;
      }
    }
    if (k == 0) {
      if (!has_c)
        std::fill(y, y + m * n, 0.f);
      else if (ep.bias)
        for (int64_t i = 0; i < m; ++i) std::copy_n(ep.bias, n, y + i * n);
      return;
    }
    kernels::gemm_f32(m, a, k, *pk, y, n, ep, ctx.threading);
  }

  std::vector<std::string> kernels_used() const override {
    const kernels::GemmKernel* kn = kernels::dispatched(kind_);
    return kn ? std::vector<std::string>{kn->name} : std::vector<std::string>{};
  }

 private:
  void read_attrs(const Attrs& a) {
    alpha_ = a.get_float("alpha", 1.f);
    beta_ = a.get_float("beta", 1.f);
    ta_ = a.get_int("transA", 0) != 0;
    tb_ = a.get_int("transB", 0) != 0;
  }

  // alpha is folded into the packed B (scaled copy), so the GEMM itself stays a plain product.
  void pack(PackedB& out, const float* b, int64_t k, int64_t n) {
    if (alpha_ == 1.f) {
      kernels::pack_b(out, kind_, BDesc{b, k, n, tb_ ? k : n, tb_});
      return;
    }
    scaled_.resize(static_cast<size_t>(k * n));
    for (int64_t i = 0; i < k * n; ++i) scaled_[i] = alpha_ * b[i];
    kernels::pack_b(out, kind_, BDesc{scaled_.data(), k, n, tb_ ? k : n, tb_});
  }

  float alpha_ = 1.f, beta_ = 1.f;
  bool ta_ = false, tb_ = false, use_const_ = false;
  kernels::GemmKind kind_ = kernels::GemmKind::f32;
  PackedB packed_const_, dyn_;
  std::vector<float> scaled_;
};

}  // namespace

void register_matmul_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "MatMul", 1, kAnyOpset, [] { return std::make_unique<MatMul>(false); });
  r.add(kOrtkitDomain, "FusedMatMul", 1, kAnyOpset, [] { return std::make_unique<MatMul>(true); });
  r.add(kMsDomain, "FusedMatMul", 1, kAnyOpset, [] { return std::make_unique<MatMul>(false, true); });
  r.add(kOnnxDomain, "Gemm", 1, kAnyOpset, [] { return std::make_unique<Gemm>(); });
}

}  // namespace ortkit::ops
