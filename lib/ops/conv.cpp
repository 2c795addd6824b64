// Conv (1-3 spatial dims, groups, pads/auto_pad, strides, dilations) and the fused forms made by the
// optimizer: ortkit.FusedConv (attribute `activation` = relu | clip | gelu_erf | gelu_tanh, with
// clip_min/clip_max, like ortkit.FusedMatMul; optional input 3 Z: Y = act(Conv(X, W, B) + Z), made from
// Conv -> Add [-> Relu]) and com.microsoft.FusedConv (activation Relu | Clip, activation_params for Clip,
// optional Z of Y's shape, as in ONNX Runtime).
//
// GEMM formulation, fp32 images of 768+ output pixels (the direct form, see pick_direct): per chunk of
// output pixels,
//   Y[Mg x P] (+)= Wg[Mg x Kg] * col[Kg x P]
// with the weights read in place as the A operand and col as B, per chunk: im2col written straight into
// the packed panels (conv_im2col.h; strided windows from phase planes, run_phased), or for 1x1 stride-1
// unpadded convs the input itself, read in place where the kernel can (view_b_rows, with the bias as
// Epilogue::row_bias) and packed where it cannot. C is
// the NCHW output itself, so no transpose follows. Otherwise a constant bias is a last column of the weights
// over a packed row of ones; a residual Z is read by the GEMM's epilogue (Epilogue::add), or, with a per-run
// bias, written into Y with it first for the GEMM to accumulate onto; the activation is in its epilogue. bf16
// fast math (whose per-call packer would round every activation element by element) and smaller images keep
// the weights prepacked once as B (the packed-weights form):
//   Ybuf[P x Mg] = col[P x Kg] * Wg^T[Kg x Mg], then Ybuf transposed into NCHW.
// Chunks of pixels bound the scratch and are the parallel tasks. Depthwise convs (one input and one
// output channel per group) use a direct loop instead, and so do fp32 convs of at most 4 input channels
// (conv_few_channels.h).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "ops/act_rows.h"
#include "ops/broadcast.h"
#include "ops/conv_depthwise.h"
#include "ops/conv_few_channels.h"
#include "ops/conv_im2col.h"
#include "ops/conv_util.h"
#include "ops/conv_winograd.h"
#include "ops/fast_math.h"
#include "ops/op_util.h"
#include "ops/registry.h"
#include "ops/transpose_kernel.h"
#include "ortkit/kernels/epilogue.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::ops {

// Plain loops for none and relu (what residual joins have), so they vectorise.
ORTKIT_OPS_CLONES_512 void add_z_rows(float* y, const float* z, int64_t ld, int64_t rows, int64_t cols,
                                      const kernels::Epilogue& ep) {
  for (int64_t r = 0; r < rows; ++r) {
    float* __restrict yr = y + r * ld;
    const float* __restrict zr = z + r * ld;
    if (ep.act == kernels::Act::none)
      for (int64_t i = 0; i < cols; ++i) yr[i] += zr[i];
    else if (ep.act == kernels::Act::relu)
      for (int64_t i = 0; i < cols; ++i) {
        const float v = yr[i] + zr[i];
        yr[i] = v > 0.f ? v : 0.f;
      }
    else {
      for (int64_t i = 0; i < cols; ++i) yr[i] += zr[i];
      act_inplace(yr, cols, ep.act, ep.clip_lo, ep.clip_hi);
    }
  }
}

