#include "ops/quant_depthwise.h"

#include <algorithm>
#include <limits>

#include "ops/fast_math.h"
#include "ops/op.h"
#include "ops/quant_common.h"
#include "ortkit/kernels/epilogue.h"
#include "ortkit/kernels/quantize.h"

namespace ortkit::ops {
namespace {

/// out = clamp(acc * sc + bb, lo, hi) in fp32.
ORTKIT_OPS_CLONES_512 void scale_clamped(const float* acc, int64_t n, float sc, float bb, float lo, float hi,
                                         float* out) {
  for (int64_t i = 0; i < n; ++i) {
    float v = acc[i] * sc + bb;
    v = v < lo ? lo : v;
    out[i] = hi < v ? hi : v;
  }
}

/// out = saturate(round(clamp(acc * sc + bb, lo, hi)) + zp): sc, bb, lo and hi already divided by y_s.
/// The float part in place, then the SIMD requantize row (masked tail): one loop to u8 vectorised in
/// 64-value blocks and ran MobileNet's 7x7 and 14x14 planes mostly in its scalar remainder.
void requant_clamped(float* acc, int64_t n, float sc, float bb, float lo, float hi, int32_t zp,
                     bool is_signed, void* out) {
  scale_clamped(acc, n, sc, bb, lo, hi, acc);
  kernels::quantize_ops().requantize(acc, n, 1.f, zp, is_signed, out);
}

/// The general form: act(acc * sc + bb) / y_s, for activations that do not commute with the scaling.
template <class T>
void requant_act(const float* acc, int64_t n, float sc, float bb, const kernels::Epilogue& ep, float ys,
                 int32_t zp, T* out) {
  const float z = static_cast<float>(zp);
  const float lo_z = static_cast<float>(std::numeric_limits<T>::lowest()) - z;
  const float hi_z = static_cast<float>(std::numeric_limits<T>::max()) - z;
  for (int64_t i = 0; i < n; ++i)
    out[i] = quant::quantize_one<T>(kernels::apply_act(acc[i] * sc + bb, ep.act, ep.clip_lo, ep.clip_hi) / ys,
                                    lo_z, hi_z, z);
}

}  // namespace

ORTKIT_OPS_CLONES_512 void QuantDepthwise::widen_u8(const uint8_t* x, int64_t n, float zp, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(x[i]) - zp;
}
ORTKIT_OPS_CLONES_512 void QuantDepthwise::widen_s8(const int8_t* x, int64_t n, float zp, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(x[i]) - zp;
}

void QuantDepthwise::prepare(const quant::ConvGeom& gm, int threads, bool nhwc) {
  gm_ = gm;
  nhwc_ = nhwc;
  Window win;
  win.nd = 2;
  win.in = {1, gm.h, gm.w};
  win.k = {1, gm.kh, gm.kw};
  win.s = {1, gm.sh, gm.sw};
  win.d = {1, gm.dh, gm.dw};
  win.pb = {0, gm.pt, gm.pl};
  win.pe = {0, std::max<int64_t>(0, (gm.oh - 1) * gm.sh + (gm.kh - 1) * gm.dh + 1 - gm.h - gm.pt),
            std::max<int64_t>(0, (gm.ow - 1) * gm.sw + (gm.kw - 1) * gm.dw + 1 - gm.w - gm.pl)};
  win.out = {1, gm.oh, gm.ow};
  planes_.prepare(win);
  slots_ = std::max(1, threads);
  slot_floats_ = round16(planes_.slot_floats()) + round16(gm.h * gm.w) + round16(gm.pixels());
}

void QuantDepthwise::set_weights(const void* w, bool w_unsigned, const std::vector<int32_t>& zps) {
  const int64_t taps = gm_.kh * gm_.kw;
  wf_.resize(static_cast<size_t>(gm_.m * taps));
  for (int64_t i = 0; i < gm_.m * taps; ++i) {
    const int32_t v =
        w_unsigned ? int32_t{static_cast<const uint8_t*>(w)[i]} : int32_t{static_cast<const int8_t*>(w)[i]};
    wf_[static_cast<size_t>(i)] =
        static_cast<float>(v - zps[zps.size() > 1 ? static_cast<size_t>(i / taps) : 0]);
  }
  if (!nhwc_) return;
  wt_.resize(wf_.size());
  for (int64_t c = 0; c < gm_.m; ++c)
    for (int64_t t = 0; t < taps; ++t)
      wt_[static_cast<size_t>(t * gm_.m + c)] = wf_[static_cast<size_t>(c * taps + t)];
}

void QuantDepthwise::run_sums(const uint8_t* x, bool x_signed, int32_t x_zp, const kernels::Threading& th,
                              float* scratch, const Emit& emit) const {
  const quant::ConvGeom& gm = gm_;
  const int64_t in_size = gm.h * gm.w, out_size = gm.pixels(), taps = gm.kh * gm.kw;
  const int64_t tasks = gm.n * gm.c;
  if (tasks == 0 || out_size == 0) return;
  constexpr float kInf = std::numeric_limits<float>::infinity();
  const int64_t T = std::min<int64_t>(slots_, tasks);
  parallel_for(th, T, [&](int64_t t) {
    float* slot = scratch + t * slot_floats_;
    float* xf = slot + round16(planes_.slot_floats());
    float* acc = xf + round16(in_size);
    planes_.init_slot(slot);
    for (int64_t nc = tasks * t / T; nc < tasks * (t + 1) / T; ++nc) {
      if (x_signed)
        widen_s8(reinterpret_cast<const int8_t*>(x) + nc * in_size, in_size, static_cast<float>(x_zp), xf);
      else
        widen_u8(x + nc * in_size, in_size, static_cast<float>(x_zp), xf);
      planes_.run(DwPlane{xf, wf_.data() + (nc % gm.c) * taps, acc, 0.f, -kInf, kInf}, slot);
      emit(nc, t, acc);
    }
  });
}

QuantDepthwise::Folding QuantDepthwise::folding(const Params& p, const kernels::Epilogue& ep) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  Folding f;
  f.fold = quant::output_scale_folds(p.y_f32 ? 1.f : p.y_scale, ep.act);
  f.div = f.fold && !p.y_f32 ? p.y_scale : 1.f;
  f.lo = ep.act == kernels::Act::relu ? 0.f : ep.act == kernels::Act::clip ? ep.clip_lo / f.div : -kInf;
  f.hi = ep.act == kernels::Act::clip ? ep.clip_hi / f.div : kInf;
  return f;
}

