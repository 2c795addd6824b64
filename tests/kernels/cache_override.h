// Pretend cache sizes for one scope (set_cache_sizes), so small shapes take the blocking of large ones:
// an L2 of `l2` bytes; the detected sizes come back however the test ends.
#pragma once
#include <cstdint>

#include "ortkit/kernels/cache_info.h"

namespace ortkit::test {

struct CacheOverride {
  explicit CacheOverride(int64_t l2) {
    kernels::CacheSizes c;
    c.l2 = l2;
    kernels::set_cache_sizes(c);
  }
  ~CacheOverride() { kernels::set_cache_sizes(kernels::CacheSizes{}); }
  CacheOverride(const CacheOverride&) = delete;
  CacheOverride& operator=(const CacheOverride&) = delete;
};

}  // namespace ortkit::test
