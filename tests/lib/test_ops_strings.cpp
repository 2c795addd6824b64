// String tensors through Session: storage, TensorProto round trips, the ops that take them (Cast, Equal,
// Identity / Reshape, StringNormalizer, StringSplit, StringConcat, RegexFullMatch, LabelEncoder) and the
// refusal of every other op. Expected values follow the ONNX reference (onnx 1.23's backend data) and
// Python's str methods.
#include <catch2/catch.hpp>
#include <cmath>

#include "engine_model_builder.h"
#include "onnx/model_io.h"
#include "ortkit/session.h"

using namespace ortkit;
using ortkit::testing::error_of;
using ortkit::testing::make_f32;
using ortkit::testing::make_i64;
using ortkit::testing::make_strings;
using ortkit::testing::ModelBuilder;
using ortkit::testing::strings_of;

namespace {
constexpr int kStr = onnx::TensorProto::STRING;
using Strs = std::vector<std::string>;

/// One node of `op` from inputs x (and y) to outputs, opset 20.
struct OneNode {
  ModelBuilder mb{20};
  onnx::NodeProto* node = nullptr;
  OneNode(const std::string& op, const std::vector<std::pair<std::string, int>>& ins,
          const std::vector<std::pair<std::string, int>>& outs, const std::string& domain = {}) {
    if (!domain.empty()) mb.import(domain, 4);
    std::vector<std::string> in_names, out_names;
    for (const auto& [n, t] : ins) {
      mb.input(n, {std::string("d_") + n}, t);
      in_names.push_back(n);
    }
    for (const auto& [n, t] : outs) out_names.push_back(n);
    node = &mb.node(op, in_names, out_names, "n", domain);
    for (const auto& [n, t] : outs) mb.output(n, t);
  }
};
}  // namespace

TEST_CASE("string tensors: owned objects, deep clones, TensorProto round trips", "[ops][strings]") {
  Tensor t = make_strings({2}, {"héllo", std::string("a\0b", 3)});
  CHECK(t.bytes() == 0);
  Tensor c = t.clone();
  c.data_as<std::string>()[0] = "changed";
  CHECK(strings_of(t)[0] == "héllo");
  const Tensor back = onnxio::tensor_from_proto(onnxio::tensor_to_proto(t, "s"));
  CHECK(back.dtype() == DType::string);
  CHECK(strings_of(back) == strings_of(t));
  CHECK(Tensor(DType::string, {0}).numel() == 0);

  onnx::TensorProto p = onnxio::tensor_to_proto(t, "s");
  p.add_dims(2);  // shape [2, 2] now needs 4 strings
  CHECK_THAT(error_of([&] { onnxio::tensor_from_proto(p); }), Catch::Contains("holds 2 strings"));
  onnx::TensorProto raw;
  raw.set_data_type(kStr);
  raw.add_dims(1);
  raw.set_raw_data(std::string("abcd"));
  CHECK_THAT(error_of([&] { onnxio::tensor_from_proto(raw); }), Catch::Contains("string_data"));
}

TEST_CASE("string tensors pass through Identity and Reshape; other ops refuse them", "[ops][strings]") {
  ModelBuilder mb(17);
  mb.input("s", {int64_t{2}, int64_t{2}}, kStr);
  mb.init("shape", make_i64({1}, {4}));
  mb.node("Reshape", {"s", "shape"}, {"r"});
  mb.node("Identity", {"r"}, {"y"});
  mb.output("y", kStr);
  auto s = Session::from_bytes(mb.bytes());
  auto y = s->run({{"s", make_strings({2, 2}, {"a", "b", "c", "d"})}});
  REQUIRE(y[0].shape() == Shape{4});
  CHECK(strings_of(y[0]) == Strs{"a", "b", "c", "d"});

  ModelBuilder bad(17);
  bad.input("s", {int64_t{2}}, kStr);
  bad.node("Transpose", {"s"}, {"y"});
  bad.output("y", kStr);
  auto sb = Session::from_bytes(bad.bytes());
  CHECK_THAT(error_of([&] {
               sb->run({{"s", make_strings({2}, {"a", "b"})}});
             }),
             Catch::Contains("input 's' is a string tensor; this op takes numbers"));
}

