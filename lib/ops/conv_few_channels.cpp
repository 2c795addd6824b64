// Direct convolution for few input channels (see conv_few_channels.h).
#include "ops/conv_few_channels.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "ops/act_rows.h"
#include "ops/conv_im2col.h"
#include "ops/fast_math.h"
#include "ops/op.h"

namespace ortkit::ops {
namespace {

typedef float v16f __attribute__((vector_size(64)));

enum class TileAct { none, relu, clip };
constexpr float kInf = std::numeric_limits<float>::infinity();

/// One call of the kernel: R output channels x up to 16*V outputs of one output row.
struct Tile {
  const float* x;      // the output row's base in the padded copy, plus the first output's column
  const int32_t* off;  // per tap, its offset from x
  int64_t taps;
  const float* w;     // [taps][R]
  const float* bias;  // the block's first channel's, or null
  const float* z;     // residual at the first output, or null
  float* y;           // the first output
  int64_t ld;         // floats between output channels in y and z
  int rows, cols;     // valid channels (<= R) and outputs (<= 16 * V)
  TileAct act;
  float lo, hi;
};

// Loads and stores go through memcpy: no function here returns a vector, whose ABI differs between the
// clones. Channels past t.rows compute zeros (their weights are zero) and are not stored.
template <int R, int V>
ORTKIT_OPS_CLONES_512 void few_tile(const Tile& t) {
  v16f acc[R][V];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    const float b = t.bias && r < t.rows ? t.bias[r] : 0.f;
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) acc[r][v] = v16f{} + b;
  }
  const float* w = t.w;
  for (int64_t k = 0; k < t.taps; ++k, w += R) {
    const float* xp = t.x + t.off[k];
    v16f xv[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) std::memcpy(&xv[v], xp + 16 * v, sizeof(v16f));
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[r][v] += w[r] * xv[v];
  }
  // relu sends NaN to 0 (as the GEMM epilogue's relu), clip keeps it (as Clip).
  const bool relu = t.act == TileAct::relu;
  const v16f zero{}, lo = zero + (relu ? 0.f : t.lo), hi = zero + (relu ? kInf : t.hi);
  if (t.rows == R && t.cols == 16 * V) {  // whole vectors: no partial copies
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) {
        v16f a = acc[r][v];
        if (t.z) {
          v16f zv;
          std::memcpy(&zv, t.z + r * t.ld + 16 * v, sizeof zv);
          a += zv;
        }
        if (t.act != TileAct::none) {
          a = relu ? (a > lo ? a : lo) : (a < lo ? lo : a);
          a = hi < a ? hi : a;
        }
        std::memcpy(t.y + r * t.ld + 16 * v, &a, sizeof a);
      }
    return;
  }
  for (int r = 0; r < t.rows; ++r)
    for (int v = 0; v < V && 16 * v < t.cols; ++v) {
      const size_t n = static_cast<size_t>(std::min(16, t.cols - 16 * v)) * sizeof(float);
      v16f a = acc[r][v];
      if (t.z) {
        v16f zv = zero;
        std::memcpy(&zv, t.z + r * t.ld + 16 * v, n);
        a += zv;
      }
      if (t.act != TileAct::none) {
        a = relu ? (a > lo ? a : lo) : (a < lo ? lo : a);
        a = hi < a ? hi : a;
      }
      std::memcpy(t.y + r * t.ld + 16 * v, &a, n);
    }
}

using TileFn = void (*)(const Tile&);

/// Whether this x86 host runs the AVX-512 clone (32 vector registers: room for 8 x 3 accumulators).
/// (A build without the clones runs the baseline code, 16 registers: the small blocking.)
bool wide_registers() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(ORTKIT_NO_CLONES)
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
#else
  return false;
#endif
}

TileFn tile_fn(int r, int v) {
  if (r == 8) return v == 3 ? &few_tile<8, 3> : &few_tile<8, 1>;
  return &few_tile<4, 1>;
}

int64_t round16(int64_t n) {
  return (n + 15) / 16 * 16;
}

}  // namespace

