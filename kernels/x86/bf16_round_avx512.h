// fp32 -> bf16 bits for the AVX-512 files, the portable f32_to_bf16's rule bit for bit: nearest even, NaN
// kept quiet (vcvtne2ps2bf16 would read denormals as zero). Internal linkage: each ISA-flagged file
// compiles its own copy, so no inline function is shared across flag sets (ARCHITECTURE.md, kernels).
#pragma once
#include <immintrin.h>

namespace ortkit::kernels::x86 {
namespace {

// The bf16 bits in the low half of each 32-bit lane.
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

}  // namespace
}  // namespace ortkit::kernels::x86
