// u8 x s8 AVX-512 VNNI micro-kernel, 14 rows x 32 columns, KR = 4: per group of 4 k one vpdpbusd per
// (row, 16 columns), A's 4 u8 of row r broadcast as one 32-bit lane, B's panel holding 4 s8 per column.
// vpdpbusd sums the four u8*s8 products in 32 bits: exact, no 16-bit intermediate.
#include <immintrin.h>

#include <cstring>

#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

namespace {
constexpr int kMR = 14, kNR = 32, kKR = 4;

template <int M>
void tile(const MicroTile& t) {
  const uint8_t* a = static_cast<const uint8_t*>(t.a);
  const int8_t* b = static_cast<const int8_t*>(t.b);
  __m512i c0[M], c1[M];
#pragma GCC unroll 14
  for (int r = 0; r < M; ++r) c0[r] = c1[r] = _mm512_setzero_si512();
  const int64_t groups = t.kp / kKR;
#pragma GCC unroll 2
  for (int64_t g = 0; g < groups; ++g, a += kMR * kKR, b += kNR * kKR) {
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kNR * kKR), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kNR * kKR + 64), _MM_HINT_T0);
    const __m512i b0 = _mm512_load_si512(b), b1 = _mm512_load_si512(b + 64);
#pragma GCC unroll 14
    for (int r = 0; r < M; ++r) {
      int32_t quad;
      std::memcpy(&quad, a + r * kKR, 4);
      const __m512i av = _mm512_set1_epi32(quad);
      c0[r] = _mm512_dpbusd_epi32(c0[r], av, b0);
      c1[r] = _mm512_dpbusd_epi32(c1[r], av, b1);
    }
  }
  alignas(64) int32_t acc[M * kNR];
#pragma GCC unroll 14
  for (int r = 0; r < M; ++r) {
    _mm512_store_si512(acc + r * kNR, c0[r]);
    _mm512_store_si512(acc + r * kNR + 16, c1[r]);
  }
  store_i32_avx512(t, acc, kNR);
}
}  // namespace

void gemm_u8s8_avx512vnni_14x32c4(const MicroTile& t) {
  switch (t.m) {
    case 1: return tile<1>(t);
    case 2: return tile<2>(t);
    case 3: return tile<3>(t);
    case 4: return tile<4>(t);
    case 5: return tile<5>(t);
    case 6: return tile<6>(t);
    case 7: return tile<7>(t);
    case 8: return tile<8>(t);
    case 9: return tile<9>(t);
    case 10: return tile<10>(t);
    case 11: return tile<11>(t);
    case 12: return tile<12>(t);
    case 13: return tile<13>(t);
    default: return tile<14>(t);
  }
}

}  // namespace ortkit::kernels::x86
