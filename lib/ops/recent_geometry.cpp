// Index-geometry ops of recent opsets: CenterCropPad (18), Col2Im (18), AffineGrid (20). Output shapes come
// from value inputs: static when those are constant at compile, else allocated at run (data-dependent).
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

inline constexpr int kMaxRank = 8;

/// A small int64 vector of at most kMaxRank values read from a shape-like input (no heap in run()).
struct SmallInts {
  int n = 0;
  int64_t v[kMaxRank] = {};
};

SmallInts read_small_ints(const Tensor& t, const char* what, const NodeInfo& node) {
  SmallInts s;
  if (t.rank() > 1) throw Error(node.describe() + ": " + what + " must be 1-D");
  if (t.dtype() != DType::i64 && t.dtype() != DType::i32)
    throw Error(node.describe() + ": " + what + " must be int32 or int64");
  if (t.numel() > kMaxRank) throw Unsupported(node.describe() + ": " + what + " longer than 8");
  s.n = static_cast<int>(t.numel());
  for (int i = 0; i < s.n; ++i) s.v[i] = int_at(t, i);
  return s;
}

// ----------------------------------------------------------------------------------------------
// CenterCropPad

/// Crops or zero-pads the `axes` to `shape`, keeping the centre (the extra element of an odd difference
/// goes to the end, as in the reference).
class CenterCropPadOp : public OpKernel {
  void compile(CompileContext& ctx) override {
    const InputDesc& x = ctx.input(0);
    if (dtype_size(x.dtype) == 0 || x.dtype == DType::string) ctx.unsupported("string tensors");
    ctx.require_dtype(1, {DType::i32, DType::i64});
    rank_ = static_cast<int>(x.shape.size());
    if (rank_ > kMaxRank) ctx.unsupported("rank above 8");
    std::vector<int64_t> axes = ctx.attr().get_ints("axes", {});
    if (axes.empty())
      for (int d = 0; d < rank_; ++d) axes.push_back(d);
    if (static_cast<int>(axes.size()) > rank_) ctx.fail("more axes than the input's rank");
    naxes_ = static_cast<int>(axes.size());
    bool seen[kMaxRank] = {};
    for (int i = 0; i < naxes_; ++i) {
      axes_[i] = static_cast<int>(normalize_axis(axes[i], rank_, ctx.node->describe()));
      if (seen[axes_[i]]) ctx.fail("axes has a duplicate entry " + std::to_string(axes[i]));
      seen[axes_[i]] = true;
    }
    std::vector<int64_t> shape;
    if (!const_ints(ctx, 1, shape)) {
      dyn_ = true;
      ctx.outputs[0].dtype = x.dtype;
      ctx.outputs[0].data_dependent = true;
      return;
    }
    dyn_ = false;
    SmallInts s;
    s.n = static_cast<int>(shape.size());
    std::copy(shape.begin(), shape.end(), s.v);
    Shape out = x.shape;
    apply(s, out.data(), [&](const std::string& why) { ctx.fail(why); });
    ctx.set_output(0, x.dtype, out);
  }

