// Packing, dispatch and the threaded driver of the 4-bit weight GEMM (q4gemm.h).
#include "ortkit/kernels/q4gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "ortkit/kernels/cpu_features.h"
#include "q4_panels.h"
#include "q4_source.h"

namespace ortkit::kernels {

extern const Q4Kernel kQ4Ref;
#if defined(ORTKIT_HAVE_X86_AVX512)
namespace x86 {
void q4gemm_avx512_4x32(const Q4Tile& t);
}
const Q4Kernel kQ4Avx512{"q4gemm_avx512_4x32", "avx512", x86::q4gemm_avx512_4x32};
#endif
#if defined(ORTKIT_HAVE_ARM64_NEON)
namespace arm64 {
void q4gemm_neon_4x32(const Q4Tile& t);
}
const Q4Kernel kQ4Neon{"q4gemm_neon_4x32", "neon", arm64::q4gemm_neon_4x32};
#endif

AlignedBytes::AlignedBytes(size_t n) : ptr(std::aligned_alloc(64, (std::max<size_t>(n, 1) + 63) / 64 * 64)) {
  if (!ptr) throw std::bad_alloc();
  std::memset(ptr, 0, n);
}

AlignedBytes::~AlignedBytes() {
  std::free(ptr);
}

const uint8_t* Q4Weights::q_data() const {
  return q ? static_cast<const uint8_t*>(q->ptr) : nullptr;
}

size_t Q4Weights::bytes() const {
  return static_cast<size_t>(panels * kpairs * 32) + (scale.size() + nzs.size()) * sizeof(float);
}

Q4Weights pack_q4(int64_t n, int64_t k, int64_t block, const uint8_t* q, const float* scales,
                  const uint8_t* zp_u4, const float* zp_f32) {
  Q4Weights w;
  w.n = n;
  w.k = k;
  w.block = block;
  w.blocks = (k + block - 1) / block;
  w.panels = (n + 31) / 32;
  w.kpairs = (k + 1) / 2;
  w.q = std::make_shared<AlignedBytes>(static_cast<size_t>(w.panels * w.kpairs * 32));
  w.scale.assign(static_cast<size_t>(w.panels * w.blocks * 32), 0.f);
  w.nzs.assign(w.scale.size(), 0.f);
  uint8_t* dst = static_cast<uint8_t*>(w.q->ptr);
  const Q4Source src{block, w.blocks, q, scales, zp_u4, zp_f32};
  for (int64_t col = 0; col < n; ++col) {
    const int64_t p = col / 32, j = col % 32;
    uint8_t* panel = dst + p * w.kpairs * 32 + j;
    for (int64_t kk = 0; kk < k; ++kk)
      panel[(kk / 2) * 32] |= static_cast<uint8_t>(src.q_at(col, kk) << (4 * (kk & 1)));
    for (int64_t b = 0; b < w.blocks; ++b) {
      const size_t at = static_cast<size_t>((p * w.blocks + b) * 32 + j);
      w.scale[at] = src.scale_at(col, b);
      w.nzs[at] = -src.zp_at(col, b) * w.scale[at];
    }
  }
  return w;
}

namespace {
std::vector<const Q4Kernel*> build_table(const CpuFeatures& f) {
  std::vector<const Q4Kernel*> v;
#if defined(ORTKIT_HAVE_X86_AVX512)
  if (f.has(Feature::avx512f) && f.has(Feature::avx512bw) && f.has(Feature::avx512dq) &&
      f.has(Feature::avx512vl) && f.has(Feature::fma))
    v.push_back(&kQ4Avx512);
#endif
#if defined(ORTKIT_HAVE_ARM64_NEON)
  if (f.has(Feature::asimd)) v.push_back(&kQ4Neon);
#endif
  (void)f;
  v.push_back(&kQ4Ref);
  return v;
}

// Sums of A's rows over each block, shared by every panel (the zero-point term of the distributive form).
// Eight partial sums keep the loop from waiting on one add chain.
void block_sums(int64_t m, const float* a, int64_t lda, int64_t k, int64_t block, float* out) {
  const int64_t blocks = (k + block - 1) / block;
  for (int64_t r = 0; r < m; ++r)
    for (int64_t b = 0; b < blocks; ++b) {
      const float* x = a + r * lda + b * block;
      const int64_t len = std::min(block, k - b * block);
      float s[8] = {};
      int64_t i = 0;
      for (; i + 8 <= len; i += 8)
        for (int j = 0; j < 8; ++j) s[j] += x[i + j];
      for (; i < len; ++i) s[0] += x[i];
      out[r * blocks + b] = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    }
}

// Panels [p0, p1) (columns 32 * p0 up to min(N, 32 * p1)) as fp32 rows: out[k * ldo + c] for column
// 32 * p0 + c, K rows, ldo >= 32 * (p1 - p0) (a padded last panel writes its unused columns too).
void dequantize_panels(const Q4Weights& w, int64_t p0, int64_t p1, float* out, int64_t ldo) {
  // 32 contiguous columns per (panel, k): the inner loop vectorizes.
  for (int64_t p = p0; p < p1; ++p) {
    const uint8_t* panel = w.q_data() + p * w.kpairs * 32;
    for (int64_t kk = 0; kk < w.k; ++kk) {
      const uint8_t* bytes = panel + (kk / 2) * 32;
      const int shift = kk & 1 ? 4 : 0;
      const size_t at = static_cast<size_t>((p * w.blocks + kk / w.block) * 32);
      const float* scale = w.scale.data() + at;
      const float* nzs = w.nzs.data() + at;
      float* o = out + kk * ldo + (p - p0) * 32;
      for (int j = 0; j < 32; ++j) o[j] = static_cast<float>((bytes[j] >> shift) & 15) * scale[j] + nzs[j];
    }
  }
}

// Panels [p0, p1) dequantized and packed for the float kernel of `kind` (a row-major fp32 B packs by row
// copies), through `rows` as scratch.
void pack_panels_float(const Q4Weights& w, int64_t p0, int64_t p1, GemmKind kind, std::vector<float>& rows,
                       PackedB& out) {
  const int64_t ld = (p1 - p0) * 32;
  rows.resize(static_cast<size_t>(w.k * ld));
  dequantize_panels(w, p0, p1, rows.data(), ld);
  pack_b(out, kind, BDesc{rows.data(), w.k, std::min(w.n, p1 * 32) - p0 * 32, ld, /*trans=*/false});
}

struct Job {
  int64_t m, lda, ldc;
  const float *a, *bias, *asum;
  const Q4Weights* w;
  float* c;
  const Q4Kernel* kern;
};

void run_panels(const Job& j, int64_t p0, int64_t p1) {
  const Q4Weights& w = *j.w;
  Q4Tile t;
  t.lda = j.lda;
  t.k = w.k;
  t.block = w.block;
  t.blocks = w.blocks;
  t.ldc = j.ldc;
  // Panel outer, rows inner: a panel's weights are read from memory once and from L1 for the other rows.
  for (int64_t p = p0; p < p1; ++p) {
    t.q = w.q_data() + p * w.kpairs * 32;
    t.scale = w.scale.data() + p * w.blocks * 32;
    t.nzs = w.nzs.data() + p * w.blocks * 32;
    t.n = static_cast<int>(std::min<int64_t>(32, w.n - p * 32));
    t.bias = j.bias ? j.bias + p * 32 : nullptr;
    for (int64_t r = 0; r < j.m; r += kQ4TileRows) {
      t.m = static_cast<int>(std::min<int64_t>(kQ4TileRows, j.m - r));
      t.a = j.a + r * j.lda;
      t.asum = j.asum + r * w.blocks;
      t.c = j.c + r * j.ldc + p * 32;
      j.kern->run(t);
    }
  }
}

}  // namespace

const std::vector<const Q4Kernel*>& q4_kernels() {
  static const std::vector<const Q4Kernel*> table = build_table(host_features());
  return table;
}

const Q4Kernel& choose_q4_kernel(const CpuFeatures& features, const std::string& max_isa) {
  // The cap works as for the GEMM kernels: "ref", or an x86 cap below AVX-512.
  if (max_isa == "ref") return kQ4Ref;
  const bool no_avx512 = max_isa == "avx2" || max_isa == "avxvnni";
  for (const Q4Kernel* k : build_table(features))
    if (!(no_avx512 && std::strcmp(k->isa, "avx512") == 0)) return *k;
  return kQ4Ref;
}

const Q4Kernel& q4_kernel() {
  static const Q4Kernel& chosen = []() -> const Q4Kernel& {
    const char* cap = std::getenv("ORTKIT_MAX_ISA");
    return choose_q4_kernel(host_features(), cap ? cap : "");
  }();
  return chosen;
}

void q4_gemm(int64_t m, const float* a, int64_t lda, const Q4Weights& w, float* c, int64_t ldc,
             const float* bias, const Threading& th, const Q4Kernel* kernel) {
  if (m <= 0 || w.n <= 0) return;
  thread_local std::vector<float> asum;
  asum.resize(static_cast<size_t>(m * w.blocks));
  block_sums(m, a, lda, w.k, w.block, asum.data());
  const Job j{m, lda, ldc, a, bias, asum.data(), &w, c, kernel ? kernel : &q4_kernel()};
  for_panel_ranges(w.panels, th, [&](int64_t p0, int64_t p1) { run_panels(j, p0, p1); });
}

void pack_q4_float(const Q4Weights& w, GemmKind kind, PackedB& out) {
  std::vector<float> rows;
  pack_panels_float(w, 0, w.panels, kind, rows, out);
}

void q4_gemm_float(int64_t m, const float* a, int64_t lda, const Q4Weights& w, GemmKind kind, float* c,
                   int64_t ldc, const Epilogue& ep, const Threading& th) {
  if (m <= 0 || w.n <= 0) return;
  // ~512 KiB of fp32 rows per chunk: they and their packed copy stay in L2 between the three passes.
  const int64_t chunk = std::max<int64_t>(1, (int64_t{512} << 10) / (w.k * 4 * 32));
  for_panel_ranges(w.panels, th, [&](int64_t p0, int64_t p1) {
    thread_local std::vector<float> rows;
    thread_local PackedB packed;
    for (int64_t q0 = p0; q0 < p1; q0 += chunk) {
      pack_panels_float(w, q0, std::min(p1, q0 + chunk), kind, rows, packed);
      Epilogue e = ep;
      if (e.bias) e.bias += q0 * 32;
      if (e.add) e.add += q0 * 32;
      gemm_f32(m, a, lda, packed, c + q0 * 32, ldc, e, Threading{});  // this thread's panels only
    }
  });
}

}  // namespace ortkit::kernels
