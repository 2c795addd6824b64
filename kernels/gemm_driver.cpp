// The portable GEMM driver shared by every micro-kernel. Per call:
//   1. prepare A once: panel kernels get MR-row panels (a portable row interleaver); row kernels
//      (GemmKernel::a_rows) read the caller's A in place, or rows converted into a buffer when A needs
//      bf16 rounding, int8 sign flips, quantization, K padding or a stride that aliases in L1 (bf16
//      kernels with GemmKernel::a_from_f32 round their rows themselves, behind the arithmetic);
//   2. cut the (A panel x B panel) grid into one rectangle per thread, of near equal area; a rectangle
//      walks its M blocks, and within one its B panels (outer) and A panels (inner), so one B
//      micro-panel is reused against the whole A block held in L2. The walk is cut into units that a
//      thread done with its own rectangle takes over from one that has not started or is far behind
//      (run_rect);
//   3. float kinds split K only past micro-panels of 3/8 of the L2 (partial sums through C, see run_tiles);
//      the blocking comes from the detected cache sizes (cache_info.h).
// It also prepares the int8 zero-point / scale vectors. Kernels only see MicroTile (registry.h).
// Small M (decode steps) needs nothing special here: kernels run m < MR rows without padding work, and
// with threads the B panels are split between threads so B streams from every core.
#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <vector>

#include "bf16_round.h"
#include "ortkit/kernels/cache_info.h"
#include "ortkit/kernels/epilogue.h"
#include "ortkit/kernels/quantize.h"
#include "ortkit/kernels/registry.h"
#include "ortkit/kernels/work_claims.h"

