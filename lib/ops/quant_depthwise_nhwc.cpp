// QuantDepthwise's pixel-major form (x and y [N, H, W, C], between QdqConvs that hand NHWC tensors to
// each other, graph/passes/qdq_conv_layout.cpp). Channels are the vector lanes: an output pixel's taps
// are whole vectors, with no borders inside a row, and no transpose in or out of the conv. Input rows
// are widened once per thread into zero-padded float rows (x - x_zp, so a padded tap adds 0) kept in a
// ring that the next output rows reuse; the sums are exact integers as in the plane form, so both forms
// give the same bits.
#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

#include "ops/fast_math.h"
#include "ops/op.h"
#include "ops/quant_common.h"
#include "ops/quant_depthwise.h"
#include "ortkit/kernels/epilogue.h"

namespace ortkit::ops {
namespace {

typedef float dw8_v16f __attribute__((vector_size(64)));
typedef float dw8_v16fu __attribute__((vector_size(64), aligned(4)));

/// Output pixels [ow, ow + P) of channels [c, c + 16): P independent sums per lane, so the taps' adds
/// overlap (one chain of 9 dependent FMAs per pixel ran at a sixth of the FMA rate), each weight vector
/// loaded once for the P pixels. SW > 0: stride SW and dilation 1 (step and tap_step unused), where pixel
/// p's tap j is input pixel SW * p + j of the row, shared between pixels: each of the SW * (P - 1) + KW
/// pixels is loaded once per kernel row (10 loads for 24 FMAs at 3x3 stride 1 instead of 24).
template <int KH, int KW, int P, int SW, class Out>
__attribute__((always_inline)) inline void pixel_block(const float* const* rows, int kh, int kw, int64_t step,
                                                       int64_t tap_step, int64_t ow, int64_t c, int64_t C,
                                                       const float* w, const Out& out) {
  // Generic vectors, not lanes of float arrays: GCC vectorized the lane loops only while nothing else
  // shared the function, and a fused epilogue (RequantOut) turned the whole block scalar.
  dw8_v16f s[P];
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) s[p] = dw8_v16f{};
  if constexpr (SW > 0 && KH > 0 && KW > 0) {
    constexpr int X = SW * (P - 1) + KW;
#pragma GCC unroll 8
    for (int i = 0; i < KH; ++i) {
      const float* r = rows[i] + ow * SW * C + c;
      dw8_v16f xs[X];
      // Volatile: one load per pixel, not one folded into each FMA that reads it.
#pragma GCC unroll 24
      for (int q = 0; q < X; ++q) xs[q] = *reinterpret_cast<const volatile dw8_v16fu*>(r + q * C);
#pragma GCC unroll 8
      for (int j = 0; j < KW; ++j) {
        dw8_v16f wv;
        std::memcpy(&wv, w + (i * KW + j) * C + c, sizeof wv);
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) s[p] += xs[SW * p + j] * wv;
      }
    }
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) out(ow + p, c, s[p]);
    return;
  }
  for (int i = 0; i < (KH ? KH : kh); ++i) {
    const float* r = rows[i] + ow * step + c;
    for (int j = 0; j < (KW ? KW : kw); ++j) {
      dw8_v16f wv;
      std::memcpy(&wv, w + (i * (KW ? KW : kw) + j) * C + c, sizeof wv);
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p) {
        dw8_v16f x;
        std::memcpy(&x, r + p * step + j * tap_step, sizeof x);
        s[p] += x * wv;
      }
    }
  }
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) out(ow + p, c, s[p]);
}

