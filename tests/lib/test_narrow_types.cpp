// ONNX's narrow element types (ortkit/narrow_types.h): every scalar conversion against bit patterns
// derived by hand from the formats (sign | exponent | mantissa, bias), at the extremes, subnormals, ties,
// NaN, Inf and saturation; then their TensorProto forms (packed raw_data, int32_data, external data).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "onnx/model_io.h"
#include "ortkit/narrow_types.h"

using namespace ortkit;

namespace {
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
}  // namespace

TEST_CASE("float8 E4M3FN: bias 7, max 448, NaN 0x7f, no Inf", "[narrow]") {
  CHECK(float_to_f8e4m3fn(1.f) == 0x38);  // exponent 7 + 0
  CHECK(float_to_f8e4m3fn(0.5f) == 0x30);
  CHECK(float_to_f8e4m3fn(-2.f) == 0xc0);
  CHECK(float_to_f8e4m3fn(448.f) == 0x7e);    // 1.75 * 2^8: the largest finite value
  CHECK(float_to_f8e4m3fn(0x1p-9f) == 0x01);  // smallest subnormal
  CHECK(float_to_f8e4m3fn(0x7p-9f) == 0x07);  // largest subnormal
  CHECK(float_to_f8e4m3fn(0x1p-6f) == 0x08);  // smallest normal
  CHECK(float_to_f8e4m3fn(0.f) == 0x00);
  CHECK(float_to_f8e4m3fn(-0.f) == 0x80);
  // Ties go to the even mantissa.
  CHECK(float_to_f8e4m3fn(1.0625f) == 0x38);   // 1 + 1/16: between 1.000 and 1.001
  CHECK(float_to_f8e4m3fn(1.1875f) == 0x3a);   // between 1.001 and 1.010
  CHECK(float_to_f8e4m3fn(0x1p-10f) == 0x00);  // half the smallest subnormal
  CHECK(float_to_f8e4m3fn(0x3p-10f) == 0x02);  // 1.5 subnormal quanta
  CHECK(float_to_f8e4m3fn(0x1.000002p-10f) == 0x01);
  // Above the largest value: 464 ties down to 448; beyond, saturate or NaN.
  CHECK(float_to_f8e4m3fn(464.f, false) == 0x7e);
  CHECK(float_to_f8e4m3fn(465.f, true) == 0x7e);
  CHECK(float_to_f8e4m3fn(465.f, false) == 0x7f);
  CHECK(float_to_f8e4m3fn(-1e6f, true) == 0xfe);
  CHECK(float_to_f8e4m3fn(-1e6f, false) == 0xff);
  CHECK(float_to_f8e4m3fn(kInf, true) == 0x7e);
  CHECK(float_to_f8e4m3fn(kInf, false) == 0x7f);
  CHECK(float_to_f8e4m3fn(-kInf, false) == 0xff);
  CHECK(float_to_f8e4m3fn(kNaN) == 0x7f);
  CHECK(float_to_f8e4m3fn(-kNaN) == 0xff);

  CHECK(f8e4m3fn_to_float(0x38) == 1.f);
  CHECK(f8e4m3fn_to_float(0x7e) == 448.f);
  CHECK(f8e4m3fn_to_float(0xfe) == -448.f);
  CHECK(f8e4m3fn_to_float(0x01) == 0x1p-9f);
  CHECK(std::signbit(f8e4m3fn_to_float(0x80)));
  CHECK(std::isnan(f8e4m3fn_to_float(0x7f)));
  CHECK(std::isnan(f8e4m3fn_to_float(0xff)));
  CHECK(f8e4m3fn_to_float(0x78) == 256.f);  // 0x78..0x7e are finite (no Inf code)
}

TEST_CASE("float8 E4M3FNUZ: bias 8, max 240, one NaN 0x80, no -0", "[narrow]") {
  CHECK(float_to_f8e4m3fnuz(1.f) == 0x40);
  CHECK(float_to_f8e4m3fnuz(240.f) == 0x7f);
  CHECK(float_to_f8e4m3fnuz(0x1p-10f) == 0x01);
  CHECK(float_to_f8e4m3fnuz(-0.f) == 0x00);       // no negative zero
  CHECK(float_to_f8e4m3fnuz(-0x1p-12f) == 0x00);  // rounds to -0, which is +0 here
  CHECK(float_to_f8e4m3fnuz(-1.f) == 0xc0);
  CHECK(float_to_f8e4m3fnuz(248.f, true) == 0x7f);  // tie 240 / 256 goes to 256: overflow
  CHECK(float_to_f8e4m3fnuz(248.f, false) == 0x80);
  CHECK(float_to_f8e4m3fnuz(-kInf, true) == 0xff);
  CHECK(float_to_f8e4m3fnuz(-kInf, false) == 0x80);
  CHECK(float_to_f8e4m3fnuz(kNaN) == 0x80);
  CHECK(float_to_f8e4m3fnuz(-kNaN) == 0x80);
  CHECK(std::isnan(f8e4m3fnuz_to_float(0x80)));
  CHECK(f8e4m3fnuz_to_float(0x7f) == 240.f);
  CHECK(f8e4m3fnuz_to_float(0xff) == -240.f);
  CHECK(f8e4m3fnuz_to_float(0x01) == 0x1p-10f);
}

