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

#include "ops/conv_util.h"
#include "ops/fast_math.h"
#include "ops/op_util.h"
#include "ops/quant_common.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

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

  /// Float MaxPool over 1-D and 2-D planes without Indices, output row by output row: each valid kernel
  /// row updates the whole output row, the columns whose taps all lie inside the input in a branch-free
  /// loop per kernel column. The same maxima as go() (NaN taps never win, a window wholly in the padding
  /// gives -inf); resnet50's 3x3 / 2 pool of 64 x 112 x 112 took 3% of the model tap by tap.
  void max_rows(const float* x, float* y, int64_t planes, const kernels::Threading& th) const {
    const Window& w = w_;
    const int64_t IW = w.in[2], OW = w.out[2], sw = w.s[2], dw = w.d[2], pw = w.pb[2], kw_n = w.k[2];
    // Output columns whose taps are all inside the row: ow * sw - pw >= 0 and
    // ow * sw - pw + (kw_n - 1) * dw <= IW - 1.
    const int64_t last = IW - 1 - (kw_n - 1) * dw + pw;
    const int64_t lo = std::min(OW, (pw + sw - 1) / sw);
    const int64_t hi = last < 0 ? lo : std::clamp((last / sw) + 1, lo, OW);
    parallel_for(th, planes, [&](int64_t pl) {
      const float* xp = x + pl * w.in_size();
      float* yp = y + pl * w.out_size();
      for (int64_t oh = 0; oh < w.out[1]; ++oh) {
        float* yr = yp + oh * OW;
        std::fill(yr, yr + OW, -std::numeric_limits<float>::infinity());
        for (int64_t kh = 0; kh < w.k[1]; ++kh) {
          const int64_t ih = oh * w.s[1] - w.pb[1] + kh * w.d[1];
          if (ih < 0 || ih >= w.in[1]) continue;
          const float* xr = xp + ih * IW;
          auto edge = [&](int64_t ow) {
            for (int64_t kw = 0; kw < kw_n; ++kw) {
              const int64_t iw = ow * sw - pw + kw * dw;
              if (iw >= 0 && iw < IW && xr[iw] > yr[ow]) yr[ow] = xr[iw];
            }
          };
          for (int64_t ow = 0; ow < lo; ++ow) edge(ow);
          for (int64_t kw = 0; kw < kw_n; ++kw) {
            const float* src = xr + kw * dw - pw;
            if (sw == 1) {
              for (int64_t ow = lo; ow < hi; ++ow) yr[ow] = src[ow] > yr[ow] ? src[ow] : yr[ow];
            } else {
              for (int64_t ow = lo; ow < hi; ++ow) {
                const float v = src[ow * sw];
                yr[ow] = v > yr[ow] ? v : yr[ow];
              }
            }
          }
          for (int64_t ow = hi; ow < OW; ++ow) edge(ow);
        }
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

  bool max_, q_, include_pad_ = false, indices_ = false;
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
