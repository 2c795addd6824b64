#include <catch2/catch.hpp>

#include "ortkit/kernels/cpu_features.h"

using namespace ortkit::kernels;

TEST_CASE("x86 features need both cpuid bits and OS-enabled state", "[kernels][cpu]") {
  X86CpuidRegs r;
  r.max_leaf = 0x10;
  r.l1_ecx = (1u << 27) | (1u << 28) | (1u << 12) | (1u << 20);  // osxsave avx fma sse4.2
  r.l7_ebx = (1u << 5) | (1u << 16) | (1u << 30) | (1u << 31) | (1u << 17);
  r.l7_ecx = 1u << 11;
  r.l7s1_eax = (1u << 4) | (1u << 5);
  r.xcr0 = 0xe7;
  CpuFeatures f = features_from_x86(r);
  CHECK(f.has(Feature::avx2));
  CHECK(f.has(Feature::avx512f));
  CHECK(f.has(Feature::avx512vnni));
  CHECK(f.has(Feature::avx512bf16));
  CHECK(f.has(Feature::avxvnni));
  r.xcr0 = 0x7;  // OS saves ymm but not zmm: no AVX-512 at all
  f = features_from_x86(r);
  CHECK(f.has(Feature::avx2));
  CHECK_FALSE(f.has(Feature::avx512f));
  CHECK_FALSE(f.has(Feature::avx512vnni));
  r.l1_ecx &= ~(1u << 27);  // no OSXSAVE: no AVX
  CHECK_FALSE(features_from_x86(r).has(Feature::avx));
}

TEST_CASE("arm64 features from HWCAP/HWCAP2", "[kernels][cpu]") {
  // Graviton3: asimd, asimddp, sve; hwcap2 i8mm, bf16, svebf16...
  const uint64_t hw = (1u << 1) | (1u << 20) | (1u << 22);
  const uint64_t hw2 = (1u << 13) | (1u << 14);
  CpuFeatures f = features_from_arm64_hwcap(hw, hw2, 32);
  CHECK(f.has(Feature::asimd));
  CHECK(f.has(Feature::asimddp));
  CHECK(f.has(Feature::sve));
  CHECK(f.has(Feature::i8mm));
  CHECK(f.has(Feature::bf16));
  CHECK_FALSE(f.has(Feature::sve2));
  CHECK(f.sve_vector_bits == 256);
  CHECK(features_from_arm64_hwcap(1u << 1, 0, 0).sve_vector_bits == 0);
}

TEST_CASE("host detection runs and names features", "[kernels][cpu]") {
  const CpuFeatures& f = host_features();
  for (const auto& n : f.names()) CHECK(!n.empty());
#if defined(__x86_64__)
  CHECK(f.has(Feature::sse42));
#elif defined(__aarch64__)
  CHECK(f.has(Feature::asimd));
#endif
}
