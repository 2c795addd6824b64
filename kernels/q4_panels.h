// The thread split shared by the 4-bit weight GEMM drivers (q4gemm.cpp, q4gemm_s8.cpp): contiguous ranges
// of 32-column panels, one per thread, so each thread streams its own share of the weights once.
#pragma once
#include <algorithm>
#include <cstdint>

#include "ortkit/kernels/gemm.h"

namespace ortkit::kernels {

/// Calls body(p0, p1) over [0, panels) split into one range per thread of th (one call without a pool).
template <class Body>
void for_panel_ranges(int64_t panels, const Threading& th, Body&& body) {
  const int64_t tasks = std::min<int64_t>(th.parallel_for ? std::max(th.threads, 1) : 1, panels);
  if (tasks <= 1) return body(int64_t{0}, panels);
  struct Ctx {
    Body* body;
    int64_t panels, tasks;
  } ctx{&body, panels, tasks};
  th.parallel_for(
      th.pool, tasks,
      [](void* p, int64_t i) {
        const Ctx& c = *static_cast<const Ctx*>(p);
        (*c.body)(i * c.panels / c.tasks, (i + 1) * c.panels / c.tasks);
      },
      &ctx);
}

}  // namespace ortkit::kernels
