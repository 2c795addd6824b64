// com.microsoft MultiHeadAttention, GroupQueryAttention and RotaryEmbedding: layouts ONNX Runtime's CPU
// provider cannot run (packed QKV / KV) checked against the unpacked ones, a decode step checked
// against the prompt it continues, a naive reference for one head, and the inputs they refuse.
// scripts/contrib_ops_check.py compares every layout ORT can run with ORT itself.
#include <catch2/catch.hpp>
#include <cmath>

#include "ops/eval.h"
#include "ops/registry.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

namespace {

void check_close(const Tensor& a, const Tensor& b, float tol = 1e-5f) {
  REQUIRE(a.shape() == b.shape());
  CHECK(max_abs_diff(a, b) <= tol);
}

Tensor i32_scalar(int32_t v) {
  return make<int32_t>(DType::i32, {}, {v});
}

}  // namespace

TEST_CASE("MultiHeadAttention: packed QKV and packed KV equal the separate layouts", "[ops][contrib][mha]") {
  const int64_t B = 2, S = 3, L = 4, N = 2, H = 4;
  Attrs at;
  at.set_int("num_heads", N);
  // Packed QKV [B, S, N, 3, H] against q, k, v [B, S, N*H] cut out of it.
  const Tensor packed = rnd({B, S, N, 3, H}, 3);
  Tensor q(DType::f32, {B, S, N * H}), k(DType::f32, {B, S, N * H}), v(DType::f32, {B, S, N * H});
  for (int64_t i = 0; i < B * S * N; ++i)
    for (int64_t x = 0; x < H; ++x) {
      q.data_as<float>()[i * H + x] = packed.data_as<float>()[(i * 3 + 0) * H + x];
      k.data_as<float>()[i * H + x] = packed.data_as<float>()[(i * 3 + 1) * H + x];
      v.data_as<float>()[i * H + x] = packed.data_as<float>()[(i * 3 + 2) * H + x];
    }
  check_close(eval_single("MultiHeadAttention", {packed}, at, ms())[0],
              eval_single("MultiHeadAttention", {q, k, v}, at, ms())[0]);
  // Packed KV [B, L, N, 2, H].
  const Tensor kv = rnd({B, L, N, 2, H}, 5), q2 = rnd({B, S, N * H}, 6);
  Tensor k2(DType::f32, {B, L, N * H}), v2(DType::f32, {B, L, N * H});
  for (int64_t i = 0; i < B * L * N; ++i)
    for (int64_t x = 0; x < H; ++x) {
      k2.data_as<float>()[i * H + x] = kv.data_as<float>()[(i * 2 + 0) * H + x];
      v2.data_as<float>()[i * H + x] = kv.data_as<float>()[(i * 2 + 1) * H + x];
    }
  check_close(eval_single("MultiHeadAttention", {q2, kv}, at, ms())[0],
              eval_single("MultiHeadAttention", {q2, k2, v2}, at, ms())[0]);
}

TEST_CASE("MultiHeadAttention: one head against a naive softmax(QK^T/sqrt(H))V", "[ops][contrib][mha]") {
  const int64_t S = 2, L = 3, H = 2;
  const Tensor q = f32({1, S, H}, {1, 0, 0.5f, -1}), k = f32({1, L, H}, {1, 1, -1, 2, 0, 0.5f});
  const Tensor v = f32({1, L, H}, {1, 2, 3, 4, 5, 6});
  Attrs at;
  at.set_int("num_heads", 1);
  const auto y = vals<float>(eval_single("MultiHeadAttention", {q, k, v}, at, ms())[0]);
  for (int64_t i = 0; i < S; ++i) {
    double s[3], sum = 0;
    for (int64_t j = 0; j < L; ++j) {
      double d = 0;
      for (int64_t x = 0; x < H; ++x) d += q.data_as<float>()[i * H + x] * k.data_as<float>()[j * H + x];
      s[j] = std::exp(d / std::sqrt(double(H)));
      sum += s[j];
    }
    for (int64_t x = 0; x < H; ++x) {
      double o = 0;
      for (int64_t j = 0; j < L; ++j) o += s[j] / sum * v.data_as<float>()[j * H + x];
      CHECK(y[i * H + x] == Approx(o).epsilon(1e-5));
    }
  }
}

