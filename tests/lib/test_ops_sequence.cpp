// Sequences and optionals: models built in code, run through Session. Covers the PyTorch export habit of a
// list grown in a Loop (SequenceInsert in the body, ConcatFromSequence after), SplitToSequence in each
// split form round-tripped through ConcatFromSequence (concat and stack), sequence graph inputs and
// outputs, optionals through If, the files the test-data loaders read, and bad input: an out-of-range
// position, items that cannot be concatenated, a sequence reaching a tensor op, an empty optional.
#include <catch2/catch.hpp>
#include <filesystem>

#include "engine_model_builder.h"
#include "onnx/model_io.h"
#include "ortkit/session.h"
#include "ortkit/verify.h"

using namespace ortkit;
using ortkit::testing::error_of;
using ortkit::testing::make_f32;
using ortkit::testing::make_i64;
using ortkit::testing::ModelBuilder;

namespace {

constexpr int kF32 = onnx::TensorProto::FLOAT, kI64 = onnx::TensorProto::INT64,
              kBool = onnx::TensorProto::BOOL;

void seq_type(onnx::ValueInfoProto* v, int elem) {
  v->mutable_type()->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(elem);
}
void seq_output(ModelBuilder& mb, const std::string& name) {
  auto* v = mb.proto().mutable_graph()->add_output();
  v->set_name(name);
  seq_type(v, kF32);
}
std::vector<float> values(const Tensor& t) {
  REQUIRE(t.dtype() == DType::f32);
  return {t.data_as<float>(), t.data_as<float>() + t.numel()};
}
Tensor make_bool(bool v) {
  Tensor t(DType::boolean, {});
  *t.data_as<uint8_t>() = v ? 1 : 0;
  return t;
}

/// for i in range(M): acc.append(x[: i + 1].sum() * ones(2)); out = cat(acc) -- the shape of what
/// torch.onnx exports for a Python list built in a scripted loop.
ModelBuilder loop_list_model() {
  ModelBuilder mb(13);
  mb.input("M", {}, kI64);
  mb.input("x", {int64_t{4}});
  mb.node("SequenceEmpty", {}, {"empty"});
  auto& loop = mb.node("Loop", {"M", "", "empty"}, {"acc"}, "loop");
  auto* b = ModelBuilder::graph_attr(loop, "body");
  auto in = [&](const std::string& n, int elem) {
    auto* v = b->add_input();
    v->set_name(n);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(elem);
  };
  in("i", kI64);
  in("c", kBool);
  seq_type(b->add_input(), kF32);
  b->mutable_input(2)->set_name("seq_in");
  *b->add_initializer() = onnxio::tensor_to_proto(make_i64({1}, {0}), "zero");
  *b->add_initializer() = onnxio::tensor_to_proto(make_i64({1}, {1}), "one");
  *b->add_initializer() = onnxio::tensor_to_proto(make_f32({2}, {1.f, 1.f}), "ones");
  ModelBuilder::graph_node(b, "Unsqueeze", {"i", "zero"}, {"i1"});
  ModelBuilder::graph_node(b, "Add", {"i1", "one"}, {"end"});
  ModelBuilder::graph_node(b, "Slice", {"x", "zero", "end"}, {"head"});
  ModelBuilder::graph_node(b, "ReduceSum", {"head"}, {"sum"});
  ModelBuilder::graph_node(b, "Mul", {"sum", "ones"}, {"item"});
  ModelBuilder::graph_node(b, "SequenceInsert", {"seq_in", "item"}, {"seq_out"});
  ModelBuilder::graph_node(b, "Identity", {"c"}, {"c_out"});
  auto* co = b->add_output();
  co->set_name("c_out");
  co->mutable_type()->mutable_tensor_type()->set_elem_type(kBool);
  seq_type(b->add_output(), kF32);
  b->mutable_output(1)->set_name("seq_out");
  auto& cat = mb.node("ConcatFromSequence", {"acc"}, {"out"});
  ModelBuilder::attr_int(cat, "axis", 0);
  mb.node("SequenceLength", {"acc"}, {"n"});
  mb.output("out");
  mb.output("n", kI64);
  return mb;
}

}  // namespace

TEST_CASE("Sequence: a list grown in a Loop and concatenated after it", "[sequence]") {
  auto s = Session::from_bytes(loop_list_model().bytes());
  const Tensor x = make_f32({4}, {1.f, 2.f, 3.f, 4.f});
  for (int rep = 0; rep < 2; ++rep) {  // the second run reuses the plans
    auto y = s->run({{"M", make_i64({}, {3})}, {"x", x}});
    CHECK(values(y[0]) == std::vector<float>{1.f, 1.f, 3.f, 3.f, 6.f, 6.f});
    CHECK(*y[1].data_as<int64_t>() == 3);
  }
  // Zero iterations: the loop returns the empty sequence, which cannot be concatenated.
  CHECK_THAT(error_of([&] {
               s->run({{"M", make_i64({}, {0})}, {"x", x}});
             }),
             Catch::Contains("ConcatFromSequence") && Catch::Contains("empty sequence"));
}

