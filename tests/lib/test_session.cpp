// Session: open from bytes/files, input validation, plan cache per shape, overridable initializers,
// unsupported-op listing, threads, timings and reports.
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "engine_model_builder.h"
#include "ops/registry.h"
#include "ortkit/session.h"
#include "runtime/session_impl.h"

using namespace ortkit;
using ortkit::testing::make_f32;
using ortkit::testing::make_random;
using ortkit::testing::ModelBuilder;

namespace {

// y = Relu(x @ W + b), x: [batch, 8], W: [8, 6]
ModelBuilder mlp(bool fixed_batch = false) {
  ModelBuilder mb;
  mb.input("x", {fixed_batch ? ortkit::testing::DimSpec(int64_t{3}) : ortkit::testing::DimSpec("batch"),
                 int64_t{8}});
  mb.init("W", make_random({8, 6}, 7));
  mb.init("b", make_random({6}, 9));
  mb.node("MatMul", {"x", "W"}, {"xw"});
  mb.node("Add", {"xw", "b"}, {"pre"});
  mb.node("Relu", {"pre"}, {"y"});
  mb.output("y");
  return mb;
}

std::vector<float> mlp_ref(const Tensor& x) {
  const Tensor W = make_random({8, 6}, 7), b = make_random({6}, 9);
  const int64_t m = x.shape()[0];
  std::vector<float> y(static_cast<size_t>(m * 6));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < 6; ++j) {
      double acc = b.data_as<float>()[j];
      for (int64_t k = 0; k < 8; ++k) acc += x.data_as<float>()[i * 8 + k] * W.data_as<float>()[k * 6 + j];
      y[i * 6 + j] = acc > 0 ? static_cast<float>(acc) : 0.f;
    }
  return y;
}

void check_close(const Tensor& t, const std::vector<float>& ref) {
  REQUIRE(static_cast<size_t>(t.numel()) == ref.size());
  for (size_t i = 0; i < ref.size(); ++i) CHECK(t.data_as<float>()[i] == Approx(ref[i]).margin(1e-5));
}

}  // namespace

TEST_CASE("session runs a small MLP and caches a plan per input shape", "[session]") {
  for (int level : {0, 99}) {
    SessionOptions o;
    o.optimization_level = level;
    auto s = Session::from_bytes(mlp().bytes(), o);
    REQUIRE(s->inputs().size() == 1);
    CHECK(s->inputs()[0].dims[0].symbol == "batch");
    auto* impl = dynamic_cast<runtime::SessionImpl*>(s.get());
    REQUIRE(impl);
    for (int64_t batch : {2, 5, 2, 1}) {
      Tensor x = make_random({batch, 8}, static_cast<uint32_t>(batch));
      auto outs = s->run({{"x", x}});
      REQUIRE(outs.size() == 1);
      CHECK(outs[0].shape() == Shape{batch, 6});
      check_close(outs[0], mlp_ref(x));
    }
    CHECK(impl->plan_count() == 3);
    CHECK(s->op_counts().size() >= 1);
    CHECK(s->timings().load_ms >= 0);
    CHECK_FALSE(s->kernels_used().empty());
  }
}

TEST_CASE("session validates input names, dtypes, ranks and dims with clear errors", "[session]") {
  auto s = Session::from_bytes(mlp(true).bytes());
  Tensor good = make_random({3, 8});
  CHECK_NOTHROW(s->run({{"x", good}}));
  CHECK_THROWS_WITH(s->run({{"nope", good}}),
                    Catch::Contains("unknown input 'nope'") && Catch::Contains("'x'"));
  CHECK_THROWS_WITH(s->run({}), Catch::Contains("required input 'x' is missing"));
  CHECK_THROWS_WITH(s->run({{"x", Tensor(DType::i64, {3, 8})}}),
                    Catch::Contains("type int64") && Catch::Contains("expects float32"));
  CHECK_THROWS_WITH(s->run({{"x", make_random({3, 8, 1})}}), Catch::Contains("rank 3"));
  CHECK_THROWS_WITH(s->run({{"x", make_random({4, 8})}}), Catch::Contains("dimension 0 must be 3"));
}

