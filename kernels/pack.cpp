// Packing of B (once, at weight-load time) into the panel layout of registry.h, and PackedB's storage.
#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#include "bf16_round.h"
#include "ortkit/kernels/epilogue.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::kernels {

struct PackedB::Buffer {
  void* ptr = nullptr;
  size_t size = 0, capacity = 0;
  ~Buffer() { std::free(ptr); }
  void resize(size_t n) {
    if (n > capacity) {
      std::free(ptr);
      ptr = std::aligned_alloc(64, (n + 63) / 64 * 64);
      if (!ptr) throw std::bad_alloc();
      capacity = n;
    }
    size = n;
  }
};

PackedB::PackedB() = default;
PackedB::~PackedB() = default;
PackedB::PackedB(PackedB&&) noexcept = default;
PackedB& PackedB::operator=(PackedB&&) noexcept = default;
size_t PackedB::bytes() const {
  if (rows_) return static_cast<size_t>(k_ * n_) * sizeof(float);  // a view_b_rows B, as the kernels read it
  return data_ ? data_->size : 0;
}
const void* PackedB::panels() const {
  return data_ ? data_->ptr : nullptr;
}

namespace {
size_t elem_size(GemmKind k) {
  switch (k) {
    case GemmKind::f32: return 4;
    case GemmKind::bf16: return 2;
    default: return 1;
  }
}

// Every field of `out` but the panels: B's shape for `kernel`, packed (not a view), no int8 data (pack_b_int8
// sets it afterwards).
void set_header(PackedB& out, GemmKind kind, const GemmKernel* kernel, int64_t k, int64_t n) {
  out.kind_ = kind;
  out.kernel_ = kernel;
  out.rows_ = nullptr;
  out.ldb_ = 0;
  out.k_ = k;
  out.n_ = n;
  out.by_dispatch_ = false;
  out.k_padded_ = (k + kernel->kr - 1) / kernel->kr * kernel->kr;
  out.n_panels_ = (n + kernel->nr - 1) / kernel->nr;
  out.col_sums_.clear();
  out.b_scale_.clear();
  out.b_zero_point_.clear();
}

// zero = false: the caller writes every byte of the panels, padding included.
void* prepare(PackedB& out, GemmKind kind, const BDesc& b, const GemmKernel* kernel, bool zero = true) {
  if (!kernel) kernel = dispatched(kind);
  if (kernel->kind != kind) throw std::invalid_argument("pack_b: kernel kind does not match");
  set_header(out, kind, kernel, b.k + (b.ones_row ? 1 : 0), b.n);
  if (!out.data_) out.data_ = std::make_unique<PackedB::Buffer>();
  const size_t panel = static_cast<size_t>(out.k_padded_) * kernel->nr * elem_size(kind);
  out.data_->resize(panel * out.n_panels_);
  if (zero) std::memset(out.data_->ptr, 0, out.data_->size);
  return out.data_->ptr;
}

template <class S>
S b_at(const BDesc& b, int64_t k, int64_t n) {
  if (k == b.k) return S(1);  // the ones row (k < b.k otherwise)
  const S* p = static_cast<const S*>(b.data);
  return b.trans ? p[n * b.ld + k] : p[k * b.ld + n];
}

// One (panel, k) row of nr floats: cols of src, zeros after. A constant-size copy for the common
// widths, since a library memcpy call per 64-128 bytes cost more than the copy.
inline void copy_panel_row(float* row, const float* src, int64_t cols, int nr) {
  if (cols == nr && nr == 32) {
    std::memcpy(row, src, 32 * sizeof(float));
  } else if (cols == nr && nr == 16) {
    std::memcpy(row, src, 16 * sizeof(float));
  } else {
    for (int64_t c = 0; c < cols; ++c) row[c] = src[c];
    for (int64_t c = cols; c < nr; ++c) row[c] = 0.f;
  }
}

// The ones row of one panel (BDesc::ones_row): 1 in its cols valid columns, 0 in the padding.
inline void ones_panel_row(float* row, int64_t cols, int nr) {
  for (int c = 0; c < nr; ++c) row[c] = c < cols ? 1.f : 0.f;
}

// GCC builds the row copies for AVX-512 and AVX2 as well, picked at load time. This file is built for
// the baseline ISA, whose 16-byte moves (8 loads and 8 stores per 32-float row) kept a conv's per-call
// packing of its input slow: mobilenet_v2 fp32 on 1 thread spent 6.2-6.6% of its samples packing,
// 5.5-5.7% with the AVX-512 clone (Zen 4).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ORTKIT_PACK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ORTKIT_PACK_CLONES
#endif

// Row-major fp32 B into kr = 1 panels of nr columns (and the ones row, BDesc::ones_row).
ORTKIT_PACK_CLONES void copy_rows_to_panels(float* d, const float* src, const BDesc& b, int64_t n_panels,
                                            int64_t k_padded, int nr) {
  for (int64_t j = 0; j < n_panels; ++j) {
    const int64_t cols = std::min<int64_t>(nr, b.n - j * nr);
    for (int64_t k = 0; k < b.k; ++k)
      copy_panel_row(d + (j * k_padded + k) * nr, src + k * b.ld + j * nr, cols, nr);
    if (b.ones_row) ones_panel_row(d + (j * k_padded + b.k) * nr, cols, nr);
  }
}

// Row-major fp32 B into bf16 panels of nr (<= kMaxBf16RowsNr) columns and kr-deep groups (the layout of
// pack_panels below): row k of the panel is one lane of every column's group, rounded as f32_to_bf16
// does. Every element is written, padding included. The rounding is inlined (round_to_bf16) so the rows
// vectorize: attention's K^T and V are packed per call, and in a bf16 bert-base (seq 128, 1 thread,
// Zen 4) the element-wise packer with a call per element took 7.5-8% of the samples, this one 0.7%
// (p50 112 -> 106.5 ms).
constexpr int kMaxBf16RowsNr = 64;
ORTKIT_PACK_CLONES void rows_to_bf16_panels(uint16_t* d, const float* src, const BDesc& b, int64_t n_panels,
                                            int64_t k_padded, int nr, int kr) {
  const int64_t groups = k_padded / kr;
  // Rows past K read from these: the ones row (BDesc::ones_row), then zeros.
  float ones[kMaxBf16RowsNr], zeros[kMaxBf16RowsNr];
  std::fill(ones, ones + kMaxBf16RowsNr, 1.f);
  std::fill(zeros, zeros + kMaxBf16RowsNr, 0.f);
  auto row = [&](int64_t k, int64_t j) {
    return k < b.k ? src + k * b.ld + j * nr : k == b.k && b.ones_row ? ones : zeros;
  };
  for (int64_t j = 0; j < n_panels; ++j) {
    const int64_t cols = std::min<int64_t>(nr, b.n - j * nr);
    for (int64_t g = 0; g < groups; ++g) {
      uint16_t* out = d + (j * groups + g) * nr * kr;
      if (kr == 2) {
        // Both lanes of a group as one 32-bit store per column: contiguous, so it vectorizes.
        const float *r0 = row(2 * g, j), *r1 = row(2 * g + 1, j);
        for (int64_t c = 0; c < cols; ++c) {
          const uint32_t pair = round_to_bf16(r0[c]) | uint32_t{round_to_bf16(r1[c])} << 16;
          std::memcpy(out + 2 * c, &pair, 4);
        }
      } else {
        for (int i = 0; i < kr; ++i) {
          const float* s = row(g * kr + i, j);
          for (int64_t c = 0; c < cols; ++c) out[c * kr + i] = round_to_bf16(s[c]);
        }
      }
      std::fill(out + cols * kr, out + nr * kr, uint16_t{0});
    }
  }
}

// B given transposed (B[k, n] = b[n * ld + k]: attention's K in Q K^T, packed per call): each column of
// B is a contiguous source row, written down its panel, one group after another. The buffer is zeroed
// first (padding); an element-wise loop over (panel, group, column) read each value with a stride.
template <class D, class Cvt>
inline void trans_to_panels(D* d, const float* src, const BDesc& b, int64_t n_panels, int64_t k_padded,
                            int nr, int kr, Cvt cvt) {
  const int64_t groups = k_padded / kr;
  for (int64_t j = 0; j < n_panels; ++j) {
    const int64_t cols = std::min<int64_t>(nr, b.n - j * nr);
    for (int64_t c = 0; c < cols; ++c) {
      const float* s = src + (j * nr + c) * b.ld;
      D* col = d + (j * groups * nr + c) * kr;
      if (kr == 1) {
        for (int64_t k = 0; k < b.k; ++k) col[k * nr] = cvt(s[k]);
      } else {
        for (int64_t k = 0; k < b.k; ++k) col[(k / kr) * nr * kr + k % kr] = cvt(s[k]);
      }
    }
  }
}

ORTKIT_PACK_CLONES void trans_to_f32_panels(float* d, const float* src, const BDesc& b, int64_t n_panels,
                                            int64_t k_padded, int nr, int kr) {
  trans_to_panels(d, src, b, n_panels, k_padded, nr, kr, [](float v) { return v; });
}

ORTKIT_PACK_CLONES void trans_to_bf16_panels(uint16_t* d, const float* src, const BDesc& b, int64_t n_panels,
                                             int64_t k_padded, int nr, int kr) {
  if (kr != 2) return trans_to_panels(d, src, b, n_panels, k_padded, nr, kr, round_to_bf16);
  const int64_t groups = k_padded / 2;
  for (int64_t j = 0; j < n_panels; ++j) {
    const int64_t cols = std::min<int64_t>(nr, b.n - j * nr);
    for (int64_t c = 0; c < cols; ++c) {
      const float* s = src + (j * nr + c) * b.ld;
      uint16_t* col = d + (j * groups * nr + c) * 2;
      int64_t g = 0;
      for (; 2 * g + 1 < b.k; ++g) {  // both lanes of a group are adjacent in the source row
        const uint32_t pair = round_to_bf16(s[2 * g]) | uint32_t{round_to_bf16(s[2 * g + 1])} << 16;
        std::memcpy(col + g * nr * 2, &pair, 4);
      }
      if (2 * g < b.k) col[g * nr * 2] = round_to_bf16(s[2 * g]);
    }
  }
}

// Panel j, group g, column c, depth i  ->  ((j * groups + g) * NR + c) * KR + i
template <class D, class F>
void pack_panels(D* dst, const PackedB& pb, F&& value) {
  const int nr = pb.kernel_->nr, kr = pb.kernel_->kr;
  const int64_t groups = pb.k_padded_ / kr;
  for (int64_t j = 0; j < pb.n_panels_; ++j)
    for (int64_t g = 0; g < groups; ++g)
      for (int c = 0; c < nr; ++c) {
        const int64_t n = j * nr + c;
        D* d = dst + ((j * groups + g) * nr + c) * kr;
        for (int i = 0; i < kr; ++i) {
          const int64_t k = g * kr + i;
          if (n < pb.n_ && k < pb.k_) d[i] = value(k, n);
        }
      }
}
}  // namespace

