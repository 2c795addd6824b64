// NEON stores of one finished tile for every arm64 micro-kernel (internal to kernels/arm64).
//
// A kernel keeps its accumulators in registers over the whole K loop, then spills them once to a small
// row-major stack buffer and calls one of these. That costs MR x NR stores per tile (a few percent at
// the depths where GEMM time matters) and keeps the epilogue (bias, activation, accumulate, int8
// offsets and scales, raw int32; GELU by vector erf / exp approximations, abs. error < 1e-6 x max(1, |v|))
// in one place instead of once per ISA file. Built at the armv8-a
// baseline, where NEON is always present, so any ISA-flagged kernel may call it.
#pragma once
#include <cstdint>

#include "ortkit/kernels/registry.h"

namespace ortkit::kernels {

/// Like store_tile_f32 (same results), vectorized over columns: acc[r * acc_ld + c] for the valid
/// t.m x t.n part.
void arm64_store_tile_f32(const MicroTile& t, const float* acc, int acc_ld);
/// Like store_tile_i32: int8 offsets, zero-point correction, then raw int32 or scaled fp32 with the
/// float epilogue.
void arm64_store_tile_i32(const MicroTile& t, const int32_t* acc, int acc_ld);

}  // namespace ortkit::kernels
