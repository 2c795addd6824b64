// Work claiming for the parallel tasks of one call: every task (thread) owns a home range of work items
// and runs it front to back; a task whose home range is empty takes batches from the others' ranges.
//
// Why: a fixed split waits for its slowest thread. When one core is shared with another process (a
// noisy neighbour, more threads than cores) or a worker wakes late, the others finish its work instead
// of waiting for it. With every thread running at the same speed nothing is taken over, so each range
// keeps the locality of a static split. One claim is one atomic add on the range's own cache line.
//
// Not a pool: the caller runs one task per home range over its parallel-for and each task loops on
// claim(). Ranges live inline up to kInline, so a call with few threads allocates nothing.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>

namespace ortkit::kernels {

class WorkClaims {
 public:
  /// `ranges` home ranges, all empty. steal false: a task only ever claims from its own range. Not
  /// thread-safe: before the tasks start.
  /// owner_keeps: once a range's own task has claimed from it, other tasks take from it only while more
  /// than half of it is left (its task is far behind); a range whose task has not started is taken
  /// whole. For work whose data stays in each thread's own caches from call to call, where a batch
  /// taken from a task only a little behind runs slower on the other core and moves its lines there
  /// (gemm_driver.cpp, RectGeometry).
  void reset(int ranges, bool steal = true, bool owner_keeps = false) {
    n_ = std::max(1, ranges);
    steal_ = steal;
    keep_ = owner_keeps;
    if (n_ > kInline && n_ > heap_cap_) {
      heap_ = std::make_unique<Range[]>(static_cast<size_t>(n_));
      heap_cap_ = n_;
    }
    for (int r = 0; r < n_; ++r) set_range(r, 0, 0, 1);
  }
  /// Range r holds items [begin, end), claimed `batch` at a time.
  void set_range(int r, int64_t begin, int64_t end, int64_t batch) {
    Range& x = at(r);
    x.next.store(begin, std::memory_order_relaxed);
    x.started.store(false, std::memory_order_relaxed);
    x.begin = begin;
    x.end = end;
    x.batch = std::max<int64_t>(1, batch);
  }
  /// [0, items) in `ranges` contiguous home ranges, each claimed in about `batches` batches.
  void split(int64_t items, int ranges, int64_t batches = 8, bool steal = true) {
    reset(ranges, steal);
    for (int r = 0; r < n_; ++r) {
      const int64_t b = items * r / n_, e = items * (r + 1) / n_;
      set_range(r, b, e, (e - b) / std::max<int64_t>(1, batches));
    }
  }

  /// The next batch for the task whose home range is `home`: [begin, end) of range `range`. `cursor`
  /// starts at 0 and is kept by the task between calls. False once every range is empty.
  bool claim(int home, int& cursor, int& range, int64_t& begin, int64_t& end) {
    for (const int visit = steal_ ? n_ : 1; cursor < visit; ++cursor) {
      range = (home + cursor) % n_;
      Range& x = at(range);
      const int64_t next = x.next.load(std::memory_order_relaxed);
      if (next >= x.end) continue;
      if (keep_) {
        if (cursor == 0) {
          if (!x.started.load(std::memory_order_relaxed)) x.started.store(true, std::memory_order_relaxed);
        } else if ((x.end - next) * 2 <= x.end - x.begin && x.started.load(std::memory_order_relaxed)) {
          continue;
        }
      }
      begin = x.next.fetch_add(x.batch, std::memory_order_relaxed);
      if (begin >= x.end) continue;
      end = std::min(x.end, begin + x.batch);
      return true;
    }
    return false;
  }
  /// True when no range has an item left to claim (claimed items may still be running).
  bool all_claimed() const {
    for (int r = 0; r < n_; ++r)
      if (at(r).next.load(std::memory_order_relaxed) < at(r).end) return false;
    return true;
  }
  /// Runs f(i) for every item this task claims.
  template <class F>
  void run(int home, F&& f) {
    int cursor = 0, range = 0;
    int64_t b = 0, e = 0;
    while (claim(home, cursor, range, b, e))
      for (int64_t i = b; i < e; ++i) f(i);
  }

 private:
  struct alignas(64) Range {
    std::atomic<int64_t> next{0};
    std::atomic<bool> started{false};  // its own task has claimed from it (owner_keeps)
    int64_t begin = 0, end = 0;
    int64_t batch = 1;
  };
  static constexpr int kInline = 8;
  Range& at(int r) { return heap_cap_ == 0 ? inline_[r] : heap_[static_cast<size_t>(r)]; }
  const Range& at(int r) const { return heap_cap_ == 0 ? inline_[r] : heap_[static_cast<size_t>(r)]; }

  int n_ = 1;
  bool steal_ = true;
  bool keep_ = false;
  Range inline_[kInline];
  std::unique_ptr<Range[]> heap_;
  int heap_cap_ = 0;
};

}  // namespace ortkit::kernels
