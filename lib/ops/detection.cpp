// Detection operators: NonMaxSuppression (ai.onnx 10+) and RoiAlign (10+; coordinate_transformation_mode
// from 16). Both follow onnxruntime's CPU kernels where the spec leaves details open (tie order of equal
// scores, IoU of degenerate boxes, bilinear sampling at the borders, RoiAlign's "max" mode).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/fast_math.h"
#include "ops/op_util.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

/// Boxes as corners, one array per coordinate (structure of arrays), with their areas.
struct BoxCorners {
  float *y0, *x0, *y1, *x1, *area;
};

/// Whether any of the n boxes in `p` suppresses the box (y0, x0, y1, x1) of area `a`: IoU > th, with an
/// empty intersection, a box of no area or a union of no area never suppressing (ONNX Runtime's rule).
/// Branch-free over blocks of 64 so GCC vectorizes it (the IoU's division only in blocks with an overlap):
/// greedy NMS compares each candidate with every box kept so far, and detectors that offset boxes per class
/// (torchvision's batched_nms) keep thousands.
ORTKIT_OPS_CLONES_512 bool any_suppresses(float y0, float x0, float y1, float x1, float a,
                                          const BoxCorners& p, int64_t n, float th) {
  constexpr int64_t kBlock = 64;
  for (int64_t s = 0; s < n; s += kBlock) {
    const int64_t e = std::min(n, s + kBlock);
    // Most kept boxes do not even touch the candidate: test that first and skip the division.
    int touch = 0;
    for (int64_t j = s; j < e; ++j)
      touch |=
          (std::min(x1, p.x1[j]) > std::max(x0, p.x0[j])) & (std::min(y1, p.y1[j]) > std::max(y0, p.y0[j]));
    if (!touch) continue;
    int hit = 0;
    for (int64_t j = s; j < e; ++j) {
      const float iy0 = std::max(y0, p.y0[j]), ix0 = std::max(x0, p.x0[j]);
      const float iy1 = std::min(y1, p.y1[j]), ix1 = std::min(x1, p.x1[j]);
      const float inter = (ix1 - ix0) * (iy1 - iy0);
      const float uni = a + p.area[j] - inter;
      hit |= (ix1 > ix0) & (iy1 > iy0) & (a > 0.f) & (p.area[j] > 0.f) & (uni > 0.f) & (inter / uni > th);
    }
    if (hit) return true;
  }
  return false;
}