  /// Writes the output dims into `out` (holding the input's dims on entry).
  template <class Fail>
  void apply(const SmallInts& shape, int64_t* out, Fail&& fail) const {
    if (shape.n != naxes_)
      fail("shape has " + std::to_string(shape.n) + " values for " + std::to_string(naxes_) + " axes");
    for (int i = 0; i < naxes_; ++i) {
      if (shape.v[i] < 0) fail("shape values must be >= 0");
      out[axes_[i]] = shape.v[i];
    }
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor* y = &ctx.output(0);
    if (dyn_) {
      const SmallInts s = read_small_ints(ctx.input(1), "shape", *ctx.node);
      Shape out = x.shape();  // data-dependent path: the output is allocated here anyway
      apply(s, out.data(), [&](const std::string& why) { ctx.fail(why); });
      y = &ctx.allocate_output(0, x.dtype(), out);
    }
    const Shape& is = x.shape();
    const Shape& os = y->shape();
    const size_t esize = dtype_size(x.dtype());
    if (y->bytes()) std::memset(y->data(), 0, y->bytes());
    // Per dim: the copied extent and where it starts in the input and in the output.
    int64_t len[kMaxRank], in_start[kMaxRank], out_start[kMaxRank], in_stride[kMaxRank], out_stride[kMaxRank];
    int64_t is_acc = 1, os_acc = 1;
    for (int d = rank_ - 1; d >= 0; --d) {
      len[d] = std::min(is[d], os[d]);
      in_start[d] = is[d] > os[d] ? (is[d] - os[d]) / 2 : 0;
      out_start[d] = os[d] > is[d] ? (os[d] - is[d]) / 2 : 0;
      in_stride[d] = is_acc;
      out_stride[d] = os_acc;
      is_acc *= is[d];
      os_acc *= os[d];
    }
    if (rank_ == 0) {
      if (y->bytes()) std::memcpy(y->data(), x.data(), esize);
      return;
    }
    int64_t rows = 1;
    for (int d = 0; d < rank_ - 1; ++d) rows *= len[d];
    const int64_t last = rank_ - 1;
    if (rows == 0 || len[last] == 0) return;
    const char* src = static_cast<const char*>(x.data());
    char* dst = static_cast<char*>(y->data());
    parallel_range(ctx.threading, rows, 256, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        int64_t io = in_start[last], oo = out_start[last], rest = r;
        for (int d = rank_ - 2; d >= 0; --d) {
          const int64_t i = rest % len[d];
          rest /= len[d];
          io += (in_start[d] + i) * in_stride[d];
          oo += (out_start[d] + i) * out_stride[d];
        }
        std::memcpy(dst + oo * esize, src + io * esize, static_cast<size_t>(len[last]) * esize);
      }
    });
  }

  int rank_ = 0, naxes_ = 0;
  int axes_[kMaxRank] = {};
  bool dyn_ = false;
};

// ---------------------------------------------------------------------------------------------- Col2Im

/// Geometry of one Col2Im call: image dims, block (kernel) dims, strides, dilations, pads, block counts.
struct Col2ImGeometry {
  int nd = 0;
  int64_t image[kMaxRank], block[kMaxRank], stride[kMaxRank], dil[kMaxRank], pad_begin[kMaxRank];
  int64_t blocks[kMaxRank];  // sliding positions per dim
  int64_t block_size = 1, num_blocks = 1, image_size = 1;
};

