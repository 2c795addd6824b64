// The operator registry: (domain, op_type, opset range) -> factory of OpKernel.
//
// Each op-family file defines one function `void register_<family>_ops(OpRegistry& r)` that adds its ops,
// and lib/ops/all_ops.cpp calls every such function from register_all_ops(). No static initializers:
// objects of a static library that nothing references are dropped by the linker.
//
//   void register_elementwise_ops(OpRegistry& r) {
//     r.add("", "Relu", 6, kAnyOpset, [] { return std::make_unique<Relu>(); });
//   }
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ops/op.h"

namespace ortkit::ops {

inline constexpr int kAnyOpset = 1 << 30;                  ///< open upper bound of an opset range
inline constexpr const char* kOnnxDomain = "";             ///< ai.onnx ("ai.onnx" is accepted as an alias)
inline constexpr const char* kMsDomain = "com.microsoft";  ///< contrib ops
inline constexpr const char* kMlDomain = "ai.onnx.ml";     ///< classical ML (sklearn-onnx)
inline constexpr const char* kOrtkitDomain = "ortkit";     ///< fused ops made by our optimizer

using KernelFactory = std::function<std::unique_ptr<OpKernel>()>;

struct OpEntry {
  std::string domain;
  std::string op_type;
  int since = 1;          ///< first opset version this implementation handles
  int until = kAnyOpset;  ///< last opset version (inclusive)
  KernelFactory make;
};

class OpRegistry {
 public:
  /// Register an implementation for opsets [since, until]. Throws Error on an overlapping range.
  void add(const std::string& domain, const std::string& op_type, int since, int until, KernelFactory make);
  /// The entry for (domain, op_type) at `opset`, or null.
  const OpEntry* find(const std::string& domain, const std::string& op_type, int opset) const;
  /// True if some opset of (domain, op_type) is registered.
  bool knows(const std::string& domain, const std::string& op_type) const;
  const std::vector<OpEntry>& entries() const { return entries_; }

  /// The process-wide registry with every built-in op (built on first use, thread-safe).
  static const OpRegistry& global();
  /// The same registry, for tests that register extra ops (domain "ortkit.test"). Not thread-safe
  /// against concurrent sessions; never used by the library itself.
  static OpRegistry& global_for_tests();

