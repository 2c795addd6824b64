// AVX-512 row preparation for the row-A kernels (GemmKernel::prep_row): fp32 -> bf16 rounding and int8
// sign flip / row sums, 64 bytes of output per step with masked tails. A row kernel reads these rows in
// place, so this one streaming pass is all the A work a GEMM call does.
// GCC 12's _mm512_reduce_* and masked-load intrinsics read an undefined __Y inside the header
// (a false positive in avx512fintrin.h, not in this code).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "x86/bf16_round_avx512.h"
#include "x86/mask_avx512.h"
#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

int32_t prep_row_bf16_avx512(const void* src, int64_t k, int64_t kp, uint8_t, bool, void* dst) {
  const float* s = static_cast<const float*>(src);
  uint16_t* d = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 32 <= k; i += 32) {
    const __m256i lo = _mm512_cvtepi32_epi16(bf16_bits(_mm512_loadu_ps(s + i)));
    const __m256i hi = _mm512_cvtepi32_epi16(bf16_bits(_mm512_loadu_ps(s + i + 16)));
    _mm512_storeu_si512(d + i, _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
  }
  // Tail: masked loads read zeros past k, which round to bf16 zero, so the store also fills kp's padding.
  for (; i < kp; i += 16) {
    const __m256i v = _mm512_cvtepi32_epi16(bf16_bits(_mm512_maskz_loadu_ps(mask16(k - i), s + i)));
    _mm256_mask_storeu_epi16(d + i, mask16(kp - i), v);
  }
  return 0;
}

int32_t prep_row_u8_avx512(const void* src, int64_t k, int64_t kp, uint8_t a_xor, bool sum_signed,
                           void* dst) {
  const uint8_t* s = static_cast<const uint8_t*>(src);
  uint8_t* d = static_cast<uint8_t*>(dst);
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(a_xor));
  // Signed sums: sum(s8(x)) = sum(x ^ 0x80 as u8) - 128 k, so one unsigned vpsadbw serves both.
  const __m512i sad_flip = _mm512_set1_epi8(static_cast<char>(sum_signed ? 0x80 : 0));
  __m512i sum = _mm512_setzero_si512();
  for (int64_t i = 0; i < kp; i += 64) {
    const int64_t left = k - i;
    const __mmask64 m = left >= 64 ? ~__mmask64(0) : left <= 0 ? __mmask64(0) : (__mmask64(1) << left) - 1;
    // Bytes past k stay zero: they are the K padding of dst and add nothing to the sum.
    const __m512i v = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, s + i), _mm512_maskz_mov_epi8(m, flip));
    const __m512i for_sum = _mm512_xor_si512(v, _mm512_maskz_mov_epi8(m, sad_flip));
    sum = _mm512_add_epi64(sum, _mm512_sad_epu8(for_sum, _mm512_setzero_si512()));
    if (d) {
      const int64_t out = kp - i;
      _mm512_mask_storeu_epi8(d + i, out >= 64 ? ~__mmask64(0) : (__mmask64(1) << out) - 1, v);
    }
  }
  const int64_t total = _mm512_reduce_add_epi64(sum);
  return static_cast<int32_t>(sum_signed ? total - 128 * k : total);
}

}  // namespace ortkit::kernels::x86