class Col2ImOp : public OpKernel {
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64, DType::i32, DType::i64});
    ctx.require_dtype(1, {DType::i32, DType::i64});
    ctx.require_dtype(2, {DType::i32, DType::i64});
    const Shape& xs = ctx.input(0).shape;
    if (xs.size() != 3) ctx.fail("input must be [N, C * prod(block_shape), L], got " + shape_str(xs));
    strides_ = ctx.attr().get_ints("strides", {});
    dilations_ = ctx.attr().get_ints("dilations", {});
    pads_ = ctx.attr().get_ints("pads", {});
    std::vector<int64_t> image, block;
    if (!const_ints(ctx, 1, image) || !const_ints(ctx, 2, block)) {
      dyn_ = true;
      ctx.outputs[0].dtype = ctx.input(0).dtype;
      ctx.outputs[0].data_dependent = true;
      return;
    }
    dyn_ = false;
    SmallInts im, bl;
    if (image.size() > kMaxRank || block.size() > kMaxRank) ctx.unsupported("more than 8 image dims");
    im.n = static_cast<int>(image.size());
    bl.n = static_cast<int>(block.size());
    std::copy(image.begin(), image.end(), im.v);
    std::copy(block.begin(), block.end(), bl.v);
    const Col2ImGeometry g = geometry(im, bl, xs.data(), [&](const std::string& why) { ctx.fail(why); });
    Shape out = {xs[0], xs[1] / g.block_size};
    out.insert(out.end(), image.begin(), image.end());
    ctx.set_output(0, ctx.input(0).dtype, out);
  }

  template <class Fail>
  Col2ImGeometry geometry(const SmallInts& im, const SmallInts& bl, const int64_t* xs, Fail&& fail) const {
    Col2ImGeometry g;
    g.nd = im.n;
    if (g.nd < 1) fail("image_shape must not be empty");
    if (bl.n != g.nd) fail("block_shape and image_shape must have the same length");
    const size_t nd = static_cast<size_t>(g.nd);
    if ((!strides_.empty() && strides_.size() != nd) || (!dilations_.empty() && dilations_.size() != nd) ||
        (!pads_.empty() && pads_.size() != 2 * nd))
      fail("strides/dilations/pads do not match the number of image dims");
    for (int i = 0; i < g.nd; ++i) {
      g.image[i] = im.v[i];
      g.block[i] = bl.v[i];
      g.stride[i] = strides_.empty() ? 1 : strides_[i];
      g.dil[i] = dilations_.empty() ? 1 : dilations_[i];
      g.pad_begin[i] = pads_.empty() ? 0 : pads_[i];
      const int64_t pad_end = pads_.empty() ? 0 : pads_[i + nd];
      if (g.image[i] < 1 || g.block[i] < 1 || g.stride[i] < 1 || g.dil[i] < 1)
        fail("image_shape, block_shape, strides and dilations must be >= 1");
      const int64_t span = g.image[i] + g.pad_begin[i] + pad_end - g.dil[i] * (g.block[i] - 1) - 1;
      if (span < 0) fail("the block is larger than the padded image in dim " + std::to_string(i));
      g.blocks[i] = span / g.stride[i] + 1;
      g.block_size *= g.block[i];
      g.num_blocks *= g.blocks[i];
      g.image_size *= g.image[i];
    }
    if (xs[1] % g.block_size != 0)
      fail("input dim 1 (" + std::to_string(xs[1]) + ") is not a multiple of prod(block_shape) (" +
           std::to_string(g.block_size) + ")");
    if (xs[2] != g.num_blocks)
      fail("input dim 2 (" + std::to_string(xs[2]) + ") must equal the number of sliding blocks (" +
           std::to_string(g.num_blocks) + ")");
    return g;
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    auto fail = [&](const std::string& why) { ctx.fail(why); };
    const SmallInts im = read_small_ints(ctx.input(1), "image_shape", *ctx.node);
    const SmallInts bl = read_small_ints(ctx.input(2), "block_shape", *ctx.node);
    const Col2ImGeometry g = geometry(im, bl, x.shape().data(), fail);
    Tensor* y = &ctx.output(0);
    if (dyn_) {
      Shape out = {x.shape()[0], x.shape()[1] / g.block_size};  // data-dependent path allocates anyway
      out.insert(out.end(), im.v, im.v + im.n);
      y = &ctx.allocate_output(0, x.dtype(), out);
    }
    visit_numeric(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>)
        scatter_add(x.data_as<T>(), y->data_as<T>(), g, ctx.threading, x.shape()[0] * y->shape()[1]);
    });
  }

  /// Each column (block offset k, block position b) adds into the image pixel it covers, if any.
  template <class T>
  static void scatter_add(const T* col, T* img, const Col2ImGeometry& g, const kernels::Threading& th,
                          int64_t planes) {
    parallel_for(th, planes, [&](int64_t plane) {
      const T* src = col + plane * g.block_size * g.num_blocks;
      T* dst = img + plane * g.image_size;
      std::fill(dst, dst + g.image_size, T(0));
      for (int64_t k = 0; k < g.block_size; ++k) {
        int64_t koff[kMaxRank];
        for (int64_t d = g.nd - 1, r = k; d >= 0; --d) {
          koff[d] = r % g.block[d];
          r /= g.block[d];
        }
        for (int64_t b = 0; b < g.num_blocks; ++b) {
          int64_t at = 0, r = b;
          bool inside = true;
          for (int64_t d = g.nd - 1, mul = 1; d >= 0; --d) {
            const int64_t bi = r % g.blocks[d];
            r /= g.blocks[d];
            const int64_t pix = bi * g.stride[d] - g.pad_begin[d] + koff[d] * g.dil[d];
            if (pix < 0 || pix >= g.image[d]) {
              inside = false;
              break;
            }
            at += pix * mul;
            mul *= g.image[d];
          }
          if (inside) dst[at] += src[k * g.num_blocks + b];
        }
      }
    });
  }

  std::vector<int64_t> strides_, dilations_, pads_;
  bool dyn_ = false;
};

// ---------------------------------------------------------------------------------------------- AffineGrid

