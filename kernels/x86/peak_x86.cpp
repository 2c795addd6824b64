// x86 peak probes: independent accumulator chains of the one instruction each kernel is built on, enough
// of them (12-16) to cover its latency at 2 per cycle. Compiled without ISA flags; each probe carries a
// target attribute and only runs when the registry says the kernel's features are present.
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_* in the reductions, GCC PR 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "ortkit/kernels/peak.h"
#include "x86/x86_kernels.h"

namespace ortkit::kernels {

namespace {

__attribute__((target("avx512f"))) uint64_t fma_zmm(uint64_t iters, float* sink) {
  __m512 c[16];
  for (auto& v : c) v = _mm512_set1_ps(*sink);
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-6f);
  for (uint64_t i = 0; i < iters; ++i)
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) c[j] = _mm512_fmadd_ps(c[j], a, b);
  __m512 s = c[0];
  for (int j = 1; j < 16; ++j) s = _mm512_add_ps(s, c[j]);
  *sink = _mm512_reduce_add_ps(s);
  return iters * 16 * 32;
}

__attribute__((target("avx2,fma"))) uint64_t fma_ymm(uint64_t iters, float* sink) {
  __m256 c0 = _mm256_set1_ps(*sink), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0,
         c9 = c0;
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-6f);
  for (uint64_t i = 0; i < iters; ++i) {
    c0 = _mm256_fmadd_ps(c0, a, b);
    c1 = _mm256_fmadd_ps(c1, a, b);
    c2 = _mm256_fmadd_ps(c2, a, b);
    c3 = _mm256_fmadd_ps(c3, a, b);
    c4 = _mm256_fmadd_ps(c4, a, b);
    c5 = _mm256_fmadd_ps(c5, a, b);
    c6 = _mm256_fmadd_ps(c6, a, b);
    c7 = _mm256_fmadd_ps(c7, a, b);
    c8 = _mm256_fmadd_ps(c8, a, b);
    c9 = _mm256_fmadd_ps(c9, a, b);
  }
  const __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                                               _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7))),
                                 _mm256_add_ps(c8, c9));
  float out[8];
  _mm256_storeu_ps(out, s);
  *sink = out[0] + out[7];
  return iters * 10 * 16;
}

__attribute__((target("avx512f,avx512bf16"))) uint64_t bf16_zmm(uint64_t iters, float* sink) {
  __m512 c[16];
  for (auto& v : c) v = _mm512_set1_ps(*sink);
  const __m512bh a = (__m512bh)_mm512_set1_epi32(0x3f803f80), b = (__m512bh)_mm512_set1_epi32(0x33803380);
  for (uint64_t i = 0; i < iters; ++i)
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) c[j] = _mm512_dpbf16_ps(c[j], a, b);
  __m512 s = c[0];
  for (int j = 1; j < 16; ++j) s = _mm512_add_ps(s, c[j]);
  *sink = _mm512_reduce_add_ps(s);
  return iters * 16 * 64;  // 16 lanes x 2 products x (mul + add)
}

__attribute__((target("avx512f,avx512vnni"))) uint64_t vnni_zmm(uint64_t iters, float* sink) {
  __m512i c[16];
  for (auto& v : c) v = _mm512_set1_epi32(static_cast<int>(*sink));
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  for (uint64_t i = 0; i < iters; ++i)
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) c[j] = _mm512_dpbusd_epi32(c[j], a, b);
  __m512i s = c[0];
  for (int j = 1; j < 16; ++j) s = _mm512_add_epi32(s, c[j]);
  *sink = static_cast<float>(_mm512_reduce_add_epi32(s));
  return iters * 16 * 128;  // 16 lanes x 4 products x (mul + add)
}

// ymm probes name their 10 chains explicitly: with an array GCC 12 spilled them around every step.
__attribute__((target("avx2,avxvnni"))) uint64_t vnni_ymm(uint64_t iters, float* sink) {
  __m256i c0 = _mm256_set1_epi32(static_cast<int>(*sink)), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0,
          c6 = c0, c7 = c0, c8 = c0, c9 = c0;
  const __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2);
  for (uint64_t i = 0; i < iters; ++i) {
    c0 = _mm256_dpbusd_avx_epi32(c0, a, b);
    c1 = _mm256_dpbusd_avx_epi32(c1, a, b);
    c2 = _mm256_dpbusd_avx_epi32(c2, a, b);
    c3 = _mm256_dpbusd_avx_epi32(c3, a, b);
    c4 = _mm256_dpbusd_avx_epi32(c4, a, b);
    c5 = _mm256_dpbusd_avx_epi32(c5, a, b);
    c6 = _mm256_dpbusd_avx_epi32(c6, a, b);
    c7 = _mm256_dpbusd_avx_epi32(c7, a, b);
    c8 = _mm256_dpbusd_avx_epi32(c8, a, b);
    c9 = _mm256_dpbusd_avx_epi32(c9, a, b);
  }
  const __m256i s =
      _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3)),
                                        _mm256_add_epi32(_mm256_add_epi32(c4, c5), _mm256_add_epi32(c6, c7))),
                       _mm256_add_epi32(c8, c9));
  *sink = static_cast<float>(_mm256_extract_epi32(s, 0) + _mm256_extract_epi32(s, 7));
  return iters * 10 * 64;
}

