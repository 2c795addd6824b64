// Pooling: MaxPool (dilations, ceil_mode, auto_pad; the Indices output in either storage_order), AveragePool
// (count_include_pad, ceil_mode, dilations: opset 19), GlobalAveragePool, GlobalMaxPool. NCHW, 1-3 spatial
// dims, parallel over N*C planes. com.microsoft.QLinearAveragePool (what ONNX Runtime's quantize_static
// writes for AveragePool in the QOperator format) is the same loop over (q - x_zp), requantized with
// x_scale / y_scale and y_zp.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "ops/conv_util.h"
#include "ops/fast_math.h"
#include "ops/op_util.h"
#include "ops/quant_common.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

/// One output row of a float max pool without Indices (1-D and 2-D windows): `rows` are the input rows
/// the window's valid kernel rows read (none: the row is -inf). Their elementwise maximum goes into a
/// padded row mp (the padding -inf, column c = iw + pw), split by stride phase into `sw` rows
/// (phase q holds mp[sw * j + q]), so that every kernel column is one contiguous run:
/// y[ow] = max over kw of phase[(kw * dw) % sw][ow + (kw * dw) / sw]. A tap compares as `v > acc`, so NaN
/// taps never win, as in the tap-by-tap loop. `scratch`: max_row_scratch floats.
inline int64_t max_row_padded(int64_t OW, int64_t sw, int64_t dw, int64_t kw_n) {
  return (sw * (OW - 1) + (kw_n - 1) * dw + 1 + 31) / 32 * 32;  // whole 32-float steps for the phase split
}
inline int64_t max_row_scratch(int64_t OW, int64_t sw, int64_t dw, int64_t kw_n) {
  return 2 * max_row_padded(OW, sw, dw, kw_n) + 64;
}
ORTKIT_OPS_CLONES_512 void max_row(const float* const* rows, int nrows, int64_t IW, int64_t pw, int64_t OW,
                                   int64_t sw, int64_t dw, int64_t kw_n, float* scratch,
                                   float* __restrict y) {
  typedef float v16f __attribute__((vector_size(64)));
  typedef int v16i __attribute__((vector_size(64)));
  constexpr float ninf = -std::numeric_limits<float>::infinity();
  if (nrows == 0) {
    std::fill(y, y + OW, ninf);
    return;
  }
  const int64_t L = max_row_padded(OW, sw, dw, kw_n);
  float* __restrict mp = scratch;
  // Input columns the window reaches: c = iw + pw < L.
  const int64_t n = std::clamp<int64_t>(L - pw, 0, IW);
  const int64_t pre = std::min(pw, L);
  std::fill(mp, mp + pre, ninf);
  std::fill(mp + pre + n, mp + L, ninf);
  float* __restrict m = mp + pre;
  // 16 columns at a time over all rows (a last block overlapping the one before: the same values again).
  auto col_max = [&](int64_t i) __attribute__((always_inline)) {
    v16f v = v16f{} + ninf;
    for (int r = 0; r < nrows; ++r) {
      v16f x;
      std::memcpy(&x, rows[r] + i, sizeof x);
      v = x > v ? x : v;
    }
    std::memcpy(m + i, &v, sizeof v);
  };
  if (n >= 16) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) col_max(i);
    if (i < n) col_max(n - 16);
  } else {
    for (int64_t i = 0; i < n; ++i) {
      float v = ninf;
      for (int r = 0; r < nrows; ++r) v = rows[r][i] > v ? rows[r][i] : v;
      m[i] = v;
    }
  }
  const float* ph[2] = {mp, nullptr};
  if (sw == 2) {
    // Evens and odds of mp, 16 of each per step (L is a multiple of 32).
    float* __restrict ev = mp + L;
    float* __restrict od = ev + L / 2 + 32;
    for (int64_t j = 0; j < L / 2; j += 16) {
      v16f a, b;
      std::memcpy(&a, mp + 2 * j, sizeof a);
      std::memcpy(&b, mp + 2 * j + 16, sizeof b);
      const v16f e = __builtin_shuffle(a, b, v16i{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30});
      const v16f o = __builtin_shuffle(a, b, v16i{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31});
      std::memcpy(ev + j, &e, sizeof e);
      std::memcpy(od + j, &o, sizeof o);
    }
    ph[0] = ev;
    ph[1] = od;
  }
  if (sw <= 2 && OW >= 16) {
    auto block = [&](int64_t ow) __attribute__((always_inline)) {
      v16f acc = v16f{} + ninf;
      for (int64_t kw = 0; kw < kw_n; ++kw) {
        const int64_t t = kw * dw;
        v16f v;
        std::memcpy(&v, ph[t % sw] + t / sw + ow, sizeof v);
        acc = v > acc ? v : acc;
      }
      std::memcpy(y + ow, &acc, sizeof acc);
    };
    int64_t ow = 0;
    for (; ow + 16 <= OW; ow += 16) block(ow);
    if (ow < OW) block(OW - 16);
    return;
  }
  if (sw <= 2) {
    for (int64_t ow = 0; ow < OW; ++ow) {
      float acc = ninf;
      for (int64_t kw = 0; kw < kw_n; ++kw) {
        const int64_t t = kw * dw;
        const float v = ph[t % sw][t / sw + ow];
        acc = v > acc ? v : acc;
      }
      y[ow] = acc;
    }
    return;
  }
  for (int64_t ow = 0; ow < OW; ++ow) {
    float acc = ninf;
    for (int64_t kw = 0; kw < kw_n; ++kw) {
      const float v = mp[ow * sw + kw * dw];
      acc = v > acc ? v : acc;
    }
    y[ow] = acc;
  }
}