/// selected_indices [n, 3] int64 (batch, class, box), greedy per (batch, class) in descending score.
class NonMaxSuppression : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    ctx.require_dtype(1, {DType::f32});
    if (ctx.has_input(2)) ctx.require_dtype(2, {DType::i64, DType::i32});
    for (size_t i : {3, 4})
      if (ctx.has_input(i)) ctx.require_dtype(i, {DType::f32});
    center_ = ctx.attr().get_int("center_point_box", 0);
    if (center_ != 0 && center_ != 1) ctx.fail("center_point_box must be 0 or 1");
    const Shape &b = ctx.input(0).shape, &s = ctx.input(1).shape;
    if (b.size() != 3 || b[2] != 4) ctx.fail("boxes must be [batches, boxes, 4], got " + shape_str(b));
    if (s.size() != 3 || s[0] != b[0] || s[2] != b[1])
      ctx.fail("scores " + shape_str(s) + " do not match boxes " + shape_str(b));
    ctx.outputs[0].dtype = DType::i64;
    ctx.outputs[0].data_dependent = true;
    // Scratch: candidate order (spatial int64), every selection (batches * classes * spatial triples),
    // then the corners and areas of one batch's boxes and of one class's kept boxes (2 x 5 floats each).
    const int64_t n = b[1];
    ctx.scratch_bytes = static_cast<size_t>(n + 3 * s[0] * s[1] * n) * sizeof(int64_t) +
                        static_cast<size_t>(10 * n) * sizeof(float);
  }

  void run(RunContext& ctx) override {
    const Tensor &tb = ctx.input(0), &ts = ctx.input(1);
    const int64_t nb = tb.shape()[0], nbox = tb.shape()[1], nc = ts.shape()[1];
    int64_t max_out = 0;
    if (ctx.has_input(2) && ctx.input(2).numel() > 0) max_out = int_at(ctx.input(2), 0);
    const float iou_th =
        ctx.has_input(3) && ctx.input(3).numel() > 0 ? ctx.input(3).data_as<float>()[0] : 0.f;
    const bool has_st = ctx.has_input(4) && ctx.input(4).numel() > 0;
    const float score_th = has_st ? ctx.input(4).data_as<float>()[0] : 0.f;
    if (iou_th < 0.f || iou_th > 1.f) ctx.fail("iou_threshold must be in [0, 1]");
    int64_t* order = static_cast<int64_t*>(ctx.scratch);
    int64_t* sel = order + nbox;
    float* fl = reinterpret_cast<float*>(sel + 3 * nb * nc * nbox);
    const BoxCorners all{fl, fl + nbox, fl + 2 * nbox, fl + 3 * nbox, fl + 4 * nbox};
    const BoxCorners kept{fl + 5 * nbox, fl + 6 * nbox, fl + 7 * nbox, fl + 8 * nbox, fl + 9 * nbox};
    int64_t count = 0;
    const float* boxes = tb.data_as<float>();
    const float* scores = ts.data_as<float>();
    const int64_t limit = std::min(max_out, nbox);
    for (int64_t b = 0; b < nb && limit > 0; ++b) {
      const float* bx = boxes + b * nbox * 4;
      for (int64_t i = 0; i < nbox; ++i) {
        corners(bx + i * 4, all.y0[i], all.x0[i], all.y1[i], all.x1[i]);
        all.area[i] = (all.x1[i] - all.x0[i]) * (all.y1[i] - all.y0[i]);
      }
      for (int64_t c = 0; c < nc; ++c) {
        const float* sc = scores + (b * nc + c) * nbox;
        int64_t ncand = 0;
        for (int64_t i = 0; i < nbox; ++i)
          if (!has_st || sc[i] > score_th) order[ncand++] = i;
        // Descending score, ties by lower index.
        std::sort(order, order + ncand,
                  [&](int64_t x, int64_t y) { return sc[x] > sc[y] || (sc[x] == sc[y] && x < y); });
        int64_t npicked = 0;
        for (int64_t k = 0; k < ncand && npicked < limit; ++k) {
          const int64_t i = order[k];
          if (any_suppresses(all.y0[i], all.x0[i], all.y1[i], all.x1[i], all.area[i], kept, npicked, iou_th))
            continue;
          kept.y0[npicked] = all.y0[i], kept.x0[npicked] = all.x0[i], kept.y1[npicked] = all.y1[i];
          kept.x1[npicked] = all.x1[i], kept.area[npicked] = all.area[i];
          ++npicked;
          sel[count * 3] = b, sel[count * 3 + 1] = c, sel[count * 3 + 2] = i;
          ++count;
        }
      }
    }
    Tensor& out = ctx.allocate_output(0, DType::i64, {count, 3});
    if (count > 0) std::memcpy(out.data(), sel, static_cast<size_t>(count * 3) * sizeof(int64_t));
  }

 private:
  /// Corners (ymin, xmin, ymax, xmax) of a box in either format.
  void corners(const float* b, float& y0, float& x0, float& y1, float& x1) const {
    if (center_ == 0) {
      y0 = std::min(b[0], b[2]), y1 = std::max(b[0], b[2]);
      x0 = std::min(b[1], b[3]), x1 = std::max(b[1], b[3]);
    } else {  // x_center, y_center, width, height
      x0 = b[0] - b[2] / 2.f, x1 = b[0] + b[2] / 2.f;
      y0 = b[1] - b[3] / 2.f, y1 = b[1] + b[3] / 2.f;
    }
  }
  int64_t center_ = 0;
};

