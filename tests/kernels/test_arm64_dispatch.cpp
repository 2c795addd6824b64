// Which kernel dispatch picks on each Graviton generation, from Linux hwcaps (AT_HWCAP / AT_HWCAP2
// words rebuilt from the "Features" lines that c6g, c7g and c8g instances show in /proc/cpuinfo). The chooser
// runs over this binary's table, so the kernel names are only expected in arm64 builds; elsewhere the same
// inputs must still pick a kernel (the reference one, as x86 has no arm64 kernels).
#include <catch2/catch.hpp>
#include <string>

#include "ortkit/kernels/registry.h"

using namespace ortkit::kernels;

namespace {

constexpr uint64_t b(int n) {
  return uint64_t{1} << n;
}

// AT_HWCAP bits (asm/hwcap.h): fp 0, asimd 1, evtstrm 2, aes 3, pmull 4, sha1 5, sha2 6, crc32 7,
// atomics 8, fphp 9, asimdhp 10, cpuid 11, asimdrdm 12, jscvt 13, fcma 14, lrcpc 15, dcpop 16, sha3 17,
// sm3 18, sm4 19, asimddp 20, sha512 21, sve 22, asimdfhm 23, dit 24, uscat 25, ilrcpc 26, flagm 27,
// ssbs 28, sb 29, paca 30, pacg 31.
// AT_HWCAP2: dcpodp 0, sve2 1, sveaes 2, svepmull 3, svebitperm 4, svesha3 5, svesm4 6, flagm2 7,
// frint 8, svei8mm 9, svef32mm 10, svef64mm 11, svebf16 12, i8mm 13, bf16 14, dgh 15, rng 16, bti 17.
constexpr uint64_t kG2Hw = b(0) | b(1) | b(2) | b(3) | b(4) | b(5) | b(6) | b(7) | b(8) | b(9) | b(10) |
                           b(11) | b(12) | b(15) | b(16) | b(20) | b(28);
constexpr uint64_t kG3Hw = kG2Hw | b(13) | b(14) | b(17) | b(18) | b(19) | b(21) | b(22) | b(23) | b(24) |
                           b(25) | b(26) | b(27) | b(30) | b(31);
constexpr uint64_t kG3Hw2 = b(0) | b(7) | b(8) | b(9) | b(12) | b(13) | b(14) | b(15) | b(16);
constexpr uint64_t kG4Hw = kG3Hw | b(29);
constexpr uint64_t kG4Hw2 = kG3Hw2 | b(1) | b(4) | b(17);

struct Expect {
  const char* f32;
  const char* bf16;
  const char* u8s8;
  const char* s8s8;
};

void check(const CpuFeatures& cpu, const Expect& e) {
  const GemmKind kinds[] = {GemmKind::f32, GemmKind::bf16, GemmKind::u8s8, GemmKind::s8s8};
  const char* names[] = {e.f32, e.bf16, e.u8s8, e.s8s8};
  for (int i = 0; i < 4; ++i) {
    const DispatchDecision d = choose_kernel(kinds[i], cpu, "");
    REQUIRE(d.chosen != nullptr);
    INFO(gemm_kind_name(kinds[i]));
#if defined(__aarch64__)
    CHECK(std::string(d.chosen->name) == names[i]);
#else
    (void)names;
    CHECK(std::string(d.chosen->isa) == "ref");
#endif
  }
}

}  // namespace

TEST_CASE("Graviton2 (Neoverse N1) gets NEON fp32 and SDOT int8", "[kernels][dispatch][arm64]") {
  const CpuFeatures cpu = features_from_arm64_hwcap(kG2Hw, 0, 0);
  REQUIRE(cpu.has(Feature::asimddp));
  REQUIRE_FALSE(cpu.has(Feature::sve));
  check(cpu, {"gemm_f32_neon_8x12", "gemm_bf16_neon_8x12", "gemm_u8s8_neondot_8x12c4",
              "gemm_s8s8_neondot_8x12c4"});
}

TEST_CASE("Graviton3 (Neoverse V1, SVE 256) gets SVE fp32, BFMMLA and I8MM", "[kernels][dispatch][arm64]") {
  const CpuFeatures cpu = features_from_arm64_hwcap(kG3Hw, kG3Hw2, 32);
  REQUIRE(cpu.sve_vector_bits == 256);
  check(cpu, {"gemm_f32_sve_8x3v_vl256", "gemm_bf16_neonbf16_8x12c4", "gemm_u8s8_neoni8mm_8x8c8",
              "gemm_s8s8_neoni8mm_8x8c8"});
}

TEST_CASE("Graviton4 (Neoverse V2, SVE2 128) gets 128-bit SVE fp32, BFMMLA and I8MM",
          "[kernels][dispatch][arm64]") {
  const CpuFeatures cpu = features_from_arm64_hwcap(kG4Hw, kG4Hw2, 16);
  REQUIRE(cpu.has(Feature::sve2));
  REQUIRE(cpu.sve_vector_bits == 128);
  check(cpu, {"gemm_f32_sve_8x3v_vl128", "gemm_bf16_neonbf16_8x12c4", "gemm_u8s8_neoni8mm_8x8c8",
              "gemm_s8s8_neoni8mm_8x8c8"});
}

TEST_CASE("ORTKIT_MAX_ISA caps arm64 kernels in table order", "[kernels][dispatch][arm64]") {
  const CpuFeatures cpu = features_from_arm64_hwcap(kG3Hw, kG3Hw2, 32);
  const DispatchDecision neon = choose_kernel(GemmKind::s8s8, cpu, "neon");
  const DispatchDecision dot = choose_kernel(GemmKind::u8s8, cpu, "neondot");
#if defined(__aarch64__)
  CHECK(std::string(neon.chosen->name) == "gemm_s8s8_neon_8x8");
  CHECK(std::string(dot.chosen->name) == "gemm_u8s8_neondot_8x12c4");
  // The SVE entries for other vector lengths are rejected with the reason.
  const DispatchDecision f = choose_kernel(GemmKind::f32, cpu, "");
  REQUIRE(f.rejected.size() == 1);
  CHECK(f.rejected[0].find("needs SVE 512-bit, CPU has 256") != std::string::npos);
#else
  CHECK(std::string(neon.chosen->isa) == "ref");
  CHECK(std::string(dot.chosen->isa) == "ref");
#endif
}
