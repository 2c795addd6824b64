#include "ops/registry.h"

#include <mutex>

namespace ortkit::ops {

std::string canonical_domain(const std::string& domain) {
  return domain == "ai.onnx" ? std::string() : domain;
}

void OpRegistry::add(const std::string& domain, const std::string& op_type, int since, int until,
                     KernelFactory make) {
  const std::string d = canonical_domain(domain);
  if (since > until) throw Error("empty opset range for " + op_type, "op registry");
  for (const OpEntry& e : entries_)
    if (e.domain == d && e.op_type == op_type && !(until < e.since || since > e.until))
      throw Error("opset range [" + std::to_string(since) + ", " + std::to_string(until) +
                      "] overlaps an existing registration of " + op_type,
                  "op registry");
  entries_.push_back({d, op_type, since, until, std::move(make)});
}

const OpEntry* OpRegistry::find(const std::string& domain, const std::string& op_type, int opset) const {
  const std::string d = canonical_domain(domain);
  for (const OpEntry& e : entries_)
    if (e.domain == d && e.op_type == op_type && opset >= e.since && opset <= e.until) return &e;
  return nullptr;
}

bool OpRegistry::knows(const std::string& domain, const std::string& op_type) const {
  const std::string d = canonical_domain(domain);
  for (const OpEntry& e : entries_)
    if (e.domain == d && e.op_type == op_type) return true;
  return false;
}

OpRegistry& OpRegistry::global_for_tests() {
  static OpRegistry reg = [] {
    OpRegistry r;
    register_all_ops(r);
    return r;
  }();
  return reg;
}

const OpRegistry& OpRegistry::global() {
  return global_for_tests();
}

}  // namespace ortkit::ops