namespace ortkit::kernels {

namespace {

// bf16: A given as bf16 bits (gemm_bf16), read as it is.
enum class ASrc : uint8_t { f32, f32_to_bf16, bf16, u8, s8, f32_to_u8 };

struct Job {
  const GemmKernel* kern = nullptr;
  const PackedB* b = nullptr;
  int64_t m = 0;
  const void* a = nullptr;
  int64_t lda = 0;
  ASrc src = ASrc::f32;
  uint8_t a_xor = 0;             // 0x80 when s8 A runs on a u8 kernel, or u8 A on an s8 kernel
  bool a_packed_signed = false;  // row sums read the packed bytes as s8
  float q_inv_scale = 1.f;       // dynamic quantization of fp32 A
  int32_t q_zp = 0;
  float* c = nullptr;
  int64_t ldc = 0;
  int32_t* c32 = nullptr;
  int64_t ldc32 = 0;
  Epilogue ep;
  QuantOut qout;
  const int32_t* col_offset = nullptr;
  const int32_t* col_zp_neg = nullptr;
  const float* col_scale = nullptr;
  int64_t mc = 0;
  bool a_outer = false;     // run_tiles: each A panel against the unit's B panels, rather than B outer
  bool prefetch_b = false;  // run_tiles (B outer): tiles prefetch the next B panel (MicroTile::b_next)
  bool stream = true;       // run_tiles: tiles name the operand they stream (MicroTile::stream)
  bool defer = true;        // run_tiles: tiles may defer their stores (MicroTile::defer)
  int64_t tm = 1, tn = 1;   // per-thread rectangles: tm groups of A panels x tn groups of B panels
  int64_t kc = 0;           // K block (== k_padded when K is not split)
  void* apack = nullptr;    // panel kernels: A packed for the whole call, a_panels panels of a_panel_bytes
  int32_t* rsum = nullptr;  // int8 row sums of A (panel kernels: a_panels * mr, by panel; row kernels: m)
  int64_t a_panels = 0;
  int64_t prep_per = 0;  // phase 1: rows (row kernels) or panels (panel kernels) per task
  // Row kernels: A rows as the kernel reads them (the caller's A, or abuf), a_ld elements apart.
  bool rows = false;
  bool a_copy = false;  // rows are converted / copied into abuf in phase 1 (else read in place)
  // bf16 kernels with GemmKernel::a_from_f32 round A themselves on an M block's first B panel, into
  // their rectangle's own slice of abuf, one M block long and reused block after block: the scratch is
  // bounded by the block size (a whole-M copy per thread grew with M; an im2col A of 50k rows is ~58 MiB)
  // and the rounded rows land in lines the previous block kept in L2. Threads never share a slice, even
  // when their rectangles hold the same A panels (an N split): every thread rounds its own copy. A shared
  // buffer, each panel rounded once by whichever thread claimed it, saved up to 1% of a 2-thread bf16
  // GEMM at best, but reading rows another core had just written ran 8-12% slower in about half the runs
  // (128x768x3072, 128x768x768, 512x1024x1024, 32x768x768 on Zen 5; interleaved A/B over 5 rounds).
  bool a_fused = false;
  mutable WorkClaims claims;  // phase 2 units, one home range per rectangle
  const char* arows = nullptr;
  char* abuf = nullptr;
  int64_t a_block_bytes = 0;  // a_fused: one rectangle's slice of abuf (mc rows)
  int64_t a_ld = 0;
  // Balanced tail: when M % MR is small, panels bal_p and bal_p + 1 share the last MR + M % MR rows
  // (bal_h1 rows in the first), so no kernel call runs with only a row or two (B-load bound).
  int64_t bal_p = -1;
  int bal_h1 = 0;
  int64_t panel_start(int mr, int64_t p) const {
    return p == bal_p + 1 && bal_p >= 0 ? bal_p * mr + bal_h1 : p * mr;
  }
  int panel_rows(int mr, int64_t p) const {
    if (bal_p >= 0 && p == bal_p) return bal_h1;
    return static_cast<int>(std::min<int64_t>(mr, m - panel_start(mr, p)));
  }
  size_t a_panel_bytes = 0;
};

// Growable 64-byte aligned scratch, one per thread: no allocation once it has grown to size. Each kind
// records the largest size any thread's copy has reached, so that reserve_thread_scratch can bring every
// thread of a pool up to it (a thread that first takes a task in a later run would otherwise allocate).
std::atomic<uint64_t> g_scratch_allocations{0};

struct Scratch {
  std::atomic<size_t>& high;
  void* ptr = nullptr;
  size_t cap = 0;
  explicit Scratch(std::atomic<size_t>& h) : high(h) {}
  ~Scratch() { std::free(ptr); }
  void* get(size_t n) {
    if (n > cap) {
      std::free(ptr);
      ptr = nullptr;
      cap = 0;
      const size_t want = (n + 4095) / 4096 * 4096;
      ptr = std::aligned_alloc(64, want);
      if (!ptr) throw std::bad_alloc();
      cap = want;
      g_scratch_allocations.fetch_add(1, std::memory_order_relaxed);
      size_t h = high.load(std::memory_order_relaxed);
      while (h < want && !high.compare_exchange_weak(h, want, std::memory_order_relaxed)) {
      }
    }
    return ptr;
  }
  void reserve_high() { get(high.load(std::memory_order_relaxed)); }
};
std::atomic<size_t> g_high_apack{0}, g_high_rowsum{0}, g_high_tile{0}, g_high_cols{0}, g_high_arow{0};
thread_local Scratch t_apack{g_high_apack}, t_rowsum{g_high_rowsum}, t_tile{g_high_tile}, t_cols{g_high_cols},
    t_arow{g_high_arow};

size_t a_elem(GemmKind k) {
  return k == GemmKind::f32 ? 4 : k == GemmKind::bf16 ? 2 : 1;
}

// One row of A in the packed element type: a pointer straight into A when no conversion is needed,
// else converted into `tmp` (k elements). Row sums for int8 are taken here, over the packed values.
const void* source_row(const Job& j, int64_t row, void* tmp, int32_t* sum) {
  const int64_t k = j.b->k_;
  switch (j.src) {
    case ASrc::f32: return static_cast<const float*>(j.a) + row * j.lda;
    case ASrc::bf16: return static_cast<const uint16_t*>(j.a) + row * j.lda;
    case ASrc::f32_to_bf16: {
      const float* s = static_cast<const float*>(j.a) + row * j.lda;
      uint16_t* d = static_cast<uint16_t*>(tmp);
      for (int64_t i = 0; i < k; ++i) d[i] = round_to_bf16(s[i]);
      return d;
    }
    case ASrc::u8:
    case ASrc::s8: {
      const uint8_t* s = static_cast<const uint8_t*>(j.a) + row * j.lda;
      int32_t acc = 0;
      if (j.a_xor) {
        uint8_t* d = static_cast<uint8_t*>(tmp);
        for (int64_t i = 0; i < k; ++i) {
          d[i] = static_cast<uint8_t>(s[i] ^ j.a_xor);
          acc += j.a_packed_signed ? int32_t{static_cast<int8_t>(d[i])} : int32_t{d[i]};
        }
        *sum = acc;
        return d;
      }
      if (j.src == ASrc::s8)
        for (int64_t i = 0; i < k; ++i) acc += static_cast<int8_t>(s[i]);
      else
        for (int64_t i = 0; i < k; ++i) acc += s[i];
      *sum = acc;
      return s;
    }
    case ASrc::f32_to_u8: {
      const float* s = static_cast<const float*>(j.a) + row * j.lda;
      uint8_t* d = static_cast<uint8_t*>(tmp);
      int32_t acc = quantize_ops().quantize_u8(s, k, j.q_inv_scale, j.q_zp, d);
      if (j.a_xor) {  // u8 A on s8 hardware: store q - 128 as s8; the sum follows
        for (int64_t i = 0; i < k; ++i) d[i] ^= j.a_xor;
        acc -= 128 * static_cast<int32_t>(k);
      }
      *sum = acc;
      return d;
    }
  }
  return nullptr;
}

// Interleave up to MR source rows into one panel: group g of row r (KR elements = CHUNK bytes) goes to
// (g * mr + r) * CHUNK. The loop runs over groups outside and rows inside, so the panel is written
// sequentially (whole cache lines, no strided stores) while each source row is read sequentially.
// Fixed-size memcpy compiles to one move. Rows >= m and the K tail are zero.
template <int CHUNK>
void interleave(const char* const* src, int m, int mr, int64_t k_bytes, int64_t groups, char* dst) {
  const int64_t full = k_bytes / CHUNK;
  for (int64_t g = 0; g < full; ++g) {
    const int64_t off = g * CHUNK;
    for (int r = 0; r < m; ++r, dst += CHUNK) std::memcpy(dst, src[r] + off, CHUNK);
    if (m < mr) {
      std::memset(dst, 0, static_cast<size_t>(mr - m) * CHUNK);
      dst += static_cast<int64_t>(mr - m) * CHUNK;
    }
  }
  for (int64_t g = full; g < groups; ++g) {
    std::memset(dst, 0, static_cast<size_t>(mr) * CHUNK);
    const int64_t left = k_bytes - g * CHUNK;
    if (left > 0)
      for (int r = 0; r < m; ++r) std::memcpy(dst + r * CHUNK, src[r] + g * CHUNK, static_cast<size_t>(left));
    dst += static_cast<int64_t>(mr) * CHUNK;
  }
}

void interleave_any(const char* const* src, int m, int mr, int64_t k_bytes, int64_t groups, char* dst,
                    int chunk) {
  switch (chunk) {
    case 1: return interleave<1>(src, m, mr, k_bytes, groups, dst);
    case 2: return interleave<2>(src, m, mr, k_bytes, groups, dst);
    case 4: return interleave<4>(src, m, mr, k_bytes, groups, dst);
    case 8: return interleave<8>(src, m, mr, k_bytes, groups, dst);
    case 16: return interleave<16>(src, m, mr, k_bytes, groups, dst);
    default:
      for (int64_t g = 0; g < groups; ++g)
        for (int r = 0; r < mr; ++r) {
          char* d = dst + (g * mr + r) * chunk;
          const int64_t lo = g * chunk, n = r < m ? std::clamp<int64_t>(k_bytes - lo, 0, chunk) : 0;
          std::memset(d, 0, static_cast<size_t>(chunk));
          if (n > 0) std::memcpy(d, src[r] + lo, static_cast<size_t>(n));
        }
  }
}

// Pack rows [m0, m0 + rows) of A into MR-row panels (layout in registry.h). Returns row sums for int8.
void pack_a(const Job& j, int64_t m0, int64_t rows, void* dst, int32_t* row_sums) {
  const int mr = j.kern->mr, kr = j.kern->kr;
  const int64_t k = j.b->k_, kp = j.b->k_padded_, groups = kp / kr;
  const int64_t panels = (rows + mr - 1) / mr;
  const int esz = static_cast<int>(a_elem(j.b->kind_));
  const int chunk = kr * esz;
  const size_t panel_bytes = static_cast<size_t>(kp) * mr * esz;
  // Converted rows (bf16, xor-ed or quantized int8) live in a per-thread buffer of mr rows.
  const size_t row_cap = (static_cast<size_t>(k) * 4 + 63) / 64 * 64;
  char* tmp = static_cast<char*>(t_arow.get(row_cap * mr));
  const char* src[64];
  assert(mr <= 64);
  for (int64_t p = 0; p < panels; ++p) {
    const int m = static_cast<int>(std::min<int64_t>(mr, rows - p * mr));
    for (int r = 0; r < m; ++r) {
      int32_t sum = 0;
      src[r] = static_cast<const char*>(source_row(j, m0 + p * mr + r, tmp + r * row_cap, &sum));
      if (row_sums) row_sums[p * mr + r] = sum;
    }
    if (row_sums)
      for (int r = m; r < mr; ++r) row_sums[p * mr + r] = 0;
    interleave_any(src, m, mr, k * esz, groups, static_cast<char*>(dst) + p * panel_bytes, chunk);
  }
}

// Row kernels: row r of A as the kernel reads it. With a_copy it is converted into abuf (kp elements,
// zero tail); int8 row sums are taken over the bytes the kernel sees.
void prep_row(const Job& j, int64_t r) {
  const int64_t k = j.b->k_, kp = j.b->k_padded_;
  const GemmKernel& kern = *j.kern;
  const size_t esz = a_elem(j.b->kind_);
  char* dst = j.a_copy ? j.abuf + r * j.a_ld * static_cast<int64_t>(esz) : nullptr;
  int32_t sum = 0;
  switch (j.src) {
    case ASrc::f32:
    case ASrc::bf16:
      std::memcpy(dst, static_cast<const char*>(j.a) + r * j.lda * static_cast<int64_t>(esz), k * esz);
      std::memset(dst + k * esz, 0, static_cast<size_t>(kp - k) * esz);
      return;
    case ASrc::f32_to_bf16:
    case ASrc::u8:
    case ASrc::s8: {
      const bool f = j.src == ASrc::f32_to_bf16;
      const char* src = static_cast<const char*>(j.a) + r * j.lda * (f ? 4 : 1);
      if (kern.prep_row) {
        sum = kern.prep_row(src, k, kp, j.a_xor, j.a_packed_signed, dst);
      } else {
        int32_t s = 0;
        const void* row = source_row(j, r, dst ? dst : t_arow.get(static_cast<size_t>(k)), &s);
        if (dst && row != dst) std::memcpy(dst, row, static_cast<size_t>(k) * esz);
        if (dst) std::memset(dst + k * esz, 0, static_cast<size_t>(kp - k) * esz);
        sum = s;
      }
      break;
    }
    case ASrc::f32_to_u8: {
      source_row(j, r, dst, &sum);
      std::memset(dst + k, 0, static_cast<size_t>(kp - k));
      break;
    }
  }
  if (j.rsum) j.rsum[r] = sum;
}

void requantize_tile(const Job& j, const float* tile, int64_t ld, int64_t r0, int64_t c0, int m, int n) {
  const QuantizeOps& q = quantize_ops();
  for (int r = 0; r < m; ++r)  // one byte per value, u8 or s8
    q.requantize(tile + r * ld, n, j.qout.scale, j.qout.zero_point, j.qout.is_signed,
                 static_cast<char*>(j.qout.data) + (r0 + r) * j.qout.ld + c0);
}

// Phase 1 task i: A items [i * prep_per, ...) of the whole M: rows (row kernels, prepared in place or
// into abuf) or MR-row panels (panel kernels, packed into the shared buffer).
void prep_task(void* ctx, int64_t i) {
  const Job& j = *static_cast<const Job*>(ctx);
  const int mr = j.kern->mr;
  const int64_t end = std::min(j.rows ? j.m : j.a_panels, (i + 1) * j.prep_per);
  for (int64_t x = i * j.prep_per; x < end; ++x) {
    if (j.rows)
      prep_row(j, x);
    else
      pack_a(j, j.panel_start(mr, x), j.panel_rows(mr, x), static_cast<char*>(j.apack) + x * j.a_panel_bytes,
             j.rsum ? j.rsum + x * mr : nullptr);
  }
}

// Tiles of C for A panels [ap0, ap1) x B panels [p0, p1), over every K block.
//
// Float kinds with a long K are split into K blocks of kc so that one B micro-panel (nr x kc) stays in
// L1 while the A block (mc x kc) stays in L2: the packed panels are group-major, so the K block [k0, k1)
// of a panel is the contiguous slice at k0 * {mr|nr} elements and kernels see it as a panel of depth
// k1 - k0 (row kernels: the rows from column k0). Partial sums go through C: the first block stores (or
// accumulates into the caller's C), later blocks accumulate, and only the last applies bias and
// activation. int8 never takes this path (its panels are 4x smaller, and exact int32 partial sums would
// need an int32 C).
// Row kernels find row r at arows + (r - row0) * a_ld elements.
// round_first: the A panels [ap0, ap1) may not be rounded yet where this thread reads them (a_fused), so
// the first B panel rounds them.
void run_tiles(const Job& j, const char* arows, int64_t row0, int64_t ap0, int64_t ap1, int64_t p0,
               int64_t p1, bool round_first) {
  const GemmKernel& kern = *j.kern;
  const PackedB& b = *j.b;
  const int mr = kern.mr, nr = kern.nr;
  const size_t esz = a_elem(b.kind_);
  const bool is_int8 = b.kind_ == GemmKind::u8s8 || b.kind_ == GemmKind::s8s8;
  const bool tile_out = j.qout.enabled && !j.c && !j.c32;
  // The kernel requantizes its tiles itself (GemmKernel::requant_out) where its register store applies:
  // no B zero point, no Epilogue::add, an activation it computes in registers.
  const Act act = j.ep.act;
  const bool fused_q = tile_out && kern.requant_out && !j.col_zp_neg && !j.ep.add &&
                       (act == Act::none || act == Act::relu || act == Act::clip);
  float* tile = tile_out ? static_cast<float*>(t_tile.get(sizeof(float) * mr * nr)) : nullptr;

  const size_t b_panel_bytes = static_cast<size_t>(b.k_padded_) * nr * esz;
  // The operand the next tile does not read again: in the inner loop's direction, unless that loop has
  // one panel (then the outer operand changes from tile to tile).
  using Stream = MicroTile::Stream;
  const int64_t inner = j.a_outer ? p1 - p0 : ap1 - ap0, outer = j.a_outer ? ap1 - ap0 : p1 - p0;
  const Stream inner_s = j.a_outer ? Stream::b : Stream::a, outer_s = j.a_outer ? Stream::a : Stream::b;
  const Stream stream = !j.stream ? Stream::none : inner > 1 ? inner_s : outer > 1 ? outer_s : Stream::none;
  for (int64_t k0 = 0; k0 < b.k_padded_; k0 += j.kc) {
    const int64_t kl = std::min(j.kc, b.k_padded_ - k0);
    const bool first = k0 == 0, last = k0 + kl >= b.k_padded_;
    // Epilogue::add: the first K block adds it where plain accumulation would add the old C.
    const bool from_add = first && j.ep.add && !j.ep.accumulate && !j.c32;
    // The fields of B panel p.
    auto set_panel = [&](MicroTile& t, int64_t p) {
      const int64_t c0 = p * nr;
      t.kp = kl;
      if (b.rows_) {
        t.b = b.rows_ + k0 * b.ldb_ + c0;
        t.ldb = b.ldb_;
      } else {
        t.b = static_cast<const char*>(b.panels()) + p * b_panel_bytes + k0 * nr * esz;
      }
      t.n = static_cast<int>(std::min<int64_t>(nr, b.n_ - c0));
      t.bias = j.ep.bias && last ? j.ep.bias + c0 : nullptr;
      t.act = last ? j.ep.act : Act::none;
      t.clip_lo = j.ep.clip_lo;
      t.clip_hi = j.ep.clip_hi;
      t.accumulate = first ? j.ep.accumulate || from_add : true;
      t.stream = stream;
      // Nothing reads C before the thread's GemmKernel::finish, except later K blocks and requantization.
      t.defer = j.defer && last && !j.qout.enabled;
      if (is_int8) {
        t.col_offset = j.col_offset + c0;
        t.col_zp_neg = j.col_zp_neg ? j.col_zp_neg + c0 : nullptr;
        t.col_scale = j.col_scale + c0;
      }
    };
    // The fields of A panel ap against panel p, and the kernel call.
    auto run_tile = [&](MicroTile& t, int64_t p, int64_t ap) {
      const int64_t c0 = p * nr;
      const int64_t r0 = j.panel_start(mr, ap);
      if (j.rows) {
        // single K block: a_fused requires kc == kp
        const bool round_panel = j.a_fused && round_first && p == p0;
        t.a = arows + ((r0 - row0) * j.a_ld + k0) * static_cast<int64_t>(esz);
        t.lda = j.a_ld;
        t.a_f32 = round_panel ? static_cast<const float*>(j.a) + r0 * j.lda : nullptr;
        t.lda_f32 = j.lda;
        t.k_f32 = b.k_;
        t.row_sum = j.rsum ? j.rsum + r0 : nullptr;
      } else {
        t.a = static_cast<const char*>(j.apack) + ap * j.a_panel_bytes + k0 * mr * esz;
        t.row_sum = j.rsum ? j.rsum + ap * mr : nullptr;
      }
      t.m = j.panel_rows(mr, ap);
      t.row_bias = j.ep.row_bias && first ? j.ep.row_bias + r0 : nullptr;
      if (j.c32) {
        t.c32 = j.c32 + r0 * j.ldc32 + c0;
        t.ldc32 = j.ldc32;
      } else if (fused_q) {
        t.c = nullptr;
        t.accumulate = false;
        t.q = static_cast<char*>(j.qout.data) + r0 * j.qout.ld + c0;
        t.ldq = j.qout.ld;
        t.q_scale = j.qout.scale;
        t.q_zp = j.qout.zero_point;
        t.q_signed = j.qout.is_signed;
      } else if (tile_out) {
        t.c = tile;
        t.ldc = nr;
        t.accumulate = from_add;
      } else {
        t.c = j.c + r0 * j.ldc + c0;
        t.ldc = j.ldc;
      }
      t.c_in = from_add ? j.ep.add + r0 * j.ep.ld_add + c0 : nullptr;
      t.ldc_in = j.ep.ld_add;
      kern.run(t);
      if (fused_q) return;  // the kernel wrote the bytes
      if (j.qout.enabled && last)
        requantize_tile(j, tile_out ? tile : t.c, tile_out ? nr : j.ldc, r0, c0, t.m, t.n);
    };
    if (j.a_outer) {
      for (int64_t ap = ap0; ap < ap1; ++ap)
        for (int64_t p = p0; p < p1; ++p) {
          MicroTile t;
          set_panel(t, p);
          run_tile(t, p, ap);
        }
    } else {
      // prefetch_b: the A panels' tiles share the next B panel's prefetch, a slice each.
      const int64_t slice = (kl * nr * static_cast<int64_t>(esz) / (ap1 - ap0) + 63) / 64 * 64;
      for (int64_t p = p0; p < p1; ++p) {
        MicroTile t;
        set_panel(t, p);
        const char* next =
            j.prefetch_b && ap1 - ap0 >= 4 && p + 1 < p1
                ? static_cast<const char*>(b.panels()) + (p + 1) * b_panel_bytes + k0 * nr * esz
                : nullptr;
        for (int64_t ap = ap0; ap < ap1; ++ap) {
          if (next) {
            t.b_next = next + (ap - ap0) * slice;
            t.b_next_bytes = slice;
          }
          run_tile(t, p, ap);
        }
      }
    }
  }
}

// Phase 2 is cut into units: rectangle t (of tm x tn) holds, M block by M block, its B panels in one or
// two chunks. Task t runs rectangle t's units in that order, then takes units left in the other
// rectangles (work_claims.h) where their task has not started, or has more than half of them left, so
// a thread that woke late, or whose core is shared, does not set the pace.
//
// Units were ~8 per rectangle, any of them taken over, until the forty-first session: a thread's B
// panels and C columns stay in its own L2 from call to call, and a unit taken from a thread that was
// only a little behind then ran on the other core from that core's caches, and pulled the lines back
// for the next call, which put its owner behind again. 2 threads, interleaved runs, Sapphire Rapids
// class, ~8 units and free takeover against two units kept by a started owner: int8 128x768x768 4390
// -> 5298 GOP/s, 512x1024x1024 5535 -> 6192, 32x768x768 3400 -> 4046, 128x3072x768 level; bf16 level
// to +15%; fp32 level. Owner-kept units with ~8 units a rectangle gained about half as much (a 2-thread
// 32x768x768 call lasts ~9 us, and each unit has its own run_tiles set-up).
struct RectGeometry {
  int64_t a_lo, a_hi, b_lo, b_hi, chunks, width, units;
};

RectGeometry rect_geometry(const Job& j, int64_t t) {
  RectGeometry g;
  const int64_t n_panels = j.b->n_panels_;
  const int64_t tr = t / j.tn, tc = t % j.tn;
  g.a_lo = j.a_panels * tr / j.tm;
  g.a_hi = j.a_panels * (tr + 1) / j.tm;
  g.b_lo = n_panels * tc / j.tn;
  g.b_hi = n_panels * (tc + 1) / j.tn;
  const int64_t step = j.mc / j.kern->mr;
  const int64_t blocks = (g.a_hi - g.a_lo + step - 1) / step;
  const int64_t panels = g.b_hi - g.b_lo;
  // About 2 units per rectangle (one per M block when it has several). Units only split the loop over
  // B panels, so each runs the same tile order a whole rectangle would. One rectangle (one thread) has
  // nobody to hand work to: one unit per M block.
  const int64_t want = j.tm * j.tn > 1 ? 2 : 1;
  g.chunks =
      std::max<int64_t>(1, std::min<int64_t>(panels, (want + blocks - 1) / std::max<int64_t>(1, blocks)));
  g.width = (panels + g.chunks - 1) / std::max<int64_t>(1, g.chunks);
  g.chunks = panels > 0 ? (panels + g.width - 1) / g.width : 0;
  g.units = blocks * g.chunks;
  return g;
}

void run_rect(void* ctx, int64_t s) {
  const Job& j = *static_cast<const Job*>(ctx);
  if (j.kern->begin) j.kern->begin();
  const int64_t step = j.mc / j.kern->mr;
  // The A panels this task last rounded: its own abuf slice holds them (a_fused).
  int64_t ready_ap = -1;
  int cursor = 0, r = 0;
  int64_t u0 = 0, u1 = 0;
  while (j.claims.claim(static_cast<int>(s), cursor, r, u0, u1)) {
    const RectGeometry g = rect_geometry(j, r);
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t ap = g.a_lo + u / g.chunks * step, ap_end = std::min(g.a_hi, ap + step);
      const int64_t p = g.b_lo + u % g.chunks * g.width, p_end = std::min(g.b_hi, p + g.width);
      const bool round_first = ready_ap != ap;
      if (j.a_fused)
        run_tiles(j, j.abuf + s * j.a_block_bytes, j.panel_start(j.kern->mr, ap), ap, ap_end, p, p_end,
                  round_first);
      else
        run_tiles(j, j.arows, 0, ap, ap_end, p, p_end, round_first);
      ready_ap = ap;
    }
  }
  if (j.kern->finish) j.kern->finish();
}

// How many A-panel groups (tm) and B-panel groups (tn) to cut the grid into for `threads`: the
// smallest largest rectangle wins (threads take over only a lagging thread's units, not a share of a
// lopsided split's), then fewer rectangles, then fewer A groups (threads sharing A read less than threads
// sharing B), except that with rows_first > 0 more A groups win while each keeps rows_first A panels or
// more.
//
// rows_first is 6 for AMX's 32 x 32 blocks (square tiles): 2 threads, the same-cost splits of rows and
// of columns in interleaved runs (ORTKIT_TUNE_TM), rows over columns, Sapphire Rapids class: with 8 A
// panels a thread (512x1024x1024) int8 +18% with B hot and +1% with B cold (--cold-b, a model's
// weights), bf16 +24% / +23%; with 6 (384x768x768) int8 +13% / +3%, bf16 +11% / 0%; with 4
// (256x768x768) int8 +8% hot but -14% cold (-11% and -13% at 256x3072x768 and 256x768x3072); with 2
// (128 rows) level to -28%, as each thread then reads all of B for few rows of A.
void choose_split(Job& j, int threads, int64_t rows_first) {
  const int64_t ap = j.a_panels, bp = j.b->n_panels_;
  int64_t best = -1;
  for (int64_t tm = 1; tm <= std::min<int64_t>(threads, ap); ++tm)
    for (int64_t tn = 1; tn <= std::min<int64_t>(threads / tm, bp); ++tn) {
      const int64_t cost = (ap + tm - 1) / tm * ((bp + tn - 1) / tn);
      const int64_t best_cost = best < 0 ? 0 : (ap + j.tm - 1) / j.tm * ((bp + j.tn - 1) / j.tn);
      const bool tie = cost == best_cost, same_rects = tm * tn == j.tm * j.tn;
      const bool rows = rows_first > 0 && tm > j.tm && ap / tm >= rows_first;
      if (best < 0 || cost < best_cost || (tie && tm * tn < j.tm * j.tn) || (tie && same_rects && rows)) {
        j.tm = tm;
        j.tn = tn;
        best = cost;
      }
    }
}

// An experiment's on/off switch from the environment ("0" or "1"): 0 or 1, or -1 when unset or other.
int tune_switch(const char* name) {
  const char* v = std::getenv(name);
  return v && (v[0] == '0' || v[0] == '1') && v[1] == '\0' ? v[0] - '0' : -1;
}

void run_job(Job& j, const Threading& th) {
  const PackedB& b = *j.b;
  const int mr = j.kern->mr, nr = j.kern->nr, kr = j.kern->kr;
  const int64_t esz = static_cast<int64_t>(a_elem(b.kind_));
  const bool is_int8 = b.kind_ == GemmKind::u8s8 || b.kind_ == GemmKind::s8s8;
  // A call this small (B under 256 KiB and under 1 MOP, ~1 us) runs faster on one thread than a round of
  // the pool costs. Above it, splitting B pays even for a decode step: an int8 768 x 768 GEMV went from
  // 4.8 to 2.9 us on 2 threads once the pool's workers spin between calls (they do between the ops of a
  // run).
  const bool tiny = b.bytes() < (size_t{1} << 18) && 2.0 * static_cast<double>(j.m) * b.n_ * b.k_ < 1e6;
  const int threads = tiny ? 1 : std::max(1, th.parallel_for ? th.threads : 1);

  const GemmBlocking blocking = gemm_blocking();
  // Tile-block kernels (AMX) have panels as tall as they are wide; their loops differ below.
  const bool square_tiles = mr >= nr;
  // B stays in the L2 from call to call (as a layer's weights in a loop), or streams from beyond it.
  const bool b_fits_l2 = static_cast<int64_t>(b.bytes()) <= blocking.l2_bytes * 3 / 4;
  // K blocks (float kinds), only for very long K (see below). Blocks are balanced so the last one is not
  // a sliver, and K is only split when it is clearly longer than one block.
  j.kc = b.k_padded_;
  if (!is_int8) {
    // Measured on Zen 5 (48 KiB L1, 1 MiB L2): every K block costs one more pass of C through the
    // epilogue, and an L2-streamed B micro-panel keeps the FMAs fed, so K is split only when one
    // micro-panel passes 3/8 of the L2 (384 KiB there: fp32 K > 3072 at NR = 32); BLIS-style L1-sized
    // blocks measured slower. The fraction scales with the detected L2 (cache_info.h).
    const int64_t target = std::max<int64_t>(64, blocking.k_split_panel_bytes / (nr * esz)) / kr * kr;
    if (b.k_padded_ > target + target / 4) {
      const int64_t nkb = (b.k_padded_ + target - 1) / target;
      j.kc = ((b.k_padded_ + nkb - 1) / nkb + kr - 1) / kr * kr;
    }
  }
  // Tile-block kernels (AMX: panels as tall as wide) are not split to L1-sized K blocks, although their A
  // and B panels pass the L1 together (bf16 32 x 32 blocks at K = 768 hold 96 KiB against 48 KiB): once
  // the streamed operand is loaded with tileloaddt1 (MicroTile::stream), which keeps the reused one in
  // L1, such blocks (partial sums through C, 2/3 of the L1) lost to whole-K blocks. bf16 A, 1 thread, B
  // hot, Sapphire Rapids class: 128x768x768 1.33 -> 1.44 TFLOP/s, 512x768x768 1.09 -> 1.26, 1024x768x768
  // 1.00 -> 1.22, 32x768x768 level; with B cold the split lost too.
  // Tuning overrides for experiments (read once): ORTKIT_TUNE_KC (K block in elements), ORTKIT_TUNE_MCB
  // (A block bytes). Not a stable interface.
  static const int64_t tune_kc =
      std::getenv("ORTKIT_TUNE_KC") ? std::atoll(std::getenv("ORTKIT_TUNE_KC")) : 0;
  static const int64_t tune_mcb =
      std::getenv("ORTKIT_TUNE_MCB") ? std::atoll(std::getenv("ORTKIT_TUNE_MCB")) : 0;
  if (tune_kc >= kr) j.kc = std::min<int64_t>(b.k_padded_, tune_kc / kr * kr);
  const int64_t a_block_bytes = tune_mcb > 0 ? tune_mcb : blocking.a_block_bytes;
  // M blocks: the A block (mc x kc) of half the L2 (512 KiB on a 1 MiB L2) stays in L2 while the B
  // panels of a task stream past it.
  const int64_t row_bytes = std::max<int64_t>(1, j.kc * esz);
  // Blocks are balanced: 512 rows in 252-row blocks would leave an 8-row block paying a whole pass
  // over B.
  const int64_t panels = (j.m + mr - 1) / mr;
  const int64_t max_block = std::max<int64_t>(1, a_block_bytes / row_bytes / mr);
  const int64_t m_blocks = (panels + max_block - 1) / max_block;
  j.mc = (panels + m_blocks - 1) / m_blocks * mr;

  j.a_panels = (j.m + mr - 1) / mr;
  if (const int64_t rem = j.m % mr; j.a_panels >= 2 && rem != 0 && rem < mr / 2) {
    j.bal_p = j.a_panels - 2;
    j.bal_h1 = static_cast<int>((mr + rem + 1) / 2);
  }
  if (threads > 1) choose_split(j, threads, square_tiles ? 6 : 0);
  static const int64_t tune_tm =
      std::getenv("ORTKIT_TUNE_TM") ? std::atoll(std::getenv("ORTKIT_TUNE_TM")) : 0;
  if (threads > 1 && tune_tm > 0 && threads % tune_tm == 0) {
    j.tm = tune_tm;
    j.tn = threads / tune_tm;
  }
  // Tile order. With panels as tall as they are wide (AMX's 32 x 32 blocks), an A panel and a B panel
  // are the same size, and what stays put is a choice: where a rectangle's B panels fit in the L2 beside
  // the A block, each A panel runs against all of them (it stays in L1 and B streams from the L2). int8
  // AMX, 1 thread, Sapphire Rapids class, B hot in the L2 (a GEMM repeated): 512x1024x1024 2.1 -> 3.07
  // TOP/s. But the first A panel's pass then reads B from memory at its latency, where B outer lets
  // each B panel serve all A panels at once: with B cold (--cold-b, a model's weights) A outer lost 6%
  // at 512x1024x1024 and 10% at 128x768x768 (where hot it gained 0-4%), so it needs 8 A panels or more.
  // With B past the L2 (128x3072x768, bf16 512x1024x1024) A outer loses 10-35% even hot, as B then
  // streams from L3. Narrow panels (fp32 14 x 32) keep B's panel, the larger one, in L1: B outer.
  // ORTKIT_TUNE_AOUTER=0|1 forces it (experiments; not a stable interface).
  const int64_t rect_b_bytes = (b.n_panels_ + j.tn - 1) / j.tn * b.k_padded_ * nr * esz;
  const int64_t rect_a_panels = (j.a_panels + j.tm - 1) / j.tm;
  j.a_outer = square_tiles && rect_b_bytes <= a_block_bytes && rect_a_panels >= 8;
  static const int tune_aouter = tune_switch("ORTKIT_TUNE_AOUTER");
  if (tune_aouter >= 0) j.a_outer = tune_aouter == 1;
  // Where B streams from beyond the L2 (B outer), the tiles of one B panel prefetch the next into the
  // L2, each a slice, so its first tile does not wait on L3: int8 AMX, 1 thread, 128x3072x768 2.17 ->
  // 2.44 TOP/s, 128x768x3072 2.79 -> 3.01; bf16 +6-8%. With fewer than 4 A panels per B panel, each
  // tile's slice grew too big and it lost up to 7% (32x3072x768, 64x3072x768); with B in the L2 it
  // lost 20% (32x768x768). ORTKIT_TUNE_PFB=0|1 forces it (experiments).
  static const int tune_pf = tune_switch("ORTKIT_TUNE_PFB");
  j.prefetch_b = !j.a_outer && square_tiles && !b_fits_l2;
  if (tune_pf >= 0) j.prefetch_b = tune_pf == 1;
  j.prefetch_b = j.prefetch_b && !b.rows_;
  // ORTKIT_TUNE_STREAM=0, ORTKIT_TUNE_DEFER=0: no MicroTile::stream, no MicroTile::defer (experiments).
  static const int tune_stream = tune_switch("ORTKIT_TUNE_STREAM"),
                   tune_defer = tune_switch("ORTKIT_TUNE_DEFER");
  j.stream = tune_stream != 0;
  j.defer = tune_defer != 0;

  // Phase 1: A is prepared once per call (not once per task). With threads it is split once the work
  // outweighs a round of the pool (~1 us with the workers spinning): 64 KiB of A. Row kernels with an
  // in-place fp32 A skip this phase.
  // Row sums of A only feed the B zero-point term: symmetric weights (the usual export) skip the pass.
  const bool need_rsum = is_int8 && !b.b_zero_point_.empty();
  const bool big_a = threads > 1 && j.m * b.k_ * esz >= 64 * 1024;
  if (j.kern->a_rows) {
    j.rows = true;
    // A row stride that is a multiple of 4 KiB puts all 14 rows of a tile in one L1 set (12 ways): such
    // an A is copied to a padded stride, as is any A the kernel cannot read as it is.
    const int64_t src_esz = j.src == ASrc::u8 || j.src == ASrc::s8 ? 1 : j.src == ASrc::bf16 ? 2 : 4;
    const bool aliases = j.m > 1 && (j.lda * src_esz) % 4096 == 0;
    // Buffered rows hold whole 64-byte lines (a fused kernel writes A in 64-byte chunks); a stride that
    // is a multiple of 4 KiB gets one more line.
    int64_t buf_ld = (b.k_padded_ * esz + 63) / 64 * 64 / esz;
    if ((buf_ld * esz) % 4096 == 0) buf_ld += 64 / esz;
    const int64_t copy_bytes = j.m * buf_ld * esz;
    // A fused kernel rounds into one M block's slice per rectangle (half an L2 each); past 8 MiB of
    // slices (many threads) the one shared pass runs instead.
    const int64_t n_rects = j.tm * j.tn;
    j.a_block_bytes = j.mc * buf_ld * esz;
    const bool fusable = j.src == ASrc::f32_to_bf16 && j.kern->a_from_f32 && j.kc == b.k_padded_;
    j.a_fused = fusable && n_rects * j.a_block_bytes <= (int64_t{8} << 20);
    j.a_copy = !j.a_fused && (j.src == ASrc::f32_to_bf16 || j.src == ASrc::f32_to_u8 || j.a_xor != 0 ||
                              b.k_padded_ != b.k_ || aliases);
    if (j.a_copy || j.a_fused) {
      j.a_ld = buf_ld;
      const int64_t bytes = j.a_fused ? n_rects * j.a_block_bytes : copy_bytes;
      j.abuf = static_cast<char*>(t_apack.get(static_cast<size_t>(bytes)));
      j.arows = j.abuf;
    } else {
      j.arows = static_cast<const char*>(j.a);
      j.a_ld = j.lda;
    }
    j.rsum = need_rsum ? static_cast<int32_t*>(t_rowsum.get(sizeof(int32_t) * j.m)) : nullptr;
  } else {
    j.a_panel_bytes = static_cast<size_t>(b.k_padded_) * mr * esz;
    j.apack = t_apack.get(j.a_panel_bytes * j.a_panels);
    j.rsum = need_rsum ? static_cast<int32_t*>(t_rowsum.get(sizeof(int32_t) * j.a_panels * mr)) : nullptr;
  }
  // Row kernels with an in-place A and no row sums to take have nothing to prepare.
  if (!j.rows || j.a_copy || j.rsum) {
    const int64_t items = j.rows ? j.m : j.a_panels;
    const int64_t tasks = big_a ? std::min<int64_t>(items, threads) : 1;
    j.prep_per = (items + tasks - 1) / tasks;
    const int64_t pt = (items + j.prep_per - 1) / j.prep_per;
    if (pt > 1)
      th.parallel_for(th.pool, pt, prep_task, &j);
    else
      prep_task(&j, 0);
  }

  // Phase 2: one rectangle of C per thread, in units other threads can take over (see RectGeometry).
  const int64_t rects = j.tm * j.tn;
  j.claims.reset(static_cast<int>(rects), true, /*owner_keeps=*/true);
  for (int64_t t = 0; t < rects; ++t)
    j.claims.set_range(static_cast<int>(t), 0, rect_geometry(j, t).units, 1);
  if (rects > 1)
    th.parallel_for(th.pool, rects, run_rect, &j);
  else
    run_rect(&j, 0);
}

void check_b(const PackedB& b, bool int8, const Epilogue& ep) {
  if (b.empty()) throw std::invalid_argument("gemm: B is not packed");
  if (ep.row_bias && !b.rows_)
    throw std::invalid_argument("gemm: Epilogue::row_bias needs a B from view_b_rows");
  const bool is_int8 = b.kind_ == GemmKind::u8s8 || b.kind_ == GemmKind::s8s8;
  if (is_int8 != int8) throw std::invalid_argument("gemm: B was packed for another kind of GEMM");
}

// Per-call int8 column vectors: offset = -za*colsum + K*za*zb, zp_neg = -zb, scale = sa*sb.
// On x86 a clone for AVX-512 as well: the baseline build has no 32-bit vector multiply (SSE4.1), and
// this pass took 3% of an int8 AMX 32x768x768 GEMM, half that in zmm.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx512f", "default")))
#endif
void prepare_int8(Job& j, int32_t za, float sa) {
  const PackedB& b = *j.b;
  const int64_t np = b.n_panels_ * j.kern->nr;
  char* mem = static_cast<char*>(t_cols.get(np * (2 * sizeof(int32_t) + sizeof(float))));
  int32_t* off = reinterpret_cast<int32_t*>(mem);
  int32_t* zpn = off + np;
  float* sc = reinterpret_cast<float*>(zpn + np);
  // Plain loops (they vectorize): for a decode step this runs once per call next to a tiny GEMM.
  const bool has_zp = !b.b_zero_point_.empty();
  const int32_t* cs = b.col_sums_.data();
  const int64_t n_valid = b.n_;
  for (int64_t n = 0; n < np; ++n) off[n] = -za * cs[n];  // padding columns have col_sums 0
  if (has_zp) {
    const bool per_col = b.b_zero_point_.size() != 1;
    const int32_t kz = static_cast<int32_t>(b.k_) * za;
    for (int64_t n = 0; n < n_valid; ++n) {
      const int32_t zb = b.b_zero_point_[per_col ? n : 0];
      off[n] += kz * zb;
      zpn[n] = -zb;
    }
    for (int64_t n = n_valid; n < np; ++n) zpn[n] = 0;
  }
  if (b.b_scale_.size() == 1) {
    const float s = sa * b.b_scale_[0];
    for (int64_t n = 0; n < n_valid; ++n) sc[n] = s;
  } else {
    const float* bs = b.b_scale_.data();
    for (int64_t n = 0; n < n_valid; ++n) sc[n] = sa * bs[n];
  }
  for (int64_t n = n_valid; n < np; ++n) sc[n] = 0.f;
  j.col_offset = off;
  j.col_zp_neg = has_zp ? zpn : nullptr;
  j.col_scale = sc;
}

}  // namespace

