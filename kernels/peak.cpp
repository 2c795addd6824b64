// Portable half of the peak probes: choose the architecture's probe and time it.
#include "ortkit/kernels/peak.h"

#include <algorithm>
#include <chrono>

namespace ortkit::kernels {

PeakProbe peak_probe_for(const GemmKernel& k) {
#if defined(ORTKIT_ARCH_x86_64)
  return peak_probe_x86(k);
#else
  (void)k;
  return {};
#endif
}

double measure_peak(const PeakProbe& probe, double seconds) {
  if (!probe.run) return 0.0;
  using clock = std::chrono::steady_clock;
  float sink = 0.f;
  probe.run(1000, &sink);  // warm up: wake the vector unit to full width and clock
  // Grow the iteration count until one run lasts a third of `seconds`; the best of 3 such runs is the peak.
  auto timed = [&](uint64_t n, double& dt) {
    const auto t0 = clock::now();
    const uint64_t ops = probe.run(n, &sink);
    dt = std::chrono::duration<double>(clock::now() - t0).count();
    return static_cast<double>(ops);
  };
  uint64_t iters = 10000;
  double dt = 0.0, ops = timed(iters, dt);
  while (dt < seconds / 3 && iters < (uint64_t{1} << 40)) {
    iters *= 2;
    ops = timed(iters, dt);
  }
  double best = dt > 0 ? ops / dt : 0.0;
  for (int i = 0; i < 2; ++i) {
    ops = timed(iters, dt);
    if (dt > 0) best = std::max(best, ops / dt);
  }
  return best;
}

}  // namespace ortkit::kernels
