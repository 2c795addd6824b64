// The operator interface: registry lookup by opset, attribute accessors, and the example ops.
#include <catch2/catch.hpp>
#include <cmath>

#include "ops/eval.h"
#include "ops/registry.h"

using namespace ortkit;
using namespace ortkit::ops;

namespace {
Tensor f32(Shape s, std::vector<float> v) {
  Tensor t(DType::f32, std::move(s));
  REQUIRE(static_cast<size_t>(t.numel()) == v.size());
  std::copy(v.begin(), v.end(), t.data_as<float>());
  return t;
}
Tensor iota(Shape s, float scale = 1.f) {
  Tensor t(DType::f32, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = scale * static_cast<float>(i % 13) - 3.f;
  return t;
}
}  // namespace

TEST_CASE("registry finds ops by domain, type and opset", "[ops]") {
  const OpRegistry& r = OpRegistry::global();
  CHECK(r.find("", "Add", 14) != nullptr);
  CHECK(r.find("ai.onnx", "Add", 7) != nullptr);
  CHECK(r.find("", "Add", 1) != nullptr);  // legacy broadcast attributes are mapped (legacy_broadcast.cpp)
  CHECK(r.find("", "Mod", 9) == nullptr);  // Mod starts at opset 10
  CHECK(r.find("", "NoSuchOp", 13) == nullptr);
  CHECK(r.find("ortkit", "FusedMatMul", 1) != nullptr);
  OpRegistry mine;
  mine.add("", "X", 1, 5, [] { return std::unique_ptr<OpKernel>(); });
  CHECK_THROWS_AS(mine.add("", "X", 5, 9, [] { return std::unique_ptr<OpKernel>(); }), Error);
  mine.add("", "X", 6, 9, [] { return std::unique_ptr<OpKernel>(); });
  CHECK(mine.knows("", "X"));
}

TEST_CASE("attribute accessors: defaults, kinds and clear errors", "[ops]") {
  Attrs a;
  a.set_int("axis", -1);
  a.set_float("alpha", 0.5f);
  a.set_ints("perm", {0, 2, 1});
  a.set_string("mode", "constant");
  a.set_where("node 'n' (X, ai.onnx opset 13)");
  CHECK(a.get_int("axis") == -1);
  CHECK(a.get_int("missing", 7) == 7);
  CHECK(a.get_float("alpha") == 0.5f);
  CHECK(a.get_ints("perm") == std::vector<int64_t>{0, 2, 1});
  CHECK(a.get_string("mode") == "constant");
  try {
    a.get_float("axis");
    FAIL("expected a kind mismatch");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("'axis' is int, expected float") != std::string::npos);
    CHECK(e.where().find("node 'n'") != std::string::npos);
  }
  CHECK_THROWS_WITH(a.get_int("nope"), Catch::Contains("'nope'") && Catch::Contains("missing"));
}

TEST_CASE("Add broadcasts like numpy", "[ops]") {
  Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = f32({3}, {10, 20, 30});
  Tensor y = eval_single("Add", {a, b})[0];
  REQUIRE(y.shape() == Shape{2, 3});
  CHECK(std::vector<float>(y.data_as<float>(), y.data_as<float>() + 6) ==
        std::vector<float>{11, 22, 33, 14, 25, 36});
  Tensor c = f32({2, 1}, {100, 200});
  Tensor z = eval_single("Add", {c, b})[0];
  REQUIRE(z.shape() == Shape{2, 3});
  CHECK(z.data_as<float>()[0] == 110);
  CHECK(z.data_as<float>()[5] == 230);
  Tensor s = f32({}, {1});
  CHECK(eval_single("Add", {a, s})[0].data_as<float>()[5] == 7);
  CHECK_THROWS_AS(eval_single("Add", {a, f32({2}, {1, 2})}), Error);
}

TEST_CASE("Relu", "[ops]") {
  Tensor y = eval_single("Relu", {f32({4}, {-1, 0, 2, -3})})[0];
  CHECK(std::vector<float>(y.data_as<float>(), y.data_as<float>() + 4) == std::vector<float>{0, 0, 2, 0});
}

TEST_CASE("MatMul matches a naive product, constant and non-constant B, batched", "[ops]") {
  for (bool constant : {false, true}) {
    for (auto [sa, sb] : std::vector<std::pair<Shape, Shape>>{{{3, 5}, {5, 4}},
                                                              {{2, 3, 5}, {5, 4}},
                                                              {{2, 3, 5}, {2, 5, 4}},
                                                              {{2, 1, 3, 5}, {3, 5, 4}},
                                                              {{5}, {5, 4}},
                                                              {{3, 5}, {5}}}) {
      Tensor a = iota(sa, 0.5f), b = iota(sb, 0.25f);
      EvalOptions o;
      o.inputs_constant = constant;
      Tensor y = eval_single("MatMul", {a, b}, {}, o)[0];
      // Reference on the 1-D-promoted, broadcast shapes.
      const Shape pa = sa.size() == 1 ? Shape{1, sa[0]} : sa;
      const Shape pb = sb.size() == 1 ? Shape{sb[0], 1} : sb;
      const int64_t m = pa[pa.size() - 2], k = pa.back(), n = pb.back();
      Shape ba(pa.begin(), pa.end() - 2), bb(pb.begin(), pb.end() - 2);
      Shape ob = broadcast_shapes(ba, bb);
      const int64_t nb = shape_numel(ob);
      REQUIRE(y.numel() == nb * m * n);
      for (int64_t bi = 0; bi < nb; ++bi) {
        int64_t rem = bi, ia = 0, ib = 0, stride_a = 1, stride_b = 1;
        for (int64_t d = static_cast<int64_t>(ob.size()) - 1; d >= 0; --d) {
          const int64_t idx = rem % ob[d];
          rem /= ob[d];
          const int64_t da = d - (ob.size() - ba.size()), db = d - (ob.size() - bb.size());
          if (da >= 0) {
            ia += (ba[da] == 1 ? 0 : idx) * stride_a;
            stride_a *= ba[da];
          }
          if (db >= 0) {
            ib += (bb[db] == 1 ? 0 : idx) * stride_b;
            stride_b *= bb[db];
          }
        }
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double ref = 0;
            for (int64_t p = 0; p < k; ++p)
              ref += a.data_as<float>()[ia * m * k + i * k + p] * b.data_as<float>()[ib * k * n + p * n + j];
            CHECK(y.data_as<float>()[bi * m * n + i * n + j] == Approx(ref).margin(1e-4));
          }
      }
    }
  }
}

