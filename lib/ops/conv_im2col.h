// im2col for Conv's GEMM forms: columns p0..p0+rows of one group's K-major im2col matrix (row k = one
// input channel and kernel tap, column = one output pixel), written either as plain rows or straight into
// the packed B panels of an f32 kernel (kernels::PanelRows), which saves the conv the pass that packed
// the staged rows.
#pragma once
#include <cstdint>

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

}  // namespace ortkit::ops
