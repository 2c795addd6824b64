#include "bench/thread_pool.h"

namespace ortkit::bench {

void BenchPool::run_each(void (*fn)(void*, int), void* ctx) {
  pool_.run_each(fn, ctx);
}

}  // namespace ortkit::bench