TEST_CASE("MatMul on float64: batched, broadcast and 1-D, in double precision", "[ops]") {
  auto f64 = [](Shape s, std::vector<double> v) {
    Tensor t(DType::f64, std::move(s));
    REQUIRE(static_cast<size_t>(t.numel()) == v.size());
    std::copy(v.begin(), v.end(), t.data_as<double>());
    return t;
  };
  auto dv = [](const Tensor& t) {
    return std::vector<double>(t.data_as<double>(), t.data_as<double>() + t.numel());
  };
  Tensor y =
      eval_single("MatMul", {f64({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}), f64({2, 2}, {1, 0.5, 0, 2})})[0];
  REQUIRE(y.dtype() == DType::f64);
  CHECK(y.shape() == Shape{2, 2, 2});
  CHECK(dv(y) == std::vector<double>{1, 4.5, 3, 9.5, 5, 14.5, 7, 19.5});
  // Both batch shapes broadcast: [2,1,1,2] @ [3,2,1] -> [2,3,1,1].
  y = eval_single("MatMul", {f64({2, 1, 1, 2}, {1, 2, 3, 4}), f64({3, 2, 1}, {1, 1, 1, -1, 0.5, 0.25})})[0];
  CHECK(y.shape() == Shape{2, 3, 1, 1});
  CHECK(dv(y) == std::vector<double>{3, -1, 1, 7, -1, 2.5});
  y = eval_single("MatMul", {f64({3}, {1, 2, 3}), f64({3}, {4, 5, 6})})[0];
  CHECK(y.shape() == Shape{});
  CHECK(dv(y) == std::vector<double>{32});
  // Computed in double, not through float: 0.1 * 3 keeps its double rounding.
  CHECK(dv(eval_single("MatMul", {f64({1, 1}, {0.1}), f64({1, 1}, {3})})[0])[0] == 0.1 * 3.0);
  // Mixed f32 @ f64 is not a valid MatMul.
  CHECK_THROWS_AS(eval_single("MatMul", {f32({1, 1}, {1}), f64({1, 1}, {1})}), Error);
}

TEST_CASE("FusedMatMul applies bias and activation in the epilogue", "[ops]") {
  Tensor a = f32({2, 2}, {1, -2, 3, 4}), b = f32({2, 2}, {1, 0, 0, 1}), bias = f32({2}, {0.5f, -10});
  Attrs at;
  at.set_string("activation", "relu");
  EvalOptions o;
  o.domain = "ortkit";
  o.opset = 1;
  Tensor y = eval_single("FusedMatMul", {a, b, bias}, at, o)[0];
  CHECK(std::vector<float>(y.data_as<float>(), y.data_as<float>() + 4) ==
        std::vector<float>{1.5f, 0, 3.5f, 0});
}

TEST_CASE("Gemm with transposes, alpha, beta and broadcast C", "[ops]") {
  Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6});  // used as A^T: [3, 2]
  Tensor b = f32({3, 2}, {1, 0, 0, 1, 1, 0});  // B is [N, K]
  Tensor c = f32({3, 1}, {1, 2, 3});
  Attrs at;
  at.set_int("transA", 1);
  at.set_int("transB", 1);
  at.set_float("alpha", 2.f);
  at.set_float("beta", 0.5f);
  for (bool constant : {false, true}) {
    EvalOptions o;
    o.inputs_constant = constant;
    Tensor y = eval_single("Gemm", {a, b, c}, at, o)[0];
    REQUIRE(y.shape() == Shape{3, 3});
    // A^T = [[1,4],[2,5],[3,6]], B^T = [[1,0],[0,1],[1,0]]; (A^T @ B^T)[i][j] = A^T[i] . B[j]
    const float at_[3][2] = {{1, 4}, {2, 5}, {3, 6}}, bt[3][2] = {{1, 0}, {0, 1}, {1, 0}};
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        const float ref = 2.f * (at_[i][0] * bt[j][0] + at_[i][1] * bt[j][1]) + 0.5f * (i + 1);
        CHECK(y.data_as<float>()[i * 3 + j] == Approx(ref));
      }
  }
}

TEST_CASE("Shape and Size are constants at compile time", "[ops]") {
  Tensor x(DType::f32, {2, 3, 4});
  Tensor s = eval_single("Shape", {x})[0];
  CHECK(std::vector<int64_t>(s.data_as<int64_t>(), s.data_as<int64_t>() + 3) ==
        std::vector<int64_t>{2, 3, 4});
  Attrs at;
  at.set_int("start", -2);
  Tensor s2 = eval_single("Shape", {x}, at)[0];
  CHECK(s2.numel() == 2);
  CHECK(s2.data_as<int64_t>()[0] == 3);
  CHECK(eval_single("Size", {x})[0].data_as<int64_t>()[0] == 24);
}
