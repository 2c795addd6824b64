// arm64 peak probes (peak.h): each is defined in the ISA folder whose -march flags its instruction needs,
// and only runs where the registry says the kernel's features are present.
#pragma once
#include <cstdint>

namespace ortkit::kernels::arm64 {

uint64_t peak_fmla_neon(uint64_t iters, float* sink);        // fmla v.4s: 8 flops
uint64_t peak_smlal_neon(uint64_t iters, float* sink);       // smlal v.4s (from s16): 8 ops
uint64_t peak_sdot_neondot(uint64_t iters, float* sink);     // sdot v.4s: 32 ops
uint64_t peak_smmla_neoni8mm(uint64_t iters, float* sink);   // smmla v.4s: 64 ops
uint64_t peak_bfmmla_neonbf16(uint64_t iters, float* sink);  // bfmmla v.4s: 32 flops
uint64_t peak_fmla_sve(uint64_t iters, float* sink);         // fmla z.s: 2 x VL/32 flops

}  // namespace ortkit::kernels::arm64
