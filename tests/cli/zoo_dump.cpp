// zoo_dump: a test and script helper that exposes the zoo to Python (scripts/zoo_vs_ort.py,
// scripts/peer_ort.py) without depending on any ort-* verb.
//   zoo_dump --list               name<TAB>family<TAB>description per line
//   zoo_dump --resolve NAME|PATH  prints the path resolve() gives (builds into the cache once)
//   zoo_dump NAME OUT.onnx        writes the model to OUT.onnx (atomically)
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "ortkit/error.h"
#include "ortkit/zoo.h"

int main(int argc, char** argv) {
  try {
    const std::string a1 = argc > 1 ? argv[1] : "";
    if (argc == 2 && a1 == "--list") {
      for (const auto& e : ortkit::zoo::list())
        std::cout << e.name << '\t' << e.family << '\t' << e.description << '\n';
      return 0;
    }
    if (argc == 3 && a1 == "--resolve") {
      std::cout << ortkit::zoo::resolve(argv[2]) << '\n';
      return 0;
    }
    if (argc == 3 && a1[0] != '-') {
      const std::string bytes = ortkit::zoo::build_bytes(a1);
      const std::string out = argv[2];
      const std::string tmp = out + ".tmp." + std::to_string(::getpid());
      {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!f) throw ortkit::Error("cannot write", tmp);
      }
      std::filesystem::rename(tmp, out);
      return 0;
    }
    std::cerr << "usage: zoo_dump --list | --resolve NAME|PATH | NAME OUT.onnx\n";
    return 2;
  } catch (const ortkit::Error& e) {
    std::cerr << "zoo_dump: error: " << e.message() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "zoo_dump: error: " << e.what() << '\n';
    return 1;
  }
}
