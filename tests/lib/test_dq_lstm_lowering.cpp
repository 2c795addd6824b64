// com.microsoft.DynamicQuantizeLSTM (what quantize_dynamic writes for an LSTM) runs as an LSTM over its
// dequantized, transposed weights: the same outputs as a plain LSTM given those float weights, per
// direction and per channel; weights that are not constants leave the node unsupported, by name.
// scripts/contrib_ops_check.py compares it with ONNX Runtime.
#include <catch2/catch.hpp>

#include "engine_model_builder.h"
#include "ops_test_util.h"
#include "ortkit/error.h"
#include "ortkit/session.h"

using namespace ortkit;
using ortkit::testing::ModelBuilder;

namespace {

constexpr int64_t kT = 3, kB = 2, kI = 3, kH = 2;

Tensor i8(Shape s, std::vector<int8_t> v) {
  return ops::testing::make<int8_t>(DType::i8, std::move(s), std::move(v));
}
std::vector<int8_t> ramp(int64_t n, int step) {
  std::vector<int8_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<int8_t>((i * step) % 41 - 20);
  return v;
}

}  // namespace

TEST_CASE("DynamicQuantizeLSTM equals LSTM over its dequantized weights", "[lstm][int8]") {
  for (bool per_channel : {false, true}) {
    CAPTURE(per_channel);
    const Tensor wq = i8({1, kI, 4 * kH}, ramp(kI * 4 * kH, 7)),
                 rq = i8({1, kH, 4 * kH}, ramp(kH * 4 * kH, 5));
    const int64_t ns = per_channel ? 4 * kH : 1;
    std::vector<float> ws(static_cast<size_t>(ns)), rs(static_cast<size_t>(ns));
    std::vector<int8_t> wz(static_cast<size_t>(ns)), rz(static_cast<size_t>(ns));
    for (int64_t c = 0; c < ns; ++c) {
      ws[c] = 0.02f + 0.005f * static_cast<float>(c), rs[c] = 0.03f;
      wz[c] = static_cast<int8_t>(c % 3 - 1), rz[c] = 2;
    }
    const Shape ss = per_channel ? Shape{1, 4 * kH} : Shape{1};
    ModelBuilder q(14);
    q.import("com.microsoft", 1);
    q.input("x", {kT, kB, kI});
    q.init("W", wq).init("R", rq);
    q.init("ws", ops::testing::f32(ss, ws)).init("wz", i8(ss, wz));
    q.init("rs", ops::testing::f32(ss, rs)).init("rz", i8(ss, rz));
    auto& n = q.node("DynamicQuantizeLSTM", {"x", "W", "R", "", "", "", "", "", "ws", "wz", "rs", "rz"},
                     {"Y", "Yh"}, "dq", "com.microsoft");
    ModelBuilder::attr_int(n, "hidden_size", kH);
    q.output("Y").output("Yh");
    // The same LSTM with W [1, 4H, I] = transpose((q - zp) * scale), R likewise.
    auto deq = [&](const Tensor& t, const std::vector<float>& s, const std::vector<int8_t>& z, int64_t rows) {
      Tensor out(DType::f32, {1, 4 * kH, rows});
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < 4 * kH; ++c) {
          const size_t p = per_channel ? static_cast<size_t>(c) : 0;
          out.data_as<float>()[c * rows + r] =
              (static_cast<float>(t.data_as<int8_t>()[r * 4 * kH + c]) - static_cast<float>(z[p])) * s[p];
        }
      return out;
    };
    ModelBuilder f(14);
    f.input("x", {kT, kB, kI});
    f.init("W", deq(wq, ws, wz, kI)).init("R", deq(rq, rs, rz, kH));
    ModelBuilder::attr_int(f.node("LSTM", {"x", "W", "R"}, {"Y", "Yh"}, "lstm"), "hidden_size", kH);
    f.output("Y").output("Yh");
    const std::vector<NamedTensor> in = {{"x", ops::testing::rnd({kT, kB, kI}, 3)}};
    auto sq = Session::from_bytes(q.bytes()), sf = Session::from_bytes(f.bytes());
    const auto a = sq->run(in);
    const auto b = sf->run(in);
    for (size_t o = 0; o < 2; ++o) CHECK(ops::testing::max_abs_diff(a[o], b[o]) < 1e-6f);
    CHECK(!sq->notes().empty());
  }
}

TEST_CASE("DynamicQuantizeLSTM with weights computed at run time is reported unsupported", "[lstm][int8]") {
  ModelBuilder q(14);
  q.import("com.microsoft", 1);
  q.input("x", {kT, kB, kI});
  q.input("W", {int64_t{1}, kI, 4 * kH}, onnx::TensorProto::INT8);  // a graph input: not a constant
  q.init("R", i8({1, kH, 4 * kH}, ramp(kH * 4 * kH, 5)));
  q.init("s", ops::testing::f32({1}, {0.1f})).init("z", i8({1}, {0}));
  ModelBuilder::attr_int(
      q.node("DynamicQuantizeLSTM", {"x", "W", "R", "", "", "", "", "", "s", "z", "s", "z"}, {"Y"}, "dq",
             "com.microsoft"),
      "hidden_size", kH);
  q.output("Y");
  CHECK_THROWS_WITH(Session::from_bytes(q.bytes()), Catch::Contains("DynamicQuantizeLSTM"));
}
