// Peer GEMM timings at the shapes `ort-bench gemm` measures: oneDNN (dnnl_sgemm, and the matmul
// primitive for bf16 and u8 x s8 -> f32) and OpenBLAS cblas_sgemm. Thread count comes from the
// environment (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS), set by run.sh per point.
// Output: one CSV line per (library, precision, shape): median seconds and GOP/s, wall and CPU clock.
// --cold-b: consecutive calls read different copies of B, a ring spanning 256 MiB, as `ort-bench gemm
// --cold-b` does: B from memory, as a model's weights in a decode step.
// Built outside the main build (optional dependencies): see build.sh.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <random>
#include <string>
#include <vector>

#ifdef HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif
#ifdef HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace {

double wall() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double cpu() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// Median over `repeats` samples of >= 20 ms each; `cpu_div` turns process CPU time into per-thread time.
void time_it(const char* lib, const char* prec, long m, long n, long k, int threads, int repeats,
             const std::function<void()>& f) {
  f();
  int inner = 1;
  for (;;) {
    const double t0 = wall();
    for (int i = 0; i < inner; ++i) f();
    const double dt = wall() - t0;
    if (dt >= 0.02 || inner > (1 << 20)) break;
    inner = std::max(inner + 1, static_cast<int>(inner * 0.02 / std::max(dt, 1e-9) * 1.2));
  }
  std::vector<double> w, c;
  for (int r = 0; r < repeats; ++r) {
    const double w0 = wall(), c0 = cpu();
    for (int i = 0; i < inner; ++i) f();
    w.push_back((wall() - w0) / inner);
    c.push_back((cpu() - c0) / inner / threads);
  }
  std::sort(w.begin(), w.end());
  std::sort(c.begin(), c.end());
  const double ops = 2.0 * m * n * k;
  std::printf("%s,%s,%ld,%ld,%ld,%d,%.9g,%.2f,%.9g,%.2f\n", lib, prec, m, n, k, threads, w[w.size() / 2],
              ops / w[w.size() / 2] / 1e9, c[c.size() / 2], ops / c[c.size() / 2] / 1e9);
  std::fflush(stdout);
}

#ifdef HAVE_DNNL
// The same operand values as `ort-bench gemm` (lib/bench/gemm_bench.cpp): uniform random bytes for
// u8 / s8, uniform [-1, 1) rounded to bf16. Constant operands would let the multipliers toggle fewer
// bits than real data does.
void fill(dnnl::memory& a, dnnl::memory& b, bool int8, dnnl::engine& eng, dnnl::stream& s) {
  using namespace dnnl;
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  for (memory* m : {&a, &b}) {
    const memory::desc md = m->get_desc();
    if (int8) {
      auto* p = static_cast<uint8_t*>(m->get_data_handle());
      for (size_t i = 0; i < md.get_size(); ++i) p[i] = static_cast<uint8_t>(rng());
    } else {
      memory f({md.dims(), memory::data_type::f32, memory::format_tag::ab}, eng);
      auto* p = static_cast<float*>(f.get_data_handle());
      for (size_t i = 0; i < f.get_desc().get_size() / 4; ++i) p[i] = d(rng);
      reorder(f, *m).execute(s, f, *m);
      s.wait();
    }
  }
}

// Copies of a B of `bytes` in the --cold-b ring (one without it): as lib/bench/gemm_bench.cpp counts them.
size_t g_ring_span = 0;
size_t ring_size(size_t bytes) {
  if (g_ring_span == 0) return 1;
  return std::clamp<size_t>((g_ring_span + bytes - 1) / std::max<size_t>(bytes, 1), 1, 65536);
}

