// com.microsoft.MatMulNBits on weights packed by hand: 2, 4 and 8 bits, packed uint8 and float zero
// points, the default zero point, a K that is not a block multiple, bias, batch dims of A, and the
// inputs it refuses. scripts/contrib_ops_check.py compares it with ONNX Runtime (single nodes and BERT
// after ORT's MatMulNBitsQuantizer).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>

#include "ops/eval.h"
#include "ops/registry.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

namespace {

struct Quantized {
  Tensor b, scales, zp_packed, zp_float;
  std::vector<float> w;  // [K, N] what the op must multiply by, for each zero-point form
  std::vector<float> w_zp_float, w_default;
};

/// Random q in [0, 2^bits), packed low bits first per block, with scales and zero points.
Quantized make_weights(int64_t k, int64_t n, int bits, int64_t block, uint32_t seed) {
  const int64_t blocks = (k + block - 1) / block, blob = block * bits / 8, zp_row = (blocks * bits + 7) / 8;
  Quantized r;
  std::vector<uint8_t> b(static_cast<size_t>(n * blocks * blob), 0), zp(static_cast<size_t>(n * zp_row), 0);
  std::vector<float> s(static_cast<size_t>(n * blocks)), zf(static_cast<size_t>(n * blocks));
  uint32_t x = seed;
  auto next = [&] { return x = x * 1664525u + 1013904223u, x >> 8; };
  std::vector<int> q(static_cast<size_t>(n * k)), zq(static_cast<size_t>(n * blocks));
  for (int64_t c = 0; c < n; ++c)
    for (int64_t bl = 0; bl < blocks; ++bl) {
      s[c * blocks + bl] = 0.01f * static_cast<float>(1 + next() % 8);
      zq[c * blocks + bl] = static_cast<int>(next() % (1u << bits));
      zf[c * blocks + bl] = static_cast<float>(next() % 64) / 4.f;
      zp[c * zp_row + bl * bits / 8] |= static_cast<uint8_t>(zq[c * blocks + bl] << ((bl * bits) % 8));
      for (int64_t j = 0; j < block; ++j) {
        const int v = static_cast<int>(next() % (1u << bits));
        b[(c * blocks + bl) * blob + j * bits / 8] |= static_cast<uint8_t>(v << ((j * bits) % 8));
        if (bl * block + j < k) q[c * k + bl * block + j] = v;
      }
    }
  r.b = make<uint8_t>(DType::u8, {n, blocks, blob}, b);
  r.scales = f32({n * blocks}, s);
  r.zp_packed = make<uint8_t>(DType::u8, {n * zp_row}, zp);
  r.zp_float = f32({n * blocks}, zf);
  r.w.resize(static_cast<size_t>(k * n));
  r.w_zp_float.resize(r.w.size());
  r.w_default.resize(r.w.size());
  for (int64_t c = 0; c < n; ++c)
    for (int64_t i = 0; i < k; ++i) {
      const int64_t bl = c * blocks + i / block;
      const float v = static_cast<float>(q[c * k + i]);
      r.w[i * n + c] = (v - static_cast<float>(zq[bl])) * s[bl];
      r.w_zp_float[i * n + c] = (v - zf[bl]) * s[bl];
      r.w_default[i * n + c] = (v - static_cast<float>(1 << (bits - 1))) * s[bl];
    }
  return r;
}

std::vector<float> matmul_ref(const Tensor& a, const std::vector<float>& w, int64_t k, int64_t n,
                              const std::vector<float>* bias) {
  const int64_t m = a.numel() / k;
  std::vector<float> y(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = bias ? (*bias)[j] : 0.0;
      for (int64_t p = 0; p < k; ++p) acc += double(a.data_as<float>()[i * k + p]) * w[p * n + j];
      y[i * n + j] = static_cast<float>(acc);
    }
  return y;
}

Attrs nbits_attrs(int64_t k, int64_t n, int bits, int64_t block) {
  Attrs at;
  at.set_int("K", k);
  at.set_int("N", n);
  at.set_int("bits", bits);
  at.set_int("block_size", block);
  return at;
}

void check_close(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(1e-4).epsilon(1e-5));
}

}  // namespace

