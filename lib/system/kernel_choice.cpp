// Which ortkit GEMM kernel each precision runs, and why better candidates were rejected.
#include "ortkit/cpuinfo.h"
#include "ortkit/kernels/q4gemm.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::cpuinfo {

std::vector<KernelChoice> kernel_choices(const kernels::CpuFeatures& features, bool this_process) {
  using kernels::GemmKind;
  // int8 has two entries: u8s8 (uint8 activations, what QuantizeLinear with a zero point yields) and s8s8.
  const std::pair<GemmKind, const char*> kinds[] = {
      {GemmKind::f32, "fp32"}, {GemmKind::bf16, "bf16"}, {GemmKind::u8s8, "int8"}, {GemmKind::s8s8, "int8"}};
  std::vector<KernelChoice> out;
  for (const auto& [kind, precision] : kinds) {
    // This process honours ORTKIT_MAX_ISA / ORTKIT_KERNEL exactly as the engine will; a recorded machine
    // gets the uncapped choice of this binary's table.
    const kernels::DispatchDecision d =
        this_process ? kernels::dispatch_decision(kind) : kernels::choose_kernel(kind, features, "");
    KernelChoice c;
    c.precision = precision;
    c.gemm = kernels::gemm_kind_name(kind);
    if (d.chosen) {
      c.chosen = d.chosen->name;
      c.isa = d.chosen->isa;
      c.chosen_features = d.chosen->features;
    }
    c.rejected = d.rejected;
    // bf16 fast math runs the f32 kernel where that is faster (measured here, so this process only).
    if (kind == GemmKind::bf16 && this_process && kernels::bf16_fast_math().kind == GemmKind::f32) {
      const kernels::GemmKernel* f = kernels::dispatched(GemmKind::f32);
      c.rejected.push_back(c.chosen + ": " + kernels::bf16_fast_math().reason);
      c.gemm = kernels::gemm_kind_name(GemmKind::f32);
      c.chosen = f->name;
      c.isa = f->isa;
      c.chosen_features = f->features;
    }
    out.push_back(std::move(c));
  }
  // MatMulNBits' 4-bit weights (decode steps) have their own fused kernel.
  const kernels::Q4Kernel& q4 = this_process ? kernels::q4_kernel() : kernels::choose_q4_kernel(features, "");
  out.push_back(KernelChoice{"int4 weights", "q4", q4.name, q4.isa, 0, {}});
  return out;
}

}  // namespace ortkit::cpuinfo
