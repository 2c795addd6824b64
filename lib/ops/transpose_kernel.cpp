// 8x8 register-tile transpose written with GCC/Clang vector extensions: portable (generic vectors are
// lowered on any target), compiled once more for x86-64-v3 where the shuffles become vunpck/vshufps/
// vperm2f128. Tiles are walked in 32x32 blocks so that the rows read and the rows written stay in L1.
#include "ops/transpose_kernel.h"

#include <algorithm>
#include <cstring>

#include "ops/fast_math.h"
#include "ortkit/kernels/transpose.h"

namespace ortkit::ops {
namespace {

typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

#if defined(__clang__)
#define ORTKIT_SHUF(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define ORTKIT_SHUF(a, b, ...) __builtin_shuffle(a, b, v8i{__VA_ARGS__})
#endif

/// One full 8x8 tile.
__attribute__((always_inline)) inline void tile8(const float* s, int64_t lds, float* d, int64_t ldd) {
  // memcpy in and out (unaligned rows); no v8f crosses a call, so no ABI question for the baseline.
  v8f r0, r1, r2, r3, r4, r5, r6, r7;
  std::memcpy(&r0, s, 32);
  std::memcpy(&r1, s + lds, 32);
  std::memcpy(&r2, s + 2 * lds, 32);
  std::memcpy(&r3, s + 3 * lds, 32);
  std::memcpy(&r4, s + 4 * lds, 32);
  std::memcpy(&r5, s + 5 * lds, 32);
  std::memcpy(&r6, s + 6 * lds, 32);
  std::memcpy(&r7, s + 7 * lds, 32);
  // Interleave pairs of rows (unpacklo/hi within 128-bit halves).
  const v8f t0 = ORTKIT_SHUF(r0, r1, 0, 8, 1, 9, 4, 12, 5, 13),
            t1 = ORTKIT_SHUF(r0, r1, 2, 10, 3, 11, 6, 14, 7, 15);
  const v8f t2 = ORTKIT_SHUF(r2, r3, 0, 8, 1, 9, 4, 12, 5, 13),
            t3 = ORTKIT_SHUF(r2, r3, 2, 10, 3, 11, 6, 14, 7, 15);
  const v8f t4 = ORTKIT_SHUF(r4, r5, 0, 8, 1, 9, 4, 12, 5, 13),
            t5 = ORTKIT_SHUF(r4, r5, 2, 10, 3, 11, 6, 14, 7, 15);
  const v8f t6 = ORTKIT_SHUF(r6, r7, 0, 8, 1, 9, 4, 12, 5, 13),
            t7 = ORTKIT_SHUF(r6, r7, 2, 10, 3, 11, 6, 14, 7, 15);
  // Pairs of pairs (shufps 0x44 / 0xee).
  const v8f u0 = ORTKIT_SHUF(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13),
            u1 = ORTKIT_SHUF(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);
  const v8f u2 = ORTKIT_SHUF(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13),
            u3 = ORTKIT_SHUF(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);
  const v8f u4 = ORTKIT_SHUF(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13),
            u5 = ORTKIT_SHUF(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15);
  const v8f u6 = ORTKIT_SHUF(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13),
            u7 = ORTKIT_SHUF(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15);
  // 128-bit halves (vperm2f128 0x20 / 0x31).
  {
    const v8f o = ORTKIT_SHUF(u0, u4, 0, 1, 2, 3, 8, 9, 10, 11);
    std::memcpy(d, &o, 32);
  }
  {
    const v8f o = ORTKIT_SHUF(u1, u5, 0, 1, 2, 3, 8, 9, 10, 11);
    std::memcpy(d + ldd, &o, 32);
  }
  {
    const v8f o = ORTKIT_SHUF(u2, u6, 0, 1, 2, 3, 8, 9, 10, 11);
    std::memcpy(d + 2 * ldd, &o, 32);
  }
  {
    const v8f o = ORTKIT_SHUF(u3, u7, 0, 1, 2, 3, 8, 9, 10, 11);
    std::memcpy(d + 3 * ldd, &o, 32);
  }
  {
    const v8f o = ORTKIT_SHUF(u0, u4, 4, 5, 6, 7, 12, 13, 14, 15);
    std::memcpy(d + 4 * ldd, &o, 32);
  }
  {
    const v8f o = ORTKIT_SHUF(u1, u5, 4, 5, 6, 7, 12, 13, 14, 15);
    std::memcpy(d + 5 * ldd, &o, 32);
  }
  {
    const v8f o = ORTKIT_SHUF(u2, u6, 4, 5, 6, 7, 12, 13, 14, 15);
    std::memcpy(d + 6 * ldd, &o, 32);
  }
  {
    const v8f o = ORTKIT_SHUF(u3, u7, 4, 5, 6, 7, 12, 13, 14, 15);
    std::memcpy(d + 7 * ldd, &o, 32);
  }
}

#undef ORTKIT_SHUF

ORTKIT_OPS_CLONES void transpose_f32(const float* src, int64_t lds, float* dst, int64_t ldd, int64_t rows,
                                     int64_t cols) {
  // Blocks of 32: 64 thrashes L1 sets when ldd is a multiple of 256 floats.
  kernels::transpose_blocked<8, 32>(
      src, lds, dst, ldd, rows,
      cols, [&](const float* s, float* d) __attribute__((always_inline)) { tile8(s, lds, d, ldd); });
}

}  // namespace

void transpose_2d_b32(const void* src, int64_t lds, void* dst, int64_t ldd, int64_t rows, int64_t cols) {
  transpose_f32(static_cast<const float*>(src), lds, static_cast<float*>(dst), ldd, rows, cols);
}

}  // namespace ortkit::ops
