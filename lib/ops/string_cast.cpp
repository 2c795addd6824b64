// The string paths of Cast (and so CastLike) and Equal. A string tensor holds std::string objects, not
// bytes (ortkit/tensor.h), so these ops keep their numeric kernels and gain a second one that compile()
// picks when a string is involved (WithStrings). Numbers print as the ONNX reference does: the shortest
// text that reads back the same value ("0.6048455", "1e-05"; ONNX Runtime prints float as %.8g,
// "0.60484552"), "NaN" / "INF" / "-INF", bool as "1" / "0"; strings parse as plain or scientific decimals,
// "NaN", "INF", "+INF", "-INF" (any case) with surrounding spaces, and a string that is not a number of the
// target type is an error naming it.
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "ops/broadcast.h"
#include "ops/registry.h"
#include "ortkit/float16.h"
#include "ortkit/kernels/epilogue.h"

namespace ortkit::ops {
namespace {

constexpr int kOnnxString = 8;  // TensorProto STRING

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/// s without leading and trailing white space.
std::string_view trimmed(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return std::string_view(s).substr(b, e - b);
}

bool parse_double(const std::string& s, double& v) {
  const std::string t(trimmed(s));
  if (t.empty()) return false;
  errno = 0;
  char* end = nullptr;
  v = std::strtod(t.c_str(), &end);  // accepts inf / nan in any case, and a sign
  return end == t.c_str() + t.size();
}

bool parse_int(const std::string& s, int64_t& v) {
  const std::string_view t = trimmed(s);
  const char* b = t.data();
  if (!t.empty() && *b == '+') ++b;
  const auto r = std::from_chars(b, t.data() + t.size(), v);
  if (r.ec == std::errc() && r.ptr == t.data() + t.size()) return true;
  double d = 0;  // "3.0" and "1e3" name integers too
  if (!parse_double(s, d) || !std::isfinite(d) || d != std::trunc(d) || std::fabs(d) > 9.2e18) return false;
  v = static_cast<int64_t>(d);
  return true;
}

/// The shortest text that reads back as the same value (of float for the narrower float types too).
template <class F>
std::string float_text(F v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v < 0 ? "-INF" : "INF";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

class StringCast : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    from_ = cc.input(0).dtype;
    to_ = dtype_from_onnx(static_cast<int>(cc.attr().get_int("to")));
    if (from_ == DType::string && to_ != DType::string && !parsable(to_))
      cc.unsupported(std::string("Cast from string to ") + dtype_name(to_));
    if (to_ == DType::string && from_ != DType::string && !parsable(from_))
      cc.unsupported(std::string("Cast from ") + dtype_name(from_) + " to string");
    if (to_ == DType::string) {
      cc.outputs[0].dtype = to_;
      cc.outputs[0].data_dependent = true;
    } else {
      cc.set_output(0, to_, cc.input(0).shape);
    }
  }
  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    const int64_t n = x.numel();
    if (to_ == DType::string) {
      Tensor& y = rc.allocate_output(0, DType::string, x.shape());
      std::string* out = y.data_as<std::string>();
      if (from_ == DType::string)
        std::copy_n(x.data_as<std::string>(), n, out);
      else
        for (int64_t i = 0; i < n; ++i) out[i] = text(x, i);
      return;
    }
    const std::string* in = x.data_as<std::string>();
    Tensor& y = rc.output(0);
    for (int64_t i = 0; i < n; ++i) store(rc, in[i], y, i);
  }

 private:
  static bool parsable(DType t) {
    switch (t) {
      case DType::f32:
      case DType::f64:
      case DType::f16:
      case DType::bf16:
      case DType::i8:
      case DType::u8:
      case DType::i16:
      case DType::u16:
      case DType::i32:
      case DType::u32:
      case DType::i64:
      case DType::u64:
      case DType::boolean: return true;
      default: return false;
    }
  }

  std::string text(const Tensor& x, int64_t i) const {
    switch (from_) {
      case DType::f32: return float_text(x.data_as<float>()[i]);
      case DType::f64: return float_text(x.data_as<double>()[i]);
      case DType::f16: return float_text(f16_to_f32(x.data_as<uint16_t>()[i]));
      case DType::bf16: return float_text(kernels::bf16_to_f32(x.data_as<uint16_t>()[i]));
      case DType::i8: return std::to_string(x.data_as<int8_t>()[i]);
      case DType::u8: return std::to_string(x.data_as<uint8_t>()[i]);
      case DType::i16: return std::to_string(x.data_as<int16_t>()[i]);
      case DType::u16: return std::to_string(x.data_as<uint16_t>()[i]);
      case DType::i32: return std::to_string(x.data_as<int32_t>()[i]);
      case DType::u32: return std::to_string(x.data_as<uint32_t>()[i]);
      case DType::i64: return std::to_string(x.data_as<int64_t>()[i]);
      case DType::u64: return std::to_string(x.data_as<uint64_t>()[i]);
      case DType::boolean: return x.data_as<uint8_t>()[i] ? "1" : "0";
      default: return {};
    }
  }

