// Pad (constant / reflect / edge / wrap) and Resize / Upsample (nearest, N-d linear, cubic).
//
// Pad maps every output coordinate to a source coordinate per dimension; the in-range middle of each
// output row is one memcpy. Resize is separable: the ONNX reference interpolates recursively one axis at
// a time, so we run one 1-D pass per resized axis (a tap table of source indices and weights per output
// index), ping-ponging between two scratch buffers. tf_crop_and_resize extrapolation is a per-index flag
// of the pass; since the taps' weights sum to one, a value extrapolated in an inner pass survives the
// outer passes unchanged, as in the reference.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

// ---------------------------------------------------------------------------------------------- Pad

enum class PadMode { constant, reflect, edge, wrap };

PadMode pad_mode(const CompileContext& ctx, int opset) {
  const std::string m = ctx.attr().get_string("mode", "constant");
  if (m == "constant") return PadMode::constant;
  if (m == "reflect") return PadMode::reflect;
  if (m == "edge") return PadMode::edge;
  if (m == "wrap" && opset >= 19) return PadMode::wrap;
  ctx.fail("unknown pad mode '" + m + "'");
}

/// Source index of padded coordinate x (in the unpadded system) for a dim of size n; -1 = constant fill.
inline int64_t pad_src(int64_t x, int64_t n, PadMode m) {
  if (x >= 0 && x < n) return x;
  switch (m) {
    case PadMode::constant: return -1;
    case PadMode::edge: return x < 0 ? 0 : n - 1;
    case PadMode::wrap: return ((x % n) + n) % n;
    case PadMode::reflect: {
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);
      int64_t v = x < 0 ? -x : x;
      v %= period;
      return v >= n ? period - v : v;
    }
  }
  return -1;
}

class PadOp : public OpKernel {
 public:
  explicit PadOp(bool inputs) : inputs_(inputs) {}
  void compile(CompileContext& ctx) override {
    const DType dt = ctx.input(0).dtype;
    if (dtype_size(dt) == 0) ctx.unsupported(std::string("Pad of ") + dtype_name(dt));
    where_ = ctx.node->describe();
    mode_ = pad_mode(ctx, ctx.node->opset);
    rank_ = static_cast<int64_t>(ctx.input(0).shape.size());
    value_ = 0;
    if (!inputs_) {
      const float v = ctx.attr().get_float("value", 0.f);
      visit_numeric(dt, [&](auto tag) {
        using T = decltype(tag);
        const T tv = static_cast<T>(v);
        std::memcpy(&value_, &tv, sizeof(T));
      });
      pads_ = ctx.attr().get_ints("pads");
    } else {
      if (ctx.has_input(2) && ctx.input(2).dtype != dt)
        ctx.fail("constant_value has another dtype than data");
      if (!absent_or_const(ctx, 1) || !absent_or_const(ctx, 3)) {
        dyn_ = true;
        ctx.outputs[0].dtype = dt;
        ctx.outputs[0].data_dependent = true;
        return;
      }
      pads_ = full_pads(
          to_int64_vector(*ctx.input(1).constant, where_),
          ctx.has_input(3) ? to_int64_vector(*ctx.input(3).constant, where_) : std::vector<int64_t>{});
    }
    ctx.set_output(0, dt, out_shape(ctx.input(0).shape, pads_));
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor* y = &ctx.output(0);
    if (dyn_) {
      pads_ = full_pads(to_int64_vector(ctx.input(1), where_),
                        ctx.has_input(3) ? to_int64_vector(ctx.input(3), where_) : std::vector<int64_t>{});
      y = &ctx.allocate_output(0, x.dtype(), out_shape(x.shape(), pads_));
    }
    if (inputs_ && ctx.has_input(2)) {
      if (ctx.input(2).numel() < 1) ctx.fail("constant_value is empty");
      std::memcpy(&value_, ctx.input(2).data(), dtype_size(x.dtype()));
    }
    visit_bytes(x.dtype(), [&](auto tag) { pad<decltype(tag)>(ctx, x, *y); });
  }

