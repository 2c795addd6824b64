// The loop every arm64 peak probe runs (arm64/peak_arm64.h), instantiated in each ISA folder with its own
// -march flags: 24 independent accumulator chains, enough to cover a 4-cycle latency on 4 pipes (Neoverse
// V1/V2) with registers left for the operands. The chains are 24 named variables, not an array: GCC 12
// kept an array of them in memory and stored two chains back after every pair of steps.
#pragma once
#include <cstdint>

// clang-format off
#define ORTKIT_PEAK_24(X) \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
  X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
// clang-format on

namespace ortkit::kernels::arm64 {

/// `iters` rounds of c = step(c) on 24 chains started at `init`; returns the chains summed with `add`.
template <class V, class Step, class Add>
__attribute__((always_inline)) inline V chains24(uint64_t iters, V init, Step step, Add add) {
// Each chain is made opaque at its start, or GCC merges 24 identical chains into one.
#define ORTKIT_PEAK_DECL(j) \
  V c##j = init;            \
  asm("" : "+w"(c##j));
#define ORTKIT_PEAK_STEP(j) c##j = step(c##j);
#define ORTKIT_PEAK_SUM(j) s = j ? add(s, c##j) : c##j;
  ORTKIT_PEAK_24(ORTKIT_PEAK_DECL)
  for (uint64_t i = 0; i < iters; ++i) {
    ORTKIT_PEAK_24(ORTKIT_PEAK_STEP)
  }
  V s = init;
  ORTKIT_PEAK_24(ORTKIT_PEAK_SUM)
  return s;
#undef ORTKIT_PEAK_DECL
#undef ORTKIT_PEAK_STEP
#undef ORTKIT_PEAK_SUM
}

}  // namespace ortkit::kernels::arm64
