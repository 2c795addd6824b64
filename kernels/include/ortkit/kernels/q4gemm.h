// GEMM over 4-bit block-quantized weights without dequantizing them first: ONNX Runtime's MatMulNBits
// with bits = 4 (GenAI int4 LLMs, MatMulNBitsQuantizer), for the few rows of a decode step.
//
//   C[m][n] = sum_k A[m][k] * w[n][k] (+ bias[n]),   w[n][k] = (q[n][k] - zp[n][b]) * scale[n][b],
//   b = k / block.
//
// A decode step is bound by the bytes of weights it streams: the int4 weights are 1/8 of the fp32 ones
// a dequantized GEMM reads. The kernels widen the nibbles in registers and use the distributive form
// per block,  scale * sum_k a_k q_k  -  zp * scale * sum_k a_k,  so the per-k work is one integer
// unpack and one int->float convert shared by all rows, plus one FMA per row.
//
// Packed layout (Q4Weights): panels of 32 columns; per panel, per pair of k (k = 2i, 2i + 1), 32 bytes,
// byte j = q[32p + j][2i] | q[32p + j][2i + 1] << 4; columns past n and the k past an odd K are zero.
// Per panel and block, 32 scales and 32 values of -zp * scale. The portable reference (ORTKIT_MAX_ISA=ref)
// defines the results; the AVX-512 and NEON kernels are tested against it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ortkit/kernels/cpu_features.h"
#include "ortkit/kernels/gemm.h"

