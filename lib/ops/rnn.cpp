// Recurrent operators: RNN, GRU, LSTM (ai.onnx, every opset; `layout` from opset 14).
//
// One direction runs as:
//   XW = X * W^T + bias           one GEMM over all time steps (W packed once when constant)
//   per step s: G = H * R^T       one GEMM over the batch (R packed once), then the gates elementwise
// sequence_lens: batch b runs steps 0..len_b-1 (the reverse direction walks t = len_b-1 .. 0); outputs at
// t >= len_b are zero and Y_h/Y_c hold the state after the last valid step (initial state when len_b = 0).
// The shared driver lives in Recurrent; each op class supplies its gate count, default activations and
// the per-step gate math.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include "ops/op_util.h"
#include "ops/registry.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::ops {
namespace {

using kernels::BDesc;
using kernels::PackedB;

// ---------------------------------------------------------------------------------------------- activations

struct ActFn {
  enum Kind : uint8_t {
    sigmoid,
    tanh_,
    relu,
    hard_sigmoid,
    affine,
    leaky_relu,
    thresholded_relu,
    scaled_tanh,
    elu,
    softsign,
    softplus
  };
  Kind kind = sigmoid;
  float alpha = 0.f, beta = 0.f;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Parses the activation names; alpha/beta are consumed in order by the activations that take them
/// (onnxruntime's rule), defaults apply when the lists run out.
std::vector<ActFn> parse_activations(const CompileContext& ctx, const std::vector<std::string>& names) {
  const std::vector<float> alphas = ctx.attr().get_floats("activation_alpha", {});
  const std::vector<float> betas = ctx.attr().get_floats("activation_beta", {});
  size_t ai = 0, bi = 0;
  std::vector<ActFn> out;
  for (const std::string& raw : names) {
    const std::string n = lower(raw);
    ActFn a;
    bool use_a = false, use_b = false;
    float da = 0.f, db = 0.f;
    if (n == "sigmoid") {
      a.kind = ActFn::sigmoid;
    } else if (n == "tanh") {
      a.kind = ActFn::tanh_;
    } else if (n == "relu") {
      a.kind = ActFn::relu;
    } else if (n == "hardsigmoid") {
      a.kind = ActFn::hard_sigmoid, use_a = use_b = true, da = 0.2f, db = 0.5f;
    } else if (n == "affine") {
      a.kind = ActFn::affine, use_a = use_b = true, da = 1.f, db = 0.f;
    } else if (n == "leakyrelu") {
      a.kind = ActFn::leaky_relu, use_a = true, da = 0.01f;
    } else if (n == "thresholdedrelu") {
      a.kind = ActFn::thresholded_relu, use_a = true, da = 1.f;
    } else if (n == "scaledtanh") {
      a.kind = ActFn::scaled_tanh, use_a = use_b = true, da = 1.f, db = 1.f;
    } else if (n == "elu") {
      a.kind = ActFn::elu, use_a = true, da = 1.f;
    } else if (n == "softsign") {
      a.kind = ActFn::softsign;
    } else if (n == "softplus") {
      a.kind = ActFn::softplus;
    } else {
      ctx.fail("unknown activation '" + raw + "'");
    }
    a.alpha = use_a ? (ai < alphas.size() ? alphas[ai++] : da) : 0.f;
    a.beta = use_b ? (bi < betas.size() ? betas[bi++] : db) : 0.f;
    out.push_back(a);
  }
  return out;
}

inline float sigmoidf(float x) {
  return 1.f / (1.f + std::exp(-x));
}

/// x[i] = act(clip(x[i])) in place; clip <= 0 means no clipping.
void apply_act(const ActFn& f, float* x, int64_t n, float clip) {
  if (clip > 0.f)
    for (int64_t i = 0; i < n; ++i) x[i] = std::min(clip, std::max(-clip, x[i]));
  const float a = f.alpha, b = f.beta;
  switch (f.kind) {
    case ActFn::sigmoid:
      for (int64_t i = 0; i < n; ++i) x[i] = sigmoidf(x[i]);
      break;
    case ActFn::tanh_:
      for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
      break;
    case ActFn::relu:
      for (int64_t i = 0; i < n; ++i) x[i] = std::max(0.f, x[i]);
      break;
    case ActFn::hard_sigmoid:
      for (int64_t i = 0; i < n; ++i) x[i] = std::max(0.f, std::min(1.f, a * x[i] + b));
      break;
    case ActFn::affine:
      for (int64_t i = 0; i < n; ++i) x[i] = a * x[i] + b;
      break;
    case ActFn::leaky_relu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] < 0.f ? a * x[i] : x[i];
      break;
    case ActFn::thresholded_relu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > a ? x[i] : 0.f;
      break;
    case ActFn::scaled_tanh:
      for (int64_t i = 0; i < n; ++i) x[i] = a * std::tanh(b * x[i]);
      break;
    case ActFn::elu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] < 0.f ? a * (std::exp(x[i]) - 1.f) : x[i];
      break;
    case ActFn::softsign:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.f + std::fabs(x[i]));
      break;
    case ActFn::softplus:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 20.f ? x[i] : std::log1p(std::exp(x[i]));
      break;
  }
}