void run_matmul(const char* prec, long m, long n, long k, int threads, int repeats) {
  using namespace dnnl;
  using dt = memory::data_type;
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  const bool int8 = std::string(prec) == "int8";
  const dt a_dt = int8 ? dt::u8 : dt::bf16, b_dt = int8 ? dt::s8 : dt::bf16;
  memory::desc a_md({m, k}, a_dt, memory::format_tag::ab);
  memory::desc b_any({k, n}, b_dt, memory::format_tag::any);  // weights in oneDNN's preferred layout
  memory::desc c_md({m, n}, dt::f32, memory::format_tag::ab);
  primitive_attr attr;
  if (int8) attr.set_output_scales(0, {0.01f});
  matmul::primitive_desc pd(matmul::desc(a_md, b_any, c_md), attr, eng);
  memory a(a_md, eng), c(c_md, eng);
  memory b_plain({{k, n}, b_dt, memory::format_tag::ab}, eng);
  fill(a, b_plain, int8, eng, s);
  std::vector<memory> bs(ring_size(pd.weights_desc().get_size()));
  for (auto& b : bs) {
    b = memory(pd.weights_desc(), eng);
    reorder(b_plain, b).execute(s, b_plain, b);
  }
  size_t next = 0;
  auto weights = [&]() -> memory& {
    memory& b = bs[next];
    next = next + 1 == bs.size() ? 0 : next + 1;
    return b;
  };
  matmul mm(pd);
  s.wait();
  time_it("onednn_matmul", prec, m, n, k, threads, repeats, [&] {
    mm.execute(s, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, weights()}, {DNNL_ARG_DST, c}});
    s.wait();
  });
  if (int8) return;
  // The same work as ortkit's bf16 fast math, which takes fp32 activations: a reorder of A to bf16, then
  // the matmul. oneDNN 2.6 has no cheaper way in: an f32 matmul with fpmath_mode bf16 still picks its
  // fp32 kernel on AVX512_BF16 (brg:avx512_core, ~0.4x the bf16 kernel's speed, checked by hand).
  memory a_f32({{m, k}, dt::f32, memory::format_tag::ab}, eng);
  reorder(a, a_f32).execute(s, a, a_f32);
  s.wait();
  reorder to_bf16(a_f32, a);
  time_it("onednn_matmul_f32a", prec, m, n, k, threads, repeats, [&] {
    to_bf16.execute(s, a_f32, a);
    mm.execute(s, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, weights()}, {DNNL_ARG_DST, c}});
    s.wait();
  });
}
#endif

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: peer_gemm THREADS REPEATS [--cold-b] MxNxK...\n");
    return 2;
  }
  const int threads = std::atoi(argv[1]), repeats = std::atoi(argv[2]);
  for (int i = 3; i < argc; ++i) {
    if (std::string(argv[i]) == "--cold-b") {
      g_ring_span = size_t{256} << 20;
      continue;
    }
    long m, n, k;
    if (std::sscanf(argv[i], "%ldx%ldx%ld", &m, &n, &k) != 3) {
      std::fprintf(stderr, "peer_gemm: bad shape '%s'\n", argv[i]);
      return 2;
    }
    std::vector<float> a(m * k), c(m * n);
    std::vector<std::vector<float>> bs(ring_size(sizeof(float) * k * n), std::vector<float>(k * n));
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> d(-1, 1);
    for (auto& x : a) x = d(rng);
    for (auto& x : bs[0]) x = d(rng);
    for (auto& b : bs) b = bs[0];
    size_t next = 0;
    auto weights = [&]() -> const float* {
      const float* b = bs[next].data();
      next = next + 1 == bs.size() ? 0 : next + 1;
      return b;
    };
#ifdef HAVE_DNNL
    time_it("onednn_sgemm", "fp32", m, n, k, threads, repeats,
            [&] { dnnl_sgemm('N', 'N', m, n, k, 1.f, a.data(), k, weights(), n, 0.f, c.data(), n); });
    run_matmul("bf16", m, n, k, threads, repeats);
    run_matmul("int8", m, n, k, threads, repeats);
#endif
#ifdef HAVE_OPENBLAS
    time_it("openblas_sgemm", "fp32", m, n, k, threads, repeats, [&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.f, a.data(), k, weights(), n, 0.f,
                  c.data(), n);
    });
#endif
  }
  return 0;
}
