// ort-bench's int8 precision for an fp32 model: the library's dynamic quantizer (the same rewrite as
// `ort-quantize --mode dynamic`), written once into the zoo cache and reused by later points and runs.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "ortkit/bench/atomic_file.h"
#include "ortkit/bench/sweep.h"
#include "ortkit/error.h"
#include "ortkit/quantize.h"
#include "ortkit/zoo.h"

namespace ortkit::bench {

namespace fs = std::filesystem;

std::string quantize_dynamic_cached(const std::string& model) {
  const std::string src = zoo::resolve(model);
  std::ifstream in(src, std::ios::binary);
  if (!in) throw Error("cannot read the model to quantize", src);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string bytes = buf.str();
  // Keyed by the fp32 model's content, so an edited model is never served a stale int8 version.
  const size_t key = std::hash<std::string>{}(bytes);
  std::ostringstream name;
  name << fs::path(src).stem().string() << "-int8-dynamic-" << std::hex << key << ".onnx";
  const fs::path dir = fs::path(zoo::cache_dir()) / "int8";
  const fs::path out = dir / name.str();
  if (fs::exists(out)) return out.string();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create the cache folder: " + ec.message(), dir.string());
  QuantizeOptions opts;
  opts.mode = QuantMode::dynamic;
  QuantizeResult q = quantize_model_bytes(bytes, opts);
  if (q.quantized_count() == 0) {
    // An "int8" point that ran fp32 kernels would be a false label: say why no node was quantized.
    std::set<std::string> why;
    for (const NodeDecision& d : q.nodes) why.insert(d.op_type + ": " + d.reason);
    std::string list;
    for (const std::string& w : why) list += (list.empty() ? "" : "; ") + w;
    throw Error("int8 not supported: dynamic quantization found no node to quantize" +
                    (list.empty() ? std::string(" (no MatMul, Gemm or Conv)") : " (" + list + ")"),
                src);
  }
  write_file_atomic(out.string(), q.model_bytes);
  return out.string();
}

}  // namespace ortkit::bench
