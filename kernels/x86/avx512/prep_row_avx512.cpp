// AVX-512 row preparation for the int8 row-A kernels (GemmKernel::prep_row): sign flip and row sums, 64
// bytes of output per step with masked tails (bf16 rows: avx512bf16/prep_row_bf16_avx512bf16.cpp). A row
// kernel reads these rows in place, so this one streaming pass is all the A work a GEMM call does. GCC 12's
// _mm512_reduce_* and masked-load intrinsics read an undefined __Y inside the header (a false positive in
// avx512fintrin.h, not in this code).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "x86/mask_avx512.h"
#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

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
