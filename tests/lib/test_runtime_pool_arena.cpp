// Thread pool (exact coverage, run_each, a lagging thread taken over, exceptions, nesting), run_tasks' slots,
// arena planner (no overlap of live buffers, reuse of dead ones), and no heap allocation in a steady-state
// run, whichever thread takes which task.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <new>
#include <set>
#include <thread>

#include "engine_model_builder.h"
#include "ops/op.h"
#include "ortkit/kernels/gemm.h"
#include "runtime/arena.h"
#include "runtime/session_impl.h"
#include "runtime/thread_pool.h"

using namespace ortkit;
using namespace ortkit::runtime;

// GCC cannot see that the replaced operator new below is malloc-based.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// Counting global allocator: active only while g_count_allocs is set (this file owns operator new for
// the whole test_lib binary; no other test file may replace it).
namespace {
std::atomic<bool> g_count_allocs{false};
std::atomic<long> g_allocs{0};
}  // namespace
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCountingNew = false;  // ASan owns operator new; the no-allocation test is skipped there
#else
constexpr bool kCountingNew = true;
void* operator new(size_t n) {
  if (g_count_allocs.load(std::memory_order_relaxed)) g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}
void* operator new[](size_t n) {
  return operator new(n);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p, size_t) noexcept {
  std::free(p);
}
#endif

TEST_CASE("thread pool runs every index exactly once over at most N threads", "[runtime]") {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 3, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::mutex mu;
      std::set<std::thread::id> ids;
      struct Ctx {
        std::vector<std::atomic<int>>* hits;
        std::mutex* mu;
        std::set<std::thread::id>* ids;
      } ctx{&hits, &mu, &ids};
      pool.parallel_for(
          n,
          [](void* c, int64_t i) {
            auto* x = static_cast<Ctx*>(c);
            (*x->hits)[i].fetch_add(1);
            std::lock_guard<std::mutex> lk(*x->mu);
            x->ids->insert(std::this_thread::get_id());
          },
          &ctx);
      for (auto& h : hits) REQUIRE(h.load() == 1);
      CHECK(ids.size() <= static_cast<size_t>(threads));
    }
  }
}

TEST_CASE("thread pool: run_each runs once on every thread at the same time", "[runtime]") {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    for (int round = 0; round < 20; ++round) {
      struct Ctx {
        std::mutex mu;
        std::set<std::thread::id> ids;
        std::vector<int> hits;
        std::atomic<int> arrived{0};
        int threads;
        bool all_met = true;
      } ctx;
      ctx.hits.assign(static_cast<size_t>(threads), 0);
      ctx.threads = threads;
      pool.run_each(
          [](void* c, int t) {
            auto& x = *static_cast<Ctx*>(c);
            {
              std::lock_guard<std::mutex> lk(x.mu);
              x.ids.insert(std::this_thread::get_id());
              ++x.hits[static_cast<size_t>(t)];
            }
            // Everyone waits for everyone: only possible when each index has a thread of its own.
            x.arrived.fetch_add(1);
            const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (x.arrived.load() < x.threads && std::chrono::steady_clock::now() < until)
              std::this_thread::yield();
            if (x.arrived.load() < x.threads) x.all_met = false;
          },
          &ctx);
      REQUIRE(ctx.all_met);
      CHECK(ctx.ids.size() == static_cast<size_t>(threads));
      for (int h : ctx.hits) CHECK(h == 1);
    }
  }
}

