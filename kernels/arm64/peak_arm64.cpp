// arm64 peak probes (peak.h): the instruction each kernel is built on, by ISA and kind. The probes live in
// the ISA folders (arm64/peak_arm64.h); this file only picks one, so it needs no -march flags itself.
#include "arm64/peak_arm64.h"

#include <cstring>

#include "ortkit/kernels/peak.h"

namespace ortkit::kernels {

PeakProbe peak_probe_arm64(const GemmKernel& k) {
  const CpuFeatures& f = host_features();
  if (!f.has_all(k.features) || (k.sve_bits != 0 && k.sve_bits != f.sve_vector_bits)) return {};
  const bool int8 = k.kind == GemmKind::u8s8 || k.kind == GemmKind::s8s8;
  auto is = [&](const char* isa) { return std::strcmp(k.isa, isa) == 0; };
  if (is("sve") && k.kind == GemmKind::f32) return {"fmla z.s (SVE)", arm64::peak_fmla_sve};
  // The NEON bf16 kernel widens bf16 to fp32 and runs FMLA, as the fp32 kernel does.
  if (is("neon") && (k.kind == GemmKind::f32 || k.kind == GemmKind::bf16))
    return {"fmla v.4s", arm64::peak_fmla_neon};
  if (is("neonbf16")) return {"bfmmla v.4s", arm64::peak_bfmmla_neonbf16};
  // u8 x s8 runs USMMLA, which issues as SMMLA does.
  if (is("neoni8mm") && int8) return {"smmla v.4s", arm64::peak_smmla_neoni8mm};
  if (is("neondot") && int8) return {"sdot v.4s", arm64::peak_sdot_neondot};
  if (is("neon") && int8) return {"smlal v.4s", arm64::peak_smlal_neon};
  return {};
}

}  // namespace ortkit::kernels
