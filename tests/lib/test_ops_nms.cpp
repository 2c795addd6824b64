// NonMaxSuppression against a plain greedy reference at sizes where the kept boxes run past the
// vectorized overlap scan's 64-box blocks: random boxes with flipped corners, zero-area and NaN boxes,
// both box formats, several IoU thresholds, score thresholds and output limits.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "ops/eval.h"
#include "ops_test_util.h"

using namespace ortkit;
using namespace ortkit::ops;
using namespace ortkit::ops::testing;

namespace {

/// One box's IoU test written as the ONNX Runtime rule, box by box.
bool ref_suppresses(const float* a, const float* b, bool center, float th) {
  auto corners = [&](const float* v, float& y0, float& x0, float& y1, float& x1) {
    if (!center) {
      y0 = std::min(v[0], v[2]), y1 = std::max(v[0], v[2]);
      x0 = std::min(v[1], v[3]), x1 = std::max(v[1], v[3]);
    } else {
      x0 = v[0] - v[2] / 2.f, x1 = v[0] + v[2] / 2.f;
      y0 = v[1] - v[3] / 2.f, y1 = v[1] + v[3] / 2.f;
    }
  };
  float ay0, ax0, ay1, ax1, by0, bx0, by1, bx1;
  corners(a, ay0, ax0, ay1, ax1);
  corners(b, by0, bx0, by1, bx1);
  const float iy0 = std::max(ay0, by0), ix0 = std::max(ax0, bx0);
  const float iy1 = std::min(ay1, by1), ix1 = std::min(ax1, bx1);
  if (ix1 <= ix0 || iy1 <= iy0) return false;
  const float inter = (ix1 - ix0) * (iy1 - iy0);
  const float aa = (ax1 - ax0) * (ay1 - ay0), ab = (bx1 - bx0) * (by1 - by0);
  const float uni = aa + ab - inter;
  if (aa <= 0.f || ab <= 0.f || uni <= 0.f) return false;
  return inter / uni > th;
}

std::vector<int64_t> ref_nms(const Tensor& boxes, const Tensor& scores, int64_t max_out, float iou_th,
                             const float* score_th, bool center) {
  const int64_t nb = boxes.shape()[0], n = boxes.shape()[1], nc = scores.shape()[1];
  std::vector<int64_t> out;
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t c = 0; c < nc; ++c) {
      const float* sc = scores.data_as<float>() + (b * nc + c) * n;
      const float* bx = boxes.data_as<float>() + b * n * 4;
      std::vector<int64_t> order;
      for (int64_t i = 0; i < n; ++i)
        if (!score_th || sc[i] > *score_th) order.push_back(i);
      std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return sc[x] > sc[y]; });
      std::vector<int64_t> kept;
      for (int64_t i : order) {
        if (static_cast<int64_t>(kept.size()) >= std::min(max_out, n)) break;
        bool keep = true;
        for (int64_t p : kept) keep = keep && !ref_suppresses(bx + i * 4, bx + p * 4, center, iou_th);
        if (!keep) continue;
        kept.push_back(i);
        out.insert(out.end(), {b, c, i});
      }
    }
  return out;
}

}  // namespace

TEST_CASE("NonMaxSuppression matches a greedy reference over hundreds of kept boxes", "[ops][detection]") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> pos(0.f, 100.f), size(0.f, 12.f), score(0.f, 1.f);
  for (const bool center : {false, true})
    for (const int64_t n : {1, 63, 64, 65, 400}) {
      const int64_t nb = 2, nc = 3;
      std::vector<float> bv(static_cast<size_t>(nb * n * 4)), sv(static_cast<size_t>(nb * nc * n));
      for (int64_t i = 0; i < nb * n; ++i) {
        float* v = bv.data() + i * 4;
        const float y = pos(rng), x = pos(rng), h = size(rng), w = size(rng);
        if (center)
          v[0] = x, v[1] = y, v[2] = w, v[3] = h;
        else if (i % 5 == 1)  // flipped corners
          v[0] = y + h, v[1] = x + w, v[2] = y, v[3] = x;
        else
          v[0] = y, v[1] = x, v[2] = y + h, v[3] = x + w;
        if (i % 17 == 3) v[2] = v[0];  // no area
        if (i % 29 == 5) v[1] = std::numeric_limits<float>::quiet_NaN();
      }
      for (size_t i = 0; i < sv.size(); ++i) sv[i] = i % 11 == 2 ? 0.5f : score(rng);  // some ties
      const Tensor boxes = f32({nb, n, 4}, bv), scores = f32({nb, nc, n}, sv);
      for (const float th : {0.f, 0.3f, 0.7f, 1.f})
        for (const int64_t max_out : {int64_t{5}, int64_t{1} << 40})
          for (const bool with_st : {false, true}) {
            const float st = 0.25f;
            std::vector<Tensor> in{boxes, scores, i64({1}, {max_out}), f32({1}, {th})};
            if (with_st) in.push_back(f32({1}, {st}));
            Attrs attrs;
            if (center) attrs.set_int("center_point_box", 1);
            const Tensor y = eval_single("NonMaxSuppression", in, attrs, at(11))[0];
            INFO("center " << center << " n " << n << " iou " << th << " max " << max_out << " st "
                           << with_st);
            CHECK(vals<int64_t>(y) == ref_nms(boxes, scores, max_out, th, with_st ? &st : nullptr, center));
          }
    }
}
