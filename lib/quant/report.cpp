// The ort-quantize report: a text view for stdout and the JSON record (schema ortkit.quantize/1).
#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "ortkit/quantize.h"
#include "ortkit/version.h"

namespace ortkit {
namespace {

std::string mib(size_t b) {
  double d = static_cast<double>(b);
  return d < 1024.0 * 1024.0 ? fmt::format("{:.1f} KiB", d / 1024.0)
                             : fmt::format("{:.2f} MiB", d / (1024.0 * 1024.0));
}

nlohmann::json num(double v) {  // JSON has no Inf/NaN: write null
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

}  // namespace

std::string report_text(const QuantizeReport& r) {
  const auto& o = r.options;
  std::string s;
  s += fmt::format("ort-quantize: {} -> {}\n", r.model, r.output);
  s += fmt::format(
      "mode: {}{}, weights {}{}{}, activations {}{}\n", o.mode == QuantMode::dynamic ? "dynamic" : "static",
      o.mode == QuantMode::static_ ? (o.format == QuantFormat::qdq ? " (QDQ)" : " (QOperator)") : "",
      quant_type_name(o.weight_type), o.per_channel ? " per-channel" : " per-tensor",
      o.reduce_range ? " reduce-range" : "",
      o.mode == QuantMode::dynamic ? "u8 (dynamic)" : quant_type_name(o.activation_type),
      o.symmetric_activations ? " symmetric" : "");
  if (r.calibrated) {
    const char* m[] = {"minmax", "percentile", "entropy"};
    if (r.calibration_samples == 0)
      s += fmt::format("calibration: {}\n", r.calibration_source);  // ranges file
    else
      s += fmt::format("calibration: {} over {}\n", m[static_cast<int>(r.calibration.method)],
                       r.calibration_source);
    if (r.calibration_generated)
      s += "WARNING: calibrated on GENERATED inputs, not real data; pass --calibration-data DIR for real "
           "ranges\n";
  }
  s += fmt::format("nodes: {} quantized, {} kept fp32\n", r.result.quantized_count(),
                   r.result.nodes.size() - static_cast<size_t>(r.result.quantized_count()));
  for (const auto& d : r.result.nodes)
    s += d.quantized ? fmt::format("  + {:<32} {:<7} -> {}\n", d.name, d.op_type, d.as)
                     : fmt::format("  - {:<32} {:<7} kept: {}\n", d.name, d.op_type, d.reason);
  s += fmt::format("size: {} -> {} ({:.1f}%)\n", mib(r.result.bytes_before), mib(r.result.bytes_after),
                   r.result.bytes_before ? 100.0 * static_cast<double>(r.result.bytes_after) /
                                               static_cast<double>(r.result.bytes_before)
                                         : 0.0);
  if (!r.evaluated) {
    s += "accuracy: not measured (" + r.eval_skipped + ")\n";
  } else {
    s += fmt::format("accuracy vs fp32 on {} sample(s):\n", r.accuracy.samples);
    for (const auto& a : r.accuracy.outputs) {
      s += fmt::format("  {:<24} cosine {:.6f}  max|err| {:.4g}  mean|err| {:.4g}", a.name, a.cosine,
                       a.max_abs, a.mean_abs);
      if (a.top1 >= 0) s += fmt::format("  top-1 agreement {:.1f}%", 100 * a.top1);
      s += "\n";
    }
    if (!r.accuracy.layers.empty()) s += "per-layer SQNR (higher is better):\n";
    for (const auto& l : r.accuracy.layers)
      s += fmt::format("  {:<32} {:>7.2f} dB  ({})\n", l.node, l.sqnr_db, l.tensor);
  }
  return s;
}

std::string report_json(const QuantizeReport& r) {
  using nlohmann::json;
  const auto& o = r.options;
  json j;
  j["schema"] = "ortkit.quantize/1";
  j["tool"] = {{"name", "ort-quantize"}, {"version", ORTKIT_VERSION}, {"git", ORTKIT_GIT_REV}};
  j["model"] = r.model;
  j["output"] = r.output;
  j["options"] = {{"mode", o.mode == QuantMode::dynamic ? "dynamic" : "static"},
                  {"format", o.format == QuantFormat::qdq ? "qdq" : "qoperator"},
                  {"weight_type", quant_type_name(o.weight_type)},
                  {"activation_type", quant_type_name(o.activation_type)},
                  {"per_channel", o.per_channel},
                  {"reduce_range", o.reduce_range},
                  {"symmetric_activations", o.symmetric_activations},
                  {"op_types", o.op_types},
                  {"exclude_nodes", o.exclude_nodes},
                  {"exclude_ops", o.exclude_ops},
                  {"keep_first_last", o.keep_first_last}};
  if (r.calibrated) {
    const char* m[] = {"minmax", "percentile", "entropy"};
    j["calibration"] = {{"method", m[static_cast<int>(r.calibration.method)]},
                        {"percentile", r.calibration.percentile},
                        {"source", r.calibration_source},
                        {"generated_inputs", r.calibration_generated},
                        {"samples", r.calibration_samples}};
  }
  json nodes = json::array();
  for (const auto& d : r.result.nodes) {
    json n = {{"name", d.name}, {"op_type", d.op_type}, {"quantized", d.quantized}, {"output", d.output}};
    if (d.quantized)
      n["as"] = d.as;
    else
      n["reason"] = d.reason;
    nodes.push_back(n);
  }
  j["nodes"] = nodes;
  j["quantized_nodes"] = r.result.quantized_count();
  j["size_bytes"] = {{"before", r.result.bytes_before}, {"after", r.result.bytes_after}};
  if (r.evaluated) {
    json outs = json::array(), layers = json::array();
    for (const auto& a : r.accuracy.outputs) {
      json x = {{"name", a.name},
                {"cosine", num(a.cosine)},
                {"max_abs_err", num(a.max_abs)},
                {"mean_abs_err", num(a.mean_abs)}};
      if (a.top1 >= 0) x["top1_agreement"] = a.top1;
      outs.push_back(x);
    }
    for (const auto& l : r.accuracy.layers)
      layers.push_back({{"node", l.node}, {"tensor", l.tensor}, {"sqnr_db", num(l.sqnr_db)}});
    j["accuracy"] = {{"samples", r.accuracy.samples}, {"outputs", outs}, {"layers", layers}};
  } else {
    j["accuracy"] = {{"skipped", r.eval_skipped}};
  }
  return j.dump(2) + "\n";
}

}  // namespace ortkit
