// Conv (1-3 spatial dims, groups, pads/auto_pad, strides, dilations) and the fused forms made by the
// optimizer: ortkit.FusedConv (attribute `activation` = relu | clip | gelu_erf | gelu_tanh, with
// clip_min/clip_max, like ortkit.FusedMatMul; optional input 3 Z: Y = act(Conv(X, W, B) + Z), made from
// Conv -> Add [-> Relu]) and com.microsoft.FusedConv (activation Relu | Clip, activation_params for Clip,
// optional Z of Y's shape, as in ONNX Runtime).
//
// GEMM formulation, fp32 images of 768+ output pixels (the direct form, see pick_direct): per chunk of
// output pixels,
//   Y[Mg x P] (+)= Wg[Mg x Kg] * col[Kg x P]
// with the weights read in place as the A operand and col as B, per chunk: im2col written straight into
// the packed panels (conv_im2col.h), or for 1x1 stride-1 unpadded convs the input itself, packed. C is the
// NCHW output itself, so no transpose follows. A constant bias is a last column of the weights over a packed
// row of ones; a residual Z is read by the GEMM's epilogue (Epilogue::add), or, with a per-run bias, written
// into Y with it first for the GEMM to accumulate onto; the activation is in its epilogue. bf16 fast math
// (whose per-call packer would round every activation element by element) and smaller images keep the weights
// prepacked once as B (the packed-weights form):
//   Ybuf[P x Mg] = col[P x Kg] * Wg^T[Kg x Mg], then Ybuf transposed into NCHW.
// Chunks of pixels bound the scratch and are the parallel tasks. Depthwise convs (one input and one
// output channel per group) use a direct loop instead.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "ops/broadcast.h"
#include "ops/conv_im2col.h"
#include "ops/conv_util.h"
#include "ops/conv_winograd.h"
#include "ops/fast_math.h"
#include "ops/op_util.h"
#include "ops/registry.h"
#include "ops/transpose_kernel.h"
#include "ortkit/kernels/epilogue.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::ops {
namespace {

using kernels::Act;

/// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols.
inline void transpose_block(const float* src, int64_t lds, float* dst, int64_t ldd, int64_t rows,
                            int64_t cols) {
  transpose_2d_b32(src, lds, dst, ldd, rows, cols);
}

/// Output pixels per chunk (a parallel task and one GEMM of `rows` x Mg x Kg). Each chunk's GEMM streams all
/// of the packed weights, so chunks hold ~2 MiB of im2col + output rows rather than an L2's worth: with
/// 256 KiB, resnet50's 3x3 convs of 256-512 channels (Kg 2304-4608) ran 16-53 pixel GEMMs that re-read up
/// to 9 MiB of weights per chunk, and its 1x1 convs left 8-11 row edge tiles in every chunk; 2 MiB chunks,
/// a multiple of the kernel's MR rows, made resnet50 4-5% faster on 1 thread (94 vs 98-99 ms, Zen 4) and
/// mobilenet_v2 a few %; 1 MiB measured the same within noise, 16 MiB slower, and 256 KiB chunks for the
/// convs whose weights fit in L2 no different. The chunk count is a multiple of the threads, so no thread
/// runs one chunk more than the other.
int64_t pick_chunk(int64_t pixels, int64_t floats_per_row, int64_t mr, int threads) {
  constexpr int64_t kChunkFloats = int64_t{1} << 19;  // 2 MiB
  if (pixels <= 0) return 1;
  const int64_t target = std::clamp<int64_t>(kChunkFloats / std::max<int64_t>(floats_per_row, 1), 16,
                                             std::max<int64_t>(pixels, 16));
  int64_t n = (pixels + target - 1) / target;
  if (threads > 1 && n > 1) n = (n + threads - 1) / threads * threads;
  int64_t rows = (pixels + n - 1) / n;
  rows = (rows + mr - 1) / mr * mr;
  return std::max<int64_t>(1, std::min(rows, pixels));
}

/// The direct form (weights as A, C written in NCHW) for fp32 once an image has 24 B panels of output
/// pixels or more. Its columns are pixels, so a short row of pixels pads the last panel, and its rows are
/// output channels in 14-row tiles: at 49 pixels (7x7, 512 channels, K 4608) its GEMM ran at 71% of the
/// FMA peak against the packed-weights form's 94%, at 196 pixels 84% against 96%, and resnet50 was
/// slower with it there. From 784 pixels up it saves the output transpose for a GEMM about as fast
/// (faster at 64 channels x K 576, slower at 256 channels x K 64): mobilenet_v2 1 thread 9.5 -> 8.9 ms
/// (fastest runs, medians of 7 interleaved rounds), resnet50 even (Zen 4). Turning it off where the
/// channels exceed twice K gave resnet50 nothing and mobilenet_v2 its loss back.
/// ORTKIT_CONV_FORM=direct, =packed, =wide or =winograd forces a form (tests; experiments); null when unset.
const char* conv_form_override() {
  const char* f = std::getenv("ORTKIT_CONV_FORM");
  return f && (std::strcmp(f, "direct") == 0 || std::strcmp(f, "packed") == 0 ||
               std::strcmp(f, "wide") == 0 || std::strcmp(f, "winograd") == 0)
             ? f
             : nullptr;
}

bool pick_direct(kernels::GemmKind kind, int64_t pixels) {
  if (kind != kernels::GemmKind::f32) return false;  // bf16 would round each activation when packing
  if (const char* f = conv_form_override()) return std::strcmp(f, "direct") == 0;
  const kernels::GemmKernel* kn = kernels::dispatched(kind);
  return kn && pixels >= 24 * kn->nr;
}

/// True when `tasks` chunk tasks, dealt to `threads` threads in equal contiguous shares, would leave more
/// than a tenth of the threads' time idle: fewer tasks than threads, or a last round only partly filled
/// (14 chunks on 16 threads, 17 on 16). resnet50 at batch 1 ran 39.6 ms on 8 threads and 57.7 ms on 16
/// (ONNX Runtime 14.3 and 9.6, Emerald Rapids, 16 vCPUs): rounding chunks to whole tiles left 7 chunks
/// for 8 threads and 13-14 for 16 in most layers, and fewer tasks than threads ran them one at a time.
bool pick_wide(int64_t tasks, int threads) {
  if (threads <= 1) return false;
  const int64_t rounds = (tasks + threads - 1) / threads;
  return tasks < threads || tasks * 10 < rounds * threads * 9;
}

/// Rows m < mg of Y (stride ld, `cols` pixels) set to Z + bias[m] (either may be null), for the direct
/// form's GEMM to accumulate onto. Built for AVX-512 and AVX2 too: the baseline build ran it 4 floats
/// at a time.
ORTKIT_OPS_CLONES_512 void seed_rows(float* y, int64_t ld, const float* z, const float* bias, int64_t mg,
                                     int64_t cols) {
  for (int64_t m = 0; m < mg; ++m) {
    float* __restrict row = y + m * ld;
    const float b = bias ? bias[m] : 0.f;
    if (z) {
      const float* __restrict zr = z + m * ld;
      for (int64_t i = 0; i < cols; ++i) row[i] = zr[i] + b;
    } else {
      for (int64_t i = 0; i < cols; ++i) row[i] = b;
    }
  }
}

/// y = act(y + z) over `rows` rows of `cols` values, both with row stride ld: the residual join of a
/// packed-weights conv, done on each chunk as it is transposed into Y (still in cache) instead of in a
/// pass over the whole output, and of a depthwise conv after it. Plain loops for none and relu (what residual
/// joins have), so they vectorise; relu sends NaN to 0, as the Relu op and the GEMM epilogue do.
ORTKIT_OPS_CLONES_512 void add_z_rows(float* y, const float* z, int64_t ld, int64_t rows, int64_t cols,
                                      const kernels::Epilogue& ep) {
  for (int64_t r = 0; r < rows; ++r) {
    float* __restrict yr = y + r * ld;
    const float* __restrict zr = z + r * ld;
    if (ep.act == Act::none)
      for (int64_t i = 0; i < cols; ++i) yr[i] += zr[i];
    else if (ep.act == Act::relu)
      for (int64_t i = 0; i < cols; ++i) {
        const float v = yr[i] + zr[i];
        yr[i] = v > 0.f ? v : 0.f;
      }
    else
      for (int64_t i = 0; i < cols; ++i) yr[i] = conv_act(yr[i] + zr[i], ep.act, ep.clip_lo, ep.clip_hi);
  }
}

/// Clamp to [lo, hi] keeping NaN; written as x86 max/min semantics so GCC vectorises it to vmax/vmin.
/// Output widths up to which the flat depthwise path replaces the row kernel. Measured on Zen 5 (1 thread,
/// MobileNet shapes): stride 1 wins from 7x7 to 56x56 and ties at 112x112; stride 2 computes about
/// twice the outputs it keeps, and wins at 7 wide (14x14 input), ties at 14, loses from 28.
constexpr int64_t kDwFlatMaxWidthS1 = 64, kDwFlatMaxWidthS2 = 8;

inline float clamp_keep_nan(float v, float lo, float hi) {
  v = v < lo ? lo : v;
  return hi < v ? hi : v;
}

/// Bias, clamp bounds (-inf/+inf when unused) and the per-channel weights of one depthwise plane.
struct DwPlane {
  const float* x;  // input plane
  const float* w;  // k_size weights
  float* y;        // output plane
  float bias, lo, hi;
};

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
  for (int64_t oh = 0; oh < OH; ++oh) {
    const float* rows[K];
    for (int kh = 0; kh < K; ++kh) {
      const int64_t ih = oh * sh - ph + kh * dh;
      rows[kh] = ih >= 0 && ih < IH ? p.x + ih * IW : zeros;
    }
    float* __restrict yr = p.y + oh * OW;
    auto border = [&](int64_t ow) {
      float acc = bias;
      for (int kh = 0; kh < K; ++kh)
        for (int kw = 0; kw < K; ++kw) {
          const int64_t iw = ow * S - pw + kw * dw;
          if (iw >= 0 && iw < IW) acc += wk[kh * K + kw] * rows[kh][iw];
        }
      yr[ow] = clamp_keep_nan(acc, lo, hi);
    };
    for (int64_t ow = 0; ow < c0; ++ow) border(ow);
    if constexpr (K == 3) {
      // Spelled out so that GCC sees nine independent streams (and, for S = 2, one even/odd
      // interleaving group per row).
      const float* __restrict r0 = rows[0];
      const float* __restrict r1 = rows[1];
      const float* __restrict r2 = rows[2];
      const float w0 = wk[0], w1 = wk[1], w2 = wk[2], w3 = wk[3], w4 = wk[4], w5 = wk[5], w6 = wk[6],
                  w7 = wk[7], w8 = wk[8];
      const int64_t e1 = dw, e2 = 2 * dw;
#pragma GCC ivdep
      for (int64_t ow = c0; ow < c1; ++ow) {
        const int64_t i = ow * S - pw;
        float a = bias + w0 * r0[i] + w1 * r0[i + e1] + w2 * r0[i + e2];
        float b = w3 * r1[i] + w4 * r1[i + e1] + w5 * r1[i + e2];
        float c = w6 * r2[i] + w7 * r2[i + e1] + w8 * r2[i + e2];
        yr[ow] = clamp_keep_nan(a + b + c, lo, hi);
      }
    } else {
#pragma GCC ivdep
      for (int64_t ow = c0; ow < c1; ++ow) {
        const int64_t i = ow * S - pw;
        float acc = bias;
#pragma GCC unroll 16
        for (int kh = 0; kh < K; ++kh)
#pragma GCC unroll 16
          for (int kw = 0; kw < K; ++kw) acc += wk[kh * K + kw] * rows[kh][i + kw * dw];
        yr[ow] = clamp_keep_nan(acc, lo, hi);
      }
    }
    for (int64_t ow = c1; ow < OW; ++ow) border(ow);
  }
}

