// ort-bench: parse flags, call the library, print. Verbs are in *_command.cpp.
// `run` is the default verb: `ort-bench --model X` means `ort-bench run --model X`.
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "ortkit/error.h"

namespace {

// argv with "run" inserted when the first argument is an option other than help/version.
std::vector<std::string> with_default_verb(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  if (args.size() > 1) {
    const std::string& first = args[1];
    bool is_option = first.size() > 1 && first[0] == '-';
    bool top_level = first == "-h" || first == "--help" || first == "--version";
    if (is_option && !top_level) args.insert(args.begin() + 1, "run");
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ortkit::bench_cli;
  CLI::App app{
      "ort-bench: how fast an ONNX model runs on this CPU.\n"
      "Without a verb, `run` is meant: ort-bench --model bert-base --seq 8,128"};
  app.require_subcommand(0, 1);
  std::vector<Command> cmds = {add_run_command(app), add_compare_command(app), add_gemm_command(app),
                               add_verify_command(app)};
  std::vector<std::string> args = with_default_verb(argc, argv);
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  try {
    app.parse(static_cast<int>(cargs.size()), cargs.data());
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // bad usage is bad input: exit 2, like every other input error
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
