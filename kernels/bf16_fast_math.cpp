// Whether bf16 fast math is faster than fp32 on this core (see Bf16FastMath in registry.h).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ortkit/kernels/peak.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::kernels {

namespace {

Bf16FastMath decide() {
  Bf16FastMath d;
  const GemmKernel* b = dispatched(GemmKind::bf16);
  const GemmKernel* f = dispatched(GemmKind::f32);
  const char* pin = std::getenv("ORTKIT_KERNEL");
  if (!b || !f || (pin && std::string(pin).find(b->name) != std::string::npos)) return d;
  if (std::string(b->isa) == "ref" && std::string(f->isa) != "ref") {
    // No bf16 hardware kernel here (x86 without AVX512_BF16: Ice Lake, Cascade Lake, Zen 2/3, or a cap):
    // the reference bf16 kernel is scalar C++, many times slower than the SIMD f32 kernel.
    d.kind = GemmKind::f32;
    d.reason = std::string("no bf16 kernel for this CPU runs faster than the scalar reference ") + b->name +
               ", so bf16 fast math runs the f32 kernel " + f->name;
    return d;
  }
#if !defined(ORTKIT_ARCH_x86_64)
  // arm64 keeps bf16: BFMMLA does 4x the flops of an FMLA per instruction on every core that has it
  // (Neoverse V1, V2, N2), and under qemu, where the arm64 tests run, no timing means anything.
  return d;
#endif
  const PeakProbe pb = peak_probe_for(*b), pf = peak_probe_for(*f);
  if (!pb.run || !pf.run) return d;  // no probe: keep bf16
  // 3 ms per probe: the ratio on the CPUs measured is 2.0 (Zen 4) or 0.5 (Emerald Rapids), far from the
  // 0.8 cut, so a short and noisy measurement cannot flip it.
  return bf16_fast_math_rule(*b, *f, measure_peak(pb, 0.003), measure_peak(pf, 0.003));
}

}  // namespace

Bf16FastMath bf16_fast_math_rule(const GemmKernel& b, const GemmKernel& f, double bf16_ops, double f32_ops) {
  Bf16FastMath d;
  if (bf16_ops > 0 && f32_ops > 0 && bf16_ops < 0.8 * f32_ops) {
    const PeakProbe pb = peak_probe_for(b), pf = peak_probe_for(f);
    char buf[320];
    std::snprintf(
        buf, sizeof buf,
        "%s measured %.0f GFLOP/s against %s's %.0f on this core: the f32 kernel %s is faster "
        "and rounds nothing to bf16, so bf16 fast math runs it (pin %s with ORTKIT_KERNEL to time it anyway)",
        pb.instruction ? pb.instruction : b.name, bf16_ops / 1e9, pf.instruction ? pf.instruction : f.name,
        f32_ops / 1e9, f.name, b.name);
    d.kind = GemmKind::f32;
    d.reason = buf;
  }
  return d;
}

const Bf16FastMath& bf16_fast_math() {
  static const Bf16FastMath d = decide();
  return d;
}

}  // namespace ortkit::kernels
