#include "ops/quant_conv_nhwc.h"

#include <algorithm>
#include <cstring>

#include "ortkit/kernels/transpose.h"

namespace ortkit::ops::quant {
namespace {

/// n bytes in fixed-size (overlapping) pieces the compiler inlines: im2col's runs are a few bytes (3 per
/// tap for an RGB stem), where a libc call per run cost more than the copy.
inline void copy_run(uint8_t* d, const uint8_t* s, int64_t n) {
  if (n >= 32) {
    std::memcpy(d, s, static_cast<size_t>(n));
  } else if (n >= 16) {
    std::memcpy(d, s, 16);
    std::memcpy(d + n - 16, s + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(d, s, 8);
    std::memcpy(d + n - 8, s + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(d, s, 4);
    std::memcpy(d + n - 4, s + n - 4, 4);
  } else {
    for (int64_t i = 0; i < n; ++i) d[i] = s[i];
  }
}

}  // namespace

void transpose_bytes(const kernels::Threading& th, const uint8_t* src, int64_t rows, int64_t cols,
                     uint8_t* dst) {
  const int64_t blocks = (cols + 63) / 64;
  parallel_range(th, blocks, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, 64 * rows)),
                 [&](int64_t b0, int64_t b1) {
                   const int64_t c0 = b0 * 64, c1 = std::min(cols, b1 * 64);
                   kernels::transpose_u8(src + c0, cols, dst + c0 * rows, rows, rows, c1 - c0);
                 });
}

bool conv_is_pointwise(const ConvGeom& gm) {
  return gm.kh == 1 && gm.kw == 1 && gm.sh == 1 && gm.sw == 1 && gm.pt == 0 && gm.pl == 0 && gm.oh == gm.h &&
         gm.ow == gm.w;
}

void im2col_nhwc(const ConvGeom& gm, const uint8_t* nhwc, int64_t g, uint8_t pad, uint8_t* a,
                 const kernels::Threading& th) {
  const int64_t cg = gm.cg(), kg = gm.kg();
  // One group and dilation 1: a kernel row's taps are adjacent pixels, so an inside row is one run of
  // kw * C bytes.
  const bool row_runs = gm.g == 1 && gm.dw == 1;
  parallel_range(th, gm.oh, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, gm.ow * kg)),
                 [&](int64_t y0, int64_t y1) {
                   for (int64_t oy = y0; oy < y1; ++oy)
                     for (int64_t ox = 0; ox < gm.ow; ++ox) {
                       uint8_t* row = a + (oy * gm.ow + ox) * kg;
                       const int64_t ix0 = ox * gm.sw - gm.pl;
                       const bool inside = ix0 >= 0 && ix0 + (gm.kw - 1) * gm.dw < gm.w;
                       for (int64_t ky = 0; ky < gm.kh; ++ky) {
                         const int64_t iy = oy * gm.sh - gm.pt + ky * gm.dh;
                         if (iy < 0 || iy >= gm.h) {
                           std::memset(row, pad, static_cast<size_t>(gm.kw * cg));
                           row += gm.kw * cg;
                           continue;
                         }
                         const uint8_t* line = nhwc + iy * gm.w * gm.c + g * cg;
                         if (row_runs && inside) {
                           copy_run(row, line + ix0 * gm.c, gm.kw * cg);
                           row += gm.kw * cg;
                           continue;
                         }
                         for (int64_t kx = 0; kx < gm.kw; ++kx, row += cg) {
                           const int64_t ix = ix0 + kx * gm.dw;
                           if (ix >= 0 && ix < gm.w)
                             copy_run(row, line + ix * gm.c, cg);
                           else
                             std::memset(row, pad, static_cast<size_t>(cg));
                         }
                       }
                     }
                 });
}

void pack_conv_weights(const ConvGeom& gm, kernels::GemmKind kind, const Tensor& w, const float* scales,
                       int64_t n_scales, const std::vector<int32_t>& zps,
                       std::vector<kernels::PackedB>& out) {
  const int64_t m = gm.m, cg = gm.cg(), kk = gm.kh * gm.kw, kg = gm.kg(), mg = gm.mg();
  std::vector<uint8_t> wr(static_cast<size_t>(m * kg));
  const uint8_t* src = static_cast<const uint8_t*>(w.data());
  for (int64_t o = 0; o < m; ++o)
    for (int64_t ci = 0; ci < cg; ++ci)
      for (int64_t t = 0; t < kk; ++t) wr[o * kg + t * cg + ci] = src[(o * cg + ci) * kk + t];
  const bool per_s = n_scales > 1, per_z = zps.size() > 1;
  const int32_t zero = 0;
  out.resize(static_cast<size_t>(gm.g));
  for (int64_t g = 0; g < gm.g; ++g)
    kernels::pack_b_int8(out[g], kind, kernels::BDesc{wr.data() + g * mg * kg, kg, mg, kg, true},
                         w.dtype() == DType::u8, scales + (per_s ? g * mg : 0), per_s ? mg : 1,
                         zps.empty() ? &zero : zps.data() + (per_z ? g * mg : 0), per_z ? mg : 1);
}

}  // namespace ortkit::ops::quant
