// Signal-processing ops: DFT (opset 17, axis attribute; opset 20, axis input), STFT (17), MelWeightMatrix
// (17). Complex tensors are real tensors with a trailing dimension of 2 (re, im); real signals have a
// trailing 1. Transforms accumulate in double: a radix-2 FFT when the transform length is a power of two
// and known at compile time (scratch per worker), else a direct O(n^2) sum with exact (k*j mod n)
// twiddles. Output shapes that depend on input values (dft_length, frame_step, frame_length,
// num_mel_bins) are static when those inputs are constants, else allocated in run().
#include <algorithm>
#include <cmath>
#include <complex>
#include <string>
#include <vector>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;

inline bool is_pow2(int64_t n) {
  return n > 0 && (n & (n - 1)) == 0;
}

inline double scalar_at(const Tensor& t) {
  double v = 0;
  if (t.numel() < 1) return v;
  visit_numeric(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    v = static_cast<double>(t.data_as<T>()[0]);
  });
  return v;
}

/// In-place iterative radix-2 FFT of n (a power of two) complex values; sign -1 forward, +1 inverse.
void fft_pow2(std::complex<double>* a, int64_t n, double sign) {
  for (int64_t i = 1, j = 0; i < n; ++i) {
    int64_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  for (int64_t len = 2; len <= n; len <<= 1) {
    const int64_t half = len >> 1;
    for (int64_t k = 0; k < half; ++k) {
      const double ang = sign * kTwoPi * static_cast<double>(k) / static_cast<double>(len);
      const std::complex<double> w(std::cos(ang), std::sin(ang));
      for (int64_t i = 0; i < n; i += len) {
        const std::complex<double> u = a[i + k], v = a[i + k + half] * w;
        a[i + k] = u + v;
        a[i + k + half] = u - v;
      }
    }
  }
}

/// One line of a DFT. Input element j (j < n_in) is at in[j * in_stride] (re, and im when complex);
/// optional window w[j] multiplies it. Writes out_len bins (re, im) at out[k * out_stride].
/// buf: 2 * L doubles (as L complex) for the FFT path, or null for the direct sum.
template <class T>
void dft_line(const T* in, int64_t in_stride, bool complex_in, int64_t n_in, const T* window, int64_t L,
              bool inverse, int64_t out_len, T* out, int64_t out_stride, std::complex<double>* buf) {
  const double sign = inverse ? 1.0 : -1.0;
  const double scale = inverse ? 1.0 / static_cast<double>(L) : 1.0;
  const int64_t n = std::min(n_in, L);
  auto x_at = [&](int64_t j) {
    const T* p = in + j * in_stride;
    std::complex<double> v(static_cast<double>(p[0]), complex_in ? static_cast<double>(p[1]) : 0.0);
    if (window) v *= static_cast<double>(window[j]);
    return v;
  };
  if (buf) {
    for (int64_t j = 0; j < n; ++j) buf[j] = x_at(j);
    for (int64_t j = n; j < L; ++j) buf[j] = 0.0;
    fft_pow2(buf, L, sign);
    for (int64_t k = 0; k < out_len; ++k) {
      out[k * out_stride] = static_cast<T>(buf[k].real() * scale);
      out[k * out_stride + 1] = static_cast<T>(buf[k].imag() * scale);
    }
    return;
  }
  const double step = kTwoPi / static_cast<double>(L);
  for (int64_t k = 0; k < out_len; ++k) {
    std::complex<double> acc = 0.0;
    for (int64_t j = 0; j < n; ++j) {
      const double ang = sign * step * static_cast<double>((k * j) % L);
      acc += x_at(j) * std::complex<double>(std::cos(ang), std::sin(ang));
    }
    out[k * out_stride] = static_cast<T>(acc.real() * scale);
    out[k * out_stride + 1] = static_cast<T>(acc.imag() * scale);
  }
}

/// One line of an inverse real DFT (numpy's irfft): the input holds bins 0..n_in-1 of a spectrum whose
/// other half is their conjugate; bins past L / 2 are ignored, missing ones are zero, and the imaginary
/// parts of bin 0 and (L even) bin L / 2 do not count. Writes L real samples at out[t * out_stride].
/// buf: L complex values.
template <class T>
void irfft_line(const T* in, int64_t in_stride, bool complex_in, int64_t n_in, int64_t L, T* out,
                int64_t out_stride, std::complex<double>* buf) {
  for (int64_t k = 0; k < L; ++k) {
    const int64_t b = k <= L / 2 ? k : L - k;
    std::complex<double> v = 0.0;
    if (b < n_in) {
      const T* p = in + b * in_stride;
      const bool real_bin = b == 0 || 2 * b == L;
      v = {static_cast<double>(p[0]), complex_in && !real_bin ? static_cast<double>(p[1]) : 0.0};
    }
    buf[k] = k <= L / 2 ? v : std::conj(v);
  }
  const double scale = 1.0 / static_cast<double>(L);
  if (is_pow2(L)) {
    fft_pow2(buf, L, 1.0);
    for (int64_t t = 0; t < L; ++t) out[t * out_stride] = static_cast<T>(buf[t].real() * scale);
    return;
  }
  const double step = kTwoPi / static_cast<double>(L);
  for (int64_t t = 0; t < L; ++t) {
    double acc = 0;
    for (int64_t k = 0; k < L; ++k) {
      const double ang = step * static_cast<double>((k * t) % L);
      acc += buf[k].real() * std::cos(ang) - buf[k].imag() * std::sin(ang);
    }
    out[t * out_stride] = static_cast<T>(acc * scale);
  }
}

/// Runs f(line, buf) for line in [0, lines) over at most `workers` workers, worker w owning
/// bufs + w * buf_len (or null when buf_len == 0).
template <class F>
void for_lines(const kernels::Threading& th, int64_t lines, int64_t workers, std::complex<double>* bufs,
               int64_t buf_len, F&& f) {
  workers = std::max<int64_t>(1, std::min(workers, lines));
  const int64_t per = (lines + workers - 1) / std::max<int64_t>(workers, 1);
  parallel_for(th, workers, [&](int64_t w) {
    std::complex<double>* buf = buf_len > 0 ? bufs + w * buf_len : nullptr;
    for (int64_t l = w * per; l < std::min(lines, (w + 1) * per); ++l) f(l, buf);
  });
}

// ---------------------------------------------------------------------------------------------- DFT

class DFT : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64});
    const InputDesc& x = ctx.input(0);
    const int64_t r = static_cast<int64_t>(x.shape.size());
    if (r < 2) ctx.fail("input must have rank >= 2 ([..., n, 1 or 2])");
    if (x.shape[r - 1] != 1 && x.shape[r - 1] != 2)
      ctx.fail("last dimension must be 1 (real) or 2 (complex)");
    inverse_ = ctx.attr().get_int("inverse", 0) != 0;
    onesided_ = ctx.attr().get_int("onesided", 0) != 0;
    if (onesided_ && !inverse_ && x.shape[r - 1] == 2)
      ctx.fail("onesided requires a real input (last dim 1)");
    rank_ = r;
    axis_known_ = true;
    if (ctx.node->opset >= 20) {
      axis_ = -2;
      if (ctx.has_input(2)) {
        if (ctx.input(2).constant)
          axis_ = to_int64_vector(*ctx.input(2).constant, ctx.node->describe()).at(0);
        else
          axis_known_ = false;  // read in run(); the output is then allocated there
      }
    } else {
      axis_ = ctx.attr().get_int("axis", 1);
    }
    if (axis_known_) axis_ = checked_axis(axis_, ctx);
    length_given_ = ctx.has_input(1);
    length_ = 0;
    if (length_given_ && ctx.input(1).constant) {
      length_ = static_cast<int64_t>(scalar_at(*ctx.input(1).constant));
      if (length_ < 1) ctx.fail("dft_length must be >= 1");
    }
    dtype_ = x.dtype;
    scratch_len_ = 0;
    workers_ = std::max(1, ctx.threading.threads);
    const bool length_known = axis_known_ && (!length_given_ || length_ > 0);
    if (length_known) {
      const int64_t L = length_ > 0 ? length_ : default_length(x.shape, axis_);
      if (L < 1) ctx.fail("transform length " + std::to_string(L) + " (dft_length must be >= 1)");
      if (is_pow2(L) || irfft()) {  // the FFT and the inverse real transform work in a line buffer
        scratch_len_ = L;
        ctx.scratch_bytes = static_cast<size_t>(workers_ * L) * sizeof(std::complex<double>);
      }
      ctx.set_output(0, dtype_, out_shape(x.shape, axis_, L));
    } else {
      ctx.outputs[0].dtype = dtype_;
      ctx.outputs[0].data_dependent = true;
    }
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    int64_t axis = axis_;
    if (!axis_known_) axis = checked_axis(static_cast<int64_t>(scalar_at(ctx.input(2))), ctx);
    int64_t L = length_;
    if (length_given_ && L == 0) {
      L = static_cast<int64_t>(scalar_at(ctx.input(1)));
      if (L < 1) ctx.fail("dft_length must be >= 1");
    }
    if (L == 0) L = default_length(x.shape(), axis);
    if (L < 1) ctx.fail("transform length " + std::to_string(L) + " (dft_length must be >= 1)");
    Tensor* y = ctx.outputs[0];
    if (!axis_known_ || (length_given_ && length_ == 0))
      y = &ctx.allocate_output(0, dtype_, out_shape(x.shape(), axis, L));
    // A line buffer per worker: the plan's scratch when the length was known at compile, else one kept
    // here (a data-dependent length or axis), grown on demand.
    std::complex<double>* bufs = nullptr;
    int64_t workers = workers_;
    if (is_pow2(L) || irfft()) {
      if (scratch_len_ == L && ctx.scratch) {
        bufs = static_cast<std::complex<double>*>(ctx.scratch);
      } else {
        dyn_.resize(static_cast<size_t>(workers * L));
        bufs = dyn_.data();
      }
    } else {
      workers = ctx.threading.threads;
    }
    if (dtype_ == DType::f32)
      compute<float>(ctx, x, *y, axis, L, bufs, workers);
    else
      compute<double>(ctx, x, *y, axis, L, bufs, workers);
  }

 private:
  bool irfft() const { return inverse_ && onesided_; }

  /// The axis over the signal dims (the trailing re/im dim excluded); negative counts from the end of the
  /// whole tensor (opset 20's default -2 is the last signal dim).
  template <class Ctx>  // CompileContext or RunContext
  int64_t checked_axis(int64_t axis, const Ctx& ctx) const {
    const int64_t a = axis < 0 ? axis + rank_ : axis;
    if (a < 0 || a >= rank_ - 1)
      ctx.fail("axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank_));
    return a;
  }

  /// Without dft_length: the input's length, or for the inverse real transform the even length whose
  /// one-sided spectrum the input holds (numpy's irfft default).
  int64_t default_length(const Shape& in, int64_t axis) const {
    return irfft() ? 2 * (in[axis] - 1) : in[axis];
  }

  Shape out_shape(const Shape& in, int64_t axis, int64_t L) const {
    Shape s = in;
    s[axis] = onesided_ && !inverse_ ? L / 2 + 1 : L;
    s.back() = irfft() ? 1 : 2;
    return s;
  }

  template <class T>
  void compute(RunContext& ctx, const Tensor& x, Tensor& y, int64_t axis, int64_t L,
               std::complex<double>* bufs, int64_t workers) {
    const Shape& s = x.shape();
    const int64_t r = x.rank();
    const int64_t comp = s[r - 1], out_comp = y.shape().back();
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= s[d];
    for (int64_t d = axis + 1; d < r - 1; ++d) inner *= s[d];
    const int64_t n_in = s[axis];
    const int64_t out_len = y.shape()[axis];
    const T* in = x.data_as<T>();
    T* out = y.data_as<T>();
    const bool c2r = irfft();
    for_lines(ctx.threading, outer * inner, workers, bufs, bufs ? L : 0,
              [&](int64_t line, std::complex<double>* buf) {
                const int64_t o = line / inner, i = line % inner;
                const T* src = in + (o * n_in * inner + i) * comp;
                T* dst = out + (o * out_len * inner + i) * out_comp;
                if (c2r)
                  irfft_line<T>(src, inner * comp, comp == 2, n_in, L, dst, inner, buf);
                else
                  dft_line<T>(src, inner * comp, comp == 2, n_in, nullptr, L, inverse_, out_len, dst,
                              inner * 2, is_pow2(L) ? buf : nullptr);
              });
  }

  bool inverse_ = false, onesided_ = false, axis_known_ = true, length_given_ = false;
  int64_t rank_ = 0, axis_ = 1, length_ = 0, scratch_len_ = 0;
  int64_t workers_ = 1;
  DType dtype_ = DType::f32;
  std::vector<std::complex<double>> dyn_;
};

