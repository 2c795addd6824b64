// ort-quantize's library: fp32 ONNX -> int8 ONNX, written as standard ONNX that any runtime loads.
//
//   auto r = ortkit::quantize_model_bytes(fp32_bytes, {.mode = QuantMode::dynamic});
//   // r.model_bytes is a serialized ModelProto; r.nodes says what was quantized and why not.
//
// Two modes, the same graph forms as ONNX Runtime's quantization tool:
//  - dynamic: weights are quantized ahead of time; activations at run time by DynamicQuantizeLinear.
//    MatMul/Gemm -> MatMulInteger, Conv -> ConvInteger, then Cast to float, Mul by the product of the
//    scales (+ Add of the bias for Gemm / Conv). Only nodes whose weight is an initializer are rewritten.
//  - static: activation ranges come from calibration (see calibrate()), so scales are constants.
//    QDQ format (default): QuantizeLinear/DequantizeLinear pairs around the inputs, weights and outputs
//    of the quantized ops, which stay fp32 ops. QOperator format: QLinearMatMul / QLinearConv.
//
// Scale and zero point follow ONNX Runtime's quant_utils (compute_scale_zp): the range always contains
// 0; symmetric ranges are [-max|x|, max|x|]; s8 symmetric uses [-127, 127], reduce_range 7 bits.
// Rounding is half to even (std::nearbyint), as in numpy and in the ONNX QuantizeLinear spec.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ortkit/tensor.h"

