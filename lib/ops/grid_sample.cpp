// GridSample (opset 16; opset 20 mode names "linear"/"cubic" accepted too): samples a 4-D NCHW input at
// the normalized (x, y) locations of a grid [N, H_out, W_out, 2]; from opset 20 also 3-D and 5-D
// (volumetric: grid [N, D_out, H_out, W_out, 3] of (x, y, z)) inputs, linear or nearest. Follows PyTorch's
// grid_sample, which
// generated the ONNX test data: unnormalize with/without align_corners, padding zeros/border/reflection
// applied to the source coordinate (bilinear/nearest) or to each of the 16 taps (bicubic, A = -0.75),
// nearest rounds half to even.
#include <cmath>
#include <string>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

enum class Mode { bilinear, nearest, bicubic };
enum class Padding { zeros, border, reflection };

inline float unnormalize(float c, int64_t size, bool align) {
  return align ? (c + 1.f) / 2.f * static_cast<float>(size - 1)
               : ((c + 1.f) * static_cast<float>(size) - 1.f) / 2.f;
}

inline float clip_coord(float c, int64_t size) {
  return std::fmin(static_cast<float>(size - 1), std::fmax(c, 0.f));
}

inline float reflect_coord(float in, int64_t twice_low, int64_t twice_high) {
  if (twice_low == twice_high) return 0.f;
  const float mn = static_cast<float>(twice_low) / 2.f;
  const float span = static_cast<float>(twice_high - twice_low) / 2.f;
  in = std::fabs(in - mn);
  const float extra = std::fmod(in, span);
  const float flips = std::floor(in / span);
  return std::fmod(flips, 2.f) == 0.f ? extra + mn : span - extra + mn;
}

inline float compute_coord(float c, int64_t size, Padding p, bool align) {
  if (p == Padding::border) return clip_coord(c, size);
  if (p == Padding::reflection) {
    c = align ? reflect_coord(c, 0, 2 * (size - 1)) : reflect_coord(c, -1, 2 * size - 1);
    return clip_coord(c, size);
  }
  return c;
}

/// float -> index without overflow (far-out coordinates stay out of bounds).
inline int64_t to_index(float f) {
  if (!(f > -1e9f)) return -(int64_t{1} << 40);
  if (f > 1e9f) return int64_t{1} << 40;
  return static_cast<int64_t>(f);
}

inline float cubic1(float x, float a) {
  return ((a + 2) * x - (a + 3)) * x * x + 1;
}
inline float cubic2(float x, float a) {
  return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
}