/// One output row's sums: acc[ow * C + c] = sum over taps (i, j) of rows[i][(ow * sw + j * dw) * C + c]
/// * w[(i * kw + j) * C + c]. The channel-block loop is outside the pixel loop so that a block's
/// weights stay in L1. KH = KW = 0: the taps at run time.
template <int KH, int KW, int SW, class Out>
__attribute__((always_inline)) inline void row_sums(const float* const* rows, int kh, int kw, int64_t sw,
                                                    int64_t dw, int64_t ow_n, int64_t C, const float* w,
                                                    const Out& out) {
  const int64_t step = sw * C, tap_step = dw * C;
  int64_t c = 0;
  for (; c + 16 <= C; c += 16) {
    int64_t ow = 0;
    for (; ow + 8 <= ow_n; ow += 8)
      pixel_block<KH, KW, 8, SW>(rows, kh, kw, step, tap_step, ow, c, C, w, out);
    for (; ow + 4 <= ow_n; ow += 4)
      pixel_block<KH, KW, 4, SW>(rows, kh, kw, step, tap_step, ow, c, C, w, out);
    for (; ow < ow_n; ++ow) pixel_block<KH, KW, 1, SW>(rows, kh, kw, step, tap_step, ow, c, C, w, out);
  }
  if (c == C) return;
  for (int64_t ow = 0; ow < ow_n; ++ow)
    for (int64_t cc = c; cc < C; ++cc) {
      float s = 0.f;
      for (int i = 0; i < (KH ? KH : kh); ++i)
        for (int j = 0; j < (KW ? KW : kw); ++j)
          s += rows[i][ow * step + j * tap_step + cc] * w[(i * (KW ? KW : kw) + j) * C + cc];
      out.one(ow, cc, s);
    }
}

/// The sums as they are, into acc (pixels of C floats), for requant_act_channels (a scale that does not
/// fold).
struct SumsOut {
  float* acc;
  int64_t C;
  __attribute__((always_inline)) void operator()(int64_t ow, int64_t c, const dw8_v16f& s) const {
    std::memcpy(acc + ow * C + c, &s, sizeof s);
  }
  void one(int64_t ow, int64_t c, float s) const { acc[ow * C + c] = s; }
};

/// Where the output scale folds into the sums' scale (folding()): each sum is scaled, biased and clamped as
/// the plane form's scale_clamped does, then requantized as kernels::quantize_ops().requantize with scale
/// 1 (the saturation bounds shifted by the zero point, the 1.5 * 2^23 rounding to nearest even, NaN to
/// the low bound) and stored as T, in the pixel block's store: the plane form's bits, which its two passes
/// over a float row give.
template <class T>
struct RequantOut {
  T* y;
  int64_t C;
  const float *sc, *bb;
  float lo, hi, z, lo_z, hi_z;
  static constexpr float kMagic = 12582912.f;  // 1.5 * 2^23
  static constexpr float kQlo = std::is_signed_v<T> ? -128.f : 0.f,
                         kQhi = std::is_signed_v<T> ? 127.f : 255.f;
  // The saturation bounds shifted by the zero point z, within the range the magic-number rounding holds.
  RequantOut(T* y_, int64_t c_, const float* sc_, const float* bb_, float lo_, float hi_, float z_)
      : y(y_),
        C(c_),
        sc(sc_),
        bb(bb_),
        lo(lo_),
        hi(hi_),
        z(z_),
        lo_z(std::max(kQlo - z_, -4194304.f)),
        hi_z(std::min(kQhi - z_, 4194304.f)) {}
  // The steps on one sum (V = float) or 16 (V = a 16-lane vector), with their scales and biases.
  // (In place: a function returning a 64-byte vector has a different ABI in the baseline clone.)
  template <class V>
  __attribute__((always_inline)) void q(V& v, const V& a, const V& b) const {
    v = v * a + b;
    v = v < lo ? lo : v;
    v = hi < v ? hi : v;
    v = v > lo_z ? v : lo_z;
    v = v < hi_z ? v : hi_z;
    v = ((v + kMagic) - kMagic) + z;
    v = v < kQlo ? kQlo : v;
    v = v > kQhi ? kQhi : v;
  }
  __attribute__((always_inline)) void operator()(int64_t ow, int64_t c, const dw8_v16f& s) const {
    typedef int32_t v16i __attribute__((vector_size(64)));
    typedef T v16t __attribute__((vector_size(16)));
    dw8_v16f a, b;
    std::memcpy(&a, sc + c, sizeof a);
    std::memcpy(&b, bb + c, sizeof b);
    dw8_v16f v = s;
    q(v, a, b);
    const v16t q8 = __builtin_convertvector(__builtin_convertvector(v, v16i), v16t);
    std::memcpy(y + ow * C + c, &q8, sizeof q8);
  }
  void one(int64_t ow, int64_t c, float s) const {
    q(s, sc[c], bb[c]);
    y[ow * C + c] = static_cast<T>(static_cast<int32_t>(s));
  }
};

