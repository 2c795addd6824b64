// Measurement-environment checks behind ort-bench's warnings.
#include <catch2/catch.hpp>
#include <string>

#include "ortkit/bench/environment.h"
#include "ortkit/version.h"

using namespace ortkit::bench;

TEST_CASE("bench environment: /proc/stat sampling and the busy fraction", "[bench][env]") {
  CpuSample a = sample_cpu();
  REQUIRE(a.valid);  // Linux only, like the project
  CHECK(a.total >= a.idle);
  volatile double sink = 0;
  for (int i = 0; i < 20000000; ++i) sink = sink + i * 0.5;  // burn a little CPU ourselves
  CpuSample b = sample_cpu();
  CHECK(b.self >= a.self);
  double f = other_busy_fraction(a, b);
  CHECK(f >= -1);
  CHECK(f <= 1);

  CpuSample x, y;
  x.valid = y.valid = true;
  x.total = 1000, x.idle = 500, x.self = 100;
  y.total = 2000, y.idle = 800, y.self = 400;  // 1000 jiffies: 700 busy, 300 ours -> others 40%
  CHECK(other_busy_fraction(x, y) == Approx(0.4));
  CHECK(other_busy_fraction(y, x) == -1);
  y.total = 1020;  // too close to say
  CHECK(other_busy_fraction(x, y) == -1);
  y.total = 2000;
  y.valid = false;
  CHECK(other_busy_fraction(x, y) == -1);
}

TEST_CASE("bench environment: clock spread", "[bench][env]") {
  CpuSample a, b;
  CHECK(clock_spread({a, b}) == -1);
  a.mhz = {3000, 3000};
  b.mhz = {2700, 3000};
  CHECK(clock_spread({a, b}) == Approx(0.1));
  b.mhz = {3000};
  CHECK(clock_spread({a, b}) == 0);
}

TEST_CASE("bench environment: build-type and emulation warnings", "[bench][env]") {
  auto w = static_warnings();
  bool release =
      std::string(ORTKIT_BUILD_TYPE) == "Release" || std::string(ORTKIT_BUILD_TYPE) == "RelWithDebInfo";
  bool warned_build = false;
  for (const auto& s : w) warned_build |= s.find("non-release build") != std::string::npos;
  CHECK(warned_build == !release);
  bool warned_emu = false;
  for (const auto& s : w) warned_emu |= s.find("emulation") != std::string::npos;
  CHECK(warned_emu == !emulation_hint().empty());
}
