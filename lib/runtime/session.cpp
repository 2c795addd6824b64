#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>

#include "graph/from_onnx.h"
#include "graph/optimizer.h"
#include "onnx/model_io.h"
#include "ops/registry.h"
#include "ortkit/kernels/q4gemm.h"
#include "ortkit/kernels/registry.h"
#include "ortkit/zoo.h"
#include "runtime/node_kernels.h"
#include "runtime/session_impl.h"

namespace ortkit {

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::fp32: return "fp32";
    case Precision::bf16: return "bf16";
    case Precision::int8: return "int8";
  }
  return "?";
}

Precision parse_precision(const std::string& s) {
  if (s == "fp32" || s == "f32" || s == "float32") return Precision::fp32;
  if (s == "bf16" || s == "bfloat16") return Precision::bf16;
  if (s == "int8" || s == "i8") return Precision::int8;
  throw Error("unknown precision '" + s + "' (expected fp32, bf16 or int8)");
}

namespace {
using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}
}  // namespace

std::unique_ptr<Session> Session::open(const std::string& model, const SessionOptions& opts) {
  std::string path = model;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && zoo::is_zoo_name(path)) path = zoo::resolve(path);
  const auto t0 = Clock::now();
  onnx::ModelProto proto = onnxio::load_model(path);
  graph::Graph g = graph::from_onnx(proto, path, onnxio::dir_of(path));
  proto.Clear();
  return std::make_unique<runtime::SessionImpl>(std::move(g), opts, ms_since(t0));
}

std::unique_ptr<Session> Session::from_bytes(const std::string& bytes, const SessionOptions& opts,
                                             const std::string& base_dir) {
  const auto t0 = Clock::now();
  onnx::ModelProto proto = onnxio::parse_model(bytes);
  graph::Graph g = graph::from_onnx(proto, "model bytes", base_dir.empty() ? "." : base_dir);
  return std::make_unique<runtime::SessionImpl>(std::move(g), opts, ms_since(t0));
}

