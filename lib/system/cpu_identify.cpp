// CPU identity from /proc/cpuinfo text: vendor, model name, microarchitecture (x86 family/model tables,
// arm64 MIDR implementer/part) and the feature set implied by its flags/Features line.
#include <cstdio>
#include <iterator>
#include <sstream>

#include "ortkit/cpuinfo.h"
#include "ortkit/error.h"
#include "system/text_util.h"

namespace ortkit::cpuinfo {

using detail::parse_uint;
using detail::trim;
using kernels::Feature;

std::vector<std::pair<std::string, std::string>> parse_cpuinfo_block(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  bool seen_processor = false;
  for (std::string line; std::getline(in, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) {
      // A blank line ends the first processor block (arm64 puts shared "Hardware" lines at the end, but
      // everything we need is in the per-CPU block).
      if (trim(line).empty() && seen_processor && !out.empty()) break;
      continue;
    }
    std::string key = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (key == "processor") seen_processor = true;
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

namespace {
std::string field(const std::vector<std::pair<std::string, std::string>>& kv, const std::string& key) {
  for (const auto& [k, v] : kv)
    if (k == key) return v;
  return "";
}
int int_field(const std::vector<std::pair<std::string, std::string>>& kv, const std::string& key) {
  const auto v = parse_uint(field(kv, key));
  return v ? static_cast<int>(*v) : -1;
}
bool in(int m, int lo, int hi) {
  return m >= lo && m <= hi;
}
}  // namespace

std::string x86_microarchitecture(const std::string& vendor, int family, int m, int stepping) {
  if (vendor == "AMD") {
    if (family == 0x17) {
      if (m == 0x08 || m == 0x18) return "Zen+";
      if (in(m, 0x00, 0x2f)) return "Zen";
      return "Zen 2";  // 0x30-0x3f Rome, 0x60-0x7f Renoir/Matisse, 0x90-0xaf Van Gogh/Mendocino
    }
    if (family == 0x19) {
      if (in(m, 0xa0, 0xaf)) return "Zen 4c";
      if (in(m, 0x10, 0x1f) || in(m, 0x60, 0x7f)) return "Zen 4";
      return "Zen 3";  // 0x00-0x0f Milan, 0x20-0x2f Vermeer, 0x40-0x5f Rembrandt/Cezanne
    }
    if (family == 0x1a) return "Zen 5";
    if (family == 0x15) return "Bulldozer family";
    return "";
  }
  if (vendor != "Intel" || family != 6) return "";
  switch (m) {
    case 0x3c:
    case 0x45:
    case 0x46: return "Haswell";
    case 0x3f: return "Haswell-EP";
    case 0x3d:
    case 0x47: return "Broadwell";
    case 0x4f:
    case 0x56: return "Broadwell-EP";
    case 0x4e:
    case 0x5e: return "Skylake";
    case 0x55:
      if (stepping >= 10) return "Cooper Lake";
      if (stepping >= 5) return "Cascade Lake";
      return "Skylake-SP";
    case 0x8e:
    case 0x9e: return "Kaby Lake / Coffee Lake";
    case 0x7d:
    case 0x7e: return "Ice Lake";
    case 0x6a:
    case 0x6c: return "Ice Lake-SP";
    case 0x8c:
    case 0x8d: return "Tiger Lake";
    case 0x97:
    case 0x9a: return "Alder Lake";
    case 0xb7:
    case 0xba:
    case 0xbf: return "Raptor Lake";
    case 0xaa:
    case 0xac: return "Meteor Lake";
    case 0x8f: return "Sapphire Rapids";
    case 0xcf: return "Emerald Rapids";
    case 0xad:
    case 0xae: return "Granite Rapids";
    case 0xaf: return "Sierra Forest";
    default: return "";
  }
}

std::string x86_codename(const std::string& vendor, int family, int model) {
  if (vendor != "AMD") return "";
  if (family == 0x17 && model == 0x01) return "Naples";
  if (family == 0x17 && model == 0x31) return "Rome";
  if (family == 0x19 && model == 0x01) return "Milan";
  if (family == 0x19 && model == 0x11) return "Genoa";
  if (family == 0x19 && model == 0xa0) return "Bergamo";
  if (family == 0x1a && model == 0x02) return "Turin";
  if (family == 0x1a && model == 0x11) return "Turin Dense";
  return "";
}

ArmPart arm_part(int implementer, int part) {
  switch (implementer) {
    case 0x41: {
      ArmPart p{"ARM", "", ""};
      switch (part) {
        case 0xd03: p.core = "Cortex-A53"; break;
        case 0xd05: p.core = "Cortex-A55"; break;
        case 0xd07: p.core = "Cortex-A57"; break;
        case 0xd08: p.core = "Cortex-A72"; break;
        case 0xd0b: p.core = "Cortex-A76"; break;
        case 0xd0c:
          p.core = "Neoverse N1";
          p.product = "AWS Graviton2";
          break;
        case 0xd0d: p.core = "Cortex-A77"; break;
        case 0xd40:
          p.core = "Neoverse V1";
          p.product = "AWS Graviton3";
          break;
        case 0xd41: p.core = "Cortex-A78"; break;
        case 0xd44: p.core = "Cortex-X1"; break;
        case 0xd46: p.core = "Cortex-A510"; break;
        case 0xd47: p.core = "Cortex-A710"; break;
        case 0xd48: p.core = "Cortex-X2"; break;
        case 0xd49: p.core = "Neoverse N2"; break;
        case 0xd4a: p.core = "Neoverse E1"; break;
        case 0xd4f:
          p.core = "Neoverse V2";
          p.product = "AWS Graviton4";
          break;
        case 0xd80: p.core = "Cortex-A520"; break;
        case 0xd81: p.core = "Cortex-A720"; break;
        case 0xd82: p.core = "Cortex-X4"; break;
        case 0xd84: p.core = "Neoverse V3"; break;
        case 0xd8e: p.core = "Neoverse N3"; break;
        default: break;
      }
      return p;
    }
    case 0xc0: return {"Ampere", part == 0xac3 ? "AmpereOne" : part == 0xac4 ? "AmpereOne A" : "", ""};
    case 0x48: return {"HiSilicon", part == 0xd01 ? "TaiShan v110" : "", part == 0xd01 ? "Kunpeng 920" : ""};
    case 0x46: return {"Fujitsu", part == 0x001 ? "A64FX" : "", ""};
    case 0x4e: return {"NVIDIA", "", ""};
    case 0x51: return {"Qualcomm", "", ""};
    case 0x61: return {"Apple", "", ""};
    default: return {};
  }
}

std::pair<uint64_t, uint64_t> arm64_hwcaps_from_features(const std::string& features_line) {
  // Linux uapi asm/hwcap.h bit numbers, by the names /proc/cpuinfo prints.
  static const char* const kHwcap[] = {
      "fp",      "asimd", "evtstrm", "aes",   "pmull",    "sha1",   "sha2", "crc32",
      "atomics", "fphp",  "asimdhp", "cpuid", "asimdrdm", "jscvt",  "fcma", "lrcpc",
      "dcpop",   "sha3",  "sm3",     "sm4",   "asimddp",  "sha512", "sve",  "asimdfhm",
      "dit",     "uscat", "ilrcpc",  "flagm", "ssbs",     "sb",     "paca", "pacg"};
  static const char* const kHwcap2[] = {"dcpodp",  "sve2",   "sveaes", "svepmull", "svebitperm", "svesha3",
                                        "svesm4",  "flagm2", "frint",  "svei8mm",  "svef32mm",   "svef64mm",
                                        "svebf16", "i8mm",   "bf16",   "dgh",      "rng",        "bti",
                                        "mte",     "ecv",    "afp",    "rpres",    "mte3",       "sme"};
  uint64_t hw = 0, hw2 = 0;
  std::istringstream ss(features_line);
  for (std::string w; ss >> w;) {
    for (size_t i = 0; i < std::size(kHwcap); ++i)
      if (w == kHwcap[i]) hw |= uint64_t{1} << i;
    for (size_t i = 0; i < std::size(kHwcap2); ++i)
      if (w == kHwcap2[i]) hw2 |= uint64_t{1} << i;
  }
  return {hw, hw2};
}

kernels::X86CpuidRegs x86_regs_from_flags(const std::string& flags_line) {
  // Linux drops a flag when the OS does not enable its register state, so a listed flag implies the
  // matching XCR0 bits.
  kernels::X86CpuidRegs r;
  r.max_leaf = 0xd;
  std::istringstream ss(flags_line);
  for (std::string w; ss >> w;) {
    auto l1 = [&](int b) { r.l1_ecx |= 1u << b; };
    if (w == "sse4_2")
      l1(20);
    else if (w == "fma")
      l1(12);
    else if (w == "f16c")
      l1(29);
    else if (w == "avx") {
      l1(28);
      l1(27);
      r.xcr0 |= 0x7;
    } else if (w == "avx2")
      r.l7_ebx |= 1u << 5;
    else if (w == "avx512f") {
      r.l7_ebx |= 1u << 16;
      r.xcr0 |= 0xe7;
    } else if (w == "avx512dq")
      r.l7_ebx |= 1u << 17;
    else if (w == "avx512bw")
      r.l7_ebx |= 1u << 30;
    else if (w == "avx512vl")
      r.l7_ebx |= 1u << 31;
    else if (w == "avx512_vnni")
      r.l7_ecx |= 1u << 11;
    else if (w == "avx512_fp16")
      r.l7_edx |= 1u << 23;
    else if (w == "amx_bf16")
      r.l7_edx |= 1u << 22;
    else if (w == "amx_tile") {
      r.l7_edx |= 1u << 24;
      r.xcr0 |= 0x60000;
    } else if (w == "amx_int8")
      r.l7_edx |= 1u << 25;
    else if (w == "avx_vnni")
      r.l7s1_eax |= 1u << 4;
    else if (w == "avx512_bf16")
      r.l7s1_eax |= 1u << 5;
  }
  if (r.xcr0 & 0x60000) r.l1_ecx |= 1u << 27;  // AMX state implies OSXSAVE
  return r;
}

kernels::X86CpuidRegs parse_cpuid_text(const std::string& text) {
  kernels::X86CpuidRegs r;
  std::istringstream in(text);
  int lineno = 0;
  for (std::string line; std::getline(in, line);) {
    ++lineno;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const size_t sep = line.find_first_of(":=");
    const auto v = sep == std::string::npos ? std::nullopt : parse_uint(line.substr(sep + 1));
    if (!v) throw Error("line " + std::to_string(lineno) + " is not 'name: 0xvalue'", "cpuid.txt");
    const std::string k = trim(line.substr(0, sep));
    const uint32_t v32 = static_cast<uint32_t>(*v);
    if (k == "max_leaf")
      r.max_leaf = v32;
    else if (k == "l1_ecx")
      r.l1_ecx = v32;
    else if (k == "l1_edx")
      r.l1_edx = v32;
    else if (k == "l7_ebx")
      r.l7_ebx = v32;
    else if (k == "l7_ecx")
      r.l7_ecx = v32;
    else if (k == "l7_edx")
      r.l7_edx = v32;
    else if (k == "l7s1_eax")
      r.l7s1_eax = v32;
    else if (k == "xcr0")
      r.xcr0 = *v;
    else if (k == "l1_eax")
      continue;  // signature: family/model also come from cpuinfo.txt
    else
      throw Error("unknown register '" + k + "' on line " + std::to_string(lineno), "cpuid.txt");
  }
  return r;
}

CpuId identify_cpu(const std::string& cpuinfo_text, const std::string& arch_hint) {
  const auto kv = parse_cpuinfo_block(cpuinfo_text);
  CpuId id;
  id.arch = arch_hint;
  if (id.arch.empty()) id.arch = !field(kv, "CPU implementer").empty() ? "arm64" : "x86_64";
  if (id.arch == "arm64") {
    id.implementer = int_field(kv, "CPU implementer");
    id.part = int_field(kv, "CPU part");
    id.variant = int_field(kv, "CPU variant");
    id.revision = int_field(kv, "CPU revision");
    const ArmPart p = arm_part(id.implementer, id.part);
    id.vendor = p.vendor.empty() ? "unknown" : p.vendor;
    id.microarchitecture = p.core;
    id.product = p.product;
    id.model_name = field(kv, "model name");
    if (id.model_name.empty()) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "part 0x%03x", id.part < 0 ? 0 : id.part);
      id.model_name = p.core.empty() ? id.vendor + " " + buf : id.vendor + " " + p.core;
    }
    const auto [hw, hw2] = arm64_hwcaps_from_features(field(kv, "Features"));
    id.features = kernels::features_from_arm64_hwcap(hw, hw2, 0);
  } else {
    const std::string v = field(kv, "vendor_id");
    id.vendor = v == "AuthenticAMD" ? "AMD" : v == "GenuineIntel" ? "Intel" : v.empty() ? "unknown" : v;
    id.model_name = field(kv, "model name");
    id.family = int_field(kv, "cpu family");
    id.model = int_field(kv, "model");
    id.stepping = int_field(kv, "stepping");
    id.microarchitecture = x86_microarchitecture(id.vendor, id.family, id.model, id.stepping);
    id.product = x86_codename(id.vendor, id.family, id.model);
    id.features = kernels::features_from_x86(x86_regs_from_flags(field(kv, "flags")));
  }
  return id;
}

}  // namespace ortkit::cpuinfo
