#include "runtime/arena.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <numeric>

namespace ortkit::runtime {

namespace {
constexpr size_t kAlign = 64;
size_t round_up(size_t v) {
  return (v + kAlign - 1) / kAlign * kAlign;
}
}  // namespace

MemoryPlan plan_memory(const std::vector<BufferRequest>& req) {
  MemoryPlan plan;
  plan.offsets.assign(req.size(), 0);
  std::vector<size_t> order(req.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return req[a].bytes > req[b].bytes; });
  struct Placed {
    size_t off, end;
    int first, last;
  };
  std::vector<Placed> placed;
  for (size_t idx : order) {
    const BufferRequest& r = req[idx];
    const size_t size = round_up(std::max<size_t>(r.bytes, 1));
    // Live conflicts sorted by offset; take the first gap that fits.
    std::vector<std::pair<size_t, size_t>> busy;
    for (const Placed& p : placed)
      if (!(p.last < r.first || r.last < p.first)) busy.emplace_back(p.off, p.end);
    std::sort(busy.begin(), busy.end());
    size_t off = 0;
    for (const auto& [b, e] : busy) {
      if (off + size <= b) break;
      off = std::max(off, e);
    }
    plan.offsets[idx] = off;
    placed.push_back({off, off + size, r.first, r.last});
    plan.total = std::max(plan.total, off + size);
  }
  return plan;
}

void Arena::reserve(size_t bytes) {
  if (bytes <= capacity_ && block_) return;
  const size_t n = round_up(std::max<size_t>(bytes, 1));
  void* p = std::aligned_alloc(kAlign, n);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, n);
  block_.reset(p, std::free);
  capacity_ = n;
  ++allocations_;
}

}  // namespace ortkit::runtime
