// fp32 -> bf16 bits, nearest even, NaN kept NaN (quiet): the one rounding rule of the portable code.
// Inline and branch-free so the row loops that call it (the driver's A rows, pack_b's panels) vectorize.
// Only for files built for the baseline ISA (not the ISA folders): an out-of-line copy made with other
// -m flags could be the one the linker keeps (ARCHITECTURE.md).
#pragma once
#include <cstdint>
#include <cstring>

namespace ortkit::kernels {

inline uint16_t round_to_bf16(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const uint32_t nan = (u >> 16) | 0x40u;
  return static_cast<uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
}

}  // namespace ortkit::kernels
