#include "ortkit/narrow_types.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>

namespace ortkit {
namespace {

// One small float format. Codes are sign | magnitude; the magnitude grows with the value, so rounding
// can carry from the mantissa into the exponent (and past the largest finite code) by plain addition.
struct Minifloat {
  int man;                                        // mantissa bits
  int bias;                                       // exponent bias
  int max_code;                                   // magnitude code of the largest finite value
  uint8_t sign;                                   // the sign bit
  enum Special { ieee, fn, fnuz, none } special;  // Inf+NaN / NaN only (all ones) / NaN = -0 code / neither
};
constexpr Minifloat kE4M3FN{3, 7, 0x7e, 0x80, Minifloat::fn};
constexpr Minifloat kE4M3FNUZ{3, 8, 0x7f, 0x80, Minifloat::fnuz};
constexpr Minifloat kE5M2{2, 15, 0x7b, 0x80, Minifloat::ieee};
constexpr Minifloat kE5M2FNUZ{2, 16, 0x7f, 0x80, Minifloat::fnuz};
constexpr Minifloat kE2M1{1, 1, 0x7, 0x8, Minifloat::none};

uint8_t encode(const Minifloat& f, double v, bool saturate) {
  const bool neg = std::signbit(v);
  const uint8_t sign = neg ? f.sign : 0;
  if (std::isnan(v)) {
    switch (f.special) {
      case Minifloat::fn: return static_cast<uint8_t>(sign | 0x7f);
      case Minifloat::ieee: return static_cast<uint8_t>(sign | 0x7e);
      case Minifloat::fnuz: return 0x80;
      case Minifloat::none: return neg ? 0x0 : 0x8;  // ml_dtypes' float4 (see the header)
    }
  }
  const double a = std::fabs(v);
  int code = 0;
  if (std::isinf(a)) {
    code = f.max_code + 1;
  } else if (a != 0) {
    // The binade of a, or the subnormal one: its quantum is 2^(exp - man). Counting quanta from the
    // smallest binade gives the magnitude code directly, the implicit bit included: for a normal binade
    // code = (biased exponent << man) + mantissa = ((exp - emin) << man) + round(a / quantum).
    int e = 0;
    std::frexp(a, &e);  // a in [2^(e-1), 2^e)
    const int emin = 1 - f.bias;
    const int exp = std::max(e - 1, emin);
    const double quanta = std::nearbyint(std::ldexp(a, f.man - exp));  // exact scaling; round half to even
    code = ((exp - emin) << f.man) + static_cast<int>(quanta);
  }
  if (code > f.max_code) {
    if (saturate || f.special == Minifloat::none) {
      code = f.max_code;
    } else {
      switch (f.special) {
        case Minifloat::ieee: return static_cast<uint8_t>(sign | 0x7c);  // Inf
        case Minifloat::fn: return static_cast<uint8_t>(sign | 0x7f);    // NaN
        default: return 0x80;                                            // FNUZ NaN
      }
    }
  }
  if (code == 0 && f.special == Minifloat::fnuz) return 0;  // no -0: 0x80 is NaN
  return static_cast<uint8_t>(sign | code);
}

float decode(const Minifloat& f, uint8_t b) {
  const int mag = b & (f.sign - 1);
  const bool neg = (b & f.sign) != 0;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  switch (f.special) {
    case Minifloat::fnuz:
      if (b == 0x80) return -nan;  // its sign bit is set: ml_dtypes reads it as -NaN
      break;
    case Minifloat::fn:
      if (mag == 0x7f) return neg ? -nan : nan;
      break;
    case Minifloat::ieee:
      if (mag == 0x7c)
        return neg ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
      if (mag > 0x7c) return neg ? -nan : nan;
      break;
    case Minifloat::none: break;
  }
  const int exp_field = mag >> f.man, m = mag & ((1 << f.man) - 1);
  const float v = exp_field == 0
                      ? std::ldexp(static_cast<float>(m), 1 - f.bias - f.man)
                      : std::ldexp(static_cast<float>((1 << f.man) + m), exp_field - f.bias - f.man);
  return neg ? -v : v;
}

}  // namespace

uint8_t float_to_f8e4m3fn(float v, bool saturate) {
  return encode(kE4M3FN, v, saturate);
}
uint8_t float_to_f8e4m3fnuz(float v, bool saturate) {
  return encode(kE4M3FNUZ, v, saturate);
}
uint8_t float_to_f8e5m2(float v, bool saturate) {
  return encode(kE5M2, v, saturate);
}
uint8_t float_to_f8e5m2fnuz(float v, bool saturate) {
  return encode(kE5M2FNUZ, v, saturate);
}
uint8_t float_to_f4e2m1(float v) {
  return encode(kE2M1, v, true);
}
float f8e4m3fn_to_float(uint8_t b) {
  return decode(kE4M3FN, b);
}
float f8e4m3fnuz_to_float(uint8_t b) {
  return decode(kE4M3FNUZ, b);
}
float f8e5m2_to_float(uint8_t b) {
  return decode(kE5M2, b);
}
float f8e5m2fnuz_to_float(uint8_t b) {
  return decode(kE5M2FNUZ, b);
}
float f4e2m1_to_float(uint8_t b) {
  return decode(kE2M1, b & 0xf);
}

// onnx.numpy_helper.to_float8e8m0, bit for bit (its "nearest" reads the exponent's presence as the lsb).
uint8_t float_to_f8e8m0(float v, bool saturate, E8M0Round round) {
  const uint32_t bits = std::bit_cast<uint32_t>(v);
  uint32_t exponent = (bits >> 23) & 0xff;
  if (exponent == 0xff) return 0xff;  // NaN, Inf
  bool up = false;
  if (round == E8M0Round::nearest) {
    const bool g = bits & 0x400000u, r = bits & 0x200000u, s = (bits & 0x1fffffu) != 0, lsb = exponent > 0;
    up = g && (r || s || lsb);
  } else if (round == E8M0Round::up) {
    up = (bits & 0x7fffffu) != 0;
  }
  if (up && saturate && exponent == 0xfe) up = false;
  return static_cast<uint8_t>(exponent + (up ? 1 : 0));  // 0xfe + 1 = 0xff: NaN when not saturating
}
float f8e8m0_to_float(uint8_t b) {
  return b == 0xff ? std::numeric_limits<float>::quiet_NaN() : std::ldexp(1.f, int{b} - 127);
}

int8_t wrap_to_int4(int64_t v) {
  return static_cast<int8_t>(static_cast<uint8_t>(static_cast<uint64_t>(v) << 4)) >> 4;
}
uint8_t wrap_to_uint4(int64_t v) {
  return static_cast<uint8_t>(static_cast<uint64_t>(v) & 0xf);
}
int8_t wrap_to_int2(int64_t v) {
  return static_cast<int8_t>(static_cast<uint8_t>(static_cast<uint64_t>(v) << 6)) >> 6;
}
uint8_t wrap_to_uint2(int64_t v) {
  return static_cast<uint8_t>(static_cast<uint64_t>(v) & 0x3);
}
int64_t float_to_int_for_cast(double v) {
  // ml_dtypes converts through int32 (x86's cvttss2si gives 0x80000000, low bits 0, when out of range).
  return std::fabs(v) < 2147483648.0 ? static_cast<int64_t>(v) : 0;
}

bool is_narrow(DType t) {
  return narrow_bits(t) != 0;
}
bool is_narrow_int(DType t) {
  return t == DType::i4 || t == DType::u4 || t == DType::i2 || t == DType::u2;
}
int narrow_bits(DType t) {
  switch (t) {
    case DType::i4:
    case DType::u4:
    case DType::f4e2m1: return 4;
    case DType::i2:
    case DType::u2: return 2;
    case DType::f8e4m3fn:
    case DType::f8e4m3fnuz:
    case DType::f8e5m2:
    case DType::f8e5m2fnuz:
    case DType::f8e8m0: return 8;
    default: return 0;
  }
}
void narrow_int_range(DType t, int32_t& lo, int32_t& hi) {
  switch (t) {
    case DType::i4: lo = -8, hi = 7; break;
    case DType::u4: lo = 0, hi = 15; break;
    case DType::i2: lo = -2, hi = 1; break;
    case DType::u2: lo = 0, hi = 3; break;
    default: lo = hi = 0;
  }
}

uint8_t narrow_from_float(DType t, double v, const NarrowCast& o) {
  const float f = static_cast<float>(v);
  switch (t) {
    case DType::f8e4m3fn: return float_to_f8e4m3fn(f, o.saturate);
    case DType::f8e4m3fnuz: return float_to_f8e4m3fnuz(f, o.saturate);
    case DType::f8e5m2: return float_to_f8e5m2(f, o.saturate);
    case DType::f8e5m2fnuz: return float_to_f8e5m2fnuz(f, o.saturate);
    case DType::f4e2m1: return float_to_f4e2m1(f);
    case DType::f8e8m0: return float_to_f8e8m0(f, o.saturate, o.round);
    default: return narrow_from_int(t, float_to_int_for_cast(v), o);
  }
}

uint8_t narrow_from_int(DType t, int64_t v, const NarrowCast& o) {
  switch (t) {
    case DType::i4: return static_cast<uint8_t>(wrap_to_int4(v));
    case DType::u4: return wrap_to_uint4(v);
    case DType::i2: return static_cast<uint8_t>(wrap_to_int2(v));
    case DType::u2: return wrap_to_uint2(v);
    default: return narrow_from_float(t, static_cast<double>(static_cast<float>(v)), o);
  }
}

float narrow_to_float(DType t, uint8_t b) {
  switch (t) {
    case DType::i4: return static_cast<float>(wrap_to_int4(b));
    case DType::u4: return static_cast<float>(wrap_to_uint4(b));
    case DType::i2: return static_cast<float>(wrap_to_int2(b));
    case DType::u2: return static_cast<float>(wrap_to_uint2(b));
    case DType::f8e4m3fn: return f8e4m3fn_to_float(b);
    case DType::f8e4m3fnuz: return f8e4m3fnuz_to_float(b);
    case DType::f8e5m2: return f8e5m2_to_float(b);
    case DType::f8e5m2fnuz: return f8e5m2fnuz_to_float(b);
    case DType::f8e8m0: return f8e8m0_to_float(b);
    case DType::f4e2m1: return f4e2m1_to_float(b);
    default: return 0.f;
  }
}

const float* narrow_decode_table(DType t) {
  constexpr DType kTypes[] = {DType::i4,       DType::u4,         DType::i2,     DType::u2,
                              DType::f8e4m3fn, DType::f8e4m3fnuz, DType::f8e5m2, DType::f8e5m2fnuz,
                              DType::f8e8m0,   DType::f4e2m1};
  using Table = std::array<float, 256>;
  static const std::array<Table, std::size(kTypes)> tables = [&] {
    std::array<Table, std::size(kTypes)> all{};
    for (size_t k = 0; k < std::size(kTypes); ++k)
      for (int b = 0; b < 256; ++b) all[k][b] = narrow_to_float(kTypes[k], static_cast<uint8_t>(b));
    return all;
  }();
  for (size_t k = 0; k < std::size(kTypes); ++k)
    if (kTypes[k] == t) return tables[k].data();
  return nullptr;
}

}  // namespace ortkit
