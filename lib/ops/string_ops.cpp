// Text ops on string tensors: StringNormalizer (opset 10), StringConcat, StringSplit and RegexFullMatch
// (opset 20), and the list of ops that may see a string tensor at all (accepts_strings). Case changes map
// UTF-8 text through the wide ctype of a UTF-8 locale (the node's `locale` when the system has it, else
// C.UTF-8, else ASCII only). RegexFullMatch reads its pattern with std::regex (ECMAScript): ONNX names RE2
// syntax, and the common ground (classes, \w \d \s \b, groups, alternation, counted repeats) reads the
// same; RE2-only forms such as (?i) or (?P<name>...) are refused as unsupported, naming the pattern.
#include <algorithm>
#include <locale>
#include <regex>

#include "ops/broadcast.h"
#include "ops/registry.h"

namespace ortkit::ops {
namespace {

// ---------------------------------------------------------------------------------------------- UTF-8

/// Appends the code points of UTF-8 `s` to `out`; false on a malformed sequence.
bool decode_utf8(const std::string& s, std::u32string& out) {
  out.clear();
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + static_cast<size_t>(len) > s.size()) return false;
    char32_t cp = len == 1 ? b : b & (0x7F >> len);
    for (int k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((c >> 6) != 2) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    out.push_back(cp);
    i += static_cast<size_t>(len);
  }
  return true;
}

void encode_utf8(const std::u32string& cps, std::string& out) {
  out.clear();
  for (char32_t c : cps) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
}

/// Upper / lower case of UTF-8 text by a locale's wide ctype.
class CaseMapper {
 public:
  explicit CaseMapper(const std::string& name)
      : loc_(pick(name)), ct_(&std::use_facet<std::ctype<wchar_t>>(loc_)) {}
  /// False when `in` is not valid UTF-8.
  bool map(const std::string& in, bool upper, std::string& out) const {
    std::u32string cps;
    if (!decode_utf8(in, cps)) return false;
    for (char32_t& c : cps) {
      const auto w = static_cast<wchar_t>(c);
      c = static_cast<char32_t>(upper ? ct_->toupper(w) : ct_->tolower(w));
    }
    encode_utf8(cps, out);
    return true;
  }

 private:
  static std::locale pick(const std::string& name) {
    for (const std::string& n : {name + ".UTF-8", name, std::string("C.UTF-8"), std::string("en_US.UTF-8")}) {
      if (n.empty() || n == ".UTF-8") continue;
      try {
        return std::locale(n);
      } catch (const std::runtime_error&) {
      }
    }
    return std::locale::classic();
  }
  std::locale loc_;
  const std::ctype<wchar_t>* ct_;
};

void require_strings(const CompileContext& cc, size_t i, const char* what) {
  if (cc.input(i).dtype != DType::string)
    cc.fail(std::string(what) + " must be a string tensor, got " + dtype_name(cc.input(i).dtype));
}

// ---------------------------------------------------------------------------------------------- ops

class StringNormalizer : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    require_strings(cc, 0, "X");
    const Shape& s = cc.input(0).shape;
    if (!(s.size() == 1 || (s.size() == 2 && s[0] == 1)))
      cc.fail("X must be [C] or [1, C], got " + shape_str(s));
    const std::string action = cc.attr().get_string("case_change_action", "NONE");
    if (action == "NONE")
      action_ = 0;
    else if (action == "LOWER")
      action_ = 1;
    else if (action == "UPPER")
      action_ = 2;
    else
      cc.fail("case_change_action must be NONE, LOWER or UPPER, got '" + action + "'");
    case_sensitive_ = cc.attr().get_int("is_case_sensitive", 0) != 0;
    if (!mapper_) mapper_ = std::make_unique<CaseMapper>(cc.attr().get_string("locale", "en_US"));
    stopwords_.clear();
    for (const std::string& w :
         cc.attr().has("stopwords") ? cc.attr().get_strings("stopwords") : std::vector<std::string>{})
      stopwords_.push_back(case_sensitive_ ? w : folded(cc, w));
    cc.outputs[0].dtype = DType::string;
    cc.outputs[0].data_dependent = true;
  }
  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    const std::string* in = x.data_as<std::string>();
    std::vector<const std::string*> kept;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const std::string key = case_sensitive_ ? in[i] : folded(rc, in[i]);
      if (std::find(stopwords_.begin(), stopwords_.end(), key) == stopwords_.end()) kept.push_back(&in[i]);
    }
    // No word left: one empty string, keeping X's rank.
    const int64_t n = std::max<int64_t>(1, static_cast<int64_t>(kept.size()));
    Tensor& y = rc.allocate_output(0, DType::string, x.rank() == 2 ? Shape{1, n} : Shape{n});
    std::string* out = y.data_as<std::string>();
    for (size_t i = 0; i < kept.size(); ++i) {
      if (action_ == 0)
        out[i] = *kept[i];
      else if (!mapper_->map(*kept[i], action_ == 2, out[i]))
        rc.fail("X holds a string that is not valid UTF-8");
    }
  }

 private:
  template <class Ctx>
  std::string folded(const Ctx& c, const std::string& s) const {
    std::string out;
    if (!mapper_->map(s, false, out)) c.fail("a string that is not valid UTF-8");
    return out;
  }
  int action_ = 0;
  bool case_sensitive_ = false;
  std::unique_ptr<CaseMapper> mapper_;
  std::vector<std::string> stopwords_;
};

