// `ort-bench compare BASELINE.json CURRENT.json`: the CI regression gate (see ortkit/bench/compare.h).
// Exit 0: no significant regression beyond the threshold; 1: regressions (named); 2: bad input.
#include <iostream>
#include <memory>

#include "commands.h"
#include "ortkit/bench/compare.h"
#include "ortkit/error.h"

namespace ortkit::bench_cli {

namespace {
struct CompareFlags {
  std::string baseline, current, threshold = "5%", metric = "p50";
};
}  // namespace

Command add_compare_command(CLI::App& parent) {
  auto f = std::make_shared<CompareFlags>();
  Command c;
  CLI::App* a = parent.add_subcommand("compare", "regression gate: compare two ort-bench JSON reports");
  c.app = a;
  a->add_option("baseline", f->baseline, "baseline report (JSON)")->required();
  a->add_option("current", f->current, "current report (JSON)")->required();
  a->add_option("--threshold", f->threshold, "smallest change that counts, e.g. 5% (default 5%)");
  a->add_option("--metric", f->metric, "p50, mean, p99 or qps (default p50)")
      ->check(CLI::IsMember({"p50", "mean", "p99", "qps"}));
  c.run = [f] {
    double threshold = bench::parse_threshold(f->threshold);
    nlohmann::json base = bench::load_report(f->baseline);
    nlohmann::json cur = bench::load_report(f->current);
    bench::CompareResult r = bench::compare_reports(base, cur, threshold, f->metric);
    if (r.exit_code == 2) {
      for (const auto& e : r.errors) std::cerr << "ort-bench: error: " << e << "\n";
      return 2;
    }
    std::cout << r.markdown;
    if (!base.value("complete", true) || !cur.value("complete", true))
      std::cerr << "ort-bench: warning: a report is marked incomplete (interrupted run)\n";
    return r.exit_code;
  };
  return c;
}

}  // namespace ortkit::bench_cli
