// Strided N-d copies shared by the data-movement ops (Expand, Slice, Transpose, Tile).
#pragma once
#include <cstdint>
#include <cstring>

#include "ops/op.h"

namespace ortkit::ops {

/// out (contiguous, shape `os`) [idx] = in[base + sum_d idx_d * is[d]], element type T. Strides may be 0
/// (broadcast) or negative (reversed slices). Rows of the last dim are the unit of work; a unit inner
/// stride becomes a memcpy.
template <class T>
void strided_copy(const T* in, int64_t base, const std::vector<int64_t>& is, T* out, const Shape& os,
                  const kernels::Threading& th) {
  const int64_t n = shape_numel(os);
  if (n == 0) return;
  const int64_t rank = static_cast<int64_t>(os.size());
  if (rank == 0) {
    out[0] = in[base];
    return;
  }
  const int64_t inner = os[rank - 1], rows = n / inner, st = is[rank - 1];
  parallel_range(th, rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(inner, 1)),
                 [&](int64_t r0, int64_t r1) {
                   for (int64_t r = r0; r < r1; ++r) {
                     int64_t rem = r, off = base;
                     for (int64_t d = rank - 2; d >= 0; --d) {
                       off += (rem % os[d]) * is[d];
                       rem /= os[d];
                     }
                     T* o = out + r * inner;
                     const T* src = in + off;
                     if (st == 1)
                       std::memcpy(o, src, static_cast<size_t>(inner) * sizeof(T));
                     else if (st == 0)
                       std::fill(o, o + inner, src[0]);
                     else
                       for (int64_t i = 0; i < inner; ++i) o[i] = src[i * st];
                   }
                 });
}

}  // namespace ortkit::ops
