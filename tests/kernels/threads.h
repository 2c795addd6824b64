// A parallel-for on plain std::threads (three workers, strided tasks), so kernel tests run the driver's
// threaded split without the library's pool.
#pragma once
#include <cstdint>
#include <thread>
#include <vector>

namespace ortkit::test {

inline void thread_parallel_for(void*, int64_t n, void (*task)(void*, int64_t), void* ctx) {
  std::vector<std::thread> ts;
  for (int w = 0; w < 3; ++w)
    ts.emplace_back([=] {
      for (int64_t i = w; i < n; i += 3) task(ctx, i);
    });
  for (auto& t : ts) t.join();
}

}  // namespace ortkit::test
