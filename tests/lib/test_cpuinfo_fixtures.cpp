// Recorded machines under tests/data/cpuinfo: each must come out with the right identity, features,
// topology, limits, kernel choices and advice.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "ortkit/cpuinfo.h"
#include "ortkit/error.h"
#include "ortkit/kernels/q4gemm.h"
#include "ortkit/kernels/registry.h"

using namespace ortkit::cpuinfo;
using ortkit::kernels::Feature;

namespace {

MachineInfo load(const std::string& name) {
  return from_fixture(std::string(ORTKIT_TEST_DATA) + "/cpuinfo/" + name);
}

const Recommendation* find_reco(const std::vector<Recommendation>& rs, const std::string& key) {
  for (const auto& r : rs)
    if (r.key == key) return &r;
  return nullptr;
}

// The one-line message a user sees ("where: what"), or "" when loading succeeds.
std::string fixture_error(const std::string& dir) {
  try {
    from_fixture(dir);
  } catch (const ortkit::Error& e) {
    return e.message();
  }
  return "";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool has_warning(const MachineInfo& m, const std::string& needle) {
  for (const auto& w : m.warnings)
    if (w.find(needle) != std::string::npos) return true;
  return false;
}

// Whatever this binary's kernel table holds: the chosen kernel runs on the fixture's CPU, and every better
// kernel before it in the table was rightly rejected (the CPU lacks a feature or the SVE length differs).
void check_kernel_choices(const MachineInfo& m) {
  using ortkit::kernels::GemmKind;
  REQUIRE(m.kernels.size() == 5);  // the four GEMM kinds, then MatMulNBits' 4-bit kernel
  const GemmKind kinds[] = {GemmKind::f32, GemmKind::bf16, GemmKind::u8s8, GemmKind::s8s8};
  for (int i = 0; i < 4; ++i) {
    const KernelChoice& c = m.kernels[i];
    INFO(c.precision << " " << c.gemm << " -> " << c.chosen);
    CHECK(c.gemm == ortkit::kernels::gemm_kind_name(kinds[i]));
    CHECK(m.cpu.features.has_all(c.chosen_features));
    const auto& table = ortkit::kernels::kernels_for(kinds[i]);
    size_t better = 0;
    for (; better < table.size() && c.chosen != table[better]->name; ++better) {
      const auto* k = table[better];
      const bool runnable = m.cpu.features.has_all(k->features) &&
                            (k->sve_bits == 0 || k->sve_bits == m.cpu.features.sve_vector_bits);
      CHECK_FALSE(runnable);
    }
    REQUIRE(better < table.size());
    CHECK(c.rejected.size() == better);
  }
  CHECK(m.kernels[0].precision == "fp32");
  CHECK(m.kernels[1].precision == "bf16");
  CHECK(m.kernels[2].precision == "int8");
  CHECK(m.kernels[4].gemm == "q4");
  CHECK(m.kernels[4].chosen == ortkit::kernels::choose_q4_kernel(m.cpu.features, "").name);
}

}  // namespace

TEST_CASE("cpuinfo: fixture graviton2: Neoverse N1, NEON dotprod, old kernel", "[cpuinfo][fixture]") {
  const MachineInfo m = load("graviton2");
  CHECK(m.cpu.arch == "arm64");
  CHECK(m.cpu.vendor == "ARM");
  CHECK(m.cpu.microarchitecture == "Neoverse N1");
  CHECK(m.cpu.product == "AWS Graviton2");
  CHECK(m.cpu.features.names() == std::vector<std::string>{"asimd", "asimddp"});
  CHECK(m.cpu.features.sve_vector_bits == 0);
  CHECK(m.topology.cores == 64);
  CHECK(m.topology.pus == 64);
  CHECK(m.os.kernel_major == 4);
  CHECK(m.os.thp == "always");
  CHECK(m.usable_vcpus() == 64);
  CHECK(has_warning(m, "older than 5.10"));
  const auto rs = recommendations(m, 4);
  CHECK(find_reco(rs, "threads_per_process")->value == "16");
  CHECK(find_reco(rs, "DNNL_DEFAULT_FPMATH_MODE") == nullptr);  // no bf16 on N1
  CHECK(find_reco(rs, "mlas.enable_gemm_fastmath_arm64_bfloat16") == nullptr);
  CHECK(find_reco(rs, "linux_kernel") != nullptr);
  CHECK(find_reco(rs, "ortkit_precision_int8")->reason.find("asimddp") != std::string::npos);
  check_kernel_choices(m);
#if defined(__aarch64__)
  for (const auto& c : m.kernels) CHECK(c.isa != "sve");  // N1 has no SVE whatever the table holds
#endif
}

TEST_CASE("cpuinfo: fixture graviton3: Neoverse V1, SVE 256, bf16, container limits", "[cpuinfo][fixture]") {
  const MachineInfo m = load("graviton3");
  CHECK(m.cpu.microarchitecture == "Neoverse V1");
  CHECK(m.cpu.product == "AWS Graviton3");
  CHECK(m.cpu.part == 0xd40);
  CHECK(m.cpu.features.names() == std::vector<std::string>{"asimd", "asimddp", "i8mm", "bf16", "sve"});
  CHECK(m.cpu.features.sve_vector_bits == 256);
  CHECK(m.topology.cores == 32);
  REQUIRE(m.topology.caches.size() == 3);
  CHECK(m.topology.caches[0].size_bytes == 64 * 1024);
  CHECK(m.topology.caches[1].size_bytes == 1u << 20);
  CHECK(m.topology.caches[2].pus_per_instance == 32);
  CHECK(m.os.quota.cgroup_version == 2);
  CHECK(m.os.quota.cpus == Approx(8.0));
  CHECK(m.os.allowed_cpus.size() == 16);
  CHECK(m.usable_vcpus() == 8);
  CHECK(has_warning(m, "quota"));
  CHECK(has_warning(m, "16 of 32"));
  CHECK_FALSE(has_warning(m, "older than 5.10"));
  const auto rs = recommendations(m, 2);
  CHECK(find_reco(rs, "threads_per_process")->value == "4");
  CHECK(find_reco(rs, "OMP_NUM_THREADS")->value == "4");
  CHECK(find_reco(rs, "DNNL_DEFAULT_FPMATH_MODE")->value == "BF16");
  CHECK(find_reco(rs, "mlas.enable_gemm_fastmath_arm64_bfloat16")->value == "1");
  CHECK(find_reco(rs, "TF_ENABLE_ONEDNN_OPTS")->value == "1");
  check_kernel_choices(m);
}

TEST_CASE("cpuinfo: fixture graviton4: Neoverse V2, SVE2 128", "[cpuinfo][fixture]") {
  const MachineInfo m = load("graviton4");
  CHECK(m.cpu.microarchitecture == "Neoverse V2");
  CHECK(m.cpu.product == "AWS Graviton4");
  CHECK(m.cpu.features.has(Feature::sve2));
  CHECK(m.cpu.features.has(Feature::i8mm));
  CHECK(m.cpu.features.has(Feature::bf16));
  CHECK(m.cpu.features.sve_vector_bits == 128);
  CHECK(m.topology.caches[1].size_bytes == 2u << 20);
  CHECK(m.topology.caches[2].size_bytes == 36u << 20);
  // The GEMM blocking follows the 2 MiB L2 (twice Zen 5's blocks).
  CHECK(m.gemm_blocking.source == "topology");
  CHECK(m.gemm_blocking.l2_bytes_per_thread == 2 << 20);
  CHECK(m.gemm_blocking.a_block_bytes == 1 << 20);
  CHECK(m.gemm_blocking.k_split_panel_bytes == 768 << 10);
  CHECK(m.os.quota.cgroup_version == 2);
  CHECK(m.os.quota.cpus == 0);  // "max": no limit
  CHECK(m.usable_vcpus() == 64);
  check_kernel_choices(m);
}

TEST_CASE("cpuinfo: fixture x86-avx512-server: Sapphire Rapids, AMX, SMT, cgroup v1 quota",
          "[cpuinfo][fixture]") {
  const MachineInfo m = load("x86-avx512-server");
  CHECK(m.cpu.arch == "x86_64");
  CHECK(m.cpu.vendor == "Intel");
  CHECK(m.cpu.family == 6);
  CHECK(m.cpu.model == 0x8f);
  CHECK(m.cpu.microarchitecture == "Sapphire Rapids");
  for (Feature f : {Feature::avx512f, Feature::avx512vnni, Feature::avx512bf16, Feature::avx512fp16,
                    Feature::amx_tile, Feature::amx_int8, Feature::amx_bf16, Feature::avxvnni})
    CHECK(m.cpu.features.has(f));
  // cpuid.txt and the flags line are two recordings of one CPU: they must agree.
  const CpuId from_flags =
      identify_cpu(slurp(std::string(ORTKIT_TEST_DATA) + "/cpuinfo/x86-avx512-server/cpuinfo.txt"));
  CHECK(from_flags.features.mask == m.cpu.features.mask);
  CHECK(m.topology.cores == 8);
  CHECK(m.topology.pus == 16);
  CHECK(m.os.quota.cgroup_version == 1);
  CHECK(m.usable_vcpus() == 4);
  const auto rs = recommendations(m, 1);
  CHECK(find_reco(rs, "threads_per_process")->value == "4");
  CHECK(find_reco(rs, "DNNL_DEFAULT_FPMATH_MODE")->reason.find("amx-bf16") != std::string::npos);
  CHECK(find_reco(rs, "mlas.enable_gemm_fastmath_arm64_bfloat16") == nullptr);  // x86
  check_kernel_choices(m);
}

TEST_CASE("cpuinfo: fixture x86-avx2: Zen 2 Rome, no AVX-512, THP off, schedutil", "[cpuinfo][fixture]") {
  const MachineInfo m = load("x86-avx2");
  CHECK(m.cpu.vendor == "AMD");
  CHECK(m.cpu.microarchitecture == "Zen 2");
  CHECK(m.cpu.product == "Rome");
  CHECK(m.cpu.features.names() == std::vector<std::string>{"sse4.2", "avx", "avx2", "fma", "f16c"});
  REQUIRE(m.topology.caches.size() == 3);
  CHECK(m.topology.caches[2].instances == 2);
  CHECK(m.topology.caches[2].pus_per_instance == 8);
  CHECK(m.topology.caches[2].size_bytes == 16u << 20);
  // Zen 2's 512 KiB L2 is shared by two SMT siblings: blocks for 256 KiB a thread.
  CHECK(m.gemm_blocking.l2_bytes_per_thread == 256 << 10);
  CHECK(m.gemm_blocking.a_block_bytes == 128 << 10);
  CHECK(m.os.thp == "never");
  CHECK(m.os.governor == "schedutil");
  CHECK(has_warning(m, "never"));
  CHECK(has_warning(m, "schedutil"));
  const auto rs = recommendations(m, 3);
  CHECK(find_reco(rs, "threads_per_process")->value == "5");
  CHECK(find_reco(rs, "DNNL_DEFAULT_FPMATH_MODE") == nullptr);
  CHECK(find_reco(rs, "ortkit_precision_int8") == nullptr);  // no VNNI on Zen 2
  CHECK(find_reco(rs, "scaling_governor")->value == "performance");
  CHECK(find_reco(rs, "transparent_hugepage")->reason.find("now never") != std::string::npos);
  CHECK(find_reco(rs, "threads_per_process")->reason.find("physical core") != std::string::npos);
  check_kernel_choices(m);
}

TEST_CASE("cpuinfo: fixture JSON document", "[cpuinfo][fixture]") {
  const auto j = to_json(load("graviton3"), 2);
  CHECK(j["schema_version"] == kSchemaVersion);
  CHECK(j["cpu"]["microarchitecture"] == "Neoverse V1");
  CHECK(j["cpu"]["part"] == "0xd40");
  CHECK(j["cpu"]["sve_vector_bits"] == 256);
  CHECK(j["os"]["usable_vcpus"] == 8);
  CHECK(j["os"]["allowed_cpus"] == "0-15");
  CHECK(j["os"]["allowed_cpu_count"] == 16);
  CHECK(j["os"]["cpu_quota"] == 8.0);
  CHECK(j["os"]["thp"] == "madvise");
  CHECK(j["kernels"].size() == 5);  // four GEMM kinds and the 4-bit weight kernel
  CHECK(j["gemm_blocking"]["l2_bytes_per_thread"] == 1 << 20);
  CHECK(j["gemm_blocking"]["a_block_bytes"] == 512 << 10);
  CHECK(j["gemm_blocking"]["source"] == "topology");
  CHECK(j["processes"] == 2);
  CHECK(j["recommendations"][0]["key"] == "threads_per_process");
  CHECK(j["recommendations"][0]["value"] == "4");
  const std::string text = to_text(load("graviton3"), 2);
  CHECK(text.find("AWS Graviton3") != std::string::npos);
  CHECK(text.find("SVE 256-bit") != std::string::npos);
  CHECK(text.find("threads_per_process=4") != std::string::npos);
  CHECK(text.find("blocking: A blocks of 512 KiB held in L2") != std::string::npos);
}

TEST_CASE("cpuinfo: bad fixtures fail with a clear error", "[cpuinfo][fixture]") {
  CHECK_THROWS_AS(from_fixture("/nonexistent/fixture"), ortkit::Error);
  // A directory without cpuinfo.txt.
  CHECK_THAT(fixture_error(std::string(ORTKIT_TEST_DATA) + "/cpuinfo"), Catch::Contains("cpuinfo.txt"));
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(ORTKIT_BINARY_DIR) / "cpuinfo_bad_fixture";
  fs::create_directories(dir);
  fs::copy_file(fs::path(ORTKIT_TEST_DATA) / "cpuinfo/graviton3/cpuinfo.txt", dir / "cpuinfo.txt",
                fs::copy_options::overwrite_existing);
  std::ofstream(dir / "hwcap") << "AT_HWCAP: 0xzz\n";
  CHECK_THAT(fixture_error(dir.string()), Catch::Contains("hwcap") && Catch::Contains("0xzz"));
  std::ofstream(dir / "hwcap") << "sve_vl: 32\n";  // only the length: features from the Features line
  CHECK(from_fixture(dir.string()).cpu.features.sve_vector_bits == 256);
  fs::create_directories(dir / "sys");
  std::ofstream(dir / "sys/cpuset.cpus.effective") << "7-3\n";
  CHECK_THROWS_AS(from_fixture(dir.string()), ortkit::Error);
  fs::remove_all(dir);
}
