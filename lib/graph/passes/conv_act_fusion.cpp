#include "graph/optimizer.h"

namespace ortkit::graph {

int fuse_conv_activation(Graph&) {
  return 0;
}

}  // namespace ortkit::graph