namespace {

using kernels::Act;

/// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols.
inline void transpose_block(const float* src, int64_t lds, float* dst, int64_t ldd, int64_t rows,
                            int64_t cols) {
  transpose_2d_b32(src, lds, dst, ldd, rows, cols);
}

/// Output pixels per chunk (a parallel task and one GEMM of `rows` x Mg x Kg). Each chunk's GEMM streams all
/// of the packed weights, so chunks hold ~2 MiB of im2col + output rows rather than an L2's worth: with
/// 256 KiB, resnet50's 3x3 convs of 256-512 channels (Kg 2304-4608) ran 16-53 pixel GEMMs that re-read up
/// to 9 MiB of weights per chunk, and its 1x1 convs left 8-11 row edge tiles in every chunk; 2 MiB chunks,
/// a multiple of the kernel's MR rows, made resnet50 4-5% faster on 1 thread (94 vs 98-99 ms, Zen 4) and
/// mobilenet_v2 a few %; 1 MiB measured the same within noise, 16 MiB slower, and 256 KiB chunks for the
/// convs whose weights fit in L2 no different. The chunk count is a multiple of the threads, so no thread
/// runs one chunk more than the other.
///
/// A small image (images: batch x groups) that gives fewer chunks than threads is cut into one chunk per
/// thread while each still holds MR rows: every thread then runs a whole conv on its pixels, with no
/// barrier between the transposes and the GEMM and no rows another core wrote in between (the wide path's
/// pixel-split transposes read the other core's half of the GEMM output; at MobileNetV2's 7x7 and 14x14
/// 1x1 convs on 2 threads it spent 3-4x the single thread's time in transposes).
int64_t pick_chunk(int64_t pixels, int64_t floats_per_row, int64_t mr, int threads, int64_t images) {
  constexpr int64_t kChunkFloats = int64_t{1} << 19;  // 2 MiB
  if (pixels <= 0) return 1;
  const int64_t target = std::clamp<int64_t>(kChunkFloats / std::max<int64_t>(floats_per_row, 1), 16,
                                             std::max<int64_t>(pixels, 16));
  int64_t n = (pixels + target - 1) / target;
  if (threads > 1 && n > 1) n = (n + threads - 1) / threads * threads;
  if (const int64_t im = std::max<int64_t>(images, 1); threads > 1 && im * n < threads) {
    const int64_t per = (threads + im - 1) / im;  // >= 2
    if (pixels >= per * mr) n = per;
  }
  int64_t rows = (pixels + n - 1) / n;
  rows = (rows + mr - 1) / mr * mr;
  return std::max<int64_t>(1, std::min(rows, pixels));
}

/// The direct form (weights as A, C written in NCHW) for fp32 once an image has 24 B panels of output
/// pixels or more. Its columns are pixels, so a short row of pixels pads the last panel, and its rows are
/// output channels in 14-row tiles: at 49 pixels (7x7, 512 channels, K 4608) its GEMM ran at 71% of the
/// FMA peak against the packed-weights form's 94%, at 196 pixels 84% against 96%, and resnet50 was
/// slower with it there. From 784 pixels up it saves the output transpose for a GEMM about as fast
/// (faster at 64 channels x K 576, slower at 256 channels x K 64): mobilenet_v2 1 thread 9.5 -> 8.9 ms
/// (fastest runs, medians of 7 interleaved rounds), resnet50 even (Zen 4). Turning it off where the
/// channels exceed twice K gave resnet50 nothing and mobilenet_v2 its loss back.
/// ORTKIT_CONV_FORM=direct, =packed, =wide, =winograd or =few forces a form (tests; experiments); null when
/// unset.
const char* conv_form_override() {
  const char* f = std::getenv("ORTKIT_CONV_FORM");
  return f && (std::strcmp(f, "direct") == 0 || std::strcmp(f, "packed") == 0 ||
               std::strcmp(f, "wide") == 0 || std::strcmp(f, "winograd") == 0 || std::strcmp(f, "few") == 0)
             ? f
             : nullptr;
}

bool pick_direct(kernels::GemmKind kind, int64_t pixels) {
  if (kind != kernels::GemmKind::f32) return false;  // bf16 would round each activation when packing
  if (const char* f = conv_form_override()) return std::strcmp(f, "direct") == 0;
  const kernels::GemmKernel* kn = kernels::dispatched(kind);
  return kn && pixels >= 24 * kn->nr;
}

/// True when `tasks` chunk tasks, dealt to `threads` threads in equal contiguous shares, would leave more
/// than a tenth of the threads' time idle: fewer tasks than threads, or a last round only partly filled
/// (14 chunks on 16 threads, 17 on 16). resnet50 at batch 1 ran 39.6 ms on 8 threads and 57.7 ms on 16
/// (ONNX Runtime 14.3 and 9.6, Emerald Rapids, 16 vCPUs): rounding chunks to whole tiles left 7 chunks
/// for 8 threads and 13-14 for 16 in most layers, and fewer tasks than threads ran them one at a time.
bool pick_wide(int64_t tasks, int threads) {
  if (threads <= 1) return false;
  const int64_t rounds = (tasks + threads - 1) / threads;
  return tasks < threads || tasks * 10 < rounds * threads * 9;
}

/// Rows m < mg of Y (stride ld, `cols` pixels) set to Z + bias[m] (either may be null), for the direct
/// form's GEMM to accumulate onto. Built for AVX-512 and AVX2 too: the baseline build ran it 4 floats
/// at a time.
ORTKIT_OPS_CLONES_512 void seed_rows(float* y, int64_t ld, const float* z, const float* bias, int64_t mg,
                                     int64_t cols) {
  for (int64_t m = 0; m < mg; ++m) {
    float* __restrict row = y + m * ld;
    const float b = bias ? bias[m] : 0.f;
    if (z) {
      const float* __restrict zr = z + m * ld;
      for (int64_t i = 0; i < cols; ++i) row[i] = zr[i] + b;
    } else {
      for (int64_t i = 0; i < cols; ++i) row[i] = b;
    }
  }
}

/// Rows r < rows of a chunk of the virtual grid (t, ld ldt: pixels q0..q0 + n, rows of wph pixels) into
/// Y (ld ldy, rows of ow pixels), dropping columns ow and up; with Z (Y's layout), Y = act(t + Z).
ORTKIT_OPS_CLONES_512 void copy_virtual_rows(const float* t, int64_t ldt, int64_t rows, int64_t q0, int64_t n,
                                             int64_t wph, int64_t ow, float* y, int64_t ldy, const float* z,
                                             const kernels::Epilogue& ep) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t q = q0; q < q0 + n;) {
      const int64_t oh = q / wph, c = q - oh * wph, run = std::min(wph - c, q0 + n - q);
      const int64_t valid = std::clamp<int64_t>(ow - c, 0, run);
      const float* __restrict src = t + r * ldt + (q - q0);
      float* __restrict dst = y + r * ldy + oh * ow + c;
      if (z) {
        const float* __restrict zr = z + r * ldy + oh * ow + c;
        for (int64_t i = 0; i < valid; ++i) dst[i] = conv_act(src[i] + zr[i], ep.act, ep.clip_lo, ep.clip_hi);
      } else {
        for (int64_t i = 0; i < valid; ++i) dst[i] = src[i];
      }
      q += run;
    }
}

