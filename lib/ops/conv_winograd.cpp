#include "ops/conv_winograd.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "ops/act_rows.h"
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

// The row half of B^T d B for `rows` tile rows at once: tile row j's patches span padded input rows
// 2j..2j+3 of s (ld wp), and t_q[j * wp + p] = (B^T d)_q. B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
ORTKIT_OPS_CLONES_512 void combine_rows(const float* s, int64_t rows, int64_t wp, float* t0, float* t1,
                                        float* t2, float* t3) {
  for (int64_t j = 0; j < rows; ++j) {
    const float* __restrict r0 = s + 2 * j * wp;
    const float* __restrict r1 = r0 + wp;
    const float* __restrict r2 = r1 + wp;
    const float* __restrict r3 = r2 + wp;
    float* __restrict a = t0 + j * wp;
    float* __restrict b = t1 + j * wp;
    float* __restrict c = t2 + j * wp;
    float* __restrict d = t3 + j * wp;
#pragma GCC ivdep
    for (int64_t p = 0; p < wp; ++p) {
      a[p] = r0[p] - r2[p];
      b[p] = r1[p] + r2[p];
      c[p] = r2[p] - r1[p];
      d[p] = r1[p] - r3[p];
    }
  }
}

// The column half for `len` consecutive virtual tiles: tile x's four columns are t_q[2x..2x+3] (tile rows
// sit wp = 2 * (TW + 1) floats apart, so one dummy tile per row keeps that stride uniform across rows).
// v[xi][x] for xi = 4q + j.
ORTKIT_OPS_CLONES_512 void combine_columns(const float* const t[4], int64_t len, float* const v[kXi]) {
  for (int q = 0; q < 4; ++q) {
    const float* __restrict s = t[q];
    float* __restrict v0 = v[4 * q + 0];
    float* __restrict v1 = v[4 * q + 1];
    float* __restrict v2 = v[4 * q + 2];
    float* __restrict v3 = v[4 * q + 3];
#pragma GCC ivdep
    for (int64_t x = 0; x < len; ++x) {
      const float a = s[2 * x], b = s[2 * x + 1], c = s[2 * x + 2], d = s[2 * x + 3];
      v0[x] = a - c;
      v1[x] = b + c;
      v2[x] = c - b;
      v3[x] = b - d;
    }
  }
}

// Y = A^T M A for `len` consecutive virtual tiles: m[xi * ldm + x] -> tile x's 2x2 output at
// y0[2x], y0[2x + 1] (top row) and y1[...] (bottom row), bias added. A^T = [1 1 1 0; 0 1 -1 -1].
ORTKIT_OPS_CLONES_512 void untransform_tiles(const float* m, int64_t ldm, int64_t len, float bias, float* y0,
                                             float* y1) {
#pragma GCC ivdep
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
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i] + (z ? z[i] : 0.f);
    act_inplace(dst, n, ep.act, ep.clip_lo, ep.clip_hi);
  }
}

// Floats rounded up to a cache line.
constexpr int64_t line(int64_t f) {
  return (f + 15) / 16 * 16;
}

// Tiles of the virtual grid (see prepare) for `batch` images of th x tw tiles; the last row's dummy is
// never needed.
int64_t virtual_tiles(int64_t th, int64_t tw, int64_t batch) {
  return std::max<int64_t>(1, batch) * th * (tw + 1) - 1;
}