 private:
  std::vector<OpEntry> entries_;
};

/// "" for "ai.onnx" and "", else the domain unchanged.
std::string canonical_domain(const std::string& domain);

/// Calls every register_*_ops function (all_ops.cpp).
void register_all_ops(OpRegistry& r);

// One per op-family file; all_ops.cpp lists them. Add yours here and there.
void register_example_ops(OpRegistry& r);     // examples.cpp: Add, Relu (engine lane)
void register_matmul_ops(OpRegistry& r);      // matmul.cpp: MatMul, ortkit FusedGemm (engine lane)
void register_shape_fold_ops(OpRegistry& r);  // shape_fold.cpp: Shape, Size, Identity, Constant (engine)
// ops lane: one family per file, see docs/ops.md for the op list.
void register_elementwise_ops(OpRegistry& r);    // elementwise.cpp
void register_logic_ops(OpRegistry& r);          // logic.cpp
void register_normalization_ops(OpRegistry& r);  // normalization.cpp
void register_shape_ops(OpRegistry& r);          // shape_ops.cpp
void register_movement_ops(OpRegistry& r);       // movement.cpp
void register_reduce_ops(OpRegistry& r);         // reduce.cpp
void register_conv_ops(OpRegistry& r);           // conv.cpp
void register_pool_ops(OpRegistry& r);           // pool.cpp
void register_quant_linear_ops(OpRegistry& r);  // quant_linear.cpp: (De)QuantizeLinear, DynamicQuantizeLinear
void register_matmul_nbits_ops(OpRegistry& r);      // matmul_nbits.cpp: com.microsoft.MatMulNBits
void register_recent_recurrent_ops(OpRegistry& r);  // recent_recurrent.cpp: CausalConvWithState, LinearAttention
void register_ms_llm_attention_ops(OpRegistry& r);  // ms_llm_attention.cpp: MultiHeadAttention, GQA, Rotary
void register_flex_attention_ops(OpRegistry& r);    // flex_attention.cpp: ai.onnx.preview FlexAttention
void register_quant_matmul_ops(OpRegistry& r);  // quant_matmul.cpp: MatMulInteger, QLinearMatMul, fused int8
void register_quant_conv_ops(OpRegistry& r);    // quant_conv.cpp: ConvInteger, QLinearConv
void register_quant_qdq_add_ops(OpRegistry& r);   // quant_qdq_add.cpp: ortkit.QdqAdd (fused QDQ Add)
void register_quant_qdq_conv_ops(OpRegistry& r);  // quant_qdq_conv.cpp: ortkit.QdqConv (fused QDQ Conv)
void register_rnn_ops(OpRegistry& r);           // rnn.cpp: RNN, GRU, LSTM
void register_einsum_ops(OpRegistry& r);        // einsum.cpp: Einsum
void register_detection_ops(OpRegistry& r);     // detection.cpp: NonMaxSuppression, RoiAlign
void register_conv_transpose_ops(OpRegistry& r);    // conv_transpose.cpp: ConvTranspose
void register_nn_misc_ops(OpRegistry& r);           // nn_misc.cpp: PRelu, InstanceNorm, LRN, MVN, Dropout...
void register_elementwise_more_ops(OpRegistry& r);  // elementwise_more.cpp: trig, Selu, IsInf, windows...
void register_pad_resize_ops(OpRegistry& r);     // pad_resize.cpp: Pad, Resize, Upsample
void register_gather_scatter_ops(OpRegistry& r); // gather_scatter.cpp: GatherElements/ND, Scatter*, Trilu...
void register_control_flow_ops(OpRegistry& r);   // control_flow.cpp: If, Loop, Scan (subgraphs)
void register_training_ops(OpRegistry& r);       // training.cpp: Adagrad, Momentum, Adam (preview.training)
void register_tfidf_vectorizer_ops(OpRegistry& r);  // tfidf_vectorizer.cpp: TfIdfVectorizer
void register_ml_basic_ops(OpRegistry& r);       // ml_basic.cpp: ai.onnx.ml ArrayFeatureExtractor, Binarizer
void register_sequence_ops(OpRegistry& r);       // sequence.cpp: Sequence*, SplitToSequence, Optional*
/// True for the ops that take sequence or optional inputs (sequence.cpp); every other op takes tensors.
bool accepts_lists(const NodeInfo& n);
void register_random_ops(OpRegistry& r);         // random.cpp: RandomNormal/Uniform(Like), Bernoulli, Multinomial
void register_string_ops(OpRegistry& r);         // string_ops.cpp: String*, RegexFullMatch
void register_label_encoder_ops(OpRegistry& r);  // label_encoder.cpp: ai.onnx.ml LabelEncoder
void register_tree_ensemble_ops(OpRegistry& r);  // tree_ensemble.cpp: ai.onnx.ml TreeEnsemble*
void register_ml_linear_ops(OpRegistry& r);  // ml_linear.cpp: ai.onnx.ml Linear*, Scaler, Normalizer
void register_ml_encode_ops(OpRegistry& r);  // ml_encode.cpp: ai.onnx.ml Imputer, OneHotEncoder, ...
void register_ml_svm_ops(OpRegistry& r);     // ml_svm.cpp: ai.onnx.ml SVMClassifier, SVMRegressor
/// True for the ops that take string tensors (string_ops.cpp); every other op is refused one at compile.
bool accepts_strings(const NodeInfo& n);
/// A Constant node's value from whichever attribute holds it (shape_fold.cpp); null for sparse_value.
std::shared_ptr<Tensor> constant_node_value(const Attrs& a);
/// Cast and Equal with a second kernel for strings (string_cast.cpp), picked at compile.
std::unique_ptr<OpKernel> cast_with_strings(std::unique_ptr<OpKernel> numeric);
std::unique_ptr<OpKernel> equal_with_strings(std::unique_ptr<OpKernel> numeric);
void register_tensor_misc_ops(OpRegistry& r);    // tensor_misc.cpp: OneHot, EyeLike, TopK, NonZero, ...
void register_grid_sample_ops(OpRegistry& r);    // grid_sample.cpp: GridSample
void register_spectral_ops(OpRegistry& r);       // spectral.cpp: DFT, STFT, MelWeightMatrix
void register_loss_ops(OpRegistry& r);           // loss.cpp: NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss
void register_gelu_ops(OpRegistry& r);             // gelu.cpp: Gelu (opset 20), com.microsoft Gelu family
void register_skip_layer_norm_ops(OpRegistry& r);  // skip_layer_norm.cpp: SkipLayerNorm, RMS norms
void register_embed_layer_norm_ops(OpRegistry& r); // embed_layer_norm.cpp: com.microsoft EmbedLayerNorm
void register_deform_conv_ops(OpRegistry& r);      // deform_conv.cpp: DeformConv (opset 19)
void register_onnx_attention_ops(OpRegistry& r);   // onnx_attention.cpp: Attention (opset 23+)
void register_attention_ops(OpRegistry& r);        // attention.cpp: com.microsoft (Q)Attention
void register_quant_contrib_ops(OpRegistry& r);     // quant_contrib.cpp: QLinearAdd, QGemm, ... (QOperator)
void register_recent_elementwise_ops(OpRegistry& r);  // recent_elementwise.cpp: Mish, Swish, SwiGLU, Bitwise*...
void register_recent_pool_norm_ops(OpRegistry& r);    // recent_pool_norm.cpp: LpNormalization, GroupNorm, LpPool
void register_recent_geometry_ops(OpRegistry& r);     // recent_geometry.cpp: CenterCropPad, Col2Im, AffineGrid
void register_recent_llm_ops(OpRegistry& r);          // recent_llm.cpp: RotaryEmbedding, TensorScatter

}  // namespace ortkit::ops