TEST_CASE("a symbolic dimension must agree across inputs", "[session]") {
  ModelBuilder mb;
  mb.input("a", {"n", int64_t{2}});
  mb.input("b", {"n", int64_t{2}});
  mb.node("Add", {"a", "b"}, {"y"});
  mb.output("y");
  auto s = Session::from_bytes(mb.bytes());
  CHECK_NOTHROW(s->run({{"a", make_random({3, 2})}, {"b", make_random({3, 2})}}));
  CHECK_THROWS_WITH(s->run({{"a", make_random({3, 2})}, {"b", make_random({1, 2})}}),
                    Catch::Contains("dimension 'n'"));
}

TEST_CASE("initializers listed as graph inputs are overridable defaults", "[session]") {
  ModelBuilder mb(13, 3);
  mb.input("x", {int64_t{2}});
  mb.init("bias", make_f32({2}, {1, 2}), /*also_input=*/true);
  mb.node("Add", {"x", "bias"}, {"y"});
  mb.output("y");
  auto s = Session::from_bytes(mb.bytes());
  REQUIRE(s->inputs().size() == 1);  // bias is not required
  Tensor x = make_f32({2}, {10, 20});
  auto y = s->run({{"x", x}});
  CHECK(y[0].data_as<float>()[1] == 22);
  auto y2 = s->run({{"x", x}, {"bias", make_f32({2}, {100, 200})}});
  CHECK(y2[0].data_as<float>()[1] == 220);
  auto y3 = s->run({{"x", x}});
  CHECK(y3[0].data_as<float>()[0] == 11);
}

TEST_CASE("unsupported operators are listed all at once at open", "[session]") {
  ModelBuilder mb;
  mb.input("x", {int64_t{2}});
  mb.node("FancyOp", {"x"}, {"a"}, "fancy_1");
  mb.node("FancyOp", {"a"}, {"b"}, "fancy_2");
  mb.node("Weird", {"b"}, {"y"}, "weird", "com.example");
  mb.import("com.example", 3);
  mb.output("y");
  try {
    Session::from_bytes(mb.bytes());
    FAIL("expected an error");
  } catch (const Error& e) {
    const std::string m = e.message();
    CHECK(m.find("2 unsupported operator(s)") != std::string::npos);
    CHECK(m.find("FancyOp (ai.onnx opset 17): 2 node(s): 'fancy_1', 'fancy_2'") != std::string::npos);
    CHECK(m.find("Weird (com.example opset 3)") != std::string::npos);
  }
}

TEST_CASE("plan-time folding: Shape of a known-shape tensor is a constant", "[session]") {
  // y = x + float(Shape(x)) is not expressible without Cast; use an int64 graph instead:
  // y = i + Shape(x) (int64), folded to a constant plus one Add at run.
  ModelBuilder mb;
  mb.input("x", {"n", int64_t{3}});
  mb.input("i", {int64_t{2}}, 7);
  mb.node("Shape", {"x"}, {"s"});
  mb.node("Add", {"s", "s"}, {"s2"});  // all-constant at plan time: folded
  mb.node("Add", {"i", "s2"}, {"y"});
  mb.output("y", 7);
  auto s = Session::from_bytes(mb.bytes());
  Tensor i = ortkit::testing::make_i64({2}, {100, 200});
  auto y = s->run({{"x", make_random({5, 3})}, {"i", i}});
  CHECK(y[0].data_as<int64_t>()[0] == 110);
  CHECK(y[0].data_as<int64_t>()[1] == 206);
  y = s->run({{"x", make_random({7, 3})}, {"i", i}});
  CHECK(y[0].data_as<int64_t>()[0] == 114);
}

TEST_CASE("graph outputs may be inputs, constants or shared values", "[session]") {
  ModelBuilder mb;
  mb.input("x", {int64_t{2}});
  mb.init("c", make_f32({1}, {5}));
  mb.node("Identity", {"x"}, {"xi"});
  mb.node("Relu", {"xi"}, {"r"});
  mb.output("x").output("c").output("xi").output("r");
  auto s = Session::from_bytes(mb.bytes());
  auto y = s->run({{"x", make_f32({2}, {-1, 3})}});
  REQUIRE(y.size() == 4);
  CHECK(y[0].data_as<float>()[0] == -1);
  CHECK(y[1].data_as<float>()[0] == 5);
  CHECK(y[2].data_as<float>()[1] == 3);
  CHECK(y[3].data_as<float>()[0] == 0);
}

