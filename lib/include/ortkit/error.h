// The one exception type of ortkit: what went wrong and where (file, node name, op type, opset).
// apps/ catch it, print one line "ort-xxx: error: <where>: <what>", and exit non-zero.
#pragma once
#include <stdexcept>
#include <string>

namespace ortkit {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, std::string where = {})
      : std::runtime_error(what), where_(std::move(where)) {}
  /// "model.onnx", "node 'Attention_3' (MatMul, ai.onnx opset 14)", ... ; empty if not known.
  const std::string& where() const { return where_; }
  /// "where: what" or just "what".
  std::string message() const { return where_.empty() ? what() : where_ + ": " + what(); }

 private:
  std::string where_;
};

/// Something valid ONNX that ortkit does not implement (an element type, an attribute value, a dtype
/// combination of an operator): still an Error, so callers that only report errors need nothing else;
/// conformance drivers count it as "skipped (unsupported)" rather than as a wrong result.
class Unsupported : public Error {
 public:
  using Error::Error;
};

}  // namespace ortkit
