// Makes intermediate tensors visible: adds them as graph outputs (float32), so any runner returns them.
#pragma once
#include <string>
#include <vector>

namespace ortkit::quant {

/// The model bytes with `tensors` appended as graph outputs (those already outputs are not repeated);
/// `index[i]` is where tensors[i] lands in the output list.
std::string add_outputs(const std::string& model_bytes, const std::vector<std::string>& tensors,
                        std::vector<size_t>& index);

}  // namespace ortkit::quant
