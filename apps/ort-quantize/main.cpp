// ort-quantize: fp32 ONNX -> int8 ONNX (dynamic or static, QDQ or QOperator) with an accuracy report.
// Parses flags, calls lib/quant, prints. Exit: 0 ok, 1 accuracy below --min-cosine, 2 error.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "ortkit/error.h"
#include "ortkit/quantize.h"
#include "ortkit/zoo.h"

namespace {

struct Flags {
  std::string model, out, mode = "dynamic", format = "qdq", wtype = "s8", atype = "u8";
  std::string calib_dir, eval_dir, method = "minmax", ranges, report, dump_ranges;
  double percentile = 99.99, min_cosine = -2;
  int calib_samples = 8, eval_samples = 4, threads = 1;
  bool no_eval = false, per_layer = false;
};

int run(const Flags& f, ortkit::QuantizeOptions o) {
  using namespace ortkit;
  if (f.mode == "dynamic")
    o.mode = QuantMode::dynamic;
  else if (f.mode == "static")
    o.mode = QuantMode::static_;
  else
    throw Error("unknown --mode '" + f.mode + "' (expected dynamic or static)");
  if (f.format == "qdq")
    o.format = QuantFormat::qdq;
  else if (f.format == "qoperator")
    o.format = QuantFormat::qoperator;
  else
    throw Error("unknown --format '" + f.format + "' (expected qdq or qoperator)");
  o.weight_type = parse_quant_type(f.wtype);
  o.activation_type = parse_quant_type(f.atype);
  for (const auto& t : o.op_types)
    if (t != "MatMul" && t != "Gemm" && t != "Conv")
      throw Error("unsupported --op-types entry '" + t + "' (MatMul, Gemm, Conv)");
  if (f.percentile <= 0 || f.percentile > 100) throw Error("--percentile must be in (0, 100]");

  std::string path = std::filesystem::is_regular_file(f.model) ? f.model : zoo::resolve(f.model);
  std::string fp32 = read_file_bytes(path);
  QuantizeReport rep;
  rep.model = f.model;
  rep.output = f.out;
  rep.options = o;
  RunnerFactory runner = session_runner_factory(f.threads);

  // Generated samples use different seeds for calibration and evaluation, so accuracy is not measured
  // on the very inputs the ranges came from.
  auto data = [&](const std::string& dir, int generated_count, uint64_t seed) {
    return dir.empty() ? generated_samples(fp32, generated_count, seed) : open_sample_dir(dir, fp32);
  };
  RangeMap ranges;
  if (o.mode == QuantMode::static_) {
    rep.calibrated = true;
    rep.calibration.method = parse_calibration_method(f.method);
    rep.calibration.percentile = f.percentile;
    if (!f.ranges.empty()) {
      ranges = read_ranges_json(f.ranges);
      rep.calibration_source = "ranges file " + f.ranges;
    } else {
      auto src = data(f.calib_dir, f.calib_samples, 1);
      rep.calibration_source = src->describe();
      rep.calibration_generated = src->generated();
      if (src->generated()) std::cerr << "ort-quantize: WARNING: " << src->describe() << "\n";
      CalibrationStats st;
      ranges = calibrate(fp32, tensors_to_calibrate(fp32, o), *src, runner, rep.calibration, &st);
      rep.calibration_samples = st.samples;
    }
  }
  rep.result = quantize_model_bytes(fp32, o, ranges);
  for (const auto& name : o.exclude_nodes)  // a typo would silently quantize the node it meant to keep
    if (std::none_of(rep.result.nodes.begin(), rep.result.nodes.end(),
                     [&](const NodeDecision& d) { return d.name == name; }))
      std::cerr << "ort-quantize: WARNING: --exclude-nodes: no MatMul/Gemm/Conv node named '" << name
                << "'\n";

  if (f.no_eval) {
    rep.eval_skipped = "--no-eval";
  } else {
    try {
      auto src = data(f.eval_dir.empty() ? f.calib_dir : f.eval_dir, f.eval_samples, 1000);
      std::vector<std::pair<std::string, std::string>> layers;
      if (f.per_layer)
        for (const auto& d : rep.result.nodes)
          if (d.quantized) layers.push_back({d.name, d.output});
      rep.accuracy = evaluate(fp32, rep.result.model_bytes, *src, runner, layers);
      rep.evaluated = true;
    } catch (const Error& e) {
      if (f.min_cosine > -2) throw;  // a gate that cannot measure must not pass
      rep.eval_skipped = e.message();
    }
  }
  // Everything is computed before anything is written: a failure leaves no partial output.
  write_file_atomic(f.out, rep.result.model_bytes);
  if (!f.report.empty()) write_file_atomic(f.report, report_json(rep));
  if (!f.dump_ranges.empty()) write_file_atomic(f.dump_ranges, ranges_json(ranges));
  std::cout << report_text(rep);
  if (rep.evaluated && f.min_cosine > -2 && rep.accuracy.min_cosine() < f.min_cosine) {
    std::cerr << "ort-quantize: accuracy gate failed: cosine " << rep.accuracy.min_cosine() << " < "
              << f.min_cosine << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  ortkit::QuantizeOptions o;
  CLI::App app{"ort-quantize: fp32 ONNX -> int8 ONNX (standard operators; ONNX Runtime loads it too)"};
  app.add_option("model", f.model, "fp32 .onnx file or zoo name")->required();
  app.add_option("-o,--output", f.out, "int8 .onnx to write")->required();
  app.add_option("--mode", f.mode, "dynamic | static")->capture_default_str();
  app.add_option("--format", f.format, "static mode: qdq | qoperator")->capture_default_str();
  app.add_flag("--per-channel", o.per_channel, "per output channel weight scales");
  app.add_option("--weight-type", f.wtype, "s8 | u8")->capture_default_str();
  app.add_option("--activation-type", f.atype, "static mode: u8 | s8")->capture_default_str();
  app.add_flag("--symmetric-activations", o.symmetric_activations, "symmetric activation ranges");
  app.add_flag("--reduce-range", o.reduce_range, "7-bit weights");
  app.add_option("--op-types", o.op_types, "ops to quantize")->delimiter(',')->capture_default_str();
  app.add_option("--exclude-nodes", o.exclude_nodes, "node names kept fp32")->delimiter(',');
  app.add_option("--exclude-ops", o.exclude_ops, "op types kept fp32")->delimiter(',');
  app.add_flag("--keep-first-last", o.keep_first_last, "keep the first and last quantizable node fp32");
  app.add_option("--calibration-data", f.calib_dir, "folder of test_data_set_*/input_N.pb or .npy");
  app.add_option("--calibrate", f.method, "minmax | percentile | entropy")->capture_default_str();
  app.add_option("--percentile", f.percentile,
                 "percentile method: range from the (100-P)th to the Pth percentile")
      ->capture_default_str();
  app.add_option("--calibration-samples", f.calib_samples, "generated samples when no data")
      ->capture_default_str();
  app.add_option("--ranges", f.ranges, "precomputed ranges JSON {tensor: [min, max]} instead of calibrating");
  app.add_option("--dump-ranges", f.dump_ranges,
                 "static mode: write the calibrated ranges (the --ranges format)");
  app.add_option("--report", f.report, "write the JSON report here");
  app.add_flag("--no-eval", f.no_eval, "skip the accuracy check");
  app.add_flag("--per-layer", f.per_layer, "SQNR of every quantized node's output");
  app.add_option("--min-cosine", f.min_cosine, "exit 1 when an output's cosine similarity is below this");
  app.add_option("--eval-data", f.eval_dir, "samples for the accuracy check (default: the calibration data)");
  app.add_option("--eval-samples", f.eval_samples, "generated samples for the accuracy check")
      ->capture_default_str();
  app.add_option("--threads", f.threads, "engine threads for calibration and evaluation")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    return run(f, o);
  } catch (const ortkit::Error& e) {
    std::cerr << "ort-quantize: error: " << e.message() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ort-quantize: error: " << e.what() << "\n";
    return 2;
  }
}
