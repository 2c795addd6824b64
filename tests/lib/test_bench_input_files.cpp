// --input-dir: ONNX test-data .pb files and .npy files, matched to the model's inputs.
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "ortkit/bench/inputs.h"
#include "ortkit/bench/sweep.h"
#include "test_bench_fake_session.h"

using namespace ortkit;
using namespace ortkit::bench;
using namespace ortkit::bench::testing;
namespace fs = std::filesystem;

namespace {

void write_npy_i64(const fs::path& p, const std::vector<int64_t>& v, const std::string& shape) {
  std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::ofstream f(p, std::ios::binary);
  f << "\x93NUMPY" << '\x01' << '\x00';
  uint16_t len = static_cast<uint16_t>(header.size());
  f.write(reinterpret_cast<const char*>(&len), 2);
  f << header;
  f.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * 8));
}

void write_pb_f32(const fs::path& p, const std::string& name, const std::vector<float>& v,
                  std::vector<int64_t> dims, bool raw) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t.add_dims(d);
  if (raw)
    t.set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4));
  else
    for (float x : v) t.add_float_data(x);
  std::ofstream f(p, std::ios::binary);
  t.SerializeToOstream(&f);
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("ortkit_bench_in_" + std::to_string(getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("bench input files: .npy by name and .pb (raw and typed) load", "[bench][inputs]") {
  TempDir d;
  // Named like the inputs, written in another order: matched by name.
  write_npy_i64(d.path / "attention_mask.npy", {1, 1, 1, 0}, "(1, 4)");
  write_npy_i64(d.path / "input_ids.npy", {5, 6, 7, 8}, "(1, 4)");
  write_npy_i64(d.path / "token_type_ids.npy", {0, 0, 0, 0}, "(1, 4)");
  FakeSpec spec = bert_spec();
  auto t = load_input_dir(d.path.string(), spec.inputs);
  REQUIRE(t.size() == 3);
  CHECK(t[0].name == "input_ids");
  CHECK(t[0].tensor.shape() == Shape{1, 4});
  CHECK(t[0].tensor.data_as<int64_t>()[3] == 8);
  CHECK(t[1].tensor.data_as<int64_t>()[3] == 0);
  int64_t b, s;
  shape_of_inputs(spec.inputs, t, b, s);
  CHECK(b == 1);
  CHECK(s == 4);

  // A sweep on real data reports the data's shapes.
  BenchConfig c = quick_config({"bert"});
  c.input_dir = d.path.string();
  SweepHooks h;
  std::vector<NamedTensor> seen;
  spec.last_inputs = &seen;
  h.open = fake_factory({{"bert", spec}});
  SweepResult r = run_sweep(c, h);
  REQUIRE(r.points.size() == 1);
  CHECK(r.points[0].status == "ok");
  CHECK(r.points[0].seq == 4);
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].tensor.data_as<int64_t>()[0] == 5);
  c.seq = {8};
  CHECK_THAT(error_of([&] { run_sweep(c, h); }), Catch::Contains("--input-dir"));

  TempDir e;
  fs::create_directories(e.path / "test_data_set_0");
  write_pb_f32(e.path / "test_data_set_0" / "input_0.pb", "pixel_values", std::vector<float>(3 * 64, 0.5f),
               {1, 3, 8, 8}, true);
  auto img = load_input_dir(e.path.string(), image_spec().inputs);
  REQUIRE(img.size() == 1);
  CHECK(img[0].tensor.data_as<float>()[100] == 0.5f);
  write_pb_f32(e.path / "typed.pb", "", {1.5f, 2.5f}, {2}, false);
  std::string name;
  Tensor typed = load_tensor_file((e.path / "typed.pb").string(), &name);
  CHECK(typed.data_as<float>()[1] == 2.5f);
  CHECK(name.empty());
}

TEST_CASE("bench input files: mismatches are clear errors", "[bench][inputs]") {
  TempDir d;
  write_npy_i64(d.path / "input_ids.npy", {1, 2}, "(1, 2)");
  CHECK_THAT(error_of([&] { load_input_dir(d.path.string(), bert_spec().inputs); }),
             Catch::Contains("found 1 input files") && Catch::Contains("3 inputs"));
  CHECK_THAT(error_of([&] { load_input_dir(d.path.string(), image_spec().inputs); }),
             Catch::Contains("float32"));
  CHECK_THAT(error_of([&] { load_input_dir((d.path / "nope").string(), image_spec().inputs); }),
             Catch::Contains("not a directory"));
  std::ofstream(d.path / "junk.npy") << "not numpy";
  CHECK_THAT(error_of([&] { load_tensor_file((d.path / "junk.npy").string()); }),
             Catch::Contains("not a .npy"));
  std::ofstream(d.path / "input_9.pb") << "\xff\xff\xff garbage";
  CHECK_THROWS_AS(load_tensor_file((d.path / "input_9.pb").string()), Error);
}
