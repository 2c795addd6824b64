#include <ctime>
#include <set>

#include "ortkit/bench/report.h"
#include "ortkit/cpuinfo.h"
#include "ortkit/error.h"
#include "ortkit/version.h"

namespace ortkit::bench {

namespace {

std::string iso_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

nlohmann::json point_json(const PointResult& p, bool raw) {
  nlohmann::json j = {{"model", p.model},
                      {"precision", p.precision},
                      {"batch", p.batch},
                      {"seq", p.seq >= 0 ? nlohmann::json(p.seq) : nlohmann::json(nullptr)},
                      {"past", p.past >= 0 ? nlohmann::json(p.past) : nlohmann::json(nullptr)},
                      {"threads", p.threads},
                      {"status", p.status},
                      {"reason", p.reason},
                      {"inputs", p.inputs},
                      {"num_inputs", p.num_inputs},
                      {"datetime", p.datetime},
                      {"kernels", p.kernels},
                      {"warnings", p.warnings},
                      {"notes", p.notes},
                      {"timings",
                       {{"load_ms", p.load_ms},
                        {"optimize_ms", p.optimize_ms},
                        {"prepack_ms", p.prepack_ms},
                        {"compile_ms", p.compile_ms},
                        {"first_inference_ms", p.first_inference_ms}}}};
  if (p.status == "ok") {
    const Stats& s = p.stats;
    j["stats"] = {{"iterations", s.n},
                  {"mean_ms", s.mean},
                  {"std_ms", s.std},
                  {"variance_ms2", s.variance},
                  {"min_ms", s.min},
                  {"p50_ms", s.p50},
                  {"p90_ms", s.p90},
                  {"p95_ms", s.p95},
                  {"p99_ms", s.p99},
                  {"max_ms", s.max},
                  {"cv", s.cv},
                  {"ci95_median_ms", {s.ci_low, s.ci_high}},
                  {"ci_exact", s.ci_exact},
                  {"outliers", s.outliers},
                  {"qps", p.qps},
                  {"throughput", p.throughput},
                  {"wall_s", p.wall_s}};
  } else {
    j["stats"] = nullptr;
  }
  if (raw && p.status == "ok") j["latencies_ms"] = p.latencies_ms;
  if (p.profile_runs > 0) {
    const double total = profile_ms_per_run(p), runs = static_cast<double>(p.profile_runs);
    nlohmann::json nodes = nlohmann::json::array(), types = nlohmann::json::array();
    for (const NodeProfile& n : p.profile)
      nodes.push_back({{"name", n.name},
                       {"op_type", n.op_type},
                       {"kernels", n.kernels},
                       {"ms_per_run", n.total_ms / runs},
                       {"percent", total > 0 ? 100.0 * n.total_ms / runs / total : 0.0},
                       {"calls", n.calls}});
    for (const OpTypeTime& t : profile_by_op_type(p))
      types.push_back(
          {{"op_type", t.op_type}, {"nodes", t.nodes}, {"ms_per_run", t.ms_per_run}, {"percent", t.percent}});
    j["profile"] = {
        {"runs", p.profile_runs}, {"total_ms_per_run", total}, {"nodes", nodes}, {"op_types", types}};
  }
  return j;
}

}  // namespace

nlohmann::json machine_or_error() {
  try {
    return cpuinfo::machine_json();
  } catch (const Error& e) {
    return {{"error", e.message()}};
  } catch (const std::exception& e) {
    return {{"error", e.what()}};
  }
}

nlohmann::json make_report(const SweepResult& r, const BenchConfig& cfg, const std::vector<std::string>& argv,
                           const nlohmann::json& machine) {
  std::string cmdline;
  for (const auto& a : argv) {
    if (!cmdline.empty()) cmdline += ' ';
    cmdline += a;
  }
  // Which kernels each precision used, over all points: the "which kernel actually ran?" answer.
  std::map<std::string, std::set<std::string>> kernels;
  for (const auto& p : r.points)
    if (p.status == "ok") kernels[p.precision].insert(p.kernels.begin(), p.kernels.end());
  nlohmann::json kj = nlohmann::json::object();
  for (const auto& [prec, ks] : kernels) kj[prec] = std::vector<std::string>(ks.begin(), ks.end());
  nlohmann::json points = nlohmann::json::array();
  for (const auto& p : r.points) points.push_back(point_json(p, cfg.raw));
  return {
      {"schema_version", kReportSchemaVersion},
      {"tool", "ort-bench"},
      {"complete", r.complete},
      {"context",
       {{"machine", machine},
        {"tool", {{"name", "ort-bench"}, {"version", ORTKIT_VERSION}, {"git_rev", ORTKIT_GIT_REV}}},
        {"build", {{"type", ORTKIT_BUILD_TYPE}, {"compiler", ORTKIT_COMPILER}, {"flags", ORTKIT_CXX_FLAGS}}},
        {"kernels", kj},
        {"date", iso_now()},
        {"command_line", cmdline},
        {"argv", argv},
        {"settings", to_json(cfg)},
        {"warnings", r.warnings},
        {"wall_s", r.wall_s}}},
      {"points", points}};
}

}  // namespace ortkit::bench
