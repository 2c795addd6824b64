// Implementation side of ortkit/verify.h (kept under runtime/ for the engine's own includes).
#pragma once
#include "ortkit/verify.h"

namespace ortkit::runtime {
using ortkit::compare_tensors;
using ortkit::load_test_data_set;
using ortkit::TensorDiff;
using ortkit::TestDataSet;
}  // namespace ortkit::runtime
