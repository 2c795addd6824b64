#include "commands.h"

#include <iostream>

namespace ortkit::bench_cli {

// Placeholder until the lane that owns this verb lands it.
Command add_compare_command(CLI::App& parent) {
  Command c;
  c.app = parent.add_subcommand("compare", "(not built yet)");
  c.run = [] {
    std::cerr << "ort-bench: error: 'compare' is not implemented yet\n";
    return 2;
  };
  return c;
}

}  // namespace ortkit::bench_cli
