// Depthwise planes in fp32 (conv_depthwise.h): the flat, KxK and generic kernels and their choice.
#include "ops/conv_depthwise.h"

#include <algorithm>
#include <cstring>

#include "ops/fast_math.h"
#include "ops/transpose_kernel.h"

namespace ortkit::ops {
namespace {

/// Output widths up to which the flat depthwise path replaces the row kernel. Measured on Zen 5 (1 thread,
/// MobileNet shapes): stride 1 wins from 7x7 to 56x56 and ties at 112x112; stride 2 computes about
/// twice the outputs it keeps, and wins at 7 wide (14x14 input), ties at 14, loses from 28.
constexpr int64_t kDwFlatMaxWidthS1 = 64, kDwFlatMaxWidthS2 = 8;

/// Clamp to [lo, hi] keeping NaN; written as x86 max/min semantics so GCC vectorises it to vmax/vmin.
inline float clamp_keep_nan(float v, float lo, float hi) {
  v = v < lo ? lo : v;
  return hi < v ? hi : v;
}

/// Generic depthwise plane (any rank, kernel, strides, dilations): rows are accumulated tap by tap over
/// the valid output range, so the inner loop is a plain axpy. The clamp epilogue is a final pass.
ORTKIT_OPS_CLONES void depthwise_plane_generic(const DwPlane& p, const Window& w) {
  const float *xc = p.x, *wc = p.w;
  float* yc = p.y;
  std::fill(yc, yc + w.out_size(), p.bias);
  for (int64_t od = 0; od < w.out[0]; ++od)
    for (int64_t oh = 0; oh < w.out[1]; ++oh) {
      float* yr = yc + (od * w.out[1] + oh) * w.out[2];
      for (int64_t kd = 0; kd < w.k[0]; ++kd) {
        const int64_t id = od * w.s[0] - w.pb[0] + kd * w.d[0];
        if (id < 0 || id >= w.in[0]) continue;
        for (int64_t kh = 0; kh < w.k[1]; ++kh) {
          const int64_t ih = oh * w.s[1] - w.pb[1] + kh * w.d[1];
          if (ih < 0 || ih >= w.in[1]) continue;
          const float* xr = xc + (id * w.in[1] + ih) * w.in[2];
          for (int64_t kw = 0; kw < w.k[2]; ++kw) {
            const float wv = wc[(kd * w.k[1] + kh) * w.k[2] + kw];
            const int64_t off = kw * w.d[2] - w.pb[2];  // iw = ow * s + off
            // ow range with 0 <= iw < in_w
            const int64_t lo = off >= 0 ? 0 : (-off + w.s[2] - 1) / w.s[2];
            const int64_t hi =
                std::min(w.in[2] - 1 - off < 0 ? -1 : (w.in[2] - 1 - off) / w.s[2], w.out[2] - 1);
            if (w.s[2] == 1) {
              const float* xs = xr + off;
              for (int64_t ow = lo; ow <= hi; ++ow) yr[ow] += wv * xs[ow];
            } else {
              for (int64_t ow = lo; ow <= hi; ++ow) yr[ow] += wv * xr[ow * w.s[2] + off];
            }
          }
        }
      }
    }
  const float lo = p.lo, hi = p.hi;
  for (int64_t i = 0; i < w.out_size(); ++i) yc[i] = clamp_keep_nan(yc[i], lo, hi);
}

/// at(ow) for ow in [c0, c1): a run of whole vectors, then, for an interior of 16 or more, its last 16
/// outputs again (written twice, with the same values) instead of a scalar remainder: MobileNetV2's
/// 112-wide stride-1 plane went from 0.175 to 0.15 ms (Zen 4, 1 thread). Both runs are the same vectorised
/// loop with a trip count that is a multiple of 16 (its scalar epilogue never runs). Stride 2 keeps the
/// plain loop: there the overlap made MobileNetV2's 56- and 28-wide planes 12-25% slower.
template <int S, class F>
__attribute__((always_inline)) inline void interior_blocks(int64_t c0, int64_t c1, F&& at) {
  auto run = [&](int64_t a, int64_t b) __attribute__((always_inline)) {
#pragma GCC ivdep
    for (int64_t ow = a; ow < b; ++ow) at(ow);
  };
  if (S != 1 || c1 - c0 < 16) return run(c0, c1);
  const int64_t full = c0 + (c1 - c0) / 16 * 16;
  run(c0, full);
  if (full < c1) run(c1 - 16, c1);
}

typedef float dw_f32x16 __attribute__((vector_size(64)));

/// The three taps of 16 stride-2 outputs from row r: ev = r[2l], od = r[2l + 1], e2 = r[2l + 2] (the evens
/// shifted by one lane with r[32]; nothing read past r[32]). Shared by s2_block16 and s2_block16_pair.
__attribute__((always_inline)) inline void s2_taps(const float* r, dw_f32x16& ev, dw_f32x16& od,
                                                   dw_f32x16& e2) {
  typedef int v16i __attribute__((vector_size(64)));
  dw_f32x16 a, b;
  std::memcpy(&a, r, sizeof a);
  std::memcpy(&b, r + 16, sizeof b);
  ev = __builtin_shuffle(a, b, v16i{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30});
  od = __builtin_shuffle(a, b, v16i{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31});
  const dw_f32x16 nx = dw_f32x16{} + r[32];
  e2 = __builtin_shuffle(ev, nx, v16i{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
}

/// 16 outputs of a 3x3 stride-2 row (dilation 1): y[l] = clamp(bias + sum over rows k and taps t of
/// w[3k + t] * r_k[2l + t]), l < 16, the scalar loop's operation order. Each row is two loads split into
/// evens and odds, and the evens shifted by one lane with r_k[32] (nothing read past r_k[32], the block's
/// last tap). Generic vectors (vpermt2ps on AVX-512), kept inside one function so that no vector crosses
/// a call: GCC's auto-vectorised stride-2 loop left MobileNetV2's 55- and 27-wide interiors a third scalar,
/// and peeled a 16-output block to scalar.
__attribute__((always_inline)) inline void s2_block16(const float* const* r, const float* w, float bias,
                                                      float lo, float hi, float* y) {
  typedef dw_f32x16 v16f;
  v16f sum[3];
  for (int k = 0; k < 3; ++k) {
    v16f ev, od, e2;
    s2_taps(r[k], ev, od, e2);
    sum[k] = (k == 0 ? v16f{} + bias : v16f{}) + w[3 * k] * ev + w[3 * k + 1] * od + w[3 * k + 2] * e2;
  }
  v16f v = sum[0] + sum[1] + sum[2];
  const v16f l = v16f{} + lo, h = v16f{} + hi;
  v = v < l ? l : v;  // clamp_keep_nan, lane by lane
  v = h < v ? h : v;
  std::memcpy(y, &v, sizeof v);
}

/// s2_block16 for two output rows at once (vertical stride 2, dilation 1): rows r[0..2] make y0 and
/// r[2..4] make y1, so the row they share is loaded and split into evens and odds once.
__attribute__((always_inline)) inline void s2_block16_pair(const float* const* r, const float* w, float bias,
                                                           float lo, float hi, float* y0, float* y1) {
  typedef dw_f32x16 v16f;
  v16f ev[5], od[5], e2[5];
  for (int k = 0; k < 5; ++k) s2_taps(r[k], ev[k], od[k], e2[k]);
  const v16f l = v16f{} + lo, h = v16f{} + hi;
  for (int o = 0; o < 2; ++o) {
    v16f sum[3];
    for (int k = 0; k < 3; ++k) {
      const int j = 2 * o + k;
      sum[k] =
          (k == 0 ? v16f{} + bias : v16f{}) + w[3 * k] * ev[j] + w[3 * k + 1] * od[j] + w[3 * k + 2] * e2[j];
    }
    v16f v = sum[0] + sum[1] + sum[2];
    v = v < l ? l : v;  // clamp_keep_nan, lane by lane
    v = h < v ? h : v;
    std::memcpy(o == 0 ? y0 : y1, &v, sizeof v);
  }
}

/// 2-D depthwise plane with a KxK kernel and horizontal stride S (dilation 1 along W when D1, else
/// w.d[2]), any pads, vertical stride and dilation. Per output row the K input rows are picked once
/// (a row of zeros stands in for rows in the padding), the interior columns, where every tap is inside
/// the row, run all K*K taps in registers in one vectorised pass with the bias and clamp fused, and the
/// few border columns take a checked scalar path. `zeros` holds at least in_w zeros.
template <int K, int S, bool D1>
ORTKIT_OPS_CLONES_512 void depthwise_plane_kxk(const DwPlane& p, const Window& w, const float* zeros) {
  const int64_t IH = w.in[1], IW = w.in[2], OH = w.out[1], OW = w.out[2];
  const int64_t sh = w.s[1], dh = w.d[1], ph = w.pb[1], pw = w.pb[2];
  const int64_t dw = D1 ? 1 : w.d[2];
  float wk[K * K];
  for (int i = 0; i < K * K; ++i) wk[i] = p.w[i];
  const float bias = p.bias, lo = p.lo, hi = p.hi;
  // Interior columns: ow * S - pw >= 0 and ow * S - pw + (K - 1) * dw <= IW - 1.
  const int64_t c0 = std::min(OW, (pw + S - 1) / S);
  const int64_t last = IW - 1 - (K - 1) * dw + pw;
  const int64_t c1 = std::max(c0, std::min(OW, last < 0 ? 0 : last / S + 1));  // exclusive
  // A border column ow of the output row yy, read from the K input rows rws: the checked scalar path.
  auto border = [&](const float* const* rws, float* yy, int64_t ow) {
    float acc = bias;
    for (int kh = 0; kh < K; ++kh)
      for (int kw = 0; kw < K; ++kw) {
        const int64_t iw = ow * S - pw + kw * dw;
        if (iw >= 0 && iw < IW) acc += wk[kh * K + kw] * rws[kh][iw];
      }
    yy[ow] = clamp_keep_nan(acc, lo, hi);
  };
  // block(ow) for 16-output blocks over the interior (c1 - c0 >= 16), the last one overlapping the block
  // before it (the same values again).
  auto blocks16 = [&](auto&& block) __attribute__((always_inline)) {
    int64_t ow = c0;
    for (; ow + 16 <= c1; ow += 16) block(ow);
    if (ow < c1) block(c1 - 16);
  };
  for (int64_t oh = 0; oh < OH; ++oh) {
    if constexpr (K == 3 && S == 2 && D1) {
      // Two output rows per pass where they share an input row (stride 2 down as well): MobileNetV2's
      // 112 -> 56 plane 0.198 -> 0.176 ms, 56 -> 28 0.087 -> 0.082 (Zen 4, 1 thread).
      if (sh == 2 && dh == 1 && c1 - c0 >= 16 && oh + 1 < OH) {
        const float* r5[5];
        for (int k = 0; k < 5; ++k) {
          const int64_t ih = oh * 2 - ph + k;
          r5[k] = ih >= 0 && ih < IH ? p.x + ih * IW : zeros;
        }
        float* y0 = p.y + oh * OW;
        float* y1 = y0 + OW;
        auto border2 = [&](int64_t ow) {
          border(r5, y0, ow);
          border(r5 + 2, y1, ow);
        };
        for (int64_t ow = 0; ow < c0; ++ow) border2(ow);
        blocks16([&](int64_t ow) __attribute__((always_inline)) {
          const int64_t i = ow * 2 - pw;
          const float* r[5] = {r5[0] + i, r5[1] + i, r5[2] + i, r5[3] + i, r5[4] + i};
          s2_block16_pair(r, wk, bias, lo, hi, y0 + ow, y1 + ow);
        });
        for (int64_t ow = c1; ow < OW; ++ow) border2(ow);
        ++oh;
        continue;
      }
    }
    const float* rows[K];
    for (int kh = 0; kh < K; ++kh) {
      const int64_t ih = oh * sh - ph + kh * dh;
      rows[kh] = ih >= 0 && ih < IH ? p.x + ih * IW : zeros;
    }
    float* __restrict yr = p.y + oh * OW;
    for (int64_t ow = 0; ow < c0; ++ow) border(rows, yr, ow);
    if constexpr (K == 3) {
      // Spelled out so that GCC sees nine independent streams (and, for S = 2, one even/odd
      // interleaving group per row).
      const float* __restrict r0 = rows[0];
      const float* __restrict r1 = rows[1];
      const float* __restrict r2 = rows[2];
      const float w0 = wk[0], w1 = wk[1], w2 = wk[2], w3 = wk[3], w4 = wk[4], w5 = wk[5], w6 = wk[6],
                  w7 = wk[7], w8 = wk[8];
      const int64_t e1 = dw, e2 = 2 * dw;
      auto at = [&](int64_t ow) __attribute__((always_inline)) {
        const int64_t i = ow * S - pw;
        float a = bias + w0 * r0[i] + w1 * r0[i + e1] + w2 * r0[i + e2];
        float b = w3 * r1[i] + w4 * r1[i + e1] + w5 * r1[i + e2];
        float c = w6 * r2[i] + w7 * r2[i + e1] + w8 * r2[i + e2];
        yr[ow] = clamp_keep_nan(a + b + c, lo, hi);
      };
      if constexpr (S == 2 && D1) {
        if (c1 - c0 >= 16) {
          blocks16([&](int64_t ow) __attribute__((always_inline)) {
            const int64_t i = ow * 2 - pw;
            const float* r[3] = {r0 + i, r1 + i, r2 + i};
            s2_block16(r, wk, bias, lo, hi, yr + ow);
          });
        } else {
          interior_blocks<S>(c0, c1, at);
        }
      } else {
        interior_blocks<S>(c0, c1, at);
      }
    } else {
      auto at = [&](int64_t ow) __attribute__((always_inline)) {
        const int64_t i = ow * S - pw;
        float acc = bias;
#pragma GCC unroll 16
        for (int kh = 0; kh < K; ++kh)
#pragma GCC unroll 16
          for (int kw = 0; kw < K; ++kw) acc += wk[kh * K + kw] * rows[kh][i + kw * dw];
        yr[ow] = clamp_keep_nan(acc, lo, hi);
      };
      interior_blocks<S>(c0, c1, at);
    }
    for (int64_t ow = c1; ow < OW; ++ow) border(rows, yr, ow);
  }
}

/// wide: the flat loop's geometry (a wide output plane and slack for its reads); else the row-group
/// kernel's, which reads only the padded plane and writes Y itself.
DwSmall make_dw_small(const Window& w, bool wide) {
  DwSmall g;
  g.k = w.k[2];
  g.s = w.s[2];
  g.oh = w.out[1];
  g.ow = w.out[2];
  g.hp = g.s * (g.oh - 1) + g.k;
  g.wp = g.s * (g.ow - 1) + g.k;
  if (!wide) {
    g.plane = (g.hp * g.wp + 15) / 16 * 16;
    return g;
  }
  g.n = (g.oh * g.wp + 15) / 16 * 16;
  const int64_t reads = g.s * (g.n - 1) + (g.k - 1) * g.wp + g.k;  // highest index read + 1
  g.plane = (std::max(reads, g.hp * g.wp) + 15) / 16 * 16;
  return g;
}

/// memcpy for the few floats of one short row, inlined (a libc call per 7-float row costs more than
/// the copy).
inline void copy_short(float* d, const float* s, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) __builtin_memcpy(d + i, s + i, 16 * sizeof(float));
  if (i + 8 <= n) {
    __builtin_memcpy(d + i, s + i, 8 * sizeof(float));
    i += 8;
  }
  if (i + 4 <= n) {
    __builtin_memcpy(d + i, s + i, 4 * sizeof(float));
    i += 4;
  }
  if (i + 2 <= n) {
    __builtin_memcpy(d + i, s + i, 2 * sizeof(float));
    i += 2;
  }
  if (i < n) d[i] = s[i];
}

/// Copies one input plane into the padded plane of `buf`; the padding (and slack) must already be 0
/// and stays 0 because only in-range pixels are written. Cloned so that a row moves 16 floats at a time.
ORTKIT_OPS_CLONES_512 void dw_small_fill(const float* x, const Window& w, const DwSmall& g, float* buf) {
  const int64_t IH = w.in[1], IW = w.in[2], ph = w.pb[1], pw = w.pb[2];
  // Columns cc with 0 <= cc - pw < IW, rows rr with 0 <= rr - ph < IH.
  const int64_t c0 = std::min(pw, g.wp), c1 = std::min(g.wp, IW + pw);
  const int64_t r0 = std::min(ph, g.hp), r1 = std::min(g.hp, IH + ph);
  if (c1 <= c0) return;
  for (int64_t rr = r0; rr < r1; ++rr)
    copy_short(buf + rr * g.wp + c0, x + (rr - ph) * IW + (c0 - pw), c1 - c0);
}

template <int K, int S>
ORTKIT_OPS_CLONES_512 void depthwise_small(const DwPlane& p, const DwSmall& g, float* buf) {
  const float* taps[K * K];
  for (int kh = 0; kh < K; ++kh)
    for (int kw = 0; kw < K; ++kw) taps[kh * K + kw] = buf + kh * g.wp + kw;
  float wk[K * K];
  for (int i = 0; i < K * K; ++i) wk[i] = p.w[i];
  const int64_t n = g.n;
  float* __restrict wide = buf + g.plane;
  const float bias = p.bias, lo = p.lo, hi = p.hi;
  // One partial sum per kernel row, added at the end: one chain of K*K dependent FMAs per vector ran
  // 2-5% slower on MobileNetV2's 56x56 planes (Zen 4, 1 thread, 3 alternating rounds).
#pragma GCC ivdep
  for (int64_t j = 0; j < n; ++j) {
    float part[K];
#pragma GCC unroll 8
    for (int kh = 0; kh < K; ++kh) {
      float a = kh == 0 ? bias : 0.f;
#pragma GCC unroll 8
      for (int kw = 0; kw < K; ++kw) a += wk[kh * K + kw] * taps[kh * K + kw][S * j];
      part[kh] = a;
    }
    float acc = part[0];
#pragma GCC unroll 8
    for (int kh = 1; kh < K; ++kh) acc += part[kh];
    wide[j] = clamp_keep_nan(acc, lo, hi);
  }
  for (int64_t oh = 0; oh < g.oh; ++oh) copy_short(p.y + oh * g.ow, wide + oh * g.wp, g.ow);
}

/// Stride-1 planes 16 to kDwRowsMaxWidth wide: R output rows at a time over the zero-padded plane, each
/// input row's K shifted vectors loaded once for the up to K output rows that read it ((R + K - 1) * K
/// loads per R * 16 outputs instead of K * K per 16), and every vector written straight into Y (the
/// last one of a row overlapping the one before it), with no wide plane to copy out. The flat loop's nine
/// unaligned loads per vector, most of them across a cache line, were its bound: MobileNetV2's 56x56
/// planes ran at ~18 cycles per 16 outputs against 9 FMAs. Per output row the sum is the flat loop's:
/// one partial sum per kernel row, added at the end.
template <int K, int R>
ORTKIT_OPS_CLONES_512 void depthwise_rows(const DwPlane& p, const DwSmall& g, float* buf) {
  typedef float v16f __attribute__((vector_size(64)));
  typedef float v16fu __attribute__((vector_size(64), aligned(4)));
  // 3x3's nine weights stay in registers as vectors. From 5x5 on they cannot (with 4 x K partial sums and K
  // inputs), and a vector of weights per FMA read from the stack made the loop load-bound (one 64-byte
  // load per FMA besides the inputs): there each weight is a scalar the FMA broadcasts. 7x7 at 56x56
  // 0.435 -> 0.341 ms (ONNX Runtime 0.342), 5x5 at 28x28 0.150 -> 0.125 (Zen 4, 1 thread).
  v16f wk[K <= 3 ? K * K : 1];
  if constexpr (K <= 3)
    for (int i = 0; i < K * K; ++i) wk[i] = v16f{} + p.w[i];
  const float* const ws = p.w;
  const v16f bias = v16f{} + p.bias, l = v16f{} + p.lo, h = v16f{} + p.hi;
  const int64_t wp = g.wp, ow = g.ow;
  float* const y = p.y;
  // Partial sums per output row: one per kernel row up to 5x5; 7x7 keeps two (kernel rows alternating)
  // that each kernel row's FMAs chain into, since 4 x 7 sums and 7 inputs would not fit the 32 registers.
  constexpr int NP = K <= 5 ? K : 2;
  auto group = [&](int64_t r0, int64_t c) __attribute__((always_inline)) {
    v16f part[R][NP];
#pragma GCC unroll 16
    for (int m = 0; m < R + K - 1; ++m) {
      const float* src = buf + (r0 + m) * wp + c;
      v16f x[K];
#pragma GCC unroll 8
      // A volatile load, one per vector: GCC otherwise folds the load into each of the up to K FMAs that
      // read it, back to K * K loads per 16 outputs.
      for (int kw = 0; kw < K; ++kw) x[kw] = *reinterpret_cast<const volatile v16fu*>(src + kw);
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) {
        const int kh = m - i;
        if (kh < 0 || kh >= K) continue;
        v16f a = kh == 0 ? bias : kh < NP ? v16f{} : part[i][kh % NP];
#pragma GCC unroll 8
        for (int kw = 0; kw < K; ++kw) {
          if constexpr (K <= 3)
            a += wk[kh * K + kw] * x[kw];
          else
            a += ws[kh * K + kw] * x[kw];
        }
        part[i][kh % NP] = a;
      }
    }
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      v16f v = part[i][0];
#pragma GCC unroll 8
      for (int kh = 1; kh < NP; ++kh) v += part[i][kh];
      v = v < l ? l : v;  // clamp_keep_nan, lane by lane
      v = h < v ? h : v;
      std::memcpy(y + (r0 + i) * ow + c, &v, sizeof v);
    }
  };
  // Rows past the last whole group, and columns past the last whole vector, are computed again by a
  // group or vector that ends at the edge (the same values written twice).
  auto row_group = [&](int64_t r0) __attribute__((always_inline)) {
    int64_t c = 0;
    for (; c + 16 <= ow; c += 16) group(r0, c);
    if (c < ow) group(r0, ow - 16);
  };
  int64_t r0 = 0;
  for (; r0 + R <= g.oh; r0 += R) row_group(r0);
  if (r0 < g.oh) row_group(g.oh - R);
}

/// Output widths up to which the row-group kernel runs (from 16, where a row holds a whole vector). Measured
/// on Zen 4 (1 thread, 3x3 with Clip, against the flat loop): 28x28 0.067 -> 0.046 ms, 56x56 0.196 ->
/// 0.118, 5x5 at 56x56 0.297 -> 0.204. Past 64 the padded plane outgrows L1 (114 x 114 floats is 52 KiB),
/// and the copy and the kernel each stream it through L2: 112x112 alone ran 0.142 -> 0.104 ms against the
/// KxK row kernel, but 0.150 -> 0.212 inside MobileNetV2, whose planes arrive from the conv before.
constexpr int64_t kDwRowsMaxWidth = 64;

/// The row-group kernel for this window (2-D, square K in {3, 5, 7}, strides 1, no dilation, at least 4
/// output rows, output width 16 to kDwRowsMaxWidth; any width from 16 for 7x7, whose 49 taps per output
/// outweigh streaming the padded plane through L2: ConvNeXt-style 7x7 at 112x112 ran 1.39 ms in the KxK row
/// kernel and 0.41 here, ONNX Runtime 0.44, Zen 4, 1 thread), or nullptr. ORTKIT_DW_ROWS=0 turns it off.
DwSmallFn pick_depthwise_rows(const Window& w) {
  static const bool off = switched_off("ORTKIT_DW_ROWS");
  if (off || w.in[0] != 1 || w.out[0] != 1 || w.k[1] != w.k[2] || w.s[1] != 1 || w.s[2] != 1 || w.d[1] != 1 ||
      w.d[2] != 1 || w.out[1] < 4 || w.out[2] < 16 || (w.k[2] != 7 && w.out[2] > kDwRowsMaxWidth))
    return nullptr;
  if (w.k[2] == 3) return &depthwise_rows<3, 4>;
  if (w.k[2] == 5) return &depthwise_rows<5, 4>;
  if (w.k[2] == 7) return &depthwise_rows<7, 4>;
  return nullptr;
}

/// The flat kernel for this window (2-D, square K in {3, 5, 7}, equal strides 1 or 2, no dilation,
/// output width <= kDwFlatMaxWidthS1 / S2), or nullptr.
DwSmallFn pick_depthwise_small(const Window& w) {
  if (w.in[0] != 1 || w.out[0] != 1 || w.k[1] != w.k[2] || w.s[1] != w.s[2] || w.d[1] != 1 || w.d[2] != 1)
    return nullptr;
  const int64_t k = w.k[2], s = w.s[2];
  if (w.out[2] > (s == 1 ? kDwFlatMaxWidthS1 : kDwFlatMaxWidthS2)) return nullptr;
  if (k == 3 && s == 1) return &depthwise_small<3, 1>;
  if (k == 3 && s == 2) return &depthwise_small<3, 2>;
  if (k == 5 && s == 1) return &depthwise_small<5, 1>;
  if (k == 5 && s == 2) return &depthwise_small<5, 2>;
  if (k == 7 && s == 1) return &depthwise_small<7, 1>;
  if (k == 7 && s == 2) return &depthwise_small<7, 2>;
  return nullptr;
}

/// The channel-blocked path (DwBlocked) for outputs up to this wide. Measured on Zen 4 (1 thread,
/// MobileNetV2 fp32, against the flat and row kernels): 7x7 planes 0.051 -> 0.029 ms, 14x14 0.047 ->
/// 0.039, stride 2 into 7x7 0.065 -> 0.032 and into 14x14 0.054 -> 0.042; 28x28 tied and 56x56 lost
/// (0.225 -> 0.236, stride 2 into 28x28 0.093 -> 0.121): past L1 the two transposes cost more than the
/// flat kernel's waste.
constexpr int64_t kDwBlockMaxWidth = 16;

typedef float v16f __attribute__((vector_size(kDwBlock * sizeof(float))));

/// Output pixels of the block, K*K taps each: acc = bias + sum of w_t * pixel, in tap order, clamped.
template <int K, int S>
ORTKIT_OPS_CLONES_512 void depthwise_blocked(const float* t, const float* wv, const float* b, float lo,
                                             float hi, const DwBlocked& g, float* o) {
  // Loads through memcpy (no function returns a vector: its ABI differs between the clones).
  v16f w[K * K], bias;
  std::memcpy(w, wv, sizeof w);
  std::memcpy(&bias, b, sizeof bias);
  const v16f l = v16f{} + lo, h = v16f{} + hi;
  const int64_t row = g.wp * kDwBlock;
  for (int64_t oh = 0; oh < g.oh; ++oh) {
    const float* tr = t + oh * S * row;
    float* orow = o + oh * g.ow * kDwBlock;
    for (int64_t ow = 0; ow < g.ow; ++ow) {
      const float* src = tr + ow * S * kDwBlock;
      v16f acc = bias;
#pragma GCC unroll 25
      for (int kh = 0; kh < K; ++kh)
#pragma GCC unroll 8
        for (int kw = 0; kw < K; ++kw) {
          v16f px;
          std::memcpy(&px, src + kh * row + kw * kDwBlock, sizeof px);
          acc += w[kh * K + kw] * px;
        }
      acc = acc < l ? l : acc;  // clamp_keep_nan, lane by lane
      acc = h < acc ? h : acc;
      std::memcpy(orow + ow * kDwBlock, &acc, sizeof acc);
    }
  }
}

/// The blocked kernel for this window (2-D, square K in {3, 5, 7}, equal strides 1 or 2, no dilation, output
/// width up to kDwBlockMaxWidth), or nullptr. ORTKIT_DW_BLOCKED=0 turns it off (A/B timing).
DwBlockFn pick_depthwise_blocked(const Window& w, DwBlocked& g) {
  static const bool off = switched_off("ORTKIT_DW_BLOCKED");
  if (off) return nullptr;
  if (w.in[0] != 1 || w.out[0] != 1 || w.k[0] != 1 || w.k[1] != w.k[2] || w.s[1] != w.s[2] || w.d[1] != 1 ||
      w.d[2] != 1)
    return nullptr;
  const int64_t k = w.k[2], s = w.s[2];
  g.oh = w.out[1];
  g.ow = w.out[2];
  g.hp = s * (g.oh - 1) + k;
  g.wp = s * (g.ow - 1) + k;
  if (g.ow > kDwBlockMaxWidth) return nullptr;
  if (k == 3 && s == 1) return &depthwise_blocked<3, 1>;
  if (k == 3 && s == 2) return &depthwise_blocked<3, 2>;
  if (k == 5 && s == 1) return &depthwise_blocked<5, 1>;
  if (k == 5 && s == 2) return &depthwise_blocked<5, 2>;
  if (k == 7 && s == 1) return &depthwise_blocked<7, 1>;
  if (k == 7 && s == 2) return &depthwise_blocked<7, 2>;
  return nullptr;
}

/// The specialised plane kernel for this window, or nullptr for the generic loop.
DwPlaneFn pick_depthwise(const Window& w) {
  // 2-D only (a 3-D window with a depth-1 kernel still has several depth slices per plane).
  if (w.in[0] != 1 || w.out[0] != 1 || w.k[1] != w.k[2]) return nullptr;
  const bool d1 = w.d[2] == 1;
  const int64_t k = w.k[2], s = w.s[2];
#define ORTKIT_DW_CASE(K, S) \
  if (k == K && s == S) return d1 ? &depthwise_plane_kxk<K, S, true> : &depthwise_plane_kxk<K, S, false>;
  ORTKIT_DW_CASE(3, 1)
  ORTKIT_DW_CASE(3, 2)
  ORTKIT_DW_CASE(5, 1)
  ORTKIT_DW_CASE(5, 2)
#undef ORTKIT_DW_CASE
  return nullptr;
}

}  // namespace

