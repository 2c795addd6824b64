// Shape-changing ops that never move data (Reshape, Flatten, Squeeze, Unsqueeze: aliases of their input)
// and value-producing ones (ConstantOfShape, Range, Expand, Cast). Where the output shape depends on the
// values of an input (Reshape's shape, Unsqueeze-13 axes, Range bounds ...) the shape is computed at
// compile time when that input is constant (the usual case after folding), else the output is
// data-dependent and computed per run.
#include <cmath>
#include <cstring>

#include "ops/broadcast.h"
#include "ops/cast_narrow.h"
#include "ops/copy_util.h"
#include "ops/op_util.h"
#include "ops/registry.h"
#include "ortkit/float16.h"
#include "ortkit/kernels/epilogue.h"

namespace ortkit::ops {
namespace {

/// Reads integer inputs either at compile time (constants) or at run time (tensors).
struct Vals {
  const CompileContext* cc = nullptr;
  const RunContext* rc = nullptr;
  std::string where;
  bool has(size_t i) const { return cc ? cc->has_input(i) : rc->has_input(i); }
  std::vector<int64_t> ints(size_t i) const {
    return to_int64_vector(cc ? *cc->input(i).constant : rc->input(i), where);
  }
};

/// True when every present input in `idx` is constant at compile time.
bool all_const(const CompileContext& ctx, const std::vector<size_t>& idx) {
  for (size_t i : idx)
    if (ctx.has_input(i) && !ctx.input(i).constant) return false;
  return true;
}

/// Base for alias ops: the output is the input's bytes under a new shape.
class ViewOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    Vals v{&ctx, nullptr, ctx.node->describe()};
    if (!all_const(ctx, value_inputs())) {
      dyn_ = true;
      ctx.outputs[0].dtype = ctx.input(0).dtype;
      ctx.outputs[0].data_dependent = true;
      return;
    }
    dyn_ = false;
    ctx.set_output(0, ctx.input(0).dtype, infer(ctx.input(0).shape, v, ctx));
    ctx.outputs[0].alias_of_input = 0;
  }
  void run(RunContext& ctx) override {
    if (!dyn_) return;
    Vals v{nullptr, &ctx, ctx.node->describe()};
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.allocate_output(0, x.dtype(), infer_run(x.shape(), v, ctx));
    copy_values(x, y);
  }

 protected:
  virtual std::vector<size_t> value_inputs() const { return {}; }
  virtual Shape infer(const Shape& in, const Vals& v, const CompileContext& ctx) = 0;
  virtual Shape infer_run(const Shape&, const Vals&, const RunContext& ctx) {
    ctx.fail("unexpected data-dependent shape");
  }
  bool dyn_ = false;
};

Shape reshape_shape(const Shape& in, const std::vector<int64_t>& spec, bool allowzero,
                    const std::string& where) {
  Shape out(spec.begin(), spec.end());
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 0 && !allowzero) {
      if (i >= in.size())
        throw Error("shape has 0 at index " + std::to_string(i) + " past the input rank", where);
      out[i] = in[i];
    }
    if (out[i] == -1) {
      if (infer >= 0) throw Error("shape has more than one -1", where);
      infer = static_cast<int64_t>(i);
    } else if (out[i] < 0) {
      throw Error("shape has a negative dimension " + std::to_string(out[i]), where);
    } else if (__builtin_mul_overflow(known, out[i], &known)) {
      throw Error("shape " + shape_str(spec) + " has more elements than any tensor can hold", where);
    }
  }
  const int64_t n = shape_numel(in);
  if (infer >= 0) {
    if (known == 0 || n % known)
      throw Error("cannot infer -1: " + shape_str(in) + " into " + shape_str(spec), where);
    out[infer] = n / known;
  } else if (known != n) {
    throw Error("cannot reshape " + shape_str(in) + " into " + shape_str(out), where);
  }
  return out;
}

class ReshapeOp : public ViewOp {
 public:
  void compile(CompileContext& ctx) override {
    allowzero_ = ctx.attr().get_int("allowzero", 0) != 0;
    ViewOp::compile(ctx);
  }

 protected:
  std::vector<size_t> value_inputs() const override { return {1}; }
  Shape infer(const Shape& in, const Vals& v, const CompileContext& ctx) override {
    if (!ctx.has_input(1)) ctx.fail("missing shape input");
    return reshape_shape(in, v.ints(1), allowzero_, v.where);
  }
  Shape infer_run(const Shape& in, const Vals& v, const RunContext&) override {
    return reshape_shape(in, v.ints(1), allowzero_, v.where);
  }
  bool allowzero_ = false;
};

