// Shared by the AMX kernels (kernels/x86/amx, one flag set): tile configuration and the 32 x 32 block
// every AMX kernel computes. Internal linkage, as every header of an ISA folder (ARCHITECTURE.md, kernels).
//
// Tiles: C00 C01 C10 C11 (fp32 or int32, 16 rows x 16 columns each) = tmm0..3, A0 A1 (rows 0-15 and
// 16-31, 64 bytes of K per row) = tmm4..5, B0 B1 (columns 0-15 and 16-31: 16 rows of KR-element groups,
// 64 bytes each) = tmm6..7. A step over 64 bytes of K is 4 tile products (2 with 16 rows or fewer) from 2
// A and 2 B loads, the 2 x 2 blocking that fills all eight tiles.
//
// The packed B panel of NR = 32 columns holds, per KR group, 32 x KR elements = 128 bytes: B0 is its
// first 64 bytes and B1 the next 64, read with a 128-byte stride, so the panels of the AVX-512 kernels'
// layout feed the tiles as they are. A is read in place as rows (GemmKernel::a_rows).
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "ortkit/kernels/registry.h"

namespace ortkit::kernels::x86 {

// Rows of the tile configuration this thread loaded during the current GEMM call, 0 when unknown:
// amx_begin (GemmKernel::begin, amx_config.cpp) clears it at the start of each call, since other code on
// the thread (another library's AMX kernels, the peak probes) may load its own configuration between
// calls. Within a call only the driver's tiles run, so the remembered shape stays true. Checking the live
// configuration with sttilecfg instead, once per block, took 16% of an int8 128x768x768 GEMM: it waits
// for the previous block's tile instructions to retire.
extern thread_local int t_amx_config_rows;  // defined in amx_config.cpp

namespace {

constexpr int kAmxMR = 32, kAmxNR = 32, kAmxKBytes = 64, kAmxBRow = 128;

struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64);

// The configuration for a block of m rows (1..32): tiles of the second row half are left unconfigured
// when m <= 16. The tile shapes depend on m only (K tails go through zero-padded copies, see below), so
// the bf16 and int8 kernels share it.
inline TileConfig config_for(int m) {
  TileConfig c;
  const int r0 = m < 16 ? m : 16, r1 = m > 16 ? m - 16 : 0;
  auto set = [&](int tile, int rows, int bytes) {
    c.rows[tile] = static_cast<uint8_t>(rows);
    c.colsb[tile] = static_cast<uint16_t>(rows ? bytes : 0);
  };
  set(0, r0, 64);
  set(1, r0, 64);
  set(2, r1, 64);
  set(3, r1, 64);
  set(4, r0, kAmxKBytes);
  set(5, r1, kAmxKBytes);
  set(6, 16, 64);
  set(7, 16, 64);
  return c;
}

// ldtilecfg costs ~150 cycles and zeroes every tile: it runs only when the block's row count differs
// from the configuration loaded. Written as asm with a memory operand: GCC 12's _tile_loadconfig builtin
// does not tell the optimizer that it reads the configuration, and it dropped the stores that fill one
// (a test caught it).
inline void configure_tiles(int m) {
  if (t_amx_config_rows == m) return;
  const TileConfig want = config_for(m);
  __asm__ volatile("ldtilecfg %0" : : "m"(want));
  t_amx_config_rows = m;
}

// Dot types for amx_block: p00 .. p11 issue the tile products of C00 .. C11 (see amx_k_loop).
#define ORTKIT_AMX_DOT(Name, product)      \
  struct Name {                            \
    void p00() const { product(0, 4, 6); } \
    void p01() const { product(1, 4, 7); } \
    void p10() const { product(2, 5, 6); } \
    void p11() const { product(3, 5, 7); } \
  }

// A KR group is 4 bytes in both kinds (2 bf16, 4 int8): a B tile row, and 64 bytes of A, hold 16 groups.
constexpr int kGroupBytes = 4;
constexpr int64_t kBStep = kAmxKBytes / kGroupBytes * kAmxBRow;  // B bytes per 64 bytes of A

// The K loop over kmain bytes of A (a multiple of 64) and the matching B groups. Dot's p00 .. p11 issue
// the four tile products (tdpbf16ps, tdpbusd, tdpbssd) of C00 .. C11; ORTKIT_AMX_DOT writes such a type,
// since GCC's tile intrinsics paste their tile numbers into the assembly text and take only literals.
// Loads in program order before the products that read them. A software-pipelined order (each of the
// next step's loads right after the last product reading its tile, since tiles are not renamed)
// measured 15% slower with A streaming from L2 (Sapphire Rapids class, 32 x 32 x 256 blocks), as did
// software prefetching of the next A panel into L1.
// S: the operand read with tileloaddt1 (MicroTile::stream), the one the next blocks will not read
// again, so it does not push the reused one out of L1.
// side(): called after every second tile product, with vector work that overlaps them (the previous
// block's stores, amx_deferred.h).
template <bool TwoHalves, MicroTile::Stream S, class Dot, class Side>
inline void amx_k_loop(const char* a, int64_t lda_bytes, const char* b, int64_t kmain, Dot dot,
                       const char* pf, int pf_lines, Side& side) {
  constexpr bool sa = S == MicroTile::Stream::a, sb = S == MicroTile::Stream::b;
  const char* a1 = a + 16 * lda_bytes;
  for (int64_t k = 0; k < kmain; k += kAmxKBytes, b += kBStep) {
    if constexpr (sa)
      _tile_stream_loadd(4, a + k, lda_bytes);
    else
      _tile_loadd(4, a + k, lda_bytes);
    if constexpr (sb) {
      _tile_stream_loadd(6, b, kAmxBRow);
      _tile_stream_loadd(7, b + 64, kAmxBRow);
    } else {
      _tile_loadd(6, b, kAmxBRow);
      _tile_loadd(7, b + 64, kAmxBRow);
    }
    dot.p00();
    dot.p01();
    side();
    for (int i = 0; i < pf_lines; ++i, pf += 64) _mm_prefetch(pf, _MM_HINT_T1);
    if constexpr (TwoHalves) {
      if constexpr (sa)
        _tile_stream_loadd(5, a1 + k, lda_bytes);
      else
        _tile_loadd(5, a1 + k, lda_bytes);
      dot.p10();
      dot.p11();
      side();
    }
  }
}

template <bool TwoHalves, class Dot, class Side>
inline void amx_k_loop_for(MicroTile::Stream s, const char* a, int64_t lda_bytes, const char* b,
                           int64_t kmain, Dot dot, const char* pf, int pf_lines, Side& side) {
  switch (s) {
    case MicroTile::Stream::a:
      return amx_k_loop<TwoHalves, MicroTile::Stream::a>(a, lda_bytes, b, kmain, dot, pf, pf_lines, side);
    case MicroTile::Stream::b:
      return amx_k_loop<TwoHalves, MicroTile::Stream::b>(a, lda_bytes, b, kmain, dot, pf, pf_lines, side);
    default:
      return amx_k_loop<TwoHalves, MicroTile::Stream::none>(a, lda_bytes, b, kmain, dot, pf, pf_lines, side);
  }
}

// One 32 x 32 block over the whole depth: K in 64-byte steps on the tiles, and a last step (when kp_bytes
// is not a multiple of 64) from zero-padded copies of the A rows' and B panel's tails, so no tile load
// reads past the rows or the panel.
// esz: bytes per element of A (2 bf16, 1 int8).
// init: null, or sums to start from (32 rows of 32 lanes, init_ld bytes apart: a K-split call's
// partial sums in C), read straight into the C tiles. The sums land in out, out_ld bytes between rows.
// side: see amx_k_loop; side.drain() completes its work before the tiles are stored.
template <class Dot, class Side>
inline void amx_block(const MicroTile& t, int esz, Dot dot, const void* init, int64_t init_ld, void* out,
                      int64_t out_ld, Side& side) {
  configure_tiles(t.m);
  const bool two = t.m > 16;
  if (init) {
    const char* i = static_cast<const char*>(init);
    _tile_loadd(0, i, init_ld);
    _tile_loadd(1, i + 64, init_ld);
    if (two) {
      _tile_loadd(2, i + 16 * init_ld, init_ld);
      _tile_loadd(3, i + 16 * init_ld + 64, init_ld);
    }
  } else {
    _tile_zero(0);
    _tile_zero(1);
    if (two) {
      _tile_zero(2);
      _tile_zero(3);
    }
  }
  const char* a = static_cast<const char*>(t.a);
  const char* b = static_cast<const char*>(t.b);
  const int64_t lda_bytes = t.lda * esz, kp_bytes = t.kp * esz;
  const int64_t kmain = kp_bytes / kAmxKBytes * kAmxKBytes;
  // MicroTile::b_next: this block's share of the next B panel, spread over its K steps.
  const int64_t steps = kmain / kAmxKBytes;
  const int pf_lines =
      t.b_next && steps > 0 ? static_cast<int>((t.b_next_bytes / 64 + steps - 1) / steps) : 0;
  const char* pf = static_cast<const char*>(t.b_next);
  if (two)
    amx_k_loop_for<true>(t.stream, a, lda_bytes, b, kmain, dot, pf, pf_lines, side);
  else
    amx_k_loop_for<false>(t.stream, a, lda_bytes, b, kmain, dot, pf, pf_lines, side);
  if (const int64_t tail = kp_bytes - kmain; tail > 0) {
    alignas(64) char at[kAmxMR * kAmxKBytes];
    alignas(64) char bt[16 * kAmxBRow];
    const __mmask64 mask = tail >= 64 ? ~__mmask64{0} : (__mmask64{1} << tail) - 1;
    for (int r = 0; r < t.m; ++r)
      _mm512_store_si512(at + r * kAmxKBytes, _mm512_maskz_loadu_epi8(mask, a + r * lda_bytes + kmain));
    const int64_t b_rows = tail / kGroupBytes;
    const char* bsrc = b + kmain / kGroupBytes * kAmxBRow;
    std::memcpy(bt, bsrc, static_cast<size_t>(b_rows * kAmxBRow));
    std::memset(bt + b_rows * kAmxBRow, 0, static_cast<size_t>((16 - b_rows) * kAmxBRow));
    _tile_loadd(4, at, kAmxKBytes);
    _tile_loadd(6, bt, kAmxBRow);
    _tile_loadd(7, bt + 64, kAmxBRow);
    dot.p00();
    dot.p01();
    if (two) {
      _tile_loadd(5, at + 16 * kAmxKBytes, kAmxKBytes);
      dot.p10();
      dot.p11();
    }
  }
  side.drain();
  char* c = static_cast<char*>(out);
  _tile_stored(0, c, out_ld);
  _tile_stored(1, c + 64, out_ld);
  if (two) {
    _tile_stored(2, c + 16 * out_ld, out_ld);
    _tile_stored(3, c + 16 * out_ld + 64, out_ld);
  }
}

}  // namespace
}  // namespace ortkit::kernels::x86