/// Geometry of pool_plane_grid: the padded plane (hp x wp) and the stride-1 grid over it (hg rows of wp,
/// every stride phase of the output).
struct PlaneGrid {
  int64_t hp = 0, wp = 0, hg = 0;
  int64_t padded() const { return hp * wp + wp + 16; }  // slack: a grid column past the output reads on
  int64_t floats() const { return padded() + hg * wp + 16; }
};

PlaneGrid plane_grid(const Window& w) {
  PlaneGrid g;
  g.hg = (w.out[1] - 1) * w.s[1] + 1;
  g.hp = g.hg + (w.k[1] - 1) * w.d[1];
  g.wp = (w.out[2] - 1) * w.s[2] + 1 + (w.k[2] - 1) * w.d[2];
  return g;
}

/// A whole 1-D or 2-D plane at once: copied into a padded plane (-inf for max, 0 for average), then the
/// window's max or sum at every position of a stride-1 grid as flat 16-float runs (each tap one shifted
/// run, in window order; a grid column past the output reads into the next row, and is dropped), and the
/// output taken from the grid at the strides, an average divided by its count (`counts`, one per output).
/// Row by row, max_row's scalar loop and per-row setup took GoogLeNet's 3x3 / 1 pools of 14x14 planes 1 ms
/// each (ONNX Runtime 0.05), SqueezeNet's 3x3 / 2 of 27x27 planes 0.42 ms (0.016); the window walk took
/// DenseNet-121's 2x2 / 2 average pools 1.65 ms in all (0.07).
template <bool kMax>
ORTKIT_OPS_CLONES_512 void pool_plane_grid(const float* x, const Window& w, const PlaneGrid& g,
                                           const float* counts, float* buf, float* __restrict y) {
  typedef float v16f __attribute__((vector_size(64)));
  const float fill = kMax ? -std::numeric_limits<float>::infinity() : 0.f;
  const int64_t IH = w.in[1], IW = w.in[2], OH = w.out[1], OW = w.out[2], wp = g.wp;
  std::fill(buf, buf + g.padded(), fill);
  const int64_t cols = std::clamp<int64_t>(wp - w.pb[2], 0, IW);
  for (int64_t ih = 0; ih < IH && ih + w.pb[1] < g.hp; ++ih)
    std::memcpy(buf + (ih + w.pb[1]) * wp + w.pb[2], x + ih * IW, static_cast<size_t>(cols) * sizeof(float));
  float* __restrict grid = buf + g.padded();
  const int64_t n = g.hg * wp;
  for (int64_t i = 0; i < n; i += 16) {  // the grid has 16 floats of slack past n
    v16f acc = v16f{} + fill;
    for (int64_t kh = 0; kh < w.k[1]; ++kh)
      for (int64_t kw = 0; kw < w.k[2]; ++kw) {
        v16f v;
        std::memcpy(&v, buf + i + kh * w.d[1] * wp + kw * w.d[2], sizeof v);
        if constexpr (kMax)
          acc = v > acc ? v : acc;
        else
          acc += v;
      }
    std::memcpy(grid + i, &acc, sizeof acc);
  }
  for (int64_t oh = 0; oh < OH; ++oh)
    for (int64_t ow = 0; ow < OW; ++ow) {
      const float v = grid[oh * w.s[1] * wp + ow * w.s[2]];
      if constexpr (kMax)
        y[oh * OW + ow] = v;
      else
        y[oh * OW + ow] = counts[oh * OW + ow] > 0.f ? v / counts[oh * OW + ow] : 0.f;
    }
}