void QuantDepthwise::run(const Params& p, const kernels::Epilogue& ep, const kernels::Threading& th,
                         float* scratch) const {
  const quant::ConvGeom& gm = gm_;
  const int64_t out_size = gm.pixels();
  const Folding f = folding(p, ep);
  const bool fold = f.fold;
  const float lo = f.lo, hi = f.hi;
  run_sums(p.x, p.x_signed, p.x_zp, th, scratch, [&](int64_t nc, int64_t, float* acc) {
    const int64_t c = nc % gm.c;
    const float sc = f.scale(p, c), bb = f.bias(p, c);
    if (p.y_f32) {
      float* out = p.y_f32 + nc * out_size;
      if (fold)
        scale_clamped(acc, out_size, sc, bb, lo, hi, out);
      else
        for (int64_t i = 0; i < out_size; ++i)
          out[i] = kernels::apply_act(acc[i] * sc + bb, ep.act, ep.clip_lo, ep.clip_hi);
    } else if (fold) {
      requant_clamped(acc, out_size, sc, bb, lo, hi, p.y_zp, p.y_signed,
                      static_cast<char*>(p.y) + nc * out_size);
    } else if (p.y_signed) {
      requant_act(acc, out_size, sc, bb, ep, p.y_scale, p.y_zp, static_cast<int8_t*>(p.y) + nc * out_size);
    } else {
      requant_act(acc, out_size, sc, bb, ep, p.y_scale, p.y_zp, static_cast<uint8_t*>(p.y) + nc * out_size);
    }
  });
}

}  // namespace ortkit::ops
