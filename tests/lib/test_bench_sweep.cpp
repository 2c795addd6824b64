// The sweep engine against a fake session: point order, iteration control, int8 handling, failures,
// shape checks, input generation and cancellation.
#include <atomic>
#include <catch2/catch.hpp>

#include "ortkit/bench/inputs.h"
#include "ortkit/bench/sweep.h"
#include "test_bench_fake_session.h"

using namespace ortkit;
using namespace ortkit::bench;
using namespace ortkit::bench::testing;

TEST_CASE("bench sweep: every point of the cross product, in order, measured", "[bench][sweep]") {
  BenchConfig c = quick_config({"bert"});
  c.batch = {1, 2};
  c.seq = {8, 16};
  c.threads = {1, 2};
  SweepHooks h;
  h.open = fake_factory({{"bert", bert_spec()}});
  std::vector<std::string> progress;
  h.progress = [&](size_t done, size_t total, const std::string& next) {
    CHECK(total == 8);
    CHECK(done <= total);
    progress.push_back(next);
  };
  SweepResult r = run_sweep(c, h);
  REQUIRE(r.points.size() == 8);
  CHECK(r.complete);
  CHECK(progress.size() == 9);
  CHECK(progress.back().empty());
  CHECK(progress[0] == "bert fp32 b1 s8 t1");
  // model -> precision -> threads -> batch -> seq
  CHECK(r.points[1].seq == 16);
  CHECK(r.points[2].batch == 2);
  CHECK(r.points[4].threads == 2);
  for (const auto& p : r.points) {
    CHECK(p.status == "ok");
    CHECK(p.stats.n == 5);
    CHECK(p.latencies_ms.size() == 5);
    CHECK(p.stats.min >= 0.05);  // the fake spins 0.05 ms
    CHECK(p.qps == Approx(p.batch * 1000.0 / p.stats.mean));
    CHECK(p.throughput > 0);
    CHECK(p.kernels == std::vector<std::string>{"gemm_f32_fake_8x8"});
    CHECK(p.load_ms >= 0);
    CHECK(p.optimize_ms == 0.5);
    CHECK(p.num_inputs == 3);
    CHECK(p.inputs ==
          "input_ids:int64[batch,sequence], attention_mask:int64[batch,sequence], "
          "token_type_ids:int64[batch,sequence]");
  }
}

TEST_CASE("bench sweep: a model named twice is swept once", "[bench][sweep]") {
  BenchConfig c = quick_config({"img", "img"});
  SweepHooks h;
  h.open = fake_factory({{"img", image_spec()}});
  CHECK(run_sweep(c, h).points.size() == 1);
}

TEST_CASE("bench sweep: latency grows with the work, and the statistics see it", "[bench][sweep]") {
  FakeSpec spec = bert_spec();
  spec.latency_ms = 0.1;
  spec.latency_per_item_ms = 0.01;  // seq 8: 0.18 ms, seq 64: 0.74 ms
  BenchConfig c = quick_config({"bert"});
  c.seq = {8, 64};
  c.iterations = 20;
  SweepHooks h;
  h.open = fake_factory({{"bert", spec}});
  SweepResult r = run_sweep(c, h);
  REQUIRE(r.points.size() == 2);
  // The spin is a lower bound; preemption can only add, so compare minima (robust on a loaded machine).
  CHECK(r.points[0].stats.min >= 0.18);
  CHECK(r.points[1].stats.min >= 0.74);
  CHECK(r.points[1].stats.p50 >= r.points[1].stats.min);
  CHECK(r.points[0].stats.min < r.points[1].stats.min);
}

TEST_CASE("bench sweep: duration mode honours min-iterations", "[bench][sweep]") {
  FakeSpec spec = image_spec();
  spec.latency_ms = 2;
  BenchConfig c = quick_config({"img"});
  c.iterations = 0;
  c.duration_s = 0.001;  // shorter than one run: min_iterations decides
  c.min_iterations = 4;
  SweepHooks h;
  h.open = fake_factory({{"img", spec}});
  SweepResult r = run_sweep(c, h);
  REQUIRE(r.points.size() == 1);
  CHECK(r.points[0].stats.n == 4);
  CHECK(r.points[0].seq == -1);  // no sequence dim

  c.duration_s = 0.05;  // about 25 runs of 2 ms
  c.min_iterations = 1;
  r = run_sweep(c, h);
  CHECK(r.points[0].stats.n >= 2);  // about 25, fewer if the machine is busy
  CHECK(r.points[0].stats.n <= 30);
  CHECK(r.points[0].wall_s >= 0.05);
}

