// ort-bench's verbs. Each lives in its own file and registers itself on the parent CLI::App;
// main.cpp only wires them and maps errors to exit codes.
//   run      (default) sweep a model: run_command.cpp
//   compare  regression gate between two reports: compare_command.cpp
//   gemm     kernel throughput vs measured peak: gemm_command.cpp
//   verify   outputs against an ONNX test_data_set: verify_command.cpp
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace ortkit::bench_cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  ///< returns the process exit code
};

Command add_run_command(CLI::App& parent);
Command add_compare_command(CLI::App& parent);
Command add_gemm_command(CLI::App& parent);
Command add_verify_command(CLI::App& parent);

}  // namespace ortkit::bench_cli
