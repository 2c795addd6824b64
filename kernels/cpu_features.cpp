#include "ortkit/kernels/cpu_features.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#include <sys/prctl.h>
#endif

namespace ortkit::kernels {

namespace {
const char* const kNames[] = {"sse4.2",   "avx",      "avx2",     "fma",        "f16c",       "avx512f",
                              "avx512bw", "avx512dq", "avx512vl", "avx512vnni", "avx512bf16", "avx512fp16",
                              "avxvnni",  "amx-tile", "amx-int8", "amx-bf16",   "asimd",      "asimddp",
                              "i8mm",     "bf16",     "sve",      "sve2",       "sme"};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(Feature::count_));
}  // namespace

const char* feature_name(Feature f) {
  return kNames[static_cast<uint32_t>(f)];
}

std::vector<std::string> CpuFeatures::names() const {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < static_cast<uint32_t>(Feature::count_); ++i)
    if (mask & (FeatureMask{1} << i)) out.emplace_back(kNames[i]);
  return out;
}

CpuFeatures features_from_x86(const X86CpuidRegs& r) {
  CpuFeatures f;
  auto set = [&](Feature x, bool on) {
    if (on) f.mask |= bit(x);
  };
  auto b = [](uint32_t reg, int n) { return ((reg >> n) & 1u) != 0; };
  const bool osxsave = b(r.l1_ecx, 27);
  // The OS must save the register state: XMM|YMM (bits 1,2), opmask|ZMM_Hi256|Hi16_ZMM (5,6,7),
  // XTILECFG|XTILEDATA (17,18).
  const bool ymm_os = osxsave && (r.xcr0 & 0x6) == 0x6;
  const bool zmm_os = ymm_os && (r.xcr0 & 0xe0) == 0xe0;
  const bool amx_os = osxsave && (r.xcr0 & 0x60000) == 0x60000;
  set(Feature::sse42, b(r.l1_ecx, 20));
  set(Feature::avx, ymm_os && b(r.l1_ecx, 28));
  set(Feature::fma, ymm_os && b(r.l1_ecx, 12));
  set(Feature::f16c, ymm_os && b(r.l1_ecx, 29));
  if (r.max_leaf >= 7) {
    set(Feature::avx2, ymm_os && b(r.l7_ebx, 5));
    set(Feature::avx512f, zmm_os && b(r.l7_ebx, 16));
    set(Feature::avx512dq, zmm_os && b(r.l7_ebx, 17));
    set(Feature::avx512bw, zmm_os && b(r.l7_ebx, 30));
    set(Feature::avx512vl, zmm_os && b(r.l7_ebx, 31));
    set(Feature::avx512vnni, zmm_os && b(r.l7_ecx, 11));
    set(Feature::avx512fp16, zmm_os && b(r.l7_edx, 23));
    set(Feature::amx_bf16, amx_os && b(r.l7_edx, 22));
    set(Feature::amx_tile, amx_os && b(r.l7_edx, 24));
    set(Feature::amx_int8, amx_os && b(r.l7_edx, 25));
    set(Feature::avxvnni, ymm_os && b(r.l7s1_eax, 4));
    set(Feature::avx512bf16, zmm_os && b(r.l7s1_eax, 5));
  }
  return f;
}

CpuFeatures features_from_arm64_hwcap(uint64_t hwcap, uint64_t hwcap2, int sve_vl_bytes) {
  // Bit positions from the Linux uapi asm/hwcap.h (stable ABI).
  CpuFeatures f;
  auto set = [&](Feature x, bool on) {
    if (on) f.mask |= bit(x);
  };
  set(Feature::asimd, (hwcap >> 1) & 1);     // HWCAP_ASIMD
  set(Feature::asimddp, (hwcap >> 20) & 1);  // HWCAP_ASIMDDP
  set(Feature::sve, (hwcap >> 22) & 1);      // HWCAP_SVE
  set(Feature::sve2, (hwcap2 >> 1) & 1);     // HWCAP2_SVE2
  set(Feature::i8mm, (hwcap2 >> 13) & 1);    // HWCAP2_I8MM
  set(Feature::bf16, (hwcap2 >> 14) & 1);    // HWCAP2_BF16
  set(Feature::sme, (hwcap2 >> 23) & 1);     // HWCAP2_SME
  if (f.has(Feature::sve)) f.sve_vector_bits = sve_vl_bytes * 8;
  return f;
}

#if defined(__x86_64__) || defined(_M_X64)
static bool amx_permitted() {
#if defined(__linux__)
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}
#endif

static CpuFeatures detect() {
#if defined(__x86_64__) || defined(_M_X64)
  X86CpuidRegs r;
  unsigned a, b, c, d;
  __cpuid(0, a, b, c, d);
  r.max_leaf = a;
  __cpuid(1, a, b, c, d);
  r.l1_ecx = c;
  r.l1_edx = d;
  if (r.max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    r.l7_ebx = b;
    r.l7_ecx = c;
    r.l7_edx = d;
    __cpuid_count(7, 1, a, b, c, d);
    r.l7s1_eax = a;
  }
  if ((r.l1_ecx >> 27) & 1) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    r.xcr0 = (uint64_t{hi} << 32) | lo;
  }
  // Linux (5.16+) enables AMX's 8 KiB of tile data per process only on request: a tile instruction
  // before it faults (SIGILL). Ask once here, where every AMX kernel's dispatch starts; where the kernel
  // says no (older kernels, a seccomp filter), AMX counts as absent, as if XCR0 did not enable it.
  constexpr uint64_t kTileState = 0x60000;  // XTILECFG | XTILEDATA
  if ((r.xcr0 & kTileState) == kTileState && ((r.l7_edx >> 24) & 1) && !amx_permitted())
    r.xcr0 &= ~kTileState;
  return features_from_x86(r);
#elif defined(__aarch64__) && defined(__linux__)
  const uint64_t hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
  int vl = 0;
#ifndef PR_SVE_GET_VL
#define PR_SVE_GET_VL 51
#endif
  if ((hw >> 22) & 1) {
    const int r = prctl(PR_SVE_GET_VL);
    if (r > 0) vl = r & 0xffff;
  }
  return features_from_arm64_hwcap(hw, hw2, vl);
#else
  return {};
#endif
}

const CpuFeatures& host_features() {
  static const CpuFeatures f = detect();
  return f;
}

}  // namespace ortkit::kernels