TEST_CASE("GroupQueryAttention: a decode step equals the last row of the prompt it continues",
          "[ops][contrib][gqa]") {
  const int64_t B = 1, S = 5, Hq = 4, Hkv = 2, H = 8;
  Attrs at;
  at.set_int("num_heads", Hq);
  at.set_int("kv_num_heads", Hkv);
  at.set_int("do_rotary", 1);
  const Tensor q = rnd({B, S, Hq * H}, 1), k = rnd({B, S, Hkv * H}, 2), v = rnd({B, S, Hkv * H}, 3);
  Tensor cos(DType::f32, {16, H / 2}), sin(DType::f32, {16, H / 2});
  for (int64_t i = 0; i < cos.numel(); ++i) {
    cos.data_as<float>()[i] = std::cos(0.1f * static_cast<float>(i));
    sin.data_as<float>()[i] = std::sin(0.1f * static_cast<float>(i));
  }
  const Tensor none;
  const auto full = eval_single("GroupQueryAttention",
                                {q, k, v, none, none, make<int32_t>(DType::i32, {B}, {int32_t(S - 1)}),
                                 i32_scalar(static_cast<int32_t>(S)), cos, sin},
                                at, ms(3));
  // The prompt's first S-1 tokens, then the last one as a decode step over their present K/V.
  auto rows = [](const Tensor& t, int64_t from, int64_t n) {
    const int64_t w = t.shape()[2];
    Tensor r(DType::f32, {1, n, w});
    std::copy_n(t.data_as<float>() + from * w, n * w, r.data_as<float>());
    return r;
  };
  const auto first = eval_single(
      "GroupQueryAttention",
      {rows(q, 0, S - 1), rows(k, 0, S - 1), rows(v, 0, S - 1), none, none,
       make<int32_t>(DType::i32, {B}, {int32_t(S - 2)}), i32_scalar(static_cast<int32_t>(S - 1)), cos, sin},
      at, ms(3));
  const auto step = eval_single(
      "GroupQueryAttention",
      {rows(q, S - 1, 1), rows(k, S - 1, 1), rows(v, S - 1, 1), first[1], first[2],
       make<int32_t>(DType::i32, {B}, {int32_t(S - 1)}), i32_scalar(static_cast<int32_t>(S)), cos, sin},
      at, ms(3));
  check_close(step[0], rows(full[0], S - 1, 1));
  check_close(step[1], full[1]);  // the present cache: rotated keys in position order
  check_close(step[2], full[2]);
}

TEST_CASE("GroupQueryAttention and MultiHeadAttention refuse what they do not implement",
          "[ops][contrib][gqa]") {
  const Tensor none;
  Attrs at;
  at.set_int("num_heads", 4);
  at.set_int("kv_num_heads", 3);  // not a divisor
  const Tensor q = rnd({1, 2, 32}, 1), k = rnd({1, 2, 24}, 2);
  CHECK_THROWS_AS(
      eval_single("GroupQueryAttention",
                  {q, k, k, none, none, make<int32_t>(DType::i32, {1}, {1}), i32_scalar(2)}, at, ms()),
      Error);
  Attrs sm;
  sm.set_int("num_heads", 4);
  sm.set_int("kv_num_heads", 2);
  sm.set_int("sliding_window_cache", 1);
  const Tensor k2 = rnd({1, 2, 16}, 2);
  CHECK_THROWS_AS(
      eval_single("GroupQueryAttention",
                  {q, k2, k2, none, none, make<int32_t>(DType::i32, {1}, {1}), i32_scalar(2)}, sm, ms()),
      Unsupported);
  // total_sequence_length beyond past + S.
  Attrs ok;
  ok.set_int("num_heads", 4);
  ok.set_int("kv_num_heads", 2);
  CHECK_THROWS_AS(
      eval_single("GroupQueryAttention",
                  {q, k2, k2, none, none, make<int32_t>(DType::i32, {1}, {4}), i32_scalar(5)}, ok, ms()),
      Error);
  Attrs mh;
  mh.set_int("num_heads", 2);
  const Tensor mq = rnd({1, 2, 8}, 1);
  CHECK_THROWS_AS(eval_single("MultiHeadAttention", {mq}, mh, ms()), Error);  // no key, not packed
  CHECK_THROWS_AS(eval_single("MultiHeadAttention",
                              {mq, mq, mq, none, make<int32_t>(DType::i32, {5}, {1, 1, 1, 1, 1})}, mh, ms()),
                  Unsupported);  // [3B + 2] mask
}