// ---------------------------------------------------------------------------------------------- driver

/// What one step's gate math sees (one direction, one batch row).
struct StepRow {
  const float* xw;   ///< this row's input projection (+ bias), gates_ * H values
  float* g;          ///< this row's recurrent projection H * R^T (scratch, may be overwritten)
  float* h;          ///< hidden state, updated in place
  float* c;          ///< cell state (LSTM), updated in place
  const ActFn* act;  ///< this direction's activations
  const float* p;    ///< LSTM peepholes of this direction (3H: i, o, f) or null
  const float* rbh;  ///< GRU linear_before_reset: Rb of the h gate (H values)
  int64_t hs;
  float clip;
};

class Recurrent : public OpKernel {
 public:
  Recurrent(int gates, int num_acts, std::vector<std::string> default_acts, bool has_cell)
      : gates_(gates), num_acts_(num_acts), default_acts_(std::move(default_acts)), has_cell_(has_cell) {}

  void compile(CompileContext& ctx) override {
    for (size_t i : {0, 1, 2}) ctx.require_dtype(i, {DType::f32});
    for (size_t i : {3, 5, 6, 7})
      if (ctx.has_input(i)) ctx.require_dtype(i, {DType::f32});
    if (ctx.has_input(4)) ctx.require_dtype(4, {DType::i32, DType::i64});
    const Attrs& at = ctx.attr();
    layout_ = at.get_int("layout", 0);
    if (layout_ != 0 && layout_ != 1) ctx.fail("layout must be 0 or 1");
    const std::string dir = at.get_string("direction", "forward");
    if (dir == "forward" || dir == "reverse")
      dirs_ = 1;
    else if (dir == "bidirectional")
      dirs_ = 2;
    else
      ctx.fail("unknown direction '" + dir + "'");
    reverse_only_ = dir == "reverse";
    clip_ = at.has("clip") ? at.get_float("clip") : 0.f;
    if (at.has("clip") && !(clip_ > 0.f)) ctx.fail("clip must be positive");
    input_forget_ = at.get_int("input_forget", 0) != 0;
    lbr_ = at.get_int("linear_before_reset", 0) != 0;
    if (at.has("output_sequence") && at.get_int("output_sequence") != 0 && ctx.node->opset < 7)
      ctx.unsupported("output_sequence of opset 1 is not implemented");

    std::vector<std::string> names;
    if (at.has("activations")) names = at.get_strings("activations");
    if (names.empty()) {
      for (int d = 0; d < dirs_; ++d) names.insert(names.end(), default_acts_.begin(), default_acts_.end());
    } else if (dirs_ == 2 && static_cast<int>(names.size()) == num_acts_) {
      names.insert(names.end(), names.begin(), names.end());
    }
    if (static_cast<int>(names.size()) != num_acts_ * dirs_)
      ctx.fail("expected " + std::to_string(num_acts_ * dirs_) + " activations, got " +
               std::to_string(names.size()));
    acts_ = parse_activations(ctx, names);

    const Shape &xs = ctx.input(0).shape, &ws = ctx.input(1).shape, &rs = ctx.input(2).shape;
    if (xs.size() != 3) ctx.fail("X must be 3-D, got " + shape_str(xs));
    if (ws.size() != 3 || rs.size() != 3) ctx.fail("W and R must be 3-D");
    seq_ = layout_ == 0 ? xs[0] : xs[1];
    batch_ = layout_ == 0 ? xs[1] : xs[0];
    in_ = xs[2];
    hs_ = at.get_int("hidden_size", rs[2]);
    const int64_t gh = gates_ * hs_;
    if (ws[0] != dirs_ || ws[1] != gh || ws[2] != in_)
      ctx.fail("W shape " + shape_str(ws) + " does not match " + shape_str({dirs_, gh, in_}));
    if (rs[0] != dirs_ || rs[1] != gh || rs[2] != hs_)
      ctx.fail("R shape " + shape_str(rs) + " does not match " + shape_str({dirs_, gh, hs_}));
    if (ctx.has_input(3) && ctx.input(3).shape != Shape{dirs_, 2 * gh})
      ctx.fail("B must have shape " + shape_str({dirs_, 2 * gh}));
    if (ctx.has_input(4) && ctx.input(4).shape != Shape{batch_})
      ctx.fail("sequence_lens must have shape " + shape_str({batch_}));
    const Shape state = layout_ == 0 ? Shape{dirs_, batch_, hs_} : Shape{batch_, dirs_, hs_};
    for (size_t i : {5, 6})
      if (ctx.has_input(i) && (i == 5 || has_cell_) && ctx.input(i).shape != state)
        ctx.fail(std::string(i == 5 ? "initial_h" : "initial_c") + " must have shape " + shape_str(state));
    if (has_cell_ && ctx.has_input(7) && ctx.input(7).shape != Shape{dirs_, 3 * hs_})
      ctx.fail("P must have shape " + shape_str({dirs_, 3 * hs_}));

    const Shape yshape = layout_ == 0 ? Shape{seq_, dirs_, batch_, hs_} : Shape{batch_, seq_, dirs_, hs_};
    const size_t nout = ctx.outputs.size();
    if (nout > 0) ctx.set_output(0, DType::f32, yshape);
    if (nout > 1) ctx.set_output(1, DType::f32, state);
    if (nout > 2) ctx.set_output(2, DType::f32, state);

    // Scratch: XW, bias (+ GRU's Rbh), H, C, G, and GRU's r*H and its projection.
    auto al = [](int64_t n) { return (n + 15) / 16 * 16; };
    off_xw_ = 0;
    off_bias_ = off_xw_ + al(seq_ * batch_ * gh);
    off_h_ = off_bias_ + al(gh + hs_);
    off_c_ = off_h_ + al(batch_ * hs_);
    off_g_ = off_c_ + al(batch_ * hs_);
    off_rh_ = off_g_ + al(batch_ * gh);
    off_g2_ = off_rh_ + al(batch_ * hs_);
    ctx.scratch_bytes = static_cast<size_t>(off_g2_ + al(batch_ * hs_)) * sizeof(float);

    kind_ = ctx.float_gemm_kind();
    w_const_ = ctx.input(1).constant != nullptr;
    r_const_ = ctx.input(2).constant != nullptr;
    if (w_const_ && w_packed_.empty()) pack_w(w_packed_, ctx.input(1).constant->data_as<float>());
    if (r_const_ && r_packed_.empty()) pack_r(r_packed_, rh_packed_, ctx.input(2).constant->data_as<float>());
    // Per-run packing targets for non-constant weights (their buffers keep capacity across runs).
    if (w_dyn_.size() < 2) w_dyn_.resize(2), r_dyn_.resize(2), rh_dyn_.resize(2);
  }

