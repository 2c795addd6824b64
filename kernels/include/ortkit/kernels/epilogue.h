// Portable epilogue of one tile, for reference kernels and for fast kernels' edge tiles.
// Plain exported functions (no inline helpers shared with ISA-flagged files, see ARCHITECTURE.md).
#pragma once
#include <cstdint>

#include "ortkit/kernels/registry.h"

namespace ortkit::kernels {

/// Store acc[r * acc_ld + c] (fp32 accumulators) for r < t.m, c < t.n into t.c with bias/act/accumulate.
void store_tile_f32(const MicroTile& t, const float* acc, int acc_ld);
/// Store int32 accumulators with the int8 offsets, scales, bias and activation (or raw into t.c32).
void store_tile_i32(const MicroTile& t, const int32_t* acc, int acc_ld);
/// The activation of one value (scalar, used by the reference and edge paths).
float apply_act(float v, Act act, float lo, float hi);
/// fp32 -> bf16 bits, round to nearest even (NaN stays NaN).
uint16_t f32_to_bf16(float v);
float bf16_to_f32(uint16_t v);

}  // namespace ortkit::kernels
