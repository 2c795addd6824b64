#include "runtime/subgraph.h"

#include <algorithm>

#include "graph/optimizer.h"
#include "runtime/node_kernels.h"
#include "runtime/session_impl.h"

namespace ortkit::runtime {
namespace {
// Bodies whose carried shapes change every iteration would otherwise grow the cache without bound.
constexpr size_t kMaxPlans = 8;
}  // namespace

SubgraphRunner::SubgraphRunner(const graph::Graph& body,
                               const std::map<std::string, const Tensor*>& outer_constants,
                               Precision precision, const kernels::Threading& th, int optimization_level)
    : g_(body), precision_(precision), opt_level_(optimization_level), th_(th) {
  formal_ = g_.inputs.size();
  for (const ValueInfo& v : g_.inputs) bind_names_.push_back(v.name);
  for (const std::string& r : g_.outer_refs) {
    auto it = outer_constants.find(r);
    if (it != outer_constants.end() && it->second) {
      // A borrowed view: the outer initializer outlives the kernel that owns this runner.
      const Tensor* c = it->second;
      g_.initializers[r] =
          std::make_shared<const Tensor>(Tensor::view(c->dtype(), c->shape(), const_cast<void*>(c->data())));
      continue;
    }
    ValueInfo vi;
    vi.name = r;
    vi.has_shape = false;
    g_.inputs.push_back(vi);
    bind_names_.push_back(r);
  }
  g_.outer_refs.clear();
  graph::OptimizeOptions oo;
  oo.level = opt_level_;
  graph::optimize(g_, oo);
  check_supported(g_);
  make_node_kernels(g_, precision_, th_, opt_level_, "no kernel for this node", " in " + g_.source, infos_,
                    kernels_);
  for (const ValueInfo& v : g_.inputs) bindable_.push_back({v.name, true});
  for (const ValueInfo& v : g_.optional_inputs) bindable_.push_back({v.name, false});
  given_all_.assign(bindable_.size(), nullptr);
}

SubgraphRunner::~SubgraphRunner() = default;

std::vector<std::string> SubgraphRunner::kernels_used() const {
  std::vector<std::string> names;
  for (const auto& k : kernels_)
    for (const std::string& n : k->kernels_used())
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  return names;
}

Plan& SubgraphRunner::plan_for(const std::vector<const Tensor*>& given) {
  for (size_t i = plans_.size(); i-- > 0;) {
    if (!plans_[i]->matches(given)) continue;
    if (i + 1 != plans_.size()) std::rotate(plans_.begin() + i, plans_.begin() + i + 1, plans_.end());
    break;
  }
  if (plans_.empty() || !plans_.back()->matches(given)) {
    if (plans_.size() >= kMaxPlans) {
      if (active_ == plans_.front().get()) active_ = nullptr;
      plans_.erase(plans_.begin());
    }
    plans_.push_back(std::make_unique<Plan>(g_, kernels_, infos_, bindable_, given, precision_, th_));
    active_ = plans_.back().get();  // just compiled: kernels hold this plan's state
  }
  Plan& plan = *plans_.back();
  if (plan.arena_bytes() > arena_.capacity() || !arena_.data()) arena_.reserve(plan.arena_bytes());
  if (plan.bound_arena() != arena_.data()) plan.bind_arena(arena_.data());
  if (active_ != &plan) {
    plan.recompile();
    active_ = &plan;
  }
  return plan;
}

const std::vector<Tensor>& SubgraphRunner::run(const std::vector<const Tensor*>& given) {
  if (given.size() != bind_names_.size())
    throw Error("subgraph run with " + std::to_string(given.size()) + " inputs, expected " +
                    std::to_string(bind_names_.size()),
                g_.source);
  for (size_t i = 0; i < given.size(); ++i) {
    if (!given[i] || given[i]->empty())
      throw Error("subgraph input '" + bind_names_[i] + "' has no value", g_.source);
    given_all_[i] = given[i];
  }
  plan_for(given_all_).execute(given_all_, outs_);
  return outs_;
}

}  // namespace ortkit::runtime
