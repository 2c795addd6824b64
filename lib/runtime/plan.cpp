#include "runtime/plan.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "ops/registry.h"

namespace ortkit::runtime {
namespace {

bool nondeterministic(const graph::Node& n) {
  static const char* kOps[] = {"RandomNormal",      "RandomUniform", "RandomNormalLike",
                               "RandomUniformLike", "Multinomial",   "Bernoulli"};
  for (const char* o : kOps)
    if (n.op_type == o) return true;
  return false;
}

std::shared_ptr<void> alloc_bytes(size_t n) {
  void* p = std::aligned_alloc(64, (std::max<size_t>(n, 1) + 63) / 64 * 64);
  if (!p) throw std::bad_alloc();
  return std::shared_ptr<void>(p, std::free);
}

/// Storage for a dynamic slot, reused when big enough.
Tensor dynamic_tensor(Slot& s, DType dtype, const Shape& shape) {
  if (dtype == DType::string) return Tensor(dtype, shape);  // objects, made afresh each run
  const size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  if (!s.storage || s.capacity < bytes) {
    s.storage = alloc_bytes(bytes);
    s.capacity = std::max<size_t>(bytes, 1);
  }
  std::memset(s.storage.get(), 0, bytes);
  return Tensor::view(dtype, shape, s.storage.get());
}

/// A sequence, optional or string tensor reaching an op that reads tensor bytes would be read as an empty
/// buffer: only the ops that say they take them may see one.
void check_input_kind(const ops::NodeInfo& info, DType dt, const std::string& name) {
  if (is_list_dtype(dt) && !ops::accepts_lists(info))
    throw Error("input '" + name + "' is a " + dtype_name(dt) + "; this op takes tensors", info.describe());
  if (dt == DType::string && !ops::accepts_strings(info))
    throw Unsupported("input '" + name + "' is a string tensor; this op takes numbers", info.describe());
}

struct DynPool {
  Step* step;
  std::vector<Slot>* slots;
};

}  // namespace

int Plan::slot_of(const std::string& name) const {
  auto it = std::lower_bound(index_.begin(), index_.end(), std::make_pair(name, INT_MIN));
  return it != index_.end() && it->first == name ? it->second : -1;
}

Plan::Plan(const graph::Graph& g, const std::vector<std::unique_ptr<ops::OpKernel>>& kernels,
           const std::vector<ops::NodeInfo>& infos, const std::vector<BindableInput>& bindable,
           const std::vector<const Tensor*>& given, Precision precision, const kernels::Threading& th)
    : g_(g), th_(th) {
  std::map<std::string, int> idx;
  auto add_slot = [&](Slot s) {
    const int i = static_cast<int>(slots_.size());
    if (!s.name.empty()) idx[s.name] = i;
    slots_.push_back(std::move(s));
    return i;
  };
  // Inputs (user tensors) first, then constants: a given overridable initializer shadows its default.
  input_slots_.assign(bindable.size(), -1);
  for (size_t i = 0; i < bindable.size(); ++i) {
    given_mask_.push_back(given[i] != nullptr);
    signature_.emplace_back(given[i] ? given[i]->dtype() : DType::undefined,
                            given[i] ? given[i]->shape() : Shape{});
    if (!given[i]) continue;
    Slot s;
    s.kind = Slot::Kind::input;
    s.name = bindable[i].name;
    s.dtype = given[i]->dtype();
    s.shape = given[i]->shape();
    s.input_index = static_cast<int>(i);
    s.tensor = *given[i];
    input_slots_[i] = add_slot(std::move(s));
  }
  for (const auto& [name, t] : g.initializers) {
    if (idx.count(name)) continue;
    Slot s;
    s.kind = Slot::Kind::constant;
    s.name = name;
    s.dtype = t->dtype();
    s.shape = t->shape();
    s.value = t.get();
    s.tensor = Tensor::view(t->dtype(), t->shape(), const_cast<void*>(t->data()));
    add_slot(std::move(s));
  }
  auto lookup = [&](const std::string& n) {
    auto it = idx.find(n);
    return it == idx.end() ? -1 : it->second;
  };

  for (size_t ni = 0; ni < g.nodes.size(); ++ni) {
    const graph::Node& node = g.nodes[ni];
    ops::OpKernel* k = kernels[ni].get();
    Step st;
    st.node = static_cast<int>(ni);
    st.kernel = k;
    ops::CompileContext& cc = st.compiled;
    cc.node = &infos[ni];
    cc.attrs = &node.attrs;
    cc.precision = precision;
    cc.threading = th;
    bool all_const = true, any_unknown = false;
    for (const std::string& in : node.inputs) {
      ops::InputDesc d;
      const int s = in.empty() ? -1 : lookup(in);
      if (!in.empty() && s < 0)
        throw Error("input '" + in + "' was not given and has no default", node.info().describe());
      st.in_slots.push_back(s);
      if (s >= 0) {
        const Slot& sl = slots_[s];
        check_input_kind(infos[ni], sl.dtype, in);
        d.present = true;
        d.dtype = sl.dtype;
        d.shape = sl.shape;
        d.shape_known = sl.shape_known;
        d.constant = sl.value;
        all_const = all_const && sl.value;
        any_unknown = any_unknown || !sl.shape_known;
      }
      cc.inputs.push_back(d);
    }
    cc.outputs.resize(node.outputs.size());
    st.dynamic = any_unknown;
    std::vector<int> outs;
    if (!any_unknown) {
      k->compile(cc);
      // Unused optional outputs ("" in the node) may stay unset; they get an empty tensor.
      for (size_t o = 0; o < cc.outputs.size(); ++o)
        if (cc.outputs[o].dtype == DType::undefined && !cc.outputs[o].data_dependent &&
            !node.outputs[o].empty())
          throw Error("the kernel set no type for output " + std::to_string(o), node.info().describe());
      bool all_out_const = !cc.outputs.empty();
      bool data_dep = false;
      for (const auto& o : cc.outputs) {
        all_out_const = all_out_const && o.constant;
        data_dep = data_dep || o.data_dependent;
      }
      if (all_out_const) {
        // The kernel knows its outputs now (Shape, Constant): no step.
        for (size_t o = 0; o < node.outputs.size(); ++o) {
          folded_values_.push_back(cc.outputs[o].constant);
          const Tensor* t = folded_values_.back().get();
          Slot s;
          s.kind = Slot::Kind::constant;
          s.name = node.outputs[o];
          s.dtype = t->dtype();
          s.shape = t->shape();
          s.value = t;
          s.tensor = Tensor::view(t->dtype(), t->shape(), const_cast<void*>(t->data()));
          add_slot(std::move(s));
        }
        ++folded_;
        continue;
      }
      if (all_const && !data_dep && !nondeterministic(node)) {
        // Constant folding: run the kernel once now on owned buffers.
        ops::RunContext rc;
        rc.node = &infos[ni];
        rc.threading = th;
        for (int s : st.in_slots) rc.inputs.push_back(s >= 0 ? &slots_[s].tensor : nullptr);
        std::vector<Tensor> vals(node.outputs.size());
        for (size_t o = 0; o < vals.size(); ++o) {
          const ops::OutputDesc& od = cc.outputs[o];
          if (od.alias_of_input >= 0)
            vals[o] =
                Tensor::view(od.dtype, od.shape, const_cast<void*>(rc.inputs.at(od.alias_of_input)->data()));
          else
            vals[o] = Tensor(od.dtype, od.shape);
          rc.outputs.push_back(&vals[o]);
        }
        std::shared_ptr<void> scratch;
        if (cc.scratch_bytes) {
          scratch = alloc_bytes(cc.scratch_bytes);
          rc.scratch = scratch.get();
          rc.scratch_bytes = cc.scratch_bytes;
        }
        k->run(rc);
        for (size_t o = 0; o < vals.size(); ++o) {
          folded_values_.push_back(std::make_shared<Tensor>(vals[o].clone()));
          const Tensor* t = folded_values_.back().get();
          Slot s;
          s.kind = Slot::Kind::constant;
          s.name = node.outputs[o];
          s.dtype = t->dtype();
          s.shape = t->shape();
          s.value = t;
          s.tensor = Tensor::view(t->dtype(), t->shape(), const_cast<void*>(t->data()));
          add_slot(std::move(s));
        }
        ++folded_;
        continue;
      }
      const int step_index = static_cast<int>(steps_.size());
      for (size_t o = 0; o < node.outputs.size(); ++o) {
        const ops::OutputDesc& od = cc.outputs[o];
        Slot s;
        s.name = node.outputs[o];
        s.dtype = od.dtype;
        s.shape = od.shape;
        if (od.data_dependent) {
          s.kind = Slot::Kind::dynamic;
          s.shape_known = false;
        } else if (od.alias_of_input >= 0) {
          const int in = st.in_slots.at(static_cast<size_t>(od.alias_of_input));
          if (in < 0) throw Error("output aliases an absent input", node.info().describe());
          s.kind = Slot::Kind::alias;
          s.alias_root = slots_[in].kind == Slot::Kind::alias ? slots_[in].alias_root : in;
          if (slots_[s.alias_root].kind == Slot::Kind::dynamic) {  // cannot alias a moving buffer
            s.kind = Slot::Kind::dynamic;
            s.alias_root = -1;
          }
        } else if (od.dtype == DType::string) {
          throw Error("a string output must be allocated at run time (data_dependent) or alias an input",
                      node.info().describe());
        } else {
          s.kind = Slot::Kind::arena;
          s.buffer = static_cast<int>(requests_.size());
          requests_.push_back(
              {static_cast<size_t>(shape_numel(od.shape)) * dtype_size(od.dtype), step_index, step_index});
        }
        outs.push_back(add_slot(std::move(s)));
      }
      if (cc.scratch_bytes) {
        st.scratch_buffer = static_cast<int>(requests_.size());
        requests_.push_back({cc.scratch_bytes, step_index, step_index});
      }
    } else {
      // Downstream of a data-dependent shape: compiled at run time.
      for (size_t o = 0; o < node.outputs.size(); ++o) {
        Slot s;
        s.kind = Slot::Kind::dynamic;
        s.name = node.outputs[o];
        s.shape_known = false;
        outs.push_back(add_slot(std::move(s)));
      }
    }
    st.out_slots = outs;
    steps_.push_back(std::move(st));
  }

  // Lifetimes: extend each arena buffer to its last reader (through aliases); graph outputs live to the end.
  const int end = static_cast<int>(steps_.size());
  auto extend = [&](int slot, int step) {
    if (slot < 0) return;
    const Slot& s = slots_[slot];
    const int root = s.kind == Slot::Kind::alias ? s.alias_root : slot;
    if (slots_[root].kind == Slot::Kind::arena) {
      BufferRequest& r = requests_[slots_[root].buffer];
      r.last = std::max(r.last, step);
    }
  };
  for (int si = 0; si < end; ++si)
    for (int s : steps_[si].in_slots) extend(s, si);
  for (const ValueInfo& o : g.outputs) {
    const int s = lookup(o.name);
    if (s < 0) throw Error("graph output '" + o.name + "' is not computed", g.source);
    output_slots_.push_back(s);
    extend(s, end);
  }
  const MemoryPlan mp = plan_memory(requests_);
  offsets_ = mp.offsets;
  arena_bytes_ = mp.total;

  // Tensors for every non-constant slot, then the prebuilt RunContexts (slots_ no longer moves).
  for (Slot& s : slots_)
    if (s.kind == Slot::Kind::arena || s.kind == Slot::Kind::alias)
      s.tensor = Tensor::view(s.dtype, s.shape, nullptr);
  for (Step& st : steps_) {
    st.rc.node = st.compiled.node;
    st.rc.threading = th;
    for (int s : st.in_slots) st.rc.inputs.push_back(s >= 0 ? &slots_[s].tensor : nullptr);
    for (int s : st.out_slots) st.rc.outputs.push_back(&slots_[s].tensor);
  }
  for (auto& [n, i] : idx) index_.emplace_back(n, i);
}

bool Plan::matches(const std::vector<const Tensor*>& given) const {
  if (given.size() != signature_.size()) return false;
  for (size_t i = 0; i < given.size(); ++i) {
    if ((given[i] != nullptr) != given_mask_[i]) return false;
    if (given[i] && (given[i]->dtype() != signature_[i].first || given[i]->shape() != signature_[i].second))
      return false;
  }
  return true;
}

void Plan::bind_arena(char* base) {
  bound_ = base;
  for (Slot& s : slots_)
    if (s.kind == Slot::Kind::arena) s.tensor.rebind(base + offsets_[s.buffer]);
  for (Slot& s : slots_)
    if (s.kind == Slot::Kind::alias && slots_[s.alias_root].kind != Slot::Kind::input)
      s.tensor.rebind(const_cast<void*>(slots_[s.alias_root].tensor.data()));
  for (Step& st : steps_) {
    st.rc.scratch = st.scratch_buffer >= 0 ? base + offsets_[st.scratch_buffer] : nullptr;
    st.rc.scratch_bytes = st.scratch_buffer >= 0 ? requests_[st.scratch_buffer].bytes : 0;
  }
}

void Plan::recompile() {
  for (Step& st : steps_) {
    if (st.dynamic) continue;
    ops::CompileContext cc = st.compiled;
    for (auto& o : cc.outputs) o = {};
    cc.scratch_bytes = 0;
    st.kernel->compile(cc);
  }
}

void Plan::run_dynamic(Step& st) {
  const graph::Node& node = g_.nodes[st.node];
  ops::CompileContext cc = st.compiled;
  for (size_t j = 0; j < st.in_slots.size(); ++j) {
    const int s = st.in_slots[j];
    if (s < 0) continue;
    const Tensor& t = slots_[s].tensor;
    check_input_kind(*st.compiled.node, t.dtype(), node.inputs[j]);
    cc.inputs[j].dtype = t.dtype();
    cc.inputs[j].shape = t.shape();
    cc.inputs[j].shape_known = true;
  }
  for (auto& o : cc.outputs) o = {};
  cc.scratch_bytes = 0;
  st.kernel->compile(cc);
  for (size_t o = 0; o < st.out_slots.size(); ++o) {
    Slot& s = slots_[st.out_slots[o]];
    const ops::OutputDesc& od = cc.outputs[o];
    if (od.data_dependent) continue;
    if (od.alias_of_input >= 0)
      s.tensor =
          Tensor::view(od.dtype, od.shape, const_cast<void*>(st.rc.inputs.at(od.alias_of_input)->data()));
    else
      s.tensor = dynamic_tensor(s, od.dtype, od.shape);
  }
  if (cc.scratch_bytes > st.dyn_scratch_bytes) {
    st.dyn_scratch = alloc_bytes(cc.scratch_bytes);
    st.dyn_scratch_bytes = cc.scratch_bytes;
  }
  st.rc.scratch = st.dyn_scratch.get();
  st.rc.scratch_bytes = cc.scratch_bytes;
}

void Plan::execute(const std::vector<const Tensor*>& given, std::vector<Tensor>& outputs) {
  for (size_t i = 0; i < input_slots_.size(); ++i)
    if (input_slots_[i] >= 0) slots_[input_slots_[i]].tensor = *given[i];
  for (Slot& s : slots_)
    if (s.kind == Slot::Kind::alias && slots_[s.alias_root].kind == Slot::Kind::input)
      s.tensor.rebind(const_cast<void*>(slots_[s.alias_root].tensor.data()));
  for (Step& st : steps_) {
    if (st.dynamic) run_dynamic(st);
    // Data-dependent outputs are allocated by the kernel through this pool.
    DynPool pool{&st, &slots_};
    st.rc.dynamic_pool = &pool;
    st.rc.allocate_fn = [](void* p, size_t i, DType dt, const Shape& shape) {
      auto* dp = static_cast<DynPool*>(p);
      return dynamic_tensor((*dp->slots)[dp->step->out_slots.at(i)], dt, shape);
    };
    if (profile_) {
      const auto t0 = std::chrono::steady_clock::now();
      st.kernel->run(st.rc);
      NodeTime& nt = (*profile_)[static_cast<size_t>(st.node)];
      nt.ns +=
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
      ++nt.calls;
    } else {
      st.kernel->run(st.rc);
    }
  }
  outputs.resize(output_slots_.size());
  for (size_t i = 0; i < output_slots_.size(); ++i) outputs[i] = slots_[output_slots_[i]].tensor;
}

}  // namespace ortkit::runtime
