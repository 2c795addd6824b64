// The 4-bit weight GEMM (q4gemm.h): every kernel this CPU runs against a plain double-precision
// dequantize-then-multiply oracle over a sweep of shapes (m 1..9 across the 4-row tile, n and K around
// the 32-column panel and the block, odd K), every zero-point form, A ending at a guard page (an odd K
// must not read A[K]), C strides with canaries past n; threaded runs equal to the one-thread run.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "guarded.h"
#include "ortkit/kernels/q4gemm.h"
#include "threads.h"

using namespace ortkit::kernels;

namespace {

enum class Zp { none, u4, f32 };

struct Case {
  int64_t n, k, block, blocks;
  std::vector<uint8_t> q, zp_u4;
  std::vector<float> scales, zp_f32;
  Zp zp;
};

Case make_case(int64_t n, int64_t k, int64_t block, Zp zp, std::mt19937& rng) {
  Case c{n, k, block, (k + block - 1) / block, {}, {}, {}, {}, zp};
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> sc(0.01f, 0.2f);
  c.q.resize(static_cast<size_t>(n * c.blocks * block / 2));
  for (auto& v : c.q) v = static_cast<uint8_t>(byte(rng));
  c.scales.resize(static_cast<size_t>(n * c.blocks));
  for (auto& v : c.scales) v = sc(rng);
  if (zp == Zp::u4) {
    c.zp_u4.resize(static_cast<size_t>(n * ((c.blocks + 1) / 2)));
    for (auto& v : c.zp_u4) v = static_cast<uint8_t>(byte(rng));
  } else if (zp == Zp::f32) {
    c.zp_f32.resize(static_cast<size_t>(n * c.blocks));
    for (auto& v : c.zp_f32) v = std::uniform_real_distribution<float>(0.f, 15.f)(rng);
  }
  return c;
}

double weight(const Case& c, int64_t n, int64_t k) {
  const int64_t b = k / c.block, i = k % c.block;
  const uint8_t byte = c.q[(n * c.blocks + b) * (c.block / 2) + i / 2];
  const double q = i & 1 ? byte >> 4 : byte & 15;
  double zp = 8;
  if (c.zp == Zp::u4) {
    const uint8_t z = c.zp_u4[n * ((c.blocks + 1) / 2) + b / 2];
    zp = b & 1 ? z >> 4 : z & 15;
  } else if (c.zp == Zp::f32) {
    zp = c.zp_f32[n * c.blocks + b];
  }
  return (q - zp) * c.scales[n * c.blocks + b];
}

Q4Weights pack(const Case& c) {
  return pack_q4(c.n, c.k, c.block, c.q.data(), c.scales.data(), c.zp == Zp::u4 ? c.zp_u4.data() : nullptr,
                 c.zp == Zp::f32 ? c.zp_f32.data() : nullptr);
}

}  // namespace

TEST_CASE("q4 kernels match a dequantize-then-multiply oracle over edge shapes", "[kernels][q4gemm]") {
  std::mt19937 rng(41);
  std::normal_distribution<float> nd(0.f, 1.f);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  struct Shape {
    int64_t n, k, block;
  };
  const Shape shapes[] = {{1, 1, 16},   {31, 15, 16},  {32, 16, 16},  {33, 17, 16},  {17, 33, 32},
                          {64, 64, 32}, {65, 100, 32}, {5, 257, 128}, {96, 300, 64}, {40, 31, 16}};
  for (const Shape& s : shapes)
    for (Zp zp : {Zp::none, Zp::u4, Zp::f32})
      for (int64_t m : {1, 2, 3, 4, 5, 9}) {
        const Case c = make_case(s.n, s.k, s.block, zp, rng);
        const Q4Weights w = pack(c);
        const int64_t lda = s.k + (m > 1 ? 3 : 0), ldc = s.n + 5;
        // A ends at a guard page: the last row's k = K is unmapped.
        ortkit::test::Guarded<float> a(static_cast<size_t>((m - 1) * lda + s.k));
        for (size_t i = 0; i < a.size(); ++i) a[i] = nd(rng);
        std::vector<float> bias(static_cast<size_t>(s.n));
        for (auto& v : bias) v = nd(rng);
        for (const Q4Kernel* kern : q4_kernels()) {
          INFO(kern->name << " m " << m << " n " << s.n << " k " << s.k << " block " << s.block << " zp "
                          << static_cast<int>(zp));
          for (bool with_bias : {false, true}) {
            std::vector<float> out(static_cast<size_t>(m * ldc), nan);
            q4_gemm(m, a.data(), lda, w, out.data(), ldc, with_bias ? bias.data() : nullptr, {}, kern);
            for (int64_t r = 0; r < m; ++r) {
              for (int64_t j = 0; j < s.n; ++j) {
                double want = with_bias ? bias[j] : 0.0, mag = std::abs(want);
                for (int64_t kk = 0; kk < s.k; ++kk) {
                  const double p = double(a[r * lda + kk]) * weight(c, j, kk);
                  want += p;
                  mag += std::abs(p) + std::abs(a[r * lda + kk]) * 15 * c.scales[j * c.blocks + kk / s.block];
                }
                REQUIRE(std::abs(out[r * ldc + j] - want) <= 2e-6 * mag + 1e-6);
              }
              for (int64_t j = s.n; j < ldc; ++j) REQUIRE(std::isnan(out[r * ldc + j]));  // canaries
            }
          }
        }
      }
}

