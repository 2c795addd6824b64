#include "ops/conv_winograd.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "ops/fast_math.h"
#include "ortkit/kernels/epilogue.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::ops {
namespace {

using kernels::Act;

// Positions of the transformed 4x4 tile: xi = 4 * i + j.
constexpr int kXi = 16;

// One row of input channel c, columns [c0, c0 + n) of the padded plane (padding reads as 0), into dst.
void padded_row(const float* plane, int64_t h, int64_t w, int64_t ih, int64_t c0, int64_t n, float* dst) {
  if (ih < 0 || ih >= h) {
    std::memset(dst, 0, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  const int64_t lo = std::clamp<int64_t>(-c0, 0, n), hi = std::clamp<int64_t>(w - c0, lo, n);
  std::memset(dst, 0, static_cast<size_t>(lo) * sizeof(float));
  std::memcpy(dst + lo, plane + ih * w + c0 + lo, static_cast<size_t>(hi - lo) * sizeof(float));
  std::memset(dst + hi, 0, static_cast<size_t>(n - hi) * sizeof(float));
}

// V = B^T d B for `len` tiles side by side: tile i's 4x4 patch is rows r[0..3], columns 2i..2i+3.
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. v[xi * ldv + i].
ORTKIT_OPS_CLONES_512 void transform_patches(const float* r0, const float* r1, const float* r2,
                                             const float* r3, int64_t len, float* rows, float* v,
                                             int64_t ldv) {
  // Rows first, over the whole padded width (contiguous): t_i = (B^T d)_i.
  const int64_t width = 2 * len + 2;
  float* __restrict t0 = rows;
  float* __restrict t1 = rows + width;
  float* __restrict t2 = rows + 2 * width;
  float* __restrict t3 = rows + 3 * width;
  for (int64_t p = 0; p < width; ++p) {
    t0[p] = r0[p] - r2[p];
    t1[p] = r1[p] + r2[p];
    t2[p] = r2[p] - r1[p];
    t3[p] = r1[p] - r3[p];
  }
  const float* t[4] = {t0, t1, t2, t3};
  for (int i = 0; i < 4; ++i) {
    const float* __restrict s = t[i];
    float* __restrict v0 = v + (4 * i + 0) * ldv;
    float* __restrict v1 = v + (4 * i + 1) * ldv;
    float* __restrict v2 = v + (4 * i + 2) * ldv;
    float* __restrict v3 = v + (4 * i + 3) * ldv;
    for (int64_t x = 0; x < len; ++x) {
      const float a = s[2 * x], b = s[2 * x + 1], c = s[2 * x + 2], d = s[2 * x + 3];
      v0[x] = a - c;
      v1[x] = b + c;
      v2[x] = c - b;
      v3[x] = b - d;
    }
  }
}

// Y = A^T M A for `len` tiles: m[xi * ldm + i] -> the tiles' 2x2 outputs, interleaved into two output
// rows (y0[2i], y0[2i + 1], y1[...]) with the bias added. A^T = [1 1 1 0; 0 1 -1 -1].
ORTKIT_OPS_CLONES_512 void untransform_tiles(const float* m, int64_t ldm, int64_t len, float bias, float* y0,
                                             float* y1) {
  for (int64_t x = 0; x < len; ++x) {
    float s0[4], s1[4];
    for (int j = 0; j < 4; ++j) {
      const float a = m[(0 + j) * ldm + x], b = m[(4 + j) * ldm + x], c = m[(8 + j) * ldm + x],
                  d = m[(12 + j) * ldm + x];
      s0[j] = a + b + c;
      s1[j] = b - c - d;
    }
    y0[2 * x] = s0[0] + s0[1] + s0[2] + bias;
    y0[2 * x + 1] = s0[1] - s0[2] - s0[3] + bias;
    y1[2 * x] = s1[0] + s1[1] + s1[2] + bias;
    y1[2 * x + 1] = s1[1] - s1[2] - s1[3] + bias;
  }
}

// dst[i] = act(src[i] (+ z[i])) for one output row segment.
ORTKIT_OPS_CLONES_512 void finish_row(const float* src, const float* z, int64_t n,
                                      const kernels::Epilogue& ep, float* dst) {
  if (ep.act == Act::none && !z) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
  } else if (ep.act == Act::relu && !z) {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i] > 0.f ? src[i] : 0.f;
  } else if (ep.act == Act::relu) {
    for (int64_t i = 0; i < n; ++i) {
      const float v = src[i] + z[i];
      dst[i] = v > 0.f ? v : 0.f;
    }
  } else {
    for (int64_t i = 0; i < n; ++i)
      dst[i] = conv_act(src[i] + (z ? z[i] : 0.f), ep.act, ep.clip_lo, ep.clip_hi);
  }
}

// Runs of a tile row (under 64 floats): a plain loop, where a libc call per run cost more than the copy.
inline void copy_floats(float* __restrict d, const float* __restrict s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = s[i];
}

int64_t env_int(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : 0;
}

}  // namespace