TEST_CASE("bench sweep: int8 of an fp32 model is unsupported with a reason, a quantized model runs",
          "[bench][sweep]") {
  FakeSpec q = bert_spec();
  q.ops = {{"MatMulInteger", 4}, {"DynamicQuantizeLinear", 4}};
  BenchConfig c = quick_config({"fp32model", "int8model"});
  c.precision = {"fp32", "int8"};
  c.seq = {8};
  SweepHooks h;
  h.open = fake_factory({{"fp32model", bert_spec()}, {"int8model", q}, {"fp32model.int8", q}});
  SweepResult r = run_sweep(c, h);
  REQUIRE(r.points.size() == 4);
  CHECK(r.points[0].status == "ok");
  CHECK(r.points[1].precision == "int8");
  CHECK(r.points[1].status == "unsupported");
  CHECK_THAT(r.points[1].reason, Catch::Contains("dynamic quantization"));
  CHECK(r.points[1].latencies_ms.empty());
  CHECK(r.points[3].status == "ok");

  h.quantize = [](const std::string& m) { return m + ".int8"; };
  r = run_sweep(c, h);
  CHECK(r.points[1].status == "ok");
  CHECK_THAT(r.points[1].notes.at(0), Catch::Contains("quantized"));
}

TEST_CASE("bench sweep: a failing point is recorded, the sweep goes on", "[bench][sweep]") {
  FakeSpec bad = image_spec();
  bad.fail_run = "kernel exploded";
  FakeSpec unsup = image_spec();
  unsup.fail_run = "bf16 is not supported on this CPU";
  BenchConfig c = quick_config({"bad", "unsup", "good"});
  SweepHooks h;
  h.open = fake_factory({{"bad", bad}, {"unsup", unsup}, {"good", image_spec()}});
  SweepResult r = run_sweep(c, h);
  REQUIRE(r.points.size() == 3);
  CHECK(r.points[0].status == "failed");
  CHECK_THAT(r.points[0].reason, Catch::Contains("kernel exploded"));
  CHECK(r.points[1].status == "unsupported");
  CHECK(r.points[2].status == "ok");
  CHECK(r.complete);
}

TEST_CASE("bench sweep: bad sweeps are rejected before anything is measured", "[bench][sweep]") {
  FakeSpec fixed = image_spec();
  fixed.inputs = {vi("x", DType::f32, {fix(1), fix(3), fix(8), fix(8)})};
  int runs = 0;
  FakeSpec counting = bert_spec();
  counting.on_run = [&] { ++runs; };
  SweepHooks h;
  h.open = fake_factory({{"img", image_spec()}, {"fixed", fixed}, {"bert", counting}});

  BenchConfig c = quick_config({"bert", "img"});
  c.seq = {8, 16};
  CHECK_THAT(error_of([&] { run_sweep(c, h); }),
             Catch::Contains("no sequence dimension") && Catch::Contains("pixel_values"));
  CHECK(runs == 0);  // bert came first but nothing ran

  c = quick_config({"fixed"});
  c.batch = {1, 4};
  CHECK_THAT(error_of([&] { run_sweep(c, h); }), Catch::Contains("fixed batch of 1"));
  c.batch = {1};
  CHECK(run_sweep(c, h).points.at(0).status == "ok");

  c = quick_config({"missing"});
  CHECK_THAT(error_of([&] { run_sweep(c, h); }), Catch::Contains("no such model"));

  FakeSpec odd = image_spec();
  odd.inputs = {vi("x", DType::f32, {sym("batch"), sym("height")})};
  h.open = fake_factory({{"odd", odd}});
  c = quick_config({"odd"});
  CHECK_THAT(error_of([&] { run_sweep(c, h); }), Catch::Contains("height"));
}