  void run(RunContext& ctx) override {
    const int64_t S = ctx.input(0).shape()[layout_ == 0 ? 0 : 1];
    const int64_t B = ctx.input(0).shape()[layout_ == 0 ? 1 : 0];
    const int64_t H = hs_, GH = gates_ * H;
    float* sc = static_cast<float*>(ctx.scratch);
    float *xw = sc + off_xw_, *bias = sc + off_bias_, *hst = sc + off_h_, *cst = sc + off_c_;
    float *g = sc + off_g_, *rh = sc + off_rh_, *g2 = sc + off_g2_;
    const float* x = ctx.input(0).data_as<float>();
    const float* w = ctx.input(1).data_as<float>();
    const float* r = ctx.input(2).data_as<float>();
    const float* bin = ctx.has_input(3) ? ctx.input(3).data_as<float>() : nullptr;
    const float* h0 = ctx.has_input(5) ? ctx.input(5).data_as<float>() : nullptr;
    const float* c0 = has_cell_ && ctx.has_input(6) ? ctx.input(6).data_as<float>() : nullptr;
    const float* pp = has_cell_ && ctx.has_input(7) ? ctx.input(7).data_as<float>() : nullptr;
    const size_t nout = ctx.outputs.size();
    auto out_ptr = [&](size_t i) -> float* {
      return nout > i && ctx.outputs[i] && !ctx.output(i).empty() ? ctx.output(i).data_as<float>() : nullptr;
    };
    float *y = out_ptr(0), *yh = out_ptr(1), *yc = has_cell_ ? out_ptr(2) : nullptr;

    int64_t max_len = S;
    bool ragged = false;
    if (ctx.has_input(4)) {
      max_len = 0;
      for (int64_t b = 0; b < B; ++b) {
        const int64_t l = int_at(ctx.input(4), b);
        if (l < 0 || l > S)
          ctx.fail("sequence_lens[" + std::to_string(b) + "] = " + std::to_string(l) + " is outside [0, " +
                   std::to_string(S) + "]");
        max_len = std::max(max_len, l);
        ragged = ragged || l != S;
      }
    }
    auto len_of = [&](int64_t b) { return ctx.has_input(4) ? int_at(ctx.input(4), b) : S; };
    if (y && ragged) std::memset(y, 0, ctx.output(0).bytes());
    if (B == 0 || H == 0) return;

    const bool gru_split = gates_ == 3 && !lbr_;  // GRU computes (r*H) * Rh^T separately
    for (int d = 0; d < dirs_; ++d) {
      const bool rev = reverse_only_ || d == 1;
      // Bias of the input projection: Wb + Rb (GRU with linear_before_reset keeps Rb_h apart).
      kernels::Epilogue ep;
      float* rbh = bias + GH;
      if (bin) {
        const float* wb = bin + d * 2 * GH;
        const float* rb = wb + GH;
        for (int64_t j = 0; j < GH; ++j) bias[j] = wb[j] + rb[j];
        if (gates_ == 3 && lbr_) {
          for (int64_t j = 0; j < H; ++j) bias[2 * H + j] = wb[2 * H + j], rbh[j] = rb[2 * H + j];
        }
        ep.bias = bias;
      } else {
        std::fill(rbh, rbh + H, 0.f);
      }
      // XW for every step at once (rows follow X's layout).
      // (No &w_packed_[d] before checking it is there: indexing an empty vector is undefined.)
      const PackedB* pw = w_const_ && !w_packed_.empty() ? &w_packed_[d] : nullptr;
      if (!pw) {
        kernels::pack_b(w_dyn_[d], kind_, BDesc{w + d * GH * in_, in_, GH, in_, true});
        pw = &w_dyn_[d];
      }
      if (in_ == 0) {
        for (int64_t i = 0; i < S * B; ++i)
          for (int64_t j = 0; j < GH; ++j) xw[i * GH + j] = bin ? bias[j] : 0.f;
      } else if (S * B > 0) {
        kernels::gemm_f32(S * B, x, in_, *pw, xw, GH, ep, ctx.threading);
      }
      const PackedB* pr = r_packed_.empty() ? nullptr : &r_packed_[d];
      const PackedB* prh = rh_packed_.empty() ? nullptr : &rh_packed_[d];
      if (!r_const_ || r_packed_.empty()) {
        pack_r_dir(r_dyn_[d], rh_dyn_[d], r + d * GH * H);
        pr = &r_dyn_[d];
        prh = &rh_dyn_[d];
      }
      // Initial state.
      for (int64_t b = 0; b < B; ++b) {
        const int64_t so = state_off(d, b, B);
        if (h0)
          std::copy_n(h0 + so, H, hst + b * H);
        else
          std::fill(hst + b * H, hst + (b + 1) * H, 0.f);
        if (has_cell_) {
          if (c0)
            std::copy_n(c0 + so, H, cst + b * H);
          else
            std::fill(cst + b * H, cst + (b + 1) * H, 0.f);
        }
      }
      const ActFn* act = acts_.data() + d * num_acts_;
      const float* pd = pp ? pp + d * 3 * H : nullptr;
      const int64_t ng = gru_split ? 2 * H : GH;  // columns of the per-step recurrent GEMM
      const int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(1, GH));
      for (int64_t s = 0; s < max_len; ++s) {
        kernels::gemm_f32(B, hst, H, *pr, g, ng, {}, ctx.threading);
        auto row = [&](int64_t b) {
          const int64_t l = len_of(b);
          const int64_t t = rev ? l - 1 - s : s;
          StepRow sr{
              xw + xrow(t, b, S, B) * GH, g + b * ng, hst + b * H, cst + b * H, act, pd, rbh, H, clip_};
          return sr;
        };
        if (gru_split) {
          // Phase 1: z and r; r*H into rh. Phase 2: h gate from (r*H) * Rh^T.
          parallel_range(ctx.threading, B, grain, [&](int64_t b0, int64_t b1) {
            for (int64_t b = b0; b < b1; ++b) {
              if (s >= len_of(b)) continue;
              StepRow sr = row(b);
              gru_zr(sr, rh + b * H);
            }
          });
          kernels::gemm_f32(B, rh, H, *prh, g2, H, {}, ctx.threading);
        }
        parallel_range(ctx.threading, B, grain, [&](int64_t b0, int64_t b1) {
          for (int64_t b = b0; b < b1; ++b) {
            const int64_t l = len_of(b);
            if (s >= l) continue;
            StepRow sr = row(b);
            step(sr, gru_split ? g2 + b * H : nullptr);
            if (y) std::copy_n(sr.h, H, y + y_off(rev ? l - 1 - s : s, d, b, S, B));
          }
        });
      }
      for (int64_t b = 0; b < B; ++b) {
        const int64_t so = state_off(d, b, B);
        if (yh) std::copy_n(hst + b * H, H, yh + so);
        if (yc) std::copy_n(cst + b * H, H, yc + so);
      }
    }
  }

  std::vector<std::string> kernels_used() const override {
    const kernels::GemmKernel* kn = kernels::dispatched(kind_);
    return kn ? std::vector<std::string>{kn->name} : std::vector<std::string>{};
  }

 protected:
  /// One step of one batch row: reads sr.xw, sr.g, updates sr.h (and sr.c).
  virtual void step(StepRow& sr, const float* g2) = 0;
  /// GRU without linear_before_reset only: z and r into sr.g, r * H into rh.
  virtual void gru_zr(StepRow&, float*) {}

  bool input_forget_ = false;
  bool lbr_ = false;

 private:
  int64_t xrow(int64_t t, int64_t b, int64_t S, int64_t B) const {
    return layout_ == 0 ? t * B + b : b * S + t;
  }
  int64_t y_off(int64_t t, int64_t d, int64_t b, int64_t S, int64_t B) const {
    return (layout_ == 0 ? (t * dirs_ + d) * B + b : (b * S + t) * dirs_ + d) * hs_;
  }
  int64_t state_off(int64_t d, int64_t b, int64_t B) const {
    return (layout_ == 0 ? d * B + b : b * dirs_ + d) * hs_;
  }

  void pack_w(std::vector<PackedB>& out, const float* w) {
    const int64_t gh = gates_ * hs_;
    out.resize(static_cast<size_t>(dirs_));
    for (int d = 0; d < dirs_; ++d)
      kernels::pack_b(out[d], kind_, BDesc{w + d * gh * in_, in_, gh, in_, true});
  }
  void pack_r(std::vector<PackedB>& out, std::vector<PackedB>& out_h, const float* r) {
    out.resize(static_cast<size_t>(dirs_));
    out_h.resize(static_cast<size_t>(dirs_));
    for (int d = 0; d < dirs_; ++d) pack_r_dir(out[d], out_h[d], r + d * gates_ * hs_ * hs_);
  }
  /// R^T of one direction; GRU without linear_before_reset packs z,r and h apart.
  void pack_r_dir(PackedB& pr, PackedB& prh, const float* r) {
    const int64_t H = hs_;
    if (gates_ == 3 && !lbr_) {
      kernels::pack_b(pr, kind_, BDesc{r, H, 2 * H, H, true});
      kernels::pack_b(prh, kind_, BDesc{r + 2 * H * H, H, H, H, true});
    } else {
      kernels::pack_b(pr, kind_, BDesc{r, H, gates_ * H, H, true});
    }
  }

  int gates_, num_acts_;
  std::vector<std::string> default_acts_;
  bool has_cell_;
  int64_t layout_ = 0;
  int dirs_ = 1;
  bool reverse_only_ = false;
  float clip_ = 0.f;
  std::vector<ActFn> acts_;
  int64_t seq_ = 0, batch_ = 0, in_ = 0, hs_ = 0;
  int64_t off_xw_ = 0, off_bias_ = 0, off_h_ = 0, off_c_ = 0, off_g_ = 0, off_rh_ = 0, off_g2_ = 0;
  kernels::GemmKind kind_ = kernels::GemmKind::f32;
  bool w_const_ = false, r_const_ = false;
  std::vector<PackedB> w_packed_, r_packed_, rh_packed_, w_dyn_, r_dyn_, rh_dyn_;
};

