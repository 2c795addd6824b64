// TfIdfVectorizer: unigrams and bigrams with skips over int32 rows, in TF, IDF and TFIDF modes with and
// without weights (expected values from ONNX Runtime 1.31 on the same model), plus bad attributes.
#include <catch2/catch.hpp>

#include "engine_model_builder.h"
#include "ortkit/session.h"

using namespace ortkit;
using ortkit::testing::error_of;
using ortkit::testing::ModelBuilder;

namespace {

std::string tfidf_model(const std::string& mode, const std::vector<float>& weights,
                        const std::vector<int64_t>& counts = {0, 4}) {
  ModelBuilder mb(11);
  mb.input("x", {int64_t{2}, int64_t{6}}, onnx::TensorProto::INT32);
  auto& n = mb.node("TfIdfVectorizer", {"x"}, {"y"});
  ModelBuilder::attr_int(n, "min_gram_length", 1);
  ModelBuilder::attr_int(n, "max_gram_length", 2);
  ModelBuilder::attr_int(n, "max_skip_count", 2);
  ModelBuilder::attr_ints(n, "ngram_counts", counts);
  ModelBuilder::attr_ints(n, "ngram_indexes", {0, 1, 2, 3, 4, 5, 6});
  // unigrams 2 3 5 4; bigrams (5 6) (7 8) (6 7)
  ModelBuilder::attr_ints(n, "pool_int64s", {2, 3, 5, 4, 5, 6, 7, 8, 6, 7});
  auto* m = n.add_attribute();
  m->set_name("mode");
  m->set_type(onnx::AttributeProto::STRING);
  m->set_s(mode);
  if (!weights.empty()) ModelBuilder::attr_floats(n, "weights", weights);
  mb.output("y");
  return mb.bytes();
}

Tensor rows() {
  Tensor x(DType::i32, {2, 6});
  const int32_t v[] = {1, 1, 3, 3, 3, 7, 8, 6, 7, 5, 6, 8};
  std::copy(v, v + 12, x.data_as<int32_t>());
  return x;
}

}  // namespace

TEST_CASE("TfIdfVectorizer: TF, IDF and TFIDF counts of unigrams and skip-bigrams", "[ops][text]") {
  const std::vector<float> w = {0.5f, 1.5f, 2.f, 3.f, 0.25f, 4.f, 1.f};
  struct Case {
    const char* mode;
    bool weighted;
    std::vector<float> want;
  };
  // Row 0 holds unigram 3 three times (counted once per position, not once per skip distance); row 1
  // holds unigram 5, the adjacent bigrams (6 7) and (5 6), and (7 8) with two tokens skipped between.
  const std::vector<Case> cases = {
      {"TF", false, {0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1}},
      {"TF", true, {0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1}},
      {"IDF", false, {0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1}},
      {"IDF", true, {0, 1.5f, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0.25f, 4, 1}},
      {"TFIDF", false, {0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1}},
      {"TFIDF", true, {0, 4.5f, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0.25f, 4, 1}},
  };
  for (const Case& c : cases) {
    INFO(c.mode << (c.weighted ? " weighted" : ""));
    auto s = Session::from_bytes(tfidf_model(c.mode, c.weighted ? w : std::vector<float>{}));
    auto y = s->run({{"x", rows()}});
    REQUIRE(y[0].shape() == Shape{2, 7});
    CHECK(std::vector<float>(y[0].data_as<float>(), y[0].data_as<float>() + 14) == c.want);
  }
}

TEST_CASE("TfIdfVectorizer: bad attributes are clear errors", "[ops][text]") {
  CHECK_THAT(error_of([] {
               Session::from_bytes(tfidf_model("BM25", {}))->run({{"x", rows()}});
             }),
             Catch::Contains("mode must be TF, IDF or TFIDF, got 'BM25'"));
  CHECK_THAT(
      error_of([] {
        Session::from_bytes(tfidf_model("TF", {}, {0, 40}))->run({{"x", rows()}});
      }),
      Catch::Contains("ngram_counts puts the 1-grams at pool entries [0, 40), outside the pool of 10"));
  CHECK_THAT(error_of([] {
               Session::from_bytes(tfidf_model("IDF", {1.f, 2.f}))->run({{"x", rows()}});
             }),
             Catch::Contains("weights has 2 values, the output has 7"));
}