bool WinogradConv::applicable(const Window& w) {
  return w.in[0] == 1 && w.k[0] == 1 && w.k[1] == 3 && w.k[2] == 3 && w.s[1] == 1 && w.s[2] == 1 &&
         w.d[1] == 1 && w.d[2] == 1 && w.pb[0] == 0 && w.pe[0] == 0 && w.out[1] >= 2 && w.out[2] >= 2;
}

void WinogradConv::prepare(const Window& w, int64_t cin, int64_t cout, const float* weights, int slots) {
  w_ = w;
  cin_ = cin;
  cout_ = cout;
  th_ = (w.out[1] + 1) / 2;
  tw_ = (w.out[2] + 1) / 2;
  // U_xi[co][ci] = (G g G^T)_xi, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
  u_.assign(static_cast<size_t>(kXi * cout * cin), 0.f);
  const int64_t mat = cout * cin;
  for (int64_t co = 0; co < cout; ++co)
    for (int64_t ci = 0; ci < cin; ++ci) {
      const float* g = weights + (co * cin + ci) * 9;
      float gg[4][3];  // G g
      for (int b = 0; b < 3; ++b) {
        gg[0][b] = g[b];
        gg[1][b] = 0.5f * (g[b] + g[3 + b] + g[6 + b]);
        gg[2][b] = 0.5f * (g[b] - g[3 + b] + g[6 + b]);
        gg[3][b] = g[6 + b];
      }
      for (int i = 0; i < 4; ++i) {
        const float u4[4] = {gg[i][0], 0.5f * (gg[i][0] + gg[i][1] + gg[i][2]),
                             0.5f * (gg[i][0] - gg[i][1] + gg[i][2]), gg[i][2]};
        for (int j = 0; j < 4; ++j) u_[static_cast<size_t>((4 * i + j) * mat + co * cin + ci)] = u4[j];
      }
    }
  // Tiles per chunk: a multiple of the kernel's NR (whole B panels), with the chunk's V and M (16 x
  // (Cin + Cout) x tiles floats) near half of L2 but at least 64 tiles, so each of the 16 GEMM calls
  // has enough work to hide its setup.
  const kernels::GemmKernel* kn = kernels::dispatched(kernels::GemmKind::f32);
  const int64_t nr = kn ? kn->nr : 16;
  const int64_t tiles = th_ * tw_;
  int64_t nt = (512 * 1024) / (kXi * (cin + cout) * 4) / nr * nr;
  nt = std::clamp<int64_t>(nt, 64 / nr * nr, 256 / nr * nr);
  if (const int64_t forced = env_int("ORTKIT_WINOGRAD_TILES"); forced > 0) nt = forced;
  nt_ = std::min(nt, tiles);
  slots_ = std::max(1, slots);
  // Per slot: M (16 x Cout x nt), 4 padded input rows, their 4 combinations, V of one tile row (16 x TW)
  // and two output rows; each piece rounded to a cache line.
  const int64_t width = 2 * tw_ + 2;
  auto line = [](int64_t f) { return (f + 15) / 16 * 16; };
  // M_xi lies m_ld_ floats apart: a multiple of 4 KiB (Cout x nt = 64 x 64) put the 16 values of a
  // tile, read together by the output transform, in one L1 set.
  m_ld_ = line(cout * nt_);
  if ((m_ld_ * 4) % 4096 == 0) m_ld_ += 16;
  slot_floats_ = kXi * m_ld_ + 8 * line(width) + line(kXi * tw_) + 2 * line(2 * tw_);
  packs_.resize(static_cast<size_t>(slots_ * kXi));
}