// NR of the fp32 kernel the transformed GEMMs run on: the panel width of V's packed B.
int64_t f32_panel_width() {
  const kernels::GemmKernel* kn = kernels::dispatched(kernels::GemmKind::f32);
  return kn ? kn->nr : 16;
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

int64_t WinogradConv::chunk_tiles(int64_t vtiles, int64_t cin, int64_t cout, int64_t slots) {
  // A multiple of the kernel's NR (whole B panels), with the chunk's V and M (16 x (Cin + Cout) x tiles
  // floats) near half of L2 but at least 64 tiles, so each of the 16 GEMM calls has enough work to hide
  // its setup. With threads, a smaller chunk can even out the last round: of the sizes from that down to
  // NR, the one whose busiest thread has the fewest tiles (plus ~16 tiles' worth of setup per chunk) wins
  // (14x14, 2 threads: two chunks of 32 tiles, one per thread, rather than one of 55 through threaded
  // GEMMs).
  const int64_t nr = f32_panel_width();
  int64_t nt = (512 * 1024) / (kXi * (cin + cout) * 4) / nr * nr;
  nt = std::clamp<int64_t>(nt, 64 / nr * nr, 256 / nr * nr);
  if (slots > 1) {
    int64_t best = nt, best_cost = -1;
    for (int64_t c = nt; c >= nr; c -= nr) {
      const int64_t tasks = (vtiles + c - 1) / c;
      const int64_t cost = (tasks + slots - 1) / slots * (std::min(c, vtiles) + 16);
      if (best_cost < 0 || cost < best_cost) {
        best = c;
        best_cost = cost;
      }
    }
    nt = best;
  }
  if (const int64_t forced = env_int("ORTKIT_WINOGRAD_TILES"); forced > 0) nt = forced;
  return std::min(nt, vtiles);
}

bool WinogradConv::pays(const Window& w, int64_t cin, int64_t cout, int64_t batch, int slots) {
  // Its GEMMs have K = Cin: under 16 channels they starve (3 -> 64 at 224x224: 1.26x the direct form's
  // time, 8 channels at 32x32: 1.16x). And the GEMMs' columns must be mostly real tiles, not row
  // dummies or the empty end of a panel: a 7x7 output (16 tiles, 19 virtual, in one 32-column panel:
  // half real) ran at 1.10x at 512 channels and batch 1, 1.01x at batch 2 (half real again), 0.78x at
  // batch 4 (two thirds real); 12x12 at 128 channels (56% real) 0.82x, 10x10 at 256 channels (78%) 0.51x.
  const int64_t nr = f32_panel_width();
  const int64_t th = (w.out[1] + 1) / 2, tw = (w.out[2] + 1) / 2;
  const int64_t vtiles = virtual_tiles(th, tw, batch);
  const int64_t nt = chunk_tiles(vtiles, cin, cout, std::max(1, slots));
  // Columns the GEMMs run: whole chunks of whole panels, and a last chunk of whole panels.
  const int64_t full = vtiles / nt, rest = vtiles % nt;
  const int64_t columns = full * ((nt + nr - 1) / nr * nr) + (rest + nr - 1) / nr * nr;
  const int64_t real = std::max<int64_t>(1, batch) * th * tw;
  return cin >= 16 && cout >= 16 && real * 100 >= columns * 55;
}

void WinogradConv::prepare(const Window& w, int64_t cin, int64_t cout, const float* weights, int64_t batch,
                           int slots) {
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
  // Tiles run in a virtual grid of TH x (TW + 1): a dummy tile closes each tile row, so tile (ty, tx) is
  // virtual tile ty * (TW + 1) + tx and its patch starts 2 floats after the previous virtual tile's in
  // the row-combined input, across row ends too. The transforms then run over a whole chunk as one
  // vector loop instead of tile row by tile row (at most TW tiles, 28 at 56x56); the dummy columns cost
  // 1 / (TW + 1) of the GEMM work. The batch's images follow one another in the grid (tile row J of the
  // batch is row J % TH of image J / TH), so a chunk can span images: small images still fill whole
  // panels at batch > 1.
  vtw_ = tw_ + 1;
  slots_ = std::max(1, slots);
  nt_ = chunk_tiles(virtual_tiles(th_, tw_, batch), cin, cout, slots_);
  // M_xi lies m_ld_ floats apart: a multiple of 4 KiB (Cout x nt = 64 x 64) put the 16 values of a
  // tile, read together by the output transform, in one L1 set.
  m_ld_ = line(cout * nt_);
  if ((m_ld_ * 4) % 4096 == 0) m_ld_ += 16;
  // Tile rows one chunk touches: it may start at a row's last virtual tile.
  const int64_t rows = 1 + (nt_ - 1 + vtw_ - 1) / vtw_;
  // Per slot: M, the padded input rows of a chunk's tile rows (2 * rows + 2 of them), their four
  // combinations and two output planes, each row-set padded by a line (the dummy of the last row reads
  // two floats past it).
  wp_ = 2 * vtw_;
  plane_ = line(rows * wp_ + 2);
  t_at_ = line((2 * rows + 2) * wp_);
  slot_floats_ = kXi * m_ld_ + t_at_ + 6 * plane_;
  packs_.resize(static_cast<size_t>(slots_ * kXi));
}

void WinogradConv::input_transform(const float* x, int64_t v0, int64_t nv, int64_t slot, float* work) {
  const int64_t H = w_.in[1], W = w_.in[2], pt = w_.pb[1], pl = w_.pb[2];
  const int64_t wp = wp_;
  const int64_t j0 = v0 / vtw_, rows = (v0 + nv - 1) / vtw_ - j0 + 1;  // tile rows of the batch
  float* s = work;  // padded input rows of one channel of one image
  float* t[4];
  for (int q = 0; q < 4; ++q) t[q] = work + t_at_ + q * plane_;
  for (int q = 0; q < 4; ++q) t[q][rows * wp] = t[q][rows * wp + 1] = 0.f;
  kernels::PanelRows pr[kXi];
  for (int xi = 0; xi < kXi; ++xi)
    pr[xi] = kernels::pack_b_f32_rows(packs_[static_cast<size_t>(slot * kXi + xi)], cin_, nv, false);
  const int64_t nr = pr[0].nr;
  const float* tq[4];
  float* v[kXi];
  for (int64_t c = 0; c < cin_; ++c) {
    // The chunk's tile rows, image by image: padded input rows once, then their four combinations.
    for (int64_t jb = j0; jb < j0 + rows;) {
      const int64_t n = jb / th_, ja = jb % th_, cnt = std::min(th_ - ja, j0 + rows - jb);
      const float* xc = x + (n * cin_ + c) * H * W;
      for (int64_t r = 0; r < 2 * cnt + 2; ++r) padded_row(xc, H, W, 2 * ja - pt + r, -pl, wp, s + r * wp);
      const int64_t at = (jb - j0) * wp;
      combine_rows(s, cnt, wp, t[0] + at, t[1] + at, t[2] + at, t[3] + at);
      jb += cnt;
    }
    // Panel by panel (nr virtual tiles each), straight into V_xi's packed rows.
    for (int64_t q0 = 0; q0 < nv; q0 += nr) {
      const int64_t off = 2 * (v0 + q0 - j0 * vtw_);
      for (int q = 0; q < 4; ++q) tq[q] = t[q] + off;
      for (int xi = 0; xi < kXi; ++xi) v[xi] = pr[xi].at(c, q0);
      combine_columns(tq, std::min(nr, nv - q0), v);
    }
  }
}

void WinogradConv::output_transform(const float* m, int64_t v0, int64_t nv, const kernels::Epilogue& ep,
                                    const float* z, float* y, float* work) const {
  const int64_t OH = w_.out[1], OW = w_.out[2], P = OH * OW;
  const int64_t wp = wp_;
  const int64_t j0 = v0 / vtw_, j1 = (v0 + nv - 1) / vtw_;
  float* o0 = work + t_at_ + 4 * plane_;  // output rows 2 * j0 ..., ld wp
  float* o1 = o0 + plane_;                // output rows 2 * j0 + 1 ...
  const int64_t off = 2 * (v0 - j0 * vtw_);
  for (int64_t co = 0; co < cout_; ++co) {
    const float bias = ep.bias ? ep.bias[co] : 0.f;
    untransform_tiles(m + co * nt_, m_ld_, nv, bias, o0 + off, o1 + off);
    for (int64_t jb = j0; jb <= j1; ++jb) {
      // The chunk's real tiles in tile row jb of the batch: row j of image n.
      const int64_t lo = std::max<int64_t>(v0, jb * vtw_) - jb * vtw_;
      const int64_t hi = std::min<int64_t>(v0 + nv, jb * vtw_ + tw_) - jb * vtw_;
      if (hi <= lo) continue;
      const int64_t n = jb / th_, j = jb % th_;
      float* yc = y + (n * cout_ + co) * P;
      const float* zc = z ? z + (n * cout_ + co) * P : nullptr;
      const int64_t ow = 2 * lo, cnt = std::min(2 * (hi - lo), OW - ow), oh = 2 * j;
      const int64_t src = (jb - j0) * wp + ow;
      finish_row(o0 + src, zc ? zc + oh * OW + ow : nullptr, cnt, ep, yc + oh * OW + ow);
      if (oh + 1 < OH)
        finish_row(o1 + src, zc ? zc + (oh + 1) * OW + ow : nullptr, cnt, ep, yc + (oh + 1) * OW + ow);
    }
  }
}

void WinogradConv::run(const float* x, int64_t batch, const kernels::Epilogue& ep, const float* z, float* y,
                       const kernels::Threading& th, float* scratch) {
  const int64_t vtiles = virtual_tiles(th_, tw_, batch);
  const int64_t chunks = (vtiles + nt_ - 1) / nt_;
  const int64_t mat = cout_ * cin_;
  auto task = [&](int64_t task_id, int64_t slot, const kernels::Threading& tth) {
    const int64_t v0 = task_id * nt_, nv = std::min(nt_, vtiles - v0);
    float* m = scratch + slot * slot_floats_;
    float* work = m + kXi * m_ld_;
    input_transform(x, v0, nv, slot, work);
    for (int xi = 0; xi < kXi; ++xi)
      kernels::gemm_f32(cout_, u_.data() + xi * mat, cin_, packs_[static_cast<size_t>(slot * kXi + xi)],
                        m + xi * m_ld_, nt_, {}, tth);
    output_transform(m, v0, nv, ep, z, y, work);
  };
  run_tasks(th, slots_, chunks, task);
}

}  // namespace ortkit::ops
