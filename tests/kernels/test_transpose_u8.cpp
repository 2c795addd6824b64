// The byte transpose behind the int8 convs' layout changes and the GEMM's transposed requantized output.
#include <catch2/catch.hpp>
#include <cstdint>
#include <utility>
#include <vector>

#include "ortkit/kernels/transpose.h"

using namespace ortkit::kernels;

TEST_CASE("transpose_u8 handles ragged sizes and strides", "[kernels][transpose]") {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 1},
                            {7, 9},
                            {16, 16},
                            {17, 33},
                            {65, 130},
                            {3, 200},
                            {200, 3},
                            {96, 49}}) {
    INFO(rows << "x" << cols);
    const int64_t lds = cols + 3, ldd = rows + 5;
    std::vector<uint8_t> src(static_cast<size_t>(rows * lds)), dst(static_cast<size_t>(cols * ldd), 0xEE);
    for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i * 7 + i / 251);
    transpose_u8(src.data(), lds, dst.data(), ldd, rows, cols);
    bool ok = true;
    for (int64_t c = 0; c < cols; ++c)
      for (int64_t r = 0; r < ldd; ++r)
        ok = ok && dst[c * ldd + r] == (r < rows ? src[r * lds + c] : 0xEE);  // padding untouched
    CHECK(ok);
  }
}
