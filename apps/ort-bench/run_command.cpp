#include "commands.h"

#include <iostream>

namespace ortkit::bench_cli {

// Placeholder until the lane that owns this verb lands it.
Command add_run_command(CLI::App& parent) {
  Command c;
  c.app = parent.add_subcommand("run", "(not built yet)");
  c.run = [] {
    std::cerr << "ort-bench: error: 'run' is not implemented yet\n";
    return 2;
  };
  return c;
}

}  // namespace ortkit::bench_cli