template <class Out>
ORTKIT_OPS_CLONES_512 void row_sums_3x3(const float* const* rows, int64_t sw, int64_t dw, int64_t ow_n,
                                        int64_t C, const float* w, const Out& out) {
  if (dw == 1 && sw == 1) return row_sums<3, 3, 1>(rows, 3, 3, sw, dw, ow_n, C, w, out);
  if (dw == 1 && sw == 2) return row_sums<3, 3, 2>(rows, 3, 3, sw, dw, ow_n, C, w, out);
  row_sums<3, 3, 0>(rows, 3, 3, sw, dw, ow_n, C, w, out);
}
template <class Out>
ORTKIT_OPS_CLONES_512 void row_sums_5x5(const float* const* rows, int64_t sw, int64_t dw, int64_t ow_n,
                                        int64_t C, const float* w, const Out& out) {
  if (dw == 1 && sw == 1) return row_sums<5, 5, 1>(rows, 5, 5, sw, dw, ow_n, C, w, out);
  if (dw == 1 && sw == 2) return row_sums<5, 5, 2>(rows, 5, 5, sw, dw, ow_n, C, w, out);
  row_sums<5, 5, 0>(rows, 5, 5, sw, dw, ow_n, C, w, out);
}
template <class Out>
ORTKIT_OPS_CLONES_512 void row_sums_any(const float* const* rows, int kh, int kw, int64_t sw, int64_t dw,
                                        int64_t ow_n, int64_t C, const float* w, const Out& out) {
  row_sums<0, 0, 0>(rows, kh, kw, sw, dw, ow_n, C, w, out);
}

template <class Out>
void row_sums_for(const quant::ConvGeom& gm, const float* const* rows, const float* w, const Out& out) {
  if (gm.kh == 3 && gm.kw == 3)
    row_sums_3x3(rows, gm.sw, gm.dw, gm.ow, gm.c, w, out);
  else if (gm.kh == 5 && gm.kw == 5)
    row_sums_5x5(rows, gm.sw, gm.dw, gm.ow, gm.c, w, out);
  else
    row_sums_any(rows, static_cast<int>(gm.kh), static_cast<int>(gm.kw), gm.sw, gm.dw, gm.ow, gm.c, w, out);
}

template <class T>
void requant_act_channels(const float* acc, int64_t pixels, int64_t C, const float* sc, const float* bb,
                          const kernels::Epilogue& ep, float ys, int32_t zp, T* out) {
  const float z = static_cast<float>(zp);
  const float lo_z = static_cast<float>(std::numeric_limits<T>::lowest()) - z;
  const float hi_z = static_cast<float>(std::numeric_limits<T>::max()) - z;
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t c = 0; c < C; ++c)
      out[p * C + c] = quant::quantize_one<T>(
          kernels::apply_act(acc[p * C + c] * sc[c] + bb[c], ep.act, ep.clip_lo, ep.clip_hi) / ys, lo_z, hi_z,
          z);
}

}  // namespace

int64_t QuantDepthwise::nhwc_row_floats() const {
  const quant::ConvGeom& gm = gm_;
  const int64_t cols = std::max(gm.pl + gm.w, (gm.ow - 1) * gm.sw + (gm.kw - 1) * gm.dw + 1);
  return round16(cols * gm.c);
}

int64_t QuantDepthwise::nhwc_slot_floats() const {
  const quant::ConvGeom& gm = gm_;
  const int64_t ring = (gm.kh - 1) * gm.dh + 1;
  return (ring + 1) * nhwc_row_floats() + round16(gm.ow * gm.c);  // ring, a zero row, one output row
}