/// grid[n, (d,) h, w] = theta[n] @ (x_w, y_h, (z_d,) 1) with normalised coordinates in [-1, 1].
class AffineGridOp : public OpKernel {
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32, DType::f64});
    ctx.require_dtype(1, {DType::i64});
    align_ = ctx.attr().get_int("align_corners", 0) != 0;
    const Shape& ts = ctx.input(0).shape;
    if (ts.size() != 3 || !((ts[1] == 2 && ts[2] == 3) || (ts[1] == 3 && ts[2] == 4)))
      ctx.fail("theta must be [N, 2, 3] (2-D) or [N, 3, 4] (3-D), got " + shape_str(ts));
    std::vector<int64_t> size;
    if (!const_ints(ctx, 1, size)) {
      dyn_ = true;
      ctx.outputs[0].dtype = ctx.input(0).dtype;
      ctx.outputs[0].data_dependent = true;
      return;
    }
    dyn_ = false;
    SmallInts s;
    if (size.size() > kMaxRank) ctx.fail("size must have 4 or 5 values");
    s.n = static_cast<int>(size.size());
    std::copy(size.begin(), size.end(), s.v);
    Shape out(static_cast<size_t>(s.n), 0);
    out_shape(s, ts, out.data(), [&](const std::string& why) { ctx.fail(why); });
    ctx.set_output(0, ctx.input(0).dtype, out);
  }

  /// [N, H, W, 2] or [N, D, H, W, 3] into `out` (s.n values).
  template <class Fail>
  static void out_shape(const SmallInts& s, const Shape& theta, int64_t* out, Fail&& fail) {
    const int spatial = static_cast<int>(theta[1]);
    if (s.n != spatial + 2)
      fail("size must have " + std::to_string(spatial + 2) + " values for theta " + shape_str(theta));
    if (s.v[0] != theta[0]) fail("size[0] must equal theta's batch size");
    out[0] = s.v[0];
    for (int i = 0; i < spatial; ++i) {
      if (s.v[2 + i] < 0) fail("size values must be >= 0");
      out[1 + i] = s.v[2 + i];
    }
    out[spatial + 1] = spatial;
  }

  void run(RunContext& ctx) override {
    const Tensor& theta = ctx.input(0);
    Tensor* y = &ctx.output(0);
    if (dyn_) {
      const SmallInts s = read_small_ints(ctx.input(1), "size", *ctx.node);
      Shape out(static_cast<size_t>(s.n), 0);  // data-dependent path allocates anyway
      out_shape(s, theta.shape(), out.data(), [&](const std::string& why) { ctx.fail(why); });
      y = &ctx.allocate_output(0, theta.dtype(), out);
    }
    const int spatial = static_cast<int>(theta.shape()[1]);
    const Shape& os = y->shape();
    int64_t dims[3] = {1, 1, 1};  // D, H, W (D = 1 in 2-D)
    for (int i = 0; i < spatial; ++i) dims[3 - spatial + i] = os[1 + i];
    const bool align = align_;
    auto coord = [align](int64_t i, int64_t n) -> double {
      if (align) return n == 1 ? -1.0 : -1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(n - 1);
      return -1.0 + (2.0 * static_cast<double>(i) + 1.0) / static_cast<double>(n);
    };
    visit_float(theta.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* th = theta.data_as<T>();
      T* out = y->data_as<T>();
      const int64_t cols = spatial + 1, per = dims[0] * dims[1] * dims[2];
      parallel_for(ctx.threading, os[0] * dims[0], [&](int64_t nd) {
        const int64_t n = nd / dims[0], d = nd % dims[0];
        const T* m = th + n * spatial * cols;
        T* o = out + (n * per + d * dims[1] * dims[2]) * spatial;
        const double z = coord(d, dims[0]);
        for (int64_t h = 0; h < dims[1]; ++h) {
          const double yv = coord(h, dims[1]);
          for (int64_t w = 0; w < dims[2]; ++w, o += spatial) {
            const double xv = coord(w, dims[2]);
            // Homogeneous point (x, y, [z,] 1): W varies fastest and comes first.
            const double p[4] = {xv, yv, spatial == 3 ? z : 1.0, 1.0};
            for (int r = 0; r < spatial; ++r) {
              double acc = 0;
              for (int c = 0; c < cols; ++c) acc += static_cast<double>(m[r * cols + c]) * p[c];
              o[r] = static_cast<T>(acc);
            }
          }
        }
      });
    });
  }

  bool align_ = false, dyn_ = false;
};

}  // namespace

void register_recent_geometry_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "CenterCropPad", 18, kAnyOpset, [] { return std::make_unique<CenterCropPadOp>(); });
  r.add(kOnnxDomain, "Col2Im", 18, kAnyOpset, [] { return std::make_unique<Col2ImOp>(); });
  r.add(kOnnxDomain, "AffineGrid", 20, kAnyOpset, [] { return std::make_unique<AffineGridOp>(); });
}

}  // namespace ortkit::ops
