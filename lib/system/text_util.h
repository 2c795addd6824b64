// Small text helpers for the recorded-file parsers of lib/system (internal).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ortkit::cpuinfo::detail {

/// Whole file, or nullopt when it does not exist or cannot be read.
std::optional<std::string> read_text(const std::string& path);
std::string trim(const std::string& s);
/// Integer from decimal or 0x-prefixed hex text; nullopt when not a number.
std::optional<uint64_t> parse_uint(const std::string& s);
/// {0,1,2,3,8} -> "0-3,8" (the kernel's cpuset list format).
std::string format_cpu_list(const std::vector<int>& cpus);
/// "48 KiB", "1 MiB", "24.0 GiB".
std::string human_bytes(uint64_t bytes);

}  // namespace ortkit::cpuinfo::detail
