// The attention products' two paths (ops/attention_matmul.h): up to 4 query rows read K and V in place,
// more rows pack them for the GEMM kernels. The first rows of a 5-row call (packed) must equal the same
// rows computed alone (in place), over head sizes around the 16-lane blocks and odd key counts.
#include <catch2/catch.hpp>
#include <random>
#include <vector>

#include "ops/attention_matmul.h"
#include "ortkit/kernels/registry.h"

using namespace ortkit;

TEST_CASE("attention Q K^T and P V: in-place rows equal the packed GEMM path", "[ops][attention_matmul]") {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (int64_t d : {1, 15, 16, 17, 64, 80})
    for (int64_t T : {1, 7, 33, 257}) {
      CAPTURE(d, T);
      const int64_t S = 5, ldq = d + 3, ldy = d + 2;
      std::vector<float> q(static_cast<size_t>(S * ldq)), k(static_cast<size_t>(T * d)),
          v(static_cast<size_t>(T * d)), p(static_cast<size_t>(S * T));
      for (auto* x : {&q, &k, &v, &p})
        for (float& e : *x) e = nd(rng);
      kernels::PackedB pack;
      std::vector<float> s_packed(static_cast<size_t>(S * T)), y_packed(static_cast<size_t>(S * ldy), -7.f);
      ops::attention_qk(pack, S, q.data(), ldq, k.data(), T, d, s_packed.data(), {});
      ops::attention_pv(pack, S, p.data(), T, v.data(), d, y_packed.data(), ldy, {});
      // Sums of d or T products of N(0, 1) values in another order: tolerance grows with their length.
      const double tol = 1e-6 * static_cast<double>(d + T);
      for (int64_t rows : {1, 4}) {
        std::vector<float> s_direct(static_cast<size_t>(rows * T)),
            y_direct(static_cast<size_t>(rows * ldy), -7.f);
        ops::attention_qk(pack, rows, q.data(), ldq, k.data(), T, d, s_direct.data(), {});
        ops::attention_pv(pack, rows, p.data(), T, v.data(), d, y_direct.data(), ldy, {});
        for (int64_t i = 0; i < rows * T; ++i) REQUIRE(s_direct[i] == Approx(s_packed[i]).margin(tol));
        for (int64_t i = 0; i < rows; ++i) {
          for (int64_t c = 0; c < d; ++c)
            REQUIRE(y_direct[i * ldy + c] == Approx(y_packed[i * ldy + c]).margin(tol));
          for (int64_t c = d; c < ldy; ++c) REQUIRE(y_direct[i * ldy + c] == -7.f);  // past dv: untouched
        }
      }
    }
}

// Under bf16 fast math the attention ops pass the session's float GEMM kind: the packed path then rounds
// Q, K, P and V to bf16 as an unfused MatMul would, while a decode step's few rows stay fp32 in place.
// 1 + 2^-8 lies halfway between two bf16 values and rounds to 1 (nearest even), so the sums tell the
// kinds apart exactly.
TEST_CASE("attention Q K^T and P V run in bf16 when given the bf16 kind", "[ops][attention_matmul]") {
  if (kernels::bf16_fast_math().kind != kernels::GemmKind::bf16) {
    WARN("bf16 fast math runs the fp32 kernel on this CPU");
    return;
  }
  const float x = 1.f + 1.f / 256.f;
  for (int64_t S : {int64_t{4}, int64_t{5}, int64_t{20}}) {
    const int64_t d = 16, T = 9;
    std::vector<float> q(static_cast<size_t>(S * d), x), k(static_cast<size_t>(T * d), x),
        v(static_cast<size_t>(T * d), x), p(static_cast<size_t>(S * T), x);
    std::vector<float> s(static_cast<size_t>(S * T)), y(static_cast<size_t>(S * d));
    kernels::PackedB pack;
    ops::attention_qk(pack, S, q.data(), d, k.data(), T, d, s.data(), {}, kernels::GemmKind::bf16);
    ops::attention_pv(pack, S, p.data(), T, v.data(), d, y.data(), d, {}, kernels::GemmKind::bf16);
    const bool packed = S > 4;  // 4 rows or fewer: fp32, read in place
    const float qk = packed ? static_cast<float>(d) : static_cast<float>(d) * x * x;
    const float pv = packed ? static_cast<float>(T) : static_cast<float>(T) * x * x;
    CAPTURE(S);
    for (float e : s) REQUIRE(e == Approx(qk).epsilon(1e-6));
    for (float e : y) REQUIRE(e == Approx(pv).epsilon(1e-6));
  }
}