 private:
  /// pads of every axis (2*rank: all begins, then all ends) from pads over `axes` (opset 18).
  std::vector<int64_t> full_pads(const std::vector<int64_t>& p, const std::vector<int64_t>& axes) const {
    if (axes.empty()) {
      if (static_cast<int64_t>(p.size()) != 2 * rank_)
        throw Error("pads has " + std::to_string(p.size()) + " values for rank " + std::to_string(rank_),
                    where_);
      return p;
    }
    const size_t na = axes.size();
    if (p.size() != 2 * na)
      throw Error("pads has " + std::to_string(p.size()) + " values for " + std::to_string(na) + " axes",
                  where_);
    std::vector<int64_t> out(static_cast<size_t>(2 * rank_), 0);
    for (size_t i = 0; i < na; ++i) {
      const int64_t a = normalize_axis(axes[i], rank_, where_);
      out[a] = p[i];
      out[a + rank_] = p[i + na];
    }
    return out;
  }
  Shape out_shape(const Shape& s, const std::vector<int64_t>& p) const {
    if (static_cast<int64_t>(p.size()) != 2 * static_cast<int64_t>(s.size()))
      throw Error("pads has " + std::to_string(p.size()) + " values for rank " + std::to_string(s.size()),
                  where_);
    Shape o = s;
    const size_t r = s.size();
    for (size_t d = 0; d < r; ++d) {
      o[d] = s[d] + p[d] + p[d + r];
      if (o[d] < 0) throw Error("pads make axis " + std::to_string(d) + " negative", where_);
      if (s[d] == 0 && o[d] > 0 && mode_ != PadMode::constant)
        throw Error("cannot pad an empty axis in a non-constant mode", where_);
    }
    return o;
  }

  template <class T>
  void pad(RunContext& ctx, const Tensor& x, Tensor& y) const {
    const Shape &is = x.shape(), &os = y.shape();
    const int64_t n = y.numel(), r = static_cast<int64_t>(os.size());
    if (n == 0) return;
    const T* in = x.data_as<T>();
    T* out = y.data_as<T>();
    T val;
    std::memcpy(&val, &value_, sizeof(T));
    if (r == 0) {
      out[0] = in[0];
      return;
    }
    const int64_t inner = os[r - 1], rows = n / inner, nin = is[r - 1], pb = pads_[r - 1];
    const PadMode mode = mode_;
    const std::vector<int64_t>& pads = pads_;
    parallel_range(ctx.threading, rows, std::max<int64_t>(1, 16384 / inner), [&](int64_t r0, int64_t r1) {
      for (int64_t row = r0; row < r1; ++row) {
        T* o = out + row * inner;
        int64_t rem = row, off = 0, stride = nin;
        bool fill = false;
        for (int64_t d = r - 2; d >= 0; --d) {
          const int64_t c = rem % os[d];
          rem /= os[d];
          const int64_t s = pad_src(c - pads[d], is[d], mode);
          if (s < 0) fill = true;
          off += s * stride;
          stride *= is[d];
        }
        if (fill) {
          std::fill(o, o + inner, val);
          continue;
        }
        const T* src = in + off;
        const int64_t m0 = std::clamp<int64_t>(pb, 0, inner), m1 = std::clamp<int64_t>(pb + nin, 0, inner);
        for (int64_t j = 0; j < m0; ++j) {
          const int64_t s = pad_src(j - pb, nin, mode);
          o[j] = s < 0 ? val : src[s];
        }
        if (m1 > m0) std::memcpy(o + m0, src + (m0 - pb), static_cast<size_t>(m1 - m0) * sizeof(T));
        for (int64_t j = std::max(m0, m1); j < inner; ++j) {
          const int64_t s = pad_src(j - pb, nin, mode);
          o[j] = s < 0 ? val : src[s];
        }
      }
    });
  }

  bool inputs_, dyn_ = false;
  PadMode mode_ = PadMode::constant;
  int64_t rank_ = 0;
  uint64_t value_ = 0;  ///< the fill value's bytes (element type of data)
  std::string where_;
  std::vector<int64_t> pads_;
};

// ---------------------------------------------------------------------------------------------- Resize

enum class Interp { nearest, linear, cubic };
enum class Coord {
  half_pixel,
  half_pixel_symmetric,
  pytorch_half_pixel,
  align_corners,
  asymmetric,
  tf_half_pixel_for_nn,
  tf_crop_and_resize
};
enum class NearestMode { round_prefer_floor, round_prefer_ceil, floor, ceil, simple };

