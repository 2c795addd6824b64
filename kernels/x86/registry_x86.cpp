// x86 kernel table, best first per kind. Each entry's function is defined in its ISA folder's file of the
// same name; this file is compiled without ISA flags and only takes their addresses.
//
// Order: on a CPU with several, the first runnable entry wins (dispatch.cpp), so the widest instruction
// comes first. s8s8 has no native x86 instruction (vpdpbusd is u8 x s8): the s8s8 entries are the u8s8
// kernels with a_shift_128, and the driver flips A's sign bit and corrects the zero point. They carry
// their own gemm_s8s8_* names (no file of that stem exists) so that find_kernel and ORTKIT_KERNEL pins
// are unambiguous per kind.
#include "ortkit/kernels/registry.h"
#include "x86/x86_kernels.h"

namespace ortkit::kernels {

namespace {
using namespace x86;
constexpr FeatureMask kAvx2 = bit(Feature::avx2) | bit(Feature::fma);
constexpr FeatureMask kAvx512 = bit(Feature::avx512f) | bit(Feature::avx512bw) | bit(Feature::avx512dq) |
                                bit(Feature::avx512vl) | bit(Feature::fma);
constexpr FeatureMask kVnni512 = kAvx512 | bit(Feature::avx512vnni);
constexpr FeatureMask kBf16 = kAvx512 | bit(Feature::avx512bf16);
constexpr FeatureMask kAvxVnni = kAvx2 | bit(Feature::avxvnni);
constexpr FeatureMask kAmxBf16 = kBf16 | bit(Feature::amx_tile) | bit(Feature::amx_bf16);
constexpr FeatureMask kAmxInt8 = kAvx512 | bit(Feature::amx_tile) | bit(Feature::amx_int8);

#if defined(ORTKIT_HAVE_X86_AVX512)
const GemmKernel kF32Avx512{.name = "gemm_f32_avx512_14x32",
                            .kind = GemmKind::f32,
                            .isa = "avx512",
                            .features = kAvx512,
                            .mr = 14,
                            .nr = 32,
                            .kr = 1,
                            .run = gemm_f32_avx512_14x32,
                            .a_rows = true,
                            .b_rows = true};
#endif
#if defined(ORTKIT_HAVE_X86_AVX2)
// Positional fields after the function: a_shift_128, sve_bits, a_u8_to_s8, a_rows (registry.h).
const GemmKernel kF32Avx2{"gemm_f32_avx2_6x16", GemmKind::f32, "avx2", kAvx2, 6,   16, 1,
                          gemm_f32_avx2_6x16,   false,         0,      false, true};
const GemmKernel kU8Avx2{"gemm_u8s8_avx2_4x16c4", GemmKind::u8s8, "avx2", kAvx2, 4,   16, 4,
                         gemm_u8s8_avx2_4x16c4,   false,          0,      false, true};
const GemmKernel kS8Avx2{"gemm_s8s8_avx2_4x16c4", GemmKind::s8s8, "avx2", kAvx2, 4,   16, 4,
                         gemm_u8s8_avx2_4x16c4,   true,           0,      false, true};
#endif
#if defined(ORTKIT_HAVE_X86_AVX512BF16)
const GemmKernel kBf16Avx512{"gemm_bf16_avx512bf16_14x32c2",
                             GemmKind::bf16,
                             "avx512bf16",
                             kBf16,
                             14,
                             32,
                             2,
                             gemm_bf16_avx512bf16_14x32c2,
                             false,
                             0,
                             /*a_u8_to_s8=*/false,
                             /*a_rows=*/true,
                             prep_row_bf16_avx512bf16,
                             /*a_from_f32=*/true};
#endif
#if defined(ORTKIT_HAVE_X86_AVX512VNNI)
const GemmKernel kU8Vnni512{"gemm_u8s8_avx512vnni_14x32c4",
                            GemmKind::u8s8,
                            "avx512vnni",
                            kVnni512,
                            14,
                            32,
                            4,
                            gemm_u8s8_avx512vnni_14x32c4,
                            false,
                            0,
                            /*a_u8_to_s8=*/false,
                            /*a_rows=*/true,
                            prep_row_u8_avx512,
                            /*a_from_f32=*/false,
                            /*requant_out=*/true};
const GemmKernel kS8Vnni512{"gemm_s8s8_avx512vnni_14x32c4",
                            GemmKind::s8s8,
                            "avx512vnni",
                            kVnni512,
                            14,
                            32,
                            4,
                            gemm_u8s8_avx512vnni_14x32c4,
                            true,
                            0,
                            /*a_u8_to_s8=*/false,
                            /*a_rows=*/true,
                            prep_row_u8_avx512,
                            /*a_from_f32=*/false,
                            /*requant_out=*/true};
#endif
#if defined(ORTKIT_HAVE_X86_AVXVNNI)
const GemmKernel kU8AvxVnni{"gemm_u8s8_avxvnni_6x16c4",
                            GemmKind::u8s8,
                            "avxvnni",
                            kAvxVnni,
                            6,
                            16,
                            4,
                            gemm_u8s8_avxvnni_6x16c4,
                            false,
                            0,
                            false,
                            /*a_rows=*/true};
const GemmKernel kS8AvxVnni{"gemm_s8s8_avxvnni_6x16c4",
                            GemmKind::s8s8,
                            "avxvnni",
                            kAvxVnni,
                            6,
                            16,
                            4,
                            gemm_u8s8_avxvnni_6x16c4,
                            true,
                            0,
                            false,
                            /*a_rows=*/true};
#endif
#if defined(ORTKIT_HAVE_X86_AMX)
// AMX kernels: 32 x 32 blocks of tiles, A read as rows (bf16 rounded from fp32 by the kernel itself on an
// M block's first B panel; int8 with zero-padded K prepared by the driver), B in the AVX-512 kernels'
// 32-column panels. s8s8 is native (tdpbssd).
const GemmKernel kBf16Amx{.name = "gemm_bf16_amx_32x32c2",
                          .kind = GemmKind::bf16,
                          .isa = "amx",
                          .features = kAmxBf16,
                          .mr = 32,
                          .nr = 32,
                          .kr = 2,
                          .run = gemm_bf16_amx_32x32c2,
                          .a_rows = true,
                          .prep_row = prep_row_bf16_avx512bf16,
                          .a_from_f32 = true,
                          .begin = amx_begin,
                          .finish = amx_finish};
// int8 calls of one row (a GEMV) run on the VNNI kernel (same panels), 1 thread, ORTKIT_KERNEL pins: B hot in
// L2 1x768x768 266 against 232 GOP/s, B from L3 1x768x3072 103 against 86. From 2 rows on AMX wins where
// B is in L2 (2x768x768 474 against 331), loses ~15% from L3 (4x3072x768 325 against 378) and is level or
// ahead from DRAM (docs/x86-kernels.md, Measured, AMX).
#if defined(ORTKIT_HAVE_X86_AVX512VNNI)
constexpr const GemmKernel* kFewU8 = &kU8Vnni512;
constexpr const GemmKernel* kFewS8 = &kS8Vnni512;
#else
constexpr const GemmKernel* kFewU8 = nullptr;
constexpr const GemmKernel* kFewS8 = nullptr;
#endif
const GemmKernel kU8Amx{.name = "gemm_u8s8_amx_32x32c4",
                        .kind = GemmKind::u8s8,
                        .isa = "amx",
                        .features = kAmxInt8,
                        .mr = 32,
                        .nr = 32,
                        .kr = 4,
                        .run = gemm_u8s8_amx_32x32c4,
                        .a_rows = true,
                        .prep_row = prep_row_u8_avx512,
                        .few_rows = kFewU8,
                        .few_rows_max = 1,
                        .begin = amx_begin,
                        .finish = amx_finish};
const GemmKernel kS8Amx{.name = "gemm_s8s8_amx_32x32c4",
                        .kind = GemmKind::s8s8,
                        .isa = "amx",
                        .features = kAmxInt8,
                        .mr = 32,
                        .nr = 32,
                        .kr = 4,
                        .run = gemm_s8s8_amx_32x32c4,
                        .a_rows = true,
                        .prep_row = prep_row_u8_avx512,
                        .few_rows = kFewS8,
                        .few_rows_max = 1,
                        .begin = amx_begin,
                        .finish = amx_finish};
#endif
}  // namespace

void register_x86_kernels(std::vector<const GemmKernel*>& out, GemmKind kind) {
  switch (kind) {
    case GemmKind::f32:
#if defined(ORTKIT_HAVE_X86_AVX512)
      out.push_back(&kF32Avx512);
#endif
#if defined(ORTKIT_HAVE_X86_AVX2)
      out.push_back(&kF32Avx2);
#endif
      break;
    case GemmKind::bf16:
#if defined(ORTKIT_HAVE_X86_AMX)
      out.push_back(&kBf16Amx);
#endif
#if defined(ORTKIT_HAVE_X86_AVX512BF16)
      out.push_back(&kBf16Avx512);
#endif
      break;
    case GemmKind::u8s8:
    case GemmKind::s8s8: {
      const bool s = kind == GemmKind::s8s8;
#if defined(ORTKIT_HAVE_X86_AMX)
      out.push_back(s ? &kS8Amx : &kU8Amx);
#endif
#if defined(ORTKIT_HAVE_X86_AVX512VNNI)
      out.push_back(s ? &kS8Vnni512 : &kU8Vnni512);
#endif
#if defined(ORTKIT_HAVE_X86_AVXVNNI)
      out.push_back(s ? &kS8AvxVnni : &kU8AvxVnni);
#endif
#if defined(ORTKIT_HAVE_X86_AVX2)
      out.push_back(s ? &kS8Avx2 : &kU8Avx2);
#endif
      (void)s;
      break;
    }
  }
}

}  // namespace ortkit::kernels
