// The dispatched dynamic-quantization and requantization rows against the portable reference: exact
// bytes and sums, ties rounded to even, saturation at both ends, NaN and infinities, every tail length.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <iterator>
#include <limits>
#include <random>
#include <vector>

#include "ortkit/kernels/quantize.h"
#include "threads.h"

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

namespace {
// QuantizeLinear written out plainly: the oracle for the portable requantize row.
int32_t quantize_linear(float x, float scale, int32_t zp, bool is_signed) {
  const double lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
  if (std::isnan(x)) return static_cast<int32_t>(lo);
  const double q = std::nearbyint(double(x / scale)) + zp;  // the division in float, as ONNX does
  return static_cast<int32_t>(std::clamp(q, lo, hi));
}
}  // namespace

TEST_CASE("requantize rows follow QuantizeLinear, dispatched and portable alike", "[kernels][quantize]") {
  const QuantizeOps& fast = quantize_ops();
  const QuantizeOps& ref = quantize_ops_ref();
  INFO("isa " << fast.isa);
  std::mt19937 rng(12);
  std::normal_distribution<float> d(0.f, 200.f);
  const float inf = std::numeric_limits<float>::infinity();
  const float specials[] = {2.5f, -2.5f,  3.5f, -0.5f, 0.5f,   1000.f,  -1000.f, std::nanf(""), inf,
                            -inf, 1e-40f, -0.f, 3e38f, 127.5f, -128.5f, 254.5f,  255.5f};
  for (bool is_signed : {false, true})
    for (int32_t zp :
         is_signed ? std::vector<int32_t>{-128, -3, 0, 127} : std::vector<int32_t>{0, 7, 128, 255})
      for (float scale : {1.f, 0.37f, 3e-3f})
        for (int64_t n : {1, 7, 16, 17, 31, 32, 33, 100}) {
          std::vector<float> x(n);
          for (int64_t i = 0; i < n; ++i)
            x[i] = i < int64_t(std::size(specials)) && (i + n) % 2 ? specials[i] * scale : d(rng) * scale;
          std::vector<uint8_t> q1(n + 1, 0xcc), q2(n + 1, 0xcc);
          fast.requantize(x.data(), n, scale, zp, is_signed, q1.data());
          ref.requantize(x.data(), n, scale, zp, is_signed, q2.data());
          INFO("signed " << is_signed << " zp " << zp << " scale " << scale << " n " << n);
          REQUIRE(q1 == q2);  // includes the untouched guard byte at [n]
          for (int64_t i = 0; i < n; ++i) {
            INFO("x " << x[i]);
            const int32_t got = is_signed ? int32_t{static_cast<int8_t>(q2[i])} : int32_t{q2[i]};
            REQUIRE(got == quantize_linear(x[i], scale, zp, is_signed));
          }
        }
  uint8_t t[4];
  const float ties[] = {2.5f, 3.5f, -2.5f, 0.4999999f};
  ref.requantize(ties, 4, 1.f, 0, true, t);
  REQUIRE(int8_t(t[0]) == 2);
  REQUIRE(int8_t(t[1]) == 4);
  REQUIRE(int8_t(t[2]) == -2);
  REQUIRE(int8_t(t[3]) == 0);
}

TEST_CASE("minmax_parallel covers every value of a strided matrix, on one thread or several",
          "[kernels][quantize]") {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  struct Case {
    int64_t rows, cols, ld;
  };
  for (const Case c : {Case{37, 5000, 5003}, Case{1, 100003, 100003}, Case{3, 7, 9}, Case{0, 5, 5}}) {
    INFO(c.rows << "x" << c.cols << " ld " << c.ld);
    std::vector<float> x(static_cast<size_t>(std::max<int64_t>(1, c.rows * c.ld)), 0.f);
    for (int64_t r = 0; r < c.rows; ++r)
      for (int64_t k = 0; k < c.ld; ++k)
        x[static_cast<size_t>(r * c.ld + k)] = k < c.cols ? d(rng) : 1e6f;  // past cols: never read
    if (c.rows > 0) {
      x[static_cast<size_t>((c.rows - 1) * c.ld + c.cols - 1)] = 7.5f;  // the last value
      x[static_cast<size_t>(c.cols / 2)] = -3.25f;
    }
    const float want_lo = c.rows > 0 ? -3.25f : -0.5f, want_hi = c.rows > 0 ? 7.5f : 0.5f;
    for (int threads : {1, 3}) {
      float lo = -0.5f, hi = 0.5f;  // folded in, as minmax does
      const Threading th =
          threads > 1 ? Threading{ortkit::test::thread_parallel_for, nullptr, threads} : Threading{};
      minmax_parallel(x.data(), c.rows, c.cols, c.ld, &lo, &hi, th);
      CHECK(lo == want_lo);
      CHECK(hi == want_hi);
    }
  }
}
