// RNN/GRU/LSTM against a naive per-element reference (bidirectional, sequence_lens, initial states,
// peepholes, linear_before_reset, layout, clip, constant weights, a thread pool) and Einsum against
// naive loops (batched matmul, diagonal, trace, ellipsis broadcast, three operands, implicit output).
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "ops/eval.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

namespace {

enum class Cell { rnn, gru, lstm };

double sigm(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

struct RefOut {
  Tensor y, yh, yc;
};

/// Layout-0 reference with the default activations. lens empty = full length; b, h0, c0, p may be empty.
RefOut ref_rnn(Cell cell, const Tensor& x, const Tensor& w, const Tensor& r, const Tensor& b,
               const std::vector<int32_t>& lens, const Tensor& h0, const Tensor& c0, const Tensor& p,
               bool lbr, float clip = 0.f) {
  const int64_t S = x.shape()[0], B = x.shape()[1], I = x.shape()[2];
  const int64_t D = w.shape()[0], H = r.shape()[2];
  const int64_t G = cell == Cell::lstm ? 4 : cell == Cell::gru ? 3 : 1;
  RefOut o{Tensor(DType::f32, {S, D, B, H}), Tensor(DType::f32, {D, B, H}), Tensor(DType::f32, {D, B, H})};
  std::fill(o.y.data_as<float>(), o.y.data_as<float>() + o.y.numel(), 0.f);
  const float* X = x.data_as<float>();
  auto cl = [&](double v) { return clip > 0 ? std::min<double>(clip, std::max<double>(-clip, v)) : v; };
  for (int64_t d = 0; d < D; ++d) {
    const float* W = w.data_as<float>() + d * G * H * I;
    const float* R = r.data_as<float>() + d * G * H * H;
    for (int64_t bb = 0; bb < B; ++bb) {
      std::vector<double> h(H, 0.0), c(H, 0.0);
      for (int64_t j = 0; j < H; ++j) {
        if (!h0.empty()) h[j] = h0.data_as<float>()[(d * B + bb) * H + j];
        if (!c0.empty()) c[j] = c0.data_as<float>()[(d * B + bb) * H + j];
      }
      const int64_t len = lens.empty() ? S : lens[bb];
      for (int64_t s = 0; s < len; ++s) {
        const int64_t t = d == 1 ? len - 1 - s : s;
        // xw[g*H+j] = X W^T + Wb ; hr = H R^T + Rb
        std::vector<double> xw(G * H), hr(G * H);
        for (int64_t q = 0; q < G * H; ++q) {
          double a = b.empty() ? 0 : b.data_as<float>()[d * 2 * G * H + q];
          for (int64_t k = 0; k < I; ++k) a += X[(t * B + bb) * I + k] * W[q * I + k];
          double e = b.empty() ? 0 : b.data_as<float>()[d * 2 * G * H + G * H + q];
          for (int64_t k = 0; k < H; ++k) e += h[k] * R[q * H + k];
          xw[q] = a, hr[q] = e;
        }
        std::vector<double> nh(H);
        if (cell == Cell::rnn) {
          for (int64_t j = 0; j < H; ++j) nh[j] = std::tanh(cl(xw[j] + hr[j]));
        } else if (cell == Cell::gru) {
          std::vector<double> z(H), rr(H);
          for (int64_t j = 0; j < H; ++j) {
            z[j] = sigm(cl(xw[j] + hr[j]));
            rr[j] = sigm(cl(xw[H + j] + hr[H + j]));
          }
          for (int64_t j = 0; j < H; ++j) {
            double hh;
            if (lbr) {
              hh = xw[2 * H + j] + rr[j] * hr[2 * H + j];
            } else {  // (r * h) Rh^T + Rbh
              double e = b.empty() ? 0 : b.data_as<float>()[d * 6 * H + 3 * H + 2 * H + j];
              for (int64_t k = 0; k < H; ++k) e += rr[k] * h[k] * R[(2 * H + j) * H + k];
              hh = xw[2 * H + j] + e;
            }
            hh = std::tanh(cl(hh));
            nh[j] = (1 - z[j]) * hh + z[j] * h[j];
          }
        } else {
          const float* P = p.empty() ? nullptr : p.data_as<float>() + d * 3 * H;
          for (int64_t j = 0; j < H; ++j) {
            const double gi = sigm(cl(xw[j] + hr[j] + (P ? P[j] * c[j] : 0)));
            const double gf = sigm(cl(xw[2 * H + j] + hr[2 * H + j] + (P ? P[2 * H + j] * c[j] : 0)));
            const double gc = std::tanh(cl(xw[3 * H + j] + hr[3 * H + j]));
            c[j] = gf * c[j] + gi * gc;
            const double go = sigm(cl(xw[H + j] + hr[H + j] + (P ? P[H + j] * c[j] : 0)));
            nh[j] = go * std::tanh(c[j]);
          }
        }
        h = nh;
        for (int64_t j = 0; j < H; ++j) o.y.data_as<float>()[((t * D + d) * B + bb) * H + j] = float(h[j]);
      }
      for (int64_t j = 0; j < H; ++j) {
        o.yh.data_as<float>()[(d * B + bb) * H + j] = float(h[j]);
        o.yc.data_as<float>()[(d * B + bb) * H + j] = float(c[j]);
      }
    }
  }
  return o;
}

const char* op_name(Cell c) {
  return c == Cell::lstm ? "LSTM" : c == Cell::gru ? "GRU" : "RNN";
}

void check_against_ref(Cell cell, bool bidir, bool with_lens, bool lbr, bool constant, int threads,
                       float clip = 0.f) {
  const int64_t S = 4, B = 3, I = 5, H = 6, D = bidir ? 2 : 1;
  const int64_t G = cell == Cell::lstm ? 4 : cell == Cell::gru ? 3 : 1;
  const Tensor x = rnd({S, B, I}, 1), w = rnd({D, G * H, I}, 2), r = rnd({D, G * H, H}, 3);
  const Tensor b = rnd({D, 2 * G * H}, 4), h0 = rnd({D, B, H}, 5), c0 = rnd({D, B, H}, 6);
  const Tensor p = rnd({D, 3 * H}, 7);
  std::vector<int32_t> lens;
  if (with_lens) lens = {4, 1, 2};
  Attrs a;
  a.set_int("hidden_size", H);
  if (bidir) a.set_string("direction", "bidirectional");
  if (lbr) a.set_int("linear_before_reset", 1);
  if (clip > 0) a.set_float("clip", clip);
  EvalOptions o = at(14);
  o.num_outputs = cell == Cell::lstm ? 3 : 2;
  o.inputs_constant = constant;
  if (threads > 1) o.threading = test_threads(threads);
  std::vector<Tensor> in = {x, w, r, b, with_lens ? i32({B}, lens) : Tensor(), h0};
  if (cell == Cell::lstm) in.push_back(c0), in.push_back(p);
  const std::vector<Tensor> got = eval_single(op_name(cell), in, a, o);
  const RefOut ref = ref_rnn(cell, x, w, r, b, lens, h0, cell == Cell::lstm ? c0 : Tensor(),
                             cell == Cell::lstm ? p : Tensor(), lbr, clip);
  CHECK(max_abs_diff(got[0], ref.y) < 1e-4f);
  CHECK(max_abs_diff(got[1], ref.yh) < 1e-4f);
  if (cell == Cell::lstm) CHECK(max_abs_diff(got[2], ref.yc) < 1e-4f);
}

}  // namespace

TEST_CASE("LSTM matches the reference: directions, sequence_lens, peepholes, states", "[ops][rnn]") {
  for (bool bidir : {false, true})
    for (bool lens : {false, true}) {
      INFO("bidir " << bidir << " lens " << lens);
      check_against_ref(Cell::lstm, bidir, lens, false, false, 1);
    }
  check_against_ref(Cell::lstm, true, true, false, true, 3);          // prepacked weights, pool
  check_against_ref(Cell::lstm, true, false, false, false, 1, 0.5f);  // clip
}

TEST_CASE("GRU matches the reference with and without linear_before_reset", "[ops][rnn]") {
  for (bool lbr : {false, true})
    for (bool bidir : {false, true})
      for (bool lens : {false, true}) {
        INFO("lbr " << lbr << " bidir " << bidir << " lens " << lens);
        check_against_ref(Cell::gru, bidir, lens, lbr, false, 1);
      }
  check_against_ref(Cell::gru, true, true, false, true, 3);
}

TEST_CASE("RNN matches the reference, with clip", "[ops][rnn]") {
  check_against_ref(Cell::rnn, true, true, false, false, 1);
  check_against_ref(Cell::rnn, false, false, false, true, 2, 0.3f);
}

TEST_CASE("RNN reverse direction and custom activations", "[ops][rnn]") {
  // One step per sequence makes the activation visible directly: Y = act(x*w + b).
  const Tensor x = f32({2, 1, 1}, {-2.f, 3.f}), w = f32({1, 1, 1}, {1.f}), r = f32({1, 1, 1}, {0.f});
  Attrs a;
  a.set_int("hidden_size", 1);
  a.set(std::string("activations"), [] {
    Attribute at;
    at.kind = Attribute::Kind::strings;
    at.strings = {"LeakyRelu"};
    return at;
  }());
  Attribute al;
  al.kind = Attribute::Kind::floats;
  al.floats = {0.5f};
  a.set("activation_alpha", al);
  a.set_string("direction", "reverse");
  EvalOptions o = at(14);
  o.num_outputs = 2;
  const auto y = eval_single("RNN", {x, w, r}, a, o);
  // reverse: t=1 first (3 -> 3), then t=0 (-2 -> -1); Y_h is the state after t=0.
  CHECK(vals<float>(y[0]) == std::vector<float>{-1.f, 3.f});
  CHECK(vals<float>(y[1]) == std::vector<float>{-1.f});
}

TEST_CASE("LSTM layout 1 is the transpose of layout 0", "[ops][rnn]") {
  const int64_t S = 3, B = 2, I = 4, H = 5;
  const Tensor x = rnd({S, B, I}, 11), w = rnd({1, 4 * H, I}, 12), r = rnd({1, 4 * H, H}, 13);
  Tensor xt(DType::f32, {B, S, I});
  for (int64_t s = 0; s < S; ++s)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < I; ++i)
        xt.data_as<float>()[(b * S + s) * I + i] = x.data_as<float>()[(s * B + b) * I + i];
  Attrs a;
  a.set_int("hidden_size", H);
  EvalOptions o = at(14);
  o.num_outputs = 2;
  const auto y0 = eval_single("LSTM", {x, w, r}, a, o);
  a.set_int("layout", 1);
  const auto y1 = eval_single("LSTM", {xt, w, r}, a, o);
  REQUIRE(y1[0].shape() == Shape{B, S, 1, H});
  REQUIRE(y1[1].shape() == Shape{B, 1, H});
  float m = 0;
  for (int64_t s = 0; s < S; ++s)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j)
        m = std::max(m, std::fabs(y0[0].data_as<float>()[(s * B + b) * H + j] -
                                  y1[0].data_as<float>()[(b * S + s) * H + j]));
  CHECK(m < 1e-6f);
  CHECK(vals<float>(y0[1]) == vals<float>(y1[1]));  // [1,B,H] vs [B,1,H]: same order
}