void DepthwisePlanes::prepare(const Window& w, bool blocks) {
  w_ = w;
  blocked_ = blocks ? pick_depthwise_blocked(w, blk_) : nullptr;
  DwSmallFn rows = blocked_ ? nullptr : pick_depthwise_rows(w);
  rows_ = rows != nullptr;
  small_ = blocked_ || rows ? rows : pick_depthwise_small(w);
  fn_ = small_ || blocked_ ? nullptr : pick_depthwise(w);
  zeros_.assign(fn_ ? static_cast<size_t>(w.in[2]) : 0, 0.f);
  if (small_) geo_ = make_dw_small(w, !rows_);
}

const char* DepthwisePlanes::name() const {
  return blocked_ ? "conv_depthwise_blocked16" : rows_ ? "conv_depthwise_rows4" : "conv_depthwise_direct";
}

// A blocked slot: the padded input block, the output block, K*K + 1 rows of kDwBlock weights and biases,
// then the input block unpadded.
int64_t DepthwisePlanes::slot_floats() const {
  if (blocked_) return blk_.padded() + blk_.out() + (w_.k_size() + 1) * kDwBlock + w_.in_size() * kDwBlock;
  return small_ ? geo_.slot() : 0;
}

void DepthwisePlanes::init_slot(float* slot) const {
  if (small_) std::fill(slot, slot + geo_.plane, 0.f);
  if (blocked_) std::fill(slot, slot + blk_.padded(), 0.f);
}

