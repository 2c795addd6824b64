// im2col for Conv's GEMM forms: columns p0..p0+rows of one group's K-major im2col matrix (row k = one
// input channel and kernel tap, column = one output pixel), written either as plain rows or straight into
// the packed B panels of an f32 kernel (kernels::PanelRows), which saves the conv the pass that packed
// the staged rows.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/conv_util.h"

namespace ortkit::ops {

/// Where im2col element (k, q) goes, q = pixel - p0: data + k * ld + q, or with nr > 0 the panel layout
/// data + (q / nr) * panel_floats + k * nr + q % nr.
struct ColDst {
  float* data = nullptr;
  int64_t ld = 0;
  int nr = 0;
  int64_t panel_floats = 0;
};

/// xg: the group's first input channel (cg channels of w.in_size() floats each).
void im2col_kmajor(const Window& w, int64_t cg, const float* xg, int64_t p0, int64_t rows, const ColDst& dst);

/// d[j] for j < n: input column iw0 + j * sw of row `src` (IW floats), zero outside [0, IW). One row of a
/// phase plane (PhaseGeo); the stride-2 gather vectorises as two loads and a permute per 16 values.
void phase_row(float* d, int64_t n, const float* src, int64_t iw, int64_t iw0, int64_t sw);

/// Phase planes of a strided 1-D or 2-D window: each input channel, zero-padded, split by row phase
/// (padded row r goes to phase r % SH, row r / SH) and column phase (likewise with SW), keeping only the
/// phases some tap reads. Output (oh, ow) then reads tap (kh, kw) at one fixed offset from oh * wph + ow
/// in its phase plane, so with wph >= OW a "virtual" output row of wph pixels (the last wph - OW computed
/// and dropped) makes each tap's im2col row one contiguous copy: no per-row runs, bounds or gathers.
/// Where each tap fits in its stride (KW <= SW: patchify convs, 1x1 strided convs) wph == OW and the
/// virtual grid is the output itself.
struct PhaseGeo {
  int64_t hph = 0, wph = 0;   // phase plane rows (OH + extra) and columns (OW + extra)
  int64_t plane = 0;          // floats per phase plane
  int64_t channel = 0;        // floats per channel: its used phase planes
  std::vector<int> row_slot;  // per row phase: its index among the used ones, or -1
  std::vector<int> col_slot;  // per column phase, likewise
  int64_t cols_used = 0;      // used column phases
  std::vector<int64_t> tap;   // per tap (kh, kw) of one channel: its offset from a channel's planes
  int64_t virt = 0;           // pixels of the virtual grid, OH * wph
};
/// Whether the phase-plane im2col applies: 1-D or 2-D, non-negative pads, a stride above 1 or
/// `stride_one` (then the one phase is the zero-padded plane, and each tap's row of a chunk is one
/// contiguous copy from it).
bool phase_applicable(const Window& w, bool stride_one = false);
PhaseGeo make_phase_geo(const Window& w);
/// The phase planes of `channels` channels of x (w.in_size() floats each) into dst (geo.channel each).
void fill_phase_planes(const Window& w, const PhaseGeo& g, const float* x, int64_t channels, float* dst);
/// Virtual pixels [q0, q0 + n) of im2col rows 0..cg * taps - 1 into packed panels (dst.nr > 0) or rows.
/// Reads up to geo.channel * cg + (KW - 1) * DW / SW + dst.nr floats from planes (callers add slack).
void im2col_phased(const PhaseGeo& g, int64_t cg, const float* planes, int64_t q0, int64_t n,
                   const ColDst& dst);

}  // namespace ortkit::ops
