// com.microsoft.MatMulNBits: Y = A @ dequant(B)^T + bias, the block-quantized weights (2, 4 or 8 bits) of
// LLMs exported by ONNX Runtime's GenAI model builder and its MatMulNBitsQuantizer (int4 "RTN"/"HQQ").
//
//   B            uint8 [N, n_blocks, block_size * bits / 8]: per output column n, K values in blocks along
//                K, packed low bits first (4 bits: element 2j in the low nibble of byte j).
//   scales       [N * n_blocks] (or [N, n_blocks]), A's float type.
//   zero_points  optional: uint8 packed like B, ceil(n_blocks * bits / 8) bytes per column; or A's float
//                type, one per block; absent: 2^(bits - 1).   w = (q - zero_point) * scale.
//   g_idx        optional int32 [K]: accepted only when it is the plain k / block_size (act-order GPTQ
//                layouts are refused; ONNX Runtime's meaning of a permuted g_idx is not documented).
//   bias         optional [N].
//
// 4-bit weights stay 4-bit: a decode step (up to kFusedRowsF32 rows of A) runs the fused int4 kernel
// (kernels/q4gemm.h), which streams the packed nibbles and widens them in registers. Longer inputs (a
// prompt) are compute-bound, where the float GEMM kernels are faster: they run over weights dequantized
// on the first such call (fp32, or bf16 under --precision bf16), unless that copy would pass
// 48 MiB (float_copy_max_bytes(); a real LLM: 8x the int4 bytes would not fit in memory for a 7B model);
// then each call dequantizes chunks of 32-column panels into per-thread scratch and runs the float
// kernel over each (kernels::q4_gemm_float), so the weights stay 4-bit at every row count. 2- and 8-bit
// weights are dequantized once, when the session starts. accuracy_level 4 (ONNX Runtime's "CompInt8", which
// GenAI's builder writes for CPU models) runs 4-bit weights on the int8-activation kernel at every row count
// where one exists for this CPU (AVX-512 VNNI): A quantized per row and block, exact int32 block dot
// products; it was 1.4x the fp32 GEMM at prompt sizes and 4x at a decode row. Elsewhere, and for other
// levels, A stays fp32 (the level is a floor on accuracy).
#include <cmath>
#include <cstdlib>
#include <mutex>

