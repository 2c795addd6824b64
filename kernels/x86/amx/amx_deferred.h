// An AMX block's stores done during the next block's tile products (MicroTile::defer). After its K loop
// a block stores its tiles into this thread's sum buffer, and its C rows (int32 -> fp32 scaling, bias,
// activation) are written one row per two tile products of the next block on the thread, or by
// GemmKernel::finish (amx_finish). Done right after the block instead, those vector passes left the tile
// unit idle: 1 thread, 32x768x768 int8 (raw harness, Sapphire Rapids class) ran at 3.1 TOP/s, against
// 4.0 with the rows interleaved and the streamed operand read with tileloaddt1 (amx_k_loop). Either change
// alone gained less (tileloaddt1 3.5, interleaving alone nothing): the interleaved rows' loads and
// stores only fit beside the tile loads once the streamed operand stops evicting the reused one.
// Internal linkage, as every header of an ISA folder (ARCHITECTURE.md, kernels).
#pragma once
#include "x86/amx/amx_store.h"
#include "x86/amx/amx_tiles.h"

namespace ortkit::kernels::x86 {

// One per thread (amx_config.cpp): the block whose rows wait, and a ring of two slots of sums and row
// plans, the waiting block's and the running block's.
// The running block takes the waiting place before it stores its tiles (PlanSide::drain, called by
// amx_block), not after: stores leave the core in order, so a store behind the tile stores (4 KiB)
// holds a later load of it until they have gone. Updated after them, the next block's first look at
// this state stalled it (15% of an int8 128x768x768 GEMM).
struct AmxDeferred {
  RowPlan plans[2];
  alignas(64) char sums[2][kAmxMR * kAmxNR * 4];
  int slot = 0;           // slot of the waiting block
  int next = 0, end = 0;  // its rows [next, end) still to store
  bool i32 = false;       // its sums are int32
  bool queued = false;    // the running block waits next (its plan is in the other slot)
  int queued_rows = 0;
  void* spare() { return sums[slot ^ 1]; }
  RowPlan& spare_plan() { return plans[slot ^ 1]; }
  // Stores the waiting rows and puts the running block in their place, if queued.
  template <bool I32>
  void drain() {
    plan_rows_store<I32>(plans[slot], sums[slot], next, end);
    next = end = 0;
    if (queued) {
      slot ^= 1;
      end = queued_rows;
      i32 = I32;
      queued = false;
    }
  }
};

// This thread's AmxDeferred (amx_config.cpp). A call, not the thread_local itself: GCC rematerializes a
// thread_local's address at each use, and in the K loop that was a __tls_get_addr call per side() call.
AmxDeferred& amx_deferred();

namespace {

// amx_block's side work: one row of the waiting block per call, with its plan in registers (a copy: C's
// stores could alias the shared one), the rest at drain.
template <bool I32>
struct PlanSide {
  AmxDeferred& d;
  const RowPlan p;
  const void* acc;
  int next, end;
  explicit PlanSide(AmxDeferred& dd)
      : d(dd), p(dd.plans[dd.slot]), acc(dd.sums[dd.slot]), next(dd.next), end(dd.end) {}
  void operator()() {
    if (next < end) plan_row<I32>(p, acc, next++);
  }
  void drain() {
    d.next = next;
    d.template drain<I32>();
  }
};

// Runs one block, block(acc, side) (an amx_block into acc with side work), and stores it: with t.defer
// and a plan for it, during the next block on the thread (or GemmKernel::finish); else right after, by
// the plan or by the general AVX-512 store `slow`. I32: int32 sums (int8 kernels), else fp32.
template <bool I32, class Block, class Slow>
inline void amx_run_block(AmxDeferred& d, const MicroTile& t, Block block, Slow slow) {
  void* acc = d.spare();
  RowPlan& plan = d.spare_plan();
  const bool fast = plan_rows(t, I32, plan);
  d.queued = fast && t.defer;
  d.queued_rows = t.m;
  PlanSide<I32> side(d);
  block(acc, side);
  if (fast && t.defer) return;
  if (fast)
    plan_rows_store<I32>(plan, acc, 0, t.m);
  else
    slow(acc);
}

}  // namespace
}  // namespace ortkit::kernels::x86
