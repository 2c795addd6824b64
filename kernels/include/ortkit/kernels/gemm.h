// The one public GEMM interface of ortkit's kernels.
//
//   C[M x N] = epilogue( A[M x K] * B[K x N] )
//
// B is constant (weights), so it is packed once for the chosen kernel (PackedB) and reused by every call;
// A is packed per call inside the driver. Kinds:
//   f32   A f32,  B f32, C f32: exact fp32 FMA kernels.
//   bf16  A f32 rounded to bf16 (nearest even) while packing, or given as bf16 (gemm_bf16), B packed as
//         bf16, fp32 accumulation.
//   u8s8  A u8,   B s8, exact int32 accumulation; C f32 (dequantized in the epilogue) or raw int32.
//   s8s8  A s8,   B s8, likewise (x86 runs it on u8s8 kernels through the +128 shift of A).
// int8 with zero points:  C = a_scale * b_scale[n] * sum_k (A[m,k] - a_zp) * (B[k,n] - b_zp[n]) (+ bias)
// The zero-point terms are applied through row sums of A and column sums of B, never by touching the data.
//
// Threading: kernels/ has no thread pool of its own (it depends on the standard library only); the caller
// passes a parallel-for (Threading) and the driver splits the M x N blocks over it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ortkit::kernels {

enum class GemmKind : uint8_t { f32, bf16, u8s8, s8s8 };
const char* gemm_kind_name(GemmKind k);

/// Activations fused into the store of C. silu is x * sigmoid(x) (torch's SiLU, EfficientNet's swish),
/// hardswish x * clamp(x / 6 + 1/2, 0, 1) (ONNX HardSwish, MobileNetV3).
enum class Act : uint8_t { none, relu, clip, gelu_erf, gelu_tanh, silu, hardswish };
/// The name the fused ops' `activation` attribute uses for `a` ("none", "relu", "clip", "gelu_erf", ...).
const char* act_name(Act a);
/// The activation named `s` ("" is none); false for an unknown name.
bool act_from_name(const std::string& s, Act& a);

struct Epilogue {
  const float* bias = nullptr;  ///< N values added per column, or null
  Act act = Act::none;
  float clip_lo = 0.f, clip_hi = 0.f;  ///< for Act::clip
  /// C = act(C_old + A*B + bias) instead of act(A*B + bias).
  bool accumulate = false;
  /// With accumulate false: C = act(Add + A*B + bias), Add[r, n] = add[r * ld_add + n] (fp32 output only;
  /// add may be C itself). A residual join read in the epilogue instead of seeded into C by a pass of its
  /// own.
  const float* add = nullptr;
  int64_t ld_add = 0;
  /// M values added per row of C (before the activation), or null: a conv's bias when its output
  /// channels are the rows of C. Only with a B read in place (view_b_rows).
  const float* row_bias = nullptr;
};

/// Scales and zero point of the int8 A operand (per tensor). B's are in PackedB.
struct QuantA {
  float scale = 1.f;
  int32_t zero_point = 0;
};

/// Optional requantized output (QLinearMatMul): Cq = saturate(round_half_even(C / scale) + zero_point),
/// C being the fp32 result after the epilogue (NaN gives the low bound). With c == null in gemm_int8 the
/// fp32 result goes through a per-thread tile only. ld is in elements (bytes), at least N.
struct QuantOut {
  bool enabled = false;
  bool is_signed = false;  ///< s8 output, else u8
  float scale = 1.f;
  int32_t zero_point = 0;
  void* data = nullptr;
  int64_t ld = 0;
};

/// A parallel-for supplied by the caller: run task(task_ctx, i) for i in [0, n), spread over threads.
using ParallelFn = void (*)(void* pool, int64_t n, void (*task)(void* task_ctx, int64_t i), void* task_ctx);
struct Threading {
  ParallelFn parallel_for = nullptr;  ///< null: run on the calling thread
  void* pool = nullptr;
  int threads = 1;  ///< how many threads parallel_for uses (for task splitting)
};

struct GemmKernel;  // registry.h

/// B packed for one kernel. Owns its memory; movable; re-packing into it reuses its capacity.
class PackedB {
 public:
  PackedB();
  ~PackedB();
  PackedB(PackedB&&) noexcept;
  PackedB& operator=(PackedB&&) noexcept;

  GemmKind kind() const { return kind_; }
  int64_t k() const { return k_; }
  int64_t n() const { return n_; }
  const GemmKernel* kernel() const { return kernel_; }
  bool empty() const { return kernel_ == nullptr; }
  size_t bytes() const;        ///< size of B as the kernels read it: the panels, or a view's k x n floats
  const void* panels() const;  ///< the packed panels (layout in registry.h)

  // Internal layout, read by the driver (see registry.h for the panel format).
  GemmKind kind_ = GemmKind::f32;
  int64_t k_ = 0, n_ = 0, k_padded_ = 0, n_panels_ = 0;
  const GemmKernel* kernel_ = nullptr;
  /// Packed for the kernel dispatch chose (no kernel argument): the driver may then run a call of few
  /// rows on the kernel's GemmKernel::few_rows sibling, which reads the same panels.
  bool by_dispatch_ = false;
  struct Buffer;
  std::unique_ptr<Buffer> data_;       // panels, 64-byte aligned
  std::vector<int32_t> col_sums_;      // int8: sum_k B[k,n] as stored (n_panels * nr entries)
  std::vector<float> b_scale_;         // int8: per column (size n) or per tensor (size 1)
  std::vector<int32_t> b_zero_point_;  // int8: per column (size n) or per tensor (size 1); empty = 0
  const float* rows_ = nullptr;        // view_b_rows: fp32 B read in place, ldb_ floats between rows
  int64_t ldb_ = 0;
};

