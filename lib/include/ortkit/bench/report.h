// Reports: the JSON document is the source of truth (schemas/ort-bench-report.schema.json); the CSV
// and the terminal table are views computed from it, so they can never disagree with it.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ortkit/bench/config.h"
#include "ortkit/bench/sweep.h"

namespace ortkit::bench {

inline constexpr int kReportSchemaVersion = 1;

/// benchmark.py's detail-CSV columns, in its order; our own columns follow them.
const std::vector<std::string>& csv_columns();

/// The report: schema_version, context (machine, tool, build, kernels, date, command line, settings,
/// warnings) and one entry per point. Raw latencies are included when cfg.raw is set.
nlohmann::json make_report(const SweepResult& r, const BenchConfig& cfg, const std::vector<std::string>& argv,
                           const nlohmann::json& machine);
/// ortkit::cpuinfo::machine_json(), or {"error": why} when it cannot be built.
nlohmann::json machine_or_error();

std::string report_to_csv(const nlohmann::json& report);
/// A fixed-width table for a terminal, plus the warnings.
std::string report_to_table(const nlohmann::json& report);

}  // namespace ortkit::bench
