// Fuzz target: arbitrary bytes as a serialized ONNX model, opened and (when its inputs are small) run once.
// Whatever the bytes, the engine must answer with an exception (ortkit::Error, or std::bad_alloc for a
// model that asks for more memory than there is) and never crash, read out of bounds or hang; the
// sanitizers of the fuzz build (scripts/fuzz.sh) report everything else.
// Inputs are made from the model's declared inputs: symbolic dims 2, at most kMaxElements values each,
// small values (ints 0/1, so index inputs stay in range for most tables).
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "ortkit/error.h"
#include "ortkit/session.h"

namespace {
constexpr int64_t kMaxElements = 1 << 14;

bool make_input(const ortkit::ValueInfo& v, ortkit::NamedTensor* out) {
  using ortkit::DType;
  // Sequences and optionals: a model declares no element shapes we keep, so two float vectors (the
  // kernels must reject other element types with an Error, not read them as floats).
  if (v.dtype == DType::sequence || v.dtype == DType::optional) {
    ortkit::Tensor a(DType::f32, {2}), b(DType::f32, {2});
    a.data_as<float>()[0] = 1.f;
    b.data_as<float>()[1] = -2.f;
    *out = {v.name, v.dtype == DType::sequence ? ortkit::Tensor::sequence(DType::f32, {a, b})
                                               : ortkit::Tensor::optional_of(a)};
    return true;
  }
  if (v.dtype == DType::undefined || (v.dtype != DType::string && ortkit::dtype_size(v.dtype) == 0))
    return false;
  ortkit::Shape shape;
  int64_t n = 1;
  for (const ortkit::Dim& d : v.dims) {
    const int64_t x = d.value >= 0 ? d.value : 2;
    if (x > kMaxElements || (x > 0 && n > kMaxElements / x)) return false;
    shape.push_back(x);
    n *= x;
  }
  if (v.dtype == DType::string) {  // words, numbers, empty and malformed UTF-8
    static const char* kWords[] = {"monday", "1.5", "", "a b-c", "\xff\xfe", "INF"};
    ortkit::Tensor t(DType::string, shape);
    for (int64_t i = 0; i < n; ++i) t.data_as<std::string>()[i] = kWords[i % 6];
    *out = {v.name, t};
    return true;
  }
  ortkit::Tensor t(v.dtype, shape);
  auto* bytes = static_cast<uint8_t*>(t.data());
  const size_t esz = ortkit::dtype_size(v.dtype);
  for (int64_t i = 0; i < n; ++i) {
    switch (v.dtype) {
      case DType::f32: t.data_as<float>()[i] = 0.25f * static_cast<float>(i % 7 - 3); break;
      case DType::f64: t.data_as<double>()[i] = 0.25 * static_cast<double>(i % 7 - 3); break;
      default: bytes[static_cast<size_t>(i) * esz] = static_cast<uint8_t>(i % 2);  // ints, bool: 0 or 1
    }
  }
  *out = {v.name, std::move(t)};
  return true;
}
}  // namespace

/// What the last input came to ("ran", "inputs too big", or the error message): the replay driver's
/// -v output.
std::string fuzz_outcome;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto s = ortkit::Session::from_bytes(std::string(reinterpret_cast<const char*>(data), size));
    std::vector<ortkit::NamedTensor> ins;
    for (const ortkit::ValueInfo& v : s->inputs()) {
      ortkit::NamedTensor t;
      if (!make_input(v, &t)) {
        fuzz_outcome = "not run: input '" + v.name + "' is too big or not numeric";
        return 0;
      }
      ins.push_back(std::move(t));
    }
    s->run(ins);
    fuzz_outcome = "ran";
  } catch (const ortkit::Error& e) {
    fuzz_outcome = "error: " + e.message();
  } catch (const std::bad_alloc&) {
    fuzz_outcome = "error: std::bad_alloc";
  }
  return 0;
}
