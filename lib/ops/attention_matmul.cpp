#include "ops/attention_matmul.h"

#include <algorithm>

#include "ops/fast_math.h"

namespace ortkit::ops {

namespace {
// Query rows up to which K and V are read in place. GQA decode step, 16 heads of 64 over 257 cached keys,
// 1 thread: packing K and V per head was half of the whole decoder layer's time.
constexpr int64_t kDirectRows = 4;

// Sixteen lanes of partial sums, a fixed order: vectorized by the target clones, deterministic.
ORTKIT_OPS_CLONES_512 void qk_direct(int64_t S, const float* __restrict q, int64_t ldq,
                                     const float* __restrict k, int64_t T, int64_t dk,
                                     float* __restrict scores) {
  for (int64_t i = 0; i < S; ++i) {
    const float* qi = q + i * ldq;
    for (int64_t j = 0; j < T; ++j) {
      const float* kj = k + j * dk;
      float acc[16] = {};
      int64_t d = 0;
      for (; d + 16 <= dk; d += 16)
        for (int l = 0; l < 16; ++l) acc[l] += qi[d + l] * kj[d + l];
      float s = 0.f;
      for (; d < dk; ++d) s += qi[d] * kj[d];
      for (int l = 0; l < 16; ++l) s += acc[l];
      scores[i * T + j] = s;
    }
  }
}

ORTKIT_OPS_CLONES_512 void pv_direct(int64_t S, const float* __restrict p, int64_t T,
                                     const float* __restrict v, int64_t dv, float* __restrict y,
                                     int64_t ldy) {
  for (int64_t i = 0; i < S; ++i) {
    float* yi = y + i * ldy;
    std::fill(yi, yi + dv, 0.f);
    for (int64_t j = 0; j < T; ++j) {
      const float pj = p[i * T + j];
      const float* vj = v + j * dv;
      for (int64_t d = 0; d < dv; ++d) yi[d] += pj * vj[d];
    }
  }
}
}  // namespace

void attention_qk(kernels::PackedB& pack, int64_t S, const float* q, int64_t ldq, const float* k, int64_t T,
                  int64_t dk, float* scores, const kernels::Threading& th, kernels::GemmKind kind) {
  if (S <= kDirectRows) return qk_direct(S, q, ldq, k, T, dk, scores);
  kernels::pack_b(pack, kind, kernels::BDesc{k, dk, T, dk, true});
  kernels::gemm_f32(S, q, ldq, pack, scores, T, {}, th);
}

void attention_pv(kernels::PackedB& pack, int64_t S, const float* p, int64_t T, const float* v, int64_t dv,
                  float* y, int64_t ldy, const kernels::Threading& th, kernels::GemmKind kind) {
  if (S <= kDirectRows) return pv_direct(S, p, T, v, dv, y, ldy);
  kernels::pack_b(pack, kind, kernels::BDesc{v, T, dv, dv, false});
  kernels::gemm_f32(S, p, T, pack, y, ldy, {}, th);
}

}  // namespace ortkit::ops
