// im2col for Conv (see conv_im2col.h). For a fixed tap, consecutive pixels of an output row read
// consecutive inputs at stride s, so rows are copies with zeroed ends and no per-element checks. Built
// for AVX-512 and AVX2 as well (ORTKIT_OPS_CLONES_512): the stride-2 copies of strided convs (resnet's
// stem and downsampling convs) then vectorise as two loads and a permute per 16 values, where the
// baseline build copied one float at a time (2.4% of resnet50 on 1 thread, Zen 4).
#include "ops/conv_im2col.h"

#include <algorithm>
#include <cstring>

#include "ops/fast_math.h"

namespace ortkit::ops {
namespace {

inline void copy_run(float* __restrict d, const float* __restrict s, int64_t n, int64_t stride) {
  if (stride == 1 && n == 32)
    __builtin_memcpy(d, s, 32 * sizeof(float));  // a whole panel row of the AVX-512 kernel: 2 moves
  else if (stride == 1)
    for (int64_t i = 0; i < n; ++i) d[i] = s[i];
  else if (stride == 2)
    for (int64_t i = 0; i < n; ++i) d[i] = s[2 * i];
  else
    for (int64_t i = 0; i < n; ++i) d[i] = s[i * stride];
}

/// n values of row k from column q: zeros when src is null, else src[i * stride]; split at panel edges
/// (one division per call: a run crosses into the next panel at its column 0).
inline void put(const ColDst& d, int64_t k, int64_t q, int64_t n, const float* src, int64_t stride) {
  auto fill = [&](float* p, int64_t len) {
    if (src) {
      copy_run(p, src, len, stride);
      src += len * stride;
    } else {
      for (int64_t i = 0; i < len; ++i) p[i] = 0.f;
    }
  };
  if (!d.nr) {
    fill(d.data + k * d.ld + q, n);
    return;
  }
  const int64_t panel = q / d.nr;
  int64_t c = q - panel * d.nr;
  float* p = d.data + panel * d.panel_floats + k * d.nr + c;
  while (n > 0) {
    const int64_t len = std::min<int64_t>(n, d.nr - c);
    fill(p, len);
    n -= len;
    p += d.panel_floats - c;
    c = 0;
  }
}

/// One tap's row when output pixel p reads input p + off (see shifted_plane): one copy of the part of the
/// chunk whose rows are inside the input, zeros elsewhere, then zeros over the columns that leave it.
inline void tap_shifted(const Window& w, const float* xc, int64_t p0, int64_t rows, int64_t kidx, int64_t dy,
                        int64_t dx, const ColDst& dst) {
  const int64_t IH = w.in[1], IW = w.in[2], OH = w.out[1], OW = w.out[2], end = p0 + rows;
  const int64_t off = dy * IW + dx;
  // Rows oh with 0 <= oh + dy < IH, and no read outside the plane.
  const int64_t r0 = std::clamp<int64_t>(-dy, 0, OH), r1 = std::clamp<int64_t>(IH - dy, r0, OH);
  const int64_t qa = std::clamp<int64_t>(std::max(r0 * OW, -off), p0, end);
  const int64_t qb = std::clamp<int64_t>(std::min(r1 * OW, IH * IW - off), qa, end);
  if (qa > p0) put(dst, kidx, 0, qa - p0, nullptr, 0);
  if (qb > qa) put(dst, kidx, qa - p0, qb - qa, xc + qa + off, 1);
  if (end > qb) put(dst, kidx, qb - p0, end - qb, nullptr, 0);
  // Columns ow with 0 <= ow + dx < IW; the copy filled the others from the neighbouring rows.
  const int64_t c0 = std::clamp<int64_t>(-dx, 0, OW), c1 = std::clamp<int64_t>(IW - dx, c0, OW);
  if (c0 == 0 && c1 == OW) return;
  for (int64_t rs = qa / OW * OW; rs < qb; rs += OW) {
    const int64_t a0 = std::max(rs, qa), a1 = std::min(rs + c0, qb);
    if (a1 > a0) put(dst, kidx, a0 - p0, a1 - a0, nullptr, 0);
    const int64_t b0 = std::max(rs + c1, qa), b1 = std::min(rs + OW, qb);
    if (b1 > b0) put(dst, kidx, b0 - p0, b1 - b0, nullptr, 0);
  }
}

/// 2-D (or 1-D) windows of stride 1 whose output rows are as wide as the input's (a "same" padded conv,
/// 3x3 with pad 1 and the like): output pixel p of tap (kh, kw) reads input p + (kh*dh - ph)*IW + kw*dw - pw
/// across row ends too, so a tap's row is one shifted copy of the plane. The row-by-row path took 16% of
/// a 28x28, 128-channel 3x3 conv in short copies and 10% more in memmove and memset calls.
bool shifted_plane(const Window& w) {
  return w.in[0] == 1 && w.out[0] == 1 && w.k[0] == 1 && w.s[1] == 1 && w.s[2] == 1 && w.out[2] == w.in[2];
}

}  // namespace

ORTKIT_OPS_CLONES_512 void im2col_kmajor(const Window& w, int64_t cg, const float* xg, int64_t p0,
                                         int64_t rows, const ColDst& dst) {
  const int64_t OW = w.out[2], oh_ow = w.out[1] * w.out[2], ihw = w.in[1] * w.in[2], sw = w.s[2];
  if (shifted_plane(w)) {
    int64_t kidx = 0;
    for (int64_t c = 0; c < cg; ++c)
      for (int64_t kh = 0; kh < w.k[1]; ++kh)
        for (int64_t kw = 0; kw < w.k[2]; ++kw, ++kidx)
          tap_shifted(w, xg + c * w.in_size(), p0, rows, kidx, kh * w.d[1] - w.pb[1], kw * w.d[2] - w.pb[2],
                      dst);
    return;
  }
  int64_t kidx = 0;
  for (int64_t c = 0; c < cg; ++c) {
    const float* xc = xg + c * w.in_size();
    for (int64_t kd = 0; kd < w.k[0]; ++kd)
      for (int64_t kh = 0; kh < w.k[1]; ++kh)
        for (int64_t kw = 0; kw < w.k[2]; ++kw, ++kidx) {
          const int64_t off = kw * w.d[2] - w.pb[2];  // iw = ow * sw + off
          // Valid ow: 0 <= ow * sw + off < in_w.
          const int64_t vlo = off >= 0 ? 0 : (-off + sw - 1) / sw;
          const int64_t vhi = w.in[2] - 1 - off < 0 ? -1 : (w.in[2] - 1 - off) / sw;  // inclusive
          // Runs of pixels along one output row; (od, oh, ow0) advance without divisions.
          int64_t od = p0 / oh_ow, oh = (p0 / OW) % w.out[1], ow0 = p0 % OW;
          for (int64_t p = p0; p < p0 + rows; ow0 = 0, oh = oh + 1 == w.out[1] ? 0 : oh + 1, od += oh == 0) {
            const int64_t run = std::min(OW - ow0, p0 + rows - p);
            const int64_t q = p - p0;
            p += run;
            const int64_t id = od * w.s[0] - w.pb[0] + kd * w.d[0];
            const int64_t ih = oh * w.s[1] - w.pb[1] + kh * w.d[1];
            if (id < 0 || id >= w.in[0] || ih < 0 || ih >= w.in[1]) {
              put(dst, kidx, q, run, nullptr, 0);
              continue;
            }
            const float* xr = xc + id * ihw + ih * w.in[2];
            const int64_t a = std::clamp(vlo - ow0, int64_t{0}, run);
            const int64_t b = std::clamp(vhi + 1 - ow0, a, run);
            if (a > 0) put(dst, kidx, q, a, nullptr, 0);
            if (b > a) put(dst, kidx, q + a, b - a, xr + (ow0 + a) * sw + off, sw);
            if (run > b) put(dst, kidx, q + b, run - b, nullptr, 0);
          }
        }
  }
}

ORTKIT_OPS_CLONES_512 void phase_row(float* __restrict d, int64_t n, const float* __restrict src, int64_t iw,
                                     int64_t iw0, int64_t sw) {
  const int64_t lo = std::min(n, iw0 >= 0 ? int64_t{0} : (-iw0 + sw - 1) / sw);
  const int64_t hi = std::clamp<int64_t>(iw - iw0 > 0 ? (iw - iw0 + sw - 1) / sw : 0, lo, n);
  for (int64_t j = 0; j < lo; ++j) d[j] = 0.f;
  const float* s = src + iw0;
  if (sw == 1)
    for (int64_t j = lo; j < hi; ++j) d[j] = s[j];
  else if (sw == 2)
    for (int64_t j = lo; j < hi; ++j) d[j] = s[2 * j];
  else
    for (int64_t j = lo; j < hi; ++j) d[j] = s[j * sw];
  for (int64_t j = hi; j < n; ++j) d[j] = 0.f;
}

bool phase_applicable(const Window& w, bool stride_one) {
  if (w.in[0] != 1 || w.k[0] != 1 || w.out[0] != 1) return false;
  for (int i = 1; i < 3; ++i)
    if (w.pb[i] < 0 || w.pe[i] < 0) return false;
  return stride_one || w.s[1] > 1 || w.s[2] > 1;
}

PhaseGeo make_phase_geo(const Window& w) {
  PhaseGeo g;
  const int64_t sh = w.s[1], sw = w.s[2];
  g.hph = w.out[1] + (w.k[1] - 1) * w.d[1] / sh;
  g.wph = w.out[2] + (w.k[2] - 1) * w.d[2] / sw;
  g.plane = g.hph * g.wph;
  g.row_slot.assign(static_cast<size_t>(sh), -1);
  g.col_slot.assign(static_cast<size_t>(sw), -1);
  int rows = 0, cols = 0;
  for (int64_t kh = 0; kh < w.k[1]; ++kh)
    if (int& s = g.row_slot[static_cast<size_t>(kh * w.d[1] % sh)]; s < 0) s = rows++;
  for (int64_t kw = 0; kw < w.k[2]; ++kw)
    if (int& s = g.col_slot[static_cast<size_t>(kw * w.d[2] % sw)]; s < 0) s = cols++;
  g.cols_used = cols;
  g.channel = rows * cols * g.plane;
  for (int64_t kh = 0; kh < w.k[1]; ++kh)
    for (int64_t kw = 0; kw < w.k[2]; ++kw) {
      const int64_t r = kh * w.d[1], c = kw * w.d[2];
      const int64_t slot =
          g.row_slot[static_cast<size_t>(r % sh)] * cols + g.col_slot[static_cast<size_t>(c % sw)];
      g.tap.push_back(slot * g.plane + r / sh * g.wph + c / sw);
    }
  g.virt = w.out[1] * g.wph;
  return g;
}

void fill_phase_planes(const Window& w, const PhaseGeo& g, const float* x, int64_t channels, float* dst) {
  const int64_t IH = w.in[1], IW = w.in[2], sh = w.s[1], sw = w.s[2];
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t pr = 0; pr < sh; ++pr) {
      if (g.row_slot[static_cast<size_t>(pr)] < 0) continue;
      for (int64_t pc = 0; pc < sw; ++pc) {
        if (g.col_slot[static_cast<size_t>(pc)] < 0) continue;
        float* plane =
            dst + c * g.channel +
            (g.row_slot[static_cast<size_t>(pr)] * g.cols_used + g.col_slot[static_cast<size_t>(pc)]) *
                g.plane;
        for (int64_t i = 0; i < g.hph; ++i) {
          float* d = plane + i * g.wph;
          const int64_t ih = i * sh + pr - w.pb[1];
          if (ih < 0 || ih >= IH)
            std::fill(d, d + g.wph, 0.f);
          else
            phase_row(d, g.wph, x + c * w.in_size() + ih * IW, IW, pc - w.pb[2], sw);
        }
      }
    }
}

ORTKIT_OPS_CLONES_512 void im2col_phased(const PhaseGeo& g, int64_t cg, const float* planes, int64_t q0,
                                         int64_t n, const ColDst& dst) {
  const int64_t taps = static_cast<int64_t>(g.tap.size());
  for (int64_t c = 0, k = 0; c < cg; ++c)
    for (int64_t t = 0; t < taps; ++t, ++k) {
      const float* src = planes + c * g.channel + g.tap[static_cast<size_t>(t)] + q0;
      if (!dst.nr) {
        std::memcpy(dst.data + k * dst.ld, src, static_cast<size_t>(n) * sizeof(float));
        continue;
      }
      float* d = dst.data + k * dst.nr;
      int64_t j = 0;
      if (dst.nr == 32)  // the AVX-512 kernel's panels: two vector moves each
        for (; j + 32 <= n; j += 32, d += dst.panel_floats) __builtin_memcpy(d, src + j, 32 * sizeof(float));
      for (; j < n; j += dst.nr, d += dst.panel_floats)
        std::memcpy(d, src + j, static_cast<size_t>(std::min<int64_t>(dst.nr, n - j)) * sizeof(float));
    }
}

}  // namespace ortkit::ops
