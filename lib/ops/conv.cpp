#include "ops/registry.h"
namespace ortkit::ops {
void register_conv_ops(OpRegistry&) {}
}  // namespace ortkit::ops
