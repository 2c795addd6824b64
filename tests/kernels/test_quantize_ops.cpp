// The dispatched dynamic-quantization rows against the portable reference: exact bytes and sums, ties
// rounded to even, saturation at both ends, every tail length.
#include <catch2/catch.hpp>
#include <random>
#include <vector>

#include "ortkit/kernels/quantize.h"

using namespace ortkit::kernels;

TEST_CASE("dispatched quantize rows match the reference bit for bit", "[kernels][quantize]") {
  const QuantizeOps& fast = quantize_ops();
  const QuantizeOps& ref = quantize_ops_ref();
  INFO("isa " << fast.isa);
  std::mt19937 rng(11);
  std::normal_distribution<float> d(0.f, 3.f);
  for (int64_t n : {1, 5, 15, 16, 17, 33, 64, 100, 777}) {
    std::vector<float> x(n);
    for (auto& v : x) v = d(rng);
    x[0] = 2.5f;                // a tie: rounds to 2 (even), not 3
    if (n > 1) x[1] = -1000.f;  // saturates at 0
    if (n > 2) x[2] = 1000.f;   // saturates at 255
    if (n > 3) x[3] = 3.5f;     // a tie: rounds to 4
    float lo1 = 0, hi1 = 0, lo2 = 0, hi2 = 0;
    fast.minmax(x.data(), n, &lo1, &hi1);
    ref.minmax(x.data(), n, &lo2, &hi2);
    REQUIRE(lo1 == lo2);
    REQUIRE(hi1 == hi2);
    for (int32_t zp : {0, 7, 128}) {
      std::vector<uint8_t> q1(n + 1, 0xcc), q2(n + 1, 0xcc);
      const int32_t s1 = fast.quantize_u8(x.data(), n, 1.f, zp, q1.data());
      const int32_t s2 = ref.quantize_u8(x.data(), n, 1.f, zp, q2.data());
      REQUIRE(q1 == q2);  // includes the untouched guard byte at [n]
      REQUIRE(s1 == s2);
      if (zp == 0) REQUIRE(q1[0] == 2);
    }
  }
}