// ---------------------------------------------------------------------------------------------- STFT

class STFT : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64});
    const InputDesc& x = ctx.input(0);
    if (x.shape.size() != 3) ctx.fail("signal must be [batch, signal_length, 1 or 2]");
    if (x.shape[2] != 1 && x.shape[2] != 2)
      ctx.fail("signal's last dimension must be 1 (real) or 2 (complex)");
    onesided_ = ctx.attr().get_int("onesided", 1) != 0;
    if (onesided_ && x.shape[2] == 2) ctx.fail("onesided requires a real signal (last dim 1)");
    dtype_ = x.dtype;
    if (ctx.has_input(2)) {
      if (ctx.input(2).dtype != dtype_) ctx.fail("window dtype must match the signal's");
      if (ctx.input(2).shape.size() != 1) ctx.fail("window must be 1-D");
    }
    if (!ctx.has_input(2) && !ctx.has_input(3)) ctx.fail("one of window and frame_length is required");
    // Static output when frame_step and the frame length are known now.
    bool known = ctx.input(1).constant != nullptr;
    int64_t step = 0, flen = 0;
    if (known) step = static_cast<int64_t>(scalar_at(*ctx.input(1).constant));
    if (ctx.has_input(3)) {
      if (ctx.input(3).constant)
        flen = static_cast<int64_t>(scalar_at(*ctx.input(3).constant));
      else
        known = false;
    } else {
      flen = ctx.input(2).shape[0];
    }
    if (known) {
      validate(ctx, x.shape[1], step, flen, ctx.has_input(2) ? ctx.input(2).shape[0] : -1);
      ctx.set_output(0, dtype_, out_shape(x.shape, step, flen));
    } else {
      ctx.outputs[0].dtype = dtype_;
      ctx.outputs[0].data_dependent = true;
    }
    static_ = known;
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int64_t step = static_cast<int64_t>(scalar_at(ctx.input(1)));
    const int64_t flen =
        ctx.has_input(3) ? static_cast<int64_t>(scalar_at(ctx.input(3))) : ctx.input(2).shape()[0];
    Tensor* y = &ctx.output(0);
    if (!static_) {
      validate(ctx, x.shape()[1], step, flen, ctx.has_input(2) ? ctx.input(2).shape()[0] : -1);
      y = &ctx.allocate_output(0, dtype_, out_shape(x.shape(), step, flen));
    }
    if (dtype_ == DType::f32)
      compute<float>(ctx, x, *y, step, flen);
    else
      compute<double>(ctx, x, *y, step, flen);
  }

 private:
  template <class C>
  static void validate(const C& ctx, int64_t sig_len, int64_t step, int64_t flen, int64_t wlen) {
    if (step < 1) ctx.fail("frame_step must be >= 1");
    if (flen < 1) ctx.fail("frame_length must be >= 1");
    if (wlen >= 0 && wlen != flen) ctx.fail("window length differs from frame_length");
    if (flen > sig_len) ctx.fail("frame_length exceeds the signal length");
  }
  Shape out_shape(const Shape& in, int64_t step, int64_t flen) const {
    const int64_t frames = (in[1] - flen) / step + 1;
    return Shape{in[0], frames, onesided_ ? flen / 2 + 1 : flen, 2};
  }

  template <class T>
  void compute(RunContext& ctx, const Tensor& x, Tensor& y, int64_t step, int64_t flen) {
    const int64_t B = x.shape()[0], S = x.shape()[1], comp = x.shape()[2];
    const int64_t frames = y.shape()[1], bins = y.shape()[2];
    const T* in = x.data_as<T>();
    const T* win = ctx.has_input(2) ? ctx.input(2).data_as<T>() : nullptr;
    T* out = y.data_as<T>();
    parallel_range(ctx.threading, B * frames, 1, [&](int64_t b, int64_t e) {
      for (int64_t l = b; l < e; ++l) {
        const int64_t bi = l / frames, f = l % frames;
        dft_line<T>(in + (bi * S + f * step) * comp, comp, comp == 2, flen, win, flen, false, bins,
                    out + l * bins * 2, 2, nullptr);
      }
    });
  }

  bool onesided_ = true, static_ = true;
  DType dtype_ = DType::f32;
};