TEST_CASE("float8 E5M2: bias 15, max 57344, Inf 0x7c, NaN 0x7e", "[narrow]") {
  CHECK(float_to_f8e5m2(1.f) == 0x3c);
  CHECK(float_to_f8e5m2(57344.f) == 0x7b);
  CHECK(float_to_f8e5m2(0x1p-16f) == 0x01);
  CHECK(float_to_f8e5m2(-0.f) == 0x80);
  CHECK(float_to_f8e5m2(1.125f) == 0x3c);          // tie between 1.00 and 1.01
  CHECK(float_to_f8e5m2(1.375f) == 0x3e);          // tie between 1.01 and 1.10
  CHECK(float_to_f8e5m2(60000.f, false) == 0x7b);  // below the 61440 midpoint
  CHECK(float_to_f8e5m2(61440.f, false) == 0x7c);  // the midpoint ties to 65536: Inf
  CHECK(float_to_f8e5m2(61440.f, true) == 0x7b);
  CHECK(float_to_f8e5m2(kInf, true) == 0x7b);
  CHECK(float_to_f8e5m2(kInf, false) == 0x7c);
  CHECK(float_to_f8e5m2(-kInf, false) == 0xfc);
  CHECK(float_to_f8e5m2(kNaN) == 0x7e);
  CHECK(float_to_f8e5m2(-kNaN) == 0xfe);
  CHECK(f8e5m2_to_float(0x7c) == kInf);
  CHECK(f8e5m2_to_float(0xfc) == -kInf);
  CHECK(std::isnan(f8e5m2_to_float(0x7d)));
  CHECK(f8e5m2_to_float(0x7b) == 57344.f);
  CHECK(f8e5m2_to_float(0x01) == 0x1p-16f);
}

TEST_CASE("float8 E5M2FNUZ: bias 16, max 57344 at 0x7f, NaN 0x80", "[narrow]") {
  CHECK(float_to_f8e5m2fnuz(1.f) == 0x40);
  CHECK(float_to_f8e5m2fnuz(57344.f) == 0x7f);
  CHECK(float_to_f8e5m2fnuz(0x1p-17f) == 0x01);
  CHECK(float_to_f8e5m2fnuz(-0.f) == 0x00);
  CHECK(float_to_f8e5m2fnuz(1e6f, true) == 0x7f);
  CHECK(float_to_f8e5m2fnuz(1e6f, false) == 0x80);
  CHECK(float_to_f8e5m2fnuz(kInf, false) == 0x80);
  CHECK(float_to_f8e5m2fnuz(kNaN) == 0x80);
  CHECK(f8e5m2fnuz_to_float(0x7f) == 57344.f);
  CHECK(f8e5m2fnuz_to_float(0xc0) == -1.f);
  CHECK(std::isnan(f8e5m2fnuz_to_float(0x80)));
}