namespace runtime {

void check_supported(const graph::Graph& g) {
  // (op, domain, opset) -> node names
  std::map<std::tuple<std::string, std::string, int>, std::vector<std::string>> missing;
  for (const graph::Node& n : g.nodes)
    if (!ops::OpRegistry::global().find(n.domain, n.op_type, n.opset))
      missing[{n.op_type, n.domain, n.opset}].push_back(n.name);
  if (missing.empty()) return;
  std::string msg = std::to_string(missing.size()) + " unsupported operator(s):";
  for (const auto& [key, names] : missing) {
    const auto& [op, domain, opset] = key;
    msg += "\n  " + op + " (" + (domain.empty() ? "ai.onnx" : domain) + " opset " + std::to_string(opset) +
           "): " + std::to_string(names.size()) + " node(s): ";
    for (size_t i = 0; i < names.size() && i < 5; ++i) msg += (i ? ", '" : "'") + names[i] + "'";
    if (names.size() > 5) msg += ", ...";
  }
  throw Error(msg, g.source);
}

SessionImpl::SessionImpl(graph::Graph g, const SessionOptions& opts, double load_ms)
    : g_(std::move(g)), opts_(opts) {
  timings_.load_ms = load_ms;
  if (opts_.threads < 1) throw Error("threads must be >= 1, got " + std::to_string(opts_.threads), "session");
  auto t0 = Clock::now();
  graph::OptimizeOptions oo;
  oo.level = opts_.optimization_level;
  oo.verbose = opts_.verbose;
  oo.disabled_passes = opts_.disabled_passes;
  if (const char* env = std::getenv("ORTKIT_DISABLE_PASSES")) {  // A/B runs through the CLI tools
    std::string list = env;
    for (size_t b = 0; b <= list.size();) {
      const size_t e = std::min(list.find(',', b), list.size());
      if (e > b) oo.disabled_passes.push_back(list.substr(b, e - b));
      b = e + 1;
    }
  }
  if (const int n = graph::compute_narrow_floats_in_f32(g_); n > 0) {
    opt_log_.push_back("narrow_float_compute: " + std::to_string(n));
    notes_.push_back("float16/bfloat16 model: weights widened and computed in fp32 (" + std::to_string(n) +
                     " rewrites); narrow inputs and outputs keep their types");
  }
  if (const int n = graph::lower_dynamic_quantize_lstm(g_); n > 0) {
    opt_log_.push_back("dq_lstm_lowering: " + std::to_string(n));
    notes_.push_back(std::to_string(n) +
                     " DynamicQuantizeLSTM node(s) run as fp32 LSTM over dequantized weights");
  }
  for (std::string& line : graph::optimize(g_, oo)) opt_log_.push_back(std::move(line));
  timings_.optimize_ms = ms_since(t0);
  // After optimization: ops that a fusion absorbed (e.g. a GELU's Erf) need no kernel of their own.
  check_supported(g_);
  // Say how MatMulNBits' int4 / 2- / 8-bit weights are computed: only 4-bit decode steps stay int4.
  int64_t nbits4 = 0, nbits4_int8 = 0, nbits_other = 0;
  for (const graph::Node& n : g_.nodes) {
    if (n.op_type != "MatMulNBits" || n.domain != "com.microsoft") continue;
    if (n.attrs.get_int("bits", 4) != 4)
      ++nbits_other;
    else if (n.attrs.get_int("accuracy_level", 0) == 4 && kernels::q4s8_kernel())
      ++nbits4_int8;
    else
      ++nbits4;
  }
  if (nbits4_int8 > 0)
    notes_.push_back(std::to_string(nbits4_int8) +
                     " MatMulNBits 4-bit node(s) with accuracy_level 4: A quantized to int8 per block, int4 x"
                     " int8 kernel (as ONNX Runtime's CompInt8)");
  if (nbits4 > 0)
    notes_.push_back(
        std::to_string(nbits4) +
        " MatMulNBits 4-bit node(s): decode steps on the fused int4 kernel, longer inputs as float"
        " GEMMs over weights dequantized on first use");
  if (nbits_other > 0)
    notes_.push_back(std::to_string(nbits_other) +
                     " MatMulNBits 2/8-bit node(s) run as fp32 GEMMs over weights dequantized once");

  if (opts_.precision == Precision::bf16 && kernels::bf16_fast_math().kind != kernels::GemmKind::bf16)
    notes_.push_back("bf16 fast math runs fp32 kernels here: " + kernels::bf16_fast_math().reason);

  pool_ = std::make_unique<ThreadPool>(opts_.threads, opts_.pin_threads);
  const kernels::Threading th = pool_->threading();
  t0 = Clock::now();
  make_node_kernels(g_, opts_.precision, th, opts_.optimization_level,
                    "no kernel for this node after optimization (optimizer bug)", "", infos_, kernels_);
  timings_.prepack_ms = ms_since(t0);
  if (opts_.verbose) {
    std::cerr << "ortkit: session: " << g_.nodes.size() << " nodes after optimization, " << opts_.threads
              << " thread(s), precision " << precision_name(opts_.precision) << "; GEMM kernels:";
    for (const std::string& k : kernels_used()) std::cerr << " " << k;
    std::cerr << "\n";
  }

  for (const ValueInfo& v : g_.inputs) {
    bindable_.push_back({v.name, true});
    bindable_info_.push_back(&v);
  }
  for (const ValueInfo& v : g_.optional_inputs) {
    bindable_.push_back({v.name, false});
    bindable_info_.push_back(&v);
  }
  given_.assign(bindable_.size(), nullptr);
}

void SessionImpl::bind(const std::vector<NamedTensor>& inputs) {
  std::fill(given_.begin(), given_.end(), nullptr);
  for (const NamedTensor& nt : inputs) {
    size_t i = 0;
    while (i < bindable_.size() && bindable_[i].name != nt.name) ++i;
    if (i == bindable_.size()) {
      std::string names;
      for (const ValueInfo& v : g_.inputs) names += (names.empty() ? "'" : ", '") + v.name + "'";
      throw Error("unknown input '" + nt.name + "'; the model's inputs are " + names, g_.source);
    }
    if (given_[i]) throw Error("input '" + nt.name + "' is given twice", g_.source);
    const ValueInfo& vi = *bindable_info_[i];
    const Tensor& t = nt.tensor;
    if (t.empty()) throw Error("input '" + nt.name + "' is an empty (undefined) tensor", g_.source);
    if (vi.dtype != DType::undefined && t.dtype() != vi.dtype)
      throw Error("input '" + nt.name + "' has type " + dtype_name(t.dtype()) + ", the model expects " +
                      dtype_name(vi.dtype),
                  g_.source);
    if (vi.has_shape) {
      if (static_cast<size_t>(t.rank()) != vi.dims.size())
        throw Error("input '" + nt.name + "' has rank " + std::to_string(t.rank()) + " (shape " +
                        shape_str(t.shape()) + "), the model expects rank " + std::to_string(vi.dims.size()),
                    g_.source);
      for (size_t d = 0; d < vi.dims.size(); ++d)
        if (vi.dims[d].value >= 0 && t.shape()[d] != vi.dims[d].value)
          throw Error("input '" + nt.name + "' has shape " + shape_str(t.shape()) + " but dimension " +
                          std::to_string(d) + " must be " + std::to_string(vi.dims[d].value),
                      g_.source);
    }
    given_[i] = &nt.tensor;
  }
  for (size_t i = 0; i < bindable_.size(); ++i)
    if (bindable_[i].required && !given_[i])
      throw Error("required input '" + bindable_[i].name + "' is missing", g_.source);
  // A symbolic dimension ("batch") must have one value across all inputs.
  for (size_t i = 0; i < bindable_.size(); ++i) {
    if (!given_[i] || !bindable_info_[i]->has_shape) continue;
    const auto& di = bindable_info_[i]->dims;
    for (size_t a = 0; a < di.size(); ++a) {
      if (di[a].value >= 0 || di[a].symbol.empty()) continue;
      for (size_t j = i; j < bindable_.size(); ++j) {
        if (!given_[j] || !bindable_info_[j]->has_shape) continue;
        const auto& dj = bindable_info_[j]->dims;
        for (size_t b = 0; b < dj.size(); ++b)
          if (dj[b].symbol == di[a].symbol && given_[j]->shape()[b] != given_[i]->shape()[a])
            throw Error("dimension '" + di[a].symbol + "' is " + std::to_string(given_[i]->shape()[a]) +
                            " in input '" + bindable_[i].name + "' but " +
                            std::to_string(given_[j]->shape()[b]) + " in input '" + bindable_[j].name + "'",
                        g_.source);
      }
    }
  }
}

Plan& SessionImpl::plan_for_given() {
  Plan* plan = nullptr;
  for (auto& p : plans_)
    if (p->matches(given_)) plan = p.get();
  if (!plan) {
    const auto t0 = Clock::now();
    plans_.push_back(
        std::make_unique<Plan>(g_, kernels_, infos_, bindable_, given_, opts_.precision, pool_->threading()));
    plan = plans_.back().get();
    if (profiling_) plan->set_profile(&profile_);
    active_ = plan;  // just compiled: kernels hold this plan's state
    timings_.compile_ms = ms_since(t0);
  }
  if (plan->arena_bytes() > arena_.capacity() || !arena_.data()) {
    arena_.reserve(plan->arena_bytes());
  }
  if (plan->bound_arena() != arena_.data()) plan->bind_arena(arena_.data());
  if (active_ != plan) {
    plan->recompile();
    active_ = plan;
  }
  return *plan;
}

void SessionImpl::prepare(const std::vector<NamedTensor>& inputs) {
  bind(inputs);
  plan_for_given();
}

void SessionImpl::run_into(const std::vector<NamedTensor>& inputs, std::vector<Tensor>& outs) {
  bind(inputs);
  plan_for_given().execute(given_, outs);
  // A run in which some thread's GEMM scratch grew: every pool thread grows to it now, or a worker that
  // first takes such a task in a later run (scheduling varies) would allocate in the steady state.
  if (kernels::scratch_allocations() != scratch_allocs_) {
    pool_->run_each([](void*, int) { kernels::reserve_thread_scratch(); }, nullptr);
    scratch_allocs_ = kernels::scratch_allocations();
  }
}

std::vector<Tensor> SessionImpl::run(const std::vector<NamedTensor>& inputs) {
  run_into(inputs, outs_);
  return outs_;
}

void SessionImpl::set_profiling(bool on) {
  profiling_ = on;
  if (on) profile_.assign(g_.nodes.size(), {});
  for (auto& p : plans_) p->set_profile(on ? &profile_ : nullptr);
}

std::vector<NodeProfile> SessionImpl::profile() const {
  std::vector<NodeProfile> out;
  for (size_t i = 0; i < profile_.size() && i < g_.nodes.size(); ++i) {
    if (profile_[i].calls == 0) continue;
    const graph::Node& n = g_.nodes[i];
    NodeProfile p;
    // Built with append: GCC 12 warns (-Wrestrict, a false positive) on "#" + std::to_string(i) here.
    p.name = n.name;
    if (p.name.empty()) p.name.append("#").append(std::to_string(i));
    if (!n.domain.empty() && n.domain != "ai.onnx") p.op_type.append(n.domain).append(".");
    p.op_type.append(n.op_type);
    p.kernels = kernels_[i]->kernels_used();
    p.total_ms = static_cast<double>(profile_[i].ns) / 1e6;
    p.calls = profile_[i].calls;
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<std::string> SessionImpl::kernels_used() const {
  std::set<std::string> names;
  for (const auto& k : kernels_)
    for (const std::string& n : k->kernels_used()) names.insert(n);
  return {names.begin(), names.end()};
}

std::map<std::string, int> SessionImpl::op_counts() const {
  std::map<std::string, int> c;
  for (const graph::Node& n : g_.nodes) ++c[n.op_type];
  return c;
}

}  // namespace runtime
}  // namespace ortkit
