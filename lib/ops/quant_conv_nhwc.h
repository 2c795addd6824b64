// The pixel-major (NHWC) form of the int8 convs, shared by ortkit.QdqConv and ortkit.DynQuantConv: an
// image is transposed to NHWC, so that a 1x1 stride-1 unpadded conv reads its GEMM A straight from it
// (lda = C) and other convs unfold it with one copy of C/g bytes per tap (A[pixel, (ky, kx, ci)], padding
// = the zero point, contributing exactly 0); the weights are reordered to the same (ky, kx, ci) order and
// packed once per group with their scales and zero points.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/op.h"
#include "ops/quant_conv_geom.h"
#include "ortkit/kernels/gemm.h"

namespace ortkit::ops::quant {

/// n rounded up to a cache line: the int8 convs' scratch regions start 64-byte aligned.
inline size_t align64(size_t n) {
  return (n + 63) / 64 * 64;
}

/// dst[c * rows + r] = src[r * cols + c] for a byte matrix, columns split over threads.
void transpose_bytes(const kernels::Threading& th, const uint8_t* src, int64_t rows, int64_t cols,
                     uint8_t* dst);

/// A 1x1, stride-1, unpadded conv: the NHWC image is its GEMM A.
bool conv_is_pointwise(const ConvGeom& gm);

/// A[p, (ky, kx, ci)] of group g from the NHWC image; taps outside the image are `pad`.
void im2col_nhwc(const ConvGeom& gm, const uint8_t* nhwc, int64_t g, uint8_t pad, uint8_t* a,
                 const kernels::Threading& th);

/// W [M, C/g, kh, kw] (u8/s8 constant) reordered to B^T rows [co][(ky, kx, ci)] and packed per group
/// with its scales (1 or M) and zero points (empty, 1 or M).
void pack_conv_weights(const ConvGeom& gm, kernels::GemmKind kind, const Tensor& w, const float* scales,
                       int64_t n_scales, const std::vector<int32_t>& zps, std::vector<kernels::PackedB>& out);

}  // namespace ortkit::ops::quant