TEST_CASE("q4 gemm split over threads equals the one-thread result", "[kernels][q4gemm]") {
  std::mt19937 rng(42);
  std::normal_distribution<float> nd(0.f, 1.f);
  const Case c = make_case(300, 190, 32, Zp::u4, rng);
  const Q4Weights w = pack(c);
  for (int64_t m : {1, 6}) {
    std::vector<float> a(static_cast<size_t>(m * c.k));
    for (auto& v : a) v = nd(rng);
    std::vector<float> one(static_cast<size_t>(m * c.n)), many(one.size());
    q4_gemm(m, a.data(), c.k, w, one.data(), c.n, nullptr);
    Threading th{ortkit::test::thread_parallel_for, nullptr, 3};
    q4_gemm(m, a.data(), c.k, w, many.data(), c.n, nullptr, th);
    REQUIRE(one == many);
  }
}

TEST_CASE("q4 packing puts k pairs of a column in one byte, panel by panel", "[kernels][q4gemm]") {
  // Column 33 (panel 1, lane 1), K = 3, block 16: q = 1, 2, 3 in the low, high, low nibbles.
  const int64_t n = 34, k = 3, block = 16;
  std::vector<uint8_t> q(static_cast<size_t>(n * block / 2), 0);
  q[33 * 8 + 0] = 0x21;
  q[33 * 8 + 1] = 0x03;
  std::vector<float> s(n, 0.5f);
  const std::vector<uint8_t> zp(n, 0x05);
  const Q4Weights w = pack_q4(n, k, block, q.data(), s.data(), zp.data(), nullptr);
  REQUIRE(w.panels == 2);
  REQUIRE(w.kpairs == 2);
  const uint8_t* p1 = w.q_data() + w.kpairs * 32;
  CHECK(p1[1] == 0x21);
  CHECK(p1[32 + 1] == 0x03);
  CHECK(w.scale[32 + 1] == 0.5f);
  CHECK(w.nzs[32 + 1] == -2.5f);
  CHECK(w.scale[32 + 2] == 0.f);  // columns past n contribute nothing
}

TEST_CASE("q4s8: per-block quantization of A rounds to even, keeps sums, zero-pads to a quad",
          "[kernels][q4gemm]") {
  // Block 16 of K = 18: max |a| 127 in the first block (scale 1), the second block all zero.
  std::vector<float> a(18, 0.f);
  a[0] = 127.f;
  a[1] = 2.5f;   // tie: 2
  a[2] = -3.5f;  // tie: -4
  a[3] = 0.49f;
  std::vector<int8_t> qa(20, 99);
  float scale[2], sum[2];
  q4s8_quantize_row(a.data(), 18, 20, 16, qa.data(), scale, sum);
  CHECK(scale[0] == 1.f);
  CHECK(qa[0] == 127);
  CHECK(qa[1] == 2);
  CHECK(qa[2] == -4);
  CHECK(qa[3] == 0);
  CHECK(sum[0] == 125.f);
  CHECK(scale[1] == 0.f);
  CHECK(sum[1] == 0.f);
  for (int i = 16; i < 20; ++i) CHECK(qa[i] == 0);
}