TEST_CASE("bench inputs: token ids, mask padding, token types, positions, floats", "[bench][inputs]") {
  FakeSpec spec = bert_spec();
  spec.inputs.push_back(vi("position_ids", DType::i64, {sym("batch"), sym("sequence")}));
  FakeSession s(spec, {});
  GeneratedInputs g = make_inputs(s, 2, 8, 0.25, 1);
  REQUIRE(g.tensors.size() == 4);
  CHECK(g.notes.empty());
  const auto& ids = g.tensors[0].tensor;
  CHECK(ids.shape() == Shape{2, 8});
  bool varied = false;
  for (int i = 0; i < 16; ++i) {
    CHECK(ids.data_as<int64_t>()[i] >= 0);
    CHECK(ids.data_as<int64_t>()[i] < 30);
    varied |= ids.data_as<int64_t>()[i] != ids.data_as<int64_t>()[0];
  }
  CHECK(varied);
  const int64_t* mask = g.tensors[1].tensor.data_as<int64_t>();
  CHECK(std::vector<int64_t>(mask, mask + 8) == std::vector<int64_t>{1, 1, 1, 1, 1, 1, 0, 0});
  CHECK(std::vector<int64_t>(mask + 8, mask + 16) == std::vector<int64_t>{1, 1, 1, 1, 1, 1, 0, 0});
  for (int i = 0; i < 16; ++i) CHECK(g.tensors[2].tensor.data_as<int64_t>()[i] == 0);
  for (int i = 0; i < 16; ++i) CHECK(g.tensors[3].tensor.data_as<int64_t>()[i] == i % 8);

  // Same seed, same inputs; another seed, other ids.
  GeneratedInputs g2 = make_inputs(s, 2, 8, 0.25, 1), g3 = make_inputs(s, 2, 8, 0.25, 2);
  CHECK(std::memcmp(g2.tensors[0].tensor.data(), ids.data(), ids.bytes()) == 0);
  CHECK(std::memcmp(g3.tensors[0].tensor.data(), ids.data(), ids.bytes()) != 0);

  // A mask keeps at least one real token, whatever the padding.
  GeneratedInputs tiny = make_inputs(s, 1, 2, 0.99, 1);
  CHECK(tiny.tensors[1].tensor.data_as<int64_t>()[0] == 1);

  // Unknown vocabulary: ids stay small and the report says so.
  spec.bounds.clear();
  FakeSession nb(spec, {});
  GeneratedInputs g4 = make_inputs(nb, 1, 4, 0, 1);
  REQUIRE(g4.notes.size() == 1);
  CHECK_THAT(g4.notes[0], Catch::Contains("input_ids"));

  FakeSession img(image_spec(), {});
  GeneratedInputs gi = make_inputs(img, 3, -1, 0, 1);
  CHECK(gi.tensors[0].tensor.shape() == Shape{3, 3, 8, 8});
  for (int i = 0; i < 3 * 3 * 64; ++i) {
    float v = gi.tensors[0].tensor.data_as<float>()[i];
    CHECK((v >= 0.f && v < 1.f));
  }
}

TEST_CASE("bench inputs: dim roles", "[bench][inputs]") {
  ValueInfo ids = vi("ids", DType::i64, {Dim{}, Dim{}});  // unnamed dims of a 2-D int input
  CHECK(dim_role(ids, 0) == DimRole::batch);
  CHECK(dim_role(ids, 1) == DimRole::seq);
  ValueInfo past = vi("past_key_values.0.key", DType::f32,
                      {sym("batch_size"), fix(12), sym("past_sequence_length"), fix(64)});
  CHECK(dim_role(past, 0) == DimRole::batch);
  CHECK(dim_role(past, 2) == DimRole::past);
  ValueInfo mask = vi("attention_mask", DType::i64, {sym("batch_size"), sym("total_sequence_length")});
  CHECK(dim_role(mask, 1) == DimRole::total);  // past + seq: seq while --past is 0
  ValueInfo img = vi("x", DType::f32, {sym("N"), fix(3), sym("H"), sym("W")});
  CHECK(dim_role(img, 2) == DimRole::unknown);
  InputLayout l = analyze_inputs({ids});
  CHECK(l.has_batch_dim);
  CHECK(l.has_seq_dim);
}

TEST_CASE("bench sweep: cancellation keeps the finished points and marks the run incomplete",
          "[bench][sweep]") {
  std::atomic<bool> cancel{false};
  int runs = 0;
  FakeSpec spec = bert_spec();
  // Each point makes 1 first run + 1 warmup + 5 timed = 7 runs; cancel in the middle of the third point.
  spec.on_run = [&] {
    if (++runs == 17) cancel = true;
  };
  BenchConfig c = quick_config({"bert"});
  c.seq = {8, 16, 32, 64};
  SweepHooks h;
  h.open = fake_factory({{"bert", spec}});
  h.cancel = &cancel;
  SweepResult r = run_sweep(c, h);
  CHECK_FALSE(r.complete);
  REQUIRE(r.points.size() == 2);
  CHECK(r.points[1].seq == 16);
  CHECK(r.points[1].stats.n == 5);
}
