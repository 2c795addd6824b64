// ort-cpuinfo: describe this CPU (or a recorded one) and say how to run inference on it.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include "ortkit/cpuinfo.h"
#include "ortkit/error.h"

namespace {

/// Write through a temp file in the same directory, then rename: readers never see half a file, and a
/// failure leaves nothing behind.
void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw ortkit::Error(std::string("cannot write: ") + std::strerror(errno), path);
    out << text;
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw ortkit::Error("write failed", path);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw ortkit::Error("cannot rename into place: " + why, path);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "ort-cpuinfo: this CPU's features, topology, OS limits, the ortkit kernels it runs, and advice"};
  bool as_json = false;
  std::string output, fixture;
  int processes = 1;
  app.add_flag("--json", as_json, "JSON document (schema_version) instead of text");
  app.add_option("-o,--output", output, "write to FILE (atomically) instead of stdout")->option_text("FILE");
  app.add_option("-p,--processes", processes, "processes that will share this machine (for thread advice)")
      ->check(CLI::Range(1, 65536))
      ->option_text("N (default 1)");
  app.add_option("--fixture", fixture, "describe the machine recorded in DIR (see docs/ort-cpuinfo.md)")
      ->option_text("DIR");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, not CLI11's usage dump: scripts grep stderr.
    std::cerr << "ort-cpuinfo: error: " << e.what() << " (see --help)\n";
    return 2;
  }
  try {
    const ortkit::cpuinfo::MachineInfo m =
        fixture.empty() ? ortkit::cpuinfo::detect() : ortkit::cpuinfo::from_fixture(fixture);
    const std::string text = as_json ? ortkit::cpuinfo::to_json(m, processes).dump(2) + "\n"
                                     : ortkit::cpuinfo::to_text(m, processes);
    if (output.empty()) {
      std::cout << text;
    } else {
      write_atomically(output, text);
    }
    return 0;
  } catch (const ortkit::Error& e) {
    std::cerr << "ort-cpuinfo: error: " << e.message() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ort-cpuinfo: error: " << e.what() << "\n";
    return 2;
  }
}
