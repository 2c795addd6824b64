// ortkit.DynQuantConv against DynamicQuantizeLinear -> ConvInteger -> scale -> bias -> activation computed
// op by op: the pixel-major form (constant weights: GEMM epilogue, chunked transposes, the depthwise direct
// loop) and the channel-major fallback (weights given at run time) over shapes that reach every branch:
// pointwise, unfolded 3x3 with asymmetric pads, grouped and dilated, depthwise through each fp32 plane
// kernel, several pixel chunks, batch 2, 1 and 3 threads. The integer sums are exact and both sides
// quantize x the same way, so the results agree to float rounding of the scale and bias.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "engine_model_builder.h"
#include "int8_test_util.h"
#include "ops/eval.h"
#include "ops/registry.h"
#include "ops_test_util.h"
#include "ortkit/session.h"

using namespace ortkit;
using namespace ortkit::testing;

namespace {

struct Spec {
  int64_t n = 1, c = 4, m = 6, h = 7, w = 6, k = 3, group = 1, stride = 1, dilation = 1;
  std::vector<int64_t> pads{1, 1, 1, 1};
  bool per_channel = false, u8_weights = false, bias = true;
  std::string act;  // "", "relu", "clip"
  // Residual Z: 0 none, 1 the conv's shape, 2 [1, M, 1, OW] (broadcast into it), 3 [2, M, OH, OW] with
  // n = 1 (the output grows to Z's batch).
  int z = 0;
};

ops::Attrs conv_attrs(const Spec& s) {
  ops::Attrs a;
  a.set_int("group", s.group);
  a.set_ints("kernel_shape", {s.k, s.k});
  a.set_ints("strides", {s.stride, s.stride});
  a.set_ints("dilations", {s.dilation, s.dilation});
  a.set_ints("pads", s.pads);
  return a;
}

struct Inputs {
  Tensor x, w, ws, wz, bias, z;
};

Shape conv_out_shape(const Spec& s) {
  const int64_t ekh = (s.k - 1) * s.dilation + 1;
  const int64_t oh = (s.h + s.pads[0] + s.pads[2] - ekh) / s.stride + 1;
  const int64_t ow = (s.w + s.pads[1] + s.pads[3] - ekh) / s.stride + 1;
  return {s.n, s.m, oh, ow};
}

Inputs make_inputs(const Spec& s, uint32_t seed) {
  Inputs in;
  in.x = make_random({s.n, s.c, s.h, s.w}, seed);
  const DType wt = s.u8_weights ? DType::u8 : DType::i8;
  in.w = s.u8_weights ? random_int8(wt, {s.m, s.c / s.group, s.k, s.k}, 0, 255, seed + 1)
                      : random_int8(wt, {s.m, s.c / s.group, s.k, s.k}, -127, 127, seed + 1);
  const int64_t nq = s.per_channel ? s.m : 1;
  in.ws = Tensor(DType::f32, {nq});
  in.wz = Tensor(wt, {nq});
  for (int64_t i = 0; i < nq; ++i) {
    in.ws.data_as<float>()[i] = 0.004f * static_cast<float>(1 + i % 4);
    if (s.u8_weights)
      in.wz.data_as<uint8_t>()[i] = static_cast<uint8_t>(120 + i % 5);
    else
      in.wz.data_as<int8_t>()[i] = static_cast<int8_t>(i % 3 - 1);
  }
  in.bias = Tensor(DType::f32, {s.m});
  for (int64_t i = 0; i < s.m; ++i) in.bias.data_as<float>()[i] = 0.05f * static_cast<float>(i % 7) - 0.15f;
  const Shape o = conv_out_shape(s);
  if (s.z == 1) in.z = make_random(o, seed + 2);
  if (s.z == 2) in.z = make_random({1, s.m, 1, o[3]}, seed + 2);
  if (s.z == 3) in.z = make_random({2, s.m, o[2], o[3]}, seed + 2);
  return in;
}

/// act(acc * (x_s * w_s[co]) + bias[co] [+ z]) from the ONNX ops.
Tensor reference(const Spec& s, const Inputs& in) {
  ops::EvalOptions o3;
  o3.opset = 13;
  o3.num_outputs = 3;
  const auto q = ops::eval_single("DynamicQuantizeLinear", {in.x}, {}, o3);
  ops::EvalOptions o1;
  o1.opset = 13;
  const Tensor acc = ops::eval_single("ConvInteger", {q[0], in.w, q[2], in.wz}, conv_attrs(s), o1)[0];
  Tensor y(DType::f32, acc.shape());
  const int64_t plane = acc.shape()[2] * acc.shape()[3];
  for (int64_t i = 0; i < y.numel(); ++i) {
    const int64_t oc = (i / plane) % s.m;
    y.data_as<float>()[i] = static_cast<float>(acc.data_as<int32_t>()[i]) *
                                (q[1].data_as<float>()[0] * in.ws.data_as<float>()[s.per_channel ? oc : 0]) +
                            (s.bias ? in.bias.data_as<float>()[oc] : 0.f);
  }
  if (s.z) y = ops::eval_single("Add", {y, in.z}, {}, o1)[0];
  for (int64_t i = 0; i < y.numel(); ++i) {
    float& v = y.data_as<float>()[i];
    if (s.act == "relu") v = std::max(v, 0.f);
    if (s.act == "clip") v = std::min(std::max(v, 0.f), 0.4f);
  }
  return y;
}

Tensor run_op(const Spec& s, const Inputs& in, bool constant, int threads) {
  ops::Attrs a = conv_attrs(s);
  if (!s.act.empty()) {
    a.set_string("activation", s.act);
    a.set_float("clip_min", 0.f);
    a.set_float("clip_max", 0.4f);
  }
  ops::EvalOptions o;
  o.domain = ops::kOrtkitDomain;
  o.opset = 1;
  o.inputs_constant = constant;
  if (threads > 1) o.threading = ops::testing::test_threads(threads);
  std::vector<Tensor> args{in.x, in.w, in.ws, in.wz};
  if (s.bias || s.z) args.push_back(s.bias ? in.bias : Tensor());
  if (s.z) args.push_back(in.z);
  return ops::eval_single("DynQuantConv", args, a, o)[0];
}

void check(const Spec& s, uint32_t seed) {
  const Inputs in = make_inputs(s, seed);
  const Tensor want = reference(s, in);
  double peak = 0;
  for (int64_t i = 0; i < want.numel(); ++i)
    peak = std::max(peak, std::fabs(double{want.data_as<float>()[i]}));
  REQUIRE(peak > 0.05);
  for (bool constant : {true, false})
    for (int threads : {1, 3}) {
      const Tensor got = run_op(s, in, constant, threads);
      REQUIRE(got.shape() == want.shape());
      double diff = 0;
      for (int64_t i = 0; i < got.numel(); ++i)
        diff = std::max(diff, std::fabs(double{got.data_as<float>()[i]} - want.data_as<float>()[i]));
      INFO("constant weights " << constant << ", threads " << threads << ", max |diff| " << diff);
      CHECK(diff <= 2e-6 * peak + 1e-7);
    }
}

}  // namespace

