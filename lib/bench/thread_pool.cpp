#include "bench/thread_pool.h"

namespace ortkit::bench {

void BenchPool::run_each(void (*fn)(void*, int), void* ctx) {
  // The engine pool splits [0, threads) into one index per thread, so index i runs on thread i.
  struct Each {
    void (*fn)(void*, int);
    void* ctx;
  } each{fn, ctx};
  pool_.parallel_for(
      pool_.threads(),
      [](void* c, int64_t i) {
        auto& e = *static_cast<Each*>(c);
        e.fn(e.ctx, static_cast<int>(i));
      },
      &each);
}

}  // namespace ortkit::bench
