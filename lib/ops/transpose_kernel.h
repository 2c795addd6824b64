// Fast 2-D transpose of 4-byte elements, shared by Transpose (movement.cpp) and the NCHW <-> pixel-major
// copies around Conv's GEMM (conv.cpp), where a scalar transpose cost about a third of MobileNet's time.
#pragma once
#include <cstdint>

namespace ortkit::ops {

/// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols (4-byte elements, bits copied as is).
/// Single-threaded; cache-blocked, 8x8 register tiles.
void transpose_2d_b32(const void* src, int64_t lds, void* dst, int64_t ldd, int64_t rows, int64_t cols);

}  // namespace ortkit::ops
