// What the machine was doing while we measured: other processes' CPU use (/proc/stat), the clock
// frequency (cpufreq or /proc/cpuinfo MHz), the build type and emulation. Each becomes a warning in the
// report, because a number measured under those conditions should not be trusted or compared.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ortkit::bench {

struct CpuSample {
  bool valid = false;
  uint64_t total = 0, idle = 0;  ///< all CPUs, jiffies (/proc/stat "cpu" line)
  uint64_t self = 0;             ///< this process's utime + stime, jiffies
  std::vector<double> mhz;       ///< per-CPU frequency, empty if not readable
};

CpuSample sample_cpu();

/// Fraction of all CPUs' time spent by other processes between two samples (0..1); -1 if unknown or
/// if the samples are too close (under 50 jiffies of CPU time) to say.
double other_busy_fraction(const CpuSample& a, const CpuSample& b);
/// Relative spread (max-min)/max of all frequencies seen in the samples, -1 if unknown.
double clock_spread(const std::vector<CpuSample>& samples);

/// "qemu-user" / "qemu-system" / "" : is this binary running under emulation?
std::string emulation_hint();

/// Warnings that hold for the whole run: non-Release build, emulation.
std::vector<std::string> static_warnings();

}  // namespace ortkit::bench