bool FewChannelConv::applicable(const Window& w, int64_t cin, int64_t group) {
  static const bool off = switched_off("ORTKIT_CONV_FEW");  // =0 turns the form off (A/B timing)
  if (off) return false;
  if (group != 1 || cin < 1 || cin > kMaxCin) return false;
  if (w.in[0] != 1 || w.k[0] != 1 || w.out[0] != 1) return false;  // 1-D or 2-D
  for (int i = 1; i < 3; ++i)
    if (w.pb[i] < 0 || w.pe[i] < 0) return false;
  // At least 16 taps: a tile's loads of bias and stores of 24 vectors are paid per tap loop, and at 10 taps
  // (wav2vec's 1 -> 512 k10 stride-5 conv) the GEMM's direct form ran 0.47 ms to this loop's 0.54 (Zen 4).
  if (cin * w.k[1] * w.k[2] < 16) return false;
  // Rows of 12 outputs and up, and no more than 15% of the lanes idle (a 7-wide row would fill 7 of 16).
  const int64_t ow = w.out[2];
  if (ow < 12 || (ow < 64 && ow * 100 < round16(ow) * 85)) return false;
  // A slot (16 output rows' input rows, up to 512 columns) within 64 MiB and int32 tap offsets: huge
  // dilations take the GEMM forms.
  const int64_t ekh = (w.k[1] - 1) * w.d[1] + 1, ekw = (w.k[2] - 1) * w.d[2] + 1;
  const double slot = static_cast<double>(cin) * static_cast<double>(15 * w.s[1] + ekh) *
                      static_cast<double>(w.s[2] * 512 + ekw);
  return slot <= static_cast<double>(int64_t{1} << 24);
}

void FewChannelConv::prepare(const Window& w, int64_t cin, int64_t cout, int64_t batch, int slots) {
  w_ = w;
  cin_ = cin;
  cout_ = cout;
  slots_ = std::max(1, slots);
  taps_ = cin * w.k[1] * w.k[2];
  if (wide_registers()) {
    r_ = 8;
    v_ = 3;
  } else {
    r_ = 4;
    v_ = 1;
  }
  const int64_t OH = w.out[1], OW = w.out[2], sh = w.s[1], sw = w.s[2];
  const int64_t ekh = (w.k[1] - 1) * w.d[1] + 1, ekw = (w.k[2] - 1) * w.d[2] + 1;
  // Columns: a whole output row up to 512 (a 1-D signal's long row is cut so that its tasks spread).
  cols_ = std::min<int64_t>(round16(OW), 512);
  const int64_t ncb = (OW + cols_ - 1) / cols_;
  // Rows: up to 16 per task, fewer where that leaves under 4 tasks per slot.
  rows_ = std::clamp<int64_t>(std::max<int64_t>(batch, 1) * ncb * OH / (4 * slots_), 1,
                              std::min<int64_t>(16, OH));
  wph_ = cols_ + (ekw - 1) / sw;
  rs_ = sw * wph_;
  cs_ = ((rows_ - 1) * sh + ekh) * rs_;
  slot_floats_ = round16(cin * cs_);
  off_.resize(static_cast<size_t>(taps_));
  size_t t = 0;
  for (int64_t c = 0; c < cin; ++c)
    for (int64_t kh = 0; kh < w.k[1]; ++kh)
      for (int64_t kw = 0; kw < w.k[2]; ++kw) {
        const int64_t col = kw * w.d[2];
        off_[t++] = static_cast<int32_t>(c * cs_ + kh * w.d[1] * rs_ + (col % sw) * wph_ + col / sw);
      }
}

void FewChannelConv::set_weights(const float* weights) {
  const int64_t blocks = (cout_ + r_ - 1) / r_;
  wp_.assign(static_cast<size_t>(blocks * taps_ * r_), 0.f);
  for (int64_t m = 0; m < cout_; ++m)
    for (int64_t k = 0; k < taps_; ++k)
      wp_[static_cast<size_t>(((m / r_) * taps_ + k) * r_ + m % r_)] = weights[m * taps_ + k];
}