TEST_CASE("Cast between strings and numbers", "[ops][strings]") {
  SECTION("float to string: the shortest text that reads back the same float") {
    OneNode m("Cast", {{"x", 1}}, {{"y", kStr}});
    ModelBuilder::attr_int(*m.node, "to", kStr);
    auto s = Session::from_bytes(m.mb.bytes());
    auto y = s->run({{"x", make_f32({7}, {0.6048455f, 1e-5f, 1.f, -0.f, NAN, INFINITY, -INFINITY})}});
    CHECK(strings_of(y[0]) == Strs{"0.6048455", "1e-05", "1", "-0", "NaN", "INF", "-INF"});
  }
  SECTION("string to float: plain, scientific, INF / NaN in any case, surrounding spaces") {
    OneNode m("Cast", {{"x", kStr}}, {{"y", 1}});
    ModelBuilder::attr_int(*m.node, "to", 1);
    auto s = Session::from_bytes(m.mb.bytes());
    auto y = s->run({{"x", make_strings({5}, {" 2.5 ", "1E8", "+INF", "-inf", "NaN"})}});
    const float* v = y[0].data_as<float>();
    CHECK(v[0] == 2.5f);
    CHECK(v[1] == 1e8f);
    CHECK(v[2] == INFINITY);
    CHECK(v[3] == -INFINITY);
    CHECK(std::isnan(v[4]));
    CHECK_THAT(error_of([&] {
                 s->run({{"x", make_strings({2}, {"1", "1.5abc"})}});
               }),
               Catch::Contains("cannot read \"1.5abc\" (element 1) as float32"));
  }
  SECTION("string to int64 and bool; int64 and bool to string") {
    OneNode m("Cast", {{"x", kStr}}, {{"y", 7}});
    ModelBuilder::attr_int(*m.node, "to", 7);
    auto s = Session::from_bytes(m.mb.bytes());
    auto y = s->run({{"x", make_strings({3}, {"12", "-3", "4.0"})}});
    CHECK(std::vector<int64_t>(y[0].data_as<int64_t>(), y[0].data_as<int64_t>() + 3) ==
          std::vector<int64_t>{12, -3, 4});
    CHECK_THAT(error_of([&] { s->run({{"x", make_strings({1}, {"1.5"})}}); }), Catch::Contains("as int64"));

    OneNode b("Cast", {{"x", kStr}}, {{"y", 9}});
    ModelBuilder::attr_int(*b.node, "to", 9);
    auto sb = Session::from_bytes(b.mb.bytes());
    auto yb = sb->run({{"x", make_strings({4}, {"1", "0", "True", "false"})}});
    CHECK(std::vector<uint8_t>(yb[0].data_as<uint8_t>(), yb[0].data_as<uint8_t>() + 4) ==
          std::vector<uint8_t>{1, 0, 1, 0});

    OneNode t("Cast", {{"x", 7}}, {{"y", kStr}});
    ModelBuilder::attr_int(*t.node, "to", kStr);
    auto st = Session::from_bytes(t.mb.bytes());
    CHECK(strings_of(st->run({{"x", make_i64({2}, {-7, 123456789012})}})[0]) == Strs{"-7", "123456789012"});
  }
}

