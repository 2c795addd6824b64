// Node input/output counts checked against the ONNX schemas at load (graph/node_arity.h): a required
// input left out or empty, too many inputs or outputs, and the bounds that still hold past the newest
// opset libonnx knows. Each must be an Error naming the node and the slot, never a crash in a kernel.
#include <catch2/catch.hpp>

#include "engine_model_builder.h"
#include "ortkit/session.h"

using namespace ortkit;
using namespace ortkit::testing;

namespace {
std::string open_error(const ModelBuilder& b) {
  return error_of([&] { Session::from_bytes(b.bytes()); });
}
}  // namespace

TEST_CASE("node arity: required inputs and outputs, and upper bounds", "[graph][arity]") {
  {  // ConstantOfShape with its shape input left out
    ModelBuilder b(9);
    b.node("ConstantOfShape", {}, {"y"}, "cos");
    b.output("y");
    CHECK_THAT(open_error(b),
               Catch::Contains("node 'cos' (ConstantOfShape, ai.onnx opset 9): required input 0 "
                               "('input') is missing"));
  }
  {  // a required input given as ""
    ModelBuilder b(13);
    b.input("x", {2});
    b.node("Add", {"", "x"}, {"y"}, "add");
    b.output("y");
    CHECK_THAT(open_error(b), Catch::Contains("required input 0 ('A') is missing"));
  }
  {  // one input too many for opset 9's Unsqueeze (axes became an input in 13)
    ModelBuilder b(9);
    b.input("x", {2});
    b.input("a", {1}, 7);
    ModelBuilder::attr_ints(b.node("Unsqueeze", {"x", "a"}, {"y"}, "u"), "axes", {0});
    b.output("y");
    CHECK_THAT(open_error(b),
               Catch::Contains("node 'u' (Unsqueeze, ai.onnx opset 9) has 2 inputs, takes at most 1"));
  }
  {  // outputs: Relu has exactly one
    ModelBuilder b(13);
    b.input("x", {2});
    b.node("Relu", {"x"}, {"y", "z"}, "r");
    b.output("y");
    CHECK_THAT(open_error(b), Catch::Contains("has 2 outputs, takes at most 1"));
  }
  {  // Concat needs at least one input (variadic, min 1)
    ModelBuilder b(13);
    ModelBuilder::attr_int(b.node("Concat", {}, {"y"}, "c"), "axis", 0);
    b.output("y");
    CHECK_THAT(open_error(b),
               Catch::Contains("node 'c' (Concat, ai.onnx opset 13) has 0 inputs, needs at least 1"));
  }
  {  // trailing "" inputs are omitted optionals, not extra inputs; a model that is right opens
    ModelBuilder b(13);
    b.input("x", {4});
    b.node("Clip", {"x", "", ""}, {"y"}, "clip");
    b.output("y");
    CHECK(open_error(b).empty());
  }
  {  // past opset 17 (libonnx 1.12's newest) only the lower bounds hold: Pad-18's 4th input (axes) is
     // unknown to 1.12's Pad-13 schema and must pass; a missing data input still fails
    ModelBuilder b(18);
    b.input("x", {4});
    b.init("pads", make_i64({2}, {1, 1}));
    b.init("axes", make_i64({1}, {0}));
    b.node("Pad", {"x", "pads", "", "axes"}, {"y"}, "pad");
    b.output("y");
    CHECK(open_error(b).empty());
    ModelBuilder c(18);
    c.init("pads", make_i64({2}, {1, 1}));
    c.node("Pad", {"", "pads"}, {"y"}, "pad");
    c.output("y");
    CHECK_THAT(open_error(c), Catch::Contains("required input 0 ('data') is missing"));
  }
  {  // other domains are the kernels' business
    ModelBuilder b(13);
    b.import("com.microsoft", 1);
    b.input("x", {2, 4});
    b.node("FastGelu", {"x", "x", "x", "x", "x"}, {"y"}, "g", "com.microsoft");
    b.output("y");
    CHECK_THAT(open_error(b), !Catch::Contains("takes at most"));
  }
}