void WinogradConv::input_transform(const float* xn, int64_t t0, int64_t nt, int64_t slot, float* work) {
  const int64_t H = w_.in[1], W = w_.in[2], pt = w_.pb[1], pl = w_.pb[2];
  const int64_t width = 2 * tw_ + 2;
  auto line = [](int64_t f) { return (f + 15) / 16 * 16; };
  float* rin = work;                     // 4 padded input rows
  float* rows = work + 4 * line(width);  // their combinations
  float* v = rows + 4 * line(width);     // 16 x (one tile row), ld tw_
  kernels::PanelRows pr[kXi];
  for (int xi = 0; xi < kXi; ++xi)
    pr[xi] = kernels::pack_b_f32_rows(packs_[static_cast<size_t>(slot * kXi + xi)], cin_, nt, false);
  for (int64_t c = 0; c < cin_; ++c) {
    const float* plane = xn + c * H * W;
    for (int64_t t = t0; t < t0 + nt;) {
      const int64_t ty = t / tw_, tx0 = t % tw_, len = std::min(tw_ - tx0, t0 + nt - t);
      const int64_t c0 = 2 * tx0 - pl, n = 2 * len + 2;
      float* r[4];
      for (int q = 0; q < 4; ++q) {
        r[q] = rin + q * line(width);
        padded_row(plane, H, W, 2 * ty - pt + q, c0, n, r[q]);
      }
      transform_patches(r[0], r[1], r[2], r[3], len, rows, v, tw_);
      // Into the panels: element (c, tile) of V_xi, run by run within each panel of nr tiles.
      for (int xi = 0; xi < kXi; ++xi) {
        const float* src = v + xi * tw_;
        for (int64_t i = 0; i < len;) {
          const int64_t q = t - t0 + i, run = std::min<int64_t>(len - i, pr[xi].nr - q % pr[xi].nr);
          copy_floats(pr[xi].at(c, q), src + i, run);
          i += run;
        }
      }
      t += len;
    }
  }
}

void WinogradConv::output_transform(const float* m, int64_t t0, int64_t nt, const kernels::Epilogue& ep,
                                    const float* zn, float* yn, float* work) const {
  const int64_t OH = w_.out[1], OW = w_.out[2], P = OH * OW;
  const int64_t width = 2 * tw_ + 2;
  auto line = [](int64_t f) { return (f + 15) / 16 * 16; };
  float* y0 = work + 8 * line(width) + line(kXi * tw_);
  float* y1 = y0 + line(2 * tw_);
  const int64_t ldm = m_ld_;
  for (int64_t co = 0; co < cout_; ++co) {
    const float bias = ep.bias ? ep.bias[co] : 0.f;
    float* yc = yn + co * P;
    const float* zc = zn ? zn + co * P : nullptr;
    for (int64_t t = t0; t < t0 + nt;) {
      const int64_t ty = t / tw_, tx0 = t % tw_, len = std::min(tw_ - tx0, t0 + nt - t);
      untransform_tiles(m + co * nt_ + (t - t0), ldm, len, bias, y0, y1);
      const int64_t ow = 2 * tx0, n = std::min(2 * len, OW - ow);
      const int64_t oh = 2 * ty;
      finish_row(y0, zc ? zc + oh * OW + ow : nullptr, n, ep, yc + oh * OW + ow);
      if (oh + 1 < OH) finish_row(y1, zc ? zc + (oh + 1) * OW + ow : nullptr, n, ep, yc + (oh + 1) * OW + ow);
      t += len;
    }
  }
}

void WinogradConv::run(const float* x, int64_t batch, const kernels::Epilogue& ep, const float* z, float* y,
                       const kernels::Threading& th, float* scratch) {
  const int64_t tiles = th_ * tw_, chunks = (tiles + nt_ - 1) / nt_;
  const int64_t in_plane = w_.in[1] * w_.in[2], out_plane = w_.out[1] * w_.out[2];
  const int64_t mat = cout_ * cin_;
  auto task = [&](int64_t task_id, int64_t slot, const kernels::Threading& tth) {
    const int64_t n = task_id / chunks, t0 = task_id % chunks * nt_, nt = std::min(nt_, tiles - t0);
    float* m = scratch + slot * slot_floats_;
    float* work = m + kXi * m_ld_;
    input_transform(x + n * cin_ * in_plane, t0, nt, slot, work);
    for (int xi = 0; xi < kXi; ++xi)
      kernels::gemm_f32(cout_, u_.data() + xi * mat, cin_, packs_[static_cast<size_t>(slot * kXi + xi)],
                        m + xi * m_ld_, nt_, {}, tth);
    output_transform(m, t0, nt, ep, z ? z + n * cout_ * out_plane : nullptr, y + n * cout_ * out_plane, work);
  };
  run_tasks(th, slots_, batch * chunks, task);
}

}  // namespace ortkit::ops