class Reshape1Op : public ViewOp {  // opset 1-4: shape attribute
 protected:
  Shape infer(const Shape& in, const Vals& v, const CompileContext& ctx) override {
    return reshape_shape(in, ctx.attr().get_ints("shape"), false, v.where);
  }
};

class FlattenOp : public ViewOp {
 protected:
  Shape infer(const Shape& in, const Vals& v, const CompileContext& ctx) override {
    const int64_t r = static_cast<int64_t>(in.size());
    int64_t axis = ctx.attr().get_int("axis", 1);
    if (axis < 0) axis += r;  // Flatten's range is [-r, r]
    if (axis < 0 || axis > r) throw Error("axis out of range for rank " + std::to_string(r), v.where);
    int64_t a = 1, b = 1;
    for (int64_t d = 0; d < r; ++d) (d < axis ? a : b) *= in[d];
    return {a, b};
  }
};

Shape squeeze_shape(const Shape& in, std::vector<int64_t> axes, bool have_axes, const std::string& where) {
  const int64_t r = static_cast<int64_t>(in.size());
  std::vector<bool> drop(in.size(), false);
  if (!have_axes) {
    for (int64_t d = 0; d < r; ++d) drop[d] = in[d] == 1;
  } else {
    for (int64_t a : axes) {
      const int64_t d = normalize_axis(a, r, where);
      if (in[d] != 1)
        throw Error("cannot squeeze axis " + std::to_string(a) + " of size " + std::to_string(in[d]), where);
      drop[d] = true;
    }
  }
  Shape out;
  for (int64_t d = 0; d < r; ++d)
    if (!drop[d]) out.push_back(in[d]);
  return out;
}

Shape unsqueeze_shape(const Shape& in, const std::vector<int64_t>& axes, const std::string& where) {
  const int64_t r = static_cast<int64_t>(in.size() + axes.size());
  std::vector<bool> ins(static_cast<size_t>(r), false);
  for (int64_t a : axes) {
    const int64_t d = normalize_axis(a, r, where);
    if (ins[d]) throw Error("repeated axis " + std::to_string(a), where);
    ins[d] = true;
  }
  Shape out;
  size_t j = 0;
  for (int64_t d = 0; d < r; ++d) out.push_back(ins[d] ? 1 : in[j++]);
  return out;
}

/// Squeeze / Unsqueeze: axes attribute (opset < 13) or optional/required input 1 (13+).
class SqueezeOp : public ViewOp {
 public:
  SqueezeOp(bool unsqueeze, bool axes_input) : unsq_(unsqueeze), input_(axes_input) {}

 protected:
  std::vector<size_t> value_inputs() const override {
    if (input_) return {1};
    return {};
  }
  Shape compute(const Shape& in, const Vals& v, const Attrs* attrs) {
    std::vector<int64_t> axes;
    bool have = false;
    if (input_) {
      if (v.has(1)) axes = v.ints(1), have = true;
    } else if (attrs && attrs->has("axes")) {
      axes = attrs->get_ints("axes"), have = true;
    }
    if (unsq_) {
      if (!have) throw Error("Unsqueeze needs axes", v.where);
      return unsqueeze_shape(in, axes, v.where);
    }
    return squeeze_shape(in, axes, have, v.where);
  }
  Shape infer(const Shape& in, const Vals& v, const CompileContext& ctx) override {
    return compute(in, v, &ctx.attr());
  }
  Shape infer_run(const Shape& in, const Vals& v, const RunContext&) override {
    return compute(in, v, nullptr);
  }
  bool unsq_, input_;
};

// ------------------------------------------------------------------------------------- value producers

