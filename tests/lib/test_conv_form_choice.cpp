// Which conv form a session picks by default: Winograd F(2x2, 3x3) for fp32 3x3 stride-1 convs where it
// measured faster (WinogradConv::pays), the few-channel loop for fp32 convs of up to 4 input channels (CNN
// stems), the GEMM forms elsewhere (small images at batch 1, strides, bf16), and ORTKIT_CONV_FORM
// overrides it. The outputs of every choice are checked against a naive conv.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <string>

#include "engine_model_builder.h"
#include "ortkit/kernels/registry.h"
#include "ortkit/session.h"

using namespace ortkit;
using ortkit::testing::make_random;
using ortkit::testing::ModelBuilder;

namespace {

struct Spec {
  int64_t cin, cout, hw, stride, batch = 1;
};

ModelBuilder conv_model(const Spec& s) {
  ModelBuilder mb;
  mb.input("x", {s.batch, s.cin, s.hw, s.hw});
  mb.init("w", make_random({s.cout, s.cin, 3, 3}, 5));
  mb.init("b", make_random({s.cout}, 6));
  auto& n = mb.node("Conv", {"x", "w", "b"}, {"y"});
  ModelBuilder::attr_ints(n, "pads", {1, 1, 1, 1});
  ModelBuilder::attr_ints(n, "strides", {s.stride, s.stride});
  mb.output("y");
  return mb;
}

// |y - conv(x)|, relative to the largest sum of |x * w| terms.
float worst_error(const Tensor& x, const Spec& s, const Tensor& y) {
  const Tensor w = make_random({s.cout, s.cin, 3, 3}, 5), b = make_random({s.cout}, 6);
  const int64_t H = s.hw, OH = (H + 2 - 3) / s.stride + 1;
  const float *px = x.data_as<float>(), *py = y.data_as<float>(), *pw = w.data_as<float>();
  float worst = 0.f;
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t m = 0; m < s.cout; ++m)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OH; ++ow) {
          double acc = b.data_as<float>()[m], mag = 0;
          for (int64_t c = 0; c < s.cin; ++c)
            for (int64_t i = 0; i < 3; ++i)
              for (int64_t j = 0; j < 3; ++j) {
                const int64_t ih = oh * s.stride - 1 + i, iw = ow * s.stride - 1 + j;
                if (ih < 0 || ih >= H || iw < 0 || iw >= H) continue;
                const double t =
                    double{px[((n * s.cin + c) * H + ih) * H + iw]} * pw[((m * s.cin + c) * 3 + i) * 3 + j];
                acc += t;
                mag += std::fabs(t);
              }
          const float e = static_cast<float>(std::fabs(py[((n * s.cout + m) * OH + oh) * OH + ow] - acc) /
                                             std::max(mag, 1.0));
          worst = std::max(worst, e);
        }
  return worst;
}

/// A session over conv_model(spec) on `threads` threads, run once on random input, its output checked.
auto run_checked(const Spec& spec, int threads) {
  SessionOptions o;
  o.threads = threads;
  auto s = Session::from_bytes(conv_model(spec).bytes(), o);
  const Tensor x = make_random({spec.batch, spec.cin, spec.hw, spec.hw}, 7);
  const auto y = s->run({{"x", x}});
  CHECK(worst_error(x, spec, y[0]) < 4e-7f);
  return s;
}

bool uses_winograd(const Session& s) {
  const auto k = s.kernels_used();
  return std::find(k.begin(), k.end(), "conv_winograd_f2x3") != k.end();
}

}  // namespace

