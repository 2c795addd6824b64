// arm64 kernel table, best first per kind. The kernels live in their ISA folders (one file each);
// the entries are here so that order, features and the per-vector-length SVE variants read in one place.
//
// Expected choice per Graviton generation (tests/kernels/test_arm64_dispatch.cpp checks it):
//   Graviton2 (N1: asimd, dotprod)           f32 neon_8x12, u8s8/s8s8 neondot_8x12c4, bf16 neon_8x12
//   Graviton3 (V1: SVE 256, bf16, i8mm)      f32 sve_8x3v (vl256), bf16 neonbf16, int8 neoni8mm
//   Graviton4 (V2: SVE2 128, bf16, i8mm)     f32 sve_8x3v (vl128), bf16 neonbf16, int8 neoni8mm
#include "ortkit/kernels/registry.h"

namespace ortkit::kernels {

void gemm_f32_neon_8x12(const MicroTile& t);
void gemm_f32_sve_8x3v(const MicroTile& t);
void gemm_bf16_neonbf16_8x12c4(const MicroTile& t);
void gemm_bf16_neon_8x12(const MicroTile& t);
void gemm_s8s8_neoni8mm_8x8c8(const MicroTile& t);
void gemm_u8s8_neoni8mm_8x8c8(const MicroTile& t);
void gemm_s8s8_neondot_8x12c4(const MicroTile& t);
void gemm_u8s8_neondot_8x12c4(const MicroTile& t);
void gemm_s8s8_neon_8x8(const MicroTile& t);
void gemm_u8s8_neon_8x8(const MicroTile& t);

namespace {
constexpr FeatureMask kNeon = bit(Feature::asimd);
constexpr FeatureMask kDot = kNeon | bit(Feature::asimddp);
constexpr FeatureMask kI8mm = kNeon | bit(Feature::i8mm);
constexpr FeatureMask kBf16 = kNeon | bit(Feature::bf16);
constexpr FeatureMask kSve = kNeon | bit(Feature::sve);

// NR of an SVE kernel is a number of vectors; one entry per vector length, since NR shapes packed B.
// The name carries the length so pins and reports can tell them apart.
// Designated: b_rows (B read in place, view_b_rows) sits past the positional fields.
const GemmKernel kF32Sve512{.name = "gemm_f32_sve_8x3v_vl512",
                            .kind = GemmKind::f32,
                            .isa = "sve",
                            .features = kSve,
                            .mr = 8,
                            .nr = 48,
                            .kr = 1,
                            .run = gemm_f32_sve_8x3v,
                            .sve_bits = 512,
                            .b_rows = true};
const GemmKernel kF32Sve256{.name = "gemm_f32_sve_8x3v_vl256",
                            .kind = GemmKind::f32,
                            .isa = "sve",
                            .features = kSve,
                            .mr = 8,
                            .nr = 24,
                            .kr = 1,
                            .run = gemm_f32_sve_8x3v,
                            .sve_bits = 256,
                            .b_rows = true};
const GemmKernel kF32Sve128{.name = "gemm_f32_sve_8x3v_vl128",
                            .kind = GemmKind::f32,
                            .isa = "sve",
                            .features = kSve,
                            .mr = 8,
                            .nr = 12,
                            .kr = 1,
                            .run = gemm_f32_sve_8x3v,
                            .sve_bits = 128,
                            .b_rows = true};
const GemmKernel kF32Neon{.name = "gemm_f32_neon_8x12",
                          .kind = GemmKind::f32,
                          .isa = "neon",
                          .features = kNeon,
                          .mr = 8,
                          .nr = 12,
                          .kr = 1,
                          .run = gemm_f32_neon_8x12,
                          .b_rows = true};

const GemmKernel kBf16Mmla{"gemm_bf16_neonbf16_8x12c4", GemmKind::bf16, "neonbf16", kBf16, 8, 12, 4,
                           gemm_bf16_neonbf16_8x12c4};
// Without BF16 instructions: widen bf16 to fp32 (a shift) and FMLA; far faster than the scalar ref.
const GemmKernel kBf16Neon{"gemm_bf16_neon_8x12", GemmKind::bf16, "neon", kNeon, 8, 12, 1,
                           gemm_bf16_neon_8x12};

const GemmKernel kS8I8mm{"gemm_s8s8_neoni8mm_8x8c8", GemmKind::s8s8, "neoni8mm", kI8mm, 8, 8, 8,
                         gemm_s8s8_neoni8mm_8x8c8};
const GemmKernel kS8Dot{"gemm_s8s8_neondot_8x12c4", GemmKind::s8s8, "neondot", kDot, 8, 12, 4,
                        gemm_s8s8_neondot_8x12c4};
const GemmKernel kS8Neon{"gemm_s8s8_neon_8x8", GemmKind::s8s8, "neon", kNeon, 8, 8, 1, gemm_s8s8_neon_8x8};

const GemmKernel kU8I8mm{"gemm_u8s8_neoni8mm_8x8c8", GemmKind::u8s8, "neoni8mm", kI8mm, 8, 8, 8,
                         gemm_u8s8_neoni8mm_8x8c8};
const GemmKernel kU8Dot{"gemm_u8s8_neondot_8x12c4", GemmKind::u8s8, "neondot", kDot, 8, 12, 4,
                        gemm_u8s8_neondot_8x12c4,   false,          0,
                        /*a_u8_to_s8=*/true};
const GemmKernel kU8Neon{"gemm_u8s8_neon_8x8", GemmKind::u8s8, "neon", kNeon, 8, 8, 1, gemm_u8s8_neon_8x8};
}  // namespace

void register_arm64_kernels(std::vector<const GemmKernel*>& out, GemmKind kind) {
  switch (kind) {
    case GemmKind::f32: out.insert(out.end(), {&kF32Sve512, &kF32Sve256, &kF32Sve128, &kF32Neon}); break;
    case GemmKind::bf16: out.insert(out.end(), {&kBf16Mmla, &kBf16Neon}); break;
    case GemmKind::s8s8: out.insert(out.end(), {&kS8I8mm, &kS8Dot, &kS8Neon}); break;
    case GemmKind::u8s8: out.insert(out.end(), {&kU8I8mm, &kU8Dot, &kU8Neon}); break;
  }
}

}  // namespace ortkit::kernels