const GemmKernel* kernel_for_rows(const PackedB& b, int64_t m) {
  static const bool pinned = std::getenv("ORTKIT_KERNEL") && *std::getenv("ORTKIT_KERNEL");
  const GemmKernel* k = b.kernel_;
  if (const GemmKernel* f = k ? k->few_rows : nullptr;
      f && b.by_dispatch_ && !pinned && m <= k->few_rows_max && host_features().has_all(f->features))
    return f;
  return k;
}

namespace {

// The fields every entry point sets; each then adds what its kind needs. (Job holds atomics: filled in
// place, not returned.)
void init_job(Job& j, const PackedB& b, int64_t m, const void* a, int64_t lda, ASrc src, float* c,
              int64_t ldc, const Epilogue& ep) {
  j.kern = kernel_for_rows(b, m);
  j.b = &b;
  j.m = m;
  j.a = a;
  j.lda = lda;
  j.src = src;
  j.c = c;
  j.ldc = ldc;
  j.ep = ep;
}

// C = epilogue(A * B) for the float kinds, A given as `src`.
void gemm_float(int64_t m, const void* a, int64_t lda, ASrc src, const PackedB& b, float* c, int64_t ldc,
                const Epilogue& ep, const Threading& th) {
  if (m <= 0 || b.n_ <= 0) return;
  if (b.k_ == 0) {  // empty sum: only the epilogue
    for (int64_t r = 0; r < m; ++r)
      for (int64_t n = 0; n < b.n_; ++n) {
        const float old = ep.accumulate ? c[r * ldc + n] : ep.add ? ep.add[r * ep.ld_add + n] : 0.f;
        float v = old + (ep.bias ? ep.bias[n] : 0.f);
        c[r * ldc + n] = apply_act(v, ep.act, ep.clip_lo, ep.clip_hi);
      }
    return;
  }
  Job j;
  init_job(j, b, m, a, lda, src, c, ldc, ep);
  run_job(j, th);
}

}  // namespace

