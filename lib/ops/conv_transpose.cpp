// ConvTranspose (opset 1+, 1-3 spatial dims): strides, pads, dilations, group, output_padding,
// output_shape and auto_pad, f32.
//
// GEMM formulation (the transpose of Conv's im2col): per image n and group g,
//   col[P_in x Mg*K] = Xg^T[P_in x Cg] * Wg[Cg x Mg*K]
// where P_in = input pixels, Cg = C/group, Mg = M/group output channels, K = kernel size. Wg is the
// group's slice of W [C, M/group, k...] as stored (row-major, no transpose), prepacked once when W is
// constant. Every col row is one input pixel's contribution to a kernel-sized window of the output,
// which col2im scatters (adds) into Y. Chunks of input pixels bound the scratch; overlapping windows
// make scatters of different chunks race, so the parallel units are whole (n, g) slices, or, when there
// are fewer of them than threads, the GEMM runs threaded and the scatter is split over output channels.
#include <algorithm>
#include <array>
#include <cstring>

#include "ops/op_util.h"
#include "ops/registry.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::ops {
namespace {

/// Blocked 2-D transpose: dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols.
inline void transpose_block(const float* src, int64_t lds, float* dst, int64_t ldd, int64_t rows,
                            int64_t cols) {
  constexpr int64_t kB = 16;
  for (int64_t r0 = 0; r0 < rows; r0 += kB)
    for (int64_t c0 = 0; c0 < cols; c0 += kB) {
      const int64_t r1 = std::min(rows, r0 + kB), c1 = std::min(cols, c0 + kB);
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t r = r0; r < r1; ++r) dst[c * ldd + r] = src[r * lds + c];
    }
}

/// Geometry normalised to 3 spatial dims (leading dims of size 1).
struct TGeom {
  int nd = 0;
  std::array<int64_t, 3> in{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1}, pb{0, 0, 0}, out{1, 1, 1};
  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t k_size() const { return k[0] * k[1] * k[2]; }
};

class ConvTransposeOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    ctx.require_dtype(1, {DType::f32});
    const Shape &xs = ctx.input(0).shape, &ws = ctx.input(1).shape;
    if (xs.size() < 3 || ws.size() != xs.size()) ctx.fail("X and W must have the same rank >= 3");
    const int nd = static_cast<int>(xs.size()) - 2;
    if (nd > 3) ctx.unsupported("only 1-3 spatial dims");
    const Attrs& a = ctx.attr();
    group_ = a.get_int("group", 1);
    const int64_t C = xs[1];
    if (group_ < 1 || C % group_ || ws[0] != C)
      ctx.fail("input channels " + std::to_string(C) + " / weights " + shape_str(ws) +
               " do not match group " + std::to_string(group_));
    cg_ = C / group_;
    mg_ = ws[1];
    const int64_t M = mg_ * group_;
    const std::vector<int64_t> kernel(ws.begin() + 2, ws.end());
    if (a.has("kernel_shape") && a.get_ints("kernel_shape") != kernel)
      ctx.fail("kernel_shape does not match the weights");
    const size_t n = static_cast<size_t>(nd);
    const std::vector<int64_t> ones(n, 1), zeros(n, 0);
    const auto strides = a.get_ints("strides", ones), dil = a.get_ints("dilations", ones);
    const auto pads = a.get_ints("pads", std::vector<int64_t>(2 * n, 0));
    const auto opad = a.get_ints("output_padding", zeros);
    std::vector<int64_t> oshape = a.get_ints("output_shape", {});
    if (oshape.size() == n + 2) oshape.erase(oshape.begin(), oshape.begin() + 2);  // given as N, C, ...
    if (strides.size() != n || dil.size() != n || pads.size() != 2 * n || opad.size() != n ||
        (!oshape.empty() && oshape.size() != n))
      ctx.fail("strides/dilations/pads/output_padding/output_shape have the wrong length");
    const std::string ap = a.get_string("auto_pad", "NOTSET");
    if (ap != "NOTSET" && ap != "SAME_UPPER" && ap != "SAME_LOWER" && ap != "VALID" && !ap.empty())
      ctx.fail("unknown auto_pad '" + ap + "'");
    TGeom g;
    g.nd = nd;
    const int off = 3 - nd;
    for (int i = 0; i < nd; ++i) {
      const int j = off + i;
      g.in[j] = xs[2 + i];
      g.k[j] = kernel[i];
      g.s[j] = strides[i];
      g.d[j] = dil[i];
      if (g.k[j] < 1 || g.s[j] < 1 || g.d[j] < 1) ctx.fail("kernel, strides and dilations must be >= 1");
      if (opad[i] < 0) ctx.fail("output_padding must be >= 0");
      // Output extent before padding: every input pixel's window, plus output_padding at the end.
      const int64_t full = g.s[j] * (g.in[j] - 1) + opad[i] + (g.k[j] - 1) * g.d[j] + 1;
      int64_t out = -1;
      if (!oshape.empty())
        out = oshape[i];
      else if (ap == "SAME_UPPER" || ap == "SAME_LOWER")
        out = g.in[j] * g.s[j];
      if (out >= 0) {
        // Padding derived from the requested size (ONNX spec: SAME_UPPER puts the odd one at the end).
        // Floor division: an output larger than the full extent (negative total) grows at the end.
        const int64_t total = full - out;
        const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
        g.pb[j] = ap == "SAME_UPPER" ? half : total - half;
        g.out[j] = out;
      } else {
        const int64_t pb = ap == "VALID" ? 0 : pads[i], pe = ap == "VALID" ? 0 : pads[i + n];
        g.pb[j] = pb;
        g.out[j] = full - pb - pe;
      }
      if (g.out[j] < 0) ctx.fail("pads larger than the output");
    }
    geo_ = g;
    if (ctx.has_input(2)) {
      ctx.require_dtype(2, {DType::f32});
      if (shape_numel(ctx.input(2).shape) != M) ctx.fail("B must have M values");
    }
    Shape out = {xs[0], M};
    for (int i = 3 - nd; i < 3; ++i) out.push_back(g.out[i]);
    ctx.set_output(0, DType::f32, out);

    ncol_ = mg_ * g.k_size();
    kind_ = ctx.float_gemm_kind();
    threads_ = std::max(1, ctx.threading.threads);
    // Input-pixel chunk: about 256 KiB of transposed input + col rows per task, at least 16 rows.
    const int64_t per_row = cg_ + ncol_;
    chunk_ =
        std::clamp<int64_t>(65536 / std::max<int64_t>(per_row, 1), 16, std::max<int64_t>(g.in_size(), 16));
    chunk_ = std::max<int64_t>(1, std::min(chunk_, g.in_size()));
    ctx.scratch_bytes = static_cast<size_t>(threads_ * chunk_ * per_row) * sizeof(float);
    const Tensor* cw = ctx.input(1).constant;
    if (cw && packed_.empty() && cg_ > 0 && ncol_ > 0) {
      pack(cw->data_as<float>());
      const_weights_ = true;
    }
  }

  void run(RunContext& ctx) override {
    const Tensor &tx = ctx.input(0), &tw = ctx.input(1);
    Tensor& ty = ctx.output(0);
    if (ty.numel() == 0) return;
    const float* bias = ctx.has_input(2) ? ctx.input(2).data_as<float>() : nullptr;
    const int64_t N = tx.shape()[0], Pin = geo_.in_size(), Pout = geo_.out_size();
    float* y = ty.data_as<float>();
    const float* x = tx.data_as<float>();
    if (Pin == 0 || cg_ == 0 || ncol_ == 0) {  // nothing to scatter: the output is the bias
      for (int64_t n = 0; n < N; ++n)
        for (int64_t m = 0; m < mg_ * group_; ++m)
          std::fill(y + (n * mg_ * group_ + m) * Pout, y + (n * mg_ * group_ + m + 1) * Pout,
                    bias ? bias[m] : 0.f);
      return;
    }
    if (!const_weights_) pack(tw.data_as<float>());
    float* scratch = static_cast<float*>(ctx.scratch);
    const int64_t slot = chunk_ * (cg_ + ncol_);
    const int64_t slices = N * group_;
    // One (n, g) slice: fill with bias, then GEMM + scatter chunk by chunk.
    auto slice = [&](int64_t ng, float* buf, const kernels::Threading& th) {
      const int64_t g = ng % group_;
      const float* xg = x + ng * cg_ * Pin;
      float* yg = y + ng * mg_ * Pout;
      parallel_for(th, mg_, [&](int64_t m) {
        std::fill(yg + m * Pout, yg + (m + 1) * Pout, bias ? bias[g * mg_ + m] : 0.f);
      });
      float* a = buf;
      float* col = buf + chunk_ * cg_;
      for (int64_t p0 = 0; p0 < Pin; p0 += chunk_) {
        const int64_t rows = std::min(chunk_, Pin - p0);
        transpose_block(xg + p0, Pin, a, cg_, cg_, rows);
        kernels::gemm_f32(rows, a, cg_, packed_[static_cast<size_t>(g)], col, ncol_, {}, th);
        parallel_range(th, mg_, 1, [&](int64_t m0, int64_t m1) {
          for (int64_t m = m0; m < m1; ++m) col2im(col, p0, rows, m, yg + m * Pout);
        });
      }
    };
    run_tasks(ctx.threading, threads_, slices,
              [&](int64_t t, int64_t s, const kernels::Threading& th) { slice(t, scratch + s * slot, th); });
  }

  std::vector<std::string> kernels_used() const override {
    const kernels::GemmKernel* kn = kernels::dispatched(kind_);
    return kn ? std::vector<std::string>{kn->name} : std::vector<std::string>{};
  }

 private:
  void pack(const float* w) {
    // W is [C, Mg, k...]: group g's B[c, j] = W[(g*Cg + c) * Mg*K + j], row-major as stored.
    if (packed_.size() != static_cast<size_t>(group_)) packed_.resize(static_cast<size_t>(group_));
    for (int64_t g = 0; g < group_; ++g)
      kernels::pack_b(packed_[static_cast<size_t>(g)], kind_,
                      kernels::BDesc{w + g * cg_ * ncol_, cg_, ncol_, ncol_, false});
  }

  /// Adds output channel m's columns of col rows (input pixels p0..p0+rows) into its output plane ym.
  void col2im(const float* col, int64_t p0, int64_t rows, int64_t m, float* ym) const {
    const TGeom& g = geo_;
    const int64_t K = g.k_size(), ohw = g.out[1] * g.out[2];
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t p = p0 + r;
      const int64_t id = p / (g.in[1] * g.in[2]), ih = (p / g.in[2]) % g.in[1], iw = p % g.in[2];
      const float* c = col + r * ncol_ + m * K;
      const int64_t d0 = id * g.s[0] - g.pb[0], h0 = ih * g.s[1] - g.pb[1], w0 = iw * g.s[2] - g.pb[2];
      for (int64_t kd = 0; kd < g.k[0]; ++kd) {
        const int64_t od = d0 + kd * g.d[0];
        if (od < 0 || od >= g.out[0]) {
          c += g.k[1] * g.k[2];
          continue;
        }
        for (int64_t kh = 0; kh < g.k[1]; ++kh, c += g.k[2]) {
          const int64_t oh = h0 + kh * g.d[1];
          if (oh < 0 || oh >= g.out[1]) continue;
          float* yr = ym + od * ohw + oh * g.out[2];
          for (int64_t kw = 0; kw < g.k[2]; ++kw) {
            const int64_t ow = w0 + kw * g.d[2];
            if (ow >= 0 && ow < g.out[2]) yr[ow] += c[kw];
          }
        }
      }
    }
  }

  TGeom geo_;
  int64_t group_ = 1, cg_ = 0, mg_ = 0, ncol_ = 0, chunk_ = 1;
  int threads_ = 1;
  bool const_weights_ = false;
  kernels::GemmKind kind_ = kernels::GemmKind::f32;
  std::vector<kernels::PackedB> packed_;
};

}  // namespace

void register_conv_transpose_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "ConvTranspose", 1, kAnyOpset, [] { return std::make_unique<ConvTransposeOp>(); });
}

}  // namespace ortkit::ops
