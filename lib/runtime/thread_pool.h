// The intra-op thread pool: the calling thread plus N-1 workers, exactly N threads in all.
//
// parallel_for(n, task) partitions [0, n) statically into N contiguous blocks (block t to thread t, the
// caller takes block 0), so a given n always maps to the same threads: stable timings and cache reuse.
// Workers spin briefly on an epoch counter after each job (back-to-back ops in a run find them awake) and
// then sleep on std::atomic::wait (a futex). Optional hwloc pinning puts thread t on core t.
// Nested calls (a task that calls parallel_for) and calls from another thread while a job runs execute
// on the calling thread, never deadlock. An exception thrown by a task is re-thrown in the caller.
#pragma once
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "ortkit/kernels/gemm.h"

namespace ortkit::runtime {

class ThreadPool {
 public:
  /// threads >= 1 (1 = no workers). pin: bind thread t to core t through hwloc (best effort).
  explicit ThreadPool(int threads, bool pin = false);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }
  void parallel_for(int64_t n, void (*task)(void* ctx, int64_t i), void* ctx);
  /// This pool as the kernels' Threading handle.
  kernels::Threading threading();
  /// True when hwloc pinning succeeded for every thread.
  bool pinned() const { return pinned_; }

 private:
  void worker(int t);
  void run_block(int t);

  int threads_;
  bool pinned_ = false;
  std::vector<std::thread> workers_;
  std::mutex submit_;  // one job at a time
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  // The current job.
  int64_t n_ = 0;
  void (*task_)(void*, int64_t) = nullptr;
  void* ctx_ = nullptr;
  std::exception_ptr error_;
  std::mutex error_mu_;
  void* topology_ = nullptr;  // hwloc_topology_t when pinning
};

}  // namespace ortkit::runtime
