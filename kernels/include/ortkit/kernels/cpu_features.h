// CPU features that decide which GEMM kernel runs.
//
// x86: cpuid + xgetbv; a feature counts only when the OS also enables its register state (XCR0), so an
// AVX-512 CPU under an OS that does not save zmm state reports no AVX-512.
// arm64: getauxval(AT_HWCAP / AT_HWCAP2), and the SVE vector length from prctl(PR_SVE_GET_VL).
// The parsers take their raw inputs as values so that tests can feed recorded data from other machines.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ortkit::kernels {

/// One bit per feature. Names (feature_name) are the lower-case words used in reports and ORTKIT_MAX_ISA.
enum class Feature : uint32_t {
  // x86
  sse42,
  avx,
  avx2,
  fma,
  f16c,
  avx512f,
  avx512bw,
  avx512dq,
  avx512vl,
  avx512vnni,
  avx512bf16,
  avx512fp16,
  avxvnni,
  amx_tile,
  amx_int8,
  amx_bf16,
  // arm64
  asimd,
  asimddp,
  i8mm,
  bf16,
  sve,
  sve2,
  sme,
  count_
};

using FeatureMask = uint64_t;
constexpr FeatureMask bit(Feature f) {
  return FeatureMask{1} << static_cast<uint32_t>(f);
}

/// Lower-case name of a feature ("avx512vnni", "i8mm", ...).
const char* feature_name(Feature f);

struct CpuFeatures {
  FeatureMask mask = 0;
  int sve_vector_bits = 0;  ///< 0 when SVE is absent
  bool has(Feature f) const { return (mask & bit(f)) != 0; }
  bool has_all(FeatureMask m) const { return (mask & m) == m; }
  /// Names of the features present, in enum order.
  std::vector<std::string> names() const;
};

/// Raw x86 inputs: the cpuid leaves the detector reads and XCR0.
struct X86CpuidRegs {
  uint32_t max_leaf = 0;
  uint32_t l1_ecx = 0, l1_edx = 0;              // leaf 1
  uint32_t l7_ebx = 0, l7_ecx = 0, l7_edx = 0;  // leaf 7 subleaf 0
  uint32_t l7s1_eax = 0;                        // leaf 7 subleaf 1
  uint64_t xcr0 = 0;
};
CpuFeatures features_from_x86(const X86CpuidRegs& regs);

/// Raw arm64 inputs: getauxval(AT_HWCAP), getauxval(AT_HWCAP2) and the SVE vector length in bytes.
CpuFeatures features_from_arm64_hwcap(uint64_t hwcap, uint64_t hwcap2, int sve_vl_bytes);

/// The features of the CPU this process runs on (detected once, then cached).
const CpuFeatures& host_features();

}  // namespace ortkit::kernels
