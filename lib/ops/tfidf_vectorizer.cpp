// TfIdfVectorizer (opset 9+): n-gram counts of integer token ids (what sklearn-onnx writes after a
// tokenizer, and text models' bag-of-n-grams features), weighted TF, IDF or TFIDF. The pool's n-grams go
// into a trie at compile; each row is walked from every start position for every skip distance, unigrams
// once (skips do not change them), exactly as the ONNX reference and ONNX Runtime count. A string pool
// (pool_strings, with string input) is numbered word by word, and each row's words are looked up to the
// same numbers (a word outside the pool gets none that the trie holds).
#include <algorithm>
#include <map>
#include <unordered_map>

#include "ops/registry.h"

namespace ortkit::ops {
namespace {

class TfIdfVectorizer : public OpKernel {
 public:
  void compile(CompileContext& cc) override {
    const Attrs& a = cc.attr();
    strings_ = a.has("pool_strings");
    if (strings_ == a.has("pool_int64s")) cc.fail("needs exactly one of pool_strings and pool_int64s");
    if (strings_)
      cc.require_dtype(0, {DType::string});
    else
      cc.require_dtype(0, {DType::i32, DType::i64});
    const InputDesc& x = cc.input(0);
    if (x.shape_known && x.shape.size() > 2)
      cc.fail("input must be [C] or [N, C], got " + shape_str(x.shape));
    if (!built_) build(cc);
    Shape out{output_size_};
    if (x.shape_known && x.shape.size() == 2) out.insert(out.begin(), x.shape[0]);
    dynamic_ = !x.shape_known;
    if (dynamic_) {
      cc.outputs[0].dtype = DType::f32;
      cc.outputs[0].data_dependent = true;
    } else {
      cc.set_output(0, DType::f32, out);
    }
  }

  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    if (x.rank() > 2) rc.fail("input must be [C] or [N, C], got " + shape_str(x.shape()));
    const int64_t rows = x.rank() == 2 ? x.shape()[0] : 1;
    const int64_t cols = x.rank() == 0 ? 1 : x.shape().back();
    Shape out_shape{output_size_};
    if (x.rank() == 2) out_shape.insert(out_shape.begin(), rows);
    Tensor& y = dynamic_ ? rc.allocate_output(0, DType::f32, out_shape) : rc.output(0);
    float* out = y.data_as<float>();
    std::fill(out, out + y.numel(), 0.f);
    std::vector<int64_t> words;
    if (strings_) {
      words.resize(static_cast<size_t>(x.numel()));
      const std::string* in = x.data_as<std::string>();
      for (int64_t i = 0; i < x.numel(); ++i) {
        const auto it = vocab_.find(in[i]);
        words[static_cast<size_t>(i)] = it == vocab_.end() ? -1 : it->second;
      }
    }
    for (int64_t r = 0; r < rows; ++r) {
      if (strings_)
        count_row(words.data() + r * cols, cols, out + r * output_size_);
      else if (x.dtype() == DType::i32)
        count_row(x.data_as<int32_t>() + r * cols, cols, out + r * output_size_);
      else
        count_row(x.data_as<int64_t>() + r * cols, cols, out + r * output_size_);
      weigh(out + r * output_size_);
    }
  }

 private:
  struct TrieNode {
    int64_t id = 0;  // 1-based n-gram id when an n-gram ends here, else 0
    std::map<int64_t, int> next;
  };

