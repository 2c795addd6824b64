// The two matrix products of every attention op's per-head core: scores = Q K^T and Y = P V, with K and V
// as contiguous [T, d] rows (the KV cache layout). A few query rows (a decode step) read K and V in place:
// packing them for the GEMM kernels would cost as much as the product itself, every step. More rows pack
// them once per call into the caller's buffers and run the GEMM kernels.
#pragma once
#include <cstdint>

#include "ortkit/kernels/gemm.h"

namespace ortkit::ops {

/// scores[i * T + j] = sum_d q[i * ldq + d] * k[j * dk + d] for i < S, j < T. kind: the GEMM kind of the
/// session's float GEMMs (OpContext::float_gemm_kind): bf16 fast math runs the product as the unfused
/// graph's MatMul would. A few query rows always run in fp32, reading K in place.
void attention_qk(kernels::PackedB& pack, int64_t S, const float* q, int64_t ldq, const float* k, int64_t T,
                  int64_t dk, float* scores, const kernels::Threading& th,
                  kernels::GemmKind kind = kernels::GemmKind::f32);
/// y[i * ldy + d] = sum_j p[i * T + j] * v[j * dv + d] for i < S, d < dv. kind: as attention_qk.
void attention_pv(kernels::PackedB& pack, int64_t S, const float* p, int64_t T, const float* v, int64_t dv,
                  float* y, int64_t ldy, const kernels::Threading& th,
                  kernels::GemmKind kind = kernels::GemmKind::f32);

}  // namespace ortkit::ops
