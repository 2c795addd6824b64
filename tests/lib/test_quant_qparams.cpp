// Scale / zero-point math against hand-computed values (ONNX Runtime's compute_scale_zp semantics).
#include <catch2/catch.hpp>

#include "quant/qparams.h"

using namespace ortkit;
using namespace ortkit::quant;

TEST_CASE("quant: integer ranges per type, symmetry and reduce_range", "[quant]") {
  CHECK(qrange(QuantType::u8, false, false).qmin == 0);
  CHECK(qrange(QuantType::u8, false, false).qmax == 255);
  CHECK(qrange(QuantType::u8, true, false).qmax == 127);
  CHECK(qrange(QuantType::s8, false, false).qmin == -128);
  CHECK(qrange(QuantType::s8, false, true).qmin == -127);
  CHECK(qrange(QuantType::s8, false, true).qmax == 127);
  CHECK(qrange(QuantType::s8, true, true).qmin == -64);
  CHECK(qrange(QuantType::s8, true, false).qmax == 64);
}

TEST_CASE("quant: asymmetric u8 scale and zero point", "[quant]") {
  auto p = compute_qparams(-1.0f, 3.0f, qrange(QuantType::u8, false, false), false);
  CHECK(p.scale == Approx(4.0 / 255.0));
  CHECK(p.zero_point == 64);  // round(0 - (-1) / (4/255)) = round(63.75)
  // The range is widened to contain 0: [2, 4] behaves like [0, 4].
  auto q = compute_qparams(2.0f, 4.0f, qrange(QuantType::u8, false, false), false);
  CHECK(q.scale == Approx(4.0 / 255.0));
  CHECK(q.zero_point == 0);
  auto n = compute_qparams(-4.0f, -2.0f, qrange(QuantType::u8, false, false), false);
  CHECK(n.zero_point == 255);
}

TEST_CASE("quant: symmetric scales and zero points", "[quant]") {
  auto s8 = compute_qparams(-1.0f, 3.0f, qrange(QuantType::s8, false, true), true);
  CHECK(s8.scale == Approx(6.0 / 254.0));
  CHECK(s8.zero_point == 0);
  auto u8 = compute_qparams(-1.0f, 3.0f, qrange(QuantType::u8, false, true), true);
  CHECK(u8.zero_point == 128);  // round(127.5), half to even
  auto rr = compute_qparams(-2.0f, 1.0f, qrange(QuantType::s8, true, true), true);
  CHECK(rr.scale == Approx(4.0 / 128.0));
  CHECK(rr.zero_point == 0);
  auto zero = compute_qparams(0.0f, 0.0f, qrange(QuantType::u8, false, false), false);
  CHECK(zero.scale == 1.0f);
  CHECK(zero.zero_point == 0);
}

TEST_CASE("quant: quantize_value rounds half to even and saturates", "[quant]") {
  QParams p{0.5f, 10};
  QRange r{0, 255};
  CHECK(quantize_value(1.25f, p, r) == 12);  // 2.5 -> 2
  CHECK(quantize_value(1.75f, p, r) == 14);  // 3.5 -> 4
  CHECK(quantize_value(-100.0f, p, r) == 0);
  CHECK(quantize_value(1000.0f, p, r) == 255);
  CHECK(quantize_value(-1.25f, p, r) == 8);  // -2.5 -> -2
}

TEST_CASE("quant: per-tensor and per-channel weights", "[quant]") {
  // [2, 3]: columns are channels along axis 1.
  std::vector<float> w = {1.0f, -0.5f, 0.25f, -2.0f, 0.5f, 0.125f};
  auto r = qrange(QuantType::s8, false, true);
  auto t = quantize_weight(w, {2, 3}, -1, r, true);
  REQUIRE(t.scales.size() == 1);
  CHECK(t.scales[0] == Approx(2.0 / 127.0));
  CHECK(t.q[3] == -127);
  CHECK(t.q[0] == 64);  // 1 / (2/127) = 63.5 -> 64
  auto c = quantize_weight(w, {2, 3}, 1, r, true);
  REQUIRE(c.scales.size() == 3);
  CHECK(c.scales[0] == Approx(2.0 / 127.0));
  CHECK(c.scales[1] == Approx(0.5 / 127.0));
  CHECK(c.scales[2] == Approx(0.25 / 127.0));
  CHECK(c.q[1] == -127);
  CHECK(c.q[4] == 127);
  CHECK(c.q[2] == 127);
  CHECK(c.q[5] == 64);  // 0.125 / (0.25/127) = 63.5 -> 64
  for (auto z : c.zero_points) CHECK(z == 0);
  // Per channel along axis 0 of [2, 3]: rows.
  auto rows = quantize_weight(w, {2, 3}, 0, qrange(QuantType::u8, false, false), false);
  REQUIRE(rows.scales.size() == 2);
  CHECK(rows.scales[0] == Approx(1.5 / 255.0));
  CHECK(rows.zero_points[0] == 85);  // round(0.5 / (1.5/255)) = 85
  CHECK(rows.q[0] == 255);
  CHECK(rows.q[1] == 0);
}