TEST_CASE("MatMulNBits: 2, 4 and 8 bits with every zero-point form", "[ops][contrib][nbits]") {
  for (int bits : {2, 4, 8})
    for (int64_t k : {16, 40, 64}) {  // 40: the last block is partial
      const int64_t n = 5, block = 16;
      CAPTURE(bits, k);
      const Quantized q = make_weights(k, n, bits, block, static_cast<uint32_t>(bits * 100 + k));
      const Tensor a = rnd({2, 3, k}, 7);
      const Attrs at = nbits_attrs(k, n, bits, block);
      const auto y = eval_single("MatMulNBits", {a, q.b, q.scales, q.zp_packed}, at, ms(1, true));
      CHECK(y[0].shape() == Shape{2, 3, n});
      check_close(vals<float>(y[0]), matmul_ref(a, q.w, k, n, nullptr));
      check_close(vals<float>(eval_single("MatMulNBits", {a, q.b, q.scales, q.zp_float}, at, ms(1, true))[0]),
                  matmul_ref(a, q.w_zp_float, k, n, nullptr));
      check_close(vals<float>(eval_single("MatMulNBits", {a, q.b, q.scales}, at, ms(1, true))[0]),
                  matmul_ref(a, q.w_default, k, n, nullptr));
    }
}

TEST_CASE("MatMulNBits: bias, and under bf16 precision", "[ops][contrib][nbits]") {
  const int64_t k = 64, n = 33, block = 32;
  const Quantized q = make_weights(k, n, 4, block, 5);
  const Tensor a = rnd({4, k}, 3);
  std::vector<float> bias(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) bias[j] = 0.5f * static_cast<float>(j % 5) - 1.f;
  const auto y = eval_single("MatMulNBits", {a, q.b, q.scales, q.zp_packed, Tensor(), f32({n}, bias)},
                             nbits_attrs(k, n, 4, block), ms(1, true));
  check_close(vals<float>(y[0]), matmul_ref(a, q.w, k, n, &bias));
  EvalOptions o = ms(1, true);
  o.precision = Precision::bf16;  // A and the dequantized weights rounded to bf16: ~3 significant digits
  const auto yb =
      vals<float>(eval_single("MatMulNBits", {a, q.b, q.scales, q.zp_packed, Tensor(), f32({n}, bias)},
                              nbits_attrs(k, n, 4, block), o)[0]);
  const auto want = matmul_ref(a, q.w, k, n, &bias);
  for (size_t i = 0; i < want.size(); ++i) CHECK(yb[i] == Approx(want[i]).margin(0.05));
}

TEST_CASE("MatMulNBits: 4-bit decode rows (fused int4 kernel) and prompt rows (float GEMM) agree",
          "[ops][contrib][nbits]") {
  // Up to 8 rows run the fused kernel on the packed nibbles, more rows a float GEMM over weights
  // dequantized on first use: both must give the reference, odd N and K across panels and blocks.
  const int64_t k = 97, n = 45, block = 32;
  const Quantized q = make_weights(k, n, 4, block, 21);
  const Attrs at = nbits_attrs(k, n, 4, block);
  for (int64_t rows : {1, 3, 8, 9, 20}) {
    CAPTURE(rows);
    const Tensor a = rnd({rows, k}, static_cast<uint32_t>(rows));
    check_close(vals<float>(eval_single("MatMulNBits", {a, q.b, q.scales, q.zp_packed}, at, ms(1, true))[0]),
                matmul_ref(a, q.w, k, n, nullptr));
    check_close(vals<float>(eval_single("MatMulNBits", {a, q.b, q.scales}, at, ms(1, true))[0]),
                matmul_ref(a, q.w_default, k, n, nullptr));
  }
}

TEST_CASE("MatMulNBits: prompts over weights too big for a float copy dequantize per call, same results",
          "[ops][contrib][nbits]") {
  // ORTKIT_Q4_FLOAT_COPY_MAX=0 streams every node: chunks of 32-column panels dequantized per call into
  // per-thread scratch (K = 2048: two panels per chunk, so N = 70 is a full chunk and a partial one).
  // Same kernel, same K order per column: the same bits as over the float copy.
  const int64_t k = 2048, n = 70, block = 64;
  const Quantized q = make_weights(k, n, 4, block, 31);
  const Attrs at = nbits_attrs(k, n, 4, block);
  std::vector<float> bias(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) bias[j] = 0.25f * static_cast<float>(j % 7) - 0.5f;
  const Tensor a = rnd({2, 11, k}, 17);
  const std::vector<Tensor> ins{a, q.b, q.scales, q.zp_packed, Tensor(), f32({n}, bias)};
  for (int threads : {1, 3}) {
    CAPTURE(threads);
    EvalOptions o = ms(1, true);
    if (threads > 1) o.threading = test_threads(threads);
    const auto copied = vals<float>(eval_single("MatMulNBits", ins, at, o)[0]);
    ::setenv("ORTKIT_Q4_FLOAT_COPY_MAX", "0", 1);
    const auto streamed = vals<float>(eval_single("MatMulNBits", ins, at, o)[0]);
    ::unsetenv("ORTKIT_Q4_FLOAT_COPY_MAX");
    CHECK(streamed == copied);
    check_close(streamed, matmul_ref(a, q.w, k, n, &bias));
  }
}

