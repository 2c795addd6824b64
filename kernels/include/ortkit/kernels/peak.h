// Measured peak throughput of the instruction a GEMM kernel is built on, so benchmarks report "% of
// what this core can do" from a measurement on this machine, not from a datasheet.
//
// A probe runs a short loop of independent accumulator chains of one instruction (zmm FMA, vdpbf16ps,
// vpdpbusd, ...) on the calling thread; callers run it on every thread at once to get the multi-core
// peak (clocks drop when more cores are busy, which a per-core figure times T would hide).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "ortkit/kernels/registry.h"

namespace ortkit::kernels {

struct PeakProbe {
  const char* instruction = nullptr;  ///< "vfmadd231ps zmm", "vdpbf16ps zmm", "vpdpbusd zmm", ...; null: none
  /// Runs `iters` loop iterations; returns the number of flops (or int ops) executed. The result is
  /// written through `sink` so the loop is not optimized away.
  uint64_t (*run)(uint64_t iters, float* sink) = nullptr;
};

/// The probe matching a kernel's ISA and kind (empty when there is none, e.g. reference kernels).
PeakProbe peak_probe_for(const GemmKernel& k);

/// A clock in seconds; null means std::chrono::steady_clock (wall time). Benchmarks on a shared machine
/// pass a thread-CPU-time clock so that time spent descheduled is not counted.
using ClockFn = double (*)();

/// Ops per second of `probe` on the calling thread, timed over about `seconds` (best of 3 runs).
double measure_peak(const PeakProbe& probe, double seconds, ClockFn clock = nullptr);

/// x86 probes (kernels/x86/peak_x86.cpp) and arm64 probes (kernels/arm64/peak_arm64.cpp), each built on
/// its own architecture only.
PeakProbe peak_probe_x86(const GemmKernel& k);
PeakProbe peak_probe_arm64(const GemmKernel& k);

/// Reads `bytes` (a multiple of 64, 64-byte aligned) with the widest loads this CPU has and returns a
/// checksum: the read-bandwidth probe that small-M GEMMs (which stream B once) are compared with.
using StreamReadFn = uint64_t (*)(const void* p, size_t bytes);
StreamReadFn stream_read_fn();
StreamReadFn stream_read_fn_x86();  ///< null when no SIMD variant applies

}  // namespace ortkit::kernels
