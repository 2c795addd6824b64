// QDQ Conv fusion (graph/passes/qdq_conv_fusion.cpp -> ortkit.QdqConv): small statically quantized conv
// models in QDQ form (Q(x) -> DQ -> Conv(DQ(W), DQ(int32 bias)) [-> Relu/Clip] -> Q [-> next conv]) run
// fused and with the pass disabled (DQ -> fp32 Conv -> Q). The quantized outputs must agree within one
// output quantization step (the fp32 conv sums in float, the fused one in int32, so a value sitting on
// a rounding tie may land one step apart), with almost every element identical. Patterns that are not
// exact (per-channel activation scales, a Conv result read twice) must stay unfused. Depthwise convs
// (QdqConv's direct loop) are swept over the shapes that pick each fp32 plane kernel.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "engine_model_builder.h"
#include "graph/from_onnx.h"
#include "graph/optimizer.h"
#include "int8_test_util.h"
#include "ops/eval.h"
#include "ops/registry.h"
#include "ortkit/session.h"

using namespace ortkit;
using namespace ortkit::testing;

namespace {

/// prefix + i (built by append: GCC 12's -Wrestrict misfires on "literal" + std::string).
std::string nm(const char* prefix, size_t i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

struct ConvSpec {
  int64_t c = 4, m = 6, k = 3, group = 1, stride = 1, dilation = 1;
  int64_t kw = 0;    // kernel width when not k (a k x kw kernel)
  float gain = 1.f;  // weight scales times this: a wider output range after a narrow input
  std::vector<int64_t> pads{1, 1, 1, 1};
  bool per_channel = false;  // per-output-channel weight scales / zero points (DQ axis 0)
  bool u8_weights = false;   // u8 weights with a zero point of 120 (else s8, zero point 0 or small)
  std::string act;           // "", "Relu", "Clip"
  bool float_bias = false;   // a float bias constant instead of DQ(int32)
  bool no_bias = false;
};

struct Model {
  ModelBuilder mb{13};
  bool s8 = false;  // s8 activations (QuantizeLinear zero points s8)
};

/// Appends one QDQ conv reading quantized `in` (zero point / scale names in_s, in_z) and producing the
/// quantized `out` with new parameters out_s / out_z.
void add_conv(Model& md, const ConvSpec& sp, const std::string& in, const std::string& out, int idx) {
  ModelBuilder& mb = md.mb;
  const std::string p = nm("c", static_cast<size_t>(idx)) + "_";
  const int64_t kw = sp.kw ? sp.kw : sp.k;
  const int64_t cg = sp.c / sp.group, kk = sp.k * kw, kdim = cg * kk;
  const DType wt = sp.u8_weights ? DType::u8 : DType::i8;
  Tensor w = sp.u8_weights ? random_int8(wt, {sp.m, cg, sp.k, kw}, 0, 255, 31 + idx)
                           : random_int8(wt, {sp.m, cg, sp.k, kw}, -127, 127, 31 + idx);
  const int64_t nq = sp.per_channel ? sp.m : 1;
  Tensor ws = sp.per_channel ? Tensor(DType::f32, {sp.m}) : Tensor(DType::f32, {});
  Tensor wz = sp.per_channel ? Tensor(wt, {sp.m}) : Tensor(wt, {});
  const float base = 1.f / (127.f * std::sqrt(static_cast<float>(kdim)));
  for (int64_t i = 0; i < nq; ++i) {
    ws.data_as<float>()[i] = sp.gain * base * (0.6f + 0.15f * static_cast<float>(i % 5));
    if (sp.u8_weights)
      wz.data_as<uint8_t>()[i] = static_cast<uint8_t>(120 + i % 3);
    else
      wz.data_as<int8_t>()[i] = static_cast<int8_t>(sp.per_channel ? i % 3 - 1 : 0);
  }
  mb.init(p + "W", w);
  mb.init(p + "Ws", ws);
  mb.init(p + "Wz", wz);
  mb.node("DequantizeLinear",
          {in, idx == 0 ? "x_s" : nm("c", static_cast<size_t>(idx - 1)) + "_ys",
           idx == 0 ? "x_z" : nm("c", static_cast<size_t>(idx - 1)) + "_yz"},
          {p + "xd"});
  ModelBuilder::attr_int(mb.node("DequantizeLinear", {p + "W", p + "Ws", p + "Wz"}, {p + "Wd"}), "axis", 0);
  std::vector<std::string> conv_in = {p + "xd", p + "Wd"};
  if (!sp.no_bias) {
    if (sp.float_bias) {
      mb.init(p + "b", make_random({sp.m}, 77 + idx));
      conv_in.push_back(p + "b");
    } else {
      // ORT's form: int32 bias with scale x_s * w_s (per channel), zero point 0.
      const float xs = idx == 0 ? (md.s8 ? 1.f / 127.f : 2.f / 255.f) : (md.s8 ? 1.5f / 127.f : 3.f / 255.f);
      Tensor bq(DType::i32, {sp.m}), bs(DType::f32, {sp.m});
      for (int64_t i = 0; i < sp.m; ++i) {
        bs.data_as<float>()[i] = xs * ws.data_as<float>()[sp.per_channel ? i : 0];
        bq.data_as<int32_t>()[i] = static_cast<int32_t>((i * 53) % 400 - 200);
      }
      if (!sp.per_channel) bs = f32({}, {bs.data_as<float>()[0]});
      mb.init(p + "bq", bq);
      mb.init(p + "bs", bs);
      ModelBuilder::attr_int(mb.node("DequantizeLinear", {p + "bq", p + "bs"}, {p + "bd"}), "axis", 0);
      conv_in.push_back(p + "bd");
    }
  }
  auto& cv = mb.node("Conv", conv_in, {p + "y"});
  ModelBuilder::attr_int(cv, "group", sp.group);
  ModelBuilder::attr_ints(cv, "kernel_shape", {sp.k, kw});
  ModelBuilder::attr_ints(cv, "strides", {sp.stride, sp.stride});
  ModelBuilder::attr_ints(cv, "dilations", {sp.dilation, sp.dilation});
  ModelBuilder::attr_ints(cv, "pads", sp.pads);
  std::string yv = p + "y";
  if (sp.act == "Relu") {
    mb.node("Relu", {yv}, {p + "r"});
    yv = p + "r";
  } else if (sp.act == "Clip") {
    mb.init(p + "lo", f32({}, {0.f}));
    mb.init(p + "hi", f32({}, {0.6f}));
    mb.node("Clip", {yv, p + "lo", p + "hi"}, {p + "r"});
    yv = p + "r";
  }
  // Output range about +-1.5 (s8, or u8 around 128); after Relu/Clip, [0, 1.5] on u8 with zero point 0.
  const bool pos = !sp.act.empty();
  if (md.s8) {
    mb.init(p + "ys", f32({}, {1.5f / 127.f}));
    mb.init(p + "yz", s8({}, {static_cast<int8_t>(pos ? -100 : 3)}));
  } else {
    mb.init(p + "ys", f32({}, {pos ? 1.5f / 255.f : 3.f / 255.f}));
    mb.init(p + "yz", u8({}, {static_cast<uint8_t>(pos ? 0 : 128)}));
  }
  mb.node("QuantizeLinear", {yv, p + "ys", p + "yz"}, {out});
}

/// The float input x (shape) quantized to "xq" with scale x_s and zero point x_z (s8 or u8 as md.s8).
void quantized_input(Model& md, const std::vector<DimSpec>& shape) {
  ModelBuilder& mb = md.mb;
  mb.input("x", shape);
  if (md.s8) {
    mb.init("x_s", f32({}, {1.f / 127.f}));
    mb.init("x_z", s8({}, {0}));
  } else {
    mb.init("x_s", f32({}, {2.f / 255.f}));
    mb.init("x_z", u8({}, {128}));
  }
  mb.node("QuantizeLinear", {"x", "x_s", "x_z"}, {"xq"});
}

/// x [n, c, h, w] float -> Q -> conv(s) -> quantized output "y".
void build(Model& md, const std::vector<ConvSpec>& convs, int64_t n, int64_t h, int64_t w) {
  ModelBuilder& mb = md.mb;
  quantized_input(md, {n, convs[0].c, h, w});
  for (size_t i = 0; i < convs.size(); ++i)
    add_conv(md, convs[i], i == 0 ? "xq" : nm("q", i - 1), i + 1 == convs.size() ? "y" : nm("q", i),
             static_cast<int>(i));
  mb.output("y", md.s8 ? 3 : 2);
}

struct Result {
  Tensor y;
  std::map<std::string, int> ops;
};

Result run(const Model& md, const Tensor& x, bool fused) {
  SessionOptions o;
  o.threads = 2;
  if (!fused) o.disabled_passes = {"qdq_conv_fusion"};
  auto s = Session::from_bytes(md.mb.bytes(), o);
  Result r;
  r.ops = s->op_counts();
  r.y = s->run({{"x", x}})[0].clone();
  return r;
}

/// Fused vs unfused: at most 1 step apart everywhere, identical on nearly all elements; the output must
/// use a real range (not all saturated or all zero point).
void check_match(const Model& md, const Tensor& x, int expect_fused) {
  const Result f = run(md, x, true), u = run(md, x, false);
  const int n_fused = f.ops.count("QdqConv") ? f.ops.at("QdqConv") : 0;
  CHECK(n_fused == expect_fused);
  if (expect_fused > 0) CHECK(f.ops.count("Conv") == 0);
  CHECK(u.ops.count("QdqConv") == 0);
  REQUIRE(f.y.shape() == u.y.shape());
  REQUIRE(f.y.dtype() == u.y.dtype());
  int max_diff = 0;
  int64_t differ = 0;
  int lo = 1000, hi = -1000;
  for (int64_t i = 0; i < f.y.numel(); ++i) {
    const int a = ival(f.y, i), b = ival(u.y, i);
    max_diff = std::max(max_diff, std::abs(a - b));
    differ += a != b;
    lo = std::min(lo, b);
    hi = std::max(hi, b);
  }
  INFO("elements " << f.y.numel() << ", differ " << differ << ", unfused range [" << lo << ", " << hi << "]");
  CHECK(max_diff <= 1);
  CHECK(differ * 50 <= f.y.numel());  // <= 2%: only rounding ties
  CHECK(hi - lo > 20);
}

}  // namespace

TEST_CASE("QDQ Conv fuses into QdqConv and matches the unfused graph", "[int8][qdq]") {
  SECTION("3x3 pad 1, per-tensor s8 weights, int32 bias, Conv -> Q") {
    Model md;
    build(md, {ConvSpec{}}, 1, 7, 6);
    check_match(md, make_random({1, 4, 7, 6}, 1), 1);
  }
  SECTION("stride 2, asymmetric pads, per-channel weights, Relu") {
    Model md;
    ConvSpec s;
    s.c = 5, s.m = 7, s.stride = 2, s.pads = {0, 1, 1, 2}, s.per_channel = true, s.act = "Relu";
    build(md, {s}, 1, 9, 8);
    check_match(md, make_random({1, 5, 9, 8}, 2), 1);
  }
  SECTION("groups 2, dilation 2, Clip(0, 0.6), u8 weights with zero points, batch 2") {
    Model md;
    ConvSpec s;
    s.c = 6, s.m = 8, s.group = 2, s.dilation = 2, s.pads = {2, 2, 2, 2}, s.act = "Clip";
    s.per_channel = true, s.u8_weights = true;
    build(md, {s}, 2, 6, 7);
    check_match(md, make_random({2, 6, 6, 7}, 3), 1);
  }
  SECTION("s8 activations: a chain of 1x1 (direct) and 3x3 stride 2 convs stays int8") {
    Model md;
    md.s8 = true;
    ConvSpec a;
    a.c = 8, a.m = 12, a.k = 1, a.pads = {0, 0, 0, 0}, a.per_channel = true, a.act = "Relu";
    ConvSpec b;
    b.c = 12, b.m = 16, b.stride = 2, b.float_bias = true;
    ConvSpec c;
    c.c = 16, c.m = 5, c.k = 1, c.stride = 2, c.pads = {0, 0, 0, 0}, c.no_bias = true, c.per_channel = true;
    build(md, {a, b, c}, 1, 10, 9);
    check_match(md, make_random({1, 8, 10, 9}, 4), 3);
  }
  SECTION("u8 activations: grouped 1x1 (direct, lda = C) then 3x3") {
    Model md;
    ConvSpec a;
    a.c = 8, a.m = 8, a.k = 1, a.group = 4, a.pads = {0, 0, 0, 0}, a.act = "Relu";
    ConvSpec b;
    b.c = 8, b.m = 4, b.per_channel = true;
    build(md, {a, b}, 1, 5, 5);
    check_match(md, make_random({1, 8, 5, 5}, 5), 2);
  }
}

TEST_CASE("QDQ depthwise convs fuse into QdqConv's direct loop and match the unfused graph", "[int8][qdq]") {
  // Output widths pick the plane kernel: stride 1 from 16 to 64 wide (4 rows or more) the row-group one,
  // other widths <= 64 (stride 1) / <= 8 (stride 2) the flat one, wider the KxK row kernel; dilation, 7x7
  // and non-square kernels the generic loop.
  struct Case {
    int64_t k, stride, dilation, h, w, batch;
    std::vector<int64_t> pads;
    const char* act;
    bool per_channel, u8_weights, s8, float_bias;
  };
  const Case cases[] = {
      {3, 1, 1, 6, 6, 1, {1, 1, 1, 1}, "", true, false, false, false},
      {3, 2, 1, 9, 8, 2, {0, 1, 1, 0}, "Relu", false, false, false, false},
      {3, 1, 1, 5, 70, 1, {1, 1, 1, 1}, "Clip", true, true, false, true},
      {3, 1, 1, 4, 16, 1, {1, 1, 1, 1}, "Relu", true, false, false, false},
      {3, 1, 1, 5, 64, 1, {1, 1, 1, 1}, "", false, false, true, false},
      {3, 2, 1, 7, 21, 1, {1, 1, 1, 1}, "Relu", true, false, true, false},
      {5, 1, 1, 9, 9, 1, {2, 2, 2, 2}, "", false, true, true, false},
      {5, 2, 1, 11, 30, 1, {2, 2, 2, 2}, "Clip", true, false, false, false},
      {3, 1, 2, 8, 9, 1, {2, 2, 2, 2}, "Relu", true, false, false, false},
      {7, 1, 1, 9, 10, 1, {3, 3, 3, 3}, "", true, false, true, true},
      {1, 1, 1, 4, 5, 1, {0, 0, 0, 0}, "", false, false, false, false},
  };
  int i = 0;
  for (const Case& cs : cases) {
    INFO("case " << i << ": k " << cs.k << " stride " << cs.stride << " dilation " << cs.dilation << " "
                 << cs.h << "x" << cs.w << " act '" << cs.act << "'");
    Model md;
    md.s8 = cs.s8;
    ConvSpec s;
    s.c = 6, s.m = 6, s.group = 6, s.k = cs.k, s.stride = cs.stride, s.dilation = cs.dilation;
    s.pads = cs.pads, s.act = cs.act, s.per_channel = cs.per_channel, s.u8_weights = cs.u8_weights;
    s.float_bias = cs.float_bias;
    build(md, {s}, cs.batch, cs.h, cs.w);
    check_match(md, make_random({cs.batch, 6, cs.h, cs.w}, 40 + i), 1);
    ++i;
  }
  SECTION("in a MobileNet block: 1x1 expand, then depthwise, all int8") {
    Model md;
    ConvSpec a;
    a.c = 4, a.m = 12, a.k = 1, a.pads = {0, 0, 0, 0}, a.per_channel = true, a.act = "Relu";
    ConvSpec b;
    b.c = 12, b.m = 12, b.group = 12, b.stride = 2, b.per_channel = true, b.act = "Relu";
    build(md, {a, b}, 1, 12, 13);
    check_match(md, make_random({1, 4, 12, 13}, 60), 2);
  }
}

TEST_CASE("QDQ Conv patterns that are not exact stay unfused", "[int8][qdq]") {
  SECTION("per-channel activation scales") {
    Model md;
    build(md, {ConvSpec{}}, 1, 5, 5);
    Tensor xs(DType::f32, {4});
    for (int i = 0; i < 4; ++i) xs.data_as<float>()[i] = 0.01f * static_cast<float>(i + 1);
    Tensor xz(DType::u8, {4});
    std::fill_n(xz.data_as<uint8_t>(), 4, uint8_t{128});
    md.mb.init("x_s4", xs);
    md.mb.init("x_z4", xz);
    for (auto& n : *md.mb.proto().mutable_graph()->mutable_node())
      if (n.op_type() == "DequantizeLinear" && n.input(0) == "xq") {
        n.set_input(1, "x_s4");
        n.set_input(2, "x_z4");
        ModelBuilder::attr_int(n, "axis", 1);
      }
    graph::Graph g = graph::from_onnx(md.mb.proto(), "test", ".");
    CHECK(graph::fuse_qdq_conv(g, true) == 0);
  }
  SECTION("a Conv result that is also a graph output") {
    Model md;
    build(md, {ConvSpec{}}, 1, 5, 5);
    md.mb.output("c0_y");
    graph::Graph g = graph::from_onnx(md.mb.proto(), "test", ".");
    CHECK(graph::fuse_qdq_conv(g, true) == 0);
  }
  SECTION("weights that are not DequantizeLinear of a constant") {
    Model md;
    build(md, {ConvSpec{}}, 1, 5, 5);
    for (auto& n : *md.mb.proto().mutable_graph()->mutable_node())
      if (n.op_type() == "Conv") n.set_input(1, "c0_Wf");
    md.mb.init("c0_Wf", make_random({6, 4, 3, 3}, 9));
    graph::Graph g = graph::from_onnx(md.mb.proto(), "test", ".");
    CHECK(graph::fuse_qdq_conv(g, true) == 0);
  }
  SECTION("the pass can be disabled by name") {
    Model md;
    build(md, {ConvSpec{}}, 1, 5, 5);
    graph::Graph g = graph::from_onnx(md.mb.proto(), "test", ".");
    graph::OptimizeOptions oo;
    oo.disabled_passes = {"qdq_conv_fusion"};
    graph::optimize(g, oo);
    int qdq = 0;
    for (const graph::Node& n : g.nodes) qdq += n.op_type == "QdqConv";
    CHECK(qdq == 0);
  }
}

TEST_CASE("fused QDQ convs hand pixel-major (NHWC) tensors to each other", "[int8][qdq]") {
  // A bottleneck (1x1 -> 3x3 -> 1x1), batch 2: both inner tensors go NHWC; the result equals the same
  // fused graph with every tensor NCHW, bit for bit.
  Model md;
  md.s8 = true;
  ConvSpec a;
  a.c = 8, a.m = 12, a.k = 1, a.pads = {0, 0, 0, 0}, a.per_channel = true;
  ConvSpec b;
  b.c = 12, b.m = 12, b.per_channel = true, b.act = "Relu";
  ConvSpec c;
  c.c = 12, c.m = 16, c.k = 1, c.pads = {0, 0, 0, 0};
  build(md, {a, b, c}, 2, 9, 7);
  const Tensor x = make_random({2, 8, 9, 7}, 91);
  check_match(md, x, 3);
  graph::Graph g = graph::from_onnx(md.mb.proto(), "test", ".");
  REQUIRE(graph::fuse_qdq_conv(g, true) == 3);
  CHECK(graph::qdq_conv_layout(g) == 2);
  int nhwc_in = 0, nhwc_out = 0;
  for (const graph::Node& n : g.nodes) {
    nhwc_in += n.attrs.get_string("input_layout", "NCHW") == "NHWC";
    nhwc_out += n.attrs.get_string("output_layout", "NCHW") == "NHWC";
  }
  CHECK(nhwc_in == 2);
  CHECK(nhwc_out == 2);
  SessionOptions o;
  o.threads = 2;
  const Tensor with = Session::from_bytes(md.mb.bytes(), o)->run({{"x", x}})[0].clone();
  o.disabled_passes = {"qdq_conv_layout"};
  const Tensor without = Session::from_bytes(md.mb.bytes(), o)->run({{"x", x}})[0].clone();
  REQUIRE(with.shape() == without.shape());
  CHECK(std::memcmp(with.data(), without.data(), static_cast<size_t>(with.numel())) == 0);

  SECTION("not for a tensor leaving the graph, nor into a depthwise conv whose x is NCHW") {
    Model out;
    build(out, {a, b}, 1, 6, 6);
    out.mb.output("q0");  // the first conv's quantized result is also a graph output
    graph::Graph go = graph::from_onnx(out.mb.proto(), "test", ".");
    REQUIRE(graph::fuse_qdq_conv(go, true) == 2);
    CHECK(graph::qdq_conv_layout(go) == 0);

    // The depthwise conv reads QuantizeLinear's NCHW output, so its own output stays NCHW too.
    Model dw;
    ConvSpec d;
    d.c = 8, d.m = 8, d.group = 8;
    ConvSpec e = a;
    build(dw, {d, e}, 1, 6, 6);
    graph::Graph gd = graph::from_onnx(dw.mb.proto(), "test", ".");
    REQUIRE(graph::fuse_qdq_conv(gd, true) == 2);
    CHECK(graph::qdq_conv_layout(gd) == 0);
  }
}

namespace {

/// The fused graph with and without qdq_conv_layout on `threads` threads: the same output bits.
void check_layout_bits(const ModelBuilder& mb, const Tensor& x, int threads) {
  SessionOptions o;
  o.threads = threads;
  const Tensor with = Session::from_bytes(mb.bytes(), o)->run({{"x", x}})[0].clone();
  o.disabled_passes = {"qdq_conv_layout"};
  const Tensor without = Session::from_bytes(mb.bytes(), o)->run({{"x", x}})[0].clone();
  REQUIRE(with.shape() == without.shape());
  int64_t differ = 0;
  for (int64_t i = 0; i < with.numel(); ++i) differ += ival(with, i) != ival(without, i);
  CHECK(differ == 0);
}

int count_layout(const graph::Graph& g, const char* attr) {
  int n = 0;
  for (const graph::Node& nd : g.nodes) n += nd.attrs.get_string(attr, "NCHW") == "NHWC";
  return n;
}

}  // namespace

TEST_CASE("depthwise QdqConvs run pixel-major between 1x1 convs with the same bits", "[int8][qdq]") {
  // 1x1 -> depthwise -> 1x1 (MobileNet's block): the depthwise conv's x and y go NHWC and its pixel loop
  // must give the plane loop's bits, over kernel sizes (3x3, 5x5 and the generic 7x1 / 2x2), strides,
  // dilation, asymmetric pads, channel counts around the 16-lane blocks, u8 / s8 activations, u8
  // weights with zero points, every activation, batch 2 and several threads.
  struct Case {
    int64_t ch, kh, kw, stride, dilation;
    std::vector<int64_t> pads;
    bool s8, u8w, per_channel;
    const char* act;
    int64_t n, h, w;
  };
  const Case cases[] = {
      {16, 3, 3, 1, 1, {1, 1, 1, 1}, false, false, true, "Clip", 1, 9, 11},
      {24, 3, 3, 2, 1, {0, 0, 1, 1}, false, false, true, "Relu", 2, 10, 9},
      {12, 3, 3, 1, 2, {2, 2, 2, 2}, true, false, false, "", 1, 8, 7},
      {33, 5, 5, 2, 1, {2, 1, 2, 3}, false, true, true, "Clip", 1, 11, 12},
      {40, 5, 5, 1, 1, {2, 2, 2, 2}, true, true, false, "Relu", 2, 7, 7},
      {17, 7, 1, 1, 1, {3, 0, 3, 0}, false, false, true, "", 1, 9, 5},
      {32, 2, 2, 2, 1, {0, 0, 0, 0}, false, false, true, "Clip", 1, 8, 8},
      {16, 3, 3, 1, 1, {1, 1, 1, 1}, false, false, true, "Relu", 3, 1, 2},
  };
  for (const Case& k : cases) {
    Model md;
    md.s8 = k.s8;
    ConvSpec a;
    a.c = 5, a.m = k.ch, a.k = 1, a.pads = {0, 0, 0, 0}, a.per_channel = true, a.act = "Relu";
    ConvSpec d;
    d.c = d.m = d.group = k.ch;
    d.k = k.kh, d.kw = k.kw;
    d.stride = k.stride, d.dilation = k.dilation, d.pads = k.pads, d.u8_weights = k.u8w;
    d.per_channel = k.per_channel, d.act = k.act;
    ConvSpec c;
    c.c = k.ch, c.m = 6, c.k = 1, c.pads = {0, 0, 0, 0}, c.gain = 6.f;
    build(md, {a, d, c}, k.n, k.h, k.w);
    INFO("channels " << k.ch << ", kernel " << k.kh << "x" << k.kw << ", stride " << k.stride << ", act "
                     << k.act << ", batch " << k.n);
    graph::Graph g = graph::from_onnx(md.mb.proto(), "test", ".");
    REQUIRE(graph::fuse_qdq_conv(g, true) == 3);
    CHECK(graph::qdq_conv_layout(g) == 2);
    CHECK(count_layout(g, "input_layout") == 2);
    CHECK(count_layout(g, "output_layout") == 2);
    const Tensor x = make_random({k.n, 5, k.h, k.w}, 95);
    for (int threads : {1, 3}) check_layout_bits(md.mb, x, threads);
    if (k.h * k.w > 2) check_match(md, x, 3);  // a 1x2 image has too few outputs for its range check
  }
}

TEST_CASE("grouped and strided QdqConvs take and give NHWC with the same bits", "[int8][qdq]") {
  // 1x1 -> grouped conv (a GEMM per group: 3x3 stride 2 through im2col, or 1x1 read in place) -> 1x1:
  // both inner tensors go NHWC, and the groups' column offsets into the pixel-major rows must give the
  // bits of the NCHW run, and stay within a step of the unfused graph.
  for (int64_t k : {3, 1}) {
    Model md;
    ConvSpec a;
    a.c = 6, a.m = 16, a.k = 1, a.pads = {0, 0, 0, 0}, a.per_channel = true, a.act = "Relu";
    ConvSpec gconv;
    gconv.c = 16, gconv.m = 24, gconv.group = 4, gconv.k = k, gconv.stride = k == 3 ? 2 : 1;
    gconv.pads = k == 3 ? std::vector<int64_t>{1, 0, 1, 1} : std::vector<int64_t>{0, 0, 0, 0};
    gconv.per_channel = true, gconv.act = "Clip";
    ConvSpec c;
    c.c = 24, c.m = 6, c.k = 1, c.pads = {0, 0, 0, 0}, c.gain = 3.f;
    build(md, {a, gconv, c}, 2, 9, 8);
    INFO("grouped kernel " << k);
    graph::Graph g = graph::from_onnx(md.mb.proto(), "test", ".");
    REQUIRE(graph::fuse_qdq_conv(g, true) == 3);
    CHECK(graph::qdq_conv_layout(g) == 2);
    const Tensor x = make_random({2, 6, 9, 8}, 97);
    for (int threads : {1, 3}) check_layout_bits(md.mb, x, threads);
    check_match(md, x, 3);
  }
}

TEST_CASE("a residual QdqAdd passes NHWC tensors on with the same bits", "[int8][qdq]") {
  // x -> 1x1 -> q0 -> depthwise -> q1 -> 1x1 -> q2; q3 = Q(DQ(q0) + DQ(q2)); q3 -> 1x1 -> y. q0 has two
  // readers (the depthwise conv and the add), q3 is the add's: all four inner tensors go NHWC. When the
  // add reads the quantized graph input (NCHW) instead of q0, it ties q2 and q3 to NCHW; q0 and q1 stay
  // NHWC.
  for (int variant = 0; variant < 3; ++variant) {
    const bool signed_x = variant == 1, add_reads_x = variant == 2;
    const int64_t cx = add_reads_x ? 20 : 6;
    Model md;
    md.s8 = signed_x;
    ModelBuilder& mb = md.mb;
    quantized_input(md, {2, cx, 7, 9});
    ConvSpec a;
    a.c = cx, a.m = 20, a.k = 1, a.pads = {0, 0, 0, 0}, a.per_channel = true;
    ConvSpec d;
    d.c = d.m = d.group = 20, d.per_channel = true, d.act = "Clip";
    ConvSpec c;
    c.c = 20, c.m = 20, c.k = 1, c.pads = {0, 0, 0, 0};
    ConvSpec e;
    e.c = 20, e.m = 6, e.k = 1, e.pads = {0, 0, 0, 0}, e.gain = 3.f;
    add_conv(md, a, "xq", "q0", 0);
    add_conv(md, d, "q0", "q1", 1);
    add_conv(md, c, "q1", "q2", 2);
    if (add_reads_x)
      mb.node("DequantizeLinear", {"xq", "x_s", "x_z"}, {"r0"});
    else
      mb.node("DequantizeLinear", {"q0", "c0_ys", "c0_yz"}, {"r0"});
    mb.node("DequantizeLinear", {"q2", "c2_ys", "c2_yz"}, {"r2"});
    mb.node("Add", {"r0", "r2"}, {"sum"});
    mb.node("QuantizeLinear", {"sum", "c2_ys", "c2_yz"}, {"q3"});  // conv 3 reads its x with c2's scale
    add_conv(md, e, "q3", "y", 3);
    mb.output("y", signed_x ? 3 : 2);
    INFO("variant " << variant);
    graph::Graph g = graph::from_onnx(mb.proto(), "test", ".");
    REQUIRE(graph::fuse_qdq_conv(g, true) == 4);
    REQUIRE(graph::fuse_qdq_add(g) == 1);
    CHECK(graph::qdq_conv_layout(g) == (add_reads_x ? 2 : 4));
    CHECK(count_layout(g, "input_layout") == (add_reads_x ? 2 : 3));
    CHECK(count_layout(g, "output_layout") == (add_reads_x ? 2 : 3));
    const Tensor x = make_random({2, cx, 7, 9}, 96);
    for (int threads : {1, 3}) check_layout_bits(mb, x, threads);
  }
}

TEST_CASE("QdqConv names a bad layout attribute, and a depthwise conv with two layouts", "[int8][qdq]") {
  const std::vector<Tensor> in = {u8({1, 4, 3, 3}, std::vector<uint8_t>(36, 130)),
                                  f32({}, {0.02f}),
                                  u8({}, {128}),
                                  random_int8(DType::i8, {4, 1, 1, 1}, -100, 100, 93),
                                  f32({}, {0.01f}),
                                  s8({}, {0}),
                                  Tensor(),
                                  f32({}, {0.05f}),
                                  u8({}, {128})};
  ops::EvalOptions o;
  o.domain = ops::kOrtkitDomain;
  o.opset = 1;
  o.inputs_constant = true;
  ops::Attrs a;
  a.set_string("input_layout", "NCWH");
  CHECK_THROWS_WITH(ops::eval_single("QdqConv", in, a, o),
                    Catch::Contains("input_layout must be NCHW or NHWC"));
  ops::Attrs dw;
  dw.set_int("group", 4);
  dw.set_string("output_layout", "NHWC");
  CHECK_THROWS_WITH(ops::eval_single("QdqConv", in, dw, o),
                    Catch::Contains("input_layout and output_layout alike"));
}