uint64_t scratch_allocations() { return g_scratch_allocations.load(std::memory_order_relaxed); }

void reserve_thread_scratch() {
  for (Scratch* s : {&t_apack, &t_rowsum, &t_tile, &t_cols, &t_arow}) s->reserve_high();
}

void gemm_f32(int64_t m, const float* a, int64_t lda, const PackedB& b, float* c, int64_t ldc,
              const Epilogue& ep, const Threading& th) {
  check_b(b, false, ep);
  gemm_float(m, a, lda, b.kind_ == GemmKind::bf16 ? ASrc::f32_to_bf16 : ASrc::f32, b, c, ldc, ep, th);
}

void gemm_bf16(int64_t m, const uint16_t* a, int64_t lda, const PackedB& b, float* c, int64_t ldc,
               const Epilogue& ep, const Threading& th) {
  check_b(b, false, ep);
  if (b.kind_ != GemmKind::bf16) throw std::invalid_argument("gemm_bf16: B must be packed as bf16");
  gemm_float(m, a, lda, ASrc::bf16, b, c, ldc, ep, th);
}

void gemm_int8(int64_t m, const void* a, int64_t lda, const QuantA& qa, const PackedB& b, float* c,
               int64_t ldc, int32_t* c32, int64_t ldc32, const Epilogue& ep, const QuantOut& qout,
               const Threading& th) {
  check_b(b, true, ep);
  if (m <= 0 || b.n_ <= 0) return;
  const bool a_signed = b.kind_ == GemmKind::s8s8;
  Job j;
  init_job(j, b, m, a, lda, a_signed ? ASrc::s8 : ASrc::u8, c, ldc, ep);
  int32_t za = qa.zero_point;
  if (a_signed && j.kern->a_shift_128) {  // s8 A on u8 hardware: A + 128, zero point + 128
    j.a_xor = 0x80;
    za += 128;
  } else if (!a_signed && j.kern->a_u8_to_s8) {  // u8 A on s8 hardware: A - 128, zero point - 128
    j.a_xor = 0x80;
    za -= 128;
  }
  j.a_packed_signed = j.a_xor ? !a_signed : a_signed;
  j.c32 = c32;
  j.ldc32 = ldc32;
  j.qout = qout;
  if (j.qout.enabled) {
    if (!(j.qout.scale > 0.f) || !std::isfinite(j.qout.scale))
      throw std::invalid_argument("gemm_int8: requantized output scale must be positive and finite");
    if (!j.qout.data) throw std::invalid_argument("gemm_int8: requantized output has no data pointer");
    if (j.qout.ld < b.n_) throw std::invalid_argument("gemm_int8: requantized output stride is below N");
    if (c32)
      throw std::invalid_argument(
          "gemm_int8: requantized output comes from the fp32 result, not the raw int32 one");
  }
  prepare_int8(j, za, qa.scale);
  run_job(j, th);
}