/// Geometry of the flat depthwise path: the input plane is copied into a zero-padded hp x wp buffer
/// (hp = S*(OH-1) + K, wp = S*(OW-1) + K), so that output j = oh * wp + ow reads tap (kh, kw) at
/// S*j + kh*wp + kw: the whole plane is one flat vectorised loop with no borders and no short rows
/// (columns ow >= OW are computed and dropped: wp - OW of them for stride 1, about half for stride 2).
/// n, the flat length, is rounded up to 16 so that no scalar remainder runs; the slack after the
/// padded plane covers the reads of those extra outputs.
struct DwSmall {
  int64_t k = 0, s = 1, oh = 0, ow = 0, hp = 0, wp = 0, n = 0, plane = 0;  // plane: floats incl. slack
  int64_t slot() const { return plane + n; }                               // padded plane + wide output
};

DwSmall make_dw_small(const Window& w) {
  DwSmall g;
  g.k = w.k[2];
  g.s = w.s[2];
  g.oh = w.out[1];
  g.ow = w.out[2];
  g.hp = g.s * (g.oh - 1) + g.k;
  g.wp = g.s * (g.ow - 1) + g.k;
  g.n = (g.oh * g.wp + 15) / 16 * 16;
  const int64_t reads = g.s * (g.n - 1) + (g.k - 1) * g.wp + g.k;  // highest index read + 1
  g.plane = (std::max(reads, g.hp * g.wp) + 15) / 16 * 16;
  return g;
}