class StringConcat : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    require_strings(cc, 0, "X");
    require_strings(cc, 1, "Y");
    broadcast_shapes(cc.input(0).shape, cc.input(1).shape, cc.node->describe());
    cc.outputs[0].dtype = DType::string;
    cc.outputs[0].data_dependent = true;
  }
  void run(RunContext& rc) override {
    const Tensor &a = rc.input(0), &b = rc.input(1);
    Tensor& z =
        rc.allocate_output(0, DType::string, broadcast_shapes(a.shape(), b.shape(), rc.node->describe()));
    broadcast_binary<std::string, std::string, std::string>(
        a, b, z, rc.threading, [](const std::string& p, const std::string& q) { return p + q; });
  }
};

/// Python's str.split, as ONNX Runtime reads it: on runs of white space (no delimiter; leading and trailing
/// space gives no piece, and a remainder left by `maxsplit` loses its trailing space) or on each delimiter
/// (empty pieces kept), at most `maxsplit` splits (negative: no limit); an empty string has no pieces.
void split_one(const std::string& s, const std::string& delim, int64_t maxsplit,
               std::vector<std::string>& out) {
  out.clear();
  if (s.empty()) return;
  if (delim.empty()) {
    auto space = [](char c) {
      return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    };
    size_t i = 0;
    while (true) {
      while (i < s.size() && space(s[i])) ++i;
      if (i == s.size()) return;
      if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
        size_t e = s.size();
        while (e > i && space(s[e - 1])) --e;
        out.push_back(s.substr(i, e - i));
        return;
      }
      size_t j = i;
      while (j < s.size() && !space(s[j])) ++j;
      out.push_back(s.substr(i, j - i));
      i = j;
    }
  }
  size_t i = 0;
  while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
    const size_t j = s.find(delim, i);
    if (j == std::string::npos) break;
    out.push_back(s.substr(i, j - i));
    i = j + delim.size();
  }
  out.push_back(s.substr(i));
}

class StringSplit : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    require_strings(cc, 0, "X");
    delim_ = cc.attr().get_string("delimiter", "");
    maxsplit_ = cc.attr().get_int("maxsplit", -1);
    cc.outputs[0].dtype = DType::string;
    cc.outputs[0].data_dependent = true;
    cc.set_output(1, DType::i64, cc.input(0).shape);
  }
  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    const std::string* in = x.data_as<std::string>();
    const int64_t n = x.numel();
    std::vector<std::vector<std::string>> parts(static_cast<size_t>(n));
    int64_t widest = 0;
    int64_t* counts = rc.output(1).data_as<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      split_one(in[i], delim_, maxsplit_, parts[i]);
      counts[i] = static_cast<int64_t>(parts[i].size());
      widest = std::max(widest, counts[i]);
    }
    Shape ys = x.shape();
    ys.push_back(widest);
    std::string* out = rc.allocate_output(0, DType::string, ys).data_as<std::string>();
    for (int64_t i = 0; i < n; ++i)
      for (size_t k = 0; k < parts[i].size(); ++k)
        out[i * widest + static_cast<int64_t>(k)] = std::move(parts[i][k]);
  }

 private:
  std::string delim_;
  int64_t maxsplit_ = -1;
};

class RegexFullMatch : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    require_strings(cc, 0, "X");
    const std::string pattern = cc.attr().get_string("pattern");
    if (!re_ || pattern != pattern_) {
      try {
        re_ = std::make_unique<std::regex>(pattern, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        cc.unsupported("pattern '" + pattern + "' (" + e.what() +
                       "; patterns are read as ECMAScript, which lacks some RE2 forms)");
      }
      pattern_ = pattern;
    }
    cc.set_output(0, DType::boolean, cc.input(0).shape);
  }
  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    const std::string* in = x.data_as<std::string>();
    bool* out = rc.output(0).data_as<bool>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      // libstdc++'s matcher recurses once per character consumed: a bound keeps a huge string from
      // overflowing the stack.
      if (in[i].size() > kMaxChars)
        rc.fail("string " + std::to_string(i) + " has " + std::to_string(in[i].size()) +
                " bytes; RegexFullMatch reads at most " + std::to_string(kMaxChars));
      out[i] = std::regex_match(in[i], *re_);
    }
  }

 private:
  static constexpr size_t kMaxChars = 4096;
  std::string pattern_;
  std::unique_ptr<std::regex> re_;
};

}  // namespace

bool accepts_strings(const NodeInfo& n) {
  static const char* kOnnx[] = {"Identity",
                                "Reshape",
                                "Flatten",
                                "Squeeze",
                                "Unsqueeze",
                                "Shape",
                                "Size",
                                "Cast",
                                "CastLike",
                                "Equal",
                                "StringConcat",
                                "StringSplit",
                                "StringNormalizer",
                                "RegexFullMatch",
                                "TfIdfVectorizer",
                                "If",
                                "Loop"};
  const std::string d = canonical_domain(n.domain);
  if (d == kMlDomain)
    return n.op_type == "LabelEncoder" || n.op_type == "OneHotEncoder" || n.op_type == "CategoryMapper";
  if (d != kOnnxDomain) return false;
  for (const char* o : kOnnx)
    if (n.op_type == o) return true;
  return false;
}

void register_string_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "StringNormalizer", 10, kAnyOpset, [] { return std::make_unique<StringNormalizer>(); });
  r.add(kOnnxDomain, "StringConcat", 20, kAnyOpset, [] { return std::make_unique<StringConcat>(); });
  r.add(kOnnxDomain, "StringSplit", 20, kAnyOpset, [] { return std::make_unique<StringSplit>(); });
  r.add(kOnnxDomain, "RegexFullMatch", 20, kAnyOpset, [] { return std::make_unique<RegexFullMatch>(); });
}

}  // namespace ortkit::ops
