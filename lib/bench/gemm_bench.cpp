#include "bench/gemm_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>

#include "bench/thread_pool.h"
#include "ortkit/cpuinfo.h"
#include "ortkit/error.h"
#include "ortkit/kernels/epilogue.h"  // f32_to_bf16
#include "ortkit/kernels/gemm.h"
#include "ortkit/kernels/peak.h"
#include "ortkit/kernels/registry.h"
#include "ortkit/tensor.h"
#include "ortkit/version.h"

namespace ortkit::bench {

namespace k = ortkit::kernels;
using clock_type = std::chrono::steady_clock;

GemmShape parse_gemm_shape(const std::string& s) {
  static const std::regex re(R"(\s*(\d+)\s*[xX]\s*(\d+)\s*[xX]\s*(\d+)\s*)");
  std::smatch mt;
  if (!std::regex_match(s, mt, re))
    throw Error("bad GEMM shape '" + s + "': expected MxNxK, e.g. 128x768x768", "--shape");
  GemmShape g{std::stoll(mt[1]), std::stoll(mt[2]), std::stoll(mt[3])};
  if (g.m < 1 || g.n < 1 || g.k < 1 || g.m * g.n > (int64_t{1} << 31) || g.k * g.n > (int64_t{1} << 31) ||
      g.m * g.k > (int64_t{1} << 31))
    throw Error("GEMM shape '" + s + "' out of range: every dimension >= 1, products <= 2^31", "--shape");
  return g;
}

bool is_small_m(const GemmShape& s) {
  return s.m <= 16;
}

namespace {

double wall_now() {
  return std::chrono::duration<double>(clock_type::now().time_since_epoch()).count();
}
double cpu_clock(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
double thread_cpu_now() {
  return cpu_clock(CLOCK_THREAD_CPUTIME_ID);
}

k::GemmKind kind_of(const std::string& p) {
  if (p == "fp32" || p == "f32") return k::GemmKind::f32;
  if (p == "bf16" || p == "bf16a") return k::GemmKind::bf16;
  if (p == "int8" || p == "u8s8") return k::GemmKind::u8s8;
  throw Error("unknown precision '" + p + "': expected fp32, bf16, bf16a or int8", "--precision");
}

// Read bandwidth over `bytes` split across the pool's threads: the best of a few passes lasting >= 20 ms.
double read_bandwidth(BenchPool& pool, size_t bytes, bool cpu) {
  auto now = [&] { return cpu ? thread_cpu_now() : wall_now(); };  // see the sample clock below
  // Each thread reads its own 64-byte aligned slice with the widest loads the CPU has.
  const size_t per = std::max<size_t>(bytes / pool.threads() / 64 * 64, 4096);
  const size_t words = per / 8 * pool.threads();
  std::vector<uint64_t> buf(words + 8, 1);
  const uint64_t* base =
      reinterpret_cast<const uint64_t*>((reinterpret_cast<uintptr_t>(buf.data()) + 63) / 64 * 64);
  struct Ctx {
    const uint64_t* p;
    size_t per;
    k::StreamReadFn read;
    int threads, passes;
    std::atomic<uint64_t> sink{0};
  } ctx{base, per, k::stream_read_fn(), pool.threads(), 1};
  auto body = [](void* c, int t) {
    auto& x = *static_cast<Ctx*>(c);
    uint64_t s = 0;
    for (int i = 0; i < x.passes; ++i) s += x.read(x.p + x.per / 8 * t, x.per);
    x.sink += s;
  };
  pool.run_each(body, &ctx);  // warm: page-in and (for small buffers) cache fill
  double best = 0;
  for (int rep = 0; rep < 4; ++rep) {
    const double t0 = now();
    pool.run_each(body, &ctx);
    const double dt = now() - t0;
    if (dt < 0.02 && ctx.passes < (1 << 20)) {
      ctx.passes *= 2;
      --rep;
      continue;
    }
    best = std::max(best, double(per) * ctx.threads * ctx.passes / dt);
  }
  return best;
}

// Peak of the kernel's instruction with the probe running on every pool thread at once.
double pool_peak(BenchPool& pool, const k::PeakProbe& probe, double seconds, bool cpu) {
  struct Ctx {
    k::PeakProbe probe;
    double seconds;
    k::ClockFn clock;
    std::vector<double> rate;
  } ctx{probe, seconds, cpu ? thread_cpu_now : nullptr, std::vector<double>(pool.threads())};
  pool.run_each(
      [](void* c, int t) {
        auto& x = *static_cast<Ctx*>(c);
        x.rate[t] = k::measure_peak(x.probe, x.seconds, x.clock);
      },
      &ctx);
  double sum = 0;
  for (double r : ctx.rate) sum += r;
  return sum;
}

// Operands are engine tensors: 64-byte aligned, as a model run sees them and as oneDNN's are in
// scripts/peer_gemm. malloc's 16-byte alignment split every kernel's 128-byte row of C across three
// cache lines, two of them shared with the neighbouring tile: a cost no model run pays.
struct Operands {
  Tensor a;  // u8 for u8s8, bf16 for bf16a (A given in bf16: gemm_bf16), else f32
  Tensor c;
  std::vector<k::PackedB> b;  // one, or the cold_b ring: call i reads b[i % size]
  size_t next = 0;
};

// Copies of B in the cold_b ring: enough to span `span` bytes, at most 65536 (a tiny B's ring then
// spans less, and its calls cost more in the driver than in B anyway).
size_t ring_size(size_t b_bytes, size_t span) {
  return std::clamp<size_t>((span + b_bytes - 1) / std::max<size_t>(b_bytes, 1), 1, 65536);
}

// B packed by `pack` once, or (cold_b) into every copy of a ring spanning `span` bytes.
template <class Pack>
void pack_ring(std::vector<k::PackedB>& ring, bool cold_b, size_t span, Pack pack) {
  ring.resize(1);
  pack(ring[0]);
  if (cold_b) ring.resize(ring_size(ring[0].bytes(), span));
  for (size_t i = 1; i < ring.size(); ++i) pack(ring[i]);
}

Operands make_operands(const GemmShape& s, k::GemmKind kind, bool a_bf16, bool cold_b, size_t span) {
  Operands o;
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  o.c = Tensor(DType::f32, {s.m, s.n});
  if (kind == k::GemmKind::u8s8) {
    o.a = Tensor(DType::u8, {s.m, s.k});
    uint8_t* a = o.a.data_as<uint8_t>();
    for (int64_t i = 0; i < o.a.numel(); ++i) a[i] = static_cast<uint8_t>(rng());
    std::vector<int8_t> b(s.k * s.n);
    for (auto& v : b) v = static_cast<int8_t>(rng());
    const float scale = 0.01f;
    pack_ring(o.b, cold_b, span, [&](k::PackedB& p) {
      k::pack_b_int8(p, kind, k::BDesc{b.data(), s.k, s.n, s.n, false}, false, &scale, 1, nullptr, 0);
    });
  } else {
    o.a = Tensor(DType::f32, {s.m, s.k});
    float* a = o.a.data_as<float>();
    for (int64_t i = 0; i < o.a.numel(); ++i) a[i] = d(rng);
    std::vector<float> b(s.k * s.n);
    for (auto& v : b) v = d(rng);
    pack_ring(o.b, cold_b, span, [&](k::PackedB& p) {
      k::pack_b(p, kind, k::BDesc{b.data(), s.k, s.n, s.n, false});
    });
    if (a_bf16) {
      Tensor a16(DType::bf16, {s.m, s.k});
      uint16_t* p = a16.data_as<uint16_t>();
      for (int64_t i = 0; i < a16.numel(); ++i) p[i] = k::f32_to_bf16(a[i]);
      o.a = std::move(a16);
    }
  }
  return o;
}

void call_gemm(Operands& o, const GemmShape& s, k::GemmKind kind, const k::Threading& th) {
  const k::PackedB& b = o.b[o.next];
  o.next = o.next + 1 == o.b.size() ? 0 : o.next + 1;
  if (kind == k::GemmKind::u8s8)
    k::gemm_int8(s.m, o.a.data_as<uint8_t>(), s.k, k::QuantA{0.02f, 3}, b, o.c.data_as<float>(), s.n, nullptr,
                 0, {}, {}, th);
  else if (o.a.dtype() == DType::bf16)
    k::gemm_bf16(s.m, o.a.data_as<uint16_t>(), s.k, b, o.c.data_as<float>(), s.n, {}, th);
  else
    k::gemm_f32(s.m, o.a.data_as<float>(), s.k, b, o.c.data_as<float>(), s.n, {}, th);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

std::vector<GemmBenchResult> run_gemm_bench(const GemmBenchOptions& opt, std::ostream* log) {
  if (opt.shapes.empty()) throw Error("no GEMM shape given", "ort-bench gemm");
  if (opt.repeats < 1) throw Error("--repeats must be >= 1", "ort-bench gemm");
  for (int t : opt.threads)
    if (t < 1 || t > 1024)
      throw Error("thread count " + std::to_string(t) + " out of range 1..1024", "--threads");
  for (const auto& p : opt.precisions) kind_of(p);  // validate before any work
  if (opt.clock != "wall" && opt.clock != "cpu")
    throw Error("unknown clock '" + opt.clock + "': wall or cpu", "--clock");
  const bool cpu = opt.clock == "cpu";

  std::map<int, std::unique_ptr<BenchPool>> pools;
  auto pool_for = [&](int t) -> BenchPool& {
    auto& p = pools[t];
    if (!p) p = std::make_unique<BenchPool>(t);
    return *p;
  };
  std::map<std::pair<size_t, int>, double> bandwidths;
  auto bandwidth = [&](size_t bytes, int t) {
    auto key = std::make_pair(bytes, t);
    auto it = bandwidths.find(key);
    if (it != bandwidths.end()) return it->second;
    return bandwidths[key] = read_bandwidth(pool_for(t), bytes, cpu);
  };

  std::vector<GemmBenchResult> out;
  for (const GemmShape& s : opt.shapes) {
    for (const std::string& prec : opt.precisions) {
      const k::GemmKind kind = kind_of(prec);
      Operands o = make_operands(s, kind, prec == "bf16a", opt.cold_b, opt.dram_bytes);
      const k::GemmKernel& kern = *k::kernel_for_rows(o.b[0], s.m);
      for (int t : opt.threads) {
        BenchPool& pool = pool_for(t);
        const k::Threading th = pool.threading();
        GemmBenchResult r;
        r.shape = s;
        r.precision = prec;
        r.threads = t;
        r.kernel = kern.name;
        const k::PeakProbe probe = k::peak_probe_for(kern);
        r.peak_instruction = probe.instruction ? probe.instruction : "";
        // Calibrate: how many calls make one sample last sample_seconds.
        // One sample: `inner` calls, in wall seconds or in CPU seconds of the calling thread. The caller
        // takes part in every call and spins at the join, so its CPU time is the call's duration minus
        // time descheduled. (Process CPU / threads was wrong for calls the driver keeps on one thread:
        // the idle worker sleeps, accrues nothing, and halved the time.)
        auto now = [&] { return cpu ? thread_cpu_now() : wall_now(); };
        call_gemm(o, s, kind, th);
        int inner = 1;
        for (;;) {
          const double t0 = now();
          for (int i = 0; i < inner; ++i) call_gemm(o, s, kind, th);
          const double dt = now() - t0;
          if (dt >= opt.sample_seconds || inner >= (1 << 20)) break;
          inner = dt <= 0 ? inner * 16
                          : std::max(inner + 1, static_cast<int>(inner * opt.sample_seconds / dt * 1.2));
        }
        // Each sample follows a short probe of the instruction's peak on the same threads, and % of peak
        // is the median of the per-sample ratios: on a shared machine whose speed moves between levels,
        // a peak measured once per run could pair a fast probe with a slow GEMM (2-thread cells read
        // 75-106% from one run to the next that way).
        const double probe_seconds = std::max(opt.peak_seconds / opt.repeats, 1e-3);
        const double ops = 2.0 * s.m * s.n * s.k;
        std::vector<double> samples, peaks, fractions;
        for (int rep = 0; rep < opt.repeats; ++rep) {
          if (probe.run) peaks.push_back(pool_peak(pool, probe, probe_seconds, cpu));
          const double t0 = now();
          for (int i = 0; i < inner; ++i) call_gemm(o, s, kind, th);
          samples.push_back((now() - t0) / inner);
          if (probe.run && peaks.back() > 0) fractions.push_back(ops / samples.back() / peaks.back());
        }
        r.median_s = median(samples);
        r.min_s = *std::min_element(samples.begin(), samples.end());
        r.gops = ops / r.median_s / 1e9;
        r.peak_gops = peaks.empty() ? 0.0 : median(peaks) / 1e9;
        r.pct_peak = fractions.empty() ? 0.0 : 100.0 * median(fractions);
        r.b_bytes = static_cast<double>(o.b[0].bytes());
        r.b_gbs = r.b_bytes / r.median_s / 1e9;
        r.b_copies = static_cast<int>(o.b.size());
        if (opt.memory_bandwidth && is_small_m(s)) {
          r.mem_gbs = bandwidth(o.b[0].bytes(), t) / 1e9;
          r.dram_gbs = bandwidth(opt.dram_bytes, t) / 1e9;
        }
        if (log) {
          char line[256];
          std::snprintf(line, sizeof line, "%lldx%lldx%lld %-5s t=%d %-30s %9.1f GOP/s  %5.1f%% of %s\n",
                        static_cast<long long>(s.m), static_cast<long long>(s.n), static_cast<long long>(s.k),
                        prec.c_str(), t, r.kernel.c_str(), r.gops, r.pct_peak, r.peak_instruction.c_str());
          *log << line << std::flush;
        }
        out.push_back(r);
      }
    }
  }
  return out;
}

std::string gemm_bench_json(const GemmBenchOptions& opt, const std::vector<GemmBenchResult>& rs) {
  nlohmann::json j;
  j["tool"] = "ort-bench gemm";
  j["version"] = ORTKIT_VERSION;
  j["git_rev"] = ORTKIT_GIT_REV;
  j["build_type"] = ORTKIT_BUILD_TYPE;
  j["compiler"] = ORTKIT_COMPILER;
  j["cxx_flags"] = ORTKIT_CXX_FLAGS;
  j["machine"] = ortkit::cpuinfo::machine_json();
  nlohmann::json settings;
  settings["repeats"] = opt.repeats;
  settings["sample_seconds"] = opt.sample_seconds;
  settings["peak_seconds"] = opt.peak_seconds;
  settings["threads"] = opt.threads;
  settings["precisions"] = opt.precisions;
  settings["statistic"] = "median";
  settings["clock"] = opt.clock;
  settings["dram_probe_bytes"] = opt.dram_bytes;
  settings["cold_b"] = opt.cold_b;  // B from memory (a ring of copies), not from the last call's caches
  j["settings"] = settings;
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : rs) {
    nlohmann::json e;
    e["m"] = r.shape.m;
    e["n"] = r.shape.n;
    e["k"] = r.shape.k;
    e["precision"] = r.precision;
    e["threads"] = r.threads;
    e["kernel"] = r.kernel;
    e["median_s"] = r.median_s;
    e["min_s"] = r.min_s;
    e["gops"] = r.gops;
    e["peak_instruction"] = r.peak_instruction;
    e["peak_gops"] = r.peak_gops;
    e["pct_peak"] = r.pct_peak;
    e["b_bytes"] = r.b_bytes;
    e["b_gbs"] = r.b_gbs;
    e["b_copies"] = r.b_copies;
    if (r.mem_gbs > 0) {
      e["mem_gbs_same_size"] = r.mem_gbs;
      e["dram_gbs"] = r.dram_gbs;
    }
    arr.push_back(e);
  }
  j["results"] = arr;
  return j.dump(2) + "\n";
}

std::string gemm_bench_csv(const std::vector<GemmBenchResult>& rs) {
  std::ostringstream s;
  s << "m,n,k,precision,threads,kernel,median_s,min_s,gops,peak_gops,pct_peak,peak_instruction,b_bytes,b_gbs,"
       "mem_gbs_same_size,dram_gbs,b_copies\n";
  for (const auto& r : rs)
    s << r.shape.m << ',' << r.shape.n << ',' << r.shape.k << ',' << r.precision << ',' << r.threads << ','
      << r.kernel << ',' << r.median_s << ',' << r.min_s << ',' << r.gops << ',' << r.peak_gops << ','
      << r.pct_peak << ",\"" << r.peak_instruction << "\"," << r.b_bytes << ',' << r.b_gbs << ',' << r.mem_gbs
      << ',' << r.dram_gbs << ',' << r.b_copies << '\n';
  return s.str();
}

std::string gemm_bench_table(const std::vector<GemmBenchResult>& rs) {
  std::ostringstream s;
  char line[320];
  // B from memory (cold_b): its stream compares with the DRAM read, not with a read of B's size (cached).
  const bool cold =
      std::any_of(rs.begin(), rs.end(), [](const GemmBenchResult& r) { return r.b_copies > 1; });
  std::snprintf(line, sizeof line, "%-16s %-5s %3s %-30s %10s %9s %10s %10s %7s %9s %9s\n", "MxNxK", "prec",
                "thr", "kernel", "median_us", "min_us", "GOP/s", "peak", "%peak", "B GB/s",
                cold ? "dram GB/s" : "mem GB/s");
  s << line;
  for (const auto& r : rs) {
    const std::string shape =
        std::to_string(r.shape.m) + "x" + std::to_string(r.shape.n) + "x" + std::to_string(r.shape.k);
    char mem[32] = "-", bgs[32] = "-";
    if (r.mem_gbs > 0) {
      std::snprintf(mem, sizeof mem, "%.1f", r.b_copies > 1 ? r.dram_gbs : r.mem_gbs);
      std::snprintf(bgs, sizeof bgs, "%.1f", r.b_gbs);
    }
    std::snprintf(line, sizeof line, "%-16s %-5s %3d %-30s %10.1f %9.1f %10.1f %10.1f %6.1f%% %9s %9s\n",
                  shape.c_str(), r.precision.c_str(), r.threads, r.kernel.c_str(), r.median_s * 1e6,
                  r.min_s * 1e6, r.gops, r.peak_gops, r.pct_peak, bgs, mem);
    s << line;
  }
  return s.str();
}

}  // namespace ortkit::bench