TEST_CASE("Equal on strings broadcasts", "[ops][strings]") {
  ModelBuilder mb(19);
  mb.input("a", {int64_t{2}, int64_t{2}}, kStr);
  mb.input("b", {int64_t{2}}, kStr);
  mb.node("Equal", {"a", "b"}, {"y"});
  mb.output("y", 9);
  auto s = Session::from_bytes(mb.bytes());
  auto y = s->run({{"a", make_strings({2, 2}, {"x", "y", "x", "z"})}, {"b", make_strings({2}, {"x", "z"})}});
  REQUIRE(y[0].shape() == Shape{2, 2});
  CHECK(std::vector<uint8_t>(y[0].data_as<uint8_t>(), y[0].data_as<uint8_t>() + 4) ==
        std::vector<uint8_t>{1, 0, 1, 1});
}

TEST_CASE("StringNormalizer: stopwords, case change over UTF-8, an empty result", "[ops][strings]") {
  ModelBuilder mb(10);
  mb.input("x", {int64_t{1}, int64_t{4}}, kStr);
  auto& n = mb.node("StringNormalizer", {"x"}, {"y"});
  ModelBuilder::attr_string(n, "case_change_action", "UPPER");
  ModelBuilder::attr_strings(n, "stopwords", {"monday"});
  mb.output("y", kStr);
  auto s = Session::from_bytes(mb.bytes());
  auto y = s->run({{"x", make_strings({1, 4}, {"Monday", "tuesday", "élan", "MONDAY"})}});
  REQUIRE(y[0].shape() == Shape{1, 2});
  CHECK(strings_of(y[0]) == Strs{"TUESDAY", "ÉLAN"});
  // Every word a stopword: one empty string, rank kept.
  y = s->run({{"x", make_strings({1, 4}, {"monday", "Monday", "MONDAY", "mOnDaY"})}});
  REQUIRE(y[0].shape() == Shape{1, 1});
  CHECK(strings_of(y[0]) == Strs{""});
  CHECK_THAT(error_of([&] {
               s->run({{"x", make_strings({1, 4}, {"a", "b", "\xff", "c"})}});
             }),
             Catch::Contains("not valid UTF-8"));

  ModelBuilder any(10);
  any.input("x", {std::string("a"), std::string("b")}, kStr);
  any.node("StringNormalizer", {"x"}, {"y"});
  any.output("y", kStr);
  auto sa = Session::from_bytes(any.bytes());
  CHECK_THAT(error_of([&] {
               sa->run({{"x", make_strings({2, 2}, {"a", "b", "c", "d"})}});
             }),
             Catch::Contains("X must be [C] or [1, C], got [2, 2]"));
}

TEST_CASE("StringSplit follows Python's str.split", "[ops][strings]") {
  auto run = [](const std::string* delim, int64_t maxsplit, const Strs& in) {
    OneNode m("StringSplit", {{"x", kStr}}, {{"y", kStr}, {"n", 7}});
    if (delim) ModelBuilder::attr_string(*m.node, "delimiter", *delim);
    if (maxsplit >= 0) ModelBuilder::attr_int(*m.node, "maxsplit", maxsplit);
    auto s = Session::from_bytes(m.mb.bytes());
    std::vector<Tensor> outs;
    for (const Tensor& t : s->run({{"x", make_strings({static_cast<int64_t>(in.size())}, in)}}))
      outs.push_back(t.clone());  // the session's outputs die with it
    return outs;
  };
  const std::string dash = "-", none;
  auto y = run(nullptr, -1, {"  a  b c ", "", "x"});
  REQUIRE(y[0].shape() == Shape{3, 3});
  CHECK(strings_of(y[0]) == Strs{"a", "b", "c", "", "", "", "x", "", ""});
  CHECK(std::vector<int64_t>(y[1].data_as<int64_t>(), y[1].data_as<int64_t>() + 3) ==
        std::vector<int64_t>{3, 0, 1});
  y = run(&dash, -1, {"o--n-", ""});  // empty pieces kept; "" has none (as in ONNX Runtime)
  CHECK(strings_of(y[0]) == Strs{"o", "", "n", "", "", "", "", ""});
  CHECK(y[1].data_as<int64_t>()[1] == 0);
  y = run(&none, 1, {" a b  c "});  // an empty delimiter splits on white space; the rest stays whole
  CHECK(strings_of(y[0]) == Strs{"a", "b  c"});
  y = run(&dash, 1, {"a-b-c"});
  CHECK(strings_of(y[0]) == Strs{"a", "b-c"});
}