void pack_b(PackedB& out, GemmKind kind, const BDesc& b, const GemmKernel* kernel) {
  if (kind != GemmKind::f32 && kind != GemmKind::bf16)
    throw std::invalid_argument("pack_b: f32 or bf16 only");
  if (b.ones_row && b.trans) throw std::invalid_argument("pack_b: ones_row needs row-major B");
  const bool by_dispatch = kernel == nullptr;
  if (!kernel) kernel = dispatched(kind);
  const bool rows_copy = kind == GemmKind::f32 && kernel->kr == 1 && !b.trans;
  const bool rows_bf16 = kind == GemmKind::bf16 && !b.trans && kernel->nr <= kMaxBf16RowsNr;
  void* dst = prepare(out, kind, b, kernel, /*zero=*/!rows_copy && !rows_bf16);
  out.by_dispatch_ = by_dispatch;
  if (rows_copy) {
    // Row-major fp32 B into kr = 1 panels: each (panel, k) is a straight copy of up to nr floats, and
    // only the last panel's padding columns are zeroed. The element-wise packer took half of a prompt's
    // time where B is re-packed per call (MatMulNBits' streamed int4 weights), and clearing the whole
    // buffer first was one more pass over it for every conv chunk packed per run.
    copy_rows_to_panels(static_cast<float*>(dst), static_cast<const float*>(b.data), b, out.n_panels_,
                        out.k_padded_, out.kernel_->nr);
  } else if (rows_bf16) {
    rows_to_bf16_panels(static_cast<uint16_t*>(dst), static_cast<const float*>(b.data), b, out.n_panels_,
                        out.k_padded_, out.kernel_->nr, out.kernel_->kr);
  } else if (!b.trans) {  // an f32 kernel with kr > 1, a bf16 one wider than 64 (none today)
    if (kind == GemmKind::f32)
      pack_panels(static_cast<float*>(dst), out, [&](int64_t k, int64_t n) { return b_at<float>(b, k, n); });
    else
      pack_panels(static_cast<uint16_t*>(dst), out,
                  [&](int64_t k, int64_t n) { return f32_to_bf16(b_at<float>(b, k, n)); });
  } else if (kind == GemmKind::f32) {
    trans_to_f32_panels(static_cast<float*>(dst), static_cast<const float*>(b.data), b, out.n_panels_,
                        out.k_padded_, out.kernel_->nr, out.kernel_->kr);
  } else {
    trans_to_bf16_panels(static_cast<uint16_t*>(dst), static_cast<const float*>(b.data), b, out.n_panels_,
                         out.k_padded_, out.kernel_->nr, out.kernel_->kr);
  }
}

