// A tiny std::thread parallel-for for benchmarks (the engine's real pool lives in lib/runtime).
// Workers persist across calls so a microsecond-sized GEMM does not pay thread creation; the calling
// thread takes part. It plugs into the kernels' Threading (ParallelFn) interface.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "ortkit/kernels/gemm.h"

namespace ortkit::bench {

class BenchPool {
 public:
  explicit BenchPool(int threads);
  ~BenchPool();
  BenchPool(const BenchPool&) = delete;
  BenchPool& operator=(const BenchPool&) = delete;

  int threads() const { return threads_; }
  /// Run task(ctx, i) for i in [0, n) on all threads; returns when every index is done.
  void run(int64_t n, void (*task)(void*, int64_t), void* ctx);
  /// Run fn(thread_index) once on each thread at the same time (peak probes).
  void run_each(void (*fn)(void*, int), void* ctx);
  /// The kernels' Threading view of this pool.
  kernels::Threading threading();

 private:
  void worker(int index);
  void drain();

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  uint64_t generation_ = 0;
  bool stop_ = false;
  int pending_ = 0;  // workers still inside the current job
  // The current job: either a parallel-for over n or a per-thread call.
  int64_t n_ = 0;
  void (*task_)(void*, int64_t) = nullptr;
  void (*each_)(void*, int) = nullptr;
  void* ctx_ = nullptr;
  std::atomic<int64_t> next_{0};
};

}  // namespace ortkit::bench
