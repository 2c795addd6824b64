// Ops whose value the engine knows at compile time: Shape and Size of a known-shape tensor, Constant, and
// Identity (an alias). Declaring their outputs constant at compile time is what lets constant folding
// collapse Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains per shape signature.
#include <algorithm>
#include <cstring>

#include "ops/registry.h"

namespace ortkit::ops {
namespace {

std::shared_ptr<Tensor> i64_tensor(const std::vector<int64_t>& v, bool scalar) {
  auto t = std::make_shared<Tensor>(DType::i64, scalar ? Shape{} : Shape{static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), t->data_as<int64_t>());
  return t;
}

class ShapeOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    const InputDesc& x = ctx.input(0);
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    // opset 15: optional start/end slice of the shape, clamped like Slice.
    auto clampi = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
    start_ = clampi(ctx.attr().get_int("start", 0));
    end_ = clampi(ctx.attr().get_int("end", rank));
    const int64_t len = std::max<int64_t>(0, end_ - start_);
    ctx.set_output(0, DType::i64, {len});
    if (x.shape_known) {
      std::vector<int64_t> v(x.shape.begin() + start_, x.shape.begin() + start_ + len);
      ctx.outputs[0].constant = i64_tensor(v, false);
    }
  }
  void run(RunContext& ctx) override {
    const Shape& s = ctx.input(0).shape();
    int64_t* o = ctx.output(0).data_as<int64_t>();
    for (int64_t i = start_; i < end_; ++i) o[i - start_] = s[i];
  }

 private:
  int64_t start_ = 0, end_ = 0;
};

class SizeOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.set_output(0, DType::i64, {});
    if (ctx.input(0).shape_known)
      ctx.outputs[0].constant = i64_tensor({shape_numel(ctx.input(0).shape)}, true);
  }
  void run(RunContext& ctx) override { *ctx.output(0).data_as<int64_t>() = ctx.input(0).numel(); }
};

class IdentityOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    list_ = is_list_dtype(ctx.input(0).dtype) || ctx.input(0).dtype == DType::string;
    if (list_) {  // no bytes to alias (a sequence, optional or strings): the value itself is passed on
      ctx.outputs[0].dtype = ctx.input(0).dtype;
      ctx.outputs[0].data_dependent = true;
      return;
    }
    ctx.set_output(0, ctx.input(0).dtype, ctx.input(0).shape);
    ctx.outputs[0].alias_of_input = 0;
  }
  void run(RunContext& ctx) override {  // a tensor output aliases the input's bytes
    if (list_) ctx.output(0) = ctx.input(0);
  }

 private:
  bool list_ = false;
};

/// Constant: the value attribute in any of its forms (constant_node_value).
class ConstantOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    auto t = constant_node_value(ctx.attr());
    if (!t)
      ctx.unsupported("Constant without a value / value_float(s) / value_int(s) / value_string(s) attribute");
    ctx.set_output(0, t->dtype(), t->shape());
    ctx.outputs[0].constant = t;
  }
  void run(RunContext&) override {}  // a constant output is never computed
};

}  // namespace

std::shared_ptr<Tensor> constant_node_value(const Attrs& a) {
  auto t = std::make_shared<Tensor>();
  if (a.has("value") && a.find("value")->kind == Attribute::Kind::t) {
    *t = a.get_tensor("value");  // shares the attribute's storage: constants are never written
  } else if (a.has("value_float")) {
    *t = Tensor(DType::f32, {});
    *t->data_as<float>() = a.get_float("value_float");
  } else if (a.has("value_floats")) {
    const auto v = a.get_floats("value_floats");
    *t = Tensor(DType::f32, {static_cast<int64_t>(v.size())});
    std::copy(v.begin(), v.end(), t->data_as<float>());
  } else if (a.has("value_int")) {
    t = i64_tensor({a.get_int("value_int")}, true);
  } else if (a.has("value_ints")) {
    t = i64_tensor(a.get_ints("value_ints"), false);
  } else if (a.has("value_string")) {
    *t = Tensor(DType::string, {});
    *t->data_as<std::string>() = a.get_string("value_string");
  } else if (a.has("value_strings")) {
    const auto v = a.get_strings("value_strings");
    *t = Tensor(DType::string, {static_cast<int64_t>(v.size())});
    std::copy(v.begin(), v.end(), t->data_as<std::string>());
  } else {
    return nullptr;  // sparse_value
  }
  return t;
}

void register_shape_fold_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "Shape", 1, kAnyOpset, [] { return std::make_unique<ShapeOp>(); });
  r.add(kOnnxDomain, "Size", 1, kAnyOpset, [] { return std::make_unique<SizeOp>(); });
  r.add(kOnnxDomain, "Identity", 1, kAnyOpset, [] { return std::make_unique<IdentityOp>(); });
  r.add(kOnnxDomain, "Constant", 1, kAnyOpset, [] { return std::make_unique<ConstantOp>(); });
}

}  // namespace ortkit::ops
