// Portable reference micro-kernels: the oracle every fast kernel is tested against, and the
// always-available registry entries. Scalar loops over the packed panels; no cleverness on purpose.
#include "ortkit/kernels/epilogue.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::kernels {

namespace {
constexpr int kMR = 4, kNR = 8;

void gemm_f32_ref_4x8(const MicroTile& t) {
  float acc[kMR * kNR] = {};
  if (t.row_bias)
    for (int r = 0; r < t.m; ++r)
      for (int c = 0; c < kNR; ++c) acc[r * kNR + c] = t.row_bias[r];
  const float* a = static_cast<const float*>(t.a);
  const float* b = static_cast<const float*>(t.b);
  // A B read in place (t.ldb) has only t.n columns to read; a panel is padded to kNR.
  const int cols = t.ldb ? t.n : kNR;
  const int64_t ldb = t.ldb ? t.ldb : kNR;
  for (int64_t k = 0; k < t.kp; ++k, a += kMR, b += ldb)
    for (int r = 0; r < kMR; ++r)
      for (int c = 0; c < cols; ++c) acc[r * kNR + c] += a[r] * b[c];
  store_tile_f32(t, acc, kNR);
}

void gemm_bf16_ref_4x8c2(const MicroTile& t) {
  float acc[kMR * kNR] = {};
  const uint16_t* a = static_cast<const uint16_t*>(t.a);
  const uint16_t* b = static_cast<const uint16_t*>(t.b);
  for (int64_t g = 0; g < t.kp / 2; ++g, a += kMR * 2, b += kNR * 2)
    for (int r = 0; r < kMR; ++r)
      for (int c = 0; c < kNR; ++c)
        for (int i = 0; i < 2; ++i) acc[r * kNR + c] += bf16_to_f32(a[r * 2 + i]) * bf16_to_f32(b[c * 2 + i]);
  store_tile_f32(t, acc, kNR);
}

template <class AT>
void int8_ref(const MicroTile& t) {
  int32_t acc[kMR * kNR] = {};
  const AT* a = static_cast<const AT*>(t.a);
  const int8_t* b = static_cast<const int8_t*>(t.b);
  for (int64_t g = 0; g < t.kp / 4; ++g, a += kMR * 4, b += kNR * 4)
    for (int r = 0; r < kMR; ++r)
      for (int c = 0; c < kNR; ++c)
        for (int i = 0; i < 4; ++i) acc[r * kNR + c] += int32_t{a[r * 4 + i]} * int32_t{b[c * 4 + i]};
  store_tile_i32(t, acc, kNR);
}
void gemm_u8s8_ref_4x8c4(const MicroTile& t) {
  int8_ref<uint8_t>(t);
}
void gemm_s8s8_ref_4x8c4(const MicroTile& t) {
  int8_ref<int8_t>(t);
}
}  // namespace

extern const GemmKernel kRefF32{.name = "gemm_f32_ref_4x8",
                                .kind = GemmKind::f32,
                                .isa = "ref",
                                .features = 0,
                                .mr = kMR,
                                .nr = kNR,
                                .kr = 1,
                                .run = gemm_f32_ref_4x8,
                                .b_rows = true};
extern const GemmKernel kRefBf16{"gemm_bf16_ref_4x8c2", GemmKind::bf16, "ref", 0, kMR, kNR, 2,
                                 gemm_bf16_ref_4x8c2};
extern const GemmKernel kRefU8S8{"gemm_u8s8_ref_4x8c4", GemmKind::u8s8, "ref", 0, kMR, kNR, 4,
                                 gemm_u8s8_ref_4x8c4};
extern const GemmKernel kRefS8S8{"gemm_s8s8_ref_4x8c4", GemmKind::s8s8, "ref", 0, kMR, kNR, 4,
                                 gemm_s8s8_ref_4x8c4};

}  // namespace ortkit::kernels