/// Cast between every numeric dtype, bool, f16 and bf16 (strings unsupported).
class CastOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    const int64_t to_onnx = ctx.attr().get_int("to");
    to_ = dtype_from_onnx(static_cast<int>(to_onnx));
    const DType from = ctx.input(0).dtype;
    auto ok = [](DType t) { return t != DType::undefined && t != DType::string; };
    if (to_ == DType::undefined)
      ctx.unsupported("Cast to ONNX element type " + std::to_string(to_onnx) + " (not an ortkit dtype)");
    if (!ok(to_) || !ok(from))
      ctx.unsupported(std::string("Cast from ") + dtype_name(from) + " to " + dtype_name(to_));
    narrow_ = narrow_cast_options(ctx);
    ctx.set_output(0, to_, ctx.input(0).shape);
    if (to_ == from) ctx.outputs[0].alias_of_input = 0;
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (x.dtype() == y.dtype()) return;  // alias
    if (is_narrow(x.dtype()) || is_narrow(y.dtype())) return cast_narrow(x, y, narrow_, ctx.threading);
    // Half types go through float.
    const DType from = x.dtype(), to = y.dtype();
    const kernels::Threading& th = ctx.threading;
    if (from == DType::f16 || from == DType::bf16) {
      const bool bf = from == DType::bf16;
      visit_numeric(to, [&](auto tag) {
        using To = decltype(tag);
        unary_map<uint16_t, To>(x, y, th, [bf](uint16_t h) {
          const float f = bf ? kernels::bf16_to_f32(h) : f16_to_f32(h);
          if constexpr (std::is_same_v<To, bool>)
            return f != 0.f;
          else
            return static_cast<To>(f);
        });
      });
      if (to == DType::f16 || to == DType::bf16) {  // half -> other half
        const bool tbf = to == DType::bf16;
        unary_map<uint16_t, uint16_t>(x, y, th, [bf, tbf](uint16_t h) {
          const float f = bf ? kernels::bf16_to_f32(h) : f16_to_f32(h);
          return tbf ? kernels::f32_to_bf16(f) : f32_to_f16(f);
        });
      }
      return;
    }
    if (to == DType::f16 || to == DType::bf16) {
      const bool tbf = to == DType::bf16;
      visit_numeric(from, [&](auto tag) {
        using Ti = decltype(tag);
        unary_map<Ti, uint16_t>(x, y, th, [tbf](Ti v) {
          const float f = static_cast<float>(v);
          return tbf ? kernels::f32_to_bf16(f) : f32_to_f16(f);
        });
      });
      return;
    }
    visit_numeric(from, [&](auto ti) {
      using Ti = decltype(ti);
      visit_numeric(to, [&](auto to_tag) {
        using To = decltype(to_tag);
        unary_map<Ti, To>(x, y, th, [](Ti v) {
          if constexpr (std::is_same_v<To, bool>)
            return v != Ti(0);
          else if constexpr (std::is_floating_point_v<Ti> && std::is_integral_v<To>)  // NaN, inf, 1e30:
            return saturate_to_int<To>(static_cast<double>(v));  // defined here, open in ONNX
          else
            return static_cast<To>(v);
        });
      });
    });
  }

 private:
  DType to_ = DType::undefined;
  NarrowCast narrow_;
};

class ConstantOfShapeOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    if (ctx.attr().has("value")) {
      const Tensor& v = ctx.attr().get_tensor("value");
      if (v.numel() != 1) ctx.fail("value must hold one element");
      value_ = v.clone();
    } else {
      value_ = Tensor(DType::f32, {1});
    }
    if (dtype_size(value_.dtype()) == 0) ctx.unsupported("value dtype");
    std::vector<int64_t> s;
    if (const_ints(ctx, 0, s)) {
      ctx.set_output(0, value_.dtype(), Shape(s.begin(), s.end()));
    } else {
      dyn_ = true;
      ctx.outputs[0].dtype = value_.dtype();
      ctx.outputs[0].data_dependent = true;
    }
  }
  void run(RunContext& ctx) override {
    Tensor* y = &ctx.output(0);
    if (dyn_) {
      const std::vector<int64_t> s = to_int64_vector(ctx.input(0), ctx.node->describe());
      y = &ctx.allocate_output(0, value_.dtype(), Shape(s.begin(), s.end()));
    }
    visit_bytes(value_.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T v = *value_.data_as<T>();
      T* p = y->data_as<T>();
      std::fill(p, p + y->numel(), v);
    });
  }

 private:
  Tensor value_;
  bool dyn_ = false;
};

class RangeOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64, DType::i16, DType::i32, DType::i64});
    const DType t = ctx.input(0).dtype;
    if (ctx.input(1).dtype != t || ctx.input(2).dtype != t)
      ctx.fail("start, limit and delta must share a type");
    if (ctx.input(0).constant && ctx.input(1).constant && ctx.input(2).constant) {
      ctx.set_output(0, t, {count(*ctx.input(0).constant, *ctx.input(1).constant, *ctx.input(2).constant)});
    } else {
      dyn_ = true;
      ctx.outputs[0].dtype = t;
      ctx.outputs[0].data_dependent = true;
    }
  }
  void run(RunContext& ctx) override {
    const Tensor &s = ctx.input(0), &l = ctx.input(1), &d = ctx.input(2);
    Tensor* y = &ctx.output(0);
    if (dyn_) y = &ctx.allocate_output(0, s.dtype(), {count(s, l, d)});
    visit_numeric(s.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T st = *s.data_as<T>(), dl = *d.data_as<T>();
      T* p = y->data_as<T>();
      for (int64_t i = 0; i < y->numel(); ++i) p[i] = static_cast<T>(st + static_cast<T>(i) * dl);
    });
  }

 private:
  static int64_t count(const Tensor& s, const Tensor& l, const Tensor& d) {
    int64_t n = 0;
    visit_numeric(s.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const double st = static_cast<double>(*s.data_as<T>()), li = static_cast<double>(*l.data_as<T>()),
                   dl = static_cast<double>(*d.data_as<T>());
      if (dl == 0) throw Error("Range delta is 0");
      const double q = std::ceil((li - st) / dl);
      // NaN or inf bounds, or a count no tensor holds, before the conversion to int64 (undefined past it).
      if (std::isnan(q) || q > static_cast<double>(kMaxElements))
        throw Error("Range (start " + std::to_string(st) + ", limit " + std::to_string(li) + ", delta " +
                    std::to_string(dl) + ") has no element count a tensor can hold");
      n = q > 0 ? static_cast<int64_t>(q) : 0;
    });
    return n;
  }
  bool dyn_ = false;
};

/// Expand: numpy-broadcast the input to `shape` (bidirectionally).
/// Input element strides aligned to the output's rank, 0 on broadcast dims.
std::vector<int64_t> expand_strides(const Shape& x, const Shape& out) {
  Shape in = x;
  in.insert(in.begin(), out.size() - in.size(), 1);
  std::vector<int64_t> st = strides_of(in);
  for (size_t d = 0; d < in.size(); ++d)
    if (in[d] == 1) st[d] = 0;
  return st;
}

class ExpandOp : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    if (dtype_size(ctx.input(0).dtype) == 0) ctx.unsupported("dtype");
    std::vector<int64_t> s;
    if (const_ints(ctx, 1, s)) {
      const Shape out = broadcast_shapes(ctx.input(0).shape, Shape(s.begin(), s.end()), ctx.node->describe());
      ctx.set_output(0, ctx.input(0).dtype, out);
      strides_ = expand_strides(ctx.input(0).shape, out);
    } else {
      dyn_ = true;
      ctx.outputs[0].dtype = ctx.input(0).dtype;
      ctx.outputs[0].data_dependent = true;
    }
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor* y = &ctx.output(0);
    if (dyn_) {
      const std::vector<int64_t> s = to_int64_vector(ctx.input(1), ctx.node->describe());
      y = &ctx.allocate_output(0, x.dtype(),
                               broadcast_shapes(x.shape(), Shape(s.begin(), s.end()), ctx.node->describe()));
    }
    if (dyn_) strides_ = expand_strides(x.shape(), y->shape());
    const std::vector<int64_t>& st = strides_;
    visit_bytes(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      strided_copy<T>(x.data_as<T>(), 0, st, y->data_as<T>(), y->shape(), ctx.threading);
    });
  }

 private:
  bool dyn_ = false;
  std::vector<int64_t> strides_;
};

}  // namespace

void register_shape_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "Reshape", 1, 4, [] { return std::make_unique<Reshape1Op>(); });
  r.add(kOnnxDomain, "Reshape", 5, kAnyOpset, [] { return std::make_unique<ReshapeOp>(); });
  r.add(kOnnxDomain, "Flatten", 1, kAnyOpset, [] { return std::make_unique<FlattenOp>(); });
  r.add(kOnnxDomain, "Squeeze", 1, 12, [] { return std::make_unique<SqueezeOp>(false, false); });
  r.add(kOnnxDomain, "Squeeze", 13, kAnyOpset, [] { return std::make_unique<SqueezeOp>(false, true); });
  r.add(kOnnxDomain, "Unsqueeze", 1, 12, [] { return std::make_unique<SqueezeOp>(true, false); });
  r.add(kOnnxDomain, "Unsqueeze", 13, kAnyOpset, [] { return std::make_unique<SqueezeOp>(true, true); });
  r.add(kOnnxDomain, "Cast", 6, kAnyOpset, [] { return cast_with_strings(std::make_unique<CastOp>()); });
  r.add(kOnnxDomain, "ConstantOfShape", 9, kAnyOpset, [] { return std::make_unique<ConstantOfShapeOp>(); });
  r.add(kOnnxDomain, "Range", 11, kAnyOpset, [] { return std::make_unique<RangeOp>(); });
  r.add(kOnnxDomain, "Expand", 8, kAnyOpset, [] { return std::make_unique<ExpandOp>(); });
}

}  // namespace ortkit::ops