enum class FusedKind { none, ortkit, ms };

class ConvOp : public OpKernel {
 public:
  explicit ConvOp(FusedKind f) : fused_(f) {}

  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    ctx.require_dtype(1, {DType::f32});
    const Shape &xs = ctx.input(0).shape, &ws = ctx.input(1).shape;
    if (xs.size() < 3 || ws.size() != xs.size()) ctx.fail("X and W must have the same rank >= 3");
    group_ = ctx.attr().get_int("group", 1);
    const int64_t C = xs[1], M = ws[0];
    if (group_ < 1 || C % group_ || M % group_ || ws[1] != C / group_)
      ctx.fail("channels " + std::to_string(C) + " / weights " + shape_str(ws) + " do not match group " +
               std::to_string(group_));
    const std::vector<int64_t> kernel(ws.begin() + 2, ws.end());
    if (ctx.attr().has("kernel_shape") && ctx.attr().get_ints("kernel_shape") != kernel)
      ctx.fail("kernel_shape does not match the weights");
    w_ = make_window(ctx, Shape(xs.begin() + 2, xs.end()), kernel, false);
    if (ctx.has_input(2)) {
      ctx.require_dtype(2, {DType::f32});
      if (shape_numel(ctx.input(2).shape) != M) ctx.fail("B must have M values");
    }
    batch_ = xs[0];
    Shape out = {xs[0], M};
    for (int i = 3 - w_.nd; i < 3; ++i) out.push_back(w_.out[i]);
    ctx.set_output(0, DType::f32, out);

    ep_ = {};
    if (fused_ == FusedKind::ortkit) {
      const std::string a = ctx.attr().get_string("activation", "");
      if (!kernels::act_from_name(a, ep_.act)) ctx.fail("unknown activation '" + a + "'");
      ep_.clip_lo = ctx.attr().get_float("clip_min", -3.4e38f);
      ep_.clip_hi = ctx.attr().get_float("clip_max", 3.4e38f);
    } else if (fused_ == FusedKind::ms) {
      const std::string a = ctx.attr().get_string("activation", "");
      if (a.empty())
        ep_.act = Act::none;
      else if (a == "Relu")
        ep_.act = Act::relu;
      else if (a == "Clip") {
        ep_.act = Act::clip;
        const std::vector<float> p = ctx.attr().get_floats("activation_params", {});
        if (p.size() != 2) ctx.fail("Clip needs activation_params [min, max]");
        ep_.clip_lo = p[0];
        ep_.clip_hi = p[1];
      } else {
        ctx.unsupported("FusedConv activation '" + a + "'");
      }
    }
    has_z_ = fused_ != FusedKind::none && ctx.num_inputs() > 3 && ctx.has_input(3);
    z_direct_ = true;
    if (has_z_) {
      ctx.require_dtype(3, {DType::f32});
      const Shape& zs = ctx.input(3).shape;
      if (zs != out) {
        // ONNX Runtime's FusedConv requires Z of Y's shape; an Add folded in by the optimizer may
        // broadcast, so ortkit.FusedConv then adds Z afterwards under numpy rules.
        if (fused_ == FusedKind::ms)
          ctx.fail("Z " + shape_str(zs) + " must have the output's shape " + shape_str(out));
        Shape full;
        try {
          full = broadcast_shapes(out, zs, "FusedConv Z");
        } catch (const Error& e) {
          ctx.fail(e.what());
        }
        z_direct_ = false;
        conv_shape_ = out;
        ctx.set_output(0, DType::f32, full);
      }
    }