TEST_CASE("RNN family rejects bad attributes and shapes", "[ops][rnn]") {
  const Tensor x = rnd({2, 1, 3}), w = rnd({1, 4, 3}), r = rnd({1, 4, 4});
  Attrs a;
  a.set_string("direction", "sideways");
  CHECK_THROWS_AS(eval_single("RNN", {x, w, r}, a, at(14)), Error);
  Attrs b;
  b.set_int("hidden_size", 3);  // R says 4
  CHECK_THROWS_AS(eval_single("RNN", {x, w, r}, b, at(14)), Error);
  CHECK_THROWS_AS(eval_single("RNN", {rnd({2, 3}), w, r}, {}, at(14)), Error);
  Attrs c;
  c.set_int("hidden_size", 4);
  CHECK_THROWS_AS(eval_single("RNN", {x, w, r, Tensor(), i32({1}, {5})}, c, at(14)), Error);  // len > S
}

// ---------------------------------------------------------------------------------------------- Einsum

TEST_CASE("Einsum batched matmul, transposed output and implicit output", "[ops][rnn][einsum]") {
  const Tensor a = rnd({3, 4, 5}, 1), b = rnd({3, 5, 6}, 2);
  Attrs e;
  e.set_string("equation", "bij,bjk->bki");
  const Tensor y = eval_single("Einsum", {a, b}, e, at(12))[0];
  REQUIRE(y.shape() == Shape{3, 6, 4});
  float m = 0;
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t k = 0; k < 6; ++k) {
        double s = 0;
        for (int64_t j = 0; j < 5; ++j)
          s += a.data_as<float>()[(n * 4 + i) * 5 + j] * b.data_as<float>()[(n * 5 + j) * 6 + k];
        m = std::max(m, float(std::fabs(s - y.data_as<float>()[(n * 6 + k) * 4 + i])));
      }
  CHECK(m < 1e-5f);
  // Implicit: "ij,jk" -> "ik"; also on a pool with constant inputs.
  const Tensor p = rnd({4, 5}, 3), q = rnd({5, 7}, 4);
  Attrs im;
  im.set_string("equation", "ij,jk");
  EvalOptions o = at(12);
  o.threading = test_threads(3);
  o.inputs_constant = true;
  const Tensor z = eval_single("Einsum", {p, q}, im, o)[0];
  REQUIRE(z.shape() == Shape{4, 7});
  m = 0;
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t k = 0; k < 7; ++k) {
      double s = 0;
      for (int64_t j = 0; j < 5; ++j) s += p.data_as<float>()[i * 5 + j] * q.data_as<float>()[j * 7 + k];
      m = std::max(m, float(std::fabs(s - z.data_as<float>()[i * 7 + k])));
    }
  CHECK(m < 1e-5f);
}