TEST_CASE("DynQuantConv matches the op-by-op dynamic int8 conv on every path", "[int8][dynconv]") {
  Spec s;
  SECTION("3x3 pad 1, per-tensor s8 weights") {
    check(s, 1);
  }
  SECTION("1x1 pointwise, per-channel, relu, batch 2") {
    s.n = 2, s.c = 8, s.m = 12, s.k = 1, s.pads = {0, 0, 0, 0}, s.per_channel = true, s.act = "relu";
    check(s, 2);
  }
  SECTION("1x1 over several pixel chunks (M = 64, 24x24)") {
    s.c = 8, s.m = 64, s.h = 24, s.w = 24, s.k = 1, s.pads = {0, 0, 0, 0}, s.act = "clip";
    check(s, 3);
  }
  SECTION("3x3 stride 2, asymmetric pads, u8 weights with zero points, clip, no bias") {
    s.c = 5, s.m = 7, s.h = 9, s.w = 8, s.stride = 2, s.pads = {0, 1, 1, 2}, s.u8_weights = true;
    s.per_channel = true, s.act = "clip", s.bias = false;
    check(s, 4);
  }
  SECTION("groups 2, dilation 2, batch 2") {
    s.n = 2, s.c = 6, s.m = 8, s.group = 2, s.dilation = 2, s.pads = {2, 2, 2, 2}, s.per_channel = true;
    check(s, 5);
  }
  SECTION("RGB stem: 3 channels, 3x3 stride 2") {
    s.c = 3, s.m = 16, s.h = 17, s.w = 20, s.stride = 2, s.act = "relu";
    check(s, 6);
  }
  SECTION("depthwise 3x3, small plane (flat kernel), clip") {
    s.c = 6, s.m = 6, s.group = 6, s.per_channel = true, s.act = "clip";
    check(s, 7);
  }
  SECTION("depthwise 3x3 stride 2, wide plane (row kernel), batch 2, u8 weights") {
    s.n = 2, s.c = 5, s.m = 5, s.group = 5, s.h = 6, s.w = 40, s.stride = 2, s.u8_weights = true;
    s.per_channel = true, s.act = "relu";
    check(s, 8);
  }
  SECTION("residual Z of the output's shape, relu after the add: chunked, unfolded and depthwise") {
    s.z = 1, s.act = "relu";
    check(s, 11);
    s.c = 8, s.m = 64, s.h = 24, s.w = 24, s.k = 1, s.pads = {0, 0, 0, 0}, s.bias = false;
    check(s, 12);
    s.c = 6, s.m = 6, s.group = 6, s.k = 3, s.h = 7, s.w = 6, s.pads = {1, 1, 1, 1}, s.act = "clip";
    check(s, 13);
  }
  SECTION("residual Z that broadcasts into the output, or makes it larger") {
    s.z = 2, s.act = "relu";
    check(s, 14);
    s.z = 3;
    check(s, 15);
    s.c = 4, s.m = 4, s.group = 4;  // depthwise
    check(s, 16);
  }
  SECTION("depthwise 5x5 pad 2 and depthwise with dilation 2 (generic loop)") {
    s.c = 4, s.m = 4, s.group = 4, s.k = 5, s.h = 9, s.w = 9, s.pads = {2, 2, 2, 2};
    check(s, 9);
    s.k = 3, s.dilation = 2, s.pads = {2, 1, 2, 1}, s.w = 11;
    check(s, 10);
  }
}

