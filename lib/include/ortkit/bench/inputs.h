// Input generation for ort-bench, from the model's own input names, dtypes and symbolic dims.
//
// Each dim of each input gets a role: fixed (a number in the model), batch, sequence, past (a
// KV-cache length, set by --past, default 0 = no cache), total (past + sequence), or unknown (an
// error: we will not guess a shape). Symbols containing "total", or "past" together with "+"
// ("past_sequence_length + sequence_length"), are total; other symbols containing "past" are past;
// "seq", "sequence", "length", "token" are sequence; "batch" or any symbolic dim 0 is batch; dim 1 of
// a 2-D integer input (token ids) is sequence. In a model with past inputs, the sequence dim of a
// *mask* input is total (the mask covers the cached tokens and the new ones).
//
// Values: integer inputs named like *mask* are ones with the last `padding` fraction of each row
// zeroed (at least one position stays 1); *token_type* / *segment* zeros; *position* past..past+seq-1;
// other integer inputs random ids in [0, Session::index_bound(name)) (the embedding table size). Float
// inputs are uniform in [0, 1); float inputs with a past dim (the KV cache) uniform in [-1, 1).
// Everything is seeded, so the same settings give the same inputs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ortkit/session.h"

namespace ortkit::bench {

enum class DimRole { fixed, batch, seq, past, total, unknown };

struct InputLayout {
  bool has_batch_dim = false;
  bool has_seq_dim = false;
  bool has_past_dim = false;  ///< some input has a KV-cache (past) dim
  int64_t fixed_batch = -1;  ///< dim 0 when no input has a batch dim (-1 if none)
  int64_t fixed_seq = -1;    ///< dim 1 of a fixed 2-D integer input, for reports (-1 if none)
  std::string summary;       ///< "input_ids:int64[batch,sequence], attention_mask:int64[batch,sequence]"
};

/// The role of dim `d` of `in`; `model_has_past`: some input of the model has a past dim (then the
/// sequence dim of a *mask* input is total).
DimRole dim_role(const ValueInfo& in, size_t d, bool model_has_past = false);
/// True when some input has a past dim.
bool has_past_inputs(const std::vector<ValueInfo>& inputs);
InputLayout analyze_inputs(const std::vector<ValueInfo>& inputs);

/// Throws Error (naming the model and its inputs) when the sweep asks for a batch or sequence length
/// the model cannot take: a --seq sweep on a model without a sequence dim, a --past sweep on a model
/// without past inputs, a batch other than the fixed one, or an input with a symbolic dim we cannot
/// assign.
void check_sweep_fits(const std::string& model, const std::vector<ValueInfo>& inputs,
                      const std::vector<int64_t>& batch, const std::vector<int64_t>& seq,
                      const std::vector<int64_t>& past = {});

struct GeneratedInputs {
  std::vector<NamedTensor> tensors;
  std::vector<std::string> notes;  ///< e.g. "vocab size unknown for input_ids; ids in [0, 2)"
};

/// Synthetic inputs for one point; seq < 0 when the model has no sequence dim; past: the KV-cache
/// length of past dims (total dims get past + seq; past < 0 counts as 0).
GeneratedInputs make_inputs(const Session& session, int64_t batch, int64_t seq, double padding,
                            uint64_t seed, int64_t past = 0);

/// Real inputs from a directory of ONNX test-data .pb files (input_0.pb, ...) or .npy files, matched to
/// the model inputs by name, else by order. A directory holding test_data_set_0/ is entered.
std::vector<NamedTensor> load_input_dir(const std::string& dir, const std::vector<ValueInfo>& inputs);
/// A TensorProto .pb file or a .npy file, as an owned tensor. `name` gets the stored name ("" if none).
Tensor load_tensor_file(const std::string& path, std::string* name = nullptr);

/// The batch and seq values of loaded inputs, for the report.
void shape_of_inputs(const std::vector<ValueInfo>& infos, const std::vector<NamedTensor>& tensors,
                     int64_t& batch, int64_t& seq);

}  // namespace ortkit::bench
