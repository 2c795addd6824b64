// Private to kernels/x86: the micro-kernels (one exported function per file, file stem = name) and the
// SIMD epilogues they share. Every function here is a plain exported function compiled in its ISA's
// object library; nothing inline crosses ISA-flagged files (ARCHITECTURE.md, Kernel conventions).
//
// Epilogue split: a micro-kernel keeps its MR x NR accumulators in registers over K, spills them once
// to an aligned stack tile and calls its ISA's store_* function. That costs ~2*MR*NR/16 moves per tile,
// noise next to the K loop, and keeps one copy of bias/act/int8 dequantization per ISA instead of one
// per kernel.
#pragma once
#include <cstdint>

#include "ortkit/kernels/registry.h"

namespace ortkit::kernels::x86 {

// Epilogues. acc is t.m x t.n valid values in rows of acc_ld; handle any t.m <= MR and t.n <= NR.
void store_f32_avx512(const MicroTile& t, const float* acc, int acc_ld);    // avx512/epilogue_avx512.cpp
void store_i32_avx512(const MicroTile& t, const int32_t* acc, int acc_ld);  // avx512/epilogue_avx512.cpp
void store_f32_avx2(const MicroTile& t, const float* acc, int acc_ld);      // avx2/epilogue_avx2.cpp
void store_i32_avx2(const MicroTile& t, const int32_t* acc, int acc_ld);    // avx2/epilogue_avx2.cpp

// Row preparation, GemmKernel::prep_row of the kernels that read A as rows (GemmKernel::a_rows). fp32
// rows need none: the driver reads or copies them. bf16 rows: f32_to_bf16's rounding with vcvtne2ps2bf16
// (avx512bf16/prep_row_bf16_avx512bf16.cpp, kernels whose features include AVX512_BF16); int8 rows
// (avx512/prep_row_avx512.cpp).
int32_t prep_row_bf16_avx512bf16(const void* src, int64_t k, int64_t kp, uint8_t a_xor, bool sum_signed,
                                 void* dst);
int32_t prep_row_u8_avx512(const void* src, int64_t k, int64_t kp, uint8_t a_xor, bool sum_signed, void* dst);

// Micro-kernels (registry_x86.cpp lists them with their features).
void gemm_f32_avx512_14x32(const MicroTile& t);
void gemm_f32_avx2_6x16(const MicroTile& t);
void gemm_bf16_avx512bf16_14x32c2(const MicroTile& t);
void gemm_u8s8_avx512vnni_14x32c4(const MicroTile& t);
void gemm_u8s8_avxvnni_6x16c4(const MicroTile& t);
void gemm_u8s8_avx2_4x16c4(const MicroTile& t);
void gemm_bf16_amx_32x32c2(const MicroTile& t);
void gemm_u8s8_amx_32x32c4(const MicroTile& t);
void gemm_s8s8_amx_32x32c4(const MicroTile& t);
// GemmKernel::begin and GemmKernel::finish of the AMX kernels (amx/amx_config.cpp).
void amx_begin();
void amx_finish();

// Peak probes of the AMX tile products (amx/peak_amx.cpp): they configure tiles, so they live with the
// kernels' flags rather than in peak_x86.cpp's target attributes.
uint64_t peak_tdpbf16ps(uint64_t iters, float* sink);
uint64_t peak_tdpbusd(uint64_t iters, float* sink);

}  // namespace ortkit::kernels::x86
