// The kernel table per kind (best first) and the one-time choice for this process.
#include <cstdlib>
#include <iterator>
#include <mutex>
#include <sstream>

#include "ortkit/kernels/registry.h"

namespace ortkit::kernels {

extern const GemmKernel kRefF32, kRefBf16, kRefU8S8, kRefS8S8;

const char* gemm_kind_name(GemmKind k) {
  switch (k) {
    case GemmKind::f32: return "f32";
    case GemmKind::bf16: return "bf16";
    case GemmKind::u8s8: return "u8s8";
    case GemmKind::s8s8: return "s8s8";
  }
  return "?";
}

namespace {
// ISA order for ORTKIT_MAX_ISA: a cap admits its own ISA and every one before it in its list.
const char* const kIsaOrderX86[] = {"ref", "avx2", "avxvnni", "avx512", "avx512vnni", "avx512bf16", "amx"};
const char* const kIsaOrderArm[] = {"ref", "neon", "neondot", "neoni8mm", "neonbf16", "sve"};

int isa_rank(const std::string& isa) {
  for (int i = 0; i < static_cast<int>(std::size(kIsaOrderX86)); ++i)
    if (isa == kIsaOrderX86[i]) return i;
  for (int i = 0; i < static_cast<int>(std::size(kIsaOrderArm)); ++i)
    if (isa == kIsaOrderArm[i]) return i;
  return -1;
}

std::vector<const GemmKernel*> build_table(GemmKind kind) {
  std::vector<const GemmKernel*> v;
#if defined(ORTKIT_ARCH_x86_64)
  register_x86_kernels(v, kind);
#elif defined(ORTKIT_ARCH_arm64)
  register_arm64_kernels(v, kind);
#endif
  switch (kind) {
    case GemmKind::f32: v.push_back(&kRefF32); break;
    case GemmKind::bf16: v.push_back(&kRefBf16); break;
    case GemmKind::u8s8: v.push_back(&kRefU8S8); break;
    case GemmKind::s8s8: v.push_back(&kRefS8S8); break;
  }
  return v;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}
}  // namespace

const std::vector<const GemmKernel*>& kernels_for(GemmKind kind) {
  static const std::vector<const GemmKernel*> tables[4] = {
      build_table(GemmKind::f32), build_table(GemmKind::bf16), build_table(GemmKind::u8s8),
      build_table(GemmKind::s8s8)};
  return tables[static_cast<int>(kind)];
}

const GemmKernel* find_kernel(const std::string& name) {
  for (GemmKind k : {GemmKind::f32, GemmKind::bf16, GemmKind::u8s8, GemmKind::s8s8})
    for (const GemmKernel* g : kernels_for(k))
      if (name == g->name) return g;
  return nullptr;
}

DispatchDecision choose_kernel(GemmKind kind, const CpuFeatures& cpu, const std::string& max_isa,
                               const std::string& pin) {
  DispatchDecision d;
  const int cap = max_isa.empty() ? 1 << 20 : isa_rank(max_isa);
  // A pin list ("a,b") names kernels of several kinds; only the one of this kind applies.
  std::string pinned;
  std::stringstream ss(pin);
  for (std::string item; std::getline(ss, item, ',');) {
    const GemmKernel* g = find_kernel(item);
    if (g && g->kind == kind) pinned = item;
  }
  for (const GemmKernel* g : kernels_for(kind)) {
    std::string why;
    if (!pinned.empty() && pinned != g->name) {
      why = "not the pinned kernel " + pinned;
    } else if (!cpu.has_all(g->features)) {
      why = "needs";
      for (uint32_t i = 0; i < static_cast<uint32_t>(Feature::count_); ++i)
        if ((g->features >> i & 1) && !cpu.has(static_cast<Feature>(i)))
          why += std::string(" ") + feature_name(static_cast<Feature>(i));
    } else if (isa_rank(g->isa) > cap) {
      why = std::string("above ORTKIT_MAX_ISA=") + max_isa;
    } else if (g->sve_bits != 0 && g->sve_bits != cpu.sve_vector_bits) {
      why =
          "needs SVE " + std::to_string(g->sve_bits) + "-bit, CPU has " + std::to_string(cpu.sve_vector_bits);
    } else {
      d.chosen = g;
      return d;
    }
    d.rejected.push_back(std::string(g->name) + ": " + why);
  }
  // The reference kernel always runs; a pin or cap that excludes everything falls back to it.
  d.chosen = kernels_for(kind).back();
  return d;
}

const DispatchDecision& dispatch_decision(GemmKind kind) {
  static DispatchDecision decisions[4];
  static std::once_flag once;
  std::call_once(once, [] {
    const std::string cap = env("ORTKIT_MAX_ISA"), pin = env("ORTKIT_KERNEL");
    for (GemmKind k : {GemmKind::f32, GemmKind::bf16, GemmKind::u8s8, GemmKind::s8s8})
      decisions[static_cast<int>(k)] = choose_kernel(k, host_features(), cap, pin);
  });
  return decisions[static_cast<int>(kind)];
}

const GemmKernel* dispatched(GemmKind kind) {
  return dispatch_decision(kind).chosen;
}

}  // namespace ortkit::kernels
