// GridSample, DFT, STFT, MelWeightMatrix: edge cases and error paths the backend suite misses
// (FFT vs direct sum, dft_length padding/truncation, onesided, irfft, opset-20 axis input constant or not,
// bad modes, ranks).
#include <catch2/catch.hpp>
#include <cmath>

#include "ops/eval.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

namespace {
// Naive reference DFT of a real sequence: (re, im) pairs of length n.
std::vector<float> ref_dft(const std::vector<float>& x, int64_t n, bool inverse = false) {
  std::vector<float> out;
  for (int64_t k = 0; k < n; ++k) {
    double re = 0, im = 0;
    for (int64_t j = 0; j < static_cast<int64_t>(x.size()) && j < n; ++j) {
      const double a = (inverse ? 2 : -2) * M_PI * static_cast<double>(k * j) / static_cast<double>(n);
      re += x[j] * std::cos(a);
      im += x[j] * std::sin(a);
    }
    const double s = inverse ? 1.0 / static_cast<double>(n) : 1.0;
    out.push_back(static_cast<float>(re * s));
    out.push_back(static_cast<float>(im * s));
  }
  return out;
}
void check_close(const std::vector<float>& a, const std::vector<float>& b, float tol = 1e-4f) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(std::fabs(a[i] - b[i]) <= tol * (1 + std::fabs(b[i])));
}
}  // namespace

TEST_CASE("DFT: FFT and direct paths, dft_length, onesided, inverse round trip", "[ops][spectral]") {
  const std::vector<float> v = {1, -2, 3, 0.5f, 4, -1, 2, 7};
  const Tensor x = f32({1, 8, 1}, v);
  // power of two (FFT path, constant length) and direct path (non-constant dft_length input)
  check_close(vals<float>(eval_single("DFT", {x}, {}, at(17))[0]), ref_dft(v, 8));
  EvalOptions c = at(17);
  c.inputs_constant = true;
  check_close(vals<float>(eval_single("DFT", {x, i64({}, {8})}, {}, c)[0]), ref_dft(v, 8));
  check_close(vals<float>(eval_single("DFT", {x, i64({}, {8})}, {}, at(17))[0]), ref_dft(v, 8));
  // dft_length pads (12) and truncates (5)
  const Tensor p = eval_single("DFT", {x, i64({}, {12})}, {}, at(17))[0];
  CHECK(p.shape() == Shape{1, 12, 2});
  check_close(vals<float>(p), ref_dft(v, 12));
  check_close(vals<float>(eval_single("DFT", {x, i64({}, {5})}, {}, c)[0]),
              ref_dft(std::vector<float>(v.begin(), v.begin() + 5), 5));
  // onesided keeps n/2+1 bins
  Attrs one;
  one.set_int("onesided", 1);
  const Tensor o = eval_single("DFT", {x}, one, at(17))[0];
  CHECK(o.shape() == Shape{1, 5, 2});
  auto full = ref_dft(v, 8);
  check_close(vals<float>(o), std::vector<float>(full.begin(), full.begin() + 10));
  // inverse of the forward transform gives the signal back (imaginary parts ~0)
  Attrs inv;
  inv.set_int("inverse", 1);
  const Tensor back = eval_single("DFT", {eval_single("DFT", {x}, {}, at(17))[0]}, inv, at(17))[0];
  const auto bv = vals<float>(back);
  for (size_t i = 0; i < v.size(); ++i) {
    CHECK(std::fabs(bv[2 * i] - v[i]) < 1e-4f);
    CHECK(std::fabs(bv[2 * i + 1]) < 1e-4f);
  }
  // opset 20: axis is an input (default -2)
  check_close(vals<float>(eval_single("DFT", {x}, {}, at(20))[0]), ref_dft(v, 8));
  check_close(vals<float>(eval_single("DFT", {x, Tensor(), i64({}, {1})}, {}, c)[0]), ref_dft(v, 8));
}

