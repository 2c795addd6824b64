// Byte-matrix transpose: the NCHW <-> pixel-major copies around the int8 convs, and the GEMM driver's
// transposed requantized output (QuantOut::transposed).
#pragma once
#include <cstdint>

namespace ortkit::kernels {

/// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols (bytes). Single-threaded; 16x16 register
/// tiles (GCC/Clang vector extensions: punpck on x86, zip on arm64) in 64x64 blocks.
void transpose_u8(const uint8_t* src, int64_t lds, uint8_t* dst, int64_t ldd, int64_t rows, int64_t cols);

}  // namespace ortkit::kernels