#include "ops/registry.h"
#include "ortkit/kernels/epilogue.h"
#include "ortkit/kernels/q4gemm.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::ops {
namespace {

using kernels::BDesc;
using kernels::PackedB;

struct NBitsLayout {
  int64_t k = 0, n = 0, bits = 4, block = 0, blocks = 0, blob = 0;
};

/// Checks constant B, scales and zero points against the layout the attributes give.
void check_weights(const NBitsLayout& L, const Tensor& b, const Tensor& scales, const Tensor* zp,
                   const NodeInfo& where) {
  const std::string w = where.describe();
  if (b.dtype() != DType::u8) throw Unsupported("B of type " + std::string(dtype_name(b.dtype())), w);
  if (b.numel() != L.n * L.blocks * L.blob)
    throw Error("B has " + std::to_string(b.numel()) +
                    " bytes, expected N * n_blocks * blob = " + std::to_string(L.n * L.blocks * L.blob),
                w);
  if (scales.dtype() != DType::f32)
    throw Unsupported("scales of type " + std::string(dtype_name(scales.dtype())), w);
  if (scales.numel() != L.n * L.blocks)
    throw Error("scales has " + std::to_string(scales.numel()) +
                    " values, expected N * n_blocks = " + std::to_string(L.n * L.blocks),
                w);
  const int64_t zp_row = (L.blocks * L.bits + 7) / 8;
  if (zp) {
    const bool packed = zp->dtype() == DType::u8;
    if (!packed && zp->dtype() != DType::f32)
      throw Unsupported("zero_points of type " + std::string(dtype_name(zp->dtype())), w);
    const int64_t want = packed ? L.n * zp_row : L.n * L.blocks;
    if (zp->numel() != want)
      throw Error(
          "zero_points has " + std::to_string(zp->numel()) + " values, expected " + std::to_string(want), w);
  }
}

/// The dequantized weights as [N, K] (row n = output column n), from checked B, scales, zero points.
std::vector<float> dequantize(const NBitsLayout& L, const Tensor& b, const Tensor& scales, const Tensor* zp) {
  const int64_t zp_row = (L.blocks * L.bits + 7) / 8;
  const uint8_t* q = b.data_as<uint8_t>();
  const float* s = scales.data_as<float>();
  const uint32_t mask = (1u << L.bits) - 1;
  const float default_zp = static_cast<float>(1 << (L.bits - 1));
  // Bit j*bits of a block never straddles a byte: bits is 2, 4 or 8.
  auto field = [&](const uint8_t* bytes, int64_t j) {
    const int64_t bit = j * L.bits;
    return static_cast<float>((bytes[bit / 8] >> (bit % 8)) & mask);
  };
  std::vector<float> out(static_cast<size_t>(L.n * L.k));
  for (int64_t n = 0; n < L.n; ++n)
    for (int64_t blk = 0; blk < L.blocks; ++blk) {
      float z = default_zp;
      if (zp && zp->dtype() == DType::u8)
        z = field(zp->data_as<uint8_t>() + n * zp_row, blk);
      else if (zp)
        z = zp->data_as<float>()[n * L.blocks + blk];
      const float sc = s[n * L.blocks + blk];
      const uint8_t* blob = q + (n * L.blocks + blk) * L.blob;
      const int64_t k0 = blk * L.block, k1 = std::min(L.k, k0 + L.block);
      for (int64_t k = k0; k < k1; ++k) out[n * L.k + k] = (field(blob, k - k0) - z) * sc;
    }
  return out;
}

class MatMulNBits : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    ctx.require_dtype(0, {DType::f32});
    read_layout(ctx.attr(), ctx.node->describe());
    const Shape& a = ctx.input(0).shape;
    if (a.empty() || a.back() != L_.k)
      ctx.fail("A's last dimension must be K = " + std::to_string(L_.k) + ", got " + shape_str(a));
    if (ctx.has_input(4)) check_g_idx(ctx.input(4).constant, ctx);
    if (ctx.has_input(5)) {
      const InputDesc& bias = ctx.input(5);
      if (bias.dtype != DType::f32 || shape_numel(bias.shape) != L_.n)
        ctx.fail("bias must be float32 with N = " + std::to_string(L_.n) + " values");
    }
    Shape out(a.begin(), a.end() - 1);
    out.push_back(L_.n);
    ctx.set_output(0, DType::f32, out);
    kind_ = ctx.float_gemm_kind();
    if (!have_weights_) {
      const Tensor *b = ctx.input(1).constant, *s = ctx.input(2).constant;
      const Tensor* zp = ctx.has_input(3) ? ctx.input(3).constant : nullptr;
      if (!b || !s || (ctx.has_input(3) && !zp))
        ctx.unsupported("B, scales and zero_points must be constants (initializers)");
      pack(*b, *s, zp, *ctx.node);
    }
  }

  void prepack(const PrepackContext& ctx) override {
    kind_ = ctx.float_gemm_kind();
    const auto c = [&](size_t i) { return i < ctx.constants.size() ? ctx.constants[i] : nullptr; };
    if (!c(1) || !c(2)) return;  // compile() reports it
    read_layout(*ctx.attrs, ctx.node->describe());
    pack(*c(1), *c(2), c(3), *ctx.node);
  }

  void run(RunContext& ctx) override {
    const Tensor& a = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (y.numel() == 0) return;
    const int64_t m = a.numel() / L_.k;
    kernels::Epilogue ep;
    if (ctx.has_input(5)) ep.bias = ctx.input(5).data_as<float>();
    if (int8_a_) {
      kernels::q4_gemm_s8(m, a.data_as<float>(), L_.k, q4s8_, y.data_as<float>(), L_.n, ep.bias,
                          ctx.threading);
      return;
    }
    const int64_t fused_rows = kind_ == kernels::GemmKind::bf16 ? kFusedRowsBf16 : kFusedRowsF32;
    if (L_.bits == 4 && m <= fused_rows) {
      kernels::q4_gemm(m, a.data_as<float>(), L_.k, q4_, y.data_as<float>(), L_.n, ep.bias, ctx.threading);
      return;
    }
    if (L_.bits == 4 && stream_) {
      kernels::q4_gemm_float(m, a.data_as<float>(), L_.k, q4_, kind_, y.data_as<float>(), L_.n, ep,
                             ctx.threading);
      return;
    }
    kernels::gemm_f32(m, a.data_as<float>(), L_.k, float_weights(), y.data_as<float>(), L_.n, ep,
                      ctx.threading);
  }

  std::vector<std::string> kernels_used() const override {
    std::vector<std::string> names;
    if (int8_a_) return {kernels::q4s8_kernel()->name};
    if (L_.bits == 4) names.push_back(kernels::q4_kernel().name);
    if (const kernels::GemmKernel* kn = kernels::dispatched(kind_)) names.push_back(kn->name);
    return names;
  }

 private:
  void read_layout(const Attrs& at, const std::string& where) {
    L_.k = at.get_int("K");
    L_.n = at.get_int("N");
    L_.bits = at.get_int("bits", 4);
    L_.block = at.get_int("block_size");
    if (L_.bits != 2 && L_.bits != 4 && L_.bits != 8)
      throw Unsupported("bits = " + std::to_string(L_.bits) + " (2, 4 and 8 are supported)", where);
    if (L_.k <= 0 || L_.n <= 0 || L_.block < 16 || (L_.block & (L_.block - 1)) != 0)
      throw Error("K and N must be positive and block_size a power of 2 >= 16 (K " + std::to_string(L_.k) +
                      ", N " + std::to_string(L_.n) + ", block_size " + std::to_string(L_.block) + ")",
                  where);
    L_.blocks = (L_.k + L_.block - 1) / L_.block;
    L_.blob = L_.block * L_.bits / 8;
    int8_a_ = L_.bits == 4 && at.get_int("accuracy_level", 0) == 4 && kernels::q4s8_kernel() != nullptr;
  }

  void check_g_idx(const Tensor* g, const CompileContext& ctx) const {
    if (!g) ctx.unsupported("a non-constant g_idx");
    if (g->dtype() != DType::i32 || g->numel() != L_.k) ctx.fail("g_idx must be int32 with K values");
    for (int64_t k = 0; k < L_.k; ++k)
      if (g->data_as<int32_t>()[k] != k / L_.block)
        ctx.unsupported("g_idx that reorders K (act-order); only the plain k / block_size layout");
  }

  void pack(const Tensor& b, const Tensor& s, const Tensor* zp, const NodeInfo& node) {
    check_weights(L_, b, s, zp, node);
    have_weights_ = true;
    if (L_.bits == 4) {
      const uint8_t* q = b.data_as<uint8_t>();
      const bool zp_u4 = zp && zp->dtype() == DType::u8;
      const uint8_t* zq = zp_u4 ? zp->data_as<uint8_t>() : nullptr;
      const float* zf = zp && !zp_u4 ? zp->data_as<float>() : nullptr;
      if (int8_a_)
        q4s8_ = kernels::pack_q4_s8(L_.n, L_.k, L_.block, q, s.data_as<float>(), zq, zf);
      else
        q4_ = kernels::pack_q4(L_.n, L_.k, L_.block, q, s.data_as<float>(), zq, zf);
      stream_ = L_.n * L_.k * 4 > float_copy_max_bytes();
      return;
    }
    const std::vector<float> w = dequantize(L_, b, s, zp);
    kernels::pack_b(packed_, kind_, BDesc{w.data(), L_.k, L_.n, L_.k, /*transposed=*/true});
  }

  // 4-bit weights for a prompt: dequantized and packed once, on the first call with more rows than the
  // fused kernel takes, so that a decode-only run never holds the fp32 copy (8x the int4 bytes).
  const PackedB& float_weights() {
    if (L_.bits == 4) std::call_once(float_once_, [&] { kernels::pack_q4_float(q4_, kind_, packed_); });
    return packed_;
  }

  // The largest fp32 (or bf16) copy of one node's 4-bit weights kept for prompts; ORTKIT_Q4_FLOAT_COPY_MAX
  // (bytes) overrides it, 0 streams every node. Under it a prompt runs at the float GEMM's full speed;
  // a 4096 x 4096 matrix (64 MiB in fp32) is over it.
  static int64_t float_copy_max_bytes() {
    const char* env = std::getenv("ORTKIT_Q4_FLOAT_COPY_MAX");
    return env && *env ? std::atoll(env) : (int64_t{48} << 20);
  }

  // Rows of A up to which the fused int4 kernel runs. 1 thread, Zen 5, weights in L3, fused / float GEMM
  // time: against fp32, N = K = 1024: 1.9x faster at 1 row, 1.08x at 4, 0.91x at 8; N = K = 4096: 5.8x,
  // 2.7x, 1.2x at 1, 4, 8 rows and 0.99x at 16. Against bf16 (half the float bytes), N 3072 x K 1024: 1.0x
  // at 1 row, 1.06x at 2, 0.66x at 4. Weights past L3 (a real LLM) favour the fused kernel further.
  static constexpr int64_t kFusedRowsF32 = 8, kFusedRowsBf16 = 2;

  NBitsLayout L_;
  kernels::GemmKind kind_ = kernels::GemmKind::f32;
  kernels::Q4Weights q4_;
  kernels::Q4S8Weights q4s8_;  // accuracy_level 4 where an int8-activation kernel runs
  bool int8_a_ = false;
  bool stream_ = false;  // prompts dequantize per call instead of keeping a float copy
  PackedB packed_;
  std::once_flag float_once_;
  bool have_weights_ = false;
};

}  // namespace

void register_matmul_nbits_ops(OpRegistry& r) {
  r.add(kMsDomain, "MatMulNBits", 1, kAnyOpset, [] { return std::make_unique<MatMulNBits>(); });
}

}  // namespace ortkit::ops