namespace {

/// x [1, 4, 6, 6] -> DynamicQuantizeLinear -> ConvInteger (3x3 pad 1, 6 channels) -> Cast -> Mul = "y0",
/// then `tail` adds the nodes after it and the output "y".
template <class Tail>
std::string dyn_conv_model(uint32_t seed, Tail&& tail) {
  ModelBuilder mb(13);
  mb.input("x", {int64_t{1}, int64_t{4}, int64_t{6}, int64_t{6}});
  mb.init("W_q", random_int8(DType::i8, {6, 4, 3, 3}, -127, 127, seed));
  mb.init("W_s", f32({}, {0.01f}));
  mb.node("DynamicQuantizeLinear", {"x"}, {"xq", "xs", "xz"});
  mb.node("Mul", {"xs", "W_s"}, {"sc"});
  ModelBuilder::attr_ints(mb.node("ConvInteger", {"xq", "W_q", "xz"}, {"acc"}), "pads", {1, 1, 1, 1});
  ModelBuilder::attr_int(mb.node("Cast", {"acc"}, {"accf"}), "to", 1);
  mb.node("Mul", {"accf", "sc"}, {"y0"});
  tail(mb);
  mb.output("y");
  return mb.bytes();
}

/// The model with every pass, and with `pass` disabled (which must leave `op` unfused): one DynQuantConv
/// and nothing else, and the same output bit for bit. Returns the fused output.
Tensor fused_equals_unfused(const std::string& model, const std::vector<NamedTensor>& feeds, const char* pass,
                            const char* op) {
  SessionOptions o;
  auto fused = Session::from_bytes(model, o);
  const auto counts = fused->op_counts();
  CHECK(counts.at("DynQuantConv") == 1);
  CHECK(counts.size() == 1);
  o.disabled_passes = {pass};
  auto plain = Session::from_bytes(model, o);
  CHECK(plain->op_counts().at(op) == 1);
  const Tensor a = fused->run(feeds)[0].clone(), b = plain->run(feeds)[0].clone();
  REQUIRE(a.shape() == b.shape());
  int64_t differ = 0;
  for (int64_t i = 0; i < a.numel(); ++i) differ += a.data_as<float>()[i] != b.data_as<float>()[i];
  CHECK(differ == 0);
  return a;
}

}  // namespace

