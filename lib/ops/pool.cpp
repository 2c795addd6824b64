#include "ops/registry.h"
namespace ortkit::ops {
void register_pool_ops(OpRegistry&) {}
}  // namespace ortkit::ops
