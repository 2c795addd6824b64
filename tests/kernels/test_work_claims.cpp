// WorkClaims: every item claimed exactly once, home ranges first, and the owner_keeps rule.
#include <catch2/catch.hpp>
#include <vector>

#include "ortkit/kernels/work_claims.h"

using ortkit::kernels::WorkClaims;

namespace {

// Claims everything task `home` can take, one claim call at a time: the items, in claim order.
std::vector<int64_t> drain(WorkClaims& w, int home, int max_claims = 1 << 20) {
  std::vector<int64_t> got;
  int cursor = 0, range = 0;
  int64_t b = 0, e = 0;
  for (int i = 0; i < max_claims && w.claim(home, cursor, range, b, e); ++i)
    for (int64_t x = b; x < e; ++x) got.push_back(range * 100 + x);
  return got;
}

}  // namespace

TEST_CASE("a task takes every range of tasks that have not started", "[kernels][claims]") {
  for (bool keep : {false, true}) {
    WorkClaims w;
    w.reset(3, true, keep);
    for (int r = 0; r < 3; ++r) w.set_range(r, 0, 4, 1);
    const std::vector<int64_t> got = drain(w, 1);
    const std::vector<int64_t> want = {100, 101, 102, 103, 200, 201, 202, 203, 0, 1, 2, 3};
    CHECK(got == want);
    CHECK(w.all_claimed());
  }
}

TEST_CASE("owner_keeps: a started task's range is taken only while more than half is left",
          "[kernels][claims]") {
  WorkClaims w;
  w.reset(2, true, true);
  w.set_range(0, 0, 4, 1);
  w.set_range(1, 0, 4, 1);
  // Task 1 has claimed 1 of its 4: 3 left (more than half), so task 0 may take one more after its own.
  CHECK(drain(w, 1, 1) == std::vector<int64_t>{100});
  CHECK(drain(w, 0) == std::vector<int64_t>{0, 1, 2, 3, 101});
  // Now 2 of 4 are left: they stay with task 1.
  CHECK_FALSE(w.all_claimed());
  CHECK(drain(w, 1) == std::vector<int64_t>{102, 103});
  CHECK(w.all_claimed());

  // Without owner_keeps the same order hands task 0 everything task 1 has not claimed.
  w.reset(2, true, false);
  w.set_range(0, 0, 4, 1);
  w.set_range(1, 0, 4, 1);
  CHECK(drain(w, 1, 1) == std::vector<int64_t>{100});
  CHECK(drain(w, 0) == std::vector<int64_t>{0, 1, 2, 3, 101, 102, 103});
}

TEST_CASE("steal false: a task claims only its own range", "[kernels][claims]") {
  WorkClaims w;
  w.reset(2, false);
  w.set_range(0, 0, 3, 2);
  w.set_range(1, 0, 3, 2);
  CHECK(drain(w, 0) == std::vector<int64_t>{0, 1, 2});
  CHECK_FALSE(w.all_claimed());
}
