// Cast to and from ONNX's narrow types (float8, float8e8m0, float4, int4 / uint4, int2 / uint2), with the
// scalar rules of ortkit/narrow_types.h: Cast and CastLike (shape_ops.cpp, tensor_misc.cpp) send every
// cast with a narrow side here.
#pragma once
#include "ops/op.h"
#include "ortkit/narrow_types.h"

namespace ortkit::ops {

/// Cast's `saturate` (opset 19+; float8 only) and `round_mode` (opset 24+; float8e8m0 only) attributes.
/// An unknown round_mode fails naming the node.
NarrowCast narrow_cast_options(const CompileContext& ctx);

/// y = Cast(x) where x's or y's dtype (or both) is narrow; y is preallocated with x's shape. The other
/// side may be any numeric dtype, bool, float16 or bfloat16. Narrow floats convert through float32 (exact);
/// the small integers keep integer values (int8 -> int4 wraps, int4 -> int8 sign-extends).
void cast_narrow(const Tensor& x, Tensor& y, const NarrowCast& o, const kernels::Threading& th);

}  // namespace ortkit::ops