  void store(const RunContext& rc, const std::string& s, Tensor& y, int64_t i) const {
    auto bad = [&] {
      rc.fail("cannot read \"" + s + "\" (element " + std::to_string(i) + ") as " + dtype_name(to_));
    };
    const bool is_float = to_ == DType::f32 || to_ == DType::f64 || to_ == DType::f16 || to_ == DType::bf16;
    if (is_float) {
      double d = 0;
      if (!parse_double(s, d)) bad();
      switch (to_) {
        case DType::f32: y.data_as<float>()[i] = static_cast<float>(d); break;
        case DType::f64: y.data_as<double>()[i] = d; break;
        case DType::f16: y.data_as<uint16_t>()[i] = f32_to_f16(static_cast<float>(d)); break;
        default: y.data_as<uint16_t>()[i] = kernels::f32_to_bf16(static_cast<float>(d)); break;
      }
      return;
    }
    if (to_ == DType::boolean) {
      const std::string_view t = trimmed(s);
      auto is = [&](const char* w) {
        return t.size() == std::strlen(w) && strncasecmp(t.data(), w, t.size()) == 0;
      };
      double d = 0;
      if (is("true"))
        d = 1;
      else if (!is("false") && !parse_double(s, d))
        bad();
      y.data_as<uint8_t>()[i] = d != 0 ? 1 : 0;
      return;
    }
    int64_t v = 0;
    if (to_ == DType::u64) {  // past int64's range too
      const std::string_view t = trimmed(s);
      uint64_t u = 0;
      const auto r = std::from_chars(t.data(), t.data() + t.size(), u);
      if (r.ec == std::errc() && r.ptr == t.data() + t.size()) {
        y.data_as<uint64_t>()[i] = u;
        return;
      }
    }
    if (!parse_int(s, v)) bad();
    // Out-of-range values wrap, as a numeric Cast between integer types does.
    switch (to_) {
      case DType::i8: y.data_as<int8_t>()[i] = static_cast<int8_t>(v); break;
      case DType::u8: y.data_as<uint8_t>()[i] = static_cast<uint8_t>(v); break;
      case DType::i16: y.data_as<int16_t>()[i] = static_cast<int16_t>(v); break;
      case DType::u16: y.data_as<uint16_t>()[i] = static_cast<uint16_t>(v); break;
      case DType::i32: y.data_as<int32_t>()[i] = static_cast<int32_t>(v); break;
      case DType::u32: y.data_as<uint32_t>()[i] = static_cast<uint32_t>(v); break;
      case DType::i64: y.data_as<int64_t>()[i] = v; break;
      default: y.data_as<uint64_t>()[i] = static_cast<uint64_t>(v); break;
    }
  }

  DType from_ = DType::undefined, to_ = DType::undefined;
};

class StringEqual : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    if (cc.input(0).dtype != DType::string || cc.input(1).dtype != DType::string)
      cc.fail(std::string("both inputs must be strings, got ") + dtype_name(cc.input(0).dtype) + " and " +
              dtype_name(cc.input(1).dtype));
    cc.set_output(0, DType::boolean,
                  broadcast_shapes(cc.input(0).shape, cc.input(1).shape, cc.node->describe()));
  }
  void run(RunContext& rc) override {
    broadcast_binary<std::string, std::string, bool>(
        rc.input(0), rc.input(1), rc.output(0), rc.threading,
        [](const std::string& a, const std::string& b) { return a == b; });
  }
};

/// The numeric kernel, or the string one when an input is a string or the node casts to one.
class WithStrings : public OpKernel {
 public:
  WithStrings(std::unique_ptr<OpKernel> numeric, std::unique_ptr<OpKernel> strings)
      : numeric_(std::move(numeric)), strings_(std::move(strings)) {}
  void prepack(const PrepackContext& pc) override { numeric_->prepack(pc); }
  void compile(CompileContext& cc) override {
    bool str = cc.attr().get_int("to", 0) == kOnnxString;
    for (size_t i = 0; i < cc.num_inputs(); ++i)
      str = str || (cc.has_input(i) && cc.input(i).dtype == DType::string);
    active_ = str ? strings_.get() : numeric_.get();
    active_->compile(cc);
  }
  void run(RunContext& rc) override { active_->run(rc); }
  std::vector<std::string> kernels_used() const override { return numeric_->kernels_used(); }

 private:
  std::unique_ptr<OpKernel> numeric_, strings_;
  OpKernel* active_ = nullptr;
};

}  // namespace

std::unique_ptr<OpKernel> cast_with_strings(std::unique_ptr<OpKernel> numeric) {
  return std::make_unique<WithStrings>(std::move(numeric), std::make_unique<StringCast>());
}

std::unique_ptr<OpKernel> equal_with_strings(std::unique_ptr<OpKernel> numeric) {
  return std::make_unique<WithStrings>(std::move(numeric), std::make_unique<StringEqual>());
}

}  // namespace ortkit::ops