/// The zero-padded, phase-split copy of the input rows that output rows [oh0, oh0 + nrows) and columns
/// from ow0 read: channel c, padded row r (input row oh0 * SH - pad + r), phase p, element j holds input
/// column (ow0 + j) * SW + p - pad.
void FewChannelConv::fill(const float* x, int64_t oh0, int64_t nrows, int64_t ow0, float* slot) const {
  const int64_t IH = w_.in[1], IW = w_.in[2], sh = w_.s[1], sw = w_.s[2];
  const int64_t hr = (nrows - 1) * sh + (w_.k[1] - 1) * w_.d[1] + 1;
  for (int64_t c = 0; c < cin_; ++c) {
    const float* xc = x + c * IH * IW;
    for (int64_t r = 0; r < hr; ++r) {
      float* row = slot + c * cs_ + r * rs_;
      const int64_t ih = oh0 * sh - w_.pb[1] + r;
      if (ih < 0 || ih >= IH) {
        std::fill(row, row + rs_, 0.f);
        continue;
      }
      const float* src = xc + ih * IW;
      for (int64_t p = 0; p < sw; ++p) phase_row(row + p * wph_, wph_, src, IW, ow0 * sw + p - w_.pb[2], sw);
    }
  }
}

void FewChannelConv::run(const float* x, int64_t batch, const kernels::Epilogue& ep, const float* z, float* y,
                         const kernels::Threading& th, float* scratch) const {
  const int64_t OH = w_.out[1], OW = w_.out[2], P = OH * OW, sh = w_.s[1];
  const int64_t nrb = (OH + rows_ - 1) / rows_, ncb = (OW + cols_ - 1) / cols_;
  const int64_t blocks = (cout_ + r_ - 1) / r_, wide = 16 * v_;
  const TileFn big = tile_fn(r_, v_), one = tile_fn(r_, 1);
  TileAct act = TileAct::none;
  float lo = -kInf, hi = kInf;
  if (ep.act == kernels::Act::relu) act = TileAct::relu;
  if (ep.act == kernels::Act::clip) {
    act = TileAct::clip;
    lo = ep.clip_lo;
    hi = ep.clip_hi;
  }
  const bool late_act = ep.act != kernels::Act::none && act == TileAct::none;
  auto task = [&](int64_t t, int64_t slot, const kernels::Threading&) {
    const int64_t n = t / (nrb * ncb), rb = t / ncb % nrb, cb = t % ncb;
    const int64_t oh0 = rb * rows_, nr = std::min(rows_, OH - oh0);
    const int64_t ow0 = cb * cols_, nc = std::min(cols_, OW - ow0);
    float* s = scratch + slot * slot_floats_;
    fill(x + n * cin_ * w_.in_size(), oh0, nr, ow0, s);
    for (int64_t lr = 0; lr < nr; ++lr) {
      const int64_t at = n * cout_ * P + (oh0 + lr) * OW + ow0;
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t co = b * r_;
        Tile tl{s + lr * sh * rs_,
                off_.data(),
                taps_,
                wp_.data() + b * taps_ * r_,
                ep.bias ? ep.bias + co : nullptr,
                z ? z + at + co * P : nullptr,
                y + at + co * P,
                P,
                static_cast<int>(std::min<int64_t>(r_, cout_ - co)),
                0,
                act,
                lo,
                hi};
        const float* x0 = tl.x;
        const float* z0 = tl.z;
        float* y0 = tl.y;
        int64_t j = 0;
        for (; v_ > 1 && j + wide <= nc; j += wide) {
          tl.x = x0 + j;
          tl.z = z0 ? z0 + j : nullptr;
          tl.y = y0 + j;
          tl.cols = static_cast<int>(wide);
          big(tl);
        }
        for (; j < nc; j += 16) {
          tl.x = x0 + j;
          tl.z = z0 ? z0 + j : nullptr;
          tl.y = y0 + j;
          tl.cols = static_cast<int>(std::min<int64_t>(16, nc - j));
          one(tl);
        }
      }
      if (late_act)
        for (int64_t m = 0; m < cout_; ++m) act_inplace(y + at + m * P, nc, ep.act, ep.clip_lo, ep.clip_hi);
    }
  };
  run_tasks(th, slots_, batch * nrb * ncb, task);
}

}  // namespace ortkit::ops
