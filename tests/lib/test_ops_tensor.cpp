// Tensor / data-movement ops: Pad modes and negative pads, Resize edge cases (identity, axes, errors),
// scatter reductions, GatherND batch_dims, Trilu, TopK ties, NonZero, Unique, error paths.
#include <algorithm>
#include <catch2/catch.hpp>

#include "ops/eval.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

TEST_CASE("Pad: modes, negative pads, axes input", "[ops][tensor]") {
  const Tensor x = f32({1, 3}, {1, 2, 3});
  auto pad = [&](const std::string& mode, std::vector<int64_t> pads, int opset = 13) {
    Attrs a;
    a.set_string("mode", mode);
    return vals<float>(eval_single("Pad", {x, i64({4}, pads)}, a, at(opset))[0]);
  };
  CHECK(pad("constant", {0, 2, 0, 1}) == std::vector<float>{0, 0, 1, 2, 3, 0});
  CHECK(pad("reflect", {0, 2, 0, 2}) == std::vector<float>{3, 2, 1, 2, 3, 2, 1});
  CHECK(pad("edge", {0, 2, 0, 1}) == std::vector<float>{1, 1, 1, 2, 3, 3});
  CHECK(pad("wrap", {0, 2, 0, 1}, 19) == std::vector<float>{2, 3, 1, 2, 3, 1});
  CHECK(pad("constant", {0, -1, 0, 1}) == std::vector<float>{2, 3, 0});  // negative pad crops
  // constant_value and axes (opset 18): pad only axis -1.
  const Tensor y = eval_single("Pad", {x, i64({2}, {1, 1}), f32({}, {7}), i64({1}, {-1})}, {}, at(18))[0];
  CHECK(y.shape() == Shape{1, 5});
  CHECK(vals<float>(y) == std::vector<float>{7, 1, 2, 3, 7});
  // opset 2 attributes
  Attrs a;
  a.set_ints("pads", {1, 0, 0, 0});
  a.set_float("value", 5.f);
  const Tensor z = eval_single("Pad", {x}, a, at(2))[0];
  CHECK(vals<float>(z) == std::vector<float>{5, 5, 5, 1, 2, 3});
  // errors: wrong pads length, unknown mode, wrap before opset 19
  CHECK_THROWS_AS(eval_single("Pad", {x, i64({2}, {1, 1})}, {}, at(13)), Error);
  Attrs bad;
  bad.set_string("mode", "mirror");
  CHECK_THROWS_AS(eval_single("Pad", {x, i64({4}, {0, 1, 0, 1})}, bad, at(13)), Error);
  bad.set_string("mode", "wrap");
  CHECK_THROWS_AS(eval_single("Pad", {x, i64({4}, {0, 1, 0, 1})}, bad, at(13)), Error);
}

