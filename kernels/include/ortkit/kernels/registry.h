// Kernel registry and the micro-kernel contract every ISA implements.
//
// One portable driver (kernels/gemm_driver.cpp) does packing of A, cache blocking and threading; a
// micro-kernel only computes one MR x NR tile of C over the whole (padded) K from two packed panels and
// applies the fused epilogue while storing. Registering a kernel = one GemmKernel entry.
//
// Packed layouts. KR is the depth of the instruction (1 fma, 2 vdpbf16ps, 4 vpdpbusd/sdot/bfmmla,
// 8 smmla); K is padded with zeros to Kp = round_up(K, KR).
//
//   A panel (MR rows, packed per call)          B panel (NR columns, packed once)
//   for g in 0 .. Kp/KR-1:                       for g in 0 .. Kp/KR-1:
//     for r in 0 .. MR-1:                          for c in 0 .. NR-1:
//       A[r][g*KR .. g*KR+KR-1]  (KR elems)          B[g*KR .. g*KR+KR-1][c]  (KR elems)
//
//   KR=1:  a0 a1 .. a(MR-1) | next k ...         b0 b1 .. b(NR-1) | next k ...
//   KR=4:  [r0 k0..3][r1 k0..3]..[rMR-1 k0..3]   [c0 k0..3][c1 k0..3]..[cNR-1 k0..3]
//   KR=8 (SMMLA): two rows x 8 = one 128-bit A operand; two columns x 8 = one B operand.
// Rows beyond m in the last A panel and columns beyond n in the last B panel are zero. Panels are
// 64-byte aligned; the panel of B columns [j*NR, j*NR+NR) starts at j * Kp * NR * sizeof(elem).
// Row-A kernels (GemmKernel::a_rows) take no A panel: row r of the tile is the Kp elements at
// a + r * lda (the caller's A read in place, or rows the driver prepared with zeroed K padding).
// Element types: f32 kernels float; bf16 kernels uint16_t (bf16 bits); int8 kernels A uint8_t (u8s8) or
// int8_t (s8s8 native kernels), B int8_t.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ortkit/kernels/cpu_features.h"
#include "ortkit/kernels/gemm.h"