TEST_CASE("threads: results match across thread counts, bf16 precision is close", "[session]") {
  ModelBuilder mb;
  mb.input("a", {"m", int64_t{64}});
  mb.init("W", make_random({64, 48}, 3));
  mb.input("q", {int64_t{4}, int64_t{16}, int64_t{32}});
  mb.input("k", {int64_t{4}, int64_t{32}, int64_t{16}});
  mb.node("MatMul", {"a", "W"}, {"y"});
  mb.node("MatMul", {"q", "k"}, {"att"});  // batched, B not constant (attention-like)
  mb.output("y").output("att");
  const Tensor a = make_random({33, 64}, 5), q = make_random({4, 16, 32}, 6), k = make_random({4, 32, 16}, 8);
  std::vector<std::vector<Tensor>> results;
  for (int threads : {1, 2, 3}) {
    SessionOptions o;
    o.threads = threads;
    auto s = Session::from_bytes(mb.bytes(), o);
    auto outs = s->run({{"a", a}, {"q", q}, {"k", k}});
    results.push_back({outs[0].clone(), outs[1].clone()});
  }
  for (size_t r = 1; r < results.size(); ++r)
    for (size_t o = 0; o < 2; ++o)
      for (int64_t i = 0; i < results[0][o].numel(); ++i)
        REQUIRE(results[r][o].data_as<float>()[i] == Approx(results[0][o].data_as<float>()[i]).margin(1e-5));
  SessionOptions o;
  o.precision = Precision::bf16;
  auto s = Session::from_bytes(mb.bytes(), o);
  auto outs = s->run({{"a", a}, {"q", q}, {"k", k}});
  for (int64_t i = 0; i < outs[0].numel(); ++i)
    REQUIRE(outs[0].data_as<float>()[i] == Approx(results[0][0].data_as<float>()[i]).margin(0.1));
}

TEST_CASE("precision names parse and print", "[session]") {
  CHECK(parse_precision("bf16") == Precision::bf16);
  CHECK(std::string(precision_name(Precision::int8)) == "int8");
  CHECK_THROWS_WITH(parse_precision("fp8"), Catch::Contains("unknown precision 'fp8'"));
}

TEST_CASE("open: missing, truncated and garbage files give one clear error", "[session]") {
  namespace fs = std::filesystem;
  CHECK_THROWS_WITH(Session::open("/nonexistent/model.onnx"), Catch::Contains("not found"));
  const fs::path dir = fs::temp_directory_path() / "ortkit_test_session_open";
  fs::create_directories(dir);
  const std::string bytes = mlp().bytes();
  const std::string trunc = (dir / "trunc.onnx").string(), garbage = (dir / "garbage.onnx").string();
  onnxio::write_file_atomic(trunc, bytes.substr(0, bytes.size() / 2));
  onnxio::write_file_atomic(garbage, "this is not a protobuf at all \xff\xff\xff");
  CHECK_THROWS_WITH(Session::open(trunc), Catch::Contains("truncated or malformed"));
  CHECK_THROWS_AS(Session::open(garbage), Error);
  const std::string good = (dir / "good.onnx").string();
  onnxio::write_file_atomic(good, bytes);
  auto s = Session::open(good);
  CHECK(s->run({{"x", make_random({2, 8})}})[0].shape() == Shape{2, 6});
  fs::remove_all(dir);
}

namespace {
// A data-dependent op for the test: the positive elements of a 1-D float tensor.
class PositivesOp : public ops::OpKernel {
 public:
  void compile(ops::CompileContext& ctx) override {
    ctx.outputs[0].dtype = DType::f32;
    ctx.outputs[0].data_dependent = true;
  }
  void run(ops::RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    int64_t n = 0;
    for (int64_t i = 0; i < x.numel(); ++i) n += x.data_as<float>()[i] > 0;
    Tensor& y = ctx.allocate_output(0, DType::f32, {n});
    for (int64_t i = 0, j = 0; i < x.numel(); ++i)
      if (x.data_as<float>()[i] > 0) y.data_as<float>()[j++] = x.data_as<float>()[i];
  }
};
}  // namespace

