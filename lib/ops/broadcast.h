// numpy-broadcast elementwise loops shared by binary ops (Add, Mul, Where, ...).
//
// The output is walked row by row over its last dimension; for each row the input offsets are computed
// once, and the inner loop has each input at stride 1 or 0 (a broadcast scalar), which the compiler
// vectorizes. Equal shapes and scalar operands take a flat path. Big tensors are split over the pool.
#pragma once
#include <cstdint>

#include "ops/op.h"

namespace ortkit::ops {

/// Per-input element strides aligned to the output's rank (0 where the input is broadcast).
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);

/// Allocation-free broadcast of two shapes of rank <= kMaxBroadcastRank (for run()):
/// out[d] and per-input strides sa[d], sb[d] (0 where broadcast), aligned to the output's rank.
inline constexpr int kMaxBroadcastRank = 8;
struct BroadcastIndex {
  int rank = 0;
  int64_t out[kMaxBroadcastRank] = {}, sa[kMaxBroadcastRank] = {}, sb[kMaxBroadcastRank] = {};
  /// Element offsets of a and b for the flat output index i (over all dims).
  void offsets(int64_t i, int64_t& oa, int64_t& ob) const {
    oa = ob = 0;
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t idx = i % out[d];
      i /= out[d];
      oa += idx * sa[d];
      ob += idx * sb[d];
    }
  }
};
/// False when a rank exceeds kMaxBroadcastRank or the shapes do not broadcast.
bool make_broadcast_index(const int64_t* a, int ra, const int64_t* b, int rb, BroadcastIndex& bi);

/// out[i] = f(a[ia], b[ib]) under numpy broadcasting. Ta/Tb/To element types; f must be cheap and pure.
template <class Ta, class Tb, class To, class F>
void broadcast_binary(const Tensor& a, const Tensor& b, Tensor& out, const kernels::Threading& th, F f) {
  const Ta* pa = a.data_as<Ta>();
  const Tb* pb = b.data_as<Tb>();
  To* po = out.data_as<To>();
  const int64_t n = out.numel();
  if (n == 0) return;
  constexpr int64_t kGrain = 16384;  // elements per task: below this threading costs more than it gains
  if (a.numel() == n && b.numel() == n) {
    parallel_range(th, n, kGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) po[i] = f(pa[i], pb[i]);
    });
    return;
  }
  if (b.numel() == 1 && a.numel() == n) {
    const Tb vb = pb[0];
    parallel_range(th, n, kGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) po[i] = f(pa[i], vb);
    });
    return;
  }
  if (a.numel() == 1 && b.numel() == n) {
    const Ta va = pa[0];
    parallel_range(th, n, kGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) po[i] = f(va, pb[i]);
    });
    return;
  }
  BroadcastIndex bi;
  if (!make_broadcast_index(a.shape().data(), static_cast<int>(a.rank()), b.shape().data(),
                            static_cast<int>(b.rank()), bi))
    throw Error("cannot broadcast " + shape_str(a.shape()) + " with " + shape_str(b.shape()) +
                " (rank above 8 or incompatible)");
  const int rank = bi.rank;
  const int64_t inner = bi.out[rank - 1];
  const int64_t rows = n / inner;
  const int64_t ia = bi.sa[rank - 1], ib = bi.sb[rank - 1];
  parallel_range(th, rows, std::max<int64_t>(1, kGrain / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t oa, ob;
      bi.offsets(r * inner, oa, ob);
      To* o = po + r * inner;
      const Ta* ra = pa + oa;
      const Tb* rb = pb + ob;
      if (ia != 0 && ib != 0)
        for (int64_t i = 0; i < inner; ++i) o[i] = f(ra[i], rb[i]);
      else if (ia != 0)
        for (int64_t i = 0; i < inner; ++i) o[i] = f(ra[i], rb[0]);
      else if (ib != 0)
        for (int64_t i = 0; i < inner; ++i) o[i] = f(ra[0], rb[i]);
      else
        for (int64_t i = 0; i < inner; ++i) o[i] = f(ra[0], rb[0]);
    }
  });
}

/// out[i] = f(in[i]) in parallel chunks.
template <class Ti, class To, class F>
void unary_map(const Tensor& in, Tensor& out, const kernels::Threading& th, F f) {
  const Ti* pi = in.data_as<Ti>();
  To* po = out.data_as<To>();
  parallel_range(th, in.numel(), 16384, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) po[i] = f(pi[i]);
  });
}

}  // namespace ortkit::ops

namespace ortkit::ops {

// Opset < 7 binary ops (Add, Sub, Mul, Div, Pow, And, Or, Xor, Equal, Greater, Less) broadcast only with
// the attribute broadcast=1, and then line B's dimensions up with A's from `axis` on (default: B's
// trailing dimensions, which is numpy's rule). PyTorch's exporters of 2017-2018 wrote such graphs.

/// B's shape with ones around it so that its dimensions start at `axis` of a rank-`rank` shape.
Shape aligned_at_axis(const Shape& b, size_t rank, int64_t axis);

/// What a binary op keeps from compile() to apply a legacy `axis` (attributes only, per the op rules).
struct LegacyBroadcast {
  bool active = false;  ///< opset < 7, broadcast=1 and an axis given
  int64_t axis = 0;     ///< the attribute as written (may be negative: from A's rank)
  /// compile(): reads the node's attributes and returns B's shape as numpy broadcasting must see it.
  /// Fails naming the node when B does not fit inside A from the axis.
  Shape b_shape(const CompileContext& ctx, const Shape& a, const Shape& b);
  /// run(): B itself, or `tmp` set to a view of B's bytes with the aligned shape.
  const Tensor& b(const Tensor& a, const Tensor& b, Tensor& tmp) const;
};

}  // namespace ortkit::ops
