// ortkit.QdqConv: the fused QDQ Conv of statically quantized CNNs (graph/passes/qdq_conv_fusion.cpp):
//
//   y_q = saturate(round(act(x_s * w_s[co] * sum (x_q - x_zp)(W_q - w_zp[co]) + bias[co]) / y_s) + y_zp)
//
// Inputs: x_q (u8/s8 NCHW), x_s, x_zp (per tensor), W_q (constant u8/s8 [M, C/g, kh, kw]), w_s (1 or M
// values), w_zp? (1 or M), bias? (f32, M), y_s, y_zp? (per tensor; absent: u8 zero point 0). Conv
// attributes plus activation ("relu"/"clip"), clip_min, clip_max.
//
// Layout: per image, x is transposed to NHWC in scratch, so that a 1x1 stride-1 unpadded conv reads its
// GEMM A straight from it (lda = C) and other convs unfold it with one memcpy of C/g bytes per tap
// (A[pixel, (ky, kx, ci)], padding = x_zp, contributing exactly 0). The weights are reordered to the same
// (ky, kx, ci) order and packed once per group with their scales and zero points. One gemm_int8 per image
// and group writes the dequantized fp32 result (bias and activation applied) pixel-major into scratch;
// it is requantized as QuantizeLinear does (x / y_s, round half even, saturate) 64 pixels at a time and
// each chunk transposed back to NCHW while it is still in L1.
#include <algorithm>
#include <cstring>

#include "ops/fast_math.h"
#include "ops/quant_common.h"
#include "ops/quant_conv_geom.h"
#include "ops/registry.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::ops {
namespace {

using kernels::BDesc;
using kernels::PackedB;
using quant::ConvGeom;

size_t align64(size_t n) {
  return (n + 63) / 64 * 64;
}

/// Transposes the 8 x 8 byte block at src (row stride ss) into dst (row stride ds): 64-bit lanes, three
/// rounds of swaps (4x4, 2x2, 1x1 sub-blocks), portable and ~8x faster than byte loads and stores.
inline void transpose8x8(const uint8_t* src, int64_t ss, uint8_t* dst, int64_t ds) {
  uint64_t r[8];
  for (int i = 0; i < 8; ++i) std::memcpy(&r[i], src + i * ss, 8);
  // Little-endian: byte j of r[i] is element (i, j). Swap off-diagonal blocks of 4, 2, 1.
  for (int i = 0; i < 4; ++i) {
    const uint64_t t = ((r[i] >> 32) ^ r[i + 4]) & 0x00000000FFFFFFFFull;
    r[i] ^= t << 32;
    r[i + 4] ^= t;
  }
  for (int i : {0, 1, 4, 5}) {
    const uint64_t t = ((r[i] >> 16) ^ r[i + 2]) & 0x0000FFFF0000FFFFull;
    r[i] ^= t << 16;
    r[i + 2] ^= t;
  }
  for (int i : {0, 2, 4, 6}) {
    const uint64_t t = ((r[i] >> 8) ^ r[i + 1]) & 0x00FF00FF00FF00FFull;
    r[i] ^= t << 8;
    r[i + 1] ^= t;
  }
  for (int i = 0; i < 8; ++i) std::memcpy(dst + i * ds, &r[i], 8);
}

/// dst[c * rows + r] = src[r * cols + c] for bytes, in 8 x 8 blocks (rows split over threads).
void transpose_bytes(const kernels::Threading& th, const uint8_t* src, int64_t rows, int64_t cols,
                     uint8_t* dst) {
  const int64_t rb = rows / 8;
  const auto rows_range = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
  };
  parallel_range(th, rb, std::max<int64_t>(1, 2048 / std::max<int64_t>(1, cols)),
                 [&](int64_t b0, int64_t b1) {
                   for (int64_t b = b0; b < b1; ++b) {
                     const int64_t r = b * 8;
                     int64_t c = 0;
                     for (; c + 8 <= cols; c += 8)
                       transpose8x8(src + r * cols + c, cols, dst + c * rows + r, rows);
                     for (; c < cols; ++c)
                       for (int64_t i = 0; i < 8; ++i) dst[c * rows + r + i] = src[(r + i) * cols + c];
                   }
                 });
  rows_range(rb * 8, rows);
}