// ----------------------------------------------------------------------------------------------
// MelWeightMatrix

class MelWeightMatrix : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    for (size_t i = 0; i < 3; ++i) ctx.require_dtype(i, {DType::i32, DType::i64});
    for (size_t i = 3; i < 5; ++i) ctx.require_dtype(i, {DType::f32, DType::f64});
    const int64_t odt = ctx.attr().get_int("output_datatype", 1);
    if (odt == 1)
      out_dtype_ = DType::f32;
    else if (odt == 11)
      out_dtype_ = DType::f64;
    else
      ctx.unsupported("output_datatype " + std::to_string(odt) + " (float and double only)");
    if (ctx.input(0).constant && ctx.input(1).constant) {
      const int64_t mel = int_at(*ctx.input(0).constant, 0), dft = int_at(*ctx.input(1).constant, 0);
      if (mel < 1 || dft < 1) ctx.fail("num_mel_bins and dft_length must be >= 1");
      ctx.set_output(0, out_dtype_, Shape{dft / 2 + 1, mel});
      static_ = true;
    } else {
      ctx.outputs[0].dtype = out_dtype_;
      ctx.outputs[0].data_dependent = true;
      static_ = false;
    }
  }

  void run(RunContext& ctx) override {
    const int64_t mel = int_at(ctx.input(0), 0), dft = int_at(ctx.input(1), 0);
    const int64_t rate = int_at(ctx.input(2), 0);
    const double lo = scalar_at(ctx.input(3)), hi = scalar_at(ctx.input(4));
    if (mel < 1 || dft < 1) ctx.fail("num_mel_bins and dft_length must be >= 1");
    if (rate < 1) ctx.fail("sample_rate must be >= 1");
    if (!(lo >= 0 && hi > lo)) ctx.fail("need 0 <= lower_edge_hertz < upper_edge_hertz");
    const int64_t bins = dft / 2 + 1;
    Tensor& y = static_ ? ctx.output(0) : ctx.allocate_output(0, out_dtype_, Shape{bins, mel});
    if (out_dtype_ == DType::f32)
      fill<float>(y.data_as<float>(), mel, dft, rate, lo, hi, bins);
    else
      fill<double>(y.data_as<double>(), mel, dft, rate, lo, hi, bins);
  }

 private:
  template <class T>
  static void fill(T* out, int64_t mel, int64_t dft, int64_t rate, double lo, double hi, int64_t bins) {
    std::fill(out, out + bins * mel, T(0));
    const double lo_mel = 2595.0 * std::log10(1.0 + lo / 700.0);
    const double hi_mel = 2595.0 * std::log10(1.0 + hi / 700.0);
    const double step = (hi_mel - lo_mel) / static_cast<double>(mel + 2);
    auto fbin = [&](int64_t i) {
      const double m = static_cast<double>(i) * step + lo_mel;
      const double hz = 700.0 * (std::pow(10.0, m / 2595.0) - 1.0);
      return static_cast<int64_t>(std::floor(static_cast<double>(dft + 1) * hz / static_cast<double>(rate)));
    };
    auto set = [&](int64_t j, int64_t i, double v) {
      if (j >= 0 && j < bins) out[j * mel + i] = static_cast<T>(v);
    };
    for (int64_t i = 0; i < mel; ++i) {
      const int64_t left = fbin(i), center = fbin(i + 1), right = fbin(i + 2);
      const int64_t up = center - left;
      if (up == 0) {
        set(center, i, 1.0);
      } else {
        for (int64_t j = left; j <= center; ++j)
          set(j, i, static_cast<double>(j - left) / static_cast<double>(up));
      }
      const int64_t down = right - center;
      if (down > 0)
        for (int64_t j = center; j < right; ++j)
          set(j, i, static_cast<double>(right - j) / static_cast<double>(down));
    }
  }

  DType out_dtype_ = DType::f32;
  bool static_ = true;
};

}  // namespace

void register_spectral_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "DFT", 17, kAnyOpset, [] { return std::make_unique<DFT>(); });
  r.add(kOnnxDomain, "STFT", 17, kAnyOpset, [] { return std::make_unique<STFT>(); });
  r.add(kOnnxDomain, "MelWeightMatrix", 17, kAnyOpset, [] { return std::make_unique<MelWeightMatrix>(); });
}

}  // namespace ortkit::ops
