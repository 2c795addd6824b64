// ort-bench: parse flags, call the library, print. Verbs are in *_command.cpp.
#include <iostream>
#include <vector>

#include "commands.h"
#include "ortkit/error.h"

int main(int argc, char** argv) {
  using namespace ortkit::bench_cli;
  CLI::App app{"ort-bench: how fast an ONNX model runs on this CPU"};
  app.require_subcommand(0, 1);
  std::vector<Command> cmds = {add_run_command(app), add_compare_command(app), add_gemm_command(app),
                               add_verify_command(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& c : cmds)
      if (c.app->parsed()) return c.run();
    std::cout << app.help();
    return 0;
  } catch (const ortkit::Error& e) {
    std::cerr << "ort-bench: error: " << e.message() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ort-bench: error: " << e.what() << "\n";
    return 2;
  }
}