class PoolOp : public OpKernel {
 public:
  explicit PoolOp(bool max, bool qlinear = false) : max_(max), q_(qlinear) {}
  void compile(CompileContext& ctx) override {
    if (max_ || q_)
      ctx.require_dtype(0, {DType::f32, DType::u8, DType::i8});
    else
      ctx.require_dtype(0, {DType::f32});
    if (q_) {
      if (ctx.input(0).dtype == DType::f32) ctx.fail("X must be uint8 or int8");
      if (ctx.attr().get_int("channels_last", 0)) ctx.unsupported("channels_last=1");
      for (size_t i : {size_t{1}, size_t{3}}) {
        ctx.require_dtype(i, {DType::f32});
        if (shape_numel(ctx.input(i).shape) != 1) ctx.fail("x_scale and y_scale must be scalars");
      }
      for (size_t i : {size_t{2}, size_t{4}})
        if (ctx.has_input(i)) {
          ctx.require_dtype(i, {ctx.input(0).dtype});
          if (shape_numel(ctx.input(i).shape) != 1) ctx.fail("zero points must be scalars");
        }
    }
    const Shape& xs = ctx.input(0).shape;
    if (xs.size() < 3) ctx.fail("X must have rank >= 3");
    // MaxPool 8+ has a second output, Indices: where each maximum came from, flattened over the whole
    // tensor (N and C included), in row-major or (storage_order 1) column-major order of the spatial dims.
    indices_ = max_ && !q_ && ctx.outputs.size() > 1;
    if (ctx.outputs.size() > (indices_ ? 2u : 1u)) ctx.fail("too many outputs");
    col_major_ = ctx.attr().get_int("storage_order", 0);
    if (col_major_ != 0 && col_major_ != 1) ctx.fail("storage_order must be 0 or 1");
    w_ = make_window(ctx, Shape(xs.begin() + 2, xs.end()), ctx.attr().get_ints("kernel_shape"), true);
    include_pad_ = ctx.attr().get_int("count_include_pad", 0) != 0;
    // Float 1-D / 2-D average pools with strides up to 3 run whole planes (pool_plane_grid).
    avg_grid_ = !max_ && !q_ && ctx.input(0).dtype == DType::f32 && w_.in[0] == 1 && w_.k[0] == 1 &&
                w_.s[1] <= 3 && w_.s[2] <= 3;
    if (avg_grid_) average_counts();
    Shape out = {xs[0], xs[1]};
    for (int i = 3 - w_.nd; i < 3; ++i) out.push_back(w_.out[i]);
    ctx.set_output(0, ctx.input(0).dtype, out);
    if (indices_) ctx.set_output(1, DType::i64, out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const int64_t planes = x.shape()[0] * x.shape()[1];
    int64_t* idx = indices_ && ctx.outputs[1] ? ctx.output(1).data_as<int64_t>() : nullptr;
    if (q_) {
      Quant q;
      q.zx = ctx.has_input(2) ? static_cast<float>(quant::int_at(ctx.input(2), 0)) : 0.f;
      q.sx = ctx.input(1).data_as<float>()[0];
      q.sy = ctx.input(3).data_as<float>()[0];
      q.zy = ctx.has_input(4) ? static_cast<float>(quant::int_at(ctx.input(4), 0)) : 0.f;
      if (x.dtype() == DType::u8)
        return go<uint8_t>(x.data_as<uint8_t>(), y.data_as<uint8_t>(), planes, ctx.threading, &q);
      return go<int8_t>(x.data_as<int8_t>(), y.data_as<int8_t>(), planes, ctx.threading, &q);
    }
    switch (x.dtype()) {
      case DType::f32:
        if (max_ && !idx && w_.in[0] == 1 && w_.k[0] == 1)
          return max_rows(x.data_as<float>(), y.data_as<float>(), planes, ctx.threading);
        if (avg_grid_)
          return plane_grids(x.data_as<float>(), y.data_as<float>(), planes, ctx.threading,
                             avg_counts_.data());
        return go<float>(x.data_as<float>(), y.data_as<float>(), planes, ctx.threading, nullptr, idx);
      case DType::u8:
        return go<uint8_t>(x.data_as<uint8_t>(), y.data_as<uint8_t>(), planes, ctx.threading, nullptr, idx);
      case DType::i8:
        return go<int8_t>(x.data_as<int8_t>(), y.data_as<int8_t>(), planes, ctx.threading, nullptr, idx);
      default: ctx.fail("dtype");
    }
  }

 private:
  /// QLinearAveragePool, in ONNX Runtime's arithmetic (its op; the outputs match bit for bit):
  /// y = saturate(round_even(sum(sx * (q - zx)) / count / sy + zy)), count the whole kernel with
  /// count_include_pad.
  struct Quant {
    float zx = 0.f, sx = 1.f, sy = 1.f, zy = 0.f;
  };

  /// Input plane offset `off` (row-major over the window's three dims) in the Indices order.
  int64_t index_of(int64_t off) const {
    if (!col_major_) return off;
    const Window& w = w_;
    const int64_t id = off / (w.in[1] * w.in[2]), ih = off / w.in[2] % w.in[1], iw = off % w.in[2];
    // Column-major over the model's spatial dims: the first one varies fastest (unused dims are 1).
    switch (w.nd) {
      case 1: return iw;
      case 2: return ih + iw * w.in[1];
      default: return id + ih * w.in[0] + iw * w.in[0] * w.in[1];
    }
  }

  /// pool_plane_grid over every plane (max, or average with `counts`).
  void plane_grids(const float* x, float* y, int64_t planes, const kernels::Threading& th,
                   const float* counts) const {
    const Window& w = w_;
    const PlaneGrid g = plane_grid(w);
    parallel_for(th, planes, [&](int64_t pl) {
      thread_local std::vector<float> buf;
      if (static_cast<int64_t>(buf.size()) < g.floats()) buf.resize(static_cast<size_t>(g.floats()));
      if (counts)
        pool_plane_grid<false>(x + pl * w.in_size(), w, g, counts, buf.data(), y + pl * w.out_size());
      else
        pool_plane_grid<true>(x + pl * w.in_size(), w, g, nullptr, buf.data(), y + pl * w.out_size());
    });
  }

  /// The float AveragePool's divisor of every output of a 1-D / 2-D window, as the window walk counts it:
  /// the valid taps, or with count_include_pad the window clipped to the padded extent.
  void average_counts() {
    const Window& w = w_;
    avg_counts_.assign(static_cast<size_t>(w.out[1] * w.out[2]), 0.f);
    for (int64_t oh = 0; oh < w.out[1]; ++oh)
      for (int64_t ow = 0; ow < w.out[2]; ++ow) {
        int64_t count = 0;
        if (include_pad_) {
          count = 1;
          const int64_t starts[2] = {oh * w.s[1] - w.pb[1], ow * w.s[2] - w.pb[2]};
          for (int j = 0; j < 2; ++j) {
            const int64_t st = starts[j],
                          e = std::min(st + (w.k[j + 1] - 1) * w.d[j + 1] + 1, w.in[j + 1] + w.pe[j + 1]);
            count *= std::max<int64_t>(0, (e - st + w.d[j + 1] - 1) / w.d[j + 1]);
          }
        } else {
          for_each_window_tap(w, 0, oh, ow, [&](int64_t) { ++count; });
        }
        avg_counts_[static_cast<size_t>(oh * w.out[2] + ow)] = static_cast<float>(count);
      }
  }

  /// Float MaxPool over 1-D and 2-D planes without Indices, output row by output row (max_row). The same
  /// maxima as go() (NaN taps never win, a window wholly in the padding gives -inf). resnet50's 3x3 / 2
  /// pool of 64 x 112 x 112 (1 thread, Zen 4): 0.54 ms per kernel row and column with strided loads,
  /// 0.154 ms with the column maxima split into even and odd phases (ONNX Runtime 0.158).
  void max_rows(const float* x, float* y, int64_t planes, const kernels::Threading& th) const {
    const Window& w = w_;
    if (w.s[1] <= 3 && w.s[2] <= 3 && w.out[2] < 16) {
      plane_grids(x, y, planes, th, nullptr);
      return;
    }
    const int64_t IW = w.in[2], OW = w.out[2], kh_n = w.k[1];
    const int64_t scratch_n = max_row_scratch(OW, w.s[2], w.d[2], w.k[2]);
    parallel_for(th, planes, [&](int64_t pl) {
      // Per thread and kept between runs: a steady-state run allocates nothing.
      thread_local std::vector<float> scratch;
      thread_local std::vector<const float*> rows;
      if (static_cast<int64_t>(scratch.size()) < scratch_n) scratch.resize(static_cast<size_t>(scratch_n));
      if (static_cast<int64_t>(rows.size()) < kh_n) rows.resize(static_cast<size_t>(kh_n));
      const float* xp = x + pl * w.in_size();
      float* yp = y + pl * w.out_size();
      for (int64_t oh = 0; oh < w.out[1]; ++oh) {
        int nrows = 0;
        for (int64_t kh = 0; kh < kh_n; ++kh) {
          const int64_t ih = oh * w.s[1] - w.pb[1] + kh * w.d[1];
          if (ih >= 0 && ih < w.in[1]) rows[static_cast<size_t>(nrows++)] = xp + ih * IW;
        }
        max_row(rows.data(), nrows, IW, w.pb[2], OW, w.s[2], w.d[2], w.k[2], scratch.data(), yp + oh * OW);
      }
    });
  }

  template <class T>
  void go(const T* x, T* y, int64_t planes, const kernels::Threading& th, const Quant* q = nullptr,
          int64_t* idx = nullptr) const {
    const Window& w = w_;
    const float zx = q ? q->zx : 0.f, sx = q ? q->sx : 1.f;
    const bool mx = max_, inc = include_pad_;
    // A window entirely in the padding has no maximum (-inf), and a zero y_scale makes inf or NaN: an
    // integer output takes the type's lowest value for those instead of an undefined conversion.
    auto to_t = [](float v) -> T {
      if constexpr (std::is_integral_v<T>) {
        constexpr float lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
        return static_cast<T>(v >= lo ? (v <= hi ? v : hi) : lo);
      } else {
        return v;
      }
    };
    parallel_for(th, planes, [&](int64_t pl) {
      const T* xp = x + pl * w.in_size();
      T* yp = y + pl * w.out_size();
      for (int64_t od = 0; od < w.out[0]; ++od)
        for (int64_t oh = 0; oh < w.out[1]; ++oh)
          for (int64_t ow = 0; ow < w.out[2]; ++ow) {
            const int64_t d0 = od * w.s[0] - w.pb[0], h0 = oh * w.s[1] - w.pb[1], w0 = ow * w.s[2] - w.pb[2];
            float acc = mx ? -std::numeric_limits<float>::infinity() : 0.f;
            int64_t valid = 0;
            if (idx) {  // the first tap counts even when it is -inf or NaN, then the first strict maximum
              int64_t best = -1;
              for_each_window_tap(w, od, oh, ow, [&](int64_t i) {
                const float v = static_cast<float>(xp[i]);
                if (best < 0 || v > acc) {
                  acc = v;
                  best = i;
                }
              });
              const int64_t o = (od * w.out[1] + oh) * w.out[2] + ow;
              yp[o] = to_t(acc);
              idx[pl * w.out_size() + o] = best < 0 ? -1 : pl * w.in_size() + index_of(best);
              continue;
            }
            for_each_window_tap(w, od, oh, ow, [&](int64_t i) {
              const float v = q ? sx * (static_cast<float>(xp[i]) - zx) : static_cast<float>(xp[i]);
              if (mx)
                acc = v > acc ? v : acc;
              else
                acc += v;
              ++valid;
            });
            float out;
            if (mx) {
              out = acc;
            } else {
              int64_t count = valid;
              if (inc && q) {
                count = w.k[0] * w.k[1] * w.k[2];
              } else if (inc) {
                // Window clipped to the padded extent (ceil_mode windows may overhang it).
                count = 1;
                const int64_t starts[3] = {d0, h0, w0};
                for (int j = 0; j < 3; ++j) {
                  const int64_t e = std::min(starts[j] + (w.k[j] - 1) * w.d[j] + 1, w.in[j] + w.pe[j]);
                  count *= std::max<int64_t>(0, (e - starts[j] + w.d[j] - 1) / w.d[j]);
                }
              }
              out = count ? acc / static_cast<float>(count) : 0.f;
            }
            if constexpr (std::is_integral_v<T>) {
              if (q) {
                out = std::nearbyint(out / q->sy + q->zy);
              }
            }
            yp[(od * w.out[1] + oh) * w.out[2] + ow] = to_t(out);
          }
    });
  }

  bool max_, q_, include_pad_ = false, indices_ = false, avg_grid_ = false;
  std::vector<float> avg_counts_;  ///< avg_grid_: each output's divisor
  int64_t col_major_ = 0;
  Window w_;
};

class GlobalPoolOp : public OpKernel {
 public:
  explicit GlobalPoolOp(bool max) : max_(max) {}
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    const Shape& xs = ctx.input(0).shape;
    if (xs.size() < 3) ctx.fail("X must have rank >= 3");
    Shape out = xs;
    for (size_t d = 2; d < out.size(); ++d) out[d] = 1;
    ctx.set_output(0, DType::f32, out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int64_t planes = x.shape()[0] * x.shape()[1], sz = x.numel() / std::max<int64_t>(planes, 1);
    const float* px = x.data_as<float>();
    float* py = ctx.output(0).data_as<float>();
    const bool mx = max_;
    parallel_range(ctx.threading, planes, std::max<int64_t>(1, 16384 / std::max<int64_t>(sz, 1)),
                   [&](int64_t a, int64_t b) {
                     for (int64_t p = a; p < b; ++p) {
                       const float* r = px + p * sz;
                       if (sz == 0)
                         py[p] = 0.f;
                       else
                         py[p] = mx ? max_f32(r, sz) : sum_f32(r, sz) / static_cast<float>(sz);
                     }
                   });
  }

 private:
  bool max_;
};

}  // namespace

void register_pool_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "MaxPool", 1, kAnyOpset, [] { return std::make_unique<PoolOp>(true); });
  r.add(kOnnxDomain, "AveragePool", 1, kAnyOpset, [] { return std::make_unique<PoolOp>(false); });
  r.add(kOnnxDomain, "GlobalAveragePool", 1, kAnyOpset, [] { return std::make_unique<GlobalPoolOp>(false); });
  r.add(kOnnxDomain, "GlobalMaxPool", 1, kAnyOpset, [] { return std::make_unique<GlobalPoolOp>(true); });
  r.add(kMsDomain, "QLinearAveragePool", 1, kAnyOpset, [] { return std::make_unique<PoolOp>(false, true); });
}

}  // namespace ortkit::ops