/// RoiAlign's adaptive sampling grid along one side: ceil(roi size / output bins), as ONNX Runtime
/// computes it. A NaN or astronomically large ROI (the grid is sampled per output bin, so 2^16 would
/// already be millions of taps) is an error instead of an undefined conversion and an endless loop.
int64_t adaptive_grid(float roi_size, int64_t bins, int64_t roi) {
  const double g = std::ceil(static_cast<double>(roi_size) / static_cast<double>(bins));
  if (std::isnan(g) || g > 65536.0)
    throw Error("RoiAlign: roi " + std::to_string(roi) + " spans " + std::to_string(roi_size) +
                " pixels, too many samples per bin (give sampling_ratio)");
  return g > 0 ? static_cast<int64_t>(g) : 0;
}

/// Y[r, c, ph, pw] = average (or max) of bilinear samples of X[batch_indices[r], c] in bin (ph, pw) of roi r.
class RoiAlign : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    ctx.require_dtype(1, {DType::f32});
    ctx.require_dtype(2, {DType::i64, DType::i32});
    const Attrs& a = ctx.attr();
    const std::string mode = a.get_string("mode", "avg");
    if (mode != "avg" && mode != "max") ctx.fail("mode must be avg or max, got '" + mode + "'");
    max_ = mode == "max";
    const std::string ctm = a.get_string("coordinate_transformation_mode",
                                         ctx.node->opset >= 16 ? "half_pixel" : "output_half_pixel");
    if (ctm != "half_pixel" && ctm != "output_half_pixel")
      ctx.fail("unknown coordinate_transformation_mode '" + ctm + "'");
    half_pixel_ = ctm == "half_pixel";
    oh_ = a.get_int("output_height", 1), ow_ = a.get_int("output_width", 1);
    sampling_ = a.get_int("sampling_ratio", 0);
    scale_ = a.get_float("spatial_scale", 1.f);
    if (oh_ <= 0 || ow_ <= 0) ctx.fail("output_height and output_width must be positive");
    if (sampling_ < 0) ctx.fail("sampling_ratio must be >= 0");
    const Shape &x = ctx.input(0).shape, &r = ctx.input(1).shape, &bi = ctx.input(2).shape;
    if (x.size() != 4) ctx.fail("X must be 4-D, got " + shape_str(x));
    if (r.size() != 2 || r[1] != 4) ctx.fail("rois must be [num_rois, 4], got " + shape_str(r));
    if (bi.size() != 1 || bi[0] != r[0]) ctx.fail("batch_indices must be [num_rois]");
    ctx.set_output(0, DType::f32, {r[0], x[1], oh_, ow_});
  }

  void run(RunContext& ctx) override {
    const Tensor& tx = ctx.input(0);
    const int64_t N = tx.shape()[0], C = tx.shape()[1], H = tx.shape()[2], W = tx.shape()[3];
    const int64_t nr = ctx.input(1).shape()[0];
    const float* rois = ctx.input(1).data_as<float>();
    const float off = half_pixel_ ? 0.5f : 0.f;
    // Roi r's start (sw, sh) and size (rw, rh) in feature-map pixels.
    auto geometry = [&](int64_t r, float& sw, float& sh, float& rw, float& rh) {
      const float* roi = rois + r * 4;
      sw = roi[0] * scale_ - off, sh = roi[1] * scale_ - off;
      rw = roi[2] * scale_ - off - sw, rh = roi[3] * scale_ - off - sh;
      if (!half_pixel_) rw = std::max(rw, 1.f), rh = std::max(rh, 1.f);
    };
    for (int64_t r = 0; r < nr; ++r) {  // checked here, on the calling thread, not inside the workers
      const int64_t b = int_at(ctx.input(2), r);
      if (b < 0 || b >= N)
        ctx.fail("batch_indices[" + std::to_string(r) + "] = " + std::to_string(b) + " out of range");
      float sw, sh, rw, rh;
      geometry(r, sw, sh, rw, rh);
      if (sampling_ <= 0) {
        adaptive_grid(rh, oh_, r);
        adaptive_grid(rw, ow_, r);
      }
    }
    const float* x = tx.data_as<float>();
    float* y = ctx.output(0).data_as<float>();
    parallel_for(ctx.threading, nr * C, [&](int64_t rc) {
      const int64_t r = rc / C, c = rc % C;
      const float* img = x + (int_at(ctx.input(2), r) * C + c) * H * W;
      float sw, sh, rw, rh;
      geometry(r, sw, sh, rw, rh);
      const float bh = rh / static_cast<float>(oh_), bw = rw / static_cast<float>(ow_);
      const int64_t gh = sampling_ > 0 ? sampling_ : adaptive_grid(rh, oh_, r);
      const int64_t gw = sampling_ > 0 ? sampling_ : adaptive_grid(rw, ow_, r);
      const float cnt = static_cast<float>(std::max<int64_t>(gh * gw, 1));
      float* out = y + rc * oh_ * ow_;
      for (int64_t ph = 0; ph < oh_; ++ph)
        for (int64_t pw = 0; pw < ow_; ++pw) {
          float acc = 0.f;
          bool first = true;
          for (int64_t iy = 0; iy < gh; ++iy) {
            const float yy = sh + ph * bh + (iy + 0.5f) * bh / static_cast<float>(gh);
            for (int64_t ix = 0; ix < gw; ++ix) {
              const float xx = sw + pw * bw + (ix + 0.5f) * bw / static_cast<float>(gw);
              float v[4] = {0, 0, 0, 0};
              sample(img, H, W, yy, xx, v);
              if (max_) {
                const float m = std::max(std::max(v[0], v[1]), std::max(v[2], v[3]));
                acc = first ? m : std::max(acc, m);
                first = false;
              } else {
                acc += v[0] + v[1] + v[2] + v[3];
              }
            }
          }
          out[ph * ow_ + pw] = max_ ? acc : acc / cnt;
        }
    });
  }

 private:
  /// The four weighted corner values of a bilinear sample (zero outside [-1, size]).
  static void sample(const float* img, int64_t H, int64_t W, float y, float x, float v[4]) {
    if (y < -1.f || y > static_cast<float>(H) || x < -1.f || x > static_cast<float>(W)) return;
    y = std::max(y, 0.f), x = std::max(x, 0.f);
    int64_t y0 = static_cast<int64_t>(y), x0 = static_cast<int64_t>(x), y1, x1;
    if (y0 >= H - 1)
      y1 = y0 = H - 1, y = static_cast<float>(y0);
    else
      y1 = y0 + 1;
    if (x0 >= W - 1)
      x1 = x0 = W - 1, x = static_cast<float>(x0);
    else
      x1 = x0 + 1;
    const float ly = y - static_cast<float>(y0), lx = x - static_cast<float>(x0), hy = 1.f - ly,
                hx = 1.f - lx;
    v[0] = hy * hx * img[y0 * W + x0];
    v[1] = hy * lx * img[y0 * W + x1];
    v[2] = ly * hx * img[y1 * W + x0];
    v[3] = ly * lx * img[y1 * W + x1];
  }

  bool max_ = false, half_pixel_ = true;
  int64_t oh_ = 1, ow_ = 1, sampling_ = 0;
  float scale_ = 1.f;
};

}  // namespace

void register_detection_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "NonMaxSuppression", 10, kAnyOpset,
        [] { return std::make_unique<NonMaxSuppression>(); });
  r.add(kOnnxDomain, "RoiAlign", 10, kAnyOpset, [] { return std::make_unique<RoiAlign>(); });
}

}  // namespace ortkit::ops
