// ort-bench --past: KV-cache (past) inputs of decoders get the --past length, total dims (the attention
// mask of a model with past inputs, "total_sequence_length", "past_sequence_length + sequence_length")
// get past + seq, and the sweep has a past axis. A fake GPT-2-with-past spec and a real tiny decoder
// step built in code (also written for the CLI test, see ORTKIT_KV_PAST_MODEL below).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine_model_builder.h"
#include "ortkit/bench/config.h"
#include "ortkit/bench/inputs.h"
#include "ortkit/bench/report.h"
#include "ortkit/bench/sweep.h"
#include "test_bench_fake_session.h"

using namespace ortkit;
using namespace ortkit::bench;
using namespace ortkit::bench::testing;

namespace {

/// GPT-2 exported with past_key_values (2 layers, 3 heads, head_dim 4), as Optimum names its dims.
FakeSpec gpt2_past_spec() {
  FakeSpec s;
  s.inputs = {
      vi("input_ids", DType::i64, {sym("batch_size"), sym("sequence_length")}),
      vi("attention_mask", DType::i64, {sym("batch_size"), sym("past_sequence_length + sequence_length")}),
      vi("position_ids", DType::i64, {sym("batch_size"), sym("sequence_length")})};
  for (int l = 0; l < 2; ++l)
    for (const char* kv : {"key", "value"})
      s.inputs.push_back(vi("past_key_values." + std::to_string(l) + "." + kv, DType::f32,
                            {sym("batch_size"), fix(3), sym("past_sequence_length"), fix(4)}));
  s.bounds["input_ids"] = 50;
  return s;
}

/// A decoder step with a KV cache: the new tokens' embeddings are both query and new key; the cache
/// is concatenated in front (present.0.key/value [b, 2, past + seq, 4]); the scores q k^T [b, 2, seq,
/// past + seq] get the attention mask [b, past + seq] added, so a mask of the wrong length fails.
ortkit::testing::ModelBuilder kv_past_model() {
  using ortkit::testing::ModelBuilder;
  ModelBuilder mb(14);
  mb.input("input_ids", {std::string("batch_size"), std::string("sequence_length")}, 7)
      .input("attention_mask",
             {std::string("batch_size"), std::string("past_sequence_length + sequence_length")}, 7)
      .input("past_key_values.0.key",
             {std::string("batch_size"), int64_t{2}, std::string("past_sequence_length"), int64_t{4}})
      .input("past_key_values.0.value",
             {std::string("batch_size"), int64_t{2}, std::string("past_sequence_length"), int64_t{4}});
  mb.init("wte", ortkit::testing::make_random({16, 8}, 3));
  mb.init("heads_shape", ortkit::testing::make_i64({4}, {0, 0, 2, 4}));
  mb.init("mask_axes", ortkit::testing::make_i64({2}, {1, 2}));
  mb.node("Gather", {"wte", "input_ids"}, {"h"});
  mb.node("Reshape", {"h", "heads_shape"}, {"h4"});
  auto& tr = mb.node("Transpose", {"h4"}, {"q"});
  ModelBuilder::attr_ints(tr, "perm", {0, 2, 1, 3});
  auto& ck = mb.node("Concat", {"past_key_values.0.key", "q"}, {"present.0.key"});
  ModelBuilder::attr_int(ck, "axis", 2);
  auto& cv = mb.node("Concat", {"past_key_values.0.value", "q"}, {"present.0.value"});
  ModelBuilder::attr_int(cv, "axis", 2);
  auto& kt = mb.node("Transpose", {"present.0.key"}, {"kt"});
  ModelBuilder::attr_ints(kt, "perm", {0, 1, 3, 2});
  mb.node("MatMul", {"q", "kt"}, {"scores"});
  auto& cast = mb.node("Cast", {"attention_mask"}, {"maskf"});
  ModelBuilder::attr_int(cast, "to", 1);
  mb.node("Unsqueeze", {"maskf", "mask_axes"}, {"mask4"});
  mb.node("Add", {"scores", "mask4"}, {"logits"});
  mb.output("logits").output("present.0.key").output("present.0.value");
  return mb;
}

}  // namespace