// A worker stuck in one index must not hold up the rest of its range: the other threads take it over.
// Index `stuck` (the first one a worker runs) waits until every other index is done; with a fixed split
// its range-mates could never run and the wait would time out.
TEST_CASE("thread pool: a lagging thread's indices are taken over", "[runtime]") {
  ThreadPool pool(2);
  for (int round = 0; round < 20; ++round) {
    constexpr int64_t n = 16;  // 8 per home range, claimed one at a time
    struct Ctx {
      std::thread::id caller = std::this_thread::get_id();
      std::atomic<int64_t> stuck{-1};
      std::atomic<int> done{0};
      std::atomic<int> hits[n];
      bool timed_out = false;
    } ctx;
    for (auto& h : ctx.hits) h.store(0);
    pool.parallel_for(
        n,
        [](void* c, int64_t i) {
          auto& x = *static_cast<Ctx*>(c);
          x.hits[i].fetch_add(1);
          int64_t none = -1;
          if (std::this_thread::get_id() != x.caller && x.stuck.compare_exchange_strong(none, i)) {
            const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (x.done.load() < n - 1 && std::chrono::steady_clock::now() < until)
              std::this_thread::yield();
            if (x.done.load() < n - 1) x.timed_out = true;
            return;
          }
          x.done.fetch_add(1);
        },
        &ctx);
    REQUIRE_FALSE(ctx.timed_out);
    for (auto& h : ctx.hits) REQUIRE(h.load() == 1);
  }
}

TEST_CASE("thread pool: exceptions reach the caller, nested calls run inline", "[runtime]") {
  ThreadPool pool(3);
  CHECK_THROWS_WITH(pool.parallel_for(
                        9,
                        [](void*, int64_t i) {
                          if (i == 7) throw Error("boom at 7");
                        },
                        nullptr),
                    Catch::Contains("boom at 7"));
  std::atomic<int> total{0};
  struct Ctx {
    ThreadPool* pool;
    std::atomic<int>* total;
  } ctx{&pool, &total};
  pool.parallel_for(
      4,
      [](void* c, int64_t) {
        auto* x = static_cast<Ctx*>(c);
        x->pool->parallel_for(
            5, [](void* t, int64_t) { static_cast<std::atomic<int>*>(t)->fetch_add(1); }, x->total);
      },
      &ctx);
  CHECK(total.load() == 20);
  kernels::Threading th = pool.threading();
  CHECK(th.threads == 3);
  CHECK(th.parallel_for != nullptr);
  CHECK_THROWS_AS(ThreadPool(0), Error);
}

TEST_CASE("run_tasks: every slot runs a task in every call, even when one thread runs all the slots",
          "[runtime]") {
  // The worst schedule for a worker that woke late: one thread runs slot 0, then slot 1, ... in turn, so
  // slot 0 could take every task over before slot 1 starts. A slot's scratch grows on its first task; a
  // slot left idle in the warm-up runs would allocate in the first run that gives it work.
  const kernels::ParallelFn in_order = [](void*, int64_t n, void (*task)(void*, int64_t), void* ctx) {
    for (int64_t i = 0; i < n; ++i) task(ctx, i);
  };
  kernels::Threading th;
  th.parallel_for = in_order;
  for (const auto& [slots, tasks] : std::vector<std::pair<int64_t, int64_t>>{{2, 2}, {2, 5}, {3, 7}, {4, 4}, {4, 100}}) {
    th.threads = static_cast<int>(slots);
    std::vector<int> runs(static_cast<size_t>(tasks), 0), per_slot(static_cast<size_t>(slots), 0);
    ops::run_tasks(th, slots, tasks, [&](int64_t t, int64_t s, const kernels::Threading& inner) {
      CHECK(inner.parallel_for == nullptr);
      ++runs[static_cast<size_t>(t)];
      ++per_slot[static_cast<size_t>(s)];
    });
    INFO(slots << " slots, " << tasks << " tasks");
    for (int r : runs) CHECK(r == 1);
    for (int n : per_slot) CHECK(n >= 1);
  }
}

