// Reading and atomic writing of files, and the ranges JSON.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ortkit/error.h"
#include "ortkit/quantize.h"

namespace ortkit {

std::string read_file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot open for reading", path);
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw Error("read failed", path);
  return ss.str();
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  namespace fs = std::filesystem;
  fs::path p(path);
  fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  if (!fs::is_directory(dir)) throw Error("output folder does not exist", dir.string());
  // Same folder as the target, so rename() is atomic; the pid keeps parallel writers apart.
  // (fmt, not operator+: GCC 12 warns -Wrestrict on "." + std::string, a known false positive.)
  fs::path tmp = dir / fmt::format(".{}.tmp{}", p.filename().string(), ::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error("cannot create temporary file", tmp.string());
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    if (!f) {
      f.close();
      std::error_code ec;
      fs::remove(tmp, ec);
      throw Error("write failed (disk full?)", path);
    }
  }
  std::error_code ec;
  fs::rename(tmp, p, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error("cannot rename the temporary file into place", path);
  }
}

RangeMap read_ranges_json(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file_bytes(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("not valid JSON: ") + e.what(), path);
  }
  if (j.contains("ranges")) j = j["ranges"];
  if (!j.is_object()) throw Error("expected an object {\"tensor\": [min, max], ...}", path);
  RangeMap r;
  for (auto& [k, v] : j.items()) {
    if (!v.is_array() || v.size() != 2 || !v[0].is_number() || !v[1].is_number())
      throw Error("range of '" + k + "' is not [min, max]", path);
    r[k] = {v[0].get<float>(), v[1].get<float>()};
  }
  return r;
}

std::string ranges_json(const RangeMap& r) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : r) j[k] = {v.min, v.max};
  return j.dump(1) + "\n";
}

}  // namespace ortkit
