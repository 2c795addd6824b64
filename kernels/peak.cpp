// Portable half of the peak probes: choose the architecture's probe and time it.
#include "ortkit/kernels/peak.h"

#include <algorithm>
#include <chrono>

namespace ortkit::kernels {

PeakProbe peak_probe_for(const GemmKernel& k) {
#if defined(ORTKIT_ARCH_x86_64)
  return peak_probe_x86(k);
#elif defined(ORTKIT_ARCH_arm64)
  return peak_probe_arm64(k);
#else
  (void)k;
  return {};
#endif
}

namespace {
uint64_t stream_read_portable(const void* p, size_t bytes) {
  const uint64_t* w = static_cast<const uint64_t*>(p);
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i + 4 <= bytes / 8; i += 4) {
    s0 += w[i];
    s1 += w[i + 1];
    s2 += w[i + 2];
    s3 += w[i + 3];
  }
  return s0 + s1 + s2 + s3;
}
}  // namespace

StreamReadFn stream_read_fn() {
#if defined(ORTKIT_ARCH_x86_64)
  if (StreamReadFn f = stream_read_fn_x86()) return f;
#endif
  return stream_read_portable;
}

double measure_peak(const PeakProbe& probe, double seconds, ClockFn now) {
  if (!probe.run) return 0.0;
  if (!now)
    now = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    };
  float sink = 0.f;
  probe.run(1000, &sink);  // warm up: wake the vector unit to full width and clock
  // Grow the iteration count until one run lasts a third of `seconds`; the best of 3 such runs is the peak.
  auto timed = [&](uint64_t n, double& dt) {
    const double t0 = now();
    const uint64_t ops = probe.run(n, &sink);
    dt = now() - t0;
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