/// memcpy for the few floats of one short row, inlined (a libc call per 7-float row costs more than
/// the copy).
inline void copy_short(float* d, const float* s, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) __builtin_memcpy(d + i, s + i, 8 * sizeof(float));
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
/// and stays 0 because only in-range pixels are written.
void dw_small_fill(const float* x, const Window& w, const DwSmall& g, float* buf) {
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
#pragma GCC ivdep
  for (int64_t j = 0; j < n; ++j) {
    float acc = bias;
#pragma GCC unroll 32
    for (int t = 0; t < K * K; ++t) acc += wk[t] * taps[t][S * j];
    wide[j] = clamp_keep_nan(acc, lo, hi);
  }
  for (int64_t oh = 0; oh < g.oh; ++oh) copy_short(p.y + oh * g.ow, wide + oh * g.wp, g.ow);
}

using DwSmallFn = void (*)(const DwPlane&, const DwSmall&, float*);

/// The flat kernel for this window (2-D, square K in {3, 5}, equal strides 1 or 2, no dilation,
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
  return nullptr;
}

using DwPlaneFn = void (*)(const DwPlane&, const Window&, const float*);

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

enum class FusedKind { none, ortkit, ms };

class ConvOp : public OpKernel {
 public:
  explicit ConvOp(FusedKind f) : fused_(f) {}

  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    ctx.require_dtype(1, {DType::f32});
    const Shape &xs = ctx.input(0).shape, &ws = ctx.input(1).shape;
    if (xs.size() < 3 || ws.size() != xs.size()) ctx.fail("X and W must have the same rank >= 3");
    group_ = ctx.attr().get_int("group", 1);
    const int64_t C = xs[1], M = ws[0];
    if (group_ < 1 || C % group_ || M % group_ || ws[1] != C / group_)
      ctx.fail("channels " + std::to_string(C) + " / weights " + shape_str(ws) + " do not match group " +
               std::to_string(group_));
    const std::vector<int64_t> kernel(ws.begin() + 2, ws.end());
    if (ctx.attr().has("kernel_shape") && ctx.attr().get_ints("kernel_shape") != kernel)
      ctx.fail("kernel_shape does not match the weights");
    w_ = make_window(ctx, Shape(xs.begin() + 2, xs.end()), kernel, false);
    if (ctx.has_input(2)) {
      ctx.require_dtype(2, {DType::f32});
      if (shape_numel(ctx.input(2).shape) != M) ctx.fail("B must have M values");
    }
    batch_ = xs[0];
    Shape out = {xs[0], M};
    for (int i = 3 - w_.nd; i < 3; ++i) out.push_back(w_.out[i]);
    ctx.set_output(0, DType::f32, out);