/// The kernel a call of m rows over b runs: b's kernel, or its GemmKernel::few_rows sibling (see there).
const GemmKernel* kernel_for_rows(const PackedB& b, int64_t m);

/// Describes B as given: B[k, n] = b[k * ldb + n], or with trans_b, b[n * ldb + k] (ONNX Gemm transB).
/// ones_row (fp32 kinds): the packed B gets one more row, B[k, n] = 1 for every n, so its depth is k + 1;
/// an A whose column k holds a value per row then adds a per-row bias inside the dot products (a conv
/// with its output channels as the rows of C).
struct BDesc {
  const void* data = nullptr;
  int64_t k = 0, n = 0, ld = 0;
  bool trans = false;
  bool ones_row = false;
};

/// Pack an fp32 B for an f32 or bf16 kernel. kernel = null picks the dispatched best for `kind`.
void pack_b(PackedB& out, GemmKind kind, const BDesc& b, const GemmKernel* kernel = nullptr);
/// Writable panels of an fp32 B that the caller fills itself, for a B made per call (a conv's im2col
/// written straight into the packed layout instead of staged and then packed). f32 kernels only (all
/// of them have KR = 1). B[k, n] for k < K, n < N goes to
///   data + (n / nr) * panel_floats + k * nr + n % nr
/// and the caller must write every such element after this call; the ones row (ones_row: depth K + 1,
/// as BDesc::ones_row) and the last panel's columns past N are written here.
struct PanelRows {
  float* data = nullptr;
  int nr = 0;
  int64_t panel_floats = 0;
  float* at(int64_t k, int64_t n) const { return data + (n / nr) * panel_floats + k * nr + n % nr; }
};
PanelRows pack_b_f32_rows(PackedB& out, int64_t k, int64_t n, bool ones_row,
                          const GemmKernel* kernel = nullptr);

/// Point `out` at an fp32 B [k x n] read in place, B[k, n] = b[k * ldb + n], instead of packing it: for a
/// B made per call and used by few rows of A (a 1x1 conv's input, channels as K, where packing copied
/// the whole activation for a GEMM of 16-32 output channels). Only f32 kernels with GemmKernel::b_rows
/// read B that way: returns false (and leaves `out` alone) for any other, and the caller packs instead.
/// `out` owns nothing then; b must outlive the gemm calls.
bool view_b_rows(PackedB& out, const float* b, int64_t k, int64_t n, int64_t ldb,
                 const GemmKernel* kernel = nullptr);

/// Pack an int8 B (s8 data; u8 B is not supported by the u8s8/s8s8 kinds: pass b_is_unsigned and it is
/// re-centred by -128 with the shift folded into the zero point). Scales/zero points: size 1 (per tensor)
/// or n (per column).
void pack_b_int8(PackedB& out, GemmKind kind, const BDesc& b, bool b_is_unsigned, const float* b_scale,
                 int64_t n_scale, const int32_t* b_zero_point, int64_t n_zp,
                 const GemmKernel* kernel = nullptr);

/// The GEMM driver keeps its scratch per thread and grows it on demand, so a thread that takes a kind of
/// task it never ran before allocates once. scratch_allocations() counts those allocations (all threads);
/// reserve_thread_scratch() grows the calling thread's scratch to the largest any thread has reached. A
/// pool that runs it on each of its threads after a run in which the count moved keeps later runs of the
/// same shapes free of allocation, whichever thread takes which task.
uint64_t scratch_allocations();
void reserve_thread_scratch();

/// C = epilogue(A * B), A fp32 row-major with stride lda. B packed as f32 or bf16.
void gemm_f32(int64_t m, const float* a, int64_t lda, const PackedB& b, float* c, int64_t ldc,
              const Epilogue& ep = {}, const Threading& th = {});

/// C = epilogue(A * B) with A already bf16 (bits, row-major, stride lda elements) and B packed as bf16:
/// activations a model keeps in bf16, or one A rounded once (f32_to_bf16) for several GEMMs. The result
/// equals gemm_f32 on the same B with A's values widened to fp32 (that call rounds them itself).
void gemm_bf16(int64_t m, const uint16_t* a, int64_t lda, const PackedB& b, float* c, int64_t ldc,
               const Epilogue& ep = {}, const Threading& th = {});

/// Quantized GEMM, A u8 (kind u8s8) or s8 (kind s8s8) with stride lda.
/// c != null: fp32 dequantized output with the epilogue. c32 != null: raw int32 sum of
/// (A - a_zp)(B - b_zp) (MatMulInteger), no scales. qout.enabled: requantized u8/s8 output as well.
void gemm_int8(int64_t m, const void* a, int64_t lda, const QuantA& qa, const PackedB& b, float* c,
               int64_t ldc, int32_t* c32, int64_t ldc32, const Epilogue& ep = {}, const QuantOut& qout = {},
               const Threading& th = {});

/// Dynamic quantization fused with the GEMM: A fp32 is quantized per tensor to u8 (the ONNX
/// DynamicQuantizeLinear rule: range includes 0, scale = (max - min) / 255) while packing, then run on
/// a u8s8 PackedB. The computed scale and zero point are returned through qa_out if non-null.
void gemm_f32_dynamic_u8(int64_t m, const float* a, int64_t lda, const PackedB& b, float* c, int64_t ldc,
                         const Epilogue& ep = {}, const Threading& th = {}, QuantA* qa_out = nullptr);

}  // namespace ortkit::kernels
