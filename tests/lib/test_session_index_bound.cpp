// Session::index_bound reads the embedding table size through value-preserving ops, so ort-bench's token
// ids stay inside the vocabulary of any exported transformer.
#include <catch2/catch.hpp>

#include "ortkit/session.h"

TEST_CASE("index_bound finds the embedding tables behind integer inputs", "[engine][session]") {
  auto bert = ortkit::Session::open("bert-tiny");
  CHECK(bert->index_bound("input_ids") > 2);
  CHECK(bert->index_bound("token_type_ids") == 2);
  CHECK(bert->index_bound("attention_mask") == -1);
  CHECK(bert->index_bound("no_such_input") == -1);
  auto gpt2 = ortkit::Session::open("gpt2-tiny");
  CHECK(gpt2->index_bound("input_ids") > 2);  // reached through the Reshape/view GPT-2 applies first
  CHECK(gpt2->index_bound("input_ids") == bert->index_bound("input_ids"));
}