/// Rows [r0, r1) of the byte matrix src [rows, cols] transposed into dst [cols, rows]; r0 a multiple of 8.
void transpose_rows(const uint8_t* src, int64_t rows, int64_t cols, int64_t r0, int64_t r1, uint8_t* dst) {
  int64_t r = r0;
  for (; r + 8 <= r1; r += 8) {
    int64_t c = 0;
    for (; c + 8 <= cols; c += 8) transpose8x8(src + r * cols + c, cols, dst + c * rows + r, rows);
    for (; c < cols; ++c)
      for (int64_t i = 0; i < 8; ++i) dst[c * rows + r + i] = src[(r + i) * cols + c];
  }
  for (; r < r1; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
}

// The requantize loop, baseline and AVX2 (8 floats per instruction instead of SSE2's 4).
ORTKIT_OPS_CLONES void requant_u8(const float* x, int64_t n, float s, int32_t z, uint8_t* out) {
  quant::quantize_span(x, n, s, z, out);
}
ORTKIT_OPS_CLONES void requant_s8(const float* x, int64_t n, float s, int32_t z, int8_t* out) {
  quant::quantize_span(x, n, s, z, out);
}

class QdqConv : public OpKernel {
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::u8, DType::i8});
    ctx.require_dtype(2, {ctx.input(0).dtype});
    ctx.require_dtype(3, {DType::u8, DType::i8});
    for (size_t i : {1, 4, 7}) ctx.require_dtype(i, {DType::f32});
    for (size_t i : {1, 2, 7})
      if (shape_numel(ctx.input(i).shape) != 1)
        ctx.unsupported("x/y scale and zero point must be per tensor");
    if (ctx.has_input(8)) {
      ctx.require_dtype(8, {DType::u8, DType::i8});
      if (shape_numel(ctx.input(8).shape) != 1) ctx.unsupported("y_zero_point must be per tensor");
    }
    if (!ctx.input(3).constant || !ctx.input(4).constant || (ctx.has_input(5) && !ctx.input(5).constant))
      ctx.unsupported("QdqConv needs constant weights, weight scales and zero points");
    gm_ = quant::conv_geometry(ctx, 0, 3);
    const int64_t ns = shape_numel(ctx.input(4).shape);
    if (ns != 1 && ns != gm_.m) ctx.fail("w_scale must have 1 or one value per output channel");
    if (ctx.has_input(5)) {
      ctx.require_dtype(5, {ctx.input(3).dtype});
      const int64_t nz = shape_numel(ctx.input(5).shape);
      if (nz != 1 && nz != gm_.m) ctx.fail("w_zero_point must have 1 or one value per output channel");
    }
    if (ctx.has_input(6)) {
      ctx.require_dtype(6, {DType::f32});
      if (shape_numel(ctx.input(6).shape) != gm_.m) ctx.fail("bias must have one value per output channel");
    }
    if (gm_.c == 0) ctx.unsupported("QdqConv with 0 input channels");
    ep_ = {};
    quant::read_activation(ctx, ep_);
    kind_ = quant::int8_kind(ctx.input(0).dtype);
    out_type_ = ctx.has_input(8) ? ctx.input(8).dtype : DType::u8;
    ctx.set_output(0, out_type_, {gm_.n, gm_.m, gm_.oh, gm_.ow});
    direct_ = gm_.kh == 1 && gm_.kw == 1 && gm_.sh == 1 && gm_.sw == 1 && gm_.pt == 0 && gm_.pl == 0 &&
              gm_.oh == gm_.h && gm_.ow == gm_.w;
    nhwc_bytes_ = align64(static_cast<size_t>(gm_.c * gm_.h * gm_.w));
    col_bytes_ = direct_ ? 0 : align64(static_cast<size_t>(gm_.pixels() * gm_.kg()));
    obuf_bytes_ = align64(static_cast<size_t>(gm_.pixels() * gm_.m));
    ctx.scratch_bytes =
        nhwc_bytes_ + col_bytes_ + obuf_bytes_ + static_cast<size_t>(gm_.pixels() * gm_.m) * sizeof(float);
    if (packed_.empty()) pack(ctx);
  }

  /// W [M, C/g, kh, kw] reordered to B^T rows [co][(ky, kx, ci)] and packed per group with the scales.
  void pack(const CompileContext& ctx) {
    const Tensor& w = *ctx.input(3).constant;
    const Tensor& ws = *ctx.input(4).constant;
    std::vector<int32_t> zps;
    quant::read_zero_points(ctx.has_input(5) ? ctx.input(5).constant : nullptr, zps);
    const int64_t m = gm_.m, cg = gm_.cg(), kk = gm_.kh * gm_.kw, kg = gm_.kg(), mg = gm_.mg();
    std::vector<uint8_t> wr(static_cast<size_t>(m * kg));
    const uint8_t* src = static_cast<const uint8_t*>(w.data());
    for (int64_t o = 0; o < m; ++o)
      for (int64_t ci = 0; ci < cg; ++ci)
        for (int64_t t = 0; t < kk; ++t) wr[o * kg + t * cg + ci] = src[(o * cg + ci) * kk + t];
    const bool per_s = ws.numel() > 1, per_z = zps.size() > 1;
    packed_.resize(static_cast<size_t>(gm_.g));
    for (int64_t g = 0; g < gm_.g; ++g)
      kernels::pack_b_int8(packed_[g], kind_, BDesc{wr.data() + g * mg * kg, kg, mg, kg, true},
                           w.dtype() == DType::u8, ws.data_as<float>() + (per_s ? g * mg : 0), per_s ? mg : 1,
                           zps.data() + (per_z ? g * mg : 0), per_z ? mg : 1);
  }

  /// A[p, (ky, kx, ci)] of group g from the NHWC image; taps outside the image are `pad`.
  void im2col(const uint8_t* nhwc, int64_t g, uint8_t pad, uint8_t* a, const kernels::Threading& th) const {
    const ConvGeom& gm = gm_;
    const int64_t cg = gm.cg(), kg = gm.kg();
    parallel_range(th, gm.oh, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, gm.ow * kg)),
                   [&](int64_t y0, int64_t y1) {
                     for (int64_t oy = y0; oy < y1; ++oy)
                       for (int64_t ox = 0; ox < gm.ow; ++ox) {
                         uint8_t* row = a + (oy * gm.ow + ox) * kg;
                         for (int64_t ky = 0; ky < gm.kh; ++ky) {
                           const int64_t iy = oy * gm.sh - gm.pt + ky * gm.dh;
                           for (int64_t kx = 0; kx < gm.kw; ++kx, row += cg) {
                             const int64_t ix = ox * gm.sw - gm.pl + kx * gm.dw;
                             if (iy >= 0 && iy < gm.h && ix >= 0 && ix < gm.w)
                               std::memcpy(row, nhwc + (iy * gm.w + ix) * gm.c + g * cg,
                                           static_cast<size_t>(cg));
                             else
                               std::memset(row, pad, static_cast<size_t>(cg));
                           }
                         }
                       }
                   });
  }

  void run(RunContext& ctx) override {
    const ConvGeom& gm = gm_;
    const int64_t p = gm.pixels(), hw = gm.h * gm.w;
    if (p == 0 || gm.m == 0 || gm.n == 0) return;
    kernels::QuantA qa;
    qa.scale = ctx.input(1).data_as<float>()[0];
    qa.zero_point = quant::int_at(ctx.input(2), 0);
    const float ys = ctx.input(7).data_as<float>()[0];
    const int32_t yz = ctx.has_input(8) ? quant::int_at(ctx.input(8), 0) : 0;
    if (ys == 0.f) ctx.fail("y_scale is 0");
    const float* bias = ctx.has_input(6) ? ctx.input(6).data_as<float>() : nullptr;
    const uint8_t pad = static_cast<uint8_t>(qa.zero_point);  // same bits for s8
    uint8_t* nhwc = static_cast<uint8_t*>(ctx.scratch);
    uint8_t* col = nhwc + nhwc_bytes_;
    uint8_t* obuf = col + col_bytes_;
    float* fbuf = reinterpret_cast<float*>(obuf + obuf_bytes_);
    const uint8_t* x = static_cast<const uint8_t*>(ctx.input(0).data());
    uint8_t* y = static_cast<uint8_t*>(ctx.output(0).data());
    const int64_t mg = gm.mg();
    for (int64_t b = 0; b < gm.n; ++b) {
      transpose_bytes(ctx.threading, x + b * gm.c * hw, gm.c, hw, nhwc);
      for (int64_t g = 0; g < gm.g; ++g) {
        const uint8_t* a = nhwc + g * gm.cg();
        int64_t lda = gm.c;
        if (!direct_) {
          im2col(nhwc, g, pad, col, ctx.threading);
          a = col;
          lda = gm.kg();
        }
        kernels::Epilogue ep = ep_;
        ep.bias = bias ? bias + g * mg : nullptr;
        kernels::gemm_int8(p, a, lda, qa, packed_[g], fbuf + g * mg, gm.m, nullptr, 0, ep, {}, ctx.threading);
      }
      // Requantize (x / y_s like QuantizeLinear, not the driver's x * (1 / y_s)) 64 pixels at a time and
      // transpose them to NCHW right away, while the u8/s8 rows are still in L1.
      const int64_t chunks = (p + 63) / 64;
      uint8_t* yb = y + b * gm.m * p;
      parallel_range(ctx.threading, chunks, std::max<int64_t>(1, 256 / gm.m), [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
          const int64_t r0 = c * 64, r1 = std::min(p, r0 + 64);
          if (out_type_ == DType::u8)
            requant_u8(fbuf + r0 * gm.m, (r1 - r0) * gm.m, ys, yz, obuf + r0 * gm.m);
          else
            requant_s8(fbuf + r0 * gm.m, (r1 - r0) * gm.m, ys, yz,
                       reinterpret_cast<int8_t*>(obuf) + r0 * gm.m);
          transpose_rows(obuf, p, gm.m, r0, r1, yb);
        }
      });
    }
  }

  std::vector<std::string> kernels_used() const override {
    const kernels::GemmKernel* kn = kernels::dispatched(kind_);
    return kn ? std::vector<std::string>{kn->name} : std::vector<std::string>{};
  }

  ConvGeom gm_;
  kernels::Epilogue ep_;
  kernels::GemmKind kind_ = kernels::GemmKind::u8s8;
  DType out_type_ = DType::u8;
  bool direct_ = false;
  size_t nhwc_bytes_ = 0, col_bytes_ = 0, obuf_bytes_ = 0;
  std::vector<PackedB> packed_;
};

}  // namespace

void register_quant_qdq_conv_ops(OpRegistry& r) {
  r.add(kOrtkitDomain, "QdqConv", 1, kAnyOpset, [] { return std::make_unique<QdqConv>(); });
}

}  // namespace ortkit::ops
