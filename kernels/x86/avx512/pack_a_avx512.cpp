// AVX-512 packers of A panels (GemmKernel::pack_a) for the 14-row kernels: 16 source rows x 16 groups of
// 32 bits (1 float, 2 bf16 or 4 u8) are loaded, transposed 16x16 in registers and stored as 16 panel
// groups of mr x 32 bits with one masked store each. The portable packer moves 4 bytes per instruction;
// this moves 64 and is what keeps A packing a few percent of a BERT-sized GEMM.
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_ps as the merge source, GCC PR 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

namespace {

// In-register transpose of 16 rows of 16 x 32-bit elements: out[c] holds element c of rows 0..15.
void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // u[4q + j] = rows 4q..4q+3, column 4L + j in 128-bit lane L.
  for (int q = 0; q < 4; ++q) {
    u[4 * q + 0] = _mm512_shuffle_ps(t[4 * q], t[4 * q + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * q + 1] = _mm512_shuffle_ps(t[4 * q], t[4 * q + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[4 * q + 2] = _mm512_shuffle_ps(t[4 * q + 1], t[4 * q + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * q + 3] = _mm512_shuffle_ps(t[4 * q + 1], t[4 * q + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int j = 0; j < 4; ++j) {
    const __m512 va = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x44),
                 vb = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xEE);
    const __m512 wa = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x44);
    const __m512 wb = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xEE);
    r[j] = _mm512_shuffle_f32x4(va, wa, 0x88);
    r[4 + j] = _mm512_shuffle_f32x4(va, wa, 0xDD);
    r[8 + j] = _mm512_shuffle_f32x4(vb, wb, 0x88);
    r[12 + j] = _mm512_shuffle_f32x4(vb, wb, 0xDD);
  }
}

// fp32 -> bf16 bits, nearest even, NaN quiet: the same rule as the scalar f32_to_bf16.
__m512i bf16_bits(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i rounded =
      _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb), 16);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                                _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_mov_epi32(rounded, nan,
                               _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40)));
}

enum class Src { f32, f32_bf16, u8 };

// Groups [g0, g0 + 16) of one row as 16 x 32 bits; elements at or past k read as zero.
template <Src S>
__m512 load_groups(const void* row, int64_t g0, int64_t k, uint8_t a_xor) {
  if constexpr (S == Src::f32) {
    const int64_t left = k - g0;
    const __mmask16 m = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
    return _mm512_maskz_loadu_ps(m, static_cast<const float*>(row) + g0);
  } else if constexpr (S == Src::f32_bf16) {
    const float* p = static_cast<const float*>(row) + 2 * g0;
    const int64_t left = k - 2 * g0;
    auto mask = [](int64_t n) {
      return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
    };
    const __m512i lo = bf16_bits(_mm512_maskz_loadu_ps(mask(left), p));
    const __m512i hi = bf16_bits(_mm512_maskz_loadu_ps(mask(left - 16), p + 16));
    const __m256i l16 = _mm512_cvtepi32_epi16(lo), h16 = _mm512_cvtepi32_epi16(hi);
    return _mm512_castsi512_ps(_mm512_inserti64x4(_mm512_castsi256_si512(l16), h16, 1));
  } else {
    const uint8_t* p = static_cast<const uint8_t*>(row) + 4 * g0;
    const int64_t left = k - 4 * g0;
    const __mmask64 m = left >= 64 ? ~__mmask64(0) : (__mmask64(1) << left) - 1;
    const __m512i v = _mm512_maskz_loadu_epi8(m, p);
    return _mm512_castsi512_ps(
        _mm512_maskz_xor_epi32(0xffff, v, _mm512_maskz_set1_epi8(m, static_cast<char>(a_xor))));
  }
}

template <Src S>
void pack(const void* const* rows, int m, int mr, int64_t k, int64_t kp, int kr, uint8_t a_xor, void* dst,
          int32_t* row_sums) {
  const int64_t groups = kp / kr;
  int64_t sums[16] = {};
  const __mmask16 store_mask = static_cast<__mmask16>((1u << mr) - 1);
  float* d = static_cast<float*>(dst);
  for (int64_t g0 = 0; g0 < groups; g0 += 16) {
    __m512 r[16];
    for (int i = 0; i < 16; ++i) r[i] = i < m ? load_groups<S>(rows[i], g0, k, a_xor) : _mm512_setzero_ps();
    if constexpr (S == Src::u8)  // row sums of the packed bytes: vpsadbw against zero, 8 partial sums
      for (int i = 0; i < m; ++i)
        sums[i] +=
            _mm512_reduce_add_epi64(_mm512_sad_epu8(_mm512_castps_si512(r[i]), _mm512_setzero_si512()));
    transpose16(r);
    const int n = static_cast<int>(groups - g0 < 16 ? groups - g0 : 16);
    for (int c = 0; c < n; ++c) _mm512_mask_storeu_ps(d + (g0 + c) * mr, store_mask, r[c]);
  }
  if (row_sums)
    for (int i = 0; i < m; ++i) row_sums[i] = static_cast<int32_t>(sums[i]);
}

}  // namespace

void pack_a_f32_avx512(const void* const* rows, int m, int mr, int64_t k, int64_t kp, uint8_t, void* dst,
                       int32_t*) {
  pack<Src::f32>(rows, m, mr, k, kp, 1, 0, dst, nullptr);
}
void pack_a_bf16_avx512(const void* const* rows, int m, int mr, int64_t k, int64_t kp, uint8_t, void* dst,
                        int32_t*) {
  pack<Src::f32_bf16>(rows, m, mr, k, kp, 2, 0, dst, nullptr);
}
void pack_a_u8_avx512(const void* const* rows, int m, int mr, int64_t k, int64_t kp, uint8_t a_xor, void* dst,
                      int32_t* row_sums) {
  pack<Src::u8>(rows, m, mr, k, kp, 4, a_xor, dst, row_sums);
}

}  // namespace ortkit::kernels::x86
