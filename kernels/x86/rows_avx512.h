// Row addressing (and the C-tile fetch) shared by the 14-row AVX-512 kernels (fp32, bf16, VNNI), which read A
// in place as rows (GemmKernel::a_rows). Everything here has internal linkage: each ISA-flagged file gets its
// own copy, so no inline function is shared across flag sets (ARCHITECTURE.md, kernels).
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace ortkit::kernels::x86 {
namespace {

// Row r of A: three base pointers (rows 0, 5, 10) and the strides l and 3l, so every row is one
// addressing mode ([base + l*{0,1,2,4}] or [base + l3]) and a k step advances three pointers, not 14.
struct Rows {
  const char *p0, *p5, *p10;
  int64_t l, l3;
  Rows(const void* a, int64_t row_bytes)
      : p0(static_cast<const char*>(a)),
        p5(p0 + 5 * row_bytes),
        p10(p0 + 10 * row_bytes),
        l(row_bytes),
        l3(3 * row_bytes) {}
  template <int R>
  const char* row() const {
    const char* base = R < 5 ? p0 : R < 10 ? p5 : p10;
    constexpr int i = R % 5;
    return i == 0 ? base : i == 1 ? base + l : i == 2 ? base + 2 * l : i == 3 ? base + l3 : base + 4 * l;
  }
  template <int R>
  int32_t quad(int64_t off) const {  // the 32 bits of row R at byte offset off
    int32_t v;
    std::memcpy(&v, row<R>() + off, 4);
    return v;
  }
  void step(int64_t bytes) {
    p0 += bytes;
    p5 += bytes;
    p10 += bytes;
  }
};

// Fetches a 14x32 fp32 C tile's lines (two 64-byte lines a row) into L1, for the kernels' epilogues: each
// kernel decides how far ahead of its stores (or its reads, when accumulating) to call it.
template <int M>
inline void fetch_c_tile(const float* c, int64_t ldc) {
  for (int r = 0; r < M; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 16), _MM_HINT_T0);
  }
}

// Calls f(std::integral_constant<int, m>) for the tile's row count m in 1..14 (14 past that), so each
// kernel instantiates its tile once per row count and an edge tile runs only its rows.
template <class F>
inline void for_rows(int m, F&& f) {
  switch (m) {
    case 1: return f(std::integral_constant<int, 1>{});
    case 2: return f(std::integral_constant<int, 2>{});
    case 3: return f(std::integral_constant<int, 3>{});
    case 4: return f(std::integral_constant<int, 4>{});
    case 5: return f(std::integral_constant<int, 5>{});
    case 6: return f(std::integral_constant<int, 6>{});
    case 7: return f(std::integral_constant<int, 7>{});
    case 8: return f(std::integral_constant<int, 8>{});
    case 9: return f(std::integral_constant<int, 9>{});
    case 10: return f(std::integral_constant<int, 10>{});
    case 11: return f(std::integral_constant<int, 11>{});
    case 12: return f(std::integral_constant<int, 12>{});
    case 13: return f(std::integral_constant<int, 13>{});
    default: return f(std::integral_constant<int, 14>{});
  }
}

}  // namespace
}  // namespace ortkit::kernels::x86
