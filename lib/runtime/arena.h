// Memory planning for activations: every intermediate tensor of a plan gets an offset in one arena.
//
// Each buffer has a size and a lifetime [first step, last step] (the step that writes it to the last one
// that reads it). Buffers are placed greedily, largest first, at the lowest 64-byte-aligned offset that
// does not overlap any already-placed buffer whose lifetime intersects (the classic "greedy by size"
// planner of TFLite/ORT). The arena is allocated once per session at the largest plan's size, so a
// steady-state run never allocates.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace ortkit::runtime {

struct BufferRequest {
  size_t bytes = 0;
  int first = 0;  ///< step that produces it
  int last = 0;   ///< last step that reads it (inclusive)
};

struct MemoryPlan {
  std::vector<size_t> offsets;  ///< one per request
  size_t total = 0;             ///< arena bytes needed
};

MemoryPlan plan_memory(const std::vector<BufferRequest>& requests);

/// A 64-byte aligned block that only grows (reserve keeps the old block if big enough).
class Arena {
 public:
  void reserve(size_t bytes);
  char* data() { return static_cast<char*>(block_.get()); }
  size_t capacity() const { return capacity_; }
  int allocations() const { return allocations_; }  ///< how many times reserve() really allocated

 private:
  std::shared_ptr<void> block_;
  size_t capacity_ = 0;
  int allocations_ = 0;
};

}  // namespace ortkit::runtime