TEST_CASE("Resize: nearest / linear, identity, axes, errors", "[ops][tensor]") {
  const Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Attrs a;
  a.set_string("mode", "nearest");
  const Tensor up = eval_single("Resize", {x, Tensor(), f32({4}, {1, 1, 2, 2})}, a, at(13))[0];
  CHECK(up.shape() == Shape{1, 1, 4, 4});
  CHECK(vals<float>(up) == std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  // scale 1 everywhere: a plain copy
  const Tensor same = eval_single("Resize", {x, Tensor(), f32({4}, {1, 1, 1, 1})}, a, at(13))[0];
  CHECK(vals<float>(same) == vals<float>(x));
  // linear align_corners on one axis through `axes` (opset 18)
  Attrs l;
  l.set_string("mode", "linear");
  l.set_string("coordinate_transformation_mode", "align_corners");
  l.set_ints("axes", {-1});
  const Tensor lin = eval_single("Resize", {x, Tensor(), Tensor(), i64({1}, {3})}, l, at(18))[0];
  CHECK(lin.shape() == Shape{1, 1, 2, 3});
  CHECK(vals<float>(lin) == std::vector<float>{1, 1.5f, 2, 3, 3.5f, 4});
  // keep_aspect_ratio_policy (opset 18): one scale for every listed axis
  const Tensor wide = rnd({1, 1, 2, 4});
  Attrs k;
  k.set_ints("axes", {2, 3});
  k.set_string("keep_aspect_ratio_policy", "not_larger");
  CHECK(eval_single("Resize", {wide, Tensor(), Tensor(), i64({2}, {4, 4})}, k, at(18))[0].shape() ==
        Shape{1, 1, 2, 4});
  k.set_string("keep_aspect_ratio_policy", "not_smaller");
  CHECK(eval_single("Resize", {wide, Tensor(), Tensor(), i64({2}, {4, 4})}, k, at(18))[0].shape() ==
        Shape{1, 1, 4, 8});
  // errors: neither scales nor sizes; bad mode; scales of the wrong length
  CHECK_THROWS_AS(eval_single("Resize", {x, Tensor(), Tensor()}, a, at(13)), Error);
  Attrs bad;
  bad.set_string("mode", "area");
  CHECK_THROWS_AS(eval_single("Resize", {x, Tensor(), f32({4}, {1, 1, 2, 2})}, bad, at(13)), Error);
  CHECK_THROWS_AS(eval_single("Resize", {x, Tensor(), f32({2}, {2, 2})}, a, at(13)), Error);
  // Upsample opset 7 (scales attribute)
  Attrs u;
  u.set_string("mode", "nearest");
  Attribute sc;
  sc.kind = Attribute::Kind::floats;
  sc.floats = {1, 1, 1, 2};
  u.set("scales", sc);
  CHECK(eval_single("Upsample", {x}, u, at(7))[0].shape() == Shape{1, 1, 2, 4});
}

TEST_CASE("Scatter/Gather: reductions, negative indices, batch_dims, errors", "[ops][tensor]") {
  const Tensor data = f32({1, 4}, {1, 2, 3, 4});
  Attrs a;
  a.set_int("axis", 1);
  a.set_string("reduction", "max");
  const Tensor y =
      eval_single("ScatterElements", {data, i64({1, 2}, {-1, -1}), f32({1, 2}, {9, 5})}, a, at(18))[0];
  CHECK(vals<float>(y) == std::vector<float>{1, 2, 3, 9});
  a.set_string("reduction", "mul");
  CHECK(vals<float>(eval_single("ScatterElements", {data, i64({1, 2}, {0, 0}), f32({1, 2}, {3, 5})}, a,
                                at(16))[0]) == std::vector<float>{15, 2, 3, 4});
  a.set_string("reduction", "max");  // max is opset 18+
  CHECK_THROWS_AS(eval_single("ScatterElements", {data, i64({1, 1}, {0}), f32({1, 1}, {3})}, a, at(16)),
                  Error);
  Attrs ax;
  ax.set_int("axis", 1);
  CHECK_THROWS_AS(eval_single("ScatterElements", {data, i64({1, 1}, {4}), f32({1, 1}, {3})}, ax, at(13)),
                  Error);
  CHECK(vals<float>(eval_single("GatherElements", {data, i64({1, 2}, {-1, 0})}, ax, at(13))[0]) ==
        std::vector<float>{4, 1});
  // ScatterND with min reduction on rows
  Attrs m;
  m.set_string("reduction", "min");
  const Tensor d2 = f32({2, 2}, {5, 5, 5, 5});
  CHECK(vals<float>(eval_single("ScatterND", {d2, i64({1, 1}, {1}), f32({1, 2}, {1, 9})}, m, at(18))[0]) ==
        std::vector<float>{5, 5, 1, 5});
  // GatherND batch_dims = 1
  Attrs b;
  b.set_int("batch_dims", 1);
  const Tensor g =
      eval_single("GatherND", {f32({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7}), i64({2, 1}, {1, 0})}, b, at(13))[0];
  CHECK(g.shape() == Shape{2, 2});
  CHECK(vals<float>(g) == std::vector<float>{2, 3, 4, 5});
}

TEST_CASE("Trilu, DepthToSpace round trip, EyeLike, OneHot", "[ops][tensor]") {
  const Tensor x = f32({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Attrs lo;
  lo.set_int("upper", 0);
  CHECK(vals<float>(eval_single("Trilu", {x, i64({}, {-1})}, lo, at(14))[0]) ==
        std::vector<float>{0, 0, 0, 4, 0, 0, 7, 8, 0});
  CHECK(vals<float>(eval_single("Trilu", {x}, {}, at(14))[0]) ==
        std::vector<float>{1, 2, 3, 0, 5, 6, 0, 0, 9});
  CHECK_THROWS_AS(eval_single("Trilu", {f32({3}, {1, 2, 3})}, {}, at(14)), Error);
  const Tensor img = rnd({1, 8, 2, 3});
  Attrs bs;
  bs.set_int("blocksize", 2);
  for (const char* mode : {"DCR", "CRD"}) {
    bs.set_string("mode", mode);
    const Tensor s = eval_single("DepthToSpace", {img}, bs, at(13))[0];
    CHECK(s.shape() == Shape{1, 2, 4, 6});
    if (std::string(mode) == "DCR") {
      Attrs b2;
      b2.set_int("blocksize", 2);
      CHECK(max_abs_diff(eval_single("SpaceToDepth", {s}, b2, at(13))[0], img) == 0.f);
    }
  }
  Attrs k;
  k.set_int("k", -1);
  CHECK(vals<float>(eval_single("EyeLike", {f32({2, 2}, {9, 9, 9, 9})}, k, at(9))[0]) ==
        std::vector<float>{0, 0, 1, 0});
  const Tensor oh = eval_single("OneHot", {i64({2}, {-1, 5}), f32({}, {3}), f32({2}, {0, 1})}, {}, at(11))[0];
  CHECK(oh.shape() == Shape{2, 3});
  CHECK(vals<float>(oh) == std::vector<float>{0, 0, 1, 0, 0, 0});  // 5 is out of range: all off
}

TEST_CASE("TopK ties, NonZero, Compress, Unique, ReverseSequence", "[ops][tensor]") {
  EvalOptions o = at(11);
  o.num_outputs = 2;
  const auto r = eval_single("TopK", {f32({1, 5}, {3, 1, 3, 2, 3}), i64({1}, {2})}, {}, o);
  CHECK(vals<float>(r[0]) == std::vector<float>{3, 3});
  CHECK(vals<int64_t>(r[1]) == std::vector<int64_t>{0, 2});  // ties: lower index first
  CHECK_THROWS_AS(eval_single("TopK", {f32({1, 2}, {1, 2}), i64({1}, {3})}, {}, o), Error);
  const Tensor nz = eval_single("NonZero", {f32({2, 2}, {0, 1, 2, 0})}, {}, at(13))[0];
  CHECK(nz.shape() == Shape{2, 2});
  CHECK(vals<int64_t>(nz) == std::vector<int64_t>{0, 1, 1, 0});
  CHECK(eval_single("NonZero", {f32({0, 3}, {})}, {}, at(13))[0].shape() == Shape{2, 0});
  Attrs ax;
  ax.set_int("axis", -1);
  CHECK(vals<float>(eval_single("Compress", {f32({2, 2}, {1, 2, 3, 4}), bools({1}, {true})}, ax,
                                at(11))[0]) == std::vector<float>{1, 3});
  EvalOptions u = at(11);
  u.num_outputs = 4;
  Attrs ns;
  ns.set_int("sorted", 0);
  const auto un = eval_single("Unique", {f32({6}, {2, 1, 1, 3, 4, 3})}, ns, u);
  CHECK(vals<float>(un[0]) == std::vector<float>{2, 1, 3, 4});
  CHECK(vals<int64_t>(un[1]) == std::vector<int64_t>{0, 1, 3, 4});
  CHECK(vals<int64_t>(un[2]) == std::vector<int64_t>{0, 1, 1, 2, 3, 2});
  CHECK(vals<int64_t>(un[3]) == std::vector<int64_t>{1, 2, 2, 1});
  Attrs rs;
  rs.set_int("batch_axis", 0);
  rs.set_int("time_axis", 1);
  CHECK(vals<float>(eval_single("ReverseSequence", {f32({2, 3}, {1, 2, 3, 4, 5, 6}), i64({2}, {2, 3})}, rs,
                                at(10))[0]) == std::vector<float>{2, 1, 3, 6, 5, 4});
}

TEST_CASE("Pad, Resize and TopK with constant shape inputs (static plans, scratch)", "[ops][tensor]") {
  EvalOptions c = at(13);
  c.inputs_constant = true;
  Attrs a;
  a.set_string("mode", "reflect");
  const Tensor p = eval_single("Pad", {f32({1, 3}, {1, 2, 3}), i64({4}, {0, 1, 0, 1})}, a, c)[0];
  CHECK(vals<float>(p) == std::vector<float>{2, 1, 2, 3, 2});
  // Two resized axes: the first pass goes through scratch; compare with the dynamic path.
  const Tensor x = rnd({1, 2, 5, 7}, 4);
  Attrs l;
  l.set_string("mode", "cubic");
  const std::vector<Tensor> in = {x, Tensor(), f32({4}, {1, 1, 1.5f, 0.6f})};
  const Tensor ys = eval_single("Resize", in, l, c)[0];
  const Tensor yd = eval_single("Resize", in, l, at(13))[0];
  CHECK(ys.shape() == Shape{1, 2, 7, 4});
  CHECK(max_abs_diff(ys, yd) == 0.f);
  EvalOptions t = c;
  t.num_outputs = 2;
  t.opset = 11;
  t.threading = test_threads(3);
  const Tensor big = rnd({6, 40}, 5);
  Attrs s;
  s.set_int("largest", 0);
  const auto r = eval_single("TopK", {big, i64({1}, {3})}, s, t);
  CHECK(r[0].shape() == Shape{6, 3});
  for (int64_t row = 0; row < 6; ++row) {
    std::vector<float> v(big.data_as<float>() + row * 40, big.data_as<float>() + row * 40 + 40);
    std::sort(v.begin(), v.end());
    for (int j = 0; j < 3; ++j) CHECK(r[0].data_as<float>()[row * 3 + j] == v[j]);
  }
}