namespace ortkit::kernels {

/// Zero-filled, 64-byte aligned bytes, shared by copies of the packed weights.
struct AlignedBytes {
  explicit AlignedBytes(size_t n);
  ~AlignedBytes();
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  void* ptr = nullptr;
};

struct Q4Weights {
  int64_t n = 0, k = 0, block = 0, blocks = 0, panels = 0, kpairs = 0;
  std::shared_ptr<AlignedBytes> q;  // panels * kpairs * 32 bytes
  std::vector<float> scale, nzs;    // [panel][block][32]: scale and -zp * scale
  const uint8_t* q_data() const;
  size_t bytes() const;  ///< packed weights, scales and zero-point terms
};

/// Repack MatMulNBits' 4-bit B: q [N][blocks][block / 2] bytes (element 2j in the low nibble of byte j),
/// scales [N][blocks], zero points either packed 4-bit [N][ceil(blocks / 2)] (zp_u4) or float
/// [N][blocks] (zp_f32) or neither (8). block is a power of two >= 16.
Q4Weights pack_q4(int64_t n, int64_t k, int64_t block, const uint8_t* q, const float* scales,
                  const uint8_t* zp_u4, const float* zp_f32);

/// The weights dequantized (q * scale - zp * scale) and packed for the float GEMM kernel of `kind` (f32
/// or bf16): a copy 8x (bf16: 4x) the int4 bytes, for gemm_f32 over many rows.
void pack_q4_float(const Q4Weights& w, GemmKind kind, PackedB& out);

/// The same product as gemm_f32 over pack_q4_float's copy, without the copy: threads split the panels,
/// and each dequantizes and packs its panels a chunk (~512 KiB of fp32) at a time into per-thread scratch
/// before multiplying. Bit for bit the same result; for weights whose float copy would not fit in memory.
void q4_gemm_float(int64_t m, const float* a, int64_t lda, const Q4Weights& w, GemmKind kind, float* c,
                   int64_t ldc, const Epilogue& ep, const Threading& th);

/// One call of a tile kernel: rows [0, m) (m <= 4) of A against one 32-column panel.
struct Q4Tile {
  const float* a = nullptr;  ///< row 0, k elements
  int64_t lda = 0;
  int m = 0, n = 0;  ///< valid rows (1..4) and columns (1..32)
  int64_t k = 0, block = 0, blocks = 0;
  const float* asum = nullptr;   ///< sum of A's row r over block b at asum[r * blocks + b]
  const uint8_t* q = nullptr;    ///< the panel's packed weights
  const float* scale = nullptr;  ///< the panel's [block][32] scales
  const float* nzs = nullptr;    ///< the panel's [block][32] -zp * scale
  float* c = nullptr;
  int64_t ldc = 0;
  const float* bias = nullptr;  ///< offset to the panel's first column, or null
};

struct Q4Kernel {
  const char* name;  ///< q4gemm_<isa>_<MR>x<NR>, also the file stem
  const char* isa;
  void (*run)(const Q4Tile& t);
};

constexpr int kQ4TileRows = 4;

/// Every Q4 kernel this CPU can run, best first, the portable reference last.
const std::vector<const Q4Kernel*>& q4_kernels();
/// The best one for this process (ORTKIT_MAX_ISA=ref forces the reference, as for the GEMM kernels).
const Q4Kernel& q4_kernel();
/// The one this binary would choose on a CPU with these features under an ORTKIT_MAX_ISA cap ("" = none).
const Q4Kernel& choose_q4_kernel(const CpuFeatures& features, const std::string& max_isa);

/// C = A * w^T (+ bias) for M rows of A (row-major, stride lda); C has stride ldc. Threads split the
/// panels. kernel = null uses q4_kernel().
void q4_gemm(int64_t m, const float* a, int64_t lda, const Q4Weights& w, float* c, int64_t ldc,
             const float* bias, const Threading& th = {}, const Q4Kernel* kernel = nullptr);

// ---------------------------------------------------------------------------------------------------------
// int8 activations (MatMulNBits accuracy_level 4, ONNX Runtime's "CompInt8"): A is quantized per row and
// block to s8 (symmetric, scale = max|a| / 127, round to nearest even), and each block's dot product is
// exact int32 arithmetic, u4 weights x s8 activations (AVX-512 VNNI vpdpbusd):
//   C[m][n] = sum_b a_scale[m][b] * scale[n][b] * (sum_k qa[m][k] q[n][k] - zp[n][b] * sum_k qa[m][k]).
// accuracy_level is a floor on accuracy: where no int8 kernel runs, the fp32 kernels above serve it.
//
// Packed layout (Q4S8Weights): 32-column panels of two 16-column groups; per group and k quad (4 k, K
// padded to a multiple of 4), 32 bytes where byte 4c + j holds column c's k j in its low nibble and column
// c + 8's in its high one (c < 8): an AND and a shift give the u8 lanes of vpdpbusd directly.

struct Q4S8Weights {
  int64_t n = 0, k = 0, kp = 0, block = 0, blocks = 0, panels = 0;
  std::shared_ptr<AlignedBytes> q;  // panels * (kp / 4) * 64 bytes
  std::vector<float> scale, zp;     // [panel][block][32]
  const uint8_t* q_data() const;
  size_t bytes() const;
};

Q4S8Weights pack_q4_s8(int64_t n, int64_t k, int64_t block, const uint8_t* q, const float* scales,
                       const uint8_t* zp_u4, const float* zp_f32);

/// One call of an int8-activation tile kernel: rows [0, m) (m <= 4) against one 32-column panel.
struct Q4S8Tile {
  const int8_t* a = nullptr;  ///< row 0 of the quantized A, kp values (zero past k)
  int64_t lda = 0;            ///< = kp
  int m = 0, n = 0;
  int64_t kp = 0, block = 0, blocks = 0;
  const float* a_scale = nullptr;  ///< [r * blocks + b]
  const float* a_sum = nullptr;    ///< sum of the block's quantized values, [r * blocks + b]
  const uint8_t* q = nullptr;      ///< the panel's packed weights
  const float* scale = nullptr;    ///< the panel's [block][32]
  const float* zp = nullptr;       ///< the panel's [block][32]
  float* c = nullptr;
  int64_t ldc = 0;
  const float* bias = nullptr;
};

struct Q4S8Kernel {
  const char* name;
  const char* isa;
  void (*run)(const Q4S8Tile& t);
};

/// Every int8-activation kernel this CPU can run, best first, the portable reference last.
const std::vector<const Q4S8Kernel*>& q4s8_kernels();
/// The SIMD one chosen for this process, or null (none runs here, or ORTKIT_MAX_ISA caps it away).
const Q4S8Kernel* q4s8_kernel();

/// Quantizes A (M rows, stride lda) per row and block, then C = A * w^T (+ bias). kernel = null uses
/// q4s8_kernel(), else the reference.
void q4_gemm_s8(int64_t m, const float* a, int64_t lda, const Q4S8Weights& w, float* c, int64_t ldc,
                const float* bias, const Threading& th = {}, const Q4S8Kernel* kernel = nullptr);

/// The portable per-block quantization of one row of A (exposed for tests): k values into kp (zeros past
/// k), scales and sums per block.
void q4s8_quantize_row(const float* a, int64_t k, int64_t kp, int64_t block, int8_t* qa, float* scale,
                       float* sum);

}  // namespace ortkit::kernels