TEST_CASE("Einsum diagonal, trace, sums and outer product", "[ops][rnn][einsum]") {
  const Tensor x = f32({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Attrs e;
  e.set_string("equation", "ii->i");
  CHECK(vals<float>(eval_single("Einsum", {x}, e, at(12))[0]) == std::vector<float>{1, 5, 9});
  e.set_string("equation", "ii");
  const Tensor tr = eval_single("Einsum", {x}, e, at(12))[0];
  CHECK(tr.shape().empty());
  CHECK(tr.data_as<float>()[0] == 15.f);
  e.set_string("equation", "ij->j");
  CHECK(vals<float>(eval_single("Einsum", {x}, e, at(12))[0]) == std::vector<float>{12, 15, 18});
  e.set_string("equation", "i,j->ij");
  const Tensor u = f32({2}, {1, 2}), v = f32({3}, {3, 4, 5});
  CHECK(vals<float>(eval_single("Einsum", {u, v}, e, at(12))[0]) == std::vector<float>{3, 4, 5, 6, 8, 10});
  // int64 and an empty operand (sum over an empty index is 0).
  e.set_string("equation", "ij,jk->ik");
  const Tensor ia = i64({2, 2}, {1, 2, 3, 4}), ib = i64({2, 1}, {5, 6});
  CHECK(vals<int64_t>(eval_single("Einsum", {ia, ib}, e, at(12))[0]) == std::vector<int64_t>{17, 39});
  const Tensor ea(DType::f32, {2, 0}), eb(DType::f32, {0, 3});
  CHECK(vals<float>(eval_single("Einsum", {ea, eb}, e, at(12))[0]) == std::vector<float>(6, 0.f));
}

TEST_CASE("Einsum ellipsis broadcast and three operands", "[ops][rnn][einsum]") {
  const Tensor a = rnd({2, 1, 3, 4}, 5), b = rnd({5, 4, 2}, 6);
  Attrs e;
  e.set_string("equation", "...ij,...jk->...ik");
  const Tensor y = eval_single("Einsum", {a, b}, e, at(12))[0];
  REQUIRE(y.shape() == Shape{2, 5, 3, 2});
  float m = 0;
  for (int64_t p = 0; p < 2; ++p)
    for (int64_t q = 0; q < 5; ++q)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t k = 0; k < 2; ++k) {
          double s = 0;
          for (int64_t j = 0; j < 4; ++j)
            s += a.data_as<float>()[(p * 3 + i) * 4 + j] * b.data_as<float>()[(q * 4 + j) * 2 + k];
          m = std::max(m, float(std::fabs(s - y.data_as<float>()[((p * 5 + q) * 3 + i) * 2 + k])));
        }
  CHECK(m < 1e-5f);
  const Tensor p = rnd({2, 3}, 7), q = rnd({3, 4}, 8), r = rnd({4, 2}, 9);
  e.set_string("equation", "ij,jk,kl->li");
  const Tensor z = eval_single("Einsum", {p, q, r}, e, at(12))[0];
  REQUIRE(z.shape() == Shape{2, 2});
  m = 0;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t l = 0; l < 2; ++l) {
      double s = 0;
      for (int64_t j = 0; j < 3; ++j)
        for (int64_t k = 0; k < 4; ++k)
          s += p.data_as<float>()[i * 3 + j] * q.data_as<float>()[j * 4 + k] * r.data_as<float>()[k * 2 + l];
      m = std::max(m, float(std::fabs(s - z.data_as<float>()[l * 2 + i])));
    }
  CHECK(m < 1e-5f);
}

