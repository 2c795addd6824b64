// MatMulNBits' 4-bit weights as pack_q4 and pack_q4_s8 receive them (q4gemm.h), read element by element:
// per column, blocks of block / 2 bytes (element 2j in the low nibble of byte j), a scale per block, and
// zero points packed 4-bit, as floats, or absent (8).
#pragma once
#include <cstdint>

namespace ortkit::kernels {

struct Q4Source {
  int64_t block, blocks;
  const uint8_t* q;
  const float* scales;
  const uint8_t* zp_u4;
  const float* zp_f32;

  uint8_t q_at(int64_t col, int64_t k) const {
    const uint8_t byte = q[(col * blocks + k / block) * (block / 2) + (k % block) / 2];
    return (k % block) & 1 ? byte >> 4 : byte & 15;
  }
  float scale_at(int64_t col, int64_t b) const { return scales[col * blocks + b]; }
  float zp_at(int64_t col, int64_t b) const {
    if (zp_u4) {
      const uint8_t z = zp_u4[col * ((blocks + 1) / 2) + b / 2];
      return static_cast<float>(b & 1 ? z >> 4 : z & 15);
    }
    return zp_f32 ? zp_f32[col * blocks + b] : 8.f;
  }
};

}  // namespace ortkit::kernels
