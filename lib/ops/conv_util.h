// Window geometry shared by Conv and the pooling ops: kernel, strides, dilations, pads (explicit or
// auto_pad), ceil_mode, for 1-3 spatial dims, normalised to 3 dims (leading dims of size 1).
#pragma once
#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <string>

#include "ops/op.h"
#include "ortkit/kernels/epilogue.h"

namespace ortkit::ops {

/// Whether environment variable `name` is "0": the A/B switches that turn one conv path off (read once
/// by each caller, into a static).
inline bool switched_off(const char* name) {
  const char* v = std::getenv(name);
  return v && std::strcmp(v, "0") == 0;
}

struct Window {
  int nd = 0;                           // spatial dims in the model (1..3)
  std::array<int64_t, 3> in{1, 1, 1};   // input spatial size
  std::array<int64_t, 3> k{1, 1, 1};    // kernel
  std::array<int64_t, 3> s{1, 1, 1};    // strides
  std::array<int64_t, 3> d{1, 1, 1};    // dilations
  std::array<int64_t, 3> pb{0, 0, 0};   // pads at the beginning
  std::array<int64_t, 3> pe{0, 0, 0};   // pads at the end
  std::array<int64_t, 3> out{1, 1, 1};  // output spatial size
  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t k_size() const { return k[0] * k[1] * k[2]; }
};

/// y = act(y + z) over `rows` rows of `cols` values, both with row stride ld: the residual join of a conv
/// (FusedConv, DynQuantConv), done on each chunk of output while it is in cache where the conv allows,
/// else in a pass after it. relu sends NaN to 0, as the Relu op and the GEMM epilogue do.
void add_z_rows(float* y, const float* z, int64_t ld, int64_t rows, int64_t cols,
                const kernels::Epilogue& ep);

/// The fused activation of Conv's forms on one value: relu sends NaN to 0 and clip keeps it, as the GEMM
/// epilogue does; none, relu and clip inline so the callers' loops vectorize.
inline float conv_act(float v, kernels::Act a, float lo, float hi) {
  switch (a) {
    case kernels::Act::none: return v;
    case kernels::Act::relu: return v > 0.f ? v : 0.f;
    case kernels::Act::clip: return std::min(std::max(v, lo), hi);
    default: return kernels::apply_act(v, a, lo, hi);
  }
}

/// Calls f(offset in the input plane) for every tap of output (od, oh, ow)'s window that lies inside the
/// input (padding taps are skipped): the window walk of the pooling ops.
template <class F>
inline void for_each_window_tap(const Window& w, int64_t od, int64_t oh, int64_t ow, F&& f) {
  const int64_t d0 = od * w.s[0] - w.pb[0], h0 = oh * w.s[1] - w.pb[1], w0 = ow * w.s[2] - w.pb[2];
  for (int64_t kd = 0; kd < w.k[0]; ++kd) {
    const int64_t id = d0 + kd * w.d[0];
    if (id < 0 || id >= w.in[0]) continue;
    for (int64_t kh = 0; kh < w.k[1]; ++kh) {
      const int64_t ih = h0 + kh * w.d[1];
      if (ih < 0 || ih >= w.in[1]) continue;
      const int64_t row = (id * w.in[1] + ih) * w.in[2];
      for (int64_t kw = 0; kw < w.k[2]; ++kw) {
        const int64_t iw = w0 + kw * w.d[2];
        if (iw >= 0 && iw < w.in[2]) f(row + iw);
      }
    }
  }
}

/// Builds the window from the attributes for spatial input `spatial` and kernel `kernel` (ints from the
/// weight shape or the kernel_shape attribute). Throws via ctx.fail / ctx.unsupported.
inline Window make_window(const CompileContext& ctx, const Shape& spatial, const std::vector<int64_t>& kernel,
                          bool allow_ceil) {
  const Attrs& a = ctx.attr();
  const int nd = static_cast<int>(spatial.size());
  if (nd < 1 || nd > 3) ctx.unsupported("only 1-3 spatial dims");
  if (static_cast<int>(kernel.size()) != nd) ctx.fail("kernel rank does not match the input");
  const std::vector<int64_t> ones(static_cast<size_t>(nd), 1);
  const std::vector<int64_t> strides = a.get_ints("strides", ones), dil = a.get_ints("dilations", ones);
  std::vector<int64_t> pads = a.get_ints("pads", std::vector<int64_t>(static_cast<size_t>(2 * nd), 0));
  if (static_cast<int>(strides.size()) != nd || static_cast<int>(dil.size()) != nd ||
      static_cast<int>(pads.size()) != 2 * nd)
    ctx.fail("strides/dilations/pads have the wrong length");
  const std::string ap = a.get_string("auto_pad", "NOTSET");
  const bool ceil_mode = allow_ceil && a.get_int("ceil_mode", 0) != 0;
  Window w;
  w.nd = nd;
  const int off = 3 - nd;
  for (int i = 0; i < nd; ++i) {
    const int j = off + i;
    w.in[j] = spatial[i];
    w.k[j] = kernel[i];
    w.s[j] = strides[i];
    w.d[j] = dil[i];
    if (w.k[j] < 1 || w.s[j] < 1 || w.d[j] < 1) ctx.fail("kernel, strides and dilations must be >= 1");
    const int64_t ek = (w.k[j] - 1) * w.d[j] + 1;  // effective kernel extent
    if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
      w.out[j] = (w.in[j] + w.s[j] - 1) / w.s[j];
      const int64_t total = std::max<int64_t>(0, (w.out[j] - 1) * w.s[j] + ek - w.in[j]);
      w.pb[j] = ap == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.pe[j] = total - w.pb[j];
      continue;
    }
    if (ap == "VALID") {
      w.pb[j] = w.pe[j] = 0;
    } else if (ap == "NOTSET" || ap.empty()) {
      w.pb[j] = pads[i];
      w.pe[j] = pads[i + nd];
    } else {
      ctx.fail("unknown auto_pad '" + ap + "'");
    }
    const int64_t span = w.in[j] + w.pb[j] + w.pe[j] - ek;
    if (span < 0) ctx.fail("the kernel is larger than the padded input");
    w.out[j] = (ceil_mode ? (span + w.s[j] - 1) / w.s[j] : span / w.s[j]) + 1;
    // A window may not start in the end padding (PyTorch/ORT ceil_mode rule).
    if (ceil_mode && (w.out[j] - 1) * w.s[j] >= w.in[j] + w.pb[j]) --w.out[j];
  }
  return w;
}

}  // namespace ortkit::ops
