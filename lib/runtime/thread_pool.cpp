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
  epoch_.fetch_add(2);  // stays odd: no job, but every waiting worker sees a change
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

// Thread t's share of the open job: its home range first, then what is left of the others (unless run_each).
void ThreadPool::run_claims(int t) {
  const bool was_in_task = t_in_pool_task;
  t_in_pool_task = true;
  int cursor = 0, range = 0;
  int64_t b = 0, e = 0;
  while (claims_.claim(t, cursor, range, b, e)) {
    try {
      for (int64_t i = b; i < e; ++i) task_(ctx_, i);
    } catch (...) {
      std::lock_guard<std::mutex> lk(error_mu_);
      if (!error_) error_ = std::current_exception();
    }
  }
  t_in_pool_task = was_in_task;
}

void ThreadPool::worker(int t) {
  if (topology_) {
    if (!pin_to_core(static_cast<hwloc_topology_t>(topology_), t)) pinned_ = false;
  }
  uint64_t seen = 1;
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
    if (e & 1) continue;  // a job that closed before this worker saw it open
    // Announce, then check the job is still open: the caller closes the epoch before it waits for
    // active_ to drain, so either it sees this worker or this worker sees the job closed (both
    // seq_cst), and a job's fields are never read after the caller has moved on.
    active_.fetch_add(1);
    if (epoch_.load() == e) run_claims(t);
    if (active_.fetch_sub(1) == 1) active_.notify_one();
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
  run_job(n, true, task, ctx);
}

void ThreadPool::run_each(void (*fn)(void*, int), void* ctx) {
  struct Each {
    void (*fn)(void*, int);
    void* ctx;
  } each{fn, ctx};
  auto one = [](void* c, int64_t i) {
    auto& e = *static_cast<Each*>(c);
    e.fn(e.ctx, static_cast<int>(i));
  };
  std::unique_lock<std::mutex> lk(submit_, std::defer_lock);
  if (threads_ == 1 || t_in_pool_task || !lk.try_lock()) {
    for (int t = 0; t < threads_; ++t) one(&each, t);
    return;
  }
  run_job(threads_, false, one, &each);
}

// With submit_ held: publish the job, run thread 0's share, close the job and wait for the workers in it.
void ThreadPool::run_job(int64_t n, bool steal, void (*task)(void*, int64_t), void* ctx) {
  claims_.split(n, threads_, 8, steal);
  task_ = task;
  ctx_ = ctx;
  error_ = nullptr;
  const uint64_t open = epoch_.load(std::memory_order_relaxed) + 1;
  epoch_.store(open, std::memory_order_release);
  epoch_.notify_all();
  run_claims(0);
  if (!steal) {
    // Every home range must be run by its own thread: wait until each has been claimed.
    for (int spin = 0; !claims_.all_claimed(); ++spin)
      if (spin >= kSpinIterations) std::this_thread::yield();
  }
  // Every index has been claimed; close the job and wait out the workers still running a claim.
  epoch_.store(open + 1);
  int a = active_.load();
  for (int spin = 0; a != 0 && spin < kSpinIterations * 10; ++spin) {
    cpu_relax();
    a = active_.load();
  }
  while (a != 0) {
    active_.wait(a);
    a = active_.load();
  }
  if (error_) std::rethrow_exception(error_);
}

}  // namespace ortkit::runtime