    ep_ = {};
    if (fused_ == FusedKind::ortkit) {
      const std::string a = ctx.attr().get_string("activation", "");
      if (a.empty() || a == "none")
        ep_.act = Act::none;
      else if (a == "relu")
        ep_.act = Act::relu;
      else if (a == "clip")
        ep_.act = Act::clip;
      else if (a == "gelu_erf")
        ep_.act = Act::gelu_erf;
      else if (a == "gelu_tanh")
        ep_.act = Act::gelu_tanh;
      else
        ctx.fail("unknown activation '" + a + "'");
      ep_.clip_lo = ctx.attr().get_float("clip_min", -3.4e38f);
      ep_.clip_hi = ctx.attr().get_float("clip_max", 3.4e38f);
    } else if (fused_ == FusedKind::ms) {
      const std::string a = ctx.attr().get_string("activation", "");
      if (a.empty())
        ep_.act = Act::none;
      else if (a == "Relu")
        ep_.act = Act::relu;
      else if (a == "Clip") {
        ep_.act = Act::clip;
        const std::vector<float> p = ctx.attr().get_floats("activation_params", {});
        if (p.size() != 2) ctx.fail("Clip needs activation_params [min, max]");
        ep_.clip_lo = p[0];
        ep_.clip_hi = p[1];
      } else {
        ctx.unsupported("FusedConv activation '" + a + "'");
      }
    }
    has_z_ = fused_ != FusedKind::none && ctx.num_inputs() > 3 && ctx.has_input(3);
    z_direct_ = true;
    if (has_z_) {
      ctx.require_dtype(3, {DType::f32});
      const Shape& zs = ctx.input(3).shape;
      if (zs != out) {
        // ONNX Runtime's FusedConv requires Z of Y's shape; an Add folded in by the optimizer may
        // broadcast, so ortkit.FusedConv then adds Z afterwards under numpy rules.
        if (fused_ == FusedKind::ms)
          ctx.fail("Z " + shape_str(zs) + " must have the output's shape " + shape_str(out));
        Shape full;
        try {
          full = broadcast_shapes(out, zs, "FusedConv Z");
        } catch (const Error& e) {
          ctx.fail(e.what());
        }
        z_direct_ = false;
        conv_shape_ = out;
        ctx.set_output(0, DType::f32, full);
      }
    }