TEST_CASE("MatMulNBits: accuracy_level 4 quantizes A to int8 per block (within its rounding error)",
          "[ops][contrib][nbits]") {
  // With AVX-512 VNNI the int4 x int8 kernel runs (as ONNX Runtime's CompInt8; scripts/contrib_ops_check.py
  // compares it with ORT to 2e-5); elsewhere fp32. Either way the result is within A's int8 rounding:
  // |error| <= sum_k |w| * max|a_block| / 254.
  const int64_t k = 96, n = 37, block = 32;
  const Quantized q = make_weights(k, n, 4, block, 33);
  Attrs at = nbits_attrs(k, n, 4, block);
  at.set_int("accuracy_level", 4);
  for (int64_t rows : {1, 9}) {
    CAPTURE(rows);
    const Tensor a = rnd({rows, k}, static_cast<uint32_t>(40 + rows));
    const auto got =
        vals<float>(eval_single("MatMulNBits", {a, q.b, q.scales, q.zp_packed}, at, ms(1, true))[0]);
    const auto want = matmul_ref(a, q.w, k, n, nullptr);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j) {
        double bound = 0;
        for (int64_t b = 0; b < k / block; ++b) {
          float amax = 0;
          for (int64_t i = b * block; i < (b + 1) * block; ++i)
            amax = std::max(amax, std::abs(a.data_as<float>()[r * k + i]));
          for (int64_t i = b * block; i < (b + 1) * block; ++i)
            bound += std::abs(q.w[i * n + j]) * amax / 254;
        }
        CHECK(std::abs(got[r * n + j] - want[r * n + j]) <= bound + 1e-5);
      }
  }
}

TEST_CASE("MatMulNBits: what it refuses, with the reason", "[ops][contrib][nbits]") {
  const int64_t k = 32, n = 4, block = 16;
  const Quantized q = make_weights(k, n, 4, block, 9);
  const Tensor a = rnd({2, k}, 1);
  // 3 bits: not a layout ONNX Runtime writes.
  CHECK_THROWS_AS(eval_single("MatMulNBits", {a, q.b, q.scales}, nbits_attrs(k, n, 3, block), ms(1, true)),
                  Unsupported);
  // A whose last dimension is not K.
  CHECK_THROWS_AS(eval_single("MatMulNBits", {rnd({2, k + 1}, 1), q.b, q.scales}, nbits_attrs(k, n, 4, block),
                              ms(1, true)),
                  Error);
  // Too few scales for N * n_blocks.
  CHECK_THROWS_AS(
      eval_single("MatMulNBits", {a, q.b, f32({3}, {1, 1, 1})}, nbits_attrs(k, n, 4, block), ms(1, true)),
      Error);
  // B not constant: nothing to dequantize once.
  EvalOptions dyn = ms(1, true);
  dyn.inputs_constant = false;
  CHECK_THROWS_AS(eval_single("MatMulNBits", {a, q.b, q.scales}, nbits_attrs(k, n, 4, block), dyn),
                  Unsupported);
  // A permuted g_idx (act-order) is refused; the plain k / block_size one is accepted.
  std::vector<int32_t> plain(static_cast<size_t>(k)), perm(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i)
    plain[i] = static_cast<int32_t>(i / block), perm[i] = static_cast<int32_t>((k - 1 - i) / block);
  const Tensor g_plain = make<int32_t>(DType::i32, {k}, plain), g_perm = make<int32_t>(DType::i32, {k}, perm);
  CHECK_NOTHROW(eval_single("MatMulNBits", {a, q.b, q.scales, q.zp_packed, g_plain},
                            nbits_attrs(k, n, 4, block), ms(1, true)));
  CHECK_THROWS_AS(eval_single("MatMulNBits", {a, q.b, q.scales, q.zp_packed, g_perm},
                              nbits_attrs(k, n, 4, block), ms(1, true)),
                  Unsupported);
}