TEST_CASE("DFT: an axis known only at run, and the inverse one-sided (irfft) transform", "[ops][spectral]") {
  // [2, 6, 1]: transform along axis 1 (6 points, direct sum) or axis 0 (2 points, FFT), the axis a
  // run-time input, with and without dft_length.
  std::vector<float> v(12);
  for (int i = 0; i < 12; ++i) v[static_cast<size_t>(i)] = std::sin(1.3f * static_cast<float>(i)) + 0.1f * i;
  const Tensor x = f32({2, 6, 1}, v);
  const Tensor y1 = eval_single("DFT", {x, Tensor(), i64({}, {1})}, {}, at(20))[0];
  CHECK(y1.shape() == Shape{2, 6, 2});
  std::vector<float> want = ref_dft({v.begin(), v.begin() + 6}, 6),
                     second = ref_dft({v.begin() + 6, v.end()}, 6);
  want.insert(want.end(), second.begin(), second.end());
  check_close(vals<float>(y1), want);
  const Tensor y0 = eval_single("DFT", {x, i64({}, {4}), i64({}, {-3})}, {}, at(20))[0];
  CHECK(y0.shape() == Shape{4, 6, 2});
  for (int j = 0; j < 6; ++j) {  // column j: the 2 samples v[j], v[6 + j] zero-padded to 4
    const auto col = ref_dft({v[static_cast<size_t>(j)], v[static_cast<size_t>(6 + j)]}, 4);
    for (int k = 0; k < 4; ++k)
      for (int c = 0; c < 2; ++c)
        CHECK(y0.data_as<float>()[(k * 6 + j) * 2 + c] ==
              Approx(col[static_cast<size_t>(2 * k + c)]).margin(1e-5));
  }
  CHECK_THROWS_WITH(eval_single("DFT", {x, Tensor(), i64({}, {2})}, {}, at(20)), Catch::Contains("axis 2"));

  // irfft: the one-sided spectrum of a real signal gives the signal back, for even and odd lengths, power
  // of two (FFT) or not, with a constant or run-time length; the imaginary parts of bin 0 and of the
  // Nyquist bin are ignored, as numpy's irfft does.
  Attrs fwd, back;
  fwd.set_int("onesided", 1);
  back.set_int("onesided", 1);
  back.set_int("inverse", 1);
  for (int64_t n : {8, 6, 7, 5}) {
    std::vector<float> sig(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      sig[static_cast<size_t>(i)] = std::cos(0.7f * static_cast<float>(i * i)) - 0.2f;
    const Tensor spec = eval_single("DFT", {f32({1, n, 1}, sig), Tensor(), i64({}, {1})}, fwd, at(20))[0];
    REQUIRE(spec.shape() == Shape{1, n / 2 + 1, 2});
    Tensor noisy = spec;
    noisy.data_as<float>()[1] = 5.f;                                 // Im(bin 0)
    if (n % 2 == 0) noisy.data_as<float>()[2 * (n / 2) + 1] = -3.f;  // Im(Nyquist)
    for (bool constant : {true, false}) {
      EvalOptions o = at(20);
      o.inputs_constant = constant;
      const Tensor r = eval_single("DFT", {noisy, i64({}, {n}), i64({}, {1})}, back, o)[0];
      REQUIRE(r.shape() == Shape{1, n, 1});
      check_close(vals<float>(r), sig);
    }
    if (n % 2 == 0) {  // without dft_length the length is 2 * (bins - 1)
      const Tensor r = eval_single("DFT", {noisy}, back, at(20))[0];
      REQUIRE(r.shape() == Shape{1, n, 1});
      check_close(vals<float>(r), sig);
    }
  }
}

TEST_CASE("DFT: errors", "[ops][spectral]") {
  CHECK_THROWS_AS(eval_single("DFT", {f32({4}, {1, 2, 3, 4})}, {}, at(17)), Error);              // rank 1
  CHECK_THROWS_AS(eval_single("DFT", {f32({1, 2, 3}, {1, 2, 3, 4, 5, 6})}, {}, at(17)), Error);  // last dim 3
  Attrs ax;
  ax.set_int("axis", 2);  // the re/im dim
  CHECK_THROWS_AS(eval_single("DFT", {f32({1, 2, 1}, {1, 2})}, ax, at(17)), Error);
  Attrs one;
  one.set_int("onesided", 1);
  CHECK_THROWS_AS(eval_single("DFT", {f32({1, 2, 2}, {1, 2, 3, 4})}, one, at(17)), Error);  // complex
  Attrs irfft = one;
  irfft.set_int("inverse", 1);  // one bin: the default length 2 * (1 - 1) is 0
  CHECK_THROWS_WITH(eval_single("DFT", {f32({1, 1, 2}, {1, 0})}, irfft, at(17)), Catch::Contains("length 0"));
  CHECK_THROWS_AS(eval_single("DFT", {f32({1, 2, 1}, {1, 2}), i64({}, {0})}, {}, at(17)), Error);
}

TEST_CASE("STFT: frames, window, errors", "[ops][spectral]") {
  std::vector<float> s(10);
  for (int i = 0; i < 10; ++i) s[i] = static_cast<float>(i * i % 7) - 3.f;
  const Tensor sig = f32({1, 10, 1}, s);
  const Tensor y = eval_single("STFT", {sig, i64({}, {3}), Tensor(), i64({}, {4})}, {}, at(17))[0];
  CHECK(y.shape() == Shape{1, 3, 3, 2});  // frames (10-4)/3+1, bins 4/2+1
  const auto yv = vals<float>(y);
  for (int f = 0; f < 3; ++f) {
    auto r = ref_dft(std::vector<float>(s.begin() + 3 * f, s.begin() + 3 * f + 4), 4);
    check_close(std::vector<float>(yv.begin() + f * 6, yv.begin() + f * 6 + 6),
                std::vector<float>(r.begin(), r.begin() + 6));
  }
  // window of ones, two-sided, constant inputs: static output shape
  Attrs two;
  two.set_int("onesided", 0);
  EvalOptions c = at(17);
  c.inputs_constant = true;
  const Tensor w = eval_single("STFT", {sig, i64({}, {3}), f32({4}, {1, 1, 1, 1})}, two, c)[0];
  CHECK(w.shape() == Shape{1, 3, 4, 2});
  // errors: no window and no frame_length; window/frame_length mismatch; step 0; frame too long
  CHECK_THROWS_AS(eval_single("STFT", {sig, i64({}, {3})}, {}, at(17)), Error);
  CHECK_THROWS_AS(eval_single("STFT", {sig, i64({}, {3}), f32({3}, {1, 1, 1}), i64({}, {4})}, {}, at(17)),
                  Error);
  CHECK_THROWS_AS(eval_single("STFT", {sig, i64({}, {0}), Tensor(), i64({}, {4})}, {}, at(17)), Error);
  CHECK_THROWS_AS(eval_single("STFT", {sig, i64({}, {1}), Tensor(), i64({}, {11})}, {}, at(17)), Error);
  CHECK_THROWS_AS(eval_single("STFT", {f32({10}, s), i64({}, {1}), Tensor(), i64({}, {4})}, {}, at(17)),
                  Error);
}

TEST_CASE("MelWeightMatrix: shape, triangle rows, errors", "[ops][spectral]") {
  const std::vector<Tensor> in = {i32({}, {8}), i32({}, {16}), i32({}, {8192}), f32({}, {0}),
                                  f32({}, {4096})};
  const Tensor m = eval_single("MelWeightMatrix", in, {}, at(17))[0];
  CHECK(m.shape() == Shape{9, 8});
  const auto v = vals<float>(m);
  CHECK(v[0] == 1.f);  // first row starts 1, 1, 0...
  CHECK(v[1] == 1.f);
  CHECK(v[2] == 0.f);
  Attrs d;
  d.set_int("output_datatype", 11);
  EvalOptions c = at(17);
  c.inputs_constant = true;
  CHECK(eval_single("MelWeightMatrix", in, d, c)[0].dtype() == DType::f64);
  std::vector<Tensor> bad = in;
  bad[4] = f32({}, {0});  // upper <= lower
  CHECK_THROWS_AS(eval_single("MelWeightMatrix", bad, {}, at(17)), Error);
}

TEST_CASE("GridSample: modes, padding, errors", "[ops][spectral]") {
  const Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  // grid points at the pixel centres (align_corners=0) reproduce the input in every mode
  const Tensor g = f32({1, 2, 2, 2}, {-0.5f, -0.5f, 0.5f, -0.5f, -0.5f, 0.5f, 0.5f, 0.5f});
  for (const char* mode : {"bilinear", "nearest", "bicubic"}) {
    Attrs a;
    a.set_string("mode", mode);
    a.set_string("padding_mode", "border");
    check_close(vals<float>(eval_single("GridSample", {x, g}, a, at(16))[0]), {1, 2, 3, 4}, 1e-5f);
  }
  // the image centre is the mean for bilinear; far outside is 0 with zeros padding, edge with border
  const Tensor c = f32({1, 1, 3, 2}, {0, 0, 5, 5, -3, -3});
  Attrs z;
  auto y = vals<float>(eval_single("GridSample", {x, c}, z, at(16))[0]);
  CHECK(y[0] == Approx(2.5f));
  CHECK(y[1] == 0.f);
  z.set_string("padding_mode", "border");
  y = vals<float>(eval_single("GridSample", {x, c}, z, at(16))[0]);
  CHECK(y[1] == 4.f);
  CHECK(y[2] == 1.f);
  // opset 20 names; multi-channel batch shape
  Attrs l;
  l.set_string("mode", "linear");
  const Tensor y2 = eval_single("GridSample", {rnd({2, 3, 4, 5}), rnd({2, 6, 7, 2}, 3)}, l, at(20))[0];
  CHECK(y2.shape() == Shape{2, 3, 6, 7});
  // errors
  Attrs bad;
  bad.set_string("mode", "area");
  CHECK_THROWS_AS(eval_single("GridSample", {x, g}, bad, at(16)), Error);
  Attrs badp;
  badp.set_string("padding_mode", "wrap");
  CHECK_THROWS_AS(eval_single("GridSample", {x, g}, badp, at(16)), Error);
  CHECK_THROWS_AS(eval_single("GridSample", {f32({1, 4}, {1, 2, 3, 4}), f32({1, 2}, {0, 0})}, {}, at(16)),
                  Error);
  CHECK_THROWS_AS(eval_single("GridSample", {x, f32({1, 1, 1, 3}, {0, 0, 0})}, {}, at(16)), Error);
  CHECK_THROWS_AS(eval_single("GridSample", {x, f32({2, 1, 1, 2}, {0, 0, 0, 0})}, {}, at(16)), Error);
}

TEST_CASE("GridSample with 1 and 3 spatial dims (opset 20)", "[ops][spectral]") {
  // Trilinear interpolation reproduces an affine function of (d, h, w) exactly; the grid's (x, y, z)
  // address (w, h, d), so a swapped axis shows.
  const int64_t D = 3, H = 4, W = 5;
  std::vector<float> vol;
  for (int64_t d = 0; d < D; ++d)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w) vol.push_back(1.f + 2.f * d + 3.f * h + 5.f * w);
  const std::vector<float> pts = {-0.3f, 0.45f, 0.9f, 0.7f, -0.8f, -0.1f, 0.f, 0.f, 0.f};  // (x, y, z) x 3
  Attrs a;
  a.set_int("align_corners", 1);
  const auto y = vals<float>(
      eval_single("GridSample", {f32({1, 1, D, H, W}, vol), f32({1, 1, 1, 3, 3}, pts)}, a, at(20))[0]);
  REQUIRE(y.size() == 3);
  for (int i = 0; i < 3; ++i) {
    const float w = (pts[3 * i] + 1) / 2 * (W - 1), h = (pts[3 * i + 1] + 1) / 2 * (H - 1),
                d = (pts[3 * i + 2] + 1) / 2 * (D - 1);
    CHECK(y[static_cast<size_t>(i)] == Approx(1 + 2 * d + 3 * h + 5 * w).epsilon(1e-5));
  }
  // A volume of depth 1 sampled at z = 0 is the 4-D op on its one slice, and 1 spatial dim is the 4-D op
  // on a height-1 image at y = 0, for every linear / nearest, padding and align_corners setting.
  const Tensor img = rnd({2, 3, 5, 6}, 11), grid2 = rnd({2, 4, 3, 2}, 12);
  std::vector<float> g3;
  for (int64_t i = 0; i < grid2.numel(); i += 2)
    g3.insert(g3.end(), {grid2.data_as<float>()[i], grid2.data_as<float>()[i + 1], 0.f});
  const Tensor line = rnd({2, 3, 7}, 13), gline = rnd({2, 9, 1}, 14);
  auto as = [](const Tensor& t, Shape s) {
    return Tensor::view(t.dtype(), std::move(s), const_cast<void*>(t.data()));
  };
  std::vector<float> gline2;
  for (int64_t i = 0; i < gline.numel(); ++i) gline2.insert(gline2.end(), {gline.data_as<float>()[i], 0.f});
  for (const char* mode : {"linear", "nearest"})
    for (const char* pad : {"zeros", "border", "reflection"})
      for (int align : {0, 1}) {
        Attrs m;
        m.set_string("mode", mode);
        m.set_string("padding_mode", pad);
        m.set_int("align_corners", align);
        INFO(mode << " " << pad << " align_corners " << align);
        const Tensor want = eval_single("GridSample", {img, grid2}, m, at(20))[0];
        const Tensor got =
            eval_single("GridSample", {as(img, {2, 3, 1, 5, 6}), f32({2, 1, 4, 3, 3}, g3)}, m, at(20))[0];
        CHECK(got.shape() == Shape{2, 3, 1, 4, 3});
        CHECK(max_abs_diff(as(got, {2, 3, 4, 3}), want) < 1e-6f);
        const Tensor want1 =
            eval_single("GridSample", {as(line, {2, 3, 1, 7}), f32({2, 1, 9, 2}, gline2)}, m, at(20))[0];
        const Tensor got1 = eval_single("GridSample", {line, gline}, m, at(20))[0];
        CHECK(got1.shape() == Shape{2, 3, 9});
        CHECK(max_abs_diff(as(got1, {2, 3, 1, 9}), want1) < 1e-6f);
      }
  // cubic is 2-D only; the grid's last dim is the number of spatial dims; opset 16 is 4-D only.
  Attrs cubic;
  cubic.set_string("mode", "cubic");
  CHECK_THROWS_AS(eval_single("GridSample", {rnd({1, 1, 2, 2, 2}), rnd({1, 1, 1, 1, 3})}, cubic, at(20)),
                  Unsupported);
  CHECK_THROWS_WITH(eval_single("GridSample", {rnd({1, 1, 2, 2, 2}), rnd({1, 1, 1, 1, 2})}, {}, at(20)),
                    Catch::Contains("last dim is 2"));
  CHECK_THROWS_AS(eval_single("GridSample", {rnd({1, 1, 2, 2, 2}), rnd({1, 1, 1, 1, 3})}, {}, at(16)), Error);
}

TEST_CASE("DFT / GridSample: threaded runs match single-threaded (per-worker FFT buffers)",
          "[ops][spectral]") {
  const Tensor x = rnd({3, 16, 5, 2}, 7);
  Attrs a;
  a.set_int("axis", 1);
  EvalOptions th = at(17);
  th.threading = test_threads(4);
  CHECK(max_abs_diff(eval_single("DFT", {x}, a, th)[0], eval_single("DFT", {x}, a, at(17))[0]) == 0.f);
  a.set_int("axis", 2);  // length 5: direct path
  CHECK(max_abs_diff(eval_single("DFT", {x}, a, th)[0], eval_single("DFT", {x}, a, at(17))[0]) == 0.f);
  const Tensor img = rnd({2, 3, 5, 6}, 2), grid = rnd({2, 4, 3, 2}, 5);
  Attrs g;
  g.set_string("mode", "bicubic");
  g.set_string("padding_mode", "reflection");
  EvalOptions th16 = at(16);
  th16.threading = test_threads(3);
  CHECK(max_abs_diff(eval_single("GridSample", {img, grid}, g, th16)[0],
                     eval_single("GridSample", {img, grid}, g, at(16))[0]) == 0.f);
}
