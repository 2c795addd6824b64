#include "bench/thread_pool.h"

namespace ortkit::bench {

BenchPool::BenchPool(int threads) : threads_(threads < 1 ? 1 : threads) {
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

BenchPool::~BenchPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void BenchPool::drain() {
  for (int64_t i = next_.fetch_add(1); i < n_; i = next_.fetch_add(1)) task_(ctx_, i);
}

void BenchPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    if (each_)
      each_(ctx_, index);
    else
      drain();
    std::lock_guard<std::mutex> lk(mu_);
    if (--pending_ == 0) done_cv_.notify_one();
  }
}

void BenchPool::run(int64_t n, void (*task)(void*, int64_t), void* ctx) {
  if (threads_ == 1 || n <= 1) {
    for (int64_t i = 0; i < n; ++i) task(ctx, i);
    return;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    n_ = n;
    task_ = task;
    each_ = nullptr;
    ctx_ = ctx;
    next_.store(0);
    pending_ = threads_ - 1;
    ++generation_;
  }
  cv_.notify_all();
  drain();
  std::unique_lock<std::mutex> lk(mu_);
  done_cv_.wait(lk, [&] { return pending_ == 0; });
}

void BenchPool::run_each(void (*fn)(void*, int), void* ctx) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    each_ = fn;
    ctx_ = ctx;
    pending_ = threads_ - 1;
    ++generation_;
  }
  cv_.notify_all();
  fn(ctx, 0);
  std::unique_lock<std::mutex> lk(mu_);
  done_cv_.wait(lk, [&] { return pending_ == 0; });
  each_ = nullptr;
}

kernels::Threading BenchPool::threading() {
  kernels::Threading th;
  th.threads = threads_;
  th.pool = this;
  th.parallel_for = [](void* pool, int64_t n, void (*task)(void*, int64_t), void* ctx) {
    static_cast<BenchPool*>(pool)->run(n, task, ctx);
  };
  return th;
}

}  // namespace ortkit::bench
