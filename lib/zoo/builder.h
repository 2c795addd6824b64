// GraphBuilder: a thin helper that appends nodes, constants and seeded initializers to an
// onnx::ModelProto the way torch.onnx.export names them, so zoo models read like real exports:
//   nodes    "/encoder/layer.0/attention/self/query/MatMul", outputs "<node>_output_0"
//   weights  "encoder.layer.0.attention.self.query.bias"; transposed Linear weights "onnx::MatMul_<n>"
//
// Weights come from a counter-based generator keyed by (model seed, tensor name), so a tensor's
// values do not depend on the order it was built in and two builds give identical bytes. Values are
// written straight into raw_data (little-endian) because bert-large is 1.3 GB of floats.
#pragma once
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace ortkit::zoo {

/// A dimension of a graph input or output: a fixed size or a symbol ("batch", "sequence").
using DimSpec = std::variant<int64_t, std::string>;

/// A node attribute; the vector forms become INTS / FLOATS.
struct Attr {
  std::string name;
  std::variant<int64_t, float, std::vector<int64_t>, std::vector<float>, std::string, onnx::TensorProto>
      value;
};

/// Deterministic approximately-normal numbers (Irwin-Hall sum of 4 uniforms, variance scaled to 1)
/// from SplitMix64. Fast enough to fill 335M floats in a few seconds; quality is irrelevant here.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next_u64();
  float normal();   ///< mean 0, standard deviation 1, bounded to about +-3.5
  float uniform();  ///< in [0, 1)

 private:
  uint64_t state_;
};

uint64_t hash_name(const std::string& s, uint64_t seed);  ///< FNV-1a of s mixed with seed

class GraphBuilder {
 public:
  /// `seed` selects the weights; `producer` names the exporter this graph imitates.
  GraphBuilder(const std::string& graph_name, uint64_t seed, int opset = 14);

  onnx::ModelProto& model() { return model_; }
  onnx::GraphProto& graph() { return *model_.mutable_graph(); }

  // ---- scopes: node names are "/" + scopes joined by "/" + "/" + op type (+ "_<k>" when repeated)
  void push(const std::string& scope) { scopes_.push_back(scope); }
  void pop() { scopes_.pop_back(); }

  // ---- graph interface
  std::string input(const std::string& name, int32_t elem_type, const std::vector<DimSpec>& dims);
  void output(const std::string& value, const std::string& name, int32_t elem_type,
              const std::vector<DimSpec>& dims);
  void metadata(const std::string& key, const std::string& value);

  // ---- nodes
  /// Appends a node and returns its output names (n_outputs of them).
  std::vector<std::string> node_n(const std::string& op, const std::vector<std::string>& inputs,
                                  int n_outputs, const std::vector<Attr>& attrs = {});
  /// Single-output node.
  std::string node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::vector<Attr>& attrs = {}) {
    return node_n(op, inputs, 1, attrs)[0];
  }

  // ---- constants (Constant nodes, as torch emits for literals)
  std::string const_f(float v);                           ///< 0-d float
  std::string const_i64(int64_t v);                       ///< 0-d int64
  std::string const_i64s(const std::vector<int64_t>& v);  ///< 1-d int64

  // ---- initializers (named like torch state_dict entries)
  std::string init_normal(const std::string& name, const std::vector<int64_t>& dims, float stddev,
                          float mean = 0.f);
  std::string init_fill(const std::string& name, const std::vector<int64_t>& dims, float value);
  std::string init_f32(const std::string& name, const std::vector<int64_t>& dims,
                       const std::vector<float>& v);
  std::string init_i64(const std::string& name, const std::vector<int64_t>& dims,
                       const std::vector<int64_t>& v);
  std::string init_bool(const std::string& name, const std::vector<int64_t>& dims,
                        const std::vector<uint8_t>& v);
  /// Fills `out` with normal(mean, stddev) values keyed by `key` (for weights derived before storing).
  void normal_values(const std::string& key, std::vector<float>& out, float stddev, float mean = 0.f) const;
  /// A fresh "onnx::<Op>_<n>" name, the way torch names folded or transposed parameters.
  std::string anon_name(const std::string& op);

 private:
  std::string scoped_node_name(const std::string& op);
  onnx::TensorProto* add_initializer(const std::string& name, int32_t type, const std::vector<int64_t>& dims);

  onnx::ModelProto model_;
  uint64_t seed_;
  std::vector<std::string> scopes_;
  std::unordered_map<std::string, int> name_counts_;
  int anon_counter_ = 0;
};

}  // namespace ortkit::zoo
