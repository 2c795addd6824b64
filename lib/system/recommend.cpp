// Recommendations: thread counts and the settings the vendor tuning guides (AWS Graviton getting-started,
// oneDNN, PyTorch, ONNX Runtime) give for CPU inference, each tied to a fact of this machine.
#include <algorithm>

#include "ortkit/cpuinfo.h"

namespace ortkit::cpuinfo {

using kernels::Feature;

namespace {

bool has_bf16_hw(const CpuId& c) {
  return c.features.has(Feature::bf16) || c.features.has(Feature::avx512bf16) ||
         c.features.has(Feature::amx_bf16);
}

std::string bf16_feature(const CpuId& c) {
  if (c.features.has(Feature::amx_bf16)) return "amx-bf16";
  if (c.features.has(Feature::avx512bf16)) return "avx512bf16";
  return "bf16 (BFMMLA)";
}

std::string int8_feature(const CpuId& c) {
  for (Feature f :
       {Feature::amx_int8, Feature::avx512vnni, Feature::avxvnni, Feature::i8mm, Feature::asimddp})
    if (c.features.has(f)) return kernels::feature_name(f);
  return "";
}

}  // namespace

std::vector<Recommendation> recommendations(const MachineInfo& m, int processes) {
  processes = std::max(1, processes);
  std::vector<Recommendation> r;
  const int vcpus = m.usable_vcpus();
  const int threads = std::max(1, vcpus / processes);
  const std::string t = std::to_string(threads);
  const bool smt = m.topology.cores > 0 && m.topology.pus > m.topology.cores;

  std::string why = std::to_string(processes) + (processes == 1 ? " process uses " : " processes share ") +
                    std::to_string(vcpus) + " usable vCPUs";
  if (m.os.quota.cpus > 0) why += " (capped by the cgroup quota)";
  why += processes == 1 ? ": one thread per vCPU, so no thread waits for a core"
                        : ": one thread per vCPU each, so no thread waits for a core";
  if (processes > vcpus) why += "; more processes than vCPUs oversubscribe the CPU, expect queueing";
  const int physical = std::max(1, std::min(m.topology.cores, vcpus) / processes);
  if (smt && physical < threads)
    why += "; SMT siblings share a core's FMA units, so GEMM-bound runs may do as well with " +
           std::to_string(physical) + " (one per physical core)";
  r.push_back({"threads_per_process", t, "ortkit (ort-bench --threads)", why});
  std::string omp_why = "OpenMP starts one thread per online CPU (" + std::to_string(m.topology.pus) + ")";
  if (processes > 1)
    omp_why += ", which oversubscribes with " + std::to_string(processes) + " processes";
  else if (vcpus < m.topology.pus)
    omp_why += ", more than the " + std::to_string(vcpus) + " this process may use";
  omp_why += "; match threads_per_process";
  r.push_back({"OMP_NUM_THREADS", t, "OpenMP frameworks (PyTorch, oneDNN, TensorFlow)", omp_why});
  r.push_back({"OMP_PROC_BIND", "false", "OpenMP frameworks",
               processes > 1
                   ? "with several processes, bound threads of each process pile onto the same first "
                     "cores; let the scheduler spread them"
                   : "unbound threads go wherever the cpuset allows; a framework that turns "
                     "binding on may pin them to cores the container does not own"});
  r.push_back({"OMP_PLACES", "cores", "OpenMP frameworks",
               smt ? "one place per physical core keeps two compute threads off the SMT siblings of one core"
                   : "one place per core (no SMT here): threads never share a core's units"});
  if (has_bf16_hw(m.cpu)) {
    r.push_back({"DNNL_DEFAULT_FPMATH_MODE", "BF16", "oneDNN (PyTorch, TensorFlow)",
                 "the CPU has " + bf16_feature(m.cpu) +
                     ": fp32 GEMMs and convolutions then run with bf16 inputs and fp32 accumulation, often "
                     "~2x faster at a small accuracy cost"});
    if (m.cpu.arch == "arm64")
      r.push_back(
          {"mlas.enable_gemm_fastmath_arm64_bfloat16", "1", "ONNX Runtime (session config entry)",
           "arm64 with BF16: MLAS runs fp32 MatMul/GEMM with BFMMLA (bf16 inputs, fp32 accumulation); "
           "onnxruntime_perf_test -C \"mlas.enable_gemm_fastmath_arm64_bfloat16|1\""});
    // Only where ortkit has a bf16 kernel for this CPU that it runs (not the reference, and not the f32
    // kernel bf16 fast math falls back to where vdpbf16ps is slower than FMA): ortkit has no AMX kernels.
    for (const KernelChoice& k : m.kernels)
      if (k.precision == "bf16" && k.gemm == "bf16" && !k.chosen.empty() && k.isa != "ref")
        r.push_back({"ortkit_precision_bf16", "--precision bf16", "ortkit",
                     "ortkit's bf16 fast-math kernel " + k.chosen + " (" + k.isa + ") runs on this CPU"});
  }
  if (const std::string f = int8_feature(m.cpu); !f.empty())
    r.push_back({"ortkit_precision_int8", "--precision int8", "ortkit",
                 "int8 dot-product hardware (" + f + "): a quantized model's GEMMs run on int8 kernels"});
  r.push_back(
      {"LRU_CACHE_CAPACITY", "1024", "PyTorch",
       "keeps up to 1024 oneDNN primitives cached, so inputs of changing shape do not rebuild kernels "
       "on every call"});
  r.push_back({"THP_MEM_ALLOC_ENABLE", "1", "PyTorch",
               m.os.thp == "never"
                   ? "PyTorch then allocates tensors on transparent huge pages, but THP is off "
                     "here (never): set it to madvise first"
                   : "PyTorch allocates tensors on transparent huge pages (fewer TLB misses); "
                     "THP mode here is " +
                         (m.os.thp.empty() ? std::string("unknown") : m.os.thp)});
  r.push_back({"TF_ENABLE_ONEDNN_OPTS", "1", "TensorFlow",
               m.cpu.arch == "arm64"
                   ? "turns on oneDNN (with Arm Compute Library) CPU kernels, which older arm64 "
                     "TensorFlow builds leave off"
                   : "oneDNN CPU kernels (the default on x86 since TensorFlow 2.9; set it to be "
                     "sure)"});
  const std::string thp = m.os.thp.empty() ? "unknown" : m.os.thp;
  r.push_back({"transparent_hugepage", "madvise", "OS (/sys/kernel/mm/transparent_hugepage/enabled)",
               thp == "madvise"  ? "already madvise: programs that ask (PyTorch with THP_MEM_ALLOC_ENABLE, "
                                   "large arenas) get huge pages, others are unaffected"
               : thp == "always" ? "now always: fine for a dedicated inference host; madvise avoids memory "
                                   "bloat and compaction stalls for other programs"
                                 : "now " + thp +
                                       ": madvise lets large inference buffers use huge pages "
                                       "without changing other programs"});
  if (m.os.kernel_major > 0 && (m.os.kernel_major < 5 || (m.os.kernel_major == 5 && m.os.kernel_minor < 10)))
    r.push_back({"linux_kernel", ">= 5.10", "OS",
                 "running " + m.os.kernel_release + "; the Graviton guides advise 5.10 or newer"});
  if (!m.os.governor.empty() && m.os.governor != "performance")
    r.push_back({"scaling_governor", "performance", "OS (cpupower frequency-set -g performance)",
                 "governor '" + m.os.governor + "' lowers clocks between runs, which adds noise to timings"});
  return r;
}

}  // namespace ortkit::cpuinfo
