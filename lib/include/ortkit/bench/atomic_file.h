// Files appear whole or not at all: write a temporary file next to the target, then rename(2).
#pragma once
#include <string>

namespace ortkit::bench {

/// Writes `content` to `path` atomically; throws Error naming the path when it cannot.
void write_file_atomic(const std::string& path, const std::string& content);
/// Throws Error now if `path` cannot be written later (missing directory, no permission), leaving nothing
/// behind, so a long sweep does not end in a lost report.
void check_writable(const std::string& path);

}  // namespace ortkit::bench