size_t QuantDepthwise::nhwc_scratch_bytes() const {
  return static_cast<size_t>(slots_ * nhwc_slot_floats() + 2 * round16(gm_.c)) * sizeof(float);
}

void QuantDepthwise::run_nhwc(const Params& p, const kernels::Epilogue& ep, const kernels::Threading& th,
                              float* scratch) const {
  const quant::ConvGeom& gm = gm_;
  const int64_t C = gm.c, rows_total = gm.n * gm.oh;
  if (rows_total == 0 || gm.ow == 0 || C == 0) return;
  // Scale, bias and clip bounds as the plane form computes them, per channel.
  const Folding f = folding(p, ep);
  const bool fold = f.fold;
  const float lo = f.lo, hi = f.hi;
  float* sc = scratch;
  float* bb = sc + round16(C);
  for (int64_t c = 0; c < C; ++c) {
    sc[c] = f.scale(p, c);
    bb[c] = f.bias(p, c);
  }
  float* slots = bb + round16(C);
  const int64_t ring = (gm.kh - 1) * gm.dh + 1, row_floats = nhwc_row_floats(),
                slot_floats = nhwc_slot_floats();
  const int64_t in_row = gm.w * C, out_row = gm.ow * C;
  const float zp = static_cast<float>(p.x_zp), yz = static_cast<float>(p.y_zp);
  const int64_t T = std::min<int64_t>(slots_, rows_total);
  parallel_for(th, T, [&](int64_t t) {
    float* slot = slots + t * slot_floats;
    float* zero = slot + ring * row_floats;
    float* acc = zero + row_floats;
    // Pads and the zero row stay 0; only the image columns of a ring row are written.
    std::fill(slot, acc, 0.f);
    std::vector<int64_t> held(static_cast<size_t>(ring), -1);  // n * H + ih held by each ring row
    const float* rows[kMaxTaps];
    for (int64_t r = rows_total * t / T; r < rows_total * (t + 1) / T; ++r) {
      const int64_t n = r / gm.oh, oh = r % gm.oh;
      for (int64_t i = 0; i < gm.kh; ++i) {
        const int64_t ih = oh * gm.sh - gm.pt + i * gm.dh;
        if (ih < 0 || ih >= gm.h) {
          rows[i] = zero;
          continue;
        }
        const int64_t slot_row = (ih % ring + ring) % ring;
        float* dst = slot + slot_row * row_floats;
        const int64_t tag = n * gm.h + ih;
        if (held[static_cast<size_t>(slot_row)] != tag) {
          const int64_t off = (n * gm.h + ih) * in_row;
          if (p.x_signed)
            widen_s8(reinterpret_cast<const int8_t*>(p.x) + off, in_row, zp, dst + gm.pl * C);
          else
            widen_u8(p.x + off, in_row, zp, dst + gm.pl * C);
          held[static_cast<size_t>(slot_row)] = tag;
        }
        rows[i] = dst;
      }
      char* y = static_cast<char*>(p.y) + r * out_row;
      if (fold) {
        if (p.y_signed)
          row_sums_for(gm, rows, wt_.data(),
                       RequantOut<int8_t>(reinterpret_cast<int8_t*>(y), C, sc, bb, lo, hi, yz));
        else
          row_sums_for(gm, rows, wt_.data(),
                       RequantOut<uint8_t>(reinterpret_cast<uint8_t*>(y), C, sc, bb, lo, hi, yz));
        continue;
      }
      row_sums_for(gm, rows, wt_.data(), SumsOut{acc, C});
      if (p.y_signed) {
        requant_act_channels(acc, gm.ow, C, sc, bb, ep, p.y_scale, p.y_zp, reinterpret_cast<int8_t*>(y));
      } else {
        requant_act_channels(acc, gm.ow, C, sc, bb, ep, p.y_scale, p.y_zp, reinterpret_cast<uint8_t*>(y));
      }
    }
  });
}

}  // namespace ortkit::ops