TEST_CASE("Conv picks Winograd by default where it pays, and ORTKIT_CONV_FORM overrides", "[conv][session]") {
  ::unsetenv("ORTKIT_CONV_FORM");
  struct Want {
    Spec spec;
    bool winograd;
    const char* why;
    // The answer holds for 32-column GEMM panels (AVX-512, AVX2), not for 8 or 24 (reference, SVE 256).
    bool panel32 = false;
  };
  const Want wants[] = {
      {{16, 16, 10, 1}, true, "16 channels, 10x10 (25 tiles)", true},
      {{24, 32, 19, 1}, true, "odd size, cin != cout"},
      {{8, 16, 20, 1}, false, "cin under 16"},
      {{16, 8, 20, 1}, false, "cout under 16"},
      {{32, 32, 8, 1}, false, "8x8: 16 tiles, half a panel", true},
      {{32, 32, 7, 1, 4}, true, "7x7 at batch 4: chunks span images"},
      {{32, 32, 7, 1, 1}, false, "7x7 at batch 1", true},
      {{16, 16, 20, 2}, false, "stride 2"},
  };
  const kernels::GemmKernel* f32 = kernels::dispatched(kernels::GemmKind::f32);
  for (const Want& w : wants)
    for (int threads : {1, 2}) {
      INFO(w.why << ", " << threads << " threads");
      const auto s = run_checked(w.spec, threads);
      if (!w.panel32 || (f32 && f32->nr == 32)) CHECK(uses_winograd(*s) == w.winograd);
    }
  // bf16 fast math keeps its GEMM forms: Winograd is an fp32 form. Where bf16 fast math runs the fp32
  // kernel (no bf16 kernel, ORTKIT_MAX_ISA=avx2, or one slower than fp32) the conv is an fp32 conv.
  {
    SessionOptions o;
    o.precision = Precision::bf16;
    auto s = Session::from_bytes(conv_model({16, 16, 10, 1}).bytes(), o);
    s->run({{"x", make_random({1, 16, 10, 10}, 7)}});
    CHECK(uses_winograd(*s) == (kernels::bf16_fast_math().kind != kernels::GemmKind::bf16));
  }
  // Forced off and on.
  for (const char* form : {"direct", "winograd"}) {
    ::setenv("ORTKIT_CONV_FORM", form, 1);
    const Spec spec{8, 16, 20, 1};  // not a default pick
    auto s = Session::from_bytes(conv_model(spec).bytes());
    const Tensor x = make_random({1, 8, 20, 20}, 7);
    const auto y = s->run({{"x", x}});
    ::unsetenv("ORTKIT_CONV_FORM");
    CHECK(uses_winograd(*s) == (std::string(form) == "winograd"));
    CHECK(worst_error(x, spec, y[0]) < 4e-7f);
  }
}

TEST_CASE(
    "a depthwise conv names its path: 16-channel blocks up to 16 wide, row groups to 64, plane kernels past "
    "that",
    "[conv][session]") {
  for (const int64_t hw : {int64_t{14}, int64_t{28}, int64_t{70}}) {
    ModelBuilder mb;
    mb.input("x", {1, 20, hw, hw});
    mb.init("w", make_random({20, 1, 3, 3}, 5));
    auto& n = mb.node("Conv", {"x", "w"}, {"y"});
    ModelBuilder::attr_ints(n, "pads", {1, 1, 1, 1});
    ModelBuilder::attr_int(n, "group", 20);
    mb.output("y");
    auto s = Session::from_bytes(mb.bytes());
    s->run({{"x", make_random({1, 20, hw, hw}, 7)}});
    const auto k = s->kernels_used();
    INFO(hw << "x" << hw);
    const char* want = hw <= 16   ? "conv_depthwise_blocked16"
                       : hw <= 64 ? "conv_depthwise_rows4"
                                  : "conv_depthwise_direct";
    CHECK(std::find(k.begin(), k.end(), want) != k.end());
  }
}

TEST_CASE("fp32 convs of up to 4 input channels and 16 taps take the few-channel loop", "[conv][session]") {
  ::unsetenv("ORTKIT_CONV_FORM");
  auto few = [](const Session& s) {
    const auto k = s.kernels_used();
    return std::any_of(k.begin(), k.end(),
                       [](const std::string& n) { return n.rfind("conv_few_channels_", 0) == 0; });
  };
  struct Want {
    Spec spec;
    bool few;
    const char* why;
  };
  const Want wants[] = {
      {{3, 32, 64, 2}, true, "a stem: 3 -> 32 3x3 stride 2, 32-wide rows"},
      {{4, 8, 66, 1}, true, "4 channels, 66-wide rows"},
      {{1, 16, 64, 1}, false, "9 taps"},
      {{5, 16, 64, 1}, false, "5 channels"},
      {{3, 16, 20, 1}, false, "20-wide rows leave 12 of 32 lanes idle"},
  };
  for (const Want& w : wants)
    for (int threads : {1, 2}) {
      INFO(w.why << ", " << threads << " threads");
      const auto s = run_checked(w.spec, threads);
      CHECK(few(*s) == w.few);
    }
  // bf16 fast math keeps its GEMM (twice the work per instruction) where it has a bf16 kernel.
  const Spec stem{3, 32, 64, 2};
  {
    SessionOptions o;
    o.precision = Precision::bf16;
    auto s = Session::from_bytes(conv_model(stem).bytes(), o);
    s->run({{"x", make_random({1, 3, 64, 64}, 7)}});
    CHECK(few(*s) == (kernels::bf16_fast_math().kind != kernels::GemmKind::bf16));
  }
}
