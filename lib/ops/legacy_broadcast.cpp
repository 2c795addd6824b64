// Legacy (opset < 7) broadcast attributes of binary ops, mapped onto numpy broadcasting.
#include <string>

#include "ops/broadcast.h"

namespace ortkit::ops {

Shape aligned_at_axis(const Shape& b, size_t rank, int64_t axis) {
  Shape s(rank, 1);
  for (size_t i = 0; i < b.size(); ++i) {
    const int64_t d = axis + static_cast<int64_t>(i);
    if (d >= 0 && d < static_cast<int64_t>(rank)) s[d] = b[i];
  }
  return s;
}

Shape LegacyBroadcast::b_shape(const CompileContext& ctx, const Shape& a, const Shape& b) {
  active = ctx.node->opset < 7 && ctx.attr().get_int("broadcast", 0) != 0 && ctx.attr().has("axis");
  if (!active) return b;
  axis = ctx.attr().get_int("axis");
  const int64_t rank = static_cast<int64_t>(a.size());
  const int64_t at = normalize_axis(axis, rank, ctx.node->describe());
  if (at + static_cast<int64_t>(b.size()) > rank)
    ctx.fail("broadcast=1: B " + shape_str(b) + " does not fit in A " + shape_str(a) + " from axis " +
             std::to_string(axis));
  return aligned_at_axis(b, a.size(), at);
}

const Tensor& LegacyBroadcast::b(const Tensor& a, const Tensor& b, Tensor& tmp) const {
  if (!active) return b;
  const size_t rank = a.shape().size();
  tmp = Tensor::view(b.dtype(),
                     aligned_at_axis(b.shape(), rank, normalize_axis(axis, static_cast<int64_t>(rank))),
                     const_cast<void*>(b.data()));
  return tmp;
}

}  // namespace ortkit::ops
