// ONNX loading: tensor encodings (raw, typed, external), Constant node forms, graph inputs vs
// initializers, topological sorting and cycle detection, atomic writing, bad files.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "engine_model_builder.h"
#include "graph/from_onnx.h"
#include "graph/optimizer.h"
#include "graph/to_onnx.h"
#include "onnx/model_io.h"
#include "ortkit/session.h"

using namespace ortkit;
using ortkit::testing::error_of;
using ortkit::testing::make_f32;
using ortkit::testing::ModelBuilder;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("ortkit_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
}  // namespace

TEST_CASE("TensorProto: raw data and typed fields of every integer width", "[onnx]") {
  onnx::TensorProto p;
  p.set_name("t");
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(2);
  p.add_float_data(1.5f);
  p.add_float_data(-2.f);
  Tensor t = onnxio::tensor_from_proto(p);
  CHECK(t.dtype() == DType::f32);
  CHECK(t.data_as<float>()[1] == -2.f);

  onnx::TensorProto q;
  q.set_data_type(onnx::TensorProto::INT8);
  q.add_dims(3);
  for (int v : {-128, 0, 127}) q.add_int32_data(v);
  Tensor i8 = onnxio::tensor_from_proto(q);
  CHECK(i8.data_as<int8_t>()[0] == -128);
  CHECK(i8.data_as<int8_t>()[2] == 127);

  onnx::TensorProto h;  // float16 initializers are tolerated (kept as f16 bits)
  h.set_data_type(onnx::TensorProto::FLOAT16);
  h.add_dims(1);
  h.add_int32_data(0x3c00);
  Tensor f16 = onnxio::tensor_from_proto(h);
  CHECK(f16.dtype() == DType::f16);
  CHECK(f16.data_as<uint16_t>()[0] == 0x3c00);

  onnx::TensorProto i64;
  i64.set_data_type(onnx::TensorProto::INT64);
  i64.add_dims(2);
  i64.add_int64_data(1);
  CHECK_THROWS_WITH(onnxio::tensor_from_proto(i64), Catch::Contains("holds 1 values"));

  // raw round trip
  Tensor src = make_f32({2, 2}, {1, 2, 3, 4});
  Tensor back = onnxio::tensor_from_proto(onnxio::tensor_to_proto(src, "x"));
  CHECK(back.shape() == Shape{2, 2});
  CHECK(back.data_as<float>()[3] == 4);
  onnx::TensorProto bad = onnxio::tensor_to_proto(src, "bad");
  bad.mutable_raw_data()->resize(5);
  CHECK_THROWS_WITH(onnxio::tensor_from_proto(bad), Catch::Contains("raw_data has 5 bytes"));
}

