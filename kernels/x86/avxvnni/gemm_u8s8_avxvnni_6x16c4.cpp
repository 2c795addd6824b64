// u8 x s8 AVX-VNNI (VEX, ymm) micro-kernel, 6 rows x 16 columns, KR = 4: vpdpbusd on ymm for CPUs with
// AVX-VNNI but no AVX-512 (Alder Lake and later client cores). 12 ymm accumulators + 2 of B + 1 of A.
#include <immintrin.h>

#include <cstring>

#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

namespace {
constexpr int kNR = 16, kKR = 4;

template <int M>
void tile(const MicroTile& t) {
  const uint8_t* a = static_cast<const uint8_t*>(t.a);  // rows of A, t.lda apart (GemmKernel::a_rows)
  const int64_t lda = t.lda;
  const int8_t* b = static_cast<const int8_t*>(t.b);
  __m256i c0[M], c1[M];
#pragma GCC unroll 6
  for (int r = 0; r < M; ++r) c0[r] = c1[r] = _mm256_setzero_si256();
  const int64_t groups = t.kp / kKR;
#pragma GCC unroll 2
  for (int64_t g = 0; g < groups; ++g, a += kKR, b += kNR * kKR) {
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kNR * kKR), _MM_HINT_T0);
    const __m256i b0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b));
    const __m256i b1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + 32));
#pragma GCC unroll 6
    for (int r = 0; r < M; ++r) {
      int32_t quad;
      std::memcpy(&quad, a + r * lda, 4);
      const __m256i av = _mm256_set1_epi32(quad);
      c0[r] = _mm256_dpbusd_avx_epi32(c0[r], av, b0);
      c1[r] = _mm256_dpbusd_avx_epi32(c1[r], av, b1);
    }
  }
  alignas(32) int32_t acc[M * kNR];
#pragma GCC unroll 6
  for (int r = 0; r < M; ++r) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(acc + r * kNR), c0[r]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(acc + r * kNR + 8), c1[r]);
  }
  store_i32_avx2(t, acc, kNR);
}
}  // namespace

void gemm_u8s8_avxvnni_6x16c4(const MicroTile& t) {
  switch (t.m) {
    case 1: return tile<1>(t);
    case 2: return tile<2>(t);
    case 3: return tile<3>(t);
    case 4: return tile<4>(t);
    case 5: return tile<5>(t);
    default: return tile<6>(t);
  }
}

}  // namespace ortkit::kernels::x86