TEST_CASE("a Relu / Clip after the dynamic int8 conv chain fuses into DynQuantConv", "[int8][dynconv]") {
  const std::string model = dyn_conv_model(61, [](ModelBuilder& mb) {
    mb.init("lo", f32({}, {0.f}));
    mb.init("hi", f32({}, {0.3f}));
    mb.node("Clip", {"y0", "lo", "hi"}, {"y"});
  });
  const Tensor y =
      fused_equals_unfused(model, {{"x", make_random({1, 4, 6, 6}, 62)}}, "conv_act_fusion", "Clip");
  int clipped_hi = 0;
  for (int64_t i = 0; i < y.numel(); ++i) clipped_hi += y.data_as<float>()[i] == 0.3f;
  CHECK(clipped_hi > 0);
}

TEST_CASE("a residual Add [-> Relu] after the dynamic int8 conv chain fuses into DynQuantConv",
          "[int8][dynconv]") {
  const std::string model = dyn_conv_model(71, [](ModelBuilder& mb) {
    mb.input("r", {int64_t{1}, int64_t{6}, int64_t{6}, int64_t{6}});
    mb.node("Add", {"r", "y0"}, {"y1"});
    mb.node("Relu", {"y1"}, {"y"});
  });
  const Tensor y = fused_equals_unfused(
      model, {{"x", make_random({1, 4, 6, 6}, 72)}, {"r", make_random({1, 6, 6, 6}, 73)}}, "conv_add_fusion",
      "Add");
  int64_t zeros = 0;
  for (int64_t i = 0; i < y.numel(); ++i) zeros += y.data_as<float>()[i] == 0.f;
  CHECK(zeros > 0);
  CHECK(zeros < y.numel());
}

TEST_CASE("DynQuantConv on empty tensors: no batch, no pixels", "[int8][dynconv]") {
  for (bool constant : {true, false})
    for (const Shape& xs : {Shape{0, 4, 5, 5}, Shape{1, 4, 0, 5}}) {
      INFO("x " << shape_str(xs) << " constant weights " << constant);
      ops::Attrs a;
      a.set_ints("pads", {1, 1, 1, 1});
      ops::EvalOptions o;
      o.domain = ops::kOrtkitDomain;
      o.opset = 1;
      o.inputs_constant = constant;
      const Tensor w = random_int8(DType::i8, {6, 4, 3, 3}, -127, 127, 81);
      const Tensor y =
          ops::eval_single("DynQuantConv", {Tensor(DType::f32, xs), w, f32({}, {0.01f})}, a, o)[0];
      CHECK(y.numel() == 0);
      CHECK(y.shape()[1] == 6);
    }
}