    cg_ = C / group_;
    mg_ = M / group_;
    kg_ = cg_ * w_.k_size();
    // Pixel-major col rows (the packed-weights forms' A): a stride of a multiple of 4 KiB (Kg = 1024,
    // ResNet-50's 14x14 1x1 convs) puts a tile's 14 rows in one L1 set, and the GEMM would copy A to a
    // padded stride first; one more line per row here saves that copy.
    col_ld_ = (kg_ * 4) % 4096 == 0 ? kg_ + 16 : kg_;
    depthwise_ = cg_ == 1 && mg_ == 1;
    threads_ = std::max(1, ctx.threading.threads);
    if (depthwise_) {
      dw_.prepare(w_, /*blocks=*/true);
      dw_ready_.assign(static_cast<size_t>(threads_), 0);
      ctx.scratch_bytes = static_cast<size_t>(threads_ * dw_.slot_floats()) * sizeof(float);
    }
    pointwise_ = w_.k_size() == 1 && w_.s == std::array<int64_t, 3>{1, 1, 1} &&
                 w_.pb == std::array<int64_t, 3>{0, 0, 0} && w_.pe == std::array<int64_t, 3>{0, 0, 0};
    kind_ = ctx.float_gemm_kind();
    // Winograd F(2x2, 3x3) for fp32 3x3 stride-1 convs (conv_winograd.h) where it pays
    // (WinogradConv::pays): 0.55-0.61x the direct form's time on a lone 56x56 64-channel, 28x28
    // 128-channel or 14x14 256-channel conv (1 thread), resnet50's stage 1-3 3x3 convs 0.71-0.81x.
    // ORTKIT_CONV_FORM forces it on (where applicable) or off.
    const char* forced = conv_form_override();
    const Tensor* w_const = ctx.input(1).constant;
    // Few input channels (CNN stems): the direct loop of conv_few_channels.h, for fp32 (bf16 fast math
    // keeps its GEMM, whose instruction does twice the work per cycle).
    few_ = !depthwise_ && kind_ == kernels::GemmKind::f32 && FewChannelConv::applicable(w_, cg_, group_) &&
           (!forced || std::strcmp(forced, "few") == 0);
    if (few_) {
      few_conv_.prepare(w_, cg_, M, batch_, threads_);
      if (w_const) few_conv_.set_weights(w_const->data_as<float>());
      few_const_ = w_const != nullptr;
    }
    winograd_ =
        !few_ && !depthwise_ && group_ == 1 && kind_ == kernels::GemmKind::f32 && w_const &&
        WinogradConv::applicable(w_) &&
        (forced ? std::strcmp(forced, "winograd") == 0 : WinogradConv::pays(w_, cg_, mg_, batch_, threads_));
    if (winograd_) {
      wino_.prepare(w_, cg_, mg_, w_const->data_as<float>(), batch_, threads_);
      ctx.scratch_bytes = wino_.scratch_bytes();
    }
    // Groups of at most 16 output channels (RegNet's group width 16, ResNeXt's 4 to 8) take the direct
    // form from phase planes at every stride: with pixels as A, the packed-weights forms fill half a
    // 32-wide tile or less, and im2col per output row cost as much as the GEMM over 16 rows. RegNetY-800MF's
    // 14x14 320-channel group conv (20 groups) 0.51 -> 0.30 ms, 7x7 784-channel 0.40 -> 0.29 (Zen 4,
    // 1 thread). Left to the plain rule for ungrouped convs, where stride-1 phase planes made ResNet-50
    // 1-2% slower.
    narrow_groups_ = group_ > 1 && mg_ <= 16 && kind_ == kernels::GemmKind::f32;
    direct_ = forced || !narrow_groups_ ? pick_direct(kind_, w_.out_size()) : true;
    // Floats per output pixel of a chunk: its col row, its output row and (im2col) its K-major staging. The
    // direct form writes im2col straight into its packed chunk but keeps this budget, the chunk size
    // measured.
    const int64_t per_row = col_ld_ + mg_ + (pointwise_ ? 0 : kg_);
    // Chunk tasks that leave threads idle switch to the wide path: one threaded GEMM over all pixels of
    // an image, which splits its M x N blocks over every thread (see pick_wide).
    wide_ = forced ? std::strcmp(forced, "wide") == 0 : false;
    if (!depthwise_ && !winograd_ && !few_ && !forced && threads_ > 1) {
      const kernels::GemmKernel* kn = kernels::dispatched(kind_);
      const int64_t c =
          pick_chunk(w_.out_size(), per_row, kn ? (direct_ ? kn->nr : kn->mr) : 1, threads_, batch_ * group_);
      wide_ = pick_wide(batch_ * group_ * ((w_.out_size() + c - 1) / c), threads_);
    }
    if (wide_ || winograd_ || few_) direct_ = false;
    if (!depthwise_ && !winograd_ && !few_) {
      const kernels::GemmKernel* kn = kernels::dispatched(kind_);
      if (direct_) {
        // No scratch: im2col writes the packed chunk, a PackedB per slot.
        chunk_ = pick_chunk(w_.out_size(), per_row, kn ? kn->nr : 1, threads_, batch_ * group_);
        slot_floats_ = 0;
        col_packs_.resize(static_cast<size_t>(threads_));
        // Strided windows im2col from phase planes (PhaseGeo), one image at a time: a shared buffer of the
        // image's planes, chunks over the virtual grid, and per slot the chunk's output on that grid where
        // it is wider than the output (its extra columns are dropped as it is copied into Y).
        static const bool phased_off = switched_off("ORTKIT_CONV_PHASED");  // =0: off (A/B timing)
        phased_ = phase_applicable(w_, narrow_groups_) && !phased_off;
        if (phased_) {
          ph_ = make_phase_geo(w_);
          chunk_ = pick_chunk(ph_.virt, per_row, kn ? kn->nr : 1, threads_, group_);
          slot_floats_ = ph_.wph == w_.out[2] ? 0 : mg_ * chunk_;
          // Slack: the last tap's copy runs (KW - 1) * DW / SW floats past the planes, a panel's copy up to
          // NR.
          planes_floats_ = (C * ph_.channel + ph_.wph + 64 + 15) / 16 * 16;
        }
        // Constant weights and bias: the bias becomes column Kg of the weights and a row of ones under
        // the packed chunk, so the GEMM overwrites Y with no pass to write the bias first.
        const Tensor* cw = ctx.input(1).constant;
        const Tensor* cb = ctx.has_input(2) ? ctx.input(2).constant : nullptr;
        w_aug_.clear();
        // A 1x1 conv's input is its B as it is (view_b_rows) where the kernel reads B rows in place: no
        // per-call packing (a copy of the whole input), and the bias goes in as Epilogue::row_bias.
        b_view_ = (pointwise_ || (phased_ && w_.k_size() == 1)) && kn && kn->b_rows;
        if (cw && cb && !b_view_) {
          const float* wd = cw->data_as<float>();
          const float* bd = cb->data_as<float>();
          w_aug_.resize(static_cast<size_t>(M * (kg_ + 1)));
          for (int64_t m = 0; m < M; ++m) {
            std::copy(wd + m * kg_, wd + (m + 1) * kg_, w_aug_.data() + m * (kg_ + 1));
            w_aug_[static_cast<size_t>(m * (kg_ + 1) + kg_)] = bd[m];
          }
        }
      } else {
        chunk_ = pick_chunk(w_.out_size(), per_row, kn ? kn->mr : 1, threads_, batch_ * group_);
        slot_floats_ = chunk_ * per_row;
        // The wide path's one buffer holds every pixel's rows.
        wide_floats_ = wide_ ? w_.out_size() * per_row : 0;
        const Tensor* cw = ctx.input(1).constant;
        if (cw && packed_.empty()) {
          pack(cw->data_as<float>());
          const_weights_ = true;
        }
      }
    }
    if (few_) ctx.scratch_bytes = few_conv_.scratch_bytes();
    if (!depthwise_ && !winograd_ && !few_)
      ctx.scratch_bytes =
          static_cast<size_t>(planes_floats_ + std::max(threads_ * slot_floats_, wide_floats_)) *
          sizeof(float);
    // A Z that broadcasts is added after the conv, which then writes into scratch past the slots.
    conv_tmp_at_ = (ctx.scratch_bytes + 63) / 64 * 64;
    if (!z_direct_)
      ctx.scratch_bytes = conv_tmp_at_ + static_cast<size_t>(shape_numel(conv_shape_)) * sizeof(float);
  }

  void run(RunContext& ctx) override {
    const Tensor &tx = ctx.input(0), &tw = ctx.input(1);
    Tensor& ty = ctx.output(0);
    if (ty.numel() == 0) return;
    kernels::Epilogue ep = ep_;
    ep.bias = ctx.has_input(2) ? ctx.input(2).data_as<float>() : nullptr;
    const Tensor* z = has_z_ ? &ctx.input(3) : nullptr;
    // Z of Y's shape is read by the GEMM's epilogue (the direct form) or added as each chunk is transposed
    // into Y (packed-weights forms); a Z that broadcasts, or a depthwise conv's, is added afterwards.
    const bool z_fused = z && z_direct_ && !depthwise_;
    const bool z_late = z && !z_fused;
    const float* zf = z_fused ? z->data_as<float>() : nullptr;
    char* scratch = static_cast<char*>(ctx.scratch);
    float* y = z_direct_ ? ty.data_as<float>() : reinterpret_cast<float*>(scratch + conv_tmp_at_);
    kernels::Epilogue conv_ep = ep;
    if (z_late) conv_ep.act = Act::none;
    if (depthwise_)
      run_depthwise(tx.data_as<float>(), tw.data_as<float>(), conv_ep, y, ctx.threading,
                    reinterpret_cast<float*>(scratch));
    else if (few_) {
      if (!few_const_) few_conv_.set_weights(tw.data_as<float>());
      few_conv_.run(tx.data_as<float>(), batch_, conv_ep, zf, y, ctx.threading,
                    reinterpret_cast<float*>(scratch));
    } else if (winograd_)
      wino_.run(tx.data_as<float>(), batch_, conv_ep, zf, y, ctx.threading,
                reinterpret_cast<float*>(scratch));
    else if (phased_)
      run_phased(tx.data_as<float>(), tw.data_as<float>(), zf, conv_ep, y, ctx.threading,
                 reinterpret_cast<float*>(scratch));
    else if (direct_)
      run_direct(tx.data_as<float>(), tw.data_as<float>(), zf, conv_ep, y, ctx.threading);
    else if (wide_)
      run_packed_weights_wide(tx.data_as<float>(), tw.data_as<float>(), zf, conv_ep, y, ctx.threading,
                              reinterpret_cast<float*>(scratch));
    else
      run_packed_weights(tx.data_as<float>(), tw.data_as<float>(), zf, conv_ep, y, ctx.threading,
                         reinterpret_cast<float*>(scratch));
    if (z_late) add_z(y, *z, ep, ty, ctx.threading);
  }

  std::vector<std::string> kernels_used() const override {
    if (depthwise_) return {dw_.name()};
    if (few_) return {few_conv_.rows() == 8 ? "conv_few_channels_8x48" : "conv_few_channels_4x16"};
    const kernels::GemmKernel* kn = kernels::dispatched(kind_);
    std::vector<std::string> k;
    if (winograd_) k.push_back("conv_winograd_f2x3");
    if (kn) k.push_back(kn->name);
    return k;
  }

 private:
  /// The direct form: Y[Mg x chunk] (+)= Wg * packed col chunk, written in place in NCHW.
  void run_direct(const float* x, const float* wt, const float* z, const kernels::Epilogue& ep, float* y,
                  const kernels::Threading& th) {
    const int64_t N = batch_, P = w_.out_size();
    const int64_t nchunks = (P + chunk_ - 1) / chunk_;
    const int64_t tasks = N * group_ * nchunks;
    const bool aug = !w_aug_.empty();
    auto task = [&](int64_t t, int64_t slot, const kernels::Threading& tth) {
      const int64_t c = t % nchunks, g = (t / nchunks) % group_, n = t / (nchunks * group_);
      const int64_t p0 = c * chunk_, cols = std::min(chunk_, P - p0);
      const float* xg = x + (n * group_ + g) * cg_ * w_.in_size();
      kernels::PackedB& pb = col_packs_[static_cast<size_t>(slot)];
      if (b_view_) {
        kernels::view_b_rows(pb, xg + p0, cg_, cols, w_.in_size());
      } else if (pointwise_) {
        kernels::pack_b(pb, kind_, kernels::BDesc{xg + p0, cg_, cols, w_.in_size(), false, aug});
      } else {
        // im2col straight into the packed panels (f32 kernels have plain-row panels).
        const kernels::PanelRows pr = kernels::pack_b_f32_rows(pb, kg_, cols, aug);
        im2col_kmajor(w_, cg_, xg, p0, cols, ColDst{pr.data, 0, pr.nr, pr.panel_floats});
      }
      const int64_t plane = (n * group_ + g) * mg_ * P + p0;
      direct_gemm(pb, g, wt, y + plane, z ? z + plane : nullptr, P, cols, ep, tth);
    };
    run_tasks(th, threads_, tasks, task);
  }

  /// Y[Mg x cols] (ld ldy) = act(Wg * pb + bias (+ Z)) for group g: the bias from the augmented weights, as
  /// the kernel's row_bias (a B read in place), or written into Y first with Z for the GEMM to accumulate
  /// onto; Z otherwise read in the GEMM's epilogue.
  void direct_gemm(const kernels::PackedB& pb, int64_t g, const float* wt, float* yg, const float* zg,
                   int64_t ldy, int64_t cols, const kernels::Epilogue& ep,
                   const kernels::Threading& tth) const {
    const bool aug = !w_aug_.empty();
    kernels::Epilogue e = ep;
    e.bias = nullptr;
    const float* bias = ep.bias && !aug ? ep.bias + g * mg_ : nullptr;
    if (b_view_) {
      e.row_bias = bias;
      if (zg) {
        e.add = zg;
        e.ld_add = ldy;
      }
    } else if (zg && !bias) {
      e.add = zg;  // read in the GEMM's epilogue
      e.ld_add = ldy;
    } else if (bias || zg) {
      seed_rows(yg, ldy, zg, bias, mg_, cols);
      e.accumulate = true;
    }
    if (aug)
      kernels::gemm_f32(mg_, w_aug_.data() + g * mg_ * (kg_ + 1), kg_ + 1, pb, yg, ldy, e, tth);
    else
      kernels::gemm_f32(mg_, wt + g * mg_ * kg_, kg_, pb, yg, ldy, e, tth);
  }

  /// The direct form from phase planes (PhaseGeo), image by image: the planes of all channels (in
  /// parallel), then chunks of the virtual grid. Where that grid is the output (wph == OW) the GEMM
  /// writes Y as run_direct does; otherwise each chunk's output goes to the slot's scratch and its
  /// columns ow < OW are copied into Y (with Z and the activation when there is a Z).
  void run_phased(const float* x, const float* wt, const float* z, const kernels::Epilogue& ep, float* y,
                  const kernels::Threading& th, float* scratch) {
    const int64_t P = w_.out_size(), V = ph_.virt, C = group_ * cg_;
    const int64_t nchunks = (V + chunk_ - 1) / chunk_;
    const bool aug = !w_aug_.empty(), same = ph_.wph == w_.out[2];
    float* planes = scratch;
    float* outs = scratch + planes_floats_;
    for (int64_t n = 0; n < batch_; ++n) {
      const float* xn = x + n * C * w_.in_size();
      parallel_range(th, C, 1, [&](int64_t b, int64_t e) {
        fill_phase_planes(w_, ph_, xn + b * w_.in_size(), e - b, planes + b * ph_.channel);
      });
      auto task = [&](int64_t t, int64_t slot, const kernels::Threading& tth) {
        const int64_t g = t / nchunks, q0 = t % nchunks * chunk_, cols = std::min(chunk_, V - q0);
        const float* pg = planes + g * cg_ * ph_.channel;
        kernels::PackedB& pb = col_packs_[static_cast<size_t>(slot)];
        if (b_view_) {
          kernels::view_b_rows(pb, pg + q0, cg_, cols, ph_.channel);
        } else {
          const kernels::PanelRows pr = kernels::pack_b_f32_rows(pb, kg_, cols, aug);
          im2col_phased(ph_, cg_, pg, q0, cols, ColDst{pr.data, 0, pr.nr, pr.panel_floats});
        }
        const int64_t plane = (n * group_ + g) * mg_ * P;
        if (same) {
          direct_gemm(pb, g, wt, y + plane + q0, z ? z + plane + q0 : nullptr, P, cols, ep, tth);
          return;
        }
        float* out = outs + slot * slot_floats_;
        kernels::Epilogue e = ep;
        if (z) e.act = Act::none;  // applied after Z, as the chunk is copied out
        direct_gemm(pb, g, wt, out, nullptr, chunk_, cols, e, tth);
        copy_virtual_rows(out, chunk_, mg_, q0, cols, ph_.wph, w_.out[2], y + plane, P,
                          z ? z + plane : nullptr, ep);
      };
      run_tasks(th, threads_, group_ * nchunks, task);
    }
  }

  /// The packed-weights form (bf16, small images): weights prepacked as B, pixel-major col as A, the output
  /// chunk transposed into NCHW.
  void run_packed_weights(const float* x, const float* wt, const float* z, const kernels::Epilogue& ep,
                          float* y, const kernels::Threading& th, float* scratch) {
    if (!const_weights_) pack(wt);
    const int64_t N = batch_, P = w_.out_size();
    const int64_t nchunks = (P + chunk_ - 1) / chunk_;
    const int64_t tasks = N * group_ * nchunks;
    auto task = [&](int64_t t, int64_t slot, const kernels::Threading& tth) {
      float* buf = scratch + slot * slot_floats_;
      const int64_t c = t % nchunks, g = (t / nchunks) % group_, n = t / (nchunks * group_);
      const int64_t p0 = c * chunk_, rows = std::min(chunk_, P - p0);
      float* col = buf;
      float* out = buf + chunk_ * col_ld_;
      col_rows(x + (n * group_ + g) * cg_ * w_.in_size(), p0, rows, col, out + chunk_ * mg_);
      kernels::Epilogue e = ep;
      if (e.bias) e.bias += g * mg_;
      if (z) e.act = Act::none;  // applied after Z
      kernels::gemm_f32(rows, col, col_ld_, packed_[g], out, mg_, e, tth);
      const int64_t plane = (n * group_ + g) * mg_ * P + p0;
      transpose_block(out, mg_, y + plane, P, rows, mg_);
      if (z) add_z_rows(y + plane, z + plane, P, mg_, rows, ep);
    };
    // Enough independent chunks: one scratch slot per thread, single-threaded GEMMs inside.
    run_tasks(th, threads_, tasks, task);
  }

  /// The packed-weights form over a whole image at a time, for too few chunk tasks to fill the threads:
  /// im2col and both transposes split over pixel ranges, one GEMM of all pixels threaded inside.
  void run_packed_weights_wide(const float* x, const float* wt, const float* z, const kernels::Epilogue& ep,
                               float* y, const kernels::Threading& th, float* scratch) {
    if (!const_weights_) pack(wt);
    const int64_t P = w_.out_size();
    float* col = scratch;          // [P, Kg] pixel-major
    float* out = col + P * col_ld_;  // [P, Mg]
    float* stage = out + P * mg_;  // K-major im2col of each pixel range, [Kg, range] at range start * Kg
    // Ranges of at least 8 pixels: im2col rows shorter than that cost more than they copy.
    const int64_t grain = 8;
    for (int64_t ng = 0; ng < batch_ * group_; ++ng) {
      const int64_t g = ng % group_;
      const float* xg = x + ng * cg_ * w_.in_size();
      parallel_range(th, P, grain, [&](int64_t b, int64_t e) {
        col_rows(xg, b, e - b, col + b * col_ld_, stage + b * kg_);
      });
      kernels::Epilogue e = ep;
      if (e.bias) e.bias += g * mg_;
      if (z) e.act = Act::none;  // applied after Z
      kernels::gemm_f32(P, col, col_ld_, packed_[g], out, mg_, e, th);
      float* yg = y + ng * mg_ * P;
      parallel_range(th, P, grain, [&](int64_t b, int64_t en) {
        transpose_block(out + b * mg_, mg_, yg + b, P, en - b, mg_);
        if (z) add_z_rows(yg + b, z + ng * mg_ * P + b, P, mg_, en - b, ep);
      });
    }
  }

  /// Pixel-major col rows p0..p0+rows (one group's [rows, Kg]) for the packed-weights forms: the input
  /// itself transposed (pointwise), else its K-major im2col staged in `stage` ([Kg, rows]) and transposed.
  void col_rows(const float* xg, int64_t p0, int64_t rows, float* col, float* stage) const {
    if (pointwise_) {
      transpose_block(xg + p0, w_.in_size(), col, col_ld_, cg_, rows);
    } else {
      im2col_kmajor(w_, cg_, xg, p0, rows, ColDst{stage, rows});
      transpose_block(stage, rows, col, col_ld_, kg_, rows);
    }
  }

  /// Y = act(conv + Z): Z of the conv's shape (conv is then Y itself), or (ortkit.FusedConv from a
  /// broadcasting Add) any shape that broadcasts with it.
  void add_z(const float* conv, const Tensor& z, const kernels::Epilogue& ep, Tensor& ty,
             const kernels::Threading& th) const {
    if (z_direct_) {
      float* y = ty.data_as<float>();
      const float* zd = z.data_as<float>();
      parallel_range(th, ty.numel(), 16384,
                     [&](int64_t b, int64_t e) { add_z_rows(y + b, zd + b, 0, 1, e - b, ep); });
      return;
    }
    const Act a = ep.act;
    const float lo = ep.clip_lo, hi = ep.clip_hi;
    const Tensor cv = Tensor::view(DType::f32, conv_shape_, const_cast<float*>(conv));
    broadcast_binary<float, float, float>(
        cv, z, ty, th, [a, lo, hi](float u, float v) { return conv_act(u + v, a, lo, hi); });
  }

  void pack(const float* w) {
    // W is [M, Kg] row-major; group g's B[k, m] = W[(g*Mg + m) * Kg + k]: a transposed view.
    if (packed_.size() != static_cast<size_t>(group_)) packed_.resize(static_cast<size_t>(group_));
    for (int64_t g = 0; g < group_; ++g)
      kernels::pack_b(packed_[g], kind_, kernels::BDesc{w + g * mg_ * kg_, kg_, mg_, kg_, true});
  }

  void run_depthwise(const float* x, const float* wt, const kernels::Epilogue& ep, float* y,
                     const kernels::Threading& th, float* scratch) const {
    const Window& w = w_;
    const int64_t N = batch_, C = group_, P = w.out_size(), ks = w.k_size();
    constexpr float kInf = std::numeric_limits<float>::infinity();
    // relu and clip are the fused clamp; other activations run as a pass over each finished plane.
    const bool clamp = ep.act == Act::relu || ep.act == Act::clip;
    const float lo = ep.act == Act::relu ? 0.f : ep.act == Act::clip ? ep.clip_lo : -kInf;
    const float hi = ep.act == Act::clip ? ep.clip_hi : kInf;
    // Work items: planes, or blocks of kDwBlock channels (DepthwisePlanes::blocked).
    const int64_t cblocks = (C + kDwBlock - 1) / kDwBlock;
    const int64_t tasks = dw_.blocked() ? N * cblocks : N * C;
    auto item = [&](int64_t i, float* slot) {
      const int64_t n = dw_.blocked() ? i / cblocks : i / C;
      const int64_t c0 = dw_.blocked() ? i % cblocks * kDwBlock : i % C;
      const int64_t cb = dw_.blocked() ? std::min<int64_t>(kDwBlock, C - c0) : 1;
      const float* xc = x + (n * C + c0) * w.in_size();
      float* yc = y + (n * C + c0) * P;
      if (dw_.blocked())
        dw_.run_block(xc, wt + c0 * ks, ep.bias ? ep.bias + c0 : nullptr, cb, lo, hi, yc, slot);
      else
        dw_.run(DwPlane{xc, wt + c0 * ks, yc, ep.bias ? ep.bias[c0] : 0.f, lo, hi}, slot);
      if (!clamp) act_inplace(yc, cb * P, ep.act, ep.clip_lo, ep.clip_hi);
    };
    if (dw_.slot_floats() == 0) {  // no scratch: chunks a lagging thread's neighbours can take over
      parallel_range(th, tasks, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) item(i, nullptr);
      });
      return;
    }
    // One scratch slot per thread (the flat path's padded plane or the blocked path's block, its padding
    // zeroed on the slot's first item), contiguous items each, which a thread done early takes over from
    // a lagging one (run_tasks): equal static shares left MobileNetV2's 28x28 planes at 1.3-1.6x on 2
    // threads.
    const int64_t T = std::min<int64_t>(threads_, tasks);
    std::fill(dw_ready_.begin(), dw_ready_.end(), 0);
    run_tasks(th, T, tasks, [&](int64_t i, int64_t s, const kernels::Threading&) {
      float* slot = scratch + s * dw_.slot_floats();
      if (!dw_ready_[static_cast<size_t>(s)]) {
        dw_.init_slot(slot);
        dw_ready_[static_cast<size_t>(s)] = 1;
      }
      item(i, slot);
    });
  }

  FusedKind fused_;
  Window w_;
  kernels::Epilogue ep_;
  int64_t group_ = 1, cg_ = 0, mg_ = 0, kg_ = 0, chunk_ = 1, batch_ = 0;
  int64_t col_ld_ = 0;       ///< floats between pixel-major col rows (kg_, or one line more: see compile)
  int64_t slot_floats_ = 0;  ///< scratch floats per thread slot
  int64_t wide_floats_ = 0;  ///< scratch floats of the wide path
  size_t conv_tmp_at_ = 0;   ///< byte offset in scratch of the conv output when Z broadcasts
  int threads_ = 1;
  bool depthwise_ = false, pointwise_ = false;
  bool direct_ = false;  ///< the direct form (fp32 weights as A)
  bool b_view_ = false;  ///< direct 1x1: the input (or its phase plane) read in place as B (view_b_rows)
  bool phased_ = false;  ///< direct form over phase planes (strided windows, run_phased)
  bool narrow_groups_ = false;  ///< groups of <= 16 output channels: direct and phased at any stride
  PhaseGeo ph_;
  int64_t planes_floats_ = 0;  ///< scratch floats before the slots: one image's phase planes
  bool wide_ = false;    ///< packed-weights form, one threaded GEMM per image (see pick_wide)
  bool winograd_ = false;  ///< Winograd F(2x2, 3x3) (conv_winograd.h)
  bool few_ = false;       ///< few input channels: the direct loop of conv_few_channels.h
  bool few_const_ = false;  ///< its weights are constant (packed once at compile)
  FewChannelConv few_conv_;
  WinogradConv wino_;
  bool has_z_ = false, z_direct_ = true;
  Shape conv_shape_;  ///< the conv's own output shape when Z broadcasts to a larger one
  bool const_weights_ = false;
  std::vector<kernels::PackedB> col_packs_;  ///< the direct form's packed col chunk, one per slot
  std::vector<float> w_aug_;  ///< the direct form's [M, Kg + 1] weights with the bias as last column
  DepthwisePlanes dw_;
  mutable std::vector<char> dw_ready_;  ///< per slot: its padding zeroed in this run (run_depthwise)
  kernels::GemmKind kind_ = kernels::GemmKind::f32;
  std::vector<kernels::PackedB> packed_;
};

}  // namespace

void register_conv_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "Conv", 1, kAnyOpset, [] { return std::make_unique<ConvOp>(FusedKind::none); });
  r.add(kOrtkitDomain, "FusedConv", 1, kAnyOpset, [] { return std::make_unique<ConvOp>(FusedKind::ortkit); });
  r.add(kMsDomain, "FusedConv", 1, kAnyOpset, [] { return std::make_unique<ConvOp>(FusedKind::ms); });
}

}  // namespace ortkit::ops
