// The int8-activation variant of the 4-bit weight GEMM (q4gemm.h, MatMulNBits accuracy_level 4): packing,
// the per-block quantization of A, dispatch and the threaded driver.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "ortkit/kernels/q4gemm.h"
#include "q4_panels.h"
#include "q4_source.h"

namespace ortkit::kernels {

extern const Q4S8Kernel kQ4S8Ref;
#if defined(ORTKIT_HAVE_X86_AVX512VNNI)
namespace x86 {
void q4gemm_s8_avx512vnni_4x32c4(const Q4S8Tile& t);
}
const Q4S8Kernel kQ4S8Vnni{"q4gemm_s8_avx512vnni_4x32c4", "avx512vnni", x86::q4gemm_s8_avx512vnni_4x32c4};
#endif

const uint8_t* Q4S8Weights::q_data() const {
  return q ? static_cast<const uint8_t*>(q->ptr) : nullptr;
}

size_t Q4S8Weights::bytes() const {
  return static_cast<size_t>(panels * (kp / 4) * 64) + (scale.size() + zp.size()) * sizeof(float);
}

Q4S8Weights pack_q4_s8(int64_t n, int64_t k, int64_t block, const uint8_t* q, const float* scales,
                       const uint8_t* zp_u4, const float* zp_f32) {
  Q4S8Weights w;
  w.n = n;
  w.k = k;
  w.kp = (k + 3) / 4 * 4;
  w.block = block;
  w.blocks = (k + block - 1) / block;
  w.panels = (n + 31) / 32;
  w.q = std::make_shared<AlignedBytes>(static_cast<size_t>(w.panels * (w.kp / 4) * 64));
  w.scale.assign(static_cast<size_t>(w.panels * w.blocks * 32), 0.f);
  w.zp.assign(w.scale.size(), 0.f);
  uint8_t* dst = static_cast<uint8_t*>(w.q->ptr);
  const Q4Source src{block, w.blocks, q, scales, zp_u4, zp_f32};
  for (int64_t col = 0; col < n; ++col) {
    const int64_t p = col / 32, j = col % 32, group = j / 16, c = j % 8, shift = j % 16 < 8 ? 0 : 4;
    uint8_t* lane = dst + p * (w.kp / 4) * 64 + group * 32 + 4 * c;
    for (int64_t kk = 0; kk < k; ++kk)
      lane[(kk / 4) * 64 + kk % 4] |= static_cast<uint8_t>(src.q_at(col, kk) << shift);
    for (int64_t b = 0; b < w.blocks; ++b) {
      const size_t at = static_cast<size_t>((p * w.blocks + b) * 32 + j);
      w.scale[at] = src.scale_at(col, b);
      w.zp[at] = src.zp_at(col, b);
    }
  }
  return w;
}

void q4s8_quantize_row(const float* a, int64_t k, int64_t kp, int64_t block, int8_t* qa, float* scale,
                       float* sum) {
  constexpr float kMagic = 12582912.f;  // 1.5 * 2^23: (x + kMagic) - kMagic rounds |x| < 2^22 to even
  const int64_t blocks = (k + block - 1) / block;
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t k0 = b * block, k1 = std::min(k, k0 + block);
    float amax = 0.f;
    for (int64_t i = k0; i < k1; ++i) amax = std::max(amax, std::fabs(a[i]));
    const float inv = amax > 0.f ? 127.f / amax : 0.f;
    int32_t s = 0;
    for (int64_t i = k0; i < k1; ++i) {
      const float v = std::clamp((a[i] * inv + kMagic) - kMagic, -127.f, 127.f);  // NaN: clamp keeps it
      const int32_t qv = v == v ? static_cast<int32_t>(v) : 0;
      qa[i] = static_cast<int8_t>(qv);
      s += qv;
    }
    scale[b] = amax / 127.f;
    sum[b] = static_cast<float>(s);
  }
  std::fill(qa + k, qa + kp, int8_t{0});
}