TEST_CASE("GroupQueryAttention: smooth_softmax and head_sink add a logit to the denominator",
          "[ops][contrib][gqa]") {
  // One query, one key: p = e^s / (e^s + e^sink), so y = sigmoid(s - sink) * v.
  const int64_t H = 4;
  const Tensor q = f32({1, 1, H}, {1, 0.5f, -1, 2}), k = f32({1, 1, H}, {0.5f, 1, 1, 0.25f});
  const Tensor v = f32({1, 1, H}, {1, -2, 3, 4}), none;
  const float s = (0.5f + 0.5f - 1 + 0.5f) / 2.f;  // q.k / sqrt(H)
  Attrs at;
  at.set_int("num_heads", 1);
  at.set_int("kv_num_heads", 1);
  const std::vector<Tensor> base = {q, k, v, none, none, make<int32_t>(DType::i32, {1}, {0}), i32_scalar(1)};
  at.set_int("smooth_softmax", 1);
  const auto smooth = vals<float>(eval_single("GroupQueryAttention", base, at, ms())[0]);
  std::vector<Tensor> with_sink = base;
  with_sink.resize(12);
  with_sink[11] = f32({1}, {0.75f});
  const auto sunk = vals<float>(eval_single("GroupQueryAttention", with_sink, at, ms())[0]);
  for (int64_t x = 0; x < H; ++x) {
    const float vx = v.data_as<float>()[x];
    CHECK(smooth[x] == Approx(vx / (1.f + std::exp(-s))));
    CHECK(sunk[x] == Approx(vx / (1.f + std::exp(0.75f - s))));
  }
}

TEST_CASE("com.microsoft RotaryEmbedding: a start offset equals explicit position ids",
          "[ops][contrib][rotary]") {
  const int64_t B = 2, S = 3, N = 2, H = 4;
  Tensor cos(DType::f32, {8, H / 2}), sin(DType::f32, {8, H / 2});
  for (int64_t i = 0; i < cos.numel(); ++i) {
    cos.data_as<float>()[i] = std::cos(0.3f * static_cast<float>(i));
    sin.data_as<float>()[i] = std::sin(0.3f * static_cast<float>(i));
  }
  const Tensor x = rnd({B, S, N * H}, 4);
  Attrs at;
  at.set_int("num_heads", N);
  const Tensor start = make<int64_t>(DType::i64, {1}, {2});
  const Tensor ids = make<int64_t>(DType::i64, {B, S}, {2, 3, 4, 2, 3, 4});
  const Tensor a = eval_single("RotaryEmbedding", {x, start, cos, sin}, at, ms())[0];
  check_close(a, eval_single("RotaryEmbedding", {x, ids, cos, sin}, at, ms())[0], 0.f);
  // Position 2 of batch 0, head 0: (x0, x2) and (x1, x3) rotated by the angles of row 2.
  const float* xr = x.data_as<float>();
  const float c0 = cos.data_as<float>()[4], s0 = sin.data_as<float>()[4];
  CHECK(a.data_as<float>()[0] == Approx(c0 * xr[0] - s0 * xr[2]));
  CHECK(a.data_as<float>()[2] == Approx(s0 * xr[0] + c0 * xr[2]));
  const Tensor far = make<int64_t>(DType::i64, {1}, {7});  // 7, 8, 9: past the 8 rows
  CHECK_THROWS_AS(eval_single("RotaryEmbedding", {x, far, cos, sin}, at, ms()), Error);
}