TEST_CASE("float4 E2M1: 0 0.5 1 1.5 2 3 4 6, always saturating", "[narrow]") {
  const float values[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
  for (int c = 0; c < 8; ++c) {
    CHECK(float_to_f4e2m1(values[c]) == c);
    CHECK(float_to_f4e2m1(-values[c]) == (c | 8));
    CHECK(f4e2m1_to_float(static_cast<uint8_t>(c)) == values[c]);
    CHECK(f4e2m1_to_float(static_cast<uint8_t>(c | 8)) == -values[c]);
    CHECK(f4e2m1_to_float(static_cast<uint8_t>(c | 0xf0)) == values[c]);  // only the low nibble counts
  }
  CHECK(float_to_f4e2m1(0.25f) == 0);  // ties to even codes
  CHECK(float_to_f4e2m1(0.75f) == 2);
  CHECK(float_to_f4e2m1(1.25f) == 2);
  CHECK(float_to_f4e2m1(1.75f) == 4);
  CHECK(float_to_f4e2m1(2.5f) == 4);
  CHECK(float_to_f4e2m1(3.5f) == 6);
  CHECK(float_to_f4e2m1(5.f) == 6);
  CHECK(float_to_f4e2m1(7.f) == 7);
  CHECK(float_to_f4e2m1(1e6f) == 7);
  CHECK(float_to_f4e2m1(kInf) == 7);
  CHECK(float_to_f4e2m1(-kInf) == 0xf);
  CHECK(float_to_f4e2m1(kNaN) == 0x8);  // ml_dtypes (the ONNX test data): NaN -> 0x8, -NaN -> 0x0
  CHECK(float_to_f4e2m1(-kNaN) == 0x0);
}

TEST_CASE("float8 E8M0: exponent only, round up / down / nearest, saturate", "[narrow]") {
  CHECK(float_to_f8e8m0(1.f) == 0x7f);
  CHECK(float_to_f8e8m0(2.f) == 0x80);
  CHECK(float_to_f8e8m0(0.5f) == 0x7e);
  CHECK(float_to_f8e8m0(-2.f) == 0x80);  // the sign is ignored
  CHECK(float_to_f8e8m0(0.f) == 0x00);
  CHECK(float_to_f8e8m0(1.1f, true, E8M0Round::up) == 0x80);
  CHECK(float_to_f8e8m0(1.1f, true, E8M0Round::down) == 0x7f);
  CHECK(float_to_f8e8m0(1.25f, true, E8M0Round::nearest) == 0x7f);
  CHECK(float_to_f8e8m0(1.5f, true, E8M0Round::nearest) == 0x80);
  CHECK(float_to_f8e8m0(0x1.8p127f, true, E8M0Round::up) == 0xfe);   // saturates at 2^127
  CHECK(float_to_f8e8m0(0x1.8p127f, false, E8M0Round::up) == 0xff);  // else rounds into NaN
  CHECK(float_to_f8e8m0(kInf) == 0xff);
  CHECK(float_to_f8e8m0(kNaN) == 0xff);
  CHECK(f8e8m0_to_float(0x7f) == 1.f);
  CHECK(f8e8m0_to_float(0x00) == 0x1p-127f);
  CHECK(f8e8m0_to_float(0xfe) == 0x1p127f);
  CHECK(std::isnan(f8e8m0_to_float(0xff)));
}

TEST_CASE("int4, uint4, int2, uint2 wrap, and Cast from float truncates", "[narrow]") {
  CHECK(wrap_to_int4(7) == 7);
  CHECK(wrap_to_int4(8) == -8);
  CHECK(wrap_to_int4(-9) == 7);
  CHECK(wrap_to_int4(15) == -1);
  CHECK(wrap_to_int4(0xff) == -1);  // a sign-extended byte reads back
  CHECK(wrap_to_uint4(-1) == 15);
  CHECK(wrap_to_uint4(17) == 1);
  CHECK(wrap_to_int2(2) == -2);
  CHECK(wrap_to_int2(-3) == 1);
  CHECK(wrap_to_uint2(-1) == 3);
  CHECK(wrap_to_uint2(4) == 0);
  CHECK(float_to_int_for_cast(6.7) == 6);
  CHECK(float_to_int_for_cast(-8.5) == -8);
  CHECK(float_to_int_for_cast(kNaN) == 0);
  CHECK(float_to_int_for_cast(-kInf) == 0);
  CHECK(float_to_int_for_cast(3e9) == 0);
  CHECK(narrow_from_float(DType::i4, 9.0) == 0xf9);  // -7, sign-extended in its byte
  CHECK(narrow_from_float(DType::u4, -1.0) == 15);
  CHECK(narrow_from_int(DType::i2, 3) == 0xff);
  CHECK(narrow_from_int(DType::f8e4m3fn, 500) == 0x7e);
  CHECK(narrow_from_int(DType::f4e2m1, -3) == 0xd);
  CHECK(narrow_from_float(DType::f8e5m2, 1e6, {false, E8M0Round::up}) == 0x7c);
  CHECK(narrow_from_float(DType::f8e8m0, 3.0, {true, E8M0Round::nearest}) == 0x81);  // ties go up: 4
  int32_t lo = 0, hi = 0;
  narrow_int_range(DType::i4, lo, hi);
  CHECK((lo == -8 && hi == 7));
  narrow_int_range(DType::u2, lo, hi);
  CHECK((lo == 0 && hi == 3));
  CHECK(narrow_decode_table(DType::i4)[0x0f] == -1.f);
  CHECK(narrow_decode_table(DType::u4)[0xf3] == 3.f);
  CHECK(narrow_decode_table(DType::f8e5m2)[0x3c] == 1.f);
  CHECK(narrow_decode_table(DType::f32) == nullptr);
  CHECK(dtype_size(DType::i4) == 1);
  CHECK(dtype_from_onnx(22) == DType::i4);
  CHECK(dtype_to_onnx(DType::f8e8m0) == 24);
  CHECK(dtype_to_onnx(DType::i2) == 26);
  CHECK(std::string(dtype_name(DType::f8e4m3fnuz)) == "float8e4m3fnuz");
}

TEST_CASE("TensorProto: 4- and 2-bit types pack low bits first, odd counts pad", "[narrow][onnx]") {
  Tensor i4(DType::i4, {5});
  const int8_t v4[5] = {-8, -1, 0, 7, 3};
  std::copy(v4, v4 + 5, i4.data_as<int8_t>());
  onnx::TensorProto p = onnxio::tensor_to_proto(i4, "w");
  CHECK(p.data_type() == 22);
  CHECK(p.raw_data() == std::string("\xf8\x70\x03", 3));
  Tensor back = onnxio::tensor_from_proto(p);
  REQUIRE(back.dtype() == DType::i4);
  for (int i = 0; i < 5; ++i) CHECK(back.data_as<int8_t>()[i] == v4[i]);  // sign-extended again

  Tensor u2(DType::u2, {5});
  const uint8_t v2[5] = {0, 1, 2, 3, 1};
  std::copy(v2, v2 + 5, u2.data_as<uint8_t>());
  p = onnxio::tensor_to_proto(u2);
  CHECK(p.raw_data() == std::string("\xe4\x01", 2));  // 0 | 1<<2 | 2<<4 | 3<<6, then 1
  back = onnxio::tensor_from_proto(p);
  for (int i = 0; i < 5; ++i) CHECK(back.data_as<uint8_t>()[i] == v2[i]);

  onnx::TensorProto typed;  // int32_data holds packed bytes: two 4-bit elements per entry
  typed.set_data_type(22);
  typed.add_dims(3);
  typed.add_int32_data(0x9a);
  typed.add_int32_data(0x01);
  back = onnxio::tensor_from_proto(typed);
  CHECK(back.data_as<int8_t>()[0] == -6);
  CHECK(back.data_as<int8_t>()[1] == -7);
  CHECK(back.data_as<int8_t>()[2] == 1);
  typed.add_int32_data(0);
  CHECK_THROWS_WITH(onnxio::tensor_from_proto(typed), Catch::Contains("needs 2"));

  onnx::TensorProto f8;  // float8: one element per int32_data entry, or one per raw byte
  f8.set_data_type(17);
  f8.add_dims(2);
  f8.add_int32_data(0x38);
  f8.add_int32_data(0xfe);
  back = onnxio::tensor_from_proto(f8);
  CHECK(back.dtype() == DType::f8e4m3fn);
  CHECK(back.data_as<uint8_t>()[1] == 0xfe);
  CHECK(onnxio::tensor_to_proto(back).raw_data() == std::string("\x38\xfe", 2));

  onnx::TensorProto bad = onnxio::tensor_to_proto(i4);
  bad.set_raw_data(std::string(5, '\0'));  // one byte per element is not the ONNX encoding
  CHECK_THROWS_WITH(onnxio::tensor_from_proto(bad), Catch::Contains("raw_data has 5 bytes"));
  onnx::TensorProto f6;
  f6.set_name("f6");
  f6.set_data_type(27);
  f6.add_dims(1);
  CHECK_THROWS_WITH(onnxio::tensor_from_proto(f6),
                    Catch::Contains("unsupported element type 27 (FLOAT6E2M3)"));
}

TEST_CASE("TensorProto: packed int4 in external data", "[narrow][onnx]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("ortkit_test_int4_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "w.bin", std::ios::binary);
    f.write("\x00\x21\x0f", 3);  // one pad byte, then elements 1, 2, -1
  }
  onnx::TensorProto p;
  p.set_name("w");
  p.set_data_type(22);
  p.add_dims(3);
  p.set_data_location(onnx::TensorProto::EXTERNAL);
  for (auto [k, v] : {std::pair{"location", "w.bin"}, {"offset", "1"}, {"length", "2"}}) {
    auto* e = p.add_external_data();
    e->set_key(k);
    e->set_value(v);
  }
  const Tensor t = onnxio::tensor_from_proto(p, dir.string());
  CHECK(t.data_as<int8_t>()[0] == 1);
  CHECK(t.data_as<int8_t>()[1] == 2);
  CHECK(t.data_as<int8_t>()[2] == -1);
  fs::remove_all(dir);
}
