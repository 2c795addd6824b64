// Tail masks for the AVX-512 files. Internal linkage: each ISA-flagged file compiles its own copy, so no
// inline function is shared across flag sets (ARCHITECTURE.md, kernels).
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace ortkit::kernels::x86 {
namespace {

// The low min(max(n, 0), 16) lanes.
inline __mmask16 mask16(int64_t n) {
  return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : static_cast<__mmask16>((1u << n) - 1);
}

}  // namespace
}  // namespace ortkit::kernels::x86
