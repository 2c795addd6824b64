// Byte-matrix transpose: the NCHW <-> pixel-major copies around the int8 convs, and the GEMM driver's
// transposed requantized output (QuantOut::transposed).
#pragma once
#include <algorithm>
#include <cstdint>

namespace ortkit::kernels {

/// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols (bytes). Single-threaded; 16x16 register
/// tiles (GCC/Clang vector extensions: punpck on x86, zip on arm64) in 64x64 blocks.
void transpose_u8(const uint8_t* src, int64_t lds, uint8_t* dst, int64_t ldd, int64_t rows, int64_t cols);

/// The blocked walk of a 2-D transpose, dst[c * ldd + r] = src[r * lds + c]: kBlock x kBlock blocks, so
/// that the rows read and the rows written stay in L1; inside each, the full kTile x kTile tiles through
/// tile(&src[r][c], &dst[c][r]), the ragged edges element by element. Always inlined, with the tile, into
/// its caller: a caller compiled once per ISA (target_clones) gets its register tile built for each.
template <int64_t kTile, int64_t kBlock, class T, class Tile>
__attribute__((always_inline)) inline void transpose_blocked(const T* src, int64_t lds, T* dst, int64_t ldd,
                                                             int64_t rows, int64_t cols, Tile&& tile) {
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock)
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
      const int64_t r1 = std::min(rows, r0 + kBlock), c1 = std::min(cols, c0 + kBlock);
      const int64_t rt = r0 + (r1 - r0) / kTile * kTile, ct = c0 + (c1 - c0) / kTile * kTile;
      for (int64_t r = r0; r < rt; r += kTile)
        for (int64_t c = c0; c < ct; c += kTile) tile(src + r * lds + c, dst + c * ldd + r);
      // The last columns of every row, then the last rows of the full columns.
      for (int64_t c = ct; c < c1; ++c)
        for (int64_t r = r0; r < r1; ++r) dst[c * ldd + r] = src[r * lds + c];
      for (int64_t c = c0; c < ct; ++c)
        for (int64_t r = rt; r < r1; ++r) dst[c * ldd + r] = src[r * lds + c];
    }
}

}  // namespace ortkit::kernels