TEST_CASE("StringConcat and RegexFullMatch", "[ops][strings]") {
  OneNode c("StringConcat", {{"a", kStr}, {"b", kStr}}, {{"y", kStr}});
  auto sc = Session::from_bytes(c.mb.bytes());
  auto y = sc->run({{"a", make_strings({2}, {"cat", "dog"})}, {"b", make_strings({1}, {"s"})}});
  CHECK(strings_of(y[0]) == Strs{"cats", "dogs"});

  OneNode r("RegexFullMatch", {{"x", kStr}}, {{"y", 9}});
  ModelBuilder::attr_string(*r.node, "pattern", R"(www\.[\w.-]+\.\bcom\b)");
  auto sr = Session::from_bytes(r.mb.bytes());
  y = sr->run({{"x", make_strings({3}, {"www.google.com", "www.bbc.co.uk", "xwww.a.com"})}});
  CHECK(std::vector<uint8_t>(y[0].data_as<uint8_t>(), y[0].data_as<uint8_t>() + 3) ==
        std::vector<uint8_t>{1, 0, 0});
  CHECK_THAT(error_of([&] {
               sr->run({{"x", make_strings({1}, {std::string(5000, 'w')})}});
             }),
             Catch::Contains("reads at most 4096"));

  OneNode bad("RegexFullMatch", {{"x", kStr}}, {{"y", 9}});
  ModelBuilder::attr_string(*bad.node, "pattern", "(?i)abc");
  auto sbad = Session::from_bytes(bad.mb.bytes());
  CHECK_THAT(error_of([&] {
               sbad->run({{"x", make_strings({1}, {"abc"})}});
             }),
             Catch::Contains("pattern '(?i)abc'"));
}

TEST_CASE("LabelEncoder: strings, integers and floats through a table with a default", "[ops][strings][ml]") {
  SECTION("string to int64, the default -1") {
    OneNode m("LabelEncoder", {{"x", kStr}}, {{"y", 7}}, "ai.onnx.ml");
    ModelBuilder::attr_strings(*m.node, "keys_strings", {"a", "b", "c"});
    ModelBuilder::attr_ints(*m.node, "values_int64s", {0, 1, 2});
    auto s = Session::from_bytes(m.mb.bytes());
    auto y = s->run({{"x", make_strings({4}, {"a", "d", "c", "b"})}});
    CHECK(std::vector<int64_t>(y[0].data_as<int64_t>(), y[0].data_as<int64_t>() + 4) ==
          std::vector<int64_t>{0, -1, 2, 1});
  }
  SECTION("int64 to string with default_string") {
    OneNode m("LabelEncoder", {{"x", 7}}, {{"y", kStr}}, "ai.onnx.ml");
    ModelBuilder::attr_ints(*m.node, "keys_int64s", {5, 7});
    ModelBuilder::attr_strings(*m.node, "values_strings", {"five", "seven"});
    ModelBuilder::attr_string(*m.node, "default_string", "?");
    auto s = Session::from_bytes(m.mb.bytes());
    CHECK(strings_of(s->run({{"x", make_i64({3}, {7, 6, 5})}})[0]) == Strs{"seven", "?", "five"});
  }
  SECTION("float keys: NaN matches NaN, -0 matches 0; tensor values and default") {
    OneNode m("LabelEncoder", {{"x", 1}}, {{"y", 5}}, "ai.onnx.ml");
    ModelBuilder::attr_tensor(*m.node, "keys_tensor", make_f32({3}, {NAN, 0.f, 2.5f}));
    Tensor vals(DType::i16, {3}), def(DType::i16, {1});
    vals.data_as<int16_t>()[0] = 10, vals.data_as<int16_t>()[1] = 20, vals.data_as<int16_t>()[2] = 30;
    def.data_as<int16_t>()[0] = 42;
    ModelBuilder::attr_tensor(*m.node, "values_tensor", vals);
    ModelBuilder::attr_tensor(*m.node, "default_tensor", def);
    auto s = Session::from_bytes(m.mb.bytes());
    auto y = s->run({{"x", make_f32({4}, {-0.f, NAN, 1.f, 2.5f})}});
    CHECK(std::vector<int16_t>(y[0].data_as<int16_t>(), y[0].data_as<int16_t>() + 4) ==
          std::vector<int16_t>{20, 10, 42, 30});
  }
  SECTION("bad tables are named") {
    OneNode m("LabelEncoder", {{"x", kStr}}, {{"y", 7}}, "ai.onnx.ml");
    ModelBuilder::attr_strings(*m.node, "keys_strings", {"a", "b"});
    ModelBuilder::attr_ints(*m.node, "values_int64s", {0});
    auto s = Session::from_bytes(m.mb.bytes());
    CHECK_THAT(error_of([&] {
                 s->run({{"x", make_strings({1}, {"a"})}});
               }),
               Catch::Contains("2 keys but 1 values"));
    OneNode k("LabelEncoder", {{"x", 7}}, {{"y", 7}}, "ai.onnx.ml");
    ModelBuilder::attr_strings(*k.node, "keys_strings", {"a"});
    ModelBuilder::attr_ints(*k.node, "values_int64s", {0});
    auto sk = Session::from_bytes(k.mb.bytes());
    CHECK_THAT(error_of([&] {
                 sk->run({{"x", make_i64({1}, {1})}});
               }),
               Catch::Contains("the keys are string, the input is int64"));
  }
}

