// The one list of op families. Add a line per new lib/ops/<family>.cpp (and declare it in registry.h).
#include "ops/registry.h"

namespace ortkit::ops {

void register_all_ops(OpRegistry& r) {
  register_example_ops(r);
  register_matmul_ops(r);
  register_shape_fold_ops(r);
  register_elementwise_ops(r);
  register_logic_ops(r);
  register_normalization_ops(r);
  register_shape_ops(r);
  register_movement_ops(r);
  register_reduce_ops(r);
  register_conv_ops(r);
  register_pool_ops(r);
  register_quant_linear_ops(r);
  register_quant_matmul_ops(r);
  register_matmul_nbits_ops(r);
  register_ms_llm_attention_ops(r);
  register_recent_recurrent_ops(r);
  register_flex_attention_ops(r);
  register_quant_conv_ops(r);
  register_quant_qdq_conv_ops(r);
  register_quant_qdq_add_ops(r);
  register_rnn_ops(r);
  register_einsum_ops(r);
  register_detection_ops(r);
  register_conv_transpose_ops(r);
  register_nn_misc_ops(r);
  register_elementwise_more_ops(r);
  register_pad_resize_ops(r);
  register_gather_scatter_ops(r);
  register_tensor_misc_ops(r);
  register_control_flow_ops(r);
  register_sequence_ops(r);
  register_tfidf_vectorizer_ops(r);
  register_training_ops(r);
  register_ml_basic_ops(r);
  register_string_ops(r);
  register_random_ops(r);
  register_label_encoder_ops(r);
  register_tree_ensemble_ops(r);
  register_ml_linear_ops(r);
  register_ml_svm_ops(r);
  register_ml_encode_ops(r);
  register_grid_sample_ops(r);
  register_spectral_ops(r);
  register_loss_ops(r);
  register_gelu_ops(r);
  register_skip_layer_norm_ops(r);
  register_embed_layer_norm_ops(r);
  register_attention_ops(r);
  register_onnx_attention_ops(r);
  register_deform_conv_ops(r);
  register_quant_contrib_ops(r);
  register_recent_elementwise_ops(r);
  register_recent_pool_norm_ops(r);
  register_recent_geometry_ops(r);
  register_recent_llm_ops(r);
}

}  // namespace ortkit::ops