class GridSample : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    ctx.require_dtype(1, {DType::f32});
    const std::string mode = ctx.attr().get_string("mode", ctx.node->opset >= 20 ? "linear" : "bilinear");
    if (mode == "bilinear" || mode == "linear")
      mode_ = Mode::bilinear;
    else if (mode == "nearest")
      mode_ = Mode::nearest;
    else if (mode == "bicubic" || mode == "cubic")
      mode_ = Mode::bicubic;
    else
      ctx.fail("unknown mode '" + mode + "'");
    const std::string pad = ctx.attr().get_string("padding_mode", "zeros");
    if (pad == "zeros")
      pad_ = Padding::zeros;
    else if (pad == "border")
      pad_ = Padding::border;
    else if (pad == "reflection")
      pad_ = Padding::reflection;
    else
      ctx.fail("unknown padding_mode '" + pad + "'");
    align_ = ctx.attr().get_int("align_corners", 0) != 0;
    const Shape& x = ctx.input(0).shape;
    const Shape& g = ctx.input(1).shape;
    if (x.size() != g.size()) ctx.fail("X and Grid must have the same rank");
    const bool nd = ctx.node->opset >= 20;  // opset 20 made GridSample N-D
    if (x.size() != 4 && !(nd && (x.size() == 3 || x.size() == 5)))
      ctx.fail(nd ? "X must be [N, C, D1, ..., Dr] with r = 1, 2 or 3" : "X must be 4-D [N, C, H, W]");
    const int64_t r = static_cast<int64_t>(x.size()) - 2;
    if (g.back() != r)
      ctx.fail("Grid must be [N, D1_out, ..., Dr_out, " + std::to_string(r) + "], last dim is " +
               std::to_string(g.back()));
    if (g[0] != x[0]) ctx.fail("Grid batch differs from X batch");
    if (r != 2 && mode_ == Mode::bicubic)
      ctx.unsupported("cubic mode with " + std::to_string(r) + " spatial dims");
    Shape out = {x[0], x[1]};
    out.insert(out.end(), g.begin() + 1, g.end() - 1);
    ctx.set_output(0, DType::f32, out);
  }

  void run(RunContext& ctx) override {
    if (ctx.input(0).rank() != 4) return run_nd(ctx);
    const Tensor &xt = ctx.input(0), &gt = ctx.input(1);
    const int64_t N = xt.shape()[0], C = xt.shape()[1], H = xt.shape()[2], W = xt.shape()[3];
    const int64_t Ho = gt.shape()[1], Wo = gt.shape()[2];
    const float* X = xt.data_as<float>();
    const float* G = gt.data_as<float>();
    float* Y = ctx.output(0).data_as<float>();
    const int64_t plane = Ho * Wo;
    const Mode mode = mode_;
    const Padding pad = pad_;
    const bool align = align_;
    parallel_range(ctx.threading, N * C, 1, [&](int64_t b, int64_t e) {
      for (int64_t nc = b; nc < e; ++nc) {
        const int64_t n = nc / C;
        const float* xp = X + nc * H * W;
        const float* gp = G + n * plane * 2;
        float* yp = Y + nc * plane;
        auto at = [&](int64_t yy, int64_t xx) -> float {
          return (yy >= 0 && yy < H && xx >= 0 && xx < W) ? xp[yy * W + xx] : 0.f;
        };
        for (int64_t p = 0; p < plane; ++p) {
          const float gx = gp[2 * p], gy = gp[2 * p + 1];
          float ix = unnormalize(gx, W, align), iy = unnormalize(gy, H, align);
          if (mode == Mode::bicubic) {
            const float fx = std::floor(ix), fy = std::floor(iy);
            const float tx = ix - fx, ty = iy - fy;
            const float A = -0.75f;
            const float wx[4] = {cubic2(tx + 1, A), cubic1(tx, A), cubic1(1 - tx, A), cubic2(2 - tx, A)};
            const float wy[4] = {cubic2(ty + 1, A), cubic1(ty, A), cubic1(1 - ty, A), cubic2(2 - ty, A)};
            float acc = 0.f;
            for (int i = 0; i < 4; ++i) {
              const float cy = compute_coord(fy - 1 + static_cast<float>(i), H, pad, align);
              float row = 0.f;
              for (int j = 0; j < 4; ++j) {
                const float cx = compute_coord(fx - 1 + static_cast<float>(j), W, pad, align);
                row += wx[j] * at(to_index(cy), to_index(cx));
              }
              acc += wy[i] * row;
            }
            yp[p] = acc;
            continue;
          }
          ix = compute_coord(ix, W, pad, align);
          iy = compute_coord(iy, H, pad, align);
          if (mode == Mode::nearest) {
            if (!std::isfinite(ix) || !std::isfinite(iy)) {
              yp[p] = 0.f;
              continue;
            }
            yp[p] = at(to_index(std::nearbyint(iy)), to_index(std::nearbyint(ix)));
            continue;
          }
          if (!std::isfinite(ix) || !std::isfinite(iy)) {
            yp[p] = 0.f;
            continue;
          }
          const float x0f = std::floor(ix), y0f = std::floor(iy);
          const int64_t x0 = to_index(x0f), y0 = to_index(y0f);
          const float dx = ix - x0f, dy = iy - y0f;
          yp[p] = at(y0, x0) * (1 - dx) * (1 - dy) + at(y0, x0 + 1) * dx * (1 - dy) +
                  at(y0 + 1, x0) * (1 - dx) * dy + at(y0 + 1, x0 + 1) * dx * dy;
        }
      }
    });
  }

 private:
  /// 1 or 3 spatial dims (linear or nearest): grid component j addresses spatial dim r - 1 - j (x is the
  /// last dim), and linear mode blends the 2^r corners around the point, zero outside X.
  void run_nd(RunContext& ctx) {
    const Tensor &xt = ctx.input(0), &gt = ctx.input(1);
    const int r = static_cast<int>(xt.rank()) - 2;
    const int64_t N = xt.shape()[0], C = xt.shape()[1];
    int64_t size[3] = {1, 1, 1}, in_plane = 1, plane = 1;
    for (int d = 0; d < r; ++d) {
      size[d] = xt.shape()[static_cast<size_t>(2 + d)];
      in_plane *= size[d];
      plane *= gt.shape()[static_cast<size_t>(1 + d)];
    }
    const float* X = xt.data_as<float>();
    const float* G = gt.data_as<float>();
    float* Y = ctx.output(0).data_as<float>();
    const Mode mode = mode_;
    const Padding pad = pad_;
    const bool align = align_;
    parallel_range(ctx.threading, N * C, 1, [&](int64_t b, int64_t e) {
      for (int64_t nc = b; nc < e; ++nc) {
        const float* xp = X + nc * in_plane;
        const float* gp = G + nc / C * plane * r;
        float* yp = Y + nc * plane;
        for (int64_t p = 0; p < plane; ++p) {
          float c[3];
          bool finite = true;
          for (int d = 0; d < r; ++d) {
            c[d] = compute_coord(unnormalize(gp[p * r + (r - 1 - d)], size[d], align), size[d], pad, align);
            finite = finite && std::isfinite(c[d]);
          }
          if (!finite) {
            yp[p] = 0.f;
            continue;
          }
          if (mode == Mode::nearest) {
            int64_t off = 0;
            bool inside = true;
            for (int d = 0; d < r; ++d) {
              const int64_t i = to_index(std::nearbyint(c[d]));
              inside = inside && i >= 0 && i < size[d];
              off = off * size[d] + i;
            }
            yp[p] = inside ? xp[off] : 0.f;
            continue;
          }
          int64_t lo[3];
          float frac[3];
          for (int d = 0; d < r; ++d) {
            const float f = std::floor(c[d]);
            lo[d] = to_index(f);
            frac[d] = c[d] - f;
          }
          float acc = 0.f;
          for (int corner = 0; corner < (1 << r); ++corner) {
            float w = 1.f;
            int64_t off = 0;
            bool inside = true;
            for (int d = 0; d < r; ++d) {
              const int up = (corner >> (r - 1 - d)) & 1;
              const int64_t i = lo[d] + up;
              w *= up ? frac[d] : 1.f - frac[d];
              inside = inside && i >= 0 && i < size[d];
              off = off * size[d] + i;
            }
            if (inside) acc += w * xp[off];
          }
          yp[p] = acc;
        }
      }
    });
  }

  Mode mode_ = Mode::bilinear;
  Padding pad_ = Padding::zeros;
  bool align_ = false;
};

}  // namespace

void register_grid_sample_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "GridSample", 16, kAnyOpset, [] { return std::make_unique<GridSample>(); });
}

}  // namespace ortkit::ops
