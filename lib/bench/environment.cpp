#include "ortkit/bench/environment.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "ortkit/version.h"

namespace ortkit::bench {

namespace {
std::string slurp(const char* path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

CpuSample sample_cpu() {
  CpuSample s;
  std::ifstream stat("/proc/stat");
  std::string cpu;
  if (stat >> cpu && cpu == "cpu") {
    uint64_t v[10] = {};
    for (auto& x : v) stat >> x;
    for (int i = 0; i < 8; ++i) s.total += v[i];  // guest time is already in user
    s.idle = v[3] + v[4];                         // idle + iowait
    s.valid = static_cast<bool>(stat);
  }
  // /proc/self/stat: fields 14 and 15 are utime and stime; the comm field (2) may contain spaces.
  std::string self = slurp("/proc/self/stat");
  auto rp = self.rfind(')');
  if (rp != std::string::npos) {
    std::istringstream in(self.substr(rp + 2));
    std::string f;
    uint64_t ut = 0, st = 0;
    for (int field = 3; field <= 15 && in >> f; ++field) {
      if (field == 14) ut = std::stoull(f);
      if (field == 15) st = std::stoull(f);
    }
    s.self = ut + st;
  }
  // Frequency: cpufreq when the kernel exposes it, else the "cpu MHz" lines (x86).
  for (int c = 0;; ++c) {
    std::ifstream f("/sys/devices/system/cpu/cpu" + std::to_string(c) + "/cpufreq/scaling_cur_freq");
    double khz;
    if (!(f >> khz)) break;
    s.mhz.push_back(khz / 1000.0);
  }
  if (s.mhz.empty()) {
    std::ifstream ci("/proc/cpuinfo");
    for (std::string line; std::getline(ci, line);)
      if (line.starts_with("cpu MHz")) s.mhz.push_back(std::stod(line.substr(line.find(':') + 1)));
  }
  return s;
}

double other_busy_fraction(const CpuSample& a, const CpuSample& b) {
  // Jiffies are 10 ms: below ~50 of them (a quarter second on two CPUs) the fraction is mostly rounding.
  if (!a.valid || !b.valid || b.total < a.total + 50) return -1;
  double total = static_cast<double>(b.total - a.total);
  double busy = total - static_cast<double>(b.idle - a.idle);
  double self = static_cast<double>(b.self - a.self);
  return std::clamp((busy - self) / total, 0.0, 1.0);
}

double clock_spread(const std::vector<CpuSample>& samples) {
  double lo = 1e30, hi = 0;
  for (const auto& s : samples)
    for (double m : s.mhz) {
      lo = std::min(lo, m);
      hi = std::max(hi, m);
    }
  if (hi <= 0) return -1;
  return (hi - lo) / hi;
}

std::string emulation_hint() {
  std::string ci = slurp("/proc/cpuinfo");
  if (ci.find("QEMU") != std::string::npos) return "qemu-system";
#if defined(__aarch64__)
  // qemu-user passes the host's /proc/cpuinfo through: an x86 description under an arm64 binary.
  if (ci.find("vendor_id") != std::string::npos) return "qemu-user";
#elif defined(__x86_64__)
  if (ci.find("CPU implementer") != std::string::npos) return "emulated x86_64";
#endif
  // qemu-user exports its own settings to the environment only when asked; check the common ones.
  for (const char* v : {"QEMU_CPU", "QEMU_LD_PREFIX"})
    if (getenv(v)) return std::string("qemu-user (") + v + " set)";
  return "";
}

std::vector<std::string> static_warnings() {
  std::vector<std::string> w;
  std::string bt = ORTKIT_BUILD_TYPE;
  if (bt != "Release" && bt != "RelWithDebInfo")
    w.push_back("non-release build (" + (bt.empty() ? std::string("no build type") : bt) +
                "): timings are not representative; rebuild with -DCMAKE_BUILD_TYPE=Release");
  std::string emu = emulation_hint();
  if (!emu.empty()) w.push_back("running under emulation (" + emu + "): timings are meaningless");
  return w;
}

}  // namespace ortkit::bench