TEST_CASE("q4s8 kernels: exact block dot products of quantized A, and close to the fp32 product",
          "[kernels][q4gemm]") {
  std::mt19937 rng(43);
  std::normal_distribution<float> nd(0.f, 1.f);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  struct Shape {
    int64_t n, k, block;
  };
  const Shape shapes[] = {{1, 1, 16},   {31, 15, 16},  {33, 17, 16},
                          {17, 33, 32}, {65, 100, 32}, {40, 258, 128}};
  for (const Shape& s : shapes)
    for (Zp zp : {Zp::none, Zp::u4, Zp::f32})
      for (int64_t m : {1, 2, 4, 5, 9}) {
        const Case c = make_case(s.n, s.k, s.block, zp, rng);
        const Q4S8Weights w =
            pack_q4_s8(c.n, c.k, c.block, c.q.data(), c.scales.data(),
                       zp == Zp::u4 ? c.zp_u4.data() : nullptr, zp == Zp::f32 ? c.zp_f32.data() : nullptr);
        const int64_t lda = s.k + 1, ldc = s.n + 3, kp = w.kp;
        std::vector<float> a(static_cast<size_t>(m * lda));
        for (auto& v : a) v = nd(rng);
        // The oracle: A quantized by the shared row function, then exact sums in double.
        std::vector<int8_t> qa(static_cast<size_t>(m * kp));
        std::vector<float> sa(static_cast<size_t>(m * c.blocks)), ss(sa.size());
        for (int64_t r = 0; r < m; ++r)
          q4s8_quantize_row(a.data() + r * lda, s.k, kp, s.block, qa.data() + r * kp,
                            sa.data() + r * c.blocks, ss.data() + r * c.blocks);
        std::vector<float> bias(static_cast<size_t>(s.n));
        for (auto& v : bias) v = nd(rng);
        for (const Q4S8Kernel* kern : q4s8_kernels()) {
          INFO(kern->name << " m " << m << " n " << s.n << " k " << s.k << " block " << s.block << " zp "
                          << static_cast<int>(zp));
          std::vector<float> out(static_cast<size_t>(m * ldc), nan);
          q4_gemm_s8(m, a.data(), lda, w, out.data(), ldc, bias.data(), {}, kern);
          for (int64_t r = 0; r < m; ++r) {
            for (int64_t j = 0; j < s.n; ++j) {
              double want = bias[j], mag = std::abs(want), fp32 = bias[j], wabs = 0;
              for (int64_t b = 0; b < c.blocks; ++b) {
                double dot = 0;
                for (int64_t kk = b * s.block; kk < std::min(s.k, (b + 1) * s.block); ++kk) {
                  const double wq = weight(c, j, kk) / c.scales[j * c.blocks + b];  // q - zp
                  dot += qa[r * kp + kk] * wq;
                  fp32 += double(a[r * lda + kk]) * weight(c, j, kk);
                  wabs += std::abs(weight(c, j, kk)) * sa[r * c.blocks + b];
                }
                const double term = dot * sa[r * c.blocks + b] * c.scales[j * c.blocks + b];
                want += term;
                mag += std::abs(term) + 16.0 * 127 * sa[r * c.blocks + b] * c.scales[j * c.blocks + b];
              }
              const float got = out[r * ldc + j];
              REQUIRE(std::abs(got - want) <= 1e-6 * mag + 1e-6);
              REQUIRE(std::abs(got - fp32) <= 0.5 * wabs + 1e-4);  // |a - scale * qa| <= scale / 2
            }
            for (int64_t j = s.n; j < ldc; ++j) REQUIRE(std::isnan(out[r * ldc + j]));
          }
        }
      }
}

TEST_CASE("q4s8 gemm split over threads equals the one-thread result", "[kernels][q4gemm]") {
  std::mt19937 rng(44);
  std::normal_distribution<float> nd(0.f, 1.f);
  const Case c = make_case(300, 190, 32, Zp::u4, rng);
  const Q4S8Weights w = pack_q4_s8(c.n, c.k, c.block, c.q.data(), c.scales.data(), c.zp_u4.data(), nullptr);
  std::vector<float> a(static_cast<size_t>(6 * c.k));
  for (auto& v : a) v = nd(rng);
  std::vector<float> one(static_cast<size_t>(6 * c.n)), many(one.size());
  q4_gemm_s8(6, a.data(), c.k, w, one.data(), c.n, nullptr);
  Threading th{ortkit::test::thread_parallel_for, nullptr, 3};
  q4_gemm_s8(6, a.data(), c.k, w, many.data(), c.n, nullptr, th);
  REQUIRE(one == many);
}