void DepthwisePlanes::run_block(const float* x, const float* w, const float* bias, int64_t channels, float lo,
                                float hi, float* y, float* slot) const {
  const int64_t IH = w_.in[1], IW = w_.in[2], ph = w_.pb[1], pw = w_.pb[2], ks = w_.k_size();
  float* t = slot;
  float* o = t + blk_.padded();
  float* wv = o + blk_.out();
  float* b = wv + ks * kDwBlock;
  float* stage = b + kDwBlock;
  // One transpose of the whole planes (row by row, a 7-wide row would be all ragged edge), then the rows
  // and columns that land inside the padded block (no output reads the rest) copied into place.
  transpose_2d_b32(x, w_.in_size(), stage, kDwBlock, channels, w_.in_size());
  const int64_t rows = std::min(IH, blk_.hp - ph), cols = std::min(IW, blk_.wp - pw);
  for (int64_t ih = 0; ih < rows; ++ih)
    std::memcpy(t + ((ih + ph) * blk_.wp + pw) * kDwBlock, stage + ih * IW * kDwBlock,
                static_cast<size_t>(cols * kDwBlock) * sizeof(float));
  // Lanes past `channels` keep what the last block left and compute values nobody reads.
  for (int64_t i = 0; i < ks; ++i)
    for (int64_t c = 0; c < kDwBlock; ++c) wv[i * kDwBlock + c] = c < channels ? w[c * ks + i] : 0.f;
  for (int64_t c = 0; c < kDwBlock; ++c) b[c] = bias && c < channels ? bias[c] : 0.f;
  blocked_(t, wv, b, lo, hi, blk_, o);
  const int64_t P = w_.out_size();
  transpose_2d_b32(o, kDwBlock, y, P, P, channels);
}

void DepthwisePlanes::run(const DwPlane& p, float* slot) const {
  if (small_) {
    dw_small_fill(p.x, w_, geo_, slot);
    small_(p, geo_, slot);
  } else if (fn_) {
    fn_(p, w_, zeros_.data());
  } else {
    depthwise_plane_generic(p, w_);
  }
}

}  // namespace ortkit::ops