    cg_ = C / group_;
    mg_ = M / group_;
    kg_ = cg_ * w_.k_size();
    depthwise_ = cg_ == 1 && mg_ == 1;
    threads_ = std::max(1, ctx.threading.threads);
    dw_small_ = depthwise_ ? pick_depthwise_small(w_) : nullptr;
    dw_fn_ = depthwise_ && !dw_small_ ? pick_depthwise(w_) : nullptr;
    if (dw_fn_) zeros_.assign(static_cast<size_t>(w_.in[2]), 0.f);
    if (dw_small_) {
      dw_geo_ = make_dw_small(w_);
      ctx.scratch_bytes = static_cast<size_t>(threads_ * dw_geo_.slot()) * sizeof(float);
    }
    pointwise_ = w_.k_size() == 1 && w_.s == std::array<int64_t, 3>{1, 1, 1} &&
                 w_.pb == std::array<int64_t, 3>{0, 0, 0} && w_.pe == std::array<int64_t, 3>{0, 0, 0};
    kind_ = ctx.float_gemm_kind();
    // Winograd F(2x2, 3x3) for fp32 3x3 stride-1 convs (conv_winograd.h) where it pays
    // (WinogradConv::pays): 0.55-0.61x the direct form's time on a lone 56x56 64-channel, 28x28
    // 128-channel or 14x14 256-channel conv (1 thread), resnet50's stage 1-3 3x3 convs 0.71-0.81x.
    // ORTKIT_CONV_FORM forces it on (where applicable) or off.
    const char* forced = conv_form_override();
    const Tensor* w_const = ctx.input(1).constant;
    winograd_ =
        !depthwise_ && group_ == 1 && kind_ == kernels::GemmKind::f32 && w_const &&
        WinogradConv::applicable(w_) &&
        (forced ? std::strcmp(forced, "winograd") == 0 : WinogradConv::pays(w_, cg_, mg_, batch_, threads_));
    if (winograd_) {
      wino_.prepare(w_, cg_, mg_, w_const->data_as<float>(), batch_, threads_);
      ctx.scratch_bytes = wino_.scratch_bytes();
    }
    direct_ = pick_direct(kind_, w_.out_size());
    // Floats per output pixel of a chunk: its col row, its output row and (im2col) its K-major staging. The
    // direct form writes im2col straight into its packed chunk but keeps this budget, the chunk size
    // measured.
    const int64_t per_row = kg_ + mg_ + (pointwise_ ? 0 : kg_);
    // Chunk tasks that leave threads idle switch to the wide path: one threaded GEMM over all pixels of
    // an image, which splits its M x N blocks over every thread (see pick_wide).
    wide_ = forced ? std::strcmp(forced, "wide") == 0 : false;
    if (!depthwise_ && !winograd_ && !forced && threads_ > 1) {
      const kernels::GemmKernel* kn = kernels::dispatched(kind_);
      const int64_t c = pick_chunk(w_.out_size(), per_row, kn ? (direct_ ? kn->nr : kn->mr) : 1, threads_);
      wide_ = pick_wide(batch_ * group_ * ((w_.out_size() + c - 1) / c), threads_);
    }
    if (wide_ || winograd_) direct_ = false;
    if (!depthwise_ && !winograd_) {
      const kernels::GemmKernel* kn = kernels::dispatched(kind_);
      if (direct_) {
        // No scratch: im2col writes the packed chunk, a PackedB per slot.
        chunk_ = pick_chunk(w_.out_size(), per_row, kn ? kn->nr : 1, threads_);
        slot_floats_ = 0;
        col_packs_.resize(static_cast<size_t>(threads_));
        // Constant weights and bias: the bias becomes column Kg of the weights and a row of ones under
        // the packed chunk, so the GEMM overwrites Y with no pass to write the bias first.
        const Tensor* cw = ctx.input(1).constant;
        const Tensor* cb = ctx.has_input(2) ? ctx.input(2).constant : nullptr;
        w_aug_.clear();
        if (cw && cb) {
          const float* wd = cw->data_as<float>();
          const float* bd = cb->data_as<float>();
          w_aug_.resize(static_cast<size_t>(M * (kg_ + 1)));
          for (int64_t m = 0; m < M; ++m) {
            std::copy(wd + m * kg_, wd + (m + 1) * kg_, w_aug_.data() + m * (kg_ + 1));
            w_aug_[static_cast<size_t>(m * (kg_ + 1) + kg_)] = bd[m];
          }
        }
      } else {
        chunk_ = pick_chunk(w_.out_size(), per_row, kn ? kn->mr : 1, threads_);
        slot_floats_ = chunk_ * per_row;
        // The wide path's one buffer holds every pixel's rows.
        wide_floats_ = wide_ ? w_.out_size() * per_row : 0;
        const Tensor* cw = ctx.input(1).constant;
        if (cw && packed_.empty()) {
          pack(cw->data_as<float>());
          const_weights_ = true;
        }
      }
    }
    if (!depthwise_ && !winograd_)
      ctx.scratch_bytes =
          static_cast<size_t>(std::max(threads_ * slot_floats_, wide_floats_)) * sizeof(float);
    // A Z that broadcasts is added after the conv, which then writes into scratch past the slots.
    conv_tmp_at_ = (ctx.scratch_bytes + 63) / 64 * 64;
    if (!z_direct_)
      ctx.scratch_bytes = conv_tmp_at_ + static_cast<size_t>(shape_numel(conv_shape_)) * sizeof(float);
  }

  void run(RunContext& ctx) override {
    const Tensor &tx = ctx.input(0), &tw = ctx.input(1);
    Tensor& ty = ctx.output(0);
    if (ty.numel() == 0) return;
    kernels::Epilogue ep = ep_;
    ep.bias = ctx.has_input(2) ? ctx.input(2).data_as<float>() : nullptr;
    const Tensor* z = has_z_ ? &ctx.input(3) : nullptr;
    // Z of Y's shape is read by the GEMM's epilogue (the direct form) or added as each chunk is transposed
    // into Y (packed-weights forms); a Z that broadcasts, or a depthwise conv's, is added afterwards.
    const bool z_fused = z && z_direct_ && !depthwise_;
    const bool z_late = z && !z_fused;
    const float* zf = z_fused ? z->data_as<float>() : nullptr;
    char* scratch = static_cast<char*>(ctx.scratch);
    float* y = z_direct_ ? ty.data_as<float>() : reinterpret_cast<float*>(scratch + conv_tmp_at_);
    kernels::Epilogue conv_ep = ep;
    if (z_late) conv_ep.act = Act::none;
    if (depthwise_)
      run_depthwise(tx.data_as<float>(), tw.data_as<float>(), conv_ep, y, ctx.threading,
                    reinterpret_cast<float*>(scratch));
    else if (winograd_)
      wino_.run(tx.data_as<float>(), batch_, conv_ep, zf, y, ctx.threading,
                reinterpret_cast<float*>(scratch));
    else if (direct_)
      run_direct(tx.data_as<float>(), tw.data_as<float>(), zf, conv_ep, y, ctx.threading);
    else if (wide_)
      run_packed_weights_wide(tx.data_as<float>(), tw.data_as<float>(), zf, conv_ep, y, ctx.threading,
                              reinterpret_cast<float*>(scratch));
    else
      run_packed_weights(tx.data_as<float>(), tw.data_as<float>(), zf, conv_ep, y, ctx.threading,
                         reinterpret_cast<float*>(scratch));
    if (z_late) add_z(y, *z, ep, ty, ctx.threading);
  }

  std::vector<std::string> kernels_used() const override {
    if (depthwise_) return {"conv_depthwise_direct"};
    const kernels::GemmKernel* kn = kernels::dispatched(kind_);
    std::vector<std::string> k;
    if (winograd_) k.push_back("conv_winograd_f2x3");
    if (kn) k.push_back(kn->name);
    return k;
  }

 private:
  /// The direct form: Y[Mg x chunk] (+)= Wg * packed col chunk, written in place in NCHW.
  void run_direct(const float* x, const float* wt, const float* z, const kernels::Epilogue& ep, float* y,
                  const kernels::Threading& th) {
    const int64_t N = batch_, P = w_.out_size();
    const int64_t nchunks = (P + chunk_ - 1) / chunk_;
    const int64_t tasks = N * group_ * nchunks;
    const bool aug = !w_aug_.empty();
    auto task = [&](int64_t t, int64_t slot, const kernels::Threading& tth) {
      const int64_t c = t % nchunks, g = (t / nchunks) % group_, n = t / (nchunks * group_);
      const int64_t p0 = c * chunk_, cols = std::min(chunk_, P - p0);
      const float* xg = x + (n * group_ + g) * cg_ * w_.in_size();
      kernels::PackedB& pb = col_packs_[static_cast<size_t>(slot)];
      if (pointwise_) {
        kernels::pack_b(pb, kind_, kernels::BDesc{xg + p0, cg_, cols, w_.in_size(), false, aug});
      } else {
        // im2col straight into the packed panels (f32 kernels have plain-row panels).
        const kernels::PanelRows pr = kernels::pack_b_f32_rows(pb, kg_, cols, aug);
        im2col_kmajor(w_, cg_, xg, p0, cols, ColDst{pr.data, 0, pr.nr, pr.panel_floats});
      }
      const int64_t plane = (n * group_ + g) * mg_ * P + p0;
      float* yg = y + plane;
      kernels::Epilogue e = ep;
      e.bias = nullptr;
      const float* bias = ep.bias && !aug ? ep.bias + g * mg_ : nullptr;
      if (z && !bias) {
        e.add = z + plane;  // read in the GEMM's epilogue
        e.ld_add = P;
      } else if (bias || z) {
        seed_rows(yg, P, z ? z + plane : nullptr, bias, mg_, cols);
        e.accumulate = true;
      }
      if (aug)
        kernels::gemm_f32(mg_, w_aug_.data() + g * mg_ * (kg_ + 1), kg_ + 1, pb, yg, P, e, tth);
      else
        kernels::gemm_f32(mg_, wt + g * mg_ * kg_, kg_, pb, yg, P, e, tth);
    };
    run_tasks(th, threads_, tasks, task);
  }

  /// The packed-weights form (bf16, small images): weights prepacked as B, pixel-major col as A, the output
  /// chunk transposed into NCHW.
  void run_packed_weights(const float* x, const float* wt, const float* z, const kernels::Epilogue& ep,
                          float* y, const kernels::Threading& th, float* scratch) {
    if (!const_weights_) pack(wt);
    const int64_t N = batch_, P = w_.out_size();
    const int64_t nchunks = (P + chunk_ - 1) / chunk_;
    const int64_t tasks = N * group_ * nchunks;
    auto task = [&](int64_t t, int64_t slot, const kernels::Threading& tth) {
      float* buf = scratch + slot * slot_floats_;
      const int64_t c = t % nchunks, g = (t / nchunks) % group_, n = t / (nchunks * group_);
      const int64_t p0 = c * chunk_, rows = std::min(chunk_, P - p0);
      float* col = buf;
      float* out = buf + chunk_ * kg_;
      col_rows(x + (n * group_ + g) * cg_ * w_.in_size(), p0, rows, col, out + chunk_ * mg_);
      kernels::Epilogue e = ep;
      if (e.bias) e.bias += g * mg_;
      if (z) e.act = Act::none;  // applied after Z
      kernels::gemm_f32(rows, col, kg_, packed_[g], out, mg_, e, tth);
      const int64_t plane = (n * group_ + g) * mg_ * P + p0;
      transpose_block(out, mg_, y + plane, P, rows, mg_);
      if (z) add_z_rows(y + plane, z + plane, P, mg_, rows, ep);
    };
    // Enough independent chunks: one scratch slot per thread, single-threaded GEMMs inside.
    run_tasks(th, threads_, tasks, task);
  }

  /// The packed-weights form over a whole image at a time, for too few chunk tasks to fill the threads:
  /// im2col and both transposes split over pixel ranges, one GEMM of all pixels threaded inside.
  void run_packed_weights_wide(const float* x, const float* wt, const float* z, const kernels::Epilogue& ep,
                               float* y, const kernels::Threading& th, float* scratch) {
    if (!const_weights_) pack(wt);
    const int64_t P = w_.out_size();
    float* col = scratch;          // [P, Kg] pixel-major
    float* out = col + P * kg_;    // [P, Mg]
    float* stage = out + P * mg_;  // K-major im2col of each pixel range, [Kg, range] at range start * Kg
    // Ranges of at least 8 pixels: im2col rows shorter than that cost more than they copy.
    const int64_t grain = 8;
    for (int64_t ng = 0; ng < batch_ * group_; ++ng) {
      const int64_t g = ng % group_;
      const float* xg = x + ng * cg_ * w_.in_size();
      parallel_range(th, P, grain,
                     [&](int64_t b, int64_t e) { col_rows(xg, b, e - b, col + b * kg_, stage + b * kg_); });
      kernels::Epilogue e = ep;
      if (e.bias) e.bias += g * mg_;
      if (z) e.act = Act::none;  // applied after Z
      kernels::gemm_f32(P, col, kg_, packed_[g], out, mg_, e, th);
      float* yg = y + ng * mg_ * P;
      parallel_range(th, P, grain, [&](int64_t b, int64_t en) {
        transpose_block(out + b * mg_, mg_, yg + b, P, en - b, mg_);
        if (z) add_z_rows(yg + b, z + ng * mg_ * P + b, P, mg_, en - b, ep);
      });
    }
  }

  /// Pixel-major col rows p0..p0+rows (one group's [rows, Kg]) for the packed-weights forms: the input
  /// itself transposed (pointwise), else its K-major im2col staged in `stage` ([Kg, rows]) and transposed.
  void col_rows(const float* xg, int64_t p0, int64_t rows, float* col, float* stage) const {
    if (pointwise_) {
      transpose_block(xg + p0, w_.in_size(), col, kg_, cg_, rows);
    } else {
      im2col_kmajor(w_, cg_, xg, p0, rows, ColDst{stage, rows});
      transpose_block(stage, rows, col, kg_, kg_, rows);
    }
  }

  /// Y = act(conv + Z): Z of the conv's shape (conv is then Y itself), or (ortkit.FusedConv from a
  /// broadcasting Add) any shape that broadcasts with it.
  void add_z(const float* conv, const Tensor& z, const kernels::Epilogue& ep, Tensor& ty,
             const kernels::Threading& th) const {
    if (z_direct_) {
      float* y = ty.data_as<float>();
      const float* zd = z.data_as<float>();
      parallel_range(th, ty.numel(), 16384,
                     [&](int64_t b, int64_t e) { add_z_rows(y + b, zd + b, 0, 1, e - b, ep); });
      return;
    }
    const Act a = ep.act;
    const float lo = ep.clip_lo, hi = ep.clip_hi;
    const Tensor cv = Tensor::view(DType::f32, conv_shape_, const_cast<float*>(conv));
    broadcast_binary<float, float, float>(
        cv, z, ty, th, [a, lo, hi](float u, float v) { return conv_act(u + v, a, lo, hi); });
  }

  void pack(const float* w) {
    // W is [M, Kg] row-major; group g's B[k, m] = W[(g*Mg + m) * Kg + k]: a transposed view.
    if (packed_.size() != static_cast<size_t>(group_)) packed_.resize(static_cast<size_t>(group_));
    for (int64_t g = 0; g < group_; ++g)
      kernels::pack_b(packed_[g], kind_, kernels::BDesc{w + g * mg_ * kg_, kg_, mg_, kg_, true});
  }

  void run_depthwise(const float* x, const float* wt, const kernels::Epilogue& ep, float* y,
                     const kernels::Threading& th, float* scratch) const {
    const Window& w = w_;
    const int64_t N = batch_, C = group_, P = w.out_size(), ks = w.k_size();
    constexpr float kInf = std::numeric_limits<float>::infinity();
    // relu and clip are the fused clamp; other activations run as a scalar pass afterwards.
    const bool clamp = ep.act == Act::relu || ep.act == Act::clip;
    const float lo = ep.act == Act::relu ? 0.f : ep.act == Act::clip ? ep.clip_lo : -kInf;
    const float hi = ep.act == Act::clip ? ep.clip_hi : kInf;
    const DwPlaneFn fn = dw_fn_;
    if (dw_small_) {
      // One scratch slot per thread: its padding is zeroed once, then each plane overwrites the inside.
      const int64_t T = std::min<int64_t>(threads_, N * C), tasks = N * C;
      parallel_for(th, T, [&](int64_t t) {
        float* buf = scratch + t * dw_geo_.slot();
        std::fill(buf, buf + dw_geo_.plane, 0.f);
        for (int64_t nc = tasks * t / T; nc < tasks * (t + 1) / T; ++nc) {
          const int64_t c = nc % C;
          const DwPlane p{x + nc * w.in_size(), wt + c * ks, y + nc * P, ep.bias ? ep.bias[c] : 0.f, lo, hi};
          dw_small_fill(p.x, w, dw_geo_, buf);
          dw_small_(p, dw_geo_, buf);
          if (!clamp && ep.act != Act::none)
            for (int64_t i = 0; i < P; ++i) p.y[i] = conv_act(p.y[i], ep.act, ep.clip_lo, ep.clip_hi);
        }
      });
      return;
    }
    parallel_range(th, N * C, 1, [&](int64_t b, int64_t e) {
      for (int64_t nc = b; nc < e; ++nc) {
        const int64_t c = nc % C;
        const DwPlane p{x + nc * w.in_size(), wt + c * ks, y + nc * P, ep.bias ? ep.bias[c] : 0.f, lo, hi};
        if (fn)
          fn(p, w, zeros_.data());
        else
          depthwise_plane_generic(p, w);
        if (!clamp && ep.act != Act::none)
          for (int64_t i = 0; i < P; ++i) p.y[i] = conv_act(p.y[i], ep.act, ep.clip_lo, ep.clip_hi);
      }
    });
  }

  FusedKind fused_;
  Window w_;
  kernels::Epilogue ep_;
  int64_t group_ = 1, cg_ = 0, mg_ = 0, kg_ = 0, chunk_ = 1, batch_ = 0;
  int64_t slot_floats_ = 0;  ///< scratch floats per thread slot
  int64_t wide_floats_ = 0;  ///< scratch floats of the wide path
  size_t conv_tmp_at_ = 0;   ///< byte offset in scratch of the conv output when Z broadcasts
  int threads_ = 1;
  bool depthwise_ = false, pointwise_ = false;
  bool direct_ = false;  ///< the direct form (fp32 weights as A)
  bool wide_ = false;    ///< packed-weights form, one threaded GEMM per image (see pick_wide)
  bool winograd_ = false;  ///< Winograd F(2x2, 3x3) (conv_winograd.h)
  WinogradConv wino_;
  bool has_z_ = false, z_direct_ = true;
  Shape conv_shape_;  ///< the conv's own output shape when Z broadcasts to a larger one
  bool const_weights_ = false;
  std::vector<kernels::PackedB> col_packs_;  ///< the direct form's packed col chunk, one per slot
  std::vector<float> w_aug_;  ///< the direct form's [M, Kg + 1] weights with the bias as last column
  DwPlaneFn dw_fn_ = nullptr;
  DwSmallFn dw_small_ = nullptr;
  DwSmall dw_geo_;
  std::vector<float> zeros_;  // a padding row for the depthwise kernels
  kernels::GemmKind kind_ = kernels::GemmKind::f32;
  std::vector<kernels::PackedB> packed_;
};

}  // namespace

void register_conv_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "Conv", 1, kAnyOpset, [] { return std::make_unique<ConvOp>(FusedKind::none); });
  r.add(kOrtkitDomain, "FusedConv", 1, kAnyOpset, [] { return std::make_unique<ConvOp>(FusedKind::ortkit); });
  r.add(kMsDomain, "FusedConv", 1, kAnyOpset, [] { return std::make_unique<ConvOp>(FusedKind::ms); });
}

}  // namespace ortkit::ops