bool view_b_rows(PackedB& out, const float* b, int64_t k, int64_t n, int64_t ldb, const GemmKernel* kernel) {
  if (!b || k <= 0 || n <= 0 || ldb < n)
    throw std::invalid_argument("view_b_rows: B must be k x n, ldb >= n");
  if (!kernel) kernel = dispatched(GemmKind::f32);
  if (!kernel || kernel->kind != GemmKind::f32 || kernel->kr != 1 || !kernel->b_rows) return false;
  set_header(out, GemmKind::f32, kernel, k, n);
  out.rows_ = b;
  out.ldb_ = ldb;
  return true;
}

PanelRows pack_b_f32_rows(PackedB& out, int64_t k, int64_t n, bool ones_row, const GemmKernel* kernel) {
  if (!kernel) kernel = dispatched(GemmKind::f32);
  if (!kernel || kernel->kind != GemmKind::f32 || kernel->kr != 1)
    throw std::invalid_argument("pack_b_f32_rows: needs an f32 kernel with KR = 1");
  float* d = static_cast<float*>(prepare(out, GemmKind::f32, BDesc{nullptr, k, n, n, false, ones_row}, kernel,
                                         /*zero=*/false));
  const int nr = kernel->nr;
  const int64_t pf = out.k_padded_ * nr;
  if (ones_row)
    for (int64_t j = 0; j < out.n_panels_; ++j)
      ones_panel_row(d + j * pf + k * nr, std::min<int64_t>(nr, n - j * nr), nr);
  if (const int64_t cols = n - (out.n_panels_ - 1) * nr; out.n_panels_ > 0 && cols < nr) {
    float* last = d + (out.n_panels_ - 1) * pf;
    for (int64_t i = 0; i < k; ++i) std::fill(last + i * nr + cols, last + (i + 1) * nr, 0.f);
  }
  return {d, nr, pf};
}

