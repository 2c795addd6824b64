#include "ops/quant_params.h"

namespace ortkit::ops::quant {

QuantLayout quant_layout(const CompileContext& ctx, const Shape& x, const Shape& scale, size_t zp_slot) {
  QuantLayout l;
  l.inner = shape_numel(x);
  const int64_t block = ctx.attr().get_int("block_size", 0);
  if (block < 0) ctx.fail("block_size must be positive, got " + std::to_string(block));
  if (block > 0 && ctx.node->opset < 21) ctx.fail("block_size needs opset 21 or later");
  const Shape* zp = ctx.has_input(zp_slot) ? &ctx.input(zp_slot).shape : nullptr;
  if (zp && (block > 0 ? *zp != scale : shape_numel(*zp) != shape_numel(scale)))
    ctx.fail("zero point has shape " + shape_str(*zp) + ", scale " + shape_str(scale));
  // One value (a scalar, or shape [1] as many exporters write it) is per tensor at every opset.
  if (shape_numel(scale) == 1) return l;
  if (ctx.node->opset < 13) ctx.fail("scale must be a scalar before opset 13, got " + shape_str(scale));
  const int64_t rank = static_cast<int64_t>(x.size());
  const int64_t axis = normalize_axis(ctx.attr().get_int("axis", 1), rank, ctx.node->describe());
  const int64_t d = x[axis];
  if (block == 0) {
    if (scale.size() != 1)
      ctx.fail("scale " + shape_str(scale) +
               " must be a scalar or 1-D (blocked quantization needs block_size)");
    if (scale[0] != d)
      ctx.fail("scale has " + std::to_string(scale[0]) + " values, axis " + std::to_string(axis) + " has " +
               std::to_string(d));
  } else {
    Shape want = x;
    want[axis] = (d + block - 1) / block;
    if (scale != want)
      ctx.fail("blocked quantization: scale has shape " + shape_str(scale) + ", x " + shape_str(x) +
               " with block_size " + std::to_string(block) + " on axis " + std::to_string(axis) + " needs " +
               shape_str(want));
    l.block = block;
    l.blocks = want[axis];
  }
  l.axis_dim = d;
  l.inner = 1;
  for (int64_t k = axis + 1; k < rank; ++k) l.inner *= x[k];
  l.rows = 1;
  for (int64_t k = 0; k <= axis; ++k) l.rows *= x[k];
  return l;
}

}  // namespace ortkit::ops::quant
