// Runs the fuzz target over files and folders named on the command line, without libFuzzer: the ctest
// `fuzz:replay` feeds it the committed regression inputs (tests/fuzz/regressions) and the ONNX node-test
// models, so every crash the fuzzer once found stays fixed in the plain (GCC) build.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern std::string fuzz_outcome;

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  bool verbose = false;  // -v: name each input before it runs (a crash shows which one), then its outcome
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "-v") {
      verbose = true;
      continue;
    }
    const fs::path p = argv[i];
    if (fs::is_directory(p)) {
      for (const auto& e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file() && (e.path().extension() == ".onnx" || e.path().extension().empty()))
          files.push_back(e.path());
    } else if (fs::is_regular_file(p)) {
      files.push_back(p);
    } else {
      std::fprintf(stderr, "fuzz replay: %s: no such file or folder\n", argv[i]);
      return 2;
    }
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    if (verbose) std::fprintf(stderr, "%s\n", f.c_str());
    std::ifstream in(f, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    if (verbose) std::fprintf(stderr, "  %s\n", fuzz_outcome.c_str());
  }
  std::printf("fuzz replay: %zu inputs, no crash\n", files.size());
  return 0;
}
