// ort-bench verify MODEL DATA_DIR: run the model on an ONNX test_data_set's inputs and compare with its
// expected outputs. DATA_DIR is one test_data_set_N folder or a folder holding several of them.
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "commands.h"
#include "ortkit/error.h"
#include "ortkit/session.h"
#include "ortkit/verify.h"

namespace ortkit::bench_cli {
namespace {

struct VerifyArgs {
  std::string model, data_dir, save_dir, precision = "fp32";
  double rtol = 1e-3, atol = 1e-5;
  int threads = 1;
};

std::vector<std::string> data_sets(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw Error("data directory not found", dir);
  if (fs::exists(fs::path(dir) / "input_0.pb") || fs::exists(fs::path(dir) / "output_0.pb")) return {dir};
  std::vector<std::string> out;
  for (int k = 0;; ++k) {
    const fs::path p = fs::path(dir) / ("test_data_set_" + std::to_string(k));
    if (!fs::is_directory(p)) break;
    out.push_back(p.string());
  }
  if (out.empty()) throw Error("no input_N.pb files and no test_data_set_N folders", dir);
  return out;
}

int run_verify(const VerifyArgs& a) {
  SessionOptions opts;
  opts.threads = a.threads;
  opts.precision = parse_precision(a.precision);
  auto session = Session::open(a.model, opts);
  bool all_ok = true;
  int set_index = 0;
  std::vector<DType> in_kinds, out_kinds;  // sequence / optional files are not TensorProtos
  for (const auto& v : session->inputs()) in_kinds.push_back(v.dtype);
  for (const auto& v : session->outputs()) out_kinds.push_back(v.dtype);
  for (const std::string& dir : data_sets(a.data_dir)) {
    TestDataSet ds = load_test_data_set(dir, in_kinds, out_kinds);
    // input_K.pb goes to the K-th graph input unless it carries a name the model knows.
    std::vector<NamedTensor> ins;
    const auto& model_inputs = session->inputs();
    for (size_t k = 0; k < ds.inputs.size(); ++k) {
      std::string name = ds.input_names[k];
      bool known = false;
      for (const auto& v : model_inputs) known = known || v.name == name;
      if (!known) {
        if (k >= model_inputs.size())
          throw Error("input_" + std::to_string(k) + ".pb has no matching model input (the model has " +
                          std::to_string(model_inputs.size()) + ")",
                      dir);
        name = model_inputs[k].name;
      }
      ins.push_back({name, ds.inputs[k]});
    }
    std::vector<Tensor> outs = session->run(ins);
    std::cout << dir << "\n";
    if (ds.outputs.size() != outs.size() && !ds.outputs.empty()) {
      std::cout << "  FAIL: the model produced " << outs.size() << " outputs, the data set has "
                << ds.outputs.size() << "\n";
      all_ok = false;
    }
    for (size_t k = 0; k < outs.size(); ++k) {
      const std::string& name = session->outputs()[k].name;
      if (!a.save_dir.empty()) {
        std::filesystem::path d = std::filesystem::path(a.save_dir);
        if (set_index > 0 || data_sets(a.data_dir).size() > 1)
          d /= "test_data_set_" + std::to_string(set_index);
        std::filesystem::create_directories(d);
        save_tensor_pb(outs[k], name, (d / ("output_" + std::to_string(k) + ".pb")).string());
      }
      if (k >= ds.outputs.size()) continue;
      const TensorDiff diff = compare_tensors(outs[k], ds.outputs[k], a.rtol, a.atol);
      const std::string what = outs[k].is_list() ? std::string(dtype_name(outs[k].dtype())) + " of " +
                                                       std::to_string(outs[k].items().size())
                                                 : shape_str(outs[k].shape());
      std::cout << "  output " << k << " '" << name << "' " << what << std::setprecision(3) << std::scientific
                << "  max_abs_err " << diff.max_abs << "  max_rel_err " << diff.max_rel << std::defaultfloat
                << "  " << (diff.ok ? "PASS" : "FAIL");
      if (!diff.ok) std::cout << " (" << diff.reason << ")";
      std::cout << "\n";
      all_ok = all_ok && diff.ok;
    }
    ++set_index;
  }
  std::cout << (all_ok ? "PASS" : "FAIL") << " (rtol " << a.rtol << ", atol " << a.atol << ")\n";
  return all_ok ? 0 : 1;
}

}  // namespace

Command add_verify_command(CLI::App& parent) {
  auto args = std::make_shared<VerifyArgs>();
  Command c;
  c.app = parent.add_subcommand("verify", "check a model's outputs against an ONNX test_data_set");
  c.app->add_option("model", args->model, "ONNX file or zoo name")->required();
  c.app->add_option("data_dir", args->data_dir, "a test_data_set_N folder, or a folder of them")->required();
  c.app->add_option("--rtol", args->rtol, "relative tolerance")->capture_default_str();
  c.app->add_option("--atol", args->atol, "absolute tolerance")->capture_default_str();
  c.app->add_option("--save-outputs", args->save_dir, "write our outputs as output_N.pb into this folder");
  c.app->add_option("--threads", args->threads, "intra-op threads")->capture_default_str();
  c.app->add_option("--precision", args->precision, "fp32, bf16 or int8")->capture_default_str();
  c.run = [args] { return run_verify(*args); };
  return c;
}

}  // namespace ortkit::bench_cli