void gemm_f32_dynamic_u8(int64_t m, const float* a, int64_t lda, const PackedB& b, float* c, int64_t ldc,
                         const Epilogue& ep, const Threading& th, QuantA* qa_out) {
  check_b(b, true, ep);
  if (b.kind_ != GemmKind::u8s8) throw std::invalid_argument("gemm_f32_dynamic_u8: B must be packed as u8s8");
  // ONNX DynamicQuantizeLinear: the range always includes 0; scale = (max - min) / 255.
  float lo = 0.f, hi = 0.f;
  minmax_parallel(a, m, b.k_, lda, &lo, &hi, th);
  QuantA qa;
  qa.scale = (hi - lo) / 255.f;
  qa.zero_point =
      qa.scale == 0.f ? 0 : static_cast<int32_t>(std::clamp(std::nearbyint(-lo / qa.scale), 0.f, 255.f));
  if (qa_out) *qa_out = qa;
  if (m <= 0 || b.n_ <= 0) return;
  Job j;
  init_job(j, b, m, a, lda, ASrc::f32_to_u8, c, ldc, ep);
  j.q_inv_scale = qa.scale == 0.f ? 0.f : 1.f / qa.scale;
  j.q_zp = qa.zero_point;
  int32_t za = qa.zero_point;
  if (j.kern->a_u8_to_s8) {  // u8 A on s8 hardware, as in gemm_int8
    j.a_xor = 0x80;
    j.a_packed_signed = true;
    za -= 128;
  }
  prepare_int8(j, za, qa.scale);
  run_job(j, th);
}

}  // namespace ortkit::kernels