TEST_CASE("a string initializer feeds an op", "[ops][strings]") {
  ModelBuilder mb(20);
  mb.input("x", {int64_t{2}}, kStr);
  mb.init("suffix", make_strings({}, {"!"}));
  mb.node("StringConcat", {"x", "suffix"}, {"y"});
  mb.output("y", kStr);
  auto s = Session::from_bytes(mb.bytes());
  CHECK(strings_of(s->run({{"x", make_strings({2}, {"hi", "yo"})}})[0]) == Strs{"hi!", "yo!"});
}

TEST_CASE("TfIdfVectorizer counts n-grams of a string pool", "[ops][strings]") {
  ModelBuilder mb(9);
  mb.input("x", {int64_t{2}, int64_t{6}}, kStr);
  auto& n = mb.node("TfIdfVectorizer", {"x"}, {"y"});
  ModelBuilder::attr_string(n, "mode", "TFIDF");
  ModelBuilder::attr_int(n, "min_gram_length", 1);
  ModelBuilder::attr_int(n, "max_gram_length", 2);
  ModelBuilder::attr_int(n, "max_skip_count", 1);
  ModelBuilder::attr_ints(n, "ngram_counts", {0, 3});
  ModelBuilder::attr_ints(n, "ngram_indexes", {0, 1, 2, 3, 4});
  // unigrams the cat sat; bigrams (the cat) (cat sat)
  ModelBuilder::attr_strings(n, "pool_strings", {"the", "cat", "sat", "the", "cat", "cat", "sat"});
  ModelBuilder::attr_floats(n, "weights", {1.f, 2.f, 3.f, 4.f, 5.f});
  mb.output("y");
  auto s = Session::from_bytes(mb.bytes());
  auto y = s->run({{"x", make_strings({2, 6}, {"the", "cat", "sat", "on", "the", "cat",  //
                                               "a", "cat", "the", "cat", "sat", "dog"})}});
  // From ONNX Runtime 1.31 and the ONNX reference on the same model.
  CHECK(std::vector<float>(y[0].data_as<float>(), y[0].data_as<float>() + 10) ==
        std::vector<float>{2, 4, 3, 8, 5, 1, 4, 3, 4, 5});
}