TEST_CASE("GEMM scratch: a thread brought up to size by reserve_thread_scratch does not allocate",
          "[runtime]") {
  // Thread 0 of a pool runs a GEMM that needs the driver's per-thread scratch (an A whose 4 KiB row
  // stride is copied to a padded one, or packed); the other thread then runs the same GEMM for the first
  // time. Without the reserve it would allocate there, in what a session sees as its steady state.
  const int64_t m = 32, k = 1024, n = 64;
  std::vector<float> a(static_cast<size_t>(m * k), 0.5f), b(static_cast<size_t>(k * n), 0.25f);
  std::vector<float> c0(static_cast<size_t>(m * n)), c1(c0.size());
  kernels::PackedB pb;
  kernels::pack_b(pb, kernels::GemmKind::f32, kernels::BDesc{b.data(), k, n, n});
  struct Ctx {
    const std::vector<float>* a;
    const kernels::PackedB* pb;
    std::vector<float>* c[2];
    int only;
  } ctx{&a, &pb, {&c0, &c1}, 0};
  auto gemm_on = [](void* p, int t) {
    auto& x = *static_cast<Ctx*>(p);
    if (t == x.only) kernels::gemm_f32(m, x.a->data(), k, *x.pb, x.c[t]->data(), n);
  };
  ThreadPool pool(2);
  pool.run_each(gemm_on, &ctx);  // thread 0 grows its scratch
  pool.run_each([](void*, int) { kernels::reserve_thread_scratch(); }, nullptr);
  const uint64_t before = kernels::scratch_allocations();
  ctx.only = 1;
  pool.run_each(gemm_on, &ctx);  // thread 1's first GEMM
  CHECK(kernels::scratch_allocations() == before);
  CHECK(c1 == c0);
  CHECK(c1[0] == Approx(0.5f * 0.25f * k));
}

TEST_CASE("memory planner: live buffers never overlap, dead ones are reused", "[runtime]") {
  // A chain a -> b -> c -> d: each buffer lives for two steps, so a and c can share memory.
  std::vector<BufferRequest> req = {{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}, {1000, 3, 4}, {64, 0, 4}};
  MemoryPlan p = plan_memory(req);
  for (size_t i = 0; i < req.size(); ++i)
    for (size_t j = i + 1; j < req.size(); ++j) {
      const bool live_together = !(req[i].last < req[j].first || req[j].last < req[i].first);
      const bool overlap =
          p.offsets[i] < p.offsets[j] + req[j].bytes && p.offsets[j] < p.offsets[i] + req[i].bytes;
      if (live_together) CHECK_FALSE(overlap);
    }
  for (size_t off : p.offsets) CHECK(off % 64 == 0);
  CHECK(p.total <= 2 * 1024 + 64);  // two 1000-byte slots (rounded) plus the small one
  Arena a;
  a.reserve(p.total);
  a.reserve(p.total / 2);
  CHECK(a.allocations() == 1);
  CHECK(reinterpret_cast<uintptr_t>(a.data()) % 64 == 0);
}

TEST_CASE("a steady-state run does not allocate", "[runtime]") {
  if (!kCountingNew) {
    WARN("sanitizer build: allocation counting is off");
    return;
  }
  using ortkit::testing::make_random;
  ortkit::testing::ModelBuilder mb;
  mb.input("x", {"n", int64_t{16}});
  mb.input("q", {int64_t{2}, int64_t{8}, int64_t{16}});
  mb.init("W", make_random({16, 16}, 1));
  mb.init("b", make_random({16}, 2));
  mb.node("MatMul", {"x", "W"}, {"h"});
  mb.node("Add", {"h", "b"}, {"hb"});
  mb.node("Relu", {"hb"}, {"r"});
  mb.node("Shape", {"r"}, {"s"});
  mb.node("Identity", {"r"}, {"y"});
  mb.node("MatMul", {"q", "q_t"}, {"att"});
  mb.node("Identity", {"q"}, {"q_id"});
  mb.input("q_t", {int64_t{2}, int64_t{16}, int64_t{8}});
  mb.output("y").output("s").output("att").output("q_id");
  for (int threads : {1, 2}) {
    SessionOptions o;
    o.threads = threads;
    auto s = Session::from_bytes(mb.bytes(), o);
    auto* impl = dynamic_cast<SessionImpl*>(s.get());
    REQUIRE(impl);
    std::vector<NamedTensor> ins = {{"x", make_random({4, 16}, 3)},
                                    {"q", make_random({2, 8, 16}, 4)},
                                    {"q_t", make_random({2, 16, 8}, 5)}};
    std::vector<Tensor> outs;
    impl->run_into(ins, outs);  // compiles the plan, packs the dynamic B buffers
    impl->run_into(ins, outs);
    g_allocs = 0;
    g_count_allocs = true;
    for (int i = 0; i < 5; ++i) impl->run_into(ins, outs);
    g_count_allocs = false;
    CHECK(g_allocs.load() == 0);
    CHECK(outs[1].data_as<int64_t>()[0] == 4);
    CHECK(impl->arena().allocations() == 1);
  }
}