namespace ortkit::kernels {

/// One tile's work. Pointers to per-column data (bias, col_*) are already offset to the tile's first column;
/// per-row data (row_sum) to its first row.
struct MicroTile {
  int64_t kp = 0;           ///< padded depth, a multiple of KR
  const void* a = nullptr;  ///< packed A panel, or row 0 of the tile for GemmKernel::a_rows kernels
  int64_t lda = 0;          ///< a_rows kernels: A's row stride in elements (rows hold kp elements)
  const void* b = nullptr;  ///< packed B panel, or row 0 of the tile's columns when ldb > 0
  /// GemmKernel::b_rows kernels: B read in place, ldb floats between rows; the tile's n columns are
  /// the only ones it may read (0: a packed panel).
  int64_t ldb = 0;
  /// GemmKernel::b_rows kernels: m values, one per row, added to the sums (Epilogue::row_bias), or null.
  const float* row_bias = nullptr;
  int m = 0, n = 0;         ///< valid rows (1..MR) and columns (1..NR)
  float* c = nullptr;       ///< fp32 output (null for int8 raw output)
  int64_t ldc = 0;
  const float* bias = nullptr;
  Act act = Act::none;
  float clip_lo = 0.f, clip_hi = 0.f;
  bool accumulate = false;
  /// fp32 C with accumulate: the values added are read from here (row stride ldc_in), not from C itself
  /// (Epilogue::add); null means C.
  const float* c_in = nullptr;
  int64_t ldc_in = 0;
  // int8 only: value = col_scale[c] * (acc + col_offset[c] + row_sum[r] * col_zp_neg[c]) + bias[c]
  //   col_offset = -a_zp * colsum(B) + K * a_zp * b_zp  (int32, prepared by the driver)
  //   col_zp_neg = -b_zp per column, null when every b_zp is 0 (the common symmetric-weight case)
  //   row_sum    = sum_k A[r, k] of the raw packed A values
  const int32_t* col_offset = nullptr;
  const int32_t* col_zp_neg = nullptr;
  const int32_t* row_sum = nullptr;
  const float* col_scale = nullptr;
  int32_t* c32 = nullptr;  ///< int8: raw int32 result (acc + offsets, no scale) when non-null, else c
  int64_t ldc32 = 0;
  // GemmKernel::a_from_f32 kernels only: when a_f32 is set, the tile's A rows (t.a, a writable buffer
  // then) are first written from these fp32 rows (k_f32 valid elements, zeros up to kp), chunk by chunk
  // ahead of the dot products that read them, so the conversion hides behind the arithmetic.
  const float* a_f32 = nullptr;
  int64_t lda_f32 = 0;
  int64_t k_f32 = 0;
  // GemmKernel::requant_out kernels only: when q is set, the tile's fp32 values (bias and activation
  // applied, none, relu or clip) are not stored to c but requantized as quantize_ops().requantize does,
  // saturate(round_half_even(value / q_scale) + q_zp), into q as u8 (s8 when q_signed), ldq bytes
  // apart. The driver sets it only on tiles with no B zero point and no accumulation.
  void* q = nullptr;
  int64_t ldq = 0;
  float q_scale = 1.f;
  int32_t q_zp = 0;
  bool q_signed = false;
  /// A hint kernels may ignore: b_next_bytes of the B panel the next tiles read, for this tile to
  /// prefetch into the L2 while it computes (set where B streams from beyond the L2; AMX kernels use it).
  const void* b_next = nullptr;
  int64_t b_next_bytes = 0;
  /// A hint kernels may ignore: the operand this tile reads that the next tiles on the thread will not
  /// read again (the other one stays put from tile to tile), whose loads may then skip keeping it in L1
  /// (AMX: tileloaddt1), so it does not evict the operand that is reused.
  enum class Stream : uint8_t { none, a, b };
  Stream stream = Stream::none;
  /// The kernel may leave this tile's stores to c for later on the thread: during its next call, or at
  /// GemmKernel::finish. The driver sets it only where nothing reads c before the thread's finish (never
  /// with c32, q or a K block before the last). A caller that sets it must call finish.
  bool defer = false;
};

using MicroKernelFn = void (*)(const MicroTile& t);
using KernelHookFn = void (*)();

/// Optional ISA-specific preparation of one A row for an a_rows kernel (see GemmKernel::prep_row). src
/// is the source row: float for f32 and bf16 kernels (bf16 ones round to nearest even, as f32_to_bf16),
/// uint8 for int8 kernels (each byte XOR-ed with a_xor). It writes kp elements of the kernel's A type
/// to dst (elements k..kp-1 zero), or, for int8 with dst null, writes nothing. int8 returns the sum of
/// the row's (XOR-ed) bytes, read as s8 when sum_signed; float kinds return 0.
using PrepRowFn = int32_t (*)(const void* src, int64_t k, int64_t kp, uint8_t a_xor, bool sum_signed,
                              void* dst);

struct GemmKernel {
  const char* name;  ///< gemm_<dtype>_<isa>_<MR>x<NR>[c<KR>], also the file stem
  GemmKind kind;
  const char* isa;       ///< "ref", "avx2", "avx512", "avx512vnni", "avx512bf16", "avxvnni", "neon", ...
  FeatureMask features;  ///< every feature needed to run it
  int mr, nr, kr;
  MicroKernelFn run;
  /// For s8s8 entries that run on u8 hardware: A is packed with its sign bit flipped (a + 128) and the
  /// driver corrects by -128 * colsum(B). Native s8s8 kernels leave it false.
  bool a_shift_128 = false;
  /// For SVE kernels whose NR depends on the vector length: required vector length in bits (0 = any).
  int sve_bits = 0;
  /// For u8s8 entries that run on s8 x s8 hardware (arm64 SDOT without I8MM's USDOT): A is packed as
  /// s8 (a ^ 0x80 = a - 128) and the driver uses zero point a_zp - 128, so the int32 sums are unchanged.
  bool a_u8_to_s8 = false;
  /// A is read in place as rows (MicroTile::lda) instead of MR-row panels: the driver passes the caller's
  /// A when no conversion is needed and its stride is harmless, else rows prepared into a buffer.
  bool a_rows = false;
  /// Fast row preparation for an a_rows kernel, or null: the driver's portable one then runs. Needs the
  /// same features as the kernel. (Dynamic u8 quantization of fp32 A has its own row function.)
  PrepRowFn prep_row = nullptr;
  /// An a_rows bf16 kernel that can round its own A from fp32 rows (MicroTile::a_f32): the driver then
  /// skips the separate conversion pass, which cost ~2% of a BERT-sized GEMM.
  bool a_from_f32 = false;
  /// An int8 kernel that requantizes in its own store (MicroTile::q): no fp32 tile through memory and no
  /// requantize call per tile row, which took a fifth of a MobileNet's int8 time (small-K 1x1 convs).
  bool requant_out = false;
  /// An f32 kernel that reads B in place as rows (MicroTile::ldb, view_b_rows) and adds
  /// MicroTile::row_bias.
  bool b_rows = false;
  /// A kernel with the same B panels (NR, KR, element types) that is faster for calls of at most
  /// few_rows_max rows, where it may run instead (the AMX int8 kernels' VNNI siblings for GEMVs: a
  /// 32-row tile block costs about the same for 1 row). The driver
  /// switches only for B packed by dispatch (PackedB::by_dispatch_), without an ORTKIT_KERNEL pin, on a
  /// CPU with the sibling's features.
  const GemmKernel* few_rows = nullptr;
  int few_rows_max = 0;
  /// Called on a thread before its first tile of each GEMM call, or null. A kernel that keeps state in
  /// the thread's registers from tile to tile (AMX's tile configuration) forgets it here: between two
  /// calls other code (another library's AMX kernels) may have changed those registers, while within a
  /// call only the driver runs tiles on the thread.
  KernelHookFn begin = nullptr;
  /// Called on a thread after its last tile of each GEMM call, or null: a kernel that defers its tiles'
  /// stores (MicroTile::defer) completes them here.
  KernelHookFn finish = nullptr;
};

/// Every kernel compiled into this binary for a kind, best first (ref last).
const std::vector<const GemmKernel*>& kernels_for(GemmKind kind);

/// Why a candidate was or was not chosen, for verbose dispatch reports and ort-cpuinfo.
struct DispatchDecision {
  const GemmKernel* chosen = nullptr;
  std::vector<std::string> rejected;  ///< "name: reason" for each better candidate skipped
};

/// Choose the best kernel for `kind` on a CPU with `cpu` under the cap `max_isa` (ORTKIT_MAX_ISA syntax:
/// "", "ref", or an isa name: kernels of that isa or lower in the table's order... see dispatch.cpp).
DispatchDecision choose_kernel(GemmKind kind, const CpuFeatures& cpu, const std::string& max_isa,
                               const std::string& pin = "");

/// The kernel chosen once for this process from host_features(), ORTKIT_MAX_ISA and ORTKIT_KERNEL.
const GemmKernel* dispatched(GemmKind kind);
const DispatchDecision& dispatch_decision(GemmKind kind);

/// What bf16 fast math (session precision bf16) runs on this process's CPU. bf16 fast math permits bf16
/// rounding for speed; where the dispatched bf16 kernel's instruction delivers fewer flops than the f32
/// kernel's (Intel Sapphire/Emerald Rapids without usable AMX: vdpbf16ps zmm at half the rate of vfmadd231ps
/// zmm), the f32 kernels are faster and round nothing to bf16, so they run instead; likewise where only the
/// scalar reference bf16 kernel is left (no AVX512_BF16 / BF16, or an ORTKIT_MAX_ISA cap) and a SIMD f32
/// kernel runs. Decided once, from the two peak probes (a few ms); an ORTKIT_KERNEL pin naming the bf16
/// kernel keeps it.
struct Bf16FastMath {
  GemmKind kind = GemmKind::bf16;
  std::string reason;  ///< why f32 runs instead (empty when bf16 runs)
};
const Bf16FastMath& bf16_fast_math();
/// The rule bf16_fast_math applies to the measured ops/s of the bf16 kernel's and the f32 kernel's probes.
Bf16FastMath bf16_fast_math_rule(const GemmKernel& bf16, const GemmKernel& f32, double bf16_ops,
                                 double f32_ops);

/// Look a kernel up by name (any kind); null if not compiled in.
const GemmKernel* find_kernel(const std::string& name);

/// Registration hooks filled by each architecture's registry file (empty lists elsewhere).
void register_x86_kernels(std::vector<const GemmKernel*>& out, GemmKind kind);
void register_arm64_kernels(std::vector<const GemmKernel*>& out, GemmKind kind);

}  // namespace ortkit::kernels