TEST_CASE("Einsum rejects malformed equations", "[ops][rnn][einsum]") {
  const Tensor x = rnd({2, 3});
  Attrs e;
  e.set_string("equation", "ij,jk->ik");  // one input only
  CHECK_THROWS_AS(eval_single("Einsum", {x}, e, at(12)), Error);
  e.set_string("equation", "ijk->i");  // rank mismatch
  CHECK_THROWS_AS(eval_single("Einsum", {x}, e, at(12)), Error);
  e.set_string("equation", "ij->iz");  // output index not in input
  CHECK_THROWS_AS(eval_single("Einsum", {x}, e, at(12)), Error);
  e.set_string("equation", "ii->i");  // diagonal of a non-square matrix
  CHECK_THROWS_AS(eval_single("Einsum", {x}, e, at(12)), Error);
}

// ---------------------------------------------------------------------------------------------- detection

TEST_CASE("NonMaxSuppression: per class, limits, strict score threshold, ties", "[ops][rnn][detection]") {
  // Boxes 0 and 1 overlap (IoU 0.81), box 2 is apart.
  const Tensor boxes = f32({1, 3, 4}, {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 2, 1, 3});
  const Tensor scores = f32({1, 2, 3}, {0.9f, 0.8f, 0.7f, 0.5f, 0.5f, 0.6f});
  const Tensor maxo = i64({1}, {3}), iou = f32({1}, {0.5f}), sth = f32({1}, {0.5f});
  const Tensor y = eval_single("NonMaxSuppression", {boxes, scores, maxo, iou, sth}, {}, at(11))[0];
  // class 0: 0 then 2 (1 suppressed); class 1: 2 only (0.5 is not > 0.5).
  CHECK(vals<int64_t>(y) == std::vector<int64_t>{0, 0, 0, 0, 0, 2, 0, 1, 2});
  // No threshold: class 1 ties 0/1 at 0.5 -> lower index first, 1 suppressed by 0.
  const Tensor y2 = eval_single("NonMaxSuppression", {boxes, scores, maxo, iou}, {}, at(11))[0];
  CHECK(vals<int64_t>(y2) == std::vector<int64_t>{0, 0, 0, 0, 0, 2, 0, 1, 2, 0, 1, 0});
  const Tensor none = eval_single("NonMaxSuppression", {boxes, scores}, {}, at(11))[0];  // max 0
  CHECK(none.shape() == Shape{0, 3});
  CHECK_THROWS_AS(eval_single("NonMaxSuppression", {boxes, f32({1, 1, 2}, {1, 2})}, {}, at(11)), Error);
}