TEST_CASE("a steady-state run of ORT's transformer contrib ops does not allocate", "[runtime][contrib]") {
  if (!kCountingNew) {
    WARN("sanitizer build: allocation counting is off");
    return;
  }
  using ortkit::testing::make_random;
  // EmbedLayerNormalization -> Attention (mask from its mask_index) -> SkipLayerNormalization -> MatMul
  // -> BiasGelu, and a com.microsoft.FusedMatMul with a transposed, non-constant B.
  ortkit::testing::ModelBuilder mb(14);
  mb.import("com.microsoft", 1);
  mb.input("ids", {int64_t{2}, int64_t{8}}, 6);
  mb.input("mask", {int64_t{2}, int64_t{8}}, 6);
  mb.input("k", {int64_t{2}, int64_t{8}, int64_t{16}});
  mb.init("we", make_random({50, 16}, 1));
  mb.init("pe", make_random({8, 16}, 2));
  mb.init("g", make_random({16}, 3));
  mb.init("b", make_random({16}, 4));
  mb.init("qkv_w", make_random({16, 48}, 5));
  mb.init("qkv_b", make_random({48}, 6));
  mb.init("ff_w", make_random({16, 32}, 7));
  mb.init("ff_b", make_random({32}, 8));
  mb.node("EmbedLayerNormalization", {"ids", "", "we", "pe", "", "g", "b", "mask"}, {"emb", "mask_index"}, "",
          "com.microsoft");
  auto& att = mb.node("Attention", {"emb", "qkv_w", "qkv_b", "mask_index"}, {"att"}, "", "com.microsoft");
  ortkit::testing::ModelBuilder::attr_int(att, "num_heads", 2);
  mb.node("SkipLayerNormalization", {"att", "emb", "g", "b"}, {"ln"}, "", "com.microsoft");
  mb.node("MatMul", {"ln", "ff_w"}, {"ff"});
  mb.node("BiasGelu", {"ff", "ff_b"}, {"y"}, "", "com.microsoft");
  auto& fm = mb.node("FusedMatMul", {"emb", "k"}, {"scores"}, "", "com.microsoft");
  ortkit::testing::ModelBuilder::attr_int(fm, "transB", 1);
  ortkit::testing::ModelBuilder::attr_float(fm, "alpha", 0.25f);
  mb.output("y").output("scores");
  ortkit::Tensor ids(ortkit::DType::i32, {2, 8}), mask(ortkit::DType::i32, {2, 8});
  for (int i = 0; i < 16; ++i) {
    ids.data_as<int32_t>()[i] = (i * 7) % 50;
    mask.data_as<int32_t>()[i] = i < 13 ? 1 : 0;
  }
  for (int threads : {1, 2}) {
    SessionOptions o;
    o.threads = threads;
    auto s = Session::from_bytes(mb.bytes(), o);
    auto* impl = dynamic_cast<SessionImpl*>(s.get());
    REQUIRE(impl);
    std::vector<NamedTensor> ins = {{"ids", ids}, {"mask", mask}, {"k", make_random({2, 8, 16}, 9)}};
    std::vector<Tensor> outs;
    impl->run_into(ins, outs);
    impl->run_into(ins, outs);
    g_allocs = 0;
    g_count_allocs = true;
    for (int i = 0; i < 5; ++i) impl->run_into(ins, outs);
    g_count_allocs = false;
    CHECK(g_allocs.load() == 0);
    CHECK(outs[1].shape() == ortkit::Shape{2, 8, 8});
  }
}