void pack_b_int8(PackedB& out, GemmKind kind, const BDesc& b, bool b_is_unsigned, const float* b_scale,
                 int64_t n_scale, const int32_t* b_zero_point, int64_t n_zp, const GemmKernel* kernel) {
  if (kind != GemmKind::u8s8 && kind != GemmKind::s8s8)
    throw std::invalid_argument("pack_b_int8: int8 kinds only");
  if (b.ones_row) throw std::invalid_argument("pack_b_int8: ones_row is for fp32 kinds");
  if (n_scale != 1 && n_scale != b.n) throw std::invalid_argument("pack_b_int8: scale count must be 1 or N");
  if (b_zero_point && n_zp != 1 && n_zp != b.n)
    throw std::invalid_argument("pack_b_int8: zero point count must be 1 or N");
  int8_t* dst = static_cast<int8_t*>(prepare(out, kind, b, kernel));
  out.by_dispatch_ = kernel == nullptr;
  // u8 weights are re-centred to s8 (b - 128) and the shift moves into the zero point, so every kernel
  // sees signed B.
  auto value = [&](int64_t k, int64_t n) -> int8_t {
    if (b_is_unsigned) return static_cast<int8_t>(static_cast<int32_t>(b_at<uint8_t>(b, k, n)) - 128);
    return b_at<int8_t>(b, k, n);
  };
  pack_panels(dst, out, value);
  const int nr = out.kernel_->nr;
  out.col_sums_.assign(static_cast<size_t>(out.n_panels_) * nr, 0);
  for (int64_t n = 0; n < b.n; ++n) {
    int32_t s = 0;
    for (int64_t k = 0; k < b.k; ++k) s += value(k, n);
    out.col_sums_[n] = s;
  }
  out.b_scale_.assign(b_scale, b_scale + n_scale);
  const int64_t nz = b_zero_point ? n_zp : (b_is_unsigned ? 1 : 0);
  out.b_zero_point_.assign(nz, 0);
  for (int64_t i = 0; i < nz; ++i)
    out.b_zero_point_[i] = (b_zero_point ? b_zero_point[i] : 0) - (b_is_unsigned ? 128 : 0);
  bool all_zero = true;
  for (int32_t z : out.b_zero_point_) all_zero = all_zero && z == 0;
  if (all_zero) out.b_zero_point_.clear();
}

}  // namespace ortkit::kernels
