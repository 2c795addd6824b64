// ONNX backend node-test driver: runs every case under the node-test folder whose operators the engine
// claims (registry lookup by domain, op type and opset), compares outputs (rtol 1e-3, atol 1e-5; a model
// with a random generator by type, shape and value set, random_output_mismatch), and exits non-zero if any
// claimed case fails. Cases whose kernels reject a dtype or attribute combination (ops::Unsupported) are
// skipped and listed; so are the few in kSkip below, with their reasons.
//   onnx_backend_tests [NODE_DIR] [--filter SUBSTR] [--verbose]
#include <onnx/onnx_pb.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "graph/from_onnx.h"
#include "onnx/model_io.h"
#include "ops/op_util.h"
#include "ops/registry.h"
#include "ortkit/session.h"
#include "runtime/compare.h"

namespace fs = std::filesystem;
using namespace ortkit;

namespace {

// Spec corner cases we do not claim yet, with the reason.
const std::map<std::string, std::string> kSkip = {
    {"test_cast_FLOAT_to_BFLOAT16",
     "onnx 1.12 reference data truncates to bfloat16; ortkit rounds to nearest even (the current spec)"},
    {"test_castlike_BFLOAT16_to_FLOAT", "onnx 1.12 test data: input 'like' is rank 1, the model says 2"},
    {"test_castlike_FLOAT_to_BFLOAT16", "onnx 1.12 test data: input 'like' is rank 1, the model says 2"},
    {"test_castlike_BFLOAT16_to_FLOAT_expanded",
     "onnx 1.12 test data: input 'like' is rank 1, the model says 2"},
    {"test_castlike_FLOAT_to_BFLOAT16_expanded",
     "onnx 1.12 test data: input 'like' is rank 1, the model says 2"},
};

struct Result {
  enum Kind { pass, fail, skip, unclaimed } kind;
  std::string why;
};

/// Random generators (Bernoulli and the Random* ops): the reference drew its outputs from numpy's
/// generator, which no other generator reproduces.
bool has_random_op(const onnx::GraphProto& g) {
  static const std::set<std::string> kOps = {"Bernoulli",     "Multinomial",      "RandomNormal",
                                             "RandomUniform", "RandomNormalLike", "RandomUniformLike"};
  for (const auto& n : g.node())
    if (kOps.count(n.op_type())) return true;
  return false;
}

/// A random output is checked by what the draw cannot change: type, shape, finite values, and 0 / 1 values
/// where every reference value is 0 or 1 (a Bernoulli draw).
std::string random_output_mismatch(const Tensor& actual, const Tensor& expected) {
  if (actual.dtype() != expected.dtype() || actual.shape() != expected.shape())
    return std::string("type ") + dtype_name(actual.dtype()) + " " + shape_str(actual.shape()) +
           ", expected " + dtype_name(expected.dtype()) + " " + shape_str(expected.shape());
  bool binary = true;
  for (int64_t i = 0; i < expected.numel(); ++i)
    binary = binary && (ops::number_at(expected, i) == 0 || ops::number_at(expected, i) == 1);
  for (int64_t i = 0; i < actual.numel(); ++i) {
    const double v = ops::number_at(actual, i);
    if (!std::isfinite(v) || (binary && v != 0 && v != 1))
      return "value " + std::to_string(v) + " at index " + std::to_string(i) +
             (binary ? " is not 0 or 1" : " is not finite");
  }
  return {};
}

Result run_case(const fs::path& dir, bool verbose) {
  const std::string model_path = (dir / "model.onnx").string();
  onnx::ModelProto proto;
  try {
    proto = onnxio::load_model(model_path);
  } catch (const Error& e) {
    return {Result::unclaimed, e.message()};
  }
  // onnx 1.12 computed this case's outputs with epsilon 1e-2 but wrote the node without it (default
  // 1e-6); later onnx versions set the attribute.
  if (dir.filename() == "test_adam_multiple" && proto.graph().node_size() == 1) {
    bool has_eps = false;
    for (const auto& a : proto.graph().node(0).attribute()) has_eps = has_eps || a.name() == "epsilon";
    if (!has_eps)
      return {Result::skip, "onnx 1.12 test data: outputs use epsilon 1e-2, the node does not set it"};
  }
  std::map<std::string, int> opsets;
  for (const auto& op : proto.opset_import())
    opsets[ops::canonical_domain(op.domain())] = static_cast<int>(op.version());
  for (const auto& n : proto.graph().node()) {
    const std::string d = ops::canonical_domain(n.domain());
    if (!ops::OpRegistry::global().find(d, n.op_type(), opsets.count(d) ? opsets[d] : 1))
      return {Result::unclaimed, n.op_type()};
  }
  // The kind of each graph value: a tensor's element type, or a sequence / optional (of tensors).
  auto tensor_elem = [](const onnx::TypeProto& t) -> const onnx::TypeProto* {
    const onnx::TypeProto* p = &t;
    for (int depth = 0; depth < 3; ++depth) {
      if (p->has_tensor_type()) return p;
      if (p->has_sequence_type())
        p = &p->sequence_type().elem_type();
      else if (p->has_optional_type())
        p = &p->optional_type().elem_type();
      else
        return nullptr;
    }
    return nullptr;
  };
  for (const auto* vs : {&proto.graph().input(), &proto.graph().output()})
    for (const auto& v : *vs) {
      const onnx::TypeProto* t = tensor_elem(v.type());
      if (!t) return {Result::unclaimed, "map / sparse / nested graph input/output"};
    }
  auto kind_of = [](const onnx::ValueInfoProto& v) {
    return v.type().has_sequence_type()   ? DType::sequence
           : v.type().has_optional_type() ? DType::optional
                                          : DType::f32;
  };
  // Data sets feed the graph inputs that are not initializers, in order (IR < 4 models list their
  // weights as inputs too: the light CNNs of the onnx package).
  std::set<std::string> inits;
  for (const auto& t : proto.graph().initializer()) inits.insert(t.name());
  std::vector<std::string> in_names, out_names;
  std::vector<const onnx::ValueInfoProto*> in_infos;
  for (const auto& v : proto.graph().input())
    if (!inits.count(v.name())) in_names.push_back(v.name()), in_infos.push_back(&v);
  std::vector<DType> in_kinds, out_kinds;
  for (const auto* v : in_infos) in_kinds.push_back(kind_of(*v));
  for (const auto& v : proto.graph().output()) out_names.push_back(v.name()), out_kinds.push_back(kind_of(v));
  try {
    auto s = Session::open(model_path);
    int sets = 0;
    for (int k = 0;; ++k) {
      const fs::path ds_dir = dir / ("test_data_set_" + std::to_string(k));
      if (!fs::exists(ds_dir)) break;
      ++sets;
      runtime::TestDataSet ds = runtime::load_test_data_set(ds_dir.string(), in_kinds, out_kinds);
      // onnx 1.12's test data stores bfloat16 tensors as uint16: reinterpret the bits.
      auto as_model_type = [](Tensor& t, const onnx::ValueInfoProto& v) {
        if (t.dtype() == DType::u16 && v.type().tensor_type().elem_type() == onnx::TensorProto::BFLOAT16) {
          Tensor b(DType::bf16, t.shape());
          std::memcpy(b.data(), t.data(), t.bytes());
          t = b;
        }
      };
      std::vector<NamedTensor> ins;
      for (size_t i = 0; i < ds.inputs.size(); ++i) {
        if (i < in_names.size()) as_model_type(ds.inputs[i], *in_infos[i]);
        ins.push_back({i < in_names.size() ? in_names[i] : ds.input_names[i], ds.inputs[i]});
      }
      for (size_t i = 0; i < ds.outputs.size() && i < out_names.size(); ++i)
        as_model_type(ds.outputs[i], proto.graph().output(static_cast<int>(i)));
      std::vector<Tensor> outs = s->run(ins);
      if (outs.size() != ds.outputs.size())
        return {Result::fail, "produced " + std::to_string(outs.size()) + " outputs, expected " +
                                  std::to_string(ds.outputs.size())};
      const bool random = has_random_op(proto.graph());
      for (size_t i = 0; i < outs.size(); ++i) {
        if (random) {
          const std::string why = random_output_mismatch(outs[i], ds.outputs[i]);
          if (!why.empty()) return {Result::fail, "output '" + out_names[i] + "' (random): " + why};
          continue;
        }
        // Narrow outputs: ortkit computes float16 / bfloat16 models in fp32 and rounds once, the reference
        // rounds after every op, so a few units in the last place (2^-11 / 2^-8 relative) apart.
        const DType t = ds.outputs[i].dtype();
        const double rtol = t == DType::f16 ? 4e-3 : t == DType::bf16 ? 1.6e-2 : 1e-3;
        const double atol = t == DType::f16 ? 1e-4 : t == DType::bf16 ? 1e-3 : 1e-5;
        runtime::TensorDiff d = runtime::compare_tensors(outs[i], ds.outputs[i], rtol, atol);
        if (!d.ok) return {Result::fail, "output '" + out_names[i] + "': " + d.reason};
      }
    }
    if (!sets) return {Result::skip, "no test_data_set"};
  } catch (const ops::Unsupported& e) {
    return {Result::skip, e.message()};
  } catch (const Error& e) {
    return {Result::fail, e.message()};
  } catch (const std::exception& e) {
    return {Result::fail, std::string("exception: ") + e.what()};
  }
  (void)verbose;
  return {Result::pass, {}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string root = "/usr/include/onnx/backend/test/data/node", filter;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--filter" && i + 1 < argc)
      filter = argv[++i];
    else if (a == "--verbose" || a == "-v")
      verbose = true;
    else
      root = a;
  }
  if (!fs::is_directory(root)) {
    std::cout << "onnx_backend_tests: no node tests at " << root << " (libonnx-testdata missing): skipped\n";
    return 0;
  }
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory() &&
        (filter.empty() || e.path().filename().string().find(filter) != std::string::npos))
      cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  const auto t0 = std::chrono::steady_clock::now();
  int pass = 0, fail = 0, skip = 0, unclaimed = 0;
  std::map<std::string, int> unclaimed_ops;
  for (const fs::path& c : cases) {
    const std::string name = c.filename().string();
    if (auto it = kSkip.find(name); it != kSkip.end()) {
      ++skip;
      if (verbose) std::cout << "SKIP " << name << ": " << it->second << "\n";
      continue;
    }
    const Result r = run_case(c, verbose);
    switch (r.kind) {
      case Result::pass:
        ++pass;
        if (verbose) std::cout << "PASS " << name << "\n";
        break;
      case Result::fail:
        ++fail;
        std::cout << "FAIL " << name << ": " << r.why << "\n";
        break;
      case Result::skip:
        ++skip;
        if (verbose) std::cout << "SKIP " << name << ": " << r.why << "\n";
        break;
      case Result::unclaimed:
        ++unclaimed;
        ++unclaimed_ops[r.why];
        break;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (verbose) {
    std::cout << "unclaimed ops (cases):";
    for (const auto& [op, n] : unclaimed_ops) std::cout << " " << op << "(" << n << ")";
    std::cout << "\n";
  }
  std::cout << "onnx backend node tests: " << pass << " passed, " << fail << " failed, " << skip
            << " skipped (unsupported dtype/attribute), " << unclaimed << " not claimed; " << secs << " s\n";
  return fail ? 1 : 0;
}
