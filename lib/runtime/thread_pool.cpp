#include "runtime/thread_pool.h"

#include <hwloc.h>

#include "ortkit/error.h"

namespace ortkit::runtime {
namespace {

thread_local bool t_in_pool_task = false;
constexpr int kSpinIterations = 20000;  // ~tens of microseconds: covers the gap between two ops

inline void cpu_relax() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

void pool_parallel_for(void* pool, int64_t n, void (*task)(void*, int64_t), void* ctx) {
  static_cast<ThreadPool*>(pool)->parallel_for(n, task, ctx);
}

bool pin_to_core(hwloc_topology_t topo, int t) {
  const int cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  if (cores <= 0) return false;
  hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, t % cores);
  if (!core || !core->cpuset) return false;
  hwloc_cpuset_t set = hwloc_bitmap_dup(core->cpuset);
  hwloc_bitmap_singlify(set);  // one PU of the core: SMT siblings stay free
  const bool ok = hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_THREAD) == 0;
  hwloc_bitmap_free(set);
  return ok;
}

}  // namespace

ThreadPool::ThreadPool(int threads, bool pin) : threads_(threads) {
  if (threads < 1) throw Error("thread count must be >= 1, got " + std::to_string(threads), "thread pool");
  if (pin) {
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) == 0 && hwloc_topology_load(topo) == 0) {
      topology_ = topo;
      pinned_ = pin_to_core(topo, 0);
    }
  }
  workers_.reserve(static_cast<size_t>(threads - 1));
  for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { worker(t); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  epoch_.fetch_add(1);
  epoch_.notify_all();
  for (auto& w : workers_) w.join();
  if (topology_) hwloc_topology_destroy(static_cast<hwloc_topology_t>(topology_));
}

kernels::Threading ThreadPool::threading() {
  kernels::Threading th;
  th.parallel_for = threads_ > 1 ? &pool_parallel_for : nullptr;
  th.pool = this;
  th.threads = threads_;
  return th;
}

void ThreadPool::run_block(int t) {
  const int64_t begin = n_ * t / threads_, end = n_ * (t + 1) / threads_;
  t_in_pool_task = true;
  try {
    for (int64_t i = begin; i < end; ++i) task_(ctx_, i);
  } catch (...) {
    std::lock_guard<std::mutex> lk(error_mu_);
    if (!error_) error_ = std::current_exception();
  }
  t_in_pool_task = false;
}

void ThreadPool::worker(int t) {
  if (topology_) {
    if (!pin_to_core(static_cast<hwloc_topology_t>(topology_), t)) pinned_ = false;
  }
  uint64_t seen = 0;
  for (;;) {
    uint64_t e = epoch_.load(std::memory_order_acquire);
    for (int spin = 0; e == seen && spin < kSpinIterations; ++spin) {
      cpu_relax();
      e = epoch_.load(std::memory_order_acquire);
    }
    while (e == seen) {
      epoch_.wait(seen, std::memory_order_acquire);
      e = epoch_.load(std::memory_order_acquire);
    }
    seen = e;
    if (stop_.load()) return;
    run_block(t);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
  }
}

void ThreadPool::parallel_for(int64_t n, void (*task)(void*, int64_t), void* ctx) {
  if (n <= 0) return;
  std::unique_lock<std::mutex> lk(submit_, std::defer_lock);
  // Single-threaded, nested, or concurrent use: run here.
  if (threads_ == 1 || n == 1 || t_in_pool_task || !lk.try_lock()) {
    for (int64_t i = 0; i < n; ++i) task(ctx, i);
    return;
  }
  n_ = n;
  task_ = task;
  ctx_ = ctx;
  error_ = nullptr;
  pending_.store(threads_ - 1, std::memory_order_release);
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  epoch_.notify_all();
  run_block(0);
  // Wait for the workers: spin first (blocks are balanced), then sleep.
  int p = pending_.load(std::memory_order_acquire);
  for (int spin = 0; p != 0 && spin < kSpinIterations * 10; ++spin) {
    cpu_relax();
    p = pending_.load(std::memory_order_acquire);
  }
  while (p != 0) {
    pending_.wait(p, std::memory_order_acquire);
    p = pending_.load(std::memory_order_acquire);
  }
  if (error_) std::rethrow_exception(error_);
}

}  // namespace ortkit::runtime
