#include <algorithm>
#include <cstring>

#include "ortkit/kernels/transpose.h"

namespace ortkit::kernels {
namespace {

/// One full 16x16 tile of bytes: four rounds of the same interleave (row i with row i + 8, low and high
/// halves into rows 2i and 2i + 1) transpose it; each round is one punpck{l,h}bw pair on x86 and one
/// zip1/zip2 pair on arm64.
typedef unsigned char v16u8 __attribute__((vector_size(16)));
typedef char v16i __attribute__((vector_size(16)));
#if defined(__clang__)
#define ORTKIT_SHUF16(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define ORTKIT_SHUF16(a, b, ...) __builtin_shuffle(a, b, v16i{__VA_ARGS__})
#endif
__attribute__((always_inline)) inline void tile16_b8(const uint8_t* s, int64_t lds, uint8_t* d, int64_t ldd) {
  v16u8 r[16];
  for (int i = 0; i < 16; ++i) std::memcpy(&r[i], s + i * lds, 16);
  for (int round = 0; round < 4; ++round) {
    v16u8 t[16];
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = ORTKIT_SHUF16(r[i], r[i + 8], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      t[2 * i + 1] =
          ORTKIT_SHUF16(r[i], r[i + 8], 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    }
    for (int i = 0; i < 16; ++i) r[i] = t[i];
  }
  for (int i = 0; i < 16; ++i) std::memcpy(d + i * ldd, &r[i], 16);
}
#undef ORTKIT_SHUF16

}  // namespace

void transpose_u8(const uint8_t* src, int64_t lds, uint8_t* dst, int64_t ldd, int64_t rows, int64_t cols) {
  transpose_blocked<16, 64>(
      src, lds, dst, ldd, rows,
      cols, [&](const uint8_t* s, uint8_t* d) __attribute__((always_inline)) { tile16_b8(s, lds, d, ldd); });
}

}  // namespace ortkit::kernels