TEST_CASE("bench past: dim roles of a decoder with a KV cache", "[bench][past]") {
  FakeSpec spec = gpt2_past_spec();
  CHECK(has_past_inputs(spec.inputs));
  CHECK(dim_role(spec.inputs[1], 1, true) == DimRole::total);
  CHECK(dim_role(spec.inputs[3], 2, true) == DimRole::past);
  CHECK(dim_role(spec.inputs[0], 1, true) == DimRole::seq);
  // A mask named by its plain sequence symbol is total only in a model with past inputs.
  ValueInfo mask = vi("attention_mask", DType::i64, {sym("batch"), sym("sequence")});
  CHECK(dim_role(mask, 1, true) == DimRole::total);
  CHECK(dim_role(mask, 1, false) == DimRole::seq);
  ValueInfo tot = vi("attention_mask", DType::i64, {sym("batch"), sym("total_sequence_length")});
  CHECK(dim_role(tot, 1) == DimRole::total);
  InputLayout l = analyze_inputs(spec.inputs);
  CHECK(l.has_past_dim);
  CHECK(l.has_seq_dim);
  CHECK_FALSE(analyze_inputs(bert_spec().inputs).has_past_dim);
}

TEST_CASE("bench past: generated shapes and values for past 0 and 7", "[bench][past]") {
  FakeSession s(gpt2_past_spec(), {});
  GeneratedInputs g0 = make_inputs(s, 2, 1, 0, 1, 0);
  REQUIRE(g0.tensors.size() == 7);
  CHECK(g0.tensors[0].tensor.shape() == Shape{2, 1});
  CHECK(g0.tensors[1].tensor.shape() == Shape{2, 1});
  CHECK(g0.tensors[3].tensor.shape() == Shape{2, 3, 0, 4});
  CHECK(g0.tensors[6].tensor.shape() == Shape{2, 3, 0, 4});
  // The default is no cache.
  GeneratedInputs gd = make_inputs(s, 2, 1, 0, 1);
  CHECK(gd.tensors[3].tensor.shape() == Shape{2, 3, 0, 4});

  GeneratedInputs g7 = make_inputs(s, 2, 1, 0, 1, 7);
  CHECK(g7.tensors[0].tensor.shape() == Shape{2, 1});
  CHECK(g7.tensors[1].tensor.shape() == Shape{2, 8});
  for (int i = 0; i < 16; ++i) CHECK(g7.tensors[1].tensor.data_as<int64_t>()[i] == 1);
  // The new token's position follows the cached ones.
  CHECK(g7.tensors[2].tensor.shape() == Shape{2, 1});
  CHECK(g7.tensors[2].tensor.data_as<int64_t>()[0] == 7);
  for (size_t k = 3; k < 7; ++k) {
    const Tensor& t = g7.tensors[k].tensor;
    CHECK(t.shape() == Shape{2, 3, 7, 4});
    bool negative = false, positive = false;
    for (int64_t i = 0; i < t.numel(); ++i) {
      float v = t.data_as<float>()[i];
      CHECK((v >= -1.f && v < 1.f));
      negative |= v < 0;
      positive |= v > 0;
    }
    CHECK((negative && positive));
  }
  // Prefill with a cache: seq 4 after 7 cached tokens.
  GeneratedInputs g74 = make_inputs(s, 1, 4, 0, 1, 7);
  CHECK(g74.tensors[1].tensor.shape() == Shape{1, 11});
  CHECK(g74.tensors[3].tensor.shape() == Shape{1, 3, 7, 4});
  CHECK(std::vector<int64_t>(g74.tensors[2].tensor.data_as<int64_t>(),
                             g74.tensors[2].tensor.data_as<int64_t>() + 4) ==
        std::vector<int64_t>{7, 8, 9, 10});
}

