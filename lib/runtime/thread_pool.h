// The intra-op thread pool: the calling thread plus N-1 workers, exactly N threads in all.
//
// parallel_for(n, task) gives thread t the contiguous home range [n*t/N, n*(t+1)/N) (the caller takes
// range 0), so with every thread running a given n maps to the same threads: stable timings and cache
// reuse. A thread that runs out of home work takes what is left of the other ranges, in batches of an
// eighth of a range. That is what keeps a busy core from setting the pace: when a worker's core is
// shared with another process (a noisy neighbour, more threads than cores) or the worker wakes late,
// the others finish its range instead of waiting for it (resnet50 on 2 threads with a busy loop on the
// second core: 213 ms with fixed ranges, against 92 ms on 1 thread).
// Workers spin briefly on an epoch counter after each job (back-to-back ops in a run find them awake)
// and then sleep on std::atomic::wait (a futex). Optional hwloc pinning puts thread t on core t.
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
#include "ortkit/kernels/work_claims.h"

namespace ortkit::runtime {

class ThreadPool {
 public:
  /// threads >= 1 (1 = no workers). pin: bind thread t to core t through hwloc (best effort).
  explicit ThreadPool(int threads, bool pin = false);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }
  /// task(ctx, i) once for every i in [0, n), on any of the threads; returns when all are done.
  void parallel_for(int64_t n, void (*task)(void* ctx, int64_t i), void* ctx);
  /// fn(ctx, t) once on each thread t at the same time, nothing taken over from another thread (peak
  /// probes that must load every core together).
  void run_each(void (*fn)(void* ctx, int t), void* ctx);
  /// This pool as the kernels' Threading handle.
  kernels::Threading threading();
  /// True when hwloc pinning succeeded for every thread.
  bool pinned() const { return pinned_; }

 private:
  void worker(int t);
  void run_claims(int t);
  void run_job(int64_t n, bool steal, void (*task)(void*, int64_t), void* ctx);

  int threads_;
  bool pinned_ = false;
  std::vector<std::thread> workers_;
  std::mutex submit_;  // one job at a time
  // Even: a job is open; odd: none. Workers join a job only while its epoch is still current.
  std::atomic<uint64_t> epoch_{1};
  std::atomic<int> active_{0};  // workers inside the open job (or about to check that it is open)
  std::atomic<bool> stop_{false};
  // The current job.
  kernels::WorkClaims claims_;  // thread t's home range is range t
  void (*task_)(void*, int64_t) = nullptr;
  void* ctx_ = nullptr;
  std::exception_ptr error_;
  std::mutex error_mu_;
  void* topology_ = nullptr;  // hwloc_topology_t when pinning
};

}  // namespace ortkit::runtime