// The exact AVX2 u8s8 step (gemm_u8s8_avx2_4x16c4): 2 vpmaddubsw + 2 vpmaddwd + 2 vpaddd per 64 ops. An
// empty asm makes B opaque every iteration so the products cannot be hoisted out of the loop.
__attribute__((target("avx2"))) uint64_t maddubs_ymm(uint64_t iters, float* sink) {
  __m256i c0 = _mm256_set1_epi32(static_cast<int>(*sink)), c1 = c0, c2 = c0, c3 = c0;
  const __m256i a = _mm256_set1_epi8(3), p = _mm256_set1_epi8(1);
  const __m256i ones = _mm256_set1_epi16(1), twos = _mm256_set1_epi16(2);
  __m256i b0 = _mm256_set1_epi8(-2), b1 = _mm256_set1_epi8(-3);
#define ORTKIT_STEP(c, b)                                                       \
  c = _mm256_add_epi32(c, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), twos)); \
  c = _mm256_add_epi32(c, _mm256_madd_epi16(_mm256_maddubs_epi16(p, b), ones));
  for (uint64_t i = 0; i < iters; ++i) {
    asm volatile("" : "+x"(b0), "+x"(b1));
    ORTKIT_STEP(c0, b0) ORTKIT_STEP(c1, b1) ORTKIT_STEP(c2, b0) ORTKIT_STEP(c3, b1)
  }
#undef ORTKIT_STEP
  const __m256i s = _mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3));
  *sink = static_cast<float>(_mm256_extract_epi32(s, 0) + _mm256_extract_epi32(s, 7));
  return iters * 4 * 64;
}

__attribute__((target("avx512f"))) uint64_t read_zmm(const void* p, size_t bytes) {
  const __m512i* v = static_cast<const __m512i*>(p);
  __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
  const size_t n = bytes / 64;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 = _mm512_add_epi64(s0, _mm512_load_si512(v + i));
    s1 = _mm512_add_epi64(s1, _mm512_load_si512(v + i + 1));
    s2 = _mm512_add_epi64(s2, _mm512_load_si512(v + i + 2));
    s3 = _mm512_add_epi64(s3, _mm512_load_si512(v + i + 3));
  }
  for (; i < n; ++i) s0 = _mm512_add_epi64(s0, _mm512_load_si512(v + i));
  return static_cast<uint64_t>(
      _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3))));
}

__attribute__((target("avx2"))) uint64_t read_ymm(const void* p, size_t bytes) {
  const __m256i* v = static_cast<const __m256i*>(p);
  __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
  const size_t n = bytes / 32;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 = _mm256_add_epi64(s0, _mm256_load_si256(v + i));
    s1 = _mm256_add_epi64(s1, _mm256_load_si256(v + i + 1));
    s2 = _mm256_add_epi64(s2, _mm256_load_si256(v + i + 2));
    s3 = _mm256_add_epi64(s3, _mm256_load_si256(v + i + 3));
  }
  for (; i < n; ++i) s0 = _mm256_add_epi64(s0, _mm256_load_si256(v + i));
  alignas(32) uint64_t out[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(out),
                     _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3)));
  return out[0] + out[1] + out[2] + out[3];
}

bool is(const char* a, const char* b) {
  return std::strcmp(a, b) == 0;
}

}  // namespace

PeakProbe peak_probe_x86(const GemmKernel& k) {
  if (!host_features().has_all(k.features)) return {};
  const bool int8 = k.kind == GemmKind::u8s8 || k.kind == GemmKind::s8s8;
  if (is(k.isa, "avx512") && k.kind == GemmKind::f32) return {"vfmadd231ps zmm", fma_zmm};
  if (is(k.isa, "avx2") && k.kind == GemmKind::f32) return {"vfmadd231ps ymm", fma_ymm};
#if defined(ORTKIT_HAVE_X86_AMX)
  if (is(k.isa, "amx") && k.kind == GemmKind::bf16) return {"tdpbf16ps tmm", x86::peak_tdpbf16ps};
  if (is(k.isa, "amx") && int8) return {"tdpbusd tmm", x86::peak_tdpbusd};
#endif
  if (is(k.isa, "avx512bf16")) return {"vdpbf16ps zmm", bf16_zmm};
  if (is(k.isa, "avx512vnni") && int8) return {"vpdpbusd zmm", vnni_zmm};
  if (is(k.isa, "avxvnni") && int8) return {"vpdpbusd ymm", vnni_ymm};
  if (is(k.isa, "avx2") && int8) return {"vpmaddubsw+vpmaddwd ymm (exact split)", maddubs_ymm};
  return {};
}

StreamReadFn stream_read_fn_x86() {
  if (host_features().has(Feature::avx512f)) return read_zmm;
  if (host_features().has(Feature::avx2)) return read_ymm;
  return nullptr;
}

}  // namespace ortkit::kernels