TEST_CASE("strings through Loop and If: carried, then picked by a branch", "[ops][strings][control]") {
  // Loop(M) { s = s_in + (string)i }  then  If(cond) { s } else { "none" }.
  ModelBuilder mb(20);
  mb.input("M", {}, onnx::TensorProto::INT64);
  mb.input("cond", {}, onnx::TensorProto::BOOL);
  mb.input("s0", {int64_t{1}}, kStr);
  auto& loop = mb.node("Loop", {"M", "", "s0"}, {"s_final"}, "loop");
  auto* b = ModelBuilder::graph_attr(loop, "body");
  auto body_io = [](google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* vs, const std::string& name,
                    int elem, std::vector<ortkit::testing::DimSpec> dims) {
    auto* v = vs->Add();
    v->set_name(name);
    ModelBuilder::set_type(v, elem, dims);
  };
  body_io(b->mutable_input(), "i", onnx::TensorProto::INT64, {});
  body_io(b->mutable_input(), "c_in", onnx::TensorProto::BOOL, {});
  body_io(b->mutable_input(), "s_in", kStr, {int64_t{1}});
  auto& cast = ModelBuilder::graph_node(b, "Cast", {"i"}, {"si"});
  ModelBuilder::attr_int(cast, "to", kStr);
  ModelBuilder::graph_node(b, "StringConcat", {"s_in", "si"}, {"s_out"});
  ModelBuilder::graph_node(b, "Identity", {"c_in"}, {"c_out"});
  body_io(b->mutable_output(), "c_out", onnx::TensorProto::BOOL, {});
  body_io(b->mutable_output(), "s_out", kStr, {int64_t{1}});

  auto& iff = mb.node("If", {"cond"}, {"y"}, "if");
  auto* then_g = ModelBuilder::graph_attr(iff, "then_branch");
  ModelBuilder::graph_node(then_g, "Identity", {"s_final"}, {"t"});
  body_io(then_g->mutable_output(), "t", kStr, {int64_t{1}});
  auto* else_g = ModelBuilder::graph_attr(iff, "else_branch");
  auto& k = ModelBuilder::graph_node(else_g, "Constant", {}, {"e"});
  ModelBuilder::attr_tensor(k, "value", make_strings({1}, {"none"}));
  body_io(else_g->mutable_output(), "e", kStr, {int64_t{1}});
  mb.output("y", kStr);

  auto s = Session::from_bytes(mb.bytes());
  Tensor m(DType::i64, {}), yes(DType::boolean, {}), no(DType::boolean, {});
  *m.data_as<int64_t>() = 4;
  *yes.data_as<bool>() = true;
  CHECK(strings_of(s->run({{"M", m}, {"cond", yes}, {"s0", make_strings({1}, {">"})}})[0]) == Strs{">0123"});
  CHECK(strings_of(s->run({{"M", m}, {"cond", no}, {"s0", make_strings({1}, {">"})}})[0]) == Strs{"none"});
}

TEST_CASE("Constant value_string / value_strings make string tensors", "[ops][strings]") {
  ModelBuilder mb(20);
  mb.input("x", {int64_t{2}}, kStr);
  auto& one = mb.node("Constant", {}, {"bang"});
  ModelBuilder::attr_string(one, "value_string", "!");
  auto& two = mb.node("Constant", {}, {"pre"});
  ModelBuilder::attr_strings(two, "value_strings", {"<", "["});
  mb.node("StringConcat", {"pre", "x"}, {"px"});
  mb.node("StringConcat", {"px", "bang"}, {"y"});
  mb.output("y", kStr);
  auto s = Session::from_bytes(mb.bytes());
  CHECK(strings_of(s->run({{"x", make_strings({2}, {"a", "b"})}})[0]) == Strs{"<a!", "[b!"});
}