TEST_CASE("bench past: the sweep has a past axis, reported in JSON, CSV and the table", "[bench][past]") {
  SweepHooks h;
  h.open = fake_factory({{"gpt2-past", gpt2_past_spec()}, {"bert", bert_spec()}});
  BenchConfig c = quick_config({"gpt2-past"});
  c.seq = {1};
  c.past = {0, 7};
  SweepResult r = run_sweep(c, h);
  REQUIRE(r.points.size() == 2);
  CHECK(r.points[0].past == 0);
  CHECK(r.points[1].past == 7);
  CHECK(r.points[1].status == "ok");
  nlohmann::json rep = make_report(r, c, {"ort-bench"}, nlohmann::json::object());
  CHECK(rep["points"][0]["past"] == 0);
  CHECK(rep["points"][1]["past"] == 7);
  CHECK(rep["context"]["settings"]["past"] == std::vector<int64_t>{0, 7});
  std::string csv = report_to_csv(rep);
  CHECK_THAT(csv, Catch::Contains("past_sequence_length"));
  CHECK_THAT(report_to_table(rep), Catch::Contains("past"));

  // Without --past a model with past inputs runs with an empty cache; a model without has past null.
  c.past.clear();
  r = run_sweep(c, h);
  REQUIRE(r.points.size() == 1);
  CHECK(r.points[0].past == 0);
  BenchConfig b = quick_config({"bert"});
  b.seq = {8};
  r = run_sweep(b, h);
  CHECK(r.points[0].past == -1);
  CHECK(make_report(r, b, {}, nlohmann::json::object())["points"][0]["past"].is_null());
  // --past on a model without a KV cache is refused before measuring; --past 0 is harmless.
  b.past = {0, 4};
  CHECK_THAT(error_of([&] { run_sweep(b, h); }), Catch::Contains("drop --past"));
  b.past = {0};
  CHECK(run_sweep(b, h).points.size() == 1);
}

TEST_CASE("bench past: config key and list parsing", "[bench][past]") {
  BenchConfig c;
  apply_json(c, nlohmann::json{{"past", "0,16"}}, "cfg");
  CHECK(c.past == std::vector<int64_t>{0, 16});
  apply_json(c, nlohmann::json{{"past", {0, 128}}}, "cfg");
  CHECK(c.past == std::vector<int64_t>{0, 128});
  CHECK(parse_int_list("0,4", "--past", 0) == std::vector<int64_t>{0, 4});
  CHECK_THROWS_AS(parse_int_list("-1", "--past", 0), Error);
  CHECK_THROWS_AS(parse_int_list("0", "--batch"), Error);
  c.models = {"m"};
  c.input_dir = "somewhere";
  CHECK_THAT(error_of([&] { validate(c); }), Catch::Contains("drop --past"));
}

TEST_CASE("bench past: a real decoder step runs with past 0 and 7", "[bench][past]") {
  std::string bytes = kv_past_model().bytes();
  auto s = Session::from_bytes(bytes);
  for (int64_t past : {int64_t{0}, int64_t{7}}) {
    INFO("past " << past);
    GeneratedInputs g = make_inputs(*s, 2, 1, 0, 1, past);
    REQUIRE(g.tensors.size() == 4);
    CHECK(g.tensors[0].tensor.shape() == Shape{2, 1});
    CHECK(g.tensors[1].tensor.shape() == Shape{2, past + 1});
    CHECK(g.tensors[2].tensor.shape() == Shape{2, 2, past, 4});
    CHECK(g.tensors[3].tensor.shape() == Shape{2, 2, past, 4});
    auto out = s->run(g.tensors);
    REQUIRE(out.size() == 3);
    CHECK(out[0].shape() == Shape{2, 2, 1, past + 1});
    CHECK(out[1].shape() == Shape{2, 2, past + 1, 4});
  }
  // The CLI test (tests/cli/bench_cli.cmake) runs this model: its ctest fixture calls this test case with
  // ORTKIT_KV_PAST_MODEL=<path in the build tree>, so no model file is kept in the repository.
  if (const char* out_path = std::getenv("ORTKIT_KV_PAST_MODEL")) {
    {
      std::ofstream out(out_path, std::ios::binary);
      out << bytes;
      REQUIRE(out.good());
    }
    std::ifstream in(out_path, std::ios::binary);
    std::stringstream stored;
    stored << in.rdbuf();
    auto stored_session = Session::from_bytes(stored.str());
    REQUIRE(stored_session->inputs().size() == 4);
    CHECK(stored_session->inputs()[1].dims[1].symbol == "past_sequence_length + sequence_length");
  }
}