TEST_CASE("data-dependent shapes: downstream nodes are compiled at run time", "[session]") {
  auto& reg = ops::OpRegistry::global_for_tests();
  if (!reg.knows("ortkit.test", "Positives"))
    reg.add("ortkit.test", "Positives", 1, ops::kAnyOpset, [] { return std::make_unique<PositivesOp>(); });
  ModelBuilder mb;
  mb.import("ortkit.test", 1);
  mb.input("x", {"n"});
  mb.init("c", make_f32({1}, {10}));
  mb.node("Positives", {"x"}, {"p"}, "pos", "ortkit.test");
  mb.node("Add", {"p", "c"}, {"q"});
  mb.node("Relu", {"q"}, {"y"});
  mb.output("y");
  auto s = Session::from_bytes(mb.bytes());
  auto y = s->run({{"x", make_f32({5}, {1, -2, 3, -4, 5})}});
  REQUIRE(y[0].shape() == Shape{3});
  CHECK(y[0].data_as<float>()[2] == 15);
  y = s->run({{"x", make_f32({5}, {-1, -2, 3, -4, -5})}});
  REQUIRE(y[0].shape() == Shape{1});
  CHECK(y[0].data_as<float>()[0] == 13);
}

TEST_CASE("an overridden weight is used instead of its prepacked default", "[session]") {
  ModelBuilder mb(13, 3);
  mb.input("x", {int64_t{1}, int64_t{2}});
  mb.init("W", make_f32({2, 2}, {1, 0, 0, 1}), /*also_input=*/true);
  mb.node("MatMul", {"x", "W"}, {"y"});
  mb.output("y");
  auto s = Session::from_bytes(mb.bytes());
  Tensor x = make_f32({1, 2}, {3, 4});
  CHECK(s->run({{"x", x}})[0].data_as<float>()[0] == 3);
  CHECK(s->run({{"x", x}, {"W", make_f32({2, 2}, {0, 1, 1, 0})}})[0].data_as<float>()[0] == 4);
  CHECK(s->run({{"x", x}})[0].data_as<float>()[0] == 3);
}

TEST_CASE("pinned threads give the same results", "[session]") {
  SessionOptions o;
  o.threads = 2;
  o.pin_threads = true;
  auto s = Session::from_bytes(mlp().bytes(), o);
  Tensor x = make_random({4, 8}, 4);
  check_close(s->run({{"x", x}})[0], mlp_ref(x));
}

TEST_CASE("profiling times every node that runs, across plans, and only while on", "[session]") {
  SessionOptions o;
  o.optimization_level = 0;  // MatMul, Add and Relu stay three nodes
  auto s = Session::from_bytes(mlp().bytes(), o);
  const Tensor x2 = make_random({2, 8}, 1), x5 = make_random({5, 8}, 2);
  s->run({{"x", x2}});
  CHECK(s->profile().empty());  // nothing gathered before profiling is on
  s->set_profiling(true);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) s->run({{"x", x2}});
  s->run({{"x", x5}});  // a second plan, compiled while profiling
  const double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  s->set_profiling(false);
  s->run({{"x", x2}});  // not counted
  const std::vector<NodeProfile> p = s->profile();
  REQUIRE(p.size() == 3);
  CHECK(p[0].op_type == "MatMul");
  CHECK(p[1].op_type == "Add");
  CHECK(p[2].op_type == "Relu");
  CHECK_FALSE(p[0].kernels.empty());  // the GEMM kernel
  CHECK(p[2].kernels.empty());
  double sum = 0;
  for (const NodeProfile& n : p) {
    CHECK(n.calls == 4);
    CHECK(n.total_ms > 0);
    CHECK_FALSE(n.name.empty());
    sum += n.total_ms;
  }
  CHECK(sum <= wall_ms);
  s->set_profiling(true);  // starts over
  CHECK(s->profile().empty());
}