/// Ht = f(Xt*W^T + Ht-1*R^T + Wb + Rb)
class Rnn final : public Recurrent {
 public:
  Rnn() : Recurrent(1, 1, {"Tanh"}, false) {}

 protected:
  void step(StepRow& sr, const float*) override {
    const int64_t H = sr.hs;
    for (int64_t j = 0; j < H; ++j) sr.g[j] += sr.xw[j];
    apply_act(sr.act[0], sr.g, H, sr.clip);
    std::copy_n(sr.g, H, sr.h);
  }
};

/// Gates z, r, h: z = f(..), r = f(..), h = g(Xh + (r*H)Rh^T + Rbh + Wbh) (or r*(H Rh^T + Rbh) with
/// linear_before_reset), Ht = (1 - z) * h + z * Ht-1.
class Gru final : public Recurrent {
 public:
  Gru() : Recurrent(3, 2, {"Sigmoid", "Tanh"}, false) {}

 protected:
  void gru_zr(StepRow& sr, float* rh) override {
    const int64_t H = sr.hs;
    for (int64_t j = 0; j < 2 * H; ++j) sr.g[j] += sr.xw[j];
    apply_act(sr.act[0], sr.g, 2 * H, sr.clip);
    for (int64_t j = 0; j < H; ++j) rh[j] = sr.g[H + j] * sr.h[j];
  }
  void step(StepRow& sr, const float* g2) override {
    const int64_t H = sr.hs;
    float* z = sr.g;
    float* hh = sr.g + 2 * H;
    if (g2) {         // z, r done in gru_zr; hh scratch is free (the split GEMM has 2H columns only)
      hh = sr.g + H;  // reuse r's slot: r is no longer needed
      for (int64_t j = 0; j < H; ++j) hh[j] = sr.xw[2 * H + j] + g2[j];
    } else {
      for (int64_t j = 0; j < 2 * H; ++j) sr.g[j] += sr.xw[j];
      apply_act(sr.act[0], sr.g, 2 * H, sr.clip);
      const float* r = sr.g + H;
      for (int64_t j = 0; j < H; ++j) hh[j] = sr.xw[2 * H + j] + r[j] * (hh[j] + sr.rbh[j]);
    }
    apply_act(sr.act[1], hh, H, sr.clip);
    for (int64_t j = 0; j < H; ++j) sr.h[j] = (1.f - z[j]) * hh[j] + z[j] * sr.h[j];
  }
};