TEST_CASE("Sequence: SplitToSequence in each form, concatenated and stacked back", "[sequence]") {
  const Tensor x = make_f32({2, 5}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  struct Case {
    const char* what;
    bool has_split;
    Tensor split;
    int64_t keepdims;
    std::vector<Shape> shapes;
  };
  const std::vector<Case> cases = {
      {"no split: pieces of 1", false, {}, 1, {{2, 1}, {2, 1}, {2, 1}, {2, 1}, {2, 1}}},
      {"no split, keepdims 0", false, {}, 0, {{2}, {2}, {2}, {2}, {2}}},
      {"scalar split with a shorter last piece", true, make_i64({}, {2}), 1, {{2, 2}, {2, 2}, {2, 1}}},
      {"1-D split lengths", true, make_i64({3}, {1, 0, 4}), 1, {{2, 1}, {2, 0}, {2, 4}}},
  };
  for (const Case& c : cases) {
    SECTION(c.what) {
      ModelBuilder mb(13);
      mb.input("x", {int64_t{2}, int64_t{5}});
      if (c.has_split) mb.init("split", c.split);
      auto& sp = mb.node("SplitToSequence", {"x", c.has_split ? "split" : ""}, {"seq"});
      ModelBuilder::attr_int(sp, "axis", 1);
      ModelBuilder::attr_int(sp, "keepdims", c.keepdims);
      auto& cat = mb.node("ConcatFromSequence", {"seq"}, {"back"});
      ModelBuilder::attr_int(cat, "axis", -1);
      ModelBuilder::attr_int(cat, "new_axis", c.keepdims ? 0 : 1);
      mb.node("SequenceAt", {"seq", "last"}, {"tail"});
      mb.init("last", make_i64({}, {-1}));
      seq_output(mb, "seq");
      mb.output("back");
      mb.output("tail");
      auto s = Session::from_bytes(mb.bytes());  // outputs view the session's memory: keep it
      auto y = s->run({{"x", x}});
      REQUIRE(y[0].dtype() == DType::sequence);
      REQUIRE(y[0].items().size() == c.shapes.size());
      for (size_t i = 0; i < c.shapes.size(); ++i) CHECK(y[0].items()[i].shape() == c.shapes[i]);
      CHECK(y[1].shape() == Shape{2, 5});
      CHECK(values(y[1]) == values(x));
      CHECK(y[2].shape() == c.shapes.back());
    }
  }
}

TEST_CASE("Sequence: a sequence graph input, SequenceInsert/Erase positions, and a sequence output",
          "[sequence]") {
  ModelBuilder mb(13);
  auto* in = mb.proto().mutable_graph()->add_input();
  in->set_name("seq");
  seq_type(in, kF32);
  mb.input("t", {int64_t{1}});
  mb.init("front", make_i64({}, {-2}));
  mb.node("SequenceInsert", {"seq", "t", "front"}, {"ins"});
  mb.node("SequenceErase", {"ins"}, {"erased"});  // drops the last item
  seq_output(mb, "erased");
  auto s = Session::from_bytes(mb.bytes());
  const Tensor seq = Tensor::sequence(DType::f32, {make_f32({1}, {1.f}), make_f32({1}, {2.f})});
  auto y = s->run({{"seq", seq}, {"t", make_f32({1}, {9.f})}});
  REQUIRE(y[0].dtype() == DType::sequence);
  REQUIRE(y[0].items().size() == 2);
  CHECK(values(y[0].items()[0]) == std::vector<float>{9.f});
  CHECK(values(y[0].items()[1]) == std::vector<float>{1.f});
  // The input sequence is not changed by what the model derives from it.
  CHECK(seq.items().size() == 2);

  const Tensor empty = Tensor::sequence(DType::f32, {});
  CHECK_THAT(error_of([&] {
               s->run({{"seq", empty}, {"t", make_f32({1}, {9.f})}});
             }),
             Catch::Contains("position -2 is out of range [0, 0]"));
  const Tensor ints = Tensor::sequence(DType::i64, {make_i64({1}, {1}), make_i64({1}, {2})});
  CHECK_THAT(error_of([&] {
               s->run({{"seq", ints}, {"t", make_f32({1}, {9.f})}});
             }),
             Catch::Contains("holds int64 tensors, got a float32 tensor"));
  CHECK_THAT(error_of([&] {
               s->run({{"seq", make_f32({1}, {1.f})}, {"t", make_f32({1}, {9.f})}});
             }),
             Catch::Contains("input 'seq' has type float32, the model expects sequence"));
}

TEST_CASE("Sequence: bad input is a clear error", "[sequence]") {
  SECTION("a sequence reaching a tensor op") {
    ModelBuilder mb(13);
    mb.input("x", {int64_t{2}});
    mb.node("SequenceConstruct", {"x", "x"}, {"seq"});
    mb.node("Relu", {"seq"}, {"y"});
    mb.output("y");
    CHECK_THAT(
        error_of([&] {
          Session::from_bytes(mb.bytes())->run({{"x", make_f32({2}, {1.f, 2.f})}});
        }),
        Catch::Contains("input 'seq' is a sequence; this op takes tensors") && Catch::Contains("Relu"));
  }
  SECTION("items that cannot be concatenated") {
    ModelBuilder mb(13);
    mb.input("a", {int64_t{2}, int64_t{2}});
    mb.input("b", {int64_t{3}, int64_t{1}});
    mb.node("SequenceConstruct", {"a", "b"}, {"seq"});
    auto& cat = mb.node("ConcatFromSequence", {"seq"}, {"y"});
    ModelBuilder::attr_int(cat, "axis", 1);
    mb.output("y");
    const Tensor a = make_f32({2, 2}, {1, 2, 3, 4}), b = make_f32({3, 1}, {5, 6, 7});
    CHECK_THAT(error_of([&] {
                 Session::from_bytes(mb.bytes())->run({{"a", a}, {"b", b}});
               }),
               Catch::Contains("[2, 2] float32 and [3, 1] float32 cannot be concatenated along axis 1"));
  }
  SECTION("split lengths that do not cover the axis") {
    ModelBuilder mb(13);
    mb.input("x", {int64_t{5}});
    mb.init("split", make_i64({2}, {2, 2}));
    mb.node("SplitToSequence", {"x", "split"}, {"seq"});
    seq_output(mb, "seq");
    CHECK_THAT(error_of([&] {
                 Session::from_bytes(mb.bytes())->run({{"x", make_f32({5}, {1, 2, 3, 4, 5})}});
               }),
               Catch::Contains("split lengths sum to 4, but axis 0 has 5"));
  }
}

TEST_CASE("Optional: through If, with and without a value", "[sequence]") {
  // y = If(c, then: Optional(x), else: Optional()); has = OptionalHasElement(y); v = OptionalGetElement(y)
  ModelBuilder mb(15);
  mb.input("c", {}, kBool);
  mb.input("x", {int64_t{2}});
  auto& n = mb.node("If", {"c"}, {"opt"});
  for (const char* br : {"then_branch", "else_branch"}) {
    auto* g = ModelBuilder::graph_attr(n, br);
    ModelBuilder::graph_node(g, "Optional", {std::string(br) == "then_branch" ? "x" : ""}, {"o"});
    auto* o = g->add_output();
    o->set_name("o");
    o->mutable_type()->mutable_optional_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(
        kF32);
  }
  mb.node("OptionalHasElement", {"opt"}, {"has"});
  mb.node("OptionalGetElement", {"opt"}, {"v"});
  mb.output("has", kBool);
  mb.output("v");
  auto s = Session::from_bytes(mb.bytes());
  const Tensor x = make_f32({2}, {3.f, 4.f});
  auto y = s->run({{"c", make_bool(true)}, {"x", x}});
  CHECK(*y[0].data_as<uint8_t>() == 1);
  CHECK(values(y[1]) == std::vector<float>{3.f, 4.f});
  CHECK_THAT(error_of([&] {
               s->run({{"c", make_bool(false)}, {"x", x}});
             }),
             Catch::Contains("the optional input holds no value"));
}

TEST_CASE("Sequence: value files round-trip and compare item by item", "[sequence]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "ortkit_test_sequence_files";
  fs::create_directories(dir);
  const Tensor seq = Tensor::sequence(DType::f32, {make_f32({2}, {1.f, 2.f}), make_f32({1}, {3.f})});
  save_tensor_pb(seq, "s", (dir / "seq.pb").string());
  const Tensor back = onnxio::load_value_file((dir / "seq.pb").string(), DType::sequence);
  CHECK(compare_tensors(back, seq, 0, 0).ok);
  const Tensor other = Tensor::sequence(DType::f32, {make_f32({2}, {1.f, 2.5f}), make_f32({1}, {3.f})});
  const TensorDiff d = compare_tensors(other, seq, 1e-3, 1e-5);
  CHECK_FALSE(d.ok);
  CHECK_THAT(d.reason, Catch::StartsWith("item 0: 1 of 2 values differ"));
  CHECK_FALSE(compare_tensors(Tensor::sequence(DType::f32, {}), seq, 0, 0).ok);

  const Tensor none = Tensor::optional_none(DType::f32), some = Tensor::optional_of(make_f32({1}, {7.f}));
  save_tensor_pb(none, "n", (dir / "none.pb").string());
  save_tensor_pb(some, "o", (dir / "some.pb").string());
  CHECK(onnxio::load_value_file((dir / "none.pb").string(), DType::optional).items().empty());
  CHECK(compare_tensors(onnxio::load_value_file((dir / "some.pb").string(), DType::optional), some, 0, 0).ok);
  CHECK_FALSE(compare_tensors(none, some, 0, 0).ok);
  fs::remove_all(dir);
}
