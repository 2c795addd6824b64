// The thread pool `ort-bench gemm` times kernels with: the engine's own pool (lib/runtime), so a GEMM
// benchmark sees the same partition (home ranges, taken over when a thread lags), spin-then-sleep wake-up and
// join cost as a model run. A mutex/condvar pool here used to charge every 2-thread call a futex wake-up the
// engine never pays.
#pragma once
#include <cstdint>

#include "ortkit/kernels/gemm.h"
#include "runtime/thread_pool.h"

namespace ortkit::bench {

class BenchPool {
 public:
  explicit BenchPool(int threads) : pool_(threads < 1 ? 1 : threads) {}

  int threads() const { return pool_.threads(); }
  /// Run task(ctx, i) for i in [0, n) on all threads; returns when every index is done.
  void run(int64_t n, void (*task)(void*, int64_t), void* ctx) { pool_.parallel_for(n, task, ctx); }
  /// Run fn(thread_index) once on each thread at the same time (peak probes, bandwidth).
  void run_each(void (*fn)(void*, int), void* ctx);
  /// The kernels' Threading view of this pool.
  kernels::Threading threading() { return pool_.threading(); }

 private:
  runtime::ThreadPool pool_;
};

}  // namespace ortkit::bench
