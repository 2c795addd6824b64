// Peak probes of the AMX tile products: four independent C tiles (the kernels' 2 x 2 grid), each
// product waiting only on its own tile, so the loop runs at the TMUL unit's rate.
// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_* as the merge source, GCC PR 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "x86/amx/amx_tiles.h"
#include "x86/x86_kernels.h"

namespace ortkit::kernels::x86 {

namespace {
template <class Dot>
uint64_t probe(uint64_t iters, float* sink, Dot dot, uint32_t one) {
  amx_begin();  // not inside a GEMM call: other code may have changed the tiles since the last one
  configure_tiles(kAmxMR);
  alignas(64) uint32_t a[16 * 16], out[16 * 16];
  for (auto& v : a) v = one;
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_loadd(4, a, 64);
  _tile_loadd(5, a, 64);
  _tile_loadd(6, a, 64);
  _tile_loadd(7, a, 64);
  for (uint64_t i = 0; i < iters; ++i) {
    dot.p00();
    dot.p01();
    dot.p10();
    dot.p11();
  }
  _tile_stored(0, out, 64);
  *sink = static_cast<float>(out[0] & 0xff);
  // 4 products of 16 x 16 outputs over 64 int8 k (32 bf16 k), a multiply and an add each
  return iters * 4 * 16 * 16 * 64 * 2;
}

ORTKIT_AMX_DOT(DotBf16, _tile_dpbf16ps);
ORTKIT_AMX_DOT(DotU8, _tile_dpbusd);
}  // namespace

uint64_t peak_tdpbf16ps(uint64_t iters, float* sink) {
  return probe(iters, sink, DotBf16{}, 0x3f803f80u) / 2;  // 32 bf16 products per output: half of int8's 64
}

uint64_t peak_tdpbusd(uint64_t iters, float* sink) {
  return probe(iters, sink, DotU8{}, 0x01010101u);
}

}  // namespace ortkit::kernels::x86