TEST_CASE("RoiAlign avg and max modes, both coordinate modes", "[ops][rnn][detection]") {
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[i] = static_cast<float>(i);  // X[y, x] = 4y + x
  const Tensor x = f32({1, 1, 4, 4}, v), bi = i64({1}, {0});
  Attrs a;
  a.set_int("sampling_ratio", 1);
  a.set_string("coordinate_transformation_mode", "output_half_pixel");
  // One sample at (1.5, 1.5): bilinear 7.5; "max" keeps the largest weighted corner, 0.25 * 10.
  CHECK(vals<float>(eval_single("RoiAlign", {x, f32({1, 4}, {0, 0, 3, 3}), bi}, a, at(16))[0]) ==
        std::vector<float>{7.5f});
  a.set_string("coordinate_transformation_mode", "half_pixel");
  CHECK(vals<float>(eval_single("RoiAlign", {x, f32({1, 4}, {0.5f, 0.5f, 3.5f, 3.5f}), bi}, a, at(16))[0]) ==
        std::vector<float>{7.5f});
  a.set_string("mode", "max");
  CHECK(vals<float>(eval_single("RoiAlign", {x, f32({1, 4}, {0.5f, 0.5f, 3.5f, 3.5f}), bi}, a, at(16))[0]) ==
        std::vector<float>{2.5f});
  a.set_string("mode", "median");
  CHECK_THROWS_AS(eval_single("RoiAlign", {x, f32({1, 4}, {0, 0, 3, 3}), bi}, a, at(16)), Error);
  Attrs b;
  CHECK_THROWS_AS(eval_single("RoiAlign", {x, f32({1, 4}, {0, 0, 3, 3}), i64({1}, {2})}, b, at(16)), Error);
  // The adaptive sampling grid (no sampling_ratio) of a NaN or absurdly large roi: an error, not a loop
  // over 1e30 samples; an ordinary roi still runs.
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), 1e30f})
    CHECK_THROWS_WITH(eval_single("RoiAlign", {x, f32({1, 4}, {0, 0, bad, 3}), bi}, b, at(16)),
                      Catch::Contains("too many samples per bin"));
  CHECK(eval_single("RoiAlign", {x, f32({1, 4}, {0, 0, 3, 3}), bi}, b, at(16))[0].numel() == 1);
}