namespace ortkit {

enum class QuantMode : uint8_t { dynamic, static_ };
enum class QuantFormat : uint8_t { qdq, qoperator };
enum class QuantType : uint8_t { u8, s8 };
enum class CalibrationMethod : uint8_t { minmax, percentile, entropy };

QuantType parse_quant_type(const std::string& s);                  ///< "u8"|"uint8"|"s8"|"int8"; throws Error
CalibrationMethod parse_calibration_method(const std::string& s);  ///< throws Error
const char* quant_type_name(QuantType t);                          ///< "u8", "s8"

struct QuantizeOptions {
  QuantMode mode = QuantMode::dynamic;
  QuantFormat format = QuantFormat::qdq;  ///< static mode only
  QuantType weight_type = QuantType::s8;
  QuantType activation_type = QuantType::u8;  ///< static mode; dynamic activations are always u8
  bool per_channel = false;                   ///< MatMul/Gemm: per output column, Conv: per output channel
  bool reduce_range = false;  ///< 7-bit weights (for CPUs without VNNI-style int8 dot products)
  bool symmetric_activations = false;
  std::vector<std::string> op_types = {"MatMul", "Gemm", "Conv"};
  std::vector<std::string> exclude_nodes;  ///< node names kept fp32
  std::vector<std::string> exclude_ops;    ///< op types kept fp32
  bool keep_first_last = false;            ///< keep the first and last quantizable node fp32
};

/// A calibrated activation range.
struct TensorRange {
  float min = 0;
  float max = 0;
};
using RangeMap = std::map<std::string, TensorRange>;

/// One node the quantizer looked at: rewritten, or kept fp32 with the reason.
struct NodeDecision {
  std::string name;
  std::string op_type;
  bool quantized = false;
  std::string reason;  ///< why not, when !quantized
  std::string as;      ///< what it became: "MatMulInteger", "QLinearConv", "QDQ", ...
  std::string output;  ///< the node's (float) output tensor, still present in the int8 model
};

struct QuantizeResult {
  std::string model_bytes;  ///< serialized int8 ModelProto
  std::vector<NodeDecision> nodes;
  size_t bytes_before = 0;
  size_t bytes_after = 0;
  int quantized_count() const;
};

/// The rewrite. Static mode needs a range for every name that tensors_to_calibrate() returns;
/// throws Error when one is missing, when the model is unreadable, or when its opset is too old.
QuantizeResult quantize_model_bytes(const std::string& model_bytes, const QuantizeOptions& opts,
                                    const RangeMap& ranges = {});
/// Dynamic int8 in memory (ort-bench's int8 precision): the serialized int8 model.
std::string quantize_dynamic_bytes(const std::string& model_bytes, const QuantizeOptions& opts = {});
/// The activations whose ranges static mode needs (inputs and outputs of the nodes it will quantize).
std::vector<std::string> tensors_to_calibrate(const std::string& model_bytes, const QuantizeOptions& opts);

// ---- Running models: calibration and evaluation go through this seam, so the backend can be our
// Session (default) or anything else that runs a serialized model (tests, ONNX Runtime via scripts).
class ModelRunner {
 public:
  virtual ~ModelRunner() = default;
  /// Outputs in the model's graph output order.
  virtual std::vector<Tensor> run(const std::vector<NamedTensor>& inputs) = 0;
};
using RunnerFactory = std::function<std::unique_ptr<ModelRunner>(const std::string& model_bytes)>;
/// Backed by ortkit::Session::from_bytes (fp32 precision, 1 thread unless told).
RunnerFactory session_runner_factory(int threads = 1);

/// A stream of input samples, one at a time, so memory does not grow with the data set.
class SampleSource {
 public:
  virtual ~SampleSource() = default;
  /// Fills `sample` with the next one; false at the end.
  virtual bool next(std::vector<NamedTensor>& sample) = 0;
  virtual void rewind() = 0;
  virtual std::string describe() const = 0;  ///< "12 samples from DIR" / "generated: ..."
  virtual bool generated() const { return false; }
};
/// DIR holds test_data_set_*/ folders (input_N.pb TensorProtos, or <input name>.npy / input_N.npy);
/// a DIR with no such folders is itself one sample. Inputs are matched by name, else by position.
std::unique_ptr<SampleSource> open_sample_dir(const std::string& dir, const std::string& model_bytes);
/// `count` synthetic samples like ort-bench's: token ids below the vocabulary size, masks of ones,
/// token type ids of zeros, N(0,1) floats; symbolic dims: batch 1, sequence `seq_len`, others 1.
std::unique_ptr<SampleSource> generated_samples(const std::string& model_bytes, int count, uint64_t seed = 1,
                                                int64_t seq_len = 16);

struct CalibrationOptions {
  CalibrationMethod method = CalibrationMethod::minmax;
  double percentile = 99.99;  ///< percentile method: keep this % of values on each side
  int bins = 2048;            ///< histogram bins per sign (percentile, entropy)
};
struct CalibrationStats {
  int samples = 0;
};
/// Runs the model with `tensors` added as outputs over every sample, merging ranges batch by batch.
RangeMap calibrate(const std::string& model_bytes, const std::vector<std::string>& tensors,
                   SampleSource& data, const RunnerFactory& runner, const CalibrationOptions& opts,
                   CalibrationStats* stats = nullptr);

// ---- Accuracy of the int8 model against the fp32 one.
struct OutputAccuracy {
  std::string name;
  double cosine = 1;  ///< over all samples (the lowest per-sample value)
  double max_abs = 0;
  double mean_abs = 0;
  double top1 = -1;  ///< top-1 agreement in [0, 1] for [batch, classes] outputs; -1 otherwise
};
struct LayerAccuracy {
  std::string node;
  std::string tensor;
  double sqnr_db = 0;  ///< 10 log10(sum fp32^2 / sum (fp32 - int8)^2), over all samples
};
struct AccuracyReport {
  int samples = 0;
  std::vector<OutputAccuracy> outputs;
  std::vector<LayerAccuracy> layers;  ///< with per_layer only
  double min_cosine() const;
};
/// Runs both models on every sample; `layers` (node, tensor) adds each tensor's SQNR.
AccuracyReport evaluate(const std::string& fp32_bytes, const std::string& int8_bytes, SampleSource& data,
                        const RunnerFactory& runner,
                        const std::vector<std::pair<std::string, std::string>>& layers = {});

// ---- The report: stdout text and --report JSON.
struct QuantizeReport {
  std::string model;
  std::string output;
  QuantizeOptions options;
  QuantizeResult result;
  bool calibrated = false;
  std::string calibration_source;  ///< describe() of the samples, or "ranges file ..."
  bool calibration_generated = false;
  CalibrationOptions calibration;
  int calibration_samples = 0;
  bool evaluated = false;
  std::string eval_skipped;  ///< why no accuracy, when !evaluated
  AccuracyReport accuracy;
};
std::string report_text(const QuantizeReport& r);
std::string report_json(const QuantizeReport& r);  ///< schema "ortkit.quantize/1"

/// Writes `bytes` to `path` atomically (temp file in the same folder + rename). Throws Error.
void write_file_atomic(const std::string& path, const std::string& bytes);
/// Reads a whole file. Throws Error naming the file.
std::string read_file_bytes(const std::string& path);
/// Ranges as JSON {"tensor": [min, max], ...} (what scripts/quant_vs_ort.py computes with ORT).
RangeMap read_ranges_json(const std::string& path);
std::string ranges_json(const RangeMap& r);

}  // namespace ortkit