  void build(const CompileContext& cc) {
    const Attrs& a = cc.attr();
    min_n_ = a.get_int("min_gram_length");
    max_n_ = a.get_int("max_gram_length");
    max_skip_ = a.get_int("max_skip_count");
    const std::string mode = a.get_string("mode");
    if (mode != "TF" && mode != "IDF" && mode != "TFIDF")
      cc.fail("mode must be TF, IDF or TFIDF, got '" + mode + "'");
    mode_ = mode == "TF" ? Mode::tf : mode == "IDF" ? Mode::idf : Mode::tfidf;
    const std::vector<int64_t> counts = a.get_ints("ngram_counts");
    indexes_ = a.get_ints("ngram_indexes");
    weights_ = a.get_floats("weights", {});
    std::vector<int64_t> pool;
    if (strings_) {  // words numbered in pool order; a repeated word keeps its first number
      vocab_.clear();
      for (const std::string& w : a.get_strings("pool_strings"))
        pool.push_back(vocab_.emplace(w, static_cast<int64_t>(vocab_.size())).first->second);
    } else {
      pool = a.get_ints("pool_int64s");
    }
    if (min_n_ < 1 || max_n_ < min_n_ || max_skip_ < 0)
      cc.fail("need 1 <= min_gram_length <= max_gram_length and max_skip_count >= 0, got " +
              std::to_string(min_n_) + ", " + std::to_string(max_n_) + ", " + std::to_string(max_skip_));
    if (indexes_.empty()) cc.fail("ngram_indexes is empty");
    for (int64_t i : indexes_)
      if (i < 0 || i > (int64_t{1} << 24)) cc.fail("ngram_indexes holds " + std::to_string(i));
    output_size_ = *std::max_element(indexes_.begin(), indexes_.end()) + 1;
    if (!weights_.empty() && static_cast<int64_t>(weights_.size()) < output_size_)
      cc.fail("weights has " + std::to_string(weights_.size()) + " values, the output has " +
              std::to_string(output_size_));
    trie_.assign(1, TrieNode{});
    int64_t id = 1;
    const int64_t total = static_cast<int64_t>(pool.size());
    for (size_t i = 0; i < counts.size(); ++i) {
      const int64_t n = static_cast<int64_t>(i) + 1;
      const int64_t begin = counts[i], end = i + 1 < counts.size() ? counts[i + 1] : total;
      if (begin < 0 || end > total || end < begin)
        cc.fail("ngram_counts puts the " + std::to_string(n) + "-grams at pool entries [" +
                std::to_string(begin) + ", " + std::to_string(end) + "), outside the pool of " +
                std::to_string(total));
      const int64_t grams = (end - begin) / n;
      if (n < min_n_ || n > max_n_) {
        id += grams;
        continue;
      }
      for (int64_t g = 0; g < grams; ++g, ++id) {
        int node = 0;
        for (int64_t k = 0; k < n; ++k) {
          const int64_t tok = pool[static_cast<size_t>(begin + g * n + k)];
          auto it = trie_[static_cast<size_t>(node)].next.find(tok);
          if (it == trie_[static_cast<size_t>(node)].next.end()) {
            trie_.push_back(TrieNode{});
            it = trie_[static_cast<size_t>(node)].next.emplace(tok, static_cast<int>(trie_.size() - 1)).first;
          }
          node = it->second;
        }
        if (id > static_cast<int64_t>(indexes_.size()))
          cc.fail("the pool holds more n-grams than ngram_indexes has entries (" +
                  std::to_string(indexes_.size()) + ")");
        trie_[static_cast<size_t>(node)].id = id;
      }
    }
    built_ = true;
  }

  template <class T>
  void count_row(const T* row, int64_t end, float* freq) const {
    int64_t first_n = min_n_;
    if (first_n > end) return;  // no n-gram that long fits the row
    // Past a distance of `end` no n-gram of two or more tokens fits: a huge max_skip_count must not spin.
    const int64_t max_skip = std::min(max_skip_ + 1, std::max<int64_t>(end, 1));
    for (int64_t skip = 1; skip <= max_skip; ++skip) {
      for (int64_t start = 0; start < end; ++start) {
        if (start + skip * (first_n - 1) >= end) break;
        int node = 0;
        int64_t item = start;
        for (int64_t n = 1; n <= max_n_ && item < end; ++n, item += skip) {
          const auto& next = trie_[static_cast<size_t>(node)].next;
          auto it = next.find(static_cast<int64_t>(row[item]));
          if (it == next.end()) break;
          node = it->second;
          const int64_t id = trie_[static_cast<size_t>(node)].id;
          if (n >= first_n && id != 0) freq[indexes_[static_cast<size_t>(id - 1)]] += 1.f;
        }
      }
      if (first_n == 1 && ++first_n > max_n_) break;  // unigrams are counted once
    }
  }

  void weigh(float* y) const {
    if (mode_ == Mode::tf) return;
    for (int64_t i = 0; i < output_size_; ++i) {
      const float w = weights_.empty() ? 1.f : weights_[static_cast<size_t>(i)];
      y[i] = mode_ == Mode::idf ? (y[i] > 0 ? w : 0.f) : y[i] * w;
    }
  }

  bool built_ = false, dynamic_ = false, strings_ = false;
  std::unordered_map<std::string, int64_t> vocab_;  // pool_strings' words, numbered
  int64_t min_n_ = 1, max_n_ = 1, max_skip_ = 0, output_size_ = 0;
  enum class Mode { tf, idf, tfidf } mode_ = Mode::tf;
  std::vector<int64_t> indexes_;
  std::vector<float> weights_;
  std::vector<TrieNode> trie_;
};

}  // namespace

void register_tfidf_vectorizer_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "TfIdfVectorizer", 9, kAnyOpset, [] { return std::make_unique<TfIdfVectorizer>(); });
}

}  // namespace ortkit::ops