struct ResizeConfig {
  Interp interp = Interp::nearest;
  Coord coord = Coord::half_pixel;
  NearestMode nearest = NearestMode::round_prefer_floor;
  float cubic_a = -0.75f;
  bool exclude_outside = false;
  bool antialias = false;  ///< opset 18: linear / cubic downsampling widens the filter by 1 / scale
  float extrapolation = 0.f;
  std::string keep_policy = "stretch";
  std::vector<int64_t> axes;
};

/// One resized axis: per output index `taps` (source index, weight) pairs, or extrapolation.
struct AxisPass {
  int64_t axis = 0, in = 0, out = 0;
  int taps = 1;
  std::vector<int64_t> idx;
  std::vector<float> w;
  std::vector<uint8_t> extrap;
};

struct ResizePlan {
  Shape out;
  std::vector<AxisPass> passes;
  int64_t max_tmp = 0;  ///< elements of the largest intermediate (0 with fewer than two passes)
};

double original_coord(Coord c, double x, double scale, int64_t in, int64_t out, double rs, double re) {
  const double out_w = scale * static_cast<double>(in);  // the reference uses the unrounded length
  switch (c) {
    case Coord::half_pixel: return (x + 0.5) / scale - 0.5;
    case Coord::half_pixel_symmetric: {
      const double adj = static_cast<double>(out) / out_w, center = static_cast<double>(in) / 2;
      return center * (1 - adj) + (x + 0.5) / scale - 0.5;
    }
    case Coord::pytorch_half_pixel: return out_w == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
    case Coord::align_corners: return out_w == 1 ? 0.0 : x * static_cast<double>(in - 1) / (out_w - 1);
    case Coord::asymmetric: return x / scale;
    case Coord::tf_half_pixel_for_nn: return (x + 0.5) / scale;
    case Coord::tf_crop_and_resize:
      return (out_w == 1 ? (re - rs) * static_cast<double>(in - 1) / 2
                         : x * (re - rs) * static_cast<double>(in - 1) / (out_w - 1)) +
             rs * static_cast<double>(in - 1);
  }
  return 0;
}