namespace {
std::vector<const Q4S8Kernel*> build_table() {
  std::vector<const Q4S8Kernel*> v;
#if defined(ORTKIT_HAVE_X86_AVX512VNNI)
  const CpuFeatures& f = host_features();
  if (f.has(Feature::avx512f) && f.has(Feature::avx512bw) && f.has(Feature::avx512dq) &&
      f.has(Feature::avx512vl) && f.has(Feature::avx512vnni) && f.has(Feature::fma))
    v.push_back(&kQ4S8Vnni);
#endif
  v.push_back(&kQ4S8Ref);
  return v;
}

struct Job {
  int64_t m, ldc;
  const int8_t* qa;
  const float *a_scale, *a_sum, *bias;
  const Q4S8Weights* w;
  float* c;
  const Q4S8Kernel* kern;
};

void run_panels(const Job& j, int64_t p0, int64_t p1) {
  const Q4S8Weights& w = *j.w;
  Q4S8Tile t;
  t.lda = w.kp;
  t.kp = w.kp;
  t.block = w.block;
  t.blocks = w.blocks;
  t.ldc = j.ldc;
  for (int64_t p = p0; p < p1; ++p) {
    t.q = w.q_data() + p * (w.kp / 4) * 64;
    t.scale = w.scale.data() + p * w.blocks * 32;
    t.zp = w.zp.data() + p * w.blocks * 32;
    t.n = static_cast<int>(std::min<int64_t>(32, w.n - p * 32));
    t.bias = j.bias ? j.bias + p * 32 : nullptr;
    for (int64_t r = 0; r < j.m; r += kQ4TileRows) {
      t.m = static_cast<int>(std::min<int64_t>(kQ4TileRows, j.m - r));
      t.a = j.qa + r * w.kp;
      t.a_scale = j.a_scale + r * w.blocks;
      t.a_sum = j.a_sum + r * w.blocks;
      t.c = j.c + r * j.ldc + p * 32;
      j.kern->run(t);
    }
  }
}

}  // namespace

const std::vector<const Q4S8Kernel*>& q4s8_kernels() {
  static const std::vector<const Q4S8Kernel*> table = build_table();
  return table;
}

const Q4S8Kernel* q4s8_kernel() {
  static const Q4S8Kernel* chosen = []() -> const Q4S8Kernel* {
    const char* cap = std::getenv("ORTKIT_MAX_ISA");
    const std::string c = cap ? cap : "";
    if (c == "ref" || c == "avx2" || c == "avxvnni" || c == "avx512") return nullptr;
    const Q4S8Kernel* best = q4s8_kernels().front();
    return best == &kQ4S8Ref ? nullptr : best;
  }();
  return chosen;
}

void q4_gemm_s8(int64_t m, const float* a, int64_t lda, const Q4S8Weights& w, float* c, int64_t ldc,
                const float* bias, const Threading& th, const Q4S8Kernel* kernel) {
  if (m <= 0 || w.n <= 0) return;
  thread_local std::vector<int8_t> qa;
  thread_local std::vector<float> a_scale, a_sum;
  qa.resize(static_cast<size_t>(m * w.kp));
  a_scale.resize(static_cast<size_t>(m * w.blocks));
  a_sum.resize(a_scale.size());
  for (int64_t r = 0; r < m; ++r)
    q4s8_quantize_row(a + r * lda, w.k, w.kp, w.block, qa.data() + r * w.kp, a_scale.data() + r * w.blocks,
                      a_sum.data() + r * w.blocks);
  const Q4S8Kernel* kern = kernel ? kernel : q4s8_kernel();
  const Job j{m, ldc, qa.data(), a_scale.data(), a_sum.data(), bias, &w, c, kern ? kern : &kQ4S8Ref};
  for_panel_ranges(w.panels, th, [&](int64_t p0, int64_t p1) { run_panels(j, p0, p1); });
}

}  // namespace ortkit::kernels