TEST_CASE("external data: offset/length relative to the model directory", "[onnx]") {
  const fs::path dir = temp_dir("extdata");
  {
    std::ofstream f(dir / "weights.bin", std::ios::binary);
    const float pad[2] = {9, 9}, w[4] = {1, 2, 3, 4};
    f.write(reinterpret_cast<const char*>(pad), sizeof pad);
    f.write(reinterpret_cast<const char*>(w), sizeof w);
  }
  ModelBuilder mb;
  mb.input("x", {int64_t{1}, int64_t{2}});
  onnx::TensorProto* w = mb.proto().mutable_graph()->add_initializer();
  w->set_name("W");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(2);
  w->add_dims(2);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto kv = [&](const std::string& k, const std::string& v) {
    auto* e = w->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  kv("location", "weights.bin");
  kv("offset", "8");
  kv("length", "16");
  mb.node("MatMul", {"x", "W"}, {"y"});
  mb.output("y");
  onnxio::save_model(mb.proto(), (dir / "m.onnx").string());
  auto s = Session::open((dir / "m.onnx").string());
  auto y = s->run({{"x", make_f32({1, 2}, {1, 1})}});
  CHECK(y[0].data_as<float>()[0] == 4);  // 1 + 3
  CHECK(y[0].data_as<float>()[1] == 6);  // 2 + 4

  // Too short / missing file: clear errors.
  w->mutable_external_data(1)->set_value("12");
  onnxio::save_model(mb.proto(), (dir / "short.onnx").string());
  CHECK_THROWS_WITH(Session::open((dir / "short.onnx").string()), Catch::Contains("too short"));
  w->mutable_external_data(0)->set_value("nothere.bin");
  onnxio::save_model(mb.proto(), (dir / "missing.onnx").string());
  const std::string msg = error_of([&] { Session::open((dir / "missing.onnx").string()); });
  CHECK(msg.find("external data file not found") != std::string::npos);
  CHECK(msg.find("tensor 'W'") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("Constant nodes in every attribute form become initializers", "[onnx]") {
  ModelBuilder mb;
  mb.input("x", {int64_t{2}});
  ModelBuilder::attr_tensor(mb.node("Constant", {}, {"c_t"}), "value", make_f32({2}, {1, 2}));
  ModelBuilder::attr_float(mb.node("Constant", {}, {"c_f"}), "value_float", 3.f);
  ModelBuilder::attr_ints(mb.node("Constant", {}, {"c_is"}), "value_ints", {4, 5});
  ModelBuilder::attr_int(mb.node("Constant", {}, {"c_i"}), "value_int", 6);
  auto& fs_node = mb.node("Constant", {}, {"c_fs"});
  auto* a = fs_node.add_attribute();
  a->set_name("value_floats");
  a->set_type(onnx::AttributeProto::FLOATS);
  a->add_floats(7.f);
  mb.node("Add", {"x", "c_t"}, {"y"});
  mb.output("y");
  graph::Graph g = graph::from_onnx(mb.proto(), "t", ".");
  CHECK(g.nodes.size() == 1);
  CHECK(g.constant("c_t")->data_as<float>()[1] == 2);
  CHECK(g.constant("c_f")->rank() == 0);
  CHECK(g.constant("c_f")->data_as<float>()[0] == 3);
  CHECK(g.constant("c_is")->data_as<int64_t>()[1] == 5);
  CHECK(g.constant("c_i")->data_as<int64_t>()[0] == 6);
  CHECK(g.constant("c_fs")->data_as<float>()[0] == 7);
}

TEST_CASE("nodes out of order are sorted, cycles and dangling inputs are errors", "[graph]") {
  ModelBuilder mb;
  mb.input("x", {int64_t{2}});
  mb.node("Relu", {"b"}, {"y"}, "last");
  mb.node("Relu", {"a"}, {"b"}, "middle");
  mb.node("Relu", {"x"}, {"a"}, "first");
  mb.output("y");
  graph::Graph g = graph::from_onnx(mb.proto(), "t", ".");
  REQUIRE(g.nodes.size() == 3);
  CHECK(g.nodes[0].name == "first");
  CHECK(g.nodes[2].name == "last");
  auto s = Session::from_bytes(mb.bytes());
  CHECK(s->run({{"x", make_f32({2}, {-1, 2})}})[0].data_as<float>()[1] == 2);

  ModelBuilder cyc;
  cyc.input("x", {int64_t{2}});
  cyc.node("Add", {"x", "q"}, {"p"}, "p_node");
  cyc.node("Relu", {"p"}, {"q"}, "q_node");
  cyc.output("q");
  CHECK_THROWS_WITH(graph::from_onnx(cyc.proto(), "cyc.onnx", "."), Catch::Contains("cycle"));

  ModelBuilder dangling;
  dangling.input("x", {int64_t{2}});
  dangling.node("Add", {"x", "ghost"}, {"y"}, "adder");
  dangling.output("y");
  const std::string msg = error_of([&] { graph::from_onnx(dangling.proto(), "d.onnx", "."); });
  CHECK(msg.find("'ghost'") != std::string::npos);
  CHECK(msg.find("adder") != std::string::npos);
}

TEST_CASE("model files are written atomically and read back", "[onnx]") {
  const fs::path dir = temp_dir("save");
  ModelBuilder mb;
  mb.input("x", {int64_t{2}});
  mb.node("Relu", {"x"}, {"y"});
  mb.output("y");
  const std::string path = (dir / "m.onnx").string();
  onnxio::save_model(mb.proto(), path);
  onnx::ModelProto back = onnxio::load_model(path);
  CHECK(back.graph().node_size() == 1);
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  CHECK(files == 1);  // no temp file left behind
  CHECK_THROWS_WITH(onnxio::save_model(mb.proto(), (dir / "no/such/dir/m.onnx").string()),
                    Catch::Contains("cannot write"));
  CHECK_THROWS_WITH(onnxio::load_model(dir.string()), Catch::Contains("directory"));
  CHECK_THROWS_WITH(onnxio::parse_model(""), Catch::Contains("no graph"));
  fs::remove_all(dir);
}

TEST_CASE("a graph (optimized, with fused ops) is written back and runs the same", "[graph]") {
  ModelBuilder mb;
  mb.input("a", {"m", int64_t{4}});
  mb.init("W", ortkit::testing::make_random({4, 3}, 2));
  mb.init("b", ortkit::testing::make_random({3}, 3));
  mb.init("ov", make_f32({3}, {1, 1, 1}), /*also_input=*/true);
  mb.node("MatMul", {"a", "W"}, {"mm"});
  auto& add = mb.node("Add", {"mm", "b"}, {"h"});
  (void)add;
  mb.node("Add", {"h", "ov"}, {"y"});
  mb.output("y");
  graph::Graph g = graph::from_onnx(mb.proto(), "t", ".");
  graph::optimize(g);
  REQUIRE(g.nodes[0].op_type == "FusedMatMul");
  const std::string bytes = graph::to_onnx(g).SerializeAsString();
  auto s0 = Session::from_bytes(mb.bytes()), s1 = Session::from_bytes(bytes);
  CHECK(s1->inputs().size() == 1);
  Tensor a = ortkit::testing::make_random({2, 4}, 7);
  Tensor y0 = s0->run({{"a", a}})[0].clone(), y1 = s1->run({{"a", a}, {"ov", make_f32({3}, {1, 1, 1})}})[0];
  for (int64_t i = 0; i < y0.numel(); ++i) CHECK(y1.data_as<float>()[i] == Approx(y0.data_as<float>()[i]));
}