AxisPass make_pass(const ResizeConfig& cf, int64_t axis, int64_t in, int64_t out, double scale, double rs,
                   double re) {
  AxisPass p;
  p.axis = axis;
  p.in = in;
  p.out = out;
  p.taps = cf.interp == Interp::nearest ? 1 : cf.interp == Interp::linear ? 2 : 4;
  // Antialiasing (a downsampling linear or cubic filter stretched by 1 / scale, as the ONNX reference
  // does): taps at offsets start .. 1 - start around the source cell, weights renormalized to one.
  const double fs = std::min(scale, 1.0);
  const bool wide = cf.antialias && cf.interp != Interp::nearest && fs < 1.0;
  int64_t start = cf.interp == Interp::cubic ? -1 : 0;
  if (wide) {
    start = static_cast<int64_t>(std::floor((cf.interp == Interp::linear ? -1.0 : -2.0) / fs)) + 1;
    p.taps = static_cast<int>(2 - 2 * start);
  }
  std::vector<double> c(static_cast<size_t>(p.taps));
  p.idx.resize(static_cast<size_t>(out * p.taps));
  p.w.resize(p.idx.size());
  p.extrap.assign(static_cast<size_t>(out), 0);
  for (int64_t j = 0; j < out; ++j) {
    const double x = original_coord(cf.coord, static_cast<double>(j), scale, in, out, rs, re);
    int64_t* id = &p.idx[j * p.taps];
    float* w = &p.w[j * p.taps];
    if (cf.coord == Coord::tf_crop_and_resize && (x < 0 || x > static_cast<double>(in - 1))) {
      p.extrap[j] = 1;
      for (int t = 0; t < p.taps; ++t) id[t] = 0, w[t] = 0;
      continue;
    }
    const double fl = std::floor(x);
    const bool integral = x == fl;
    const double ratio = integral ? 1.0 : x - fl;
    // Taps start at floor(x) (nearest, linear) or floor(x) - 1 (cubic); an integral x counts as the
    // previous cell with ratio 1, like the reference's neighbour search.
    int64_t base = static_cast<int64_t>(fl) - (integral ? 1 : 0);
    if (cf.interp == Interp::nearest) {
      bool up;  // pick base + 1
      switch (cf.nearest) {
        case NearestMode::round_prefer_floor: up = integral || ratio > 0.5; break;
        case NearestMode::round_prefer_ceil: up = integral || ratio >= 0.5; break;
        case NearestMode::floor: up = integral; break;
        case NearestMode::ceil: up = true; break;
        default: up = integral || scale < 1; break;  // opset 10 / Upsample: ceil when downsampling
      }
      id[0] = std::clamp<int64_t>(base + (up ? 1 : 0), 0, in - 1);
      w[0] = 1.f;
      continue;
    }
    if (wide) {
      base += start;
      const double A = cf.cubic_a;
      for (int t = 0; t < p.taps; ++t) {
        const double x = std::fabs(fs * (static_cast<double>(start + t) - ratio));
        if (cf.interp == Interp::linear)
          c[t] = std::max(0.0, 1 - x);
        else
          c[t] = x <= 1  ? ((A + 2) * x - (A + 3)) * x * x + 1
                 : x < 2 ? ((A * x - 5 * A) * x + 8 * A) * x - 4 * A
                         : 0;
      }
      double total = 0;
      for (double v : c) total += v;
      for (double& v : c) v /= total;
    } else if (cf.interp == Interp::linear) {
      c[0] = 1 - ratio;
      c[1] = ratio;
    } else {
      base -= 1;
      const double A = cf.cubic_a, r = ratio, q = 1 - ratio;
      c[0] = ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A;
      c[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
      c[2] = ((A + 2) * q - (A + 3)) * q * q + 1;
      c[3] = ((A * (q + 1) - 5 * A) * (q + 1) + 8 * A) * (q + 1) - 4 * A;
    }
    double sum = 0;
    for (int t = 0; t < p.taps; ++t) {
      const int64_t s = base + t;
      if (cf.exclude_outside && (s < 0 || s >= in)) c[t] = 0;
      sum += c[t];
    }
    for (int t = 0; t < p.taps; ++t) {
      id[t] = std::clamp<int64_t>(base + t, 0, in - 1);
      w[t] = static_cast<float>(cf.exclude_outside && sum != 0 ? c[t] / sum : c[t]);
    }
  }
  return p;
}

/// True when the pass maps every output index to the same input index with weight 1.
bool identity_pass(const AxisPass& p) {
  if (p.in != p.out) return false;
  for (int64_t j = 0; j < p.out; ++j) {
    if (p.extrap[j]) return false;
    for (int t = 0; t < p.taps; ++t) {
      const float w = p.w[j * p.taps + t];
      const int64_t s = p.idx[j * p.taps + t];
      if (!(w == 0.f || (w == 1.f && s == j))) return false;
    }
  }
  return true;
}

class ResizeOp : public OpKernel {
 public:
  /// form: 7 = Upsample attr scales; 9 = Upsample / Resize-10 (X, scales); 11 = Resize (X, roi, scales,
  /// sizes).
  explicit ResizeOp(int form) : form_(form) {}

  void compile(CompileContext& ctx) override {
    where_ = ctx.node->describe();
    const Attrs& a = ctx.attr();
    const std::string mode = a.get_string("mode", "nearest");
    if (mode == "nearest")
      cf_.interp = Interp::nearest;
    else if (mode == "linear" || mode == "bilinear")
      cf_.interp = Interp::linear;
    else if (mode == "cubic" && form_ >= 11)
      cf_.interp = Interp::cubic;
    else
      ctx.fail("unknown mode '" + mode + "'");
    if (form_ >= 11) {
      const std::string c = a.get_string("coordinate_transformation_mode", "half_pixel");
      static const std::pair<const char*, Coord> kCoords[] = {
          {"half_pixel", Coord::half_pixel},
          {"half_pixel_symmetric", Coord::half_pixel_symmetric},
          {"pytorch_half_pixel", Coord::pytorch_half_pixel},
          {"align_corners", Coord::align_corners},
          {"asymmetric", Coord::asymmetric},
          {"tf_half_pixel_for_nn", Coord::tf_half_pixel_for_nn},
          {"tf_crop_and_resize", Coord::tf_crop_and_resize}};
      bool found = false;
      for (const auto& [n, v] : kCoords)
        if (c == n) cf_.coord = v, found = true;
      if (!found) ctx.fail("unknown coordinate_transformation_mode '" + c + "'");
      const std::string nm = a.get_string("nearest_mode", "round_prefer_floor");
      if (nm == "round_prefer_floor")
        cf_.nearest = NearestMode::round_prefer_floor;
      else if (nm == "round_prefer_ceil")
        cf_.nearest = NearestMode::round_prefer_ceil;
      else if (nm == "floor")
        cf_.nearest = NearestMode::floor;
      else if (nm == "ceil")
        cf_.nearest = NearestMode::ceil;
      else
        ctx.fail("unknown nearest_mode '" + nm + "'");
      cf_.cubic_a = a.get_float("cubic_coeff_a", -0.75f);
      cf_.exclude_outside = a.get_int("exclude_outside", 0) != 0;
      cf_.antialias = a.get_int("antialias", 0) != 0;
      cf_.extrapolation = a.get_float("extrapolation_value", 0.f);
      cf_.keep_policy = a.get_string("keep_aspect_ratio_policy", "stretch");
      if (cf_.keep_policy != "stretch" && cf_.keep_policy != "not_larger" && cf_.keep_policy != "not_smaller")
        ctx.fail("unknown keep_aspect_ratio_policy '" + cf_.keep_policy + "'");
      cf_.axes = a.get_ints("axes", {});
    } else {
      cf_.coord = Coord::asymmetric;
      cf_.nearest = NearestMode::simple;
    }
    const DType dt = ctx.input(0).dtype;
    if (cf_.interp != Interp::nearest && dt != DType::f32)
      ctx.unsupported(std::string(mode) + " Resize of " + dtype_name(dt));
    if (dtype_size(dt) == 0) ctx.unsupported(std::string("Resize of ") + dtype_name(dt));
    bool all_known = true;
    for (size_t i = 1; i < ctx.num_inputs(); ++i) all_known = all_known && absent_or_const(ctx, i);
    if (form_ == 7) {
      attr_scales_ = a.get_floats("scales");
      all_known = true;
    }
    if (!all_known) {
      dyn_ = true;
      ctx.outputs[0].dtype = dt;
      ctx.outputs[0].data_dependent = true;
      return;
    }
    plan_ = make_plan(ctx.input(0).shape, [&](size_t i) -> const Tensor* {
      return ctx.has_input(i) ? ctx.input(i).constant : nullptr;
    });
    ctx.set_output(0, dt, plan_.out);
    ctx.scratch_bytes = 2 * ((static_cast<size_t>(plan_.max_tmp) * dtype_size(dt) + 63) / 64 * 64);
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor* y = &ctx.output(0);
    char* buf[2] = {nullptr, nullptr};
    const size_t es = dtype_size(x.dtype());
    if (dyn_) {
      plan_ = make_plan(x.shape(), [&](size_t i) { return ctx.has_input(i) ? &ctx.input(i) : nullptr; });
      y = &ctx.allocate_output(0, x.dtype(), plan_.out);
      const size_t half = (static_cast<size_t>(plan_.max_tmp) * es + 63) / 64 * 64;
      if (dyn_buf_.size() < 2 * half) dyn_buf_.resize(2 * half);
      buf[0] = dyn_buf_.data();
      buf[1] = buf[0] + half;
    } else {
      const size_t half = (static_cast<size_t>(plan_.max_tmp) * es + 63) / 64 * 64;
      buf[0] = static_cast<char*>(ctx.scratch);
      buf[1] = buf[0] + half;
    }
    if (y->numel() == 0) return;
    if (plan_.passes.empty()) {
      std::memcpy(y->data(), x.data(), x.bytes());
      return;
    }
    Shape cur = x.shape();
    const char* src = static_cast<const char*>(x.data());
    for (size_t k = 0; k < plan_.passes.size(); ++k) {
      const AxisPass& p = plan_.passes[k];
      char* dst = k + 1 == plan_.passes.size() ? static_cast<char*>(y->data()) : buf[k % 2];
      int64_t outer = 1, inner = 1;
      for (int64_t d = 0; d < p.axis; ++d) outer *= cur[d];
      for (size_t d = static_cast<size_t>(p.axis) + 1; d < cur.size(); ++d) inner *= cur[d];
      if (cf_.interp == Interp::nearest)
        visit_bytes(x.dtype(), [&](auto tag) {
          using T = decltype(tag);
          T ev{};
          if (sizeof(T) == 4) {
            const float f = cf_.extrapolation;  // only meaningful for float data
            std::memcpy(&ev, &f, sizeof(T));
          }
          nearest_pass<T>(ctx, p, reinterpret_cast<const T*>(src), reinterpret_cast<T*>(dst), outer, inner,
                          ev);
        });
      else
        interp_pass(ctx, p, reinterpret_cast<const float*>(src), reinterpret_cast<float*>(dst), outer, inner);
      cur[p.axis] = p.out;
      src = dst;
    }
  }

 private:
  template <class GetInput>
  ResizePlan make_plan(const Shape& s, GetInput get) const {
    const int64_t r = static_cast<int64_t>(s.size());
    std::vector<int64_t> axes = cf_.axes;
    if (axes.empty())
      for (int64_t i = 0; i < r; ++i) axes.push_back(i);
    for (auto& ax : axes) ax = normalize_axis(ax, r, where_);
    const size_t na = axes.size();
    std::vector<double> scales(static_cast<size_t>(r), 1.0), rs(static_cast<size_t>(r), 0.0),
        re(static_cast<size_t>(r), 1.0);
    Shape out = s;
    const Tensor *roi = nullptr, *sc = nullptr, *sz = nullptr;
    std::vector<float> sv;
    if (form_ == 7) {
      sv = attr_scales_;
    } else if (form_ < 11) {
      sc = get(1);
    } else {
      roi = get(1);
      sc = get(2);
      sz = get(3);
    }
    if (sc && sc->numel() > 0) {
      if (sc->dtype() != DType::f32) throw Error("scales must be float", where_);
      sv.assign(sc->data_as<float>(), sc->data_as<float>() + sc->numel());
    }
    const bool use_sizes = sv.empty();
    if (!use_sizes) {
      if (sv.size() != na)
        throw Error("scales has " + std::to_string(sv.size()) + " values for " + std::to_string(na) + " axes",
                    where_);
      for (size_t i = 0; i < na; ++i) {
        if (!(sv[i] > 0)) throw Error("scales must be positive", where_);
        scales[axes[i]] = sv[i];
        out[axes[i]] = static_cast<int64_t>(std::floor(static_cast<double>(s[axes[i]]) * sv[i]));
      }
    } else {
      if (!sz || sz->numel() == 0) throw Error("neither scales nor sizes is given", where_);
      const std::vector<int64_t> szv = to_int64_vector(*sz, where_);
      if (szv.size() != na)
        throw Error("sizes has " + std::to_string(szv.size()) + " values for " + std::to_string(na) + " axes",
                    where_);
      if (cf_.keep_policy == "stretch") {
        for (size_t i = 0; i < na; ++i) {
          if (szv[i] < 0) throw Error("negative size", where_);
          out[axes[i]] = szv[i];
          scales[axes[i]] =
              s[axes[i]] == 0 ? 1.0 : static_cast<double>(szv[i]) / static_cast<double>(s[axes[i]]);
        }
      } else {
        double k = cf_.keep_policy == "not_larger" ? 1e300 : 0;
        for (size_t i = 0; i < na; ++i) {
          const double v = static_cast<double>(szv[i]) / static_cast<double>(s[axes[i]]);
          k = cf_.keep_policy == "not_larger" ? std::min(k, v) : std::max(k, v);
        }
        for (size_t i = 0; i < na; ++i) {
          scales[axes[i]] = k;
          out[axes[i]] = static_cast<int64_t>(std::floor(static_cast<double>(s[axes[i]]) * k + 0.5));
        }
      }
    }
    if (cf_.coord == Coord::tf_crop_and_resize) {
      if (!roi || roi->numel() != static_cast<int64_t>(2 * na))
        throw Error("tf_crop_and_resize needs roi with " + std::to_string(2 * na) + " values", where_);
      for (size_t i = 0; i < na; ++i) {
        auto at = [&](size_t k) {
          return roi->dtype() == DType::f64 ? roi->data_as<double>()[k]
                                            : static_cast<double>(roi->data_as<float>()[k]);
        };
        if (roi->dtype() != DType::f32 && roi->dtype() != DType::f64)
          throw Error("roi must be float", where_);
        rs[axes[i]] = at(i);
        re[axes[i]] = at(i + na);
      }
    }
    ResizePlan plan;
    plan.out = out;
    Shape cur = s;
    for (int64_t d = r - 1; d >= 0; --d) {
      if (s[d] == 0 || out[d] == 0) {
        if (out[d] != s[d] && s[d] == 0) throw Error("cannot resize an empty axis", where_);
        cur[d] = out[d];
        continue;
      }
      AxisPass p = make_pass(cf_, d, s[d], out[d], scales[d], rs[d], re[d]);
      if (identity_pass(p)) continue;
      cur[d] = out[d];
      plan.passes.push_back(std::move(p));
      plan.max_tmp = std::max(plan.max_tmp, shape_numel(cur));
    }
    if (plan.passes.size() < 2) plan.max_tmp = 0;
    return plan;
  }

  template <class T>
  void nearest_pass(RunContext& ctx, const AxisPass& p, const T* in, T* out, int64_t outer, int64_t inner,
                    T ev) const {
    parallel_range(ctx.threading, outer * p.out, std::max<int64_t>(1, 16384 / inner),
                   [&](int64_t b, int64_t e) {
                     for (int64_t t = b; t < e; ++t) {
                       const int64_t o = t / p.out, j = t % p.out;
                       T* dst = out + t * inner;
                       if (p.extrap[j]) {
                         std::fill(dst, dst + inner, ev);
                         continue;
                       }
                       const T* s = in + (o * p.in + p.idx[j]) * inner;
                       if (inner == 1)
                         dst[0] = s[0];
                       else
                         std::memcpy(dst, s, static_cast<size_t>(inner) * sizeof(T));
                     }
                   });
  }

  void interp_pass(RunContext& ctx, const AxisPass& p, const float* in, float* out, int64_t outer,
                   int64_t inner) const {
    const float ev = cf_.extrapolation;
    parallel_range(ctx.threading, outer * p.out, std::max<int64_t>(1, 8192 / inner),
                   [&](int64_t b, int64_t e) {
                     for (int64_t t = b; t < e; ++t) {
                       const int64_t o = t / p.out, j = t % p.out;
                       float* dst = out + t * inner;
                       if (p.extrap[j]) {
                         std::fill(dst, dst + inner, ev);
                         continue;
                       }
                       const int64_t* id = &p.idx[j * p.taps];
                       const float* w = &p.w[j * p.taps];
                       const float* s0 = in + (o * p.in + id[0]) * inner;
                       for (int64_t i = 0; i < inner; ++i) dst[i] = w[0] * s0[i];
                       for (int tp = 1; tp < p.taps; ++tp) {
                         const float* st = in + (o * p.in + id[tp]) * inner;
                         const float wt = w[tp];
                         for (int64_t i = 0; i < inner; ++i) dst[i] += wt * st[i];
                       }
                     }
                   });
  }

  int form_;
  bool dyn_ = false;
  ResizeConfig cf_;
  std::vector<float> attr_scales_;
  std::string where_;
  ResizePlan plan_;
  std::vector<char> dyn_buf_;
};

}  // namespace

void register_pad_resize_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "Pad", 2, 10, [] { return std::make_unique<PadOp>(false); });
  r.add(kOnnxDomain, "Pad", 11, kAnyOpset, [] { return std::make_unique<PadOp>(true); });
  r.add(kOnnxDomain, "Upsample", 7, 8, [] { return std::make_unique<ResizeOp>(7); });
  r.add(kOnnxDomain, "Upsample", 9, 9, [] { return std::make_unique<ResizeOp>(9); });
  r.add(kOnnxDomain, "Resize", 10, 10, [] { return std::make_unique<ResizeOp>(10); });
  r.add(kOnnxDomain, "Resize", 11, kAnyOpset, [] { return std::make_unique<ResizeOp>(11); });
}

}  // namespace ortkit::ops
