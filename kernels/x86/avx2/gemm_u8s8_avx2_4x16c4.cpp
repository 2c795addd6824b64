// u8 x s8 AVX2 micro-kernel, 4 rows x 16 columns, KR = 4, exact.
//
// vpmaddubsw adds two u8*s8 products in a saturating int16: 255*-128*2 = -65280 does not fit, so the
// textbook vpmaddubsw+vpmaddwd sequence is wrong on extreme data. Here each A byte is split as
// a = 2*(a >> 1) + (a & 1):
//   lo  = vpmaddubsw(a >> 1, b)   |lo|  <= 2*127*128 = 32512   (fits int16)
//   par = vpmaddubsw(a & 1,  b)   |par| <= 2*128     = 256
//   acc += vpmaddwd(lo, 2) + vpmaddwd(par, 1)          (int32, exact)
// Twice the work of the saturating form; this kernel only runs on AVX2 CPUs without any VNNI.
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
  const __m256i ones = _mm256_set1_epi16(1), twos = _mm256_set1_epi16(2);
  __m256i c0[M], c1[M];
#pragma GCC unroll 4
  for (int r = 0; r < M; ++r) c0[r] = c1[r] = _mm256_setzero_si256();
  const int64_t groups = t.kp / kKR;
  for (int64_t g = 0; g < groups; ++g, a += kKR, b += kNR * kKR) {
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kNR * kKR), _MM_HINT_T0);
    const __m256i b0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b));
    const __m256i b1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + 32));
#pragma GCC unroll 4
    for (int r = 0; r < M; ++r) {
      uint32_t quad;
      std::memcpy(&quad, a + r * lda, 4);
      const __m256i half = _mm256_set1_epi32(static_cast<int32_t>((quad >> 1) & 0x7f7f7f7fu));
      const __m256i par = _mm256_set1_epi32(static_cast<int32_t>(quad & 0x01010101u));
      c0[r] = _mm256_add_epi32(c0[r], _mm256_madd_epi16(_mm256_maddubs_epi16(half, b0), twos));
      c0[r] = _mm256_add_epi32(c0[r], _mm256_madd_epi16(_mm256_maddubs_epi16(par, b0), ones));
      c1[r] = _mm256_add_epi32(c1[r], _mm256_madd_epi16(_mm256_maddubs_epi16(half, b1), twos));
      c1[r] = _mm256_add_epi32(c1[r], _mm256_madd_epi16(_mm256_maddubs_epi16(par, b1), ones));
    }
  }
  alignas(32) int32_t acc[M * kNR];
#pragma GCC unroll 4
  for (int r = 0; r < M; ++r) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(acc + r * kNR), c0[r]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(acc + r * kNR + 8), c1[r]);
  }
  store_i32_avx2(t, acc, kNR);
}
}  // namespace

void gemm_u8s8_avx2_4x16c4(const MicroTile& t) {
  switch (t.m) {
    case 1: return tile<1>(t);
    case 2: return tile<2>(t);
    case 3: return tile<3>(t);
    default: return tile<4>(t);
  }
}

}  // namespace ortkit::kernels::x86