/// Gates i, o, f, c with optional peepholes (P = [Pi, Po, Pf]) and coupled input/forget gates.
class Lstm final : public Recurrent {
 public:
  Lstm() : Recurrent(4, 3, {"Sigmoid", "Tanh", "Tanh"}, true) {}

 protected:
  void step(StepRow& sr, const float*) override {
    const int64_t H = sr.hs;
    float *gi = sr.g, *go = sr.g + H, *gf = sr.g + 2 * H, *gc = sr.g + 3 * H;
    for (int64_t j = 0; j < 4 * H; ++j) sr.g[j] += sr.xw[j];
    if (sr.p)
      for (int64_t j = 0; j < H; ++j) gi[j] += sr.p[j] * sr.c[j], gf[j] += sr.p[2 * H + j] * sr.c[j];
    apply_act(sr.act[0], gi, H, sr.clip);
    if (input_forget_)
      for (int64_t j = 0; j < H; ++j) gf[j] = 1.f - gi[j];
    else
      apply_act(sr.act[0], gf, H, sr.clip);
    apply_act(sr.act[1], gc, H, sr.clip);
    for (int64_t j = 0; j < H; ++j) sr.c[j] = gf[j] * sr.c[j] + gi[j] * gc[j];
    if (sr.p)
      for (int64_t j = 0; j < H; ++j) go[j] += sr.p[H + j] * sr.c[j];
    apply_act(sr.act[0], go, H, sr.clip);
    std::copy_n(sr.c, H, gc);  // h(C) into gc's slot
    apply_act(sr.act[2], gc, H, 0.f);
    for (int64_t j = 0; j < H; ++j) sr.h[j] = go[j] * gc[j];
  }
};

}  // namespace

void register_rnn_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "RNN", 1, kAnyOpset, [] { return std::make_unique<Rnn>(); });
  r.add(kOnnxDomain, "GRU", 1, kAnyOpset, [] { return std::make_unique<Gru>(); });
  r.add(kOnnxDomain, "LSTM", 1, kAnyOpset, [] { return std::make_unique<Lstm>(); });
}

}  // namespace ortkit::ops
