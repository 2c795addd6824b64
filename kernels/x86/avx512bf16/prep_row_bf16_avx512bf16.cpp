// fp32 -> bf16 row preparation with vcvtne2ps2bf16 (GemmKernel::prep_row of the bf16 kernels on CPUs with
// AVX512_BF16): one instruction per 32 values instead of eight integer steps per 16 (the exact rule below,
// which took 12% of a 128x768x768 AMX GEMM as the whole pass). The instruction rounds to
// nearest even and quiets NaNs as f32_to_bf16 does, but reads denormal inputs as zero: a chunk holding
// one takes the exact pass's rule instead, so the rows stay bit for bit those of f32_to_bf16.
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_* as the merge source, GCC PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "x86/mask_avx512.h"
#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

namespace {

// Lanes whose value is denormal (nonzero with a zero exponent).
inline __mmask16 denormal(__m512 v) {
  const __m512i a = _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff));
  return _mm512_cmplt_epu32_mask(_mm512_sub_epi32(a, _mm512_set1_epi32(1)), _mm512_set1_epi32(0x007fffff));
}

// The exact rule, f32_to_bf16's bit for bit: nearest even, NaN kept quiet, denormals rounded as any value.
// bf16 bits in the low half of each 32-bit lane.
inline __m512i bf16_bits(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i rounded =
      _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb), 16);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                                _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_mov_epi32(rounded, nan,
                               _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40)));
}

inline __m256i exact16(__m512 v) {
  return _mm512_cvtepi32_epi16(bf16_bits(v));
}

inline __m512i convert32(__m512 lo, __m512 hi) {
  if (__builtin_expect((denormal(lo) | denormal(hi)) != 0, 0))
    return _mm512_inserti64x4(_mm512_castsi256_si512(exact16(lo)), exact16(hi), 1);
  return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

}  // namespace

int32_t prep_row_bf16_avx512bf16(const void* src, int64_t k, int64_t kp, uint8_t, bool, void* dst) {
  const float* s = static_cast<const float*>(src);
  uint16_t* d = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 32 <= k; i += 32)
    _mm512_storeu_si512(d + i, convert32(_mm512_loadu_ps(s + i), _mm512_loadu_ps(s + i + 16)));
  // Tail: masked loads read zeros past k, which round to bf16 zero, so the store also fills kp's padding.
  for (; i < kp; i += 32) {
    const __m512 lo = _mm512_maskz_loadu_ps(mask16(k - i), s + i);
    const __m512 hi = _mm512_maskz_loadu_ps(mask16(k - i - 16), s + i + 16);
    const int64_t left = kp - i;
    _mm512_mask_storeu_epi16(d + i, left >= 32 ? ~__mmask32{0} : (__mmask32{1} << left) - 1,
                             convert32(lo, hi));
  }
  return 0;
}

}  // namespace ortkit::kernels::x86
