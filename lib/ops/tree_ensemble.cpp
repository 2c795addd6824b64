// Tree ensembles of the ai.onnx.ml domain: TreeEnsembleRegressor and TreeEnsembleClassifier (opsets 1 and 3,
// what sklearn-onnx and onnxmltools write for random forests, gradient boosting, XGBoost and LightGBM) and
// TreeEnsemble (opset 5). All three become one Forest: internal nodes (feature, rule, threshold or set, two
// children) and leaves holding (target, weight) pairs. A row walks every tree from its root; the reached
// leaves' weights merge per target by SUM / AVERAGE / MIN / MAX. Scores are finished as ONNX Runtime does,
// quirks included, because sklearn-onnx models are checked against it: base_values are added only when
// there is one per target (a single one shifts a single-target regressor), a single-target regressor
// applies PROBIT alone of the post transforms, and a two-class classifier whose weights all go to one class
// reports that class's score and its complement (1 - s, or -s when some weight is negative).
#include <algorithm>
#include <cmath>
#include <map>

#include "ops/ml_transform.h"
#include "ops/registry.h"
#include "ortkit/float16.h"

namespace ortkit::ops {
namespace {

enum class Rule : uint8_t { leq, lt, gte, gt, eq, neq, member };
enum class Agg : uint8_t { average, sum, min, max };

struct Forest {
  // Internal nodes. A child >= 0 is a node, < 0 the leaf ~child.
  std::vector<int32_t> feature, yes, no, set_begin, set_end;
  std::vector<Rule> rule;
  std::vector<double> split, sets;  // sets: the members of every `member` node, sorted per node
  std::vector<uint8_t> missing_yes;
  std::vector<int32_t> roots;  // >= 0 a node, < 0 a one-leaf tree
  // Leaves: pairs [leaf_begin[l], leaf_begin[l + 1]) of (target, weight).
  std::vector<int32_t> leaf_begin{0}, target;
  std::vector<double> weight;
  int64_t features = 0;  // 1 + the largest feature index

  int32_t add_leaf() { return leaves++; }
  /// Every leaf's (target, weight) pairs, in leaf order.
  void set_leaf_weights(const std::vector<std::vector<std::pair<int32_t, double>>>& per_leaf) {
    leaf_begin.assign(1, 0);
    for (const auto& pairs : per_leaf) {
      for (const auto& [t, w] : pairs) {
        target.push_back(t);
        weight.push_back(w);
      }
      leaf_begin.push_back(static_cast<int32_t>(target.size()));
    }
  }
  int32_t leaves = 0;

  /// The leaf a row reaches from `root`.
  int32_t walk(int32_t n, const double* x) const {
    while (n >= 0) {
      const double v = x[feature[static_cast<size_t>(n)]];
      const double s = split[static_cast<size_t>(n)];
      bool go;
      if (std::isnan(v) && missing_yes[static_cast<size_t>(n)]) {
        go = true;
      } else {
        switch (rule[static_cast<size_t>(n)]) {
          case Rule::leq: go = v <= s; break;
          case Rule::lt: go = v < s; break;
          case Rule::gte: go = v >= s; break;
          case Rule::gt: go = v > s; break;
          case Rule::eq: go = v == s; break;
          case Rule::neq: go = v != s; break;
          default:  // a NaN is in no set (and binary_search would find it: it compares false)
            go = !std::isnan(v) && std::binary_search(sets.begin() + set_begin[static_cast<size_t>(n)],
                                                      sets.begin() + set_end[static_cast<size_t>(n)], v);
        }
      }
      n = go ? yes[static_cast<size_t>(n)] : no[static_cast<size_t>(n)];
    }
    return ~n;
  }
};

struct Score {
  double v = 0;
  bool has = false;
};

/// A float attribute list, or its `_as_tensor` form (opset 3), as doubles; empty when neither is given.
/// A tensor attribute's elements as doubles.
std::vector<double> doubles_of(const Tensor& t) {
  std::vector<double> out;
  for (int64_t i = 0; i < t.numel(); ++i) out.push_back(number_at(t, i));
  return out;
}

std::vector<double> doubles_attr(const Attrs& a, const std::string& name) {
  if (a.has(name)) {
    const std::vector<float> v = a.get_floats(name);
    return {v.begin(), v.end()};
  }
  return a.has(name + "_as_tensor") ? doubles_of(a.get_tensor(name + "_as_tensor")) : std::vector<double>{};
}

/// The old-style (opset 1 / 3) node table and its leaf weights (`prefix` "target_" or "class_").
Forest forest_from_node_table(const CompileContext& cc, const std::string& prefix, int64_t n_targets) {
  const Attrs& a = cc.attr();
  const auto tree = a.get_ints("nodes_treeids"), node = a.get_ints("nodes_nodeids"),
             feat = a.get_ints("nodes_featureids"), yes = a.get_ints("nodes_truenodeids"),
             no = a.get_ints("nodes_falsenodeids");
  const auto modes = a.get_strings("nodes_modes");
  const auto values = doubles_attr(a, "nodes_values");
  const auto missing = a.get_ints("nodes_missing_value_tracks_true", {});
  const size_t n = tree.size();
  if (node.size() != n || feat.size() != n || yes.size() != n || no.size() != n || modes.size() != n ||
      (values.size() != n && !values.empty()) || (!missing.empty() && missing.size() != n))
    cc.fail("the nodes_* attributes have different lengths (" + std::to_string(n) + " tree ids)");
  std::map<std::pair<int64_t, int64_t>, size_t> index;
  for (size_t i = 0; i < n; ++i)
    if (!index.emplace(std::make_pair(tree[i], node[i]), i).second)
      cc.fail("node " + std::to_string(node[i]) + " of tree " + std::to_string(tree[i]) + " is listed twice");
  auto at = [&](int64_t t, int64_t id, const char* what) {
    const auto it = index.find({t, id});
    if (it == index.end())
      cc.fail(std::string(what) + " names node " + std::to_string(id) + " of tree " + std::to_string(t) +
              ", which is not in the table");
    return it->second;
  };
  // Leaves and internal nodes get their own numbering.
  Forest f;
  std::vector<int32_t> slot(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string& m = modes[i];
    if (m == "LEAF") {
      slot[i] = ~f.add_leaf();
      continue;
    }
    Rule r;
    if (m == "BRANCH_LEQ")
      r = Rule::leq;
    else if (m == "BRANCH_LT")
      r = Rule::lt;
    else if (m == "BRANCH_GTE")
      r = Rule::gte;
    else if (m == "BRANCH_GT")
      r = Rule::gt;
    else if (m == "BRANCH_EQ")
      r = Rule::eq;
    else if (m == "BRANCH_NEQ")
      r = Rule::neq;
    else
      cc.fail("nodes_modes holds '" + m + "'");
    if (feat[i] < 0) cc.fail("nodes_featureids holds " + std::to_string(feat[i]));
    slot[i] = static_cast<int32_t>(f.rule.size());
    f.rule.push_back(r);
    f.feature.push_back(static_cast<int32_t>(feat[i]));
    f.features = std::max(f.features, feat[i] + 1);
    f.split.push_back(values.empty() ? 0.0 : values[i]);
    f.missing_yes.push_back(!missing.empty() && missing[i] != 0);
    f.set_begin.push_back(0);
    f.set_end.push_back(0);
  }
  std::vector<bool> is_child(n, false);
  f.yes.resize(f.rule.size());
  f.no.resize(f.rule.size());
  for (size_t i = 0; i < n; ++i) {
    if (slot[i] < 0) continue;
    const size_t y = at(tree[i], yes[i], "nodes_truenodeids"), z = at(tree[i], no[i], "nodes_falsenodeids");
    if (y == i || z == i) cc.fail("node " + std::to_string(node[i]) + " is its own child");
    f.yes[static_cast<size_t>(slot[i])] = slot[y];
    f.no[static_cast<size_t>(slot[i])] = slot[z];
    is_child[y] = is_child[z] = true;
  }
  // A root is a node no other node points to; a tree whose walk never ends is refused below.
  for (size_t i = 0; i < n; ++i)
    if (!is_child[i]) f.roots.push_back(slot[i]);
  // Leaf weights, grouped per leaf in table order.
  const auto wt = a.get_ints(prefix + "treeids"), wn = a.get_ints(prefix + "nodeids"),
             wi = a.get_ints(prefix + "ids");
  const auto ww = doubles_attr(a, prefix + "weights");
  if (wn.size() != wt.size() || wi.size() != wt.size() || ww.size() != wt.size())
    cc.fail("the " + prefix + "* attributes have different lengths");
  std::vector<std::vector<std::pair<int32_t, double>>> per_leaf(static_cast<size_t>(f.leaves));
  for (size_t k = 0; k < wt.size(); ++k) {
    const size_t i = at(wt[k], wn[k], (prefix + "nodeids").c_str());
    if (slot[i] >= 0)
      cc.fail(prefix + "nodeids names node " + std::to_string(wn[k]) + ", which is not a leaf");
    if (wi[k] < 0 || wi[k] >= n_targets)
      cc.fail(prefix + "ids holds " + std::to_string(wi[k]) + ", outside [0, " + std::to_string(n_targets) +
              ")");
    per_leaf[static_cast<size_t>(~slot[i])].emplace_back(static_cast<int32_t>(wi[k]), ww[k]);
  }
  f.set_leaf_weights(per_leaf);
  return f;
}

/// TreeEnsemble (opset 5): nodes by index with leaf flags, one (target, weight) per leaf.
Forest forest_v5(const CompileContext& cc, int64_t n_targets) {
  const Attrs& a = cc.attr();
  const auto feat = a.get_ints("nodes_featureids"), yes = a.get_ints("nodes_truenodeids"),
             no = a.get_ints("nodes_falsenodeids"), yes_leaf = a.get_ints("nodes_trueleafs"),
             no_leaf = a.get_ints("nodes_falseleafs"), roots = a.get_ints("tree_roots"),
             leaf_t = a.get_ints("leaf_targetids");
  const auto missing = a.get_ints("nodes_missing_value_tracks_true", {});
  const std::vector<double> splits = doubles_of(a.get_tensor("nodes_splits"));
  const std::vector<double> leaf_w = doubles_of(a.get_tensor("leaf_weights"));
  const Tensor& modes_t = a.get_tensor("nodes_modes");
  const std::vector<double> members =
      a.has("membership_values") ? doubles_of(a.get_tensor("membership_values")) : std::vector<double>{};
  const size_t n = feat.size();
  if (yes.size() != n || no.size() != n || yes_leaf.size() != n || no_leaf.size() != n ||
      splits.size() != n || static_cast<size_t>(modes_t.numel()) != n || modes_t.dtype() != DType::u8 ||
      (!missing.empty() && missing.size() != n))
    cc.fail("the nodes_* attributes have different lengths (" + std::to_string(n) +
            " feature ids) or nodes_modes is not uint8");
  if (leaf_w.size() != leaf_t.size()) cc.fail("leaf_targetids and leaf_weights have different lengths");
  Forest f;
  std::vector<std::vector<std::pair<int32_t, double>>> per_leaf;
  for (size_t l = 0; l < leaf_t.size(); ++l) {
    if (leaf_t[l] < 0 || leaf_t[l] >= n_targets)
      cc.fail("leaf_targetids holds " + std::to_string(leaf_t[l]) + ", outside [0, " +
              std::to_string(n_targets) + ")");
    f.add_leaf();
    per_leaf.push_back({{static_cast<int32_t>(leaf_t[l]), leaf_w[l]}});
  }
  f.set_leaf_weights(per_leaf);
  auto child = [&](int64_t id, int64_t leaf, const char* what) -> int32_t {
    const size_t bound = leaf ? leaf_t.size() : n;
    if (id < 0 || static_cast<size_t>(id) >= bound)
      cc.fail(std::string(what) + " holds " + std::to_string(id) + ", outside the " +
              (leaf ? "leaves" : "nodes"));
    return leaf ? ~static_cast<int32_t>(id) : static_cast<int32_t>(id);
  };
  size_t next_member = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t m = modes_t.data_as<uint8_t>()[i];
    if (m > 6) cc.fail("nodes_modes holds " + std::to_string(m));
    if (feat[i] < 0) cc.fail("nodes_featureids holds " + std::to_string(feat[i]));
    f.rule.push_back(static_cast<Rule>(m));
    f.feature.push_back(static_cast<int32_t>(feat[i]));
    f.features = std::max(f.features, feat[i] + 1);
    f.split.push_back(splits[i]);
    f.missing_yes.push_back(!missing.empty() && missing[i] != 0);
    f.yes.push_back(child(yes[i], yes_leaf[i], "nodes_truenodeids"));
    f.no.push_back(child(no[i], no_leaf[i], "nodes_falsenodeids"));
    // Member nodes take the next NaN-terminated run of membership_values, in node order.
    f.set_begin.push_back(static_cast<int32_t>(f.sets.size()));
    if (m == 6) {
      while (next_member < members.size() && !std::isnan(members[next_member]))
        f.sets.push_back(members[next_member++]);
      if (next_member >= members.size()) cc.fail("membership_values has fewer sets than the member nodes");
      ++next_member;
      std::sort(f.sets.begin() + f.set_begin.back(), f.sets.end());
    }
    f.set_end.push_back(static_cast<int32_t>(f.sets.size()));
  }
  for (int64_t r : roots) {
    if (r < 0 || static_cast<size_t>(r) >= n) cc.fail("tree_roots holds " + std::to_string(r));
    const size_t i = static_cast<size_t>(r);
    // A tree that is one leaf: both branches point at the same leaf.
    if (yes_leaf[i] && no_leaf[i] && yes[i] == no[i])
      f.roots.push_back(f.yes[i]);
    else
      f.roots.push_back(static_cast<int32_t>(r));
  }
  return f;
}

/// Refuses a forest whose walk could loop (a child pointing back up) or that no row could be scored by.
void check_acyclic(const CompileContext& cc, const Forest& f) {
  std::vector<uint8_t> state(f.rule.size(), 0);  // 0 unseen, 1 on the path, 2 done
  std::vector<std::pair<int32_t, int>> stack;
  for (int32_t root : f.roots) {
    if (root < 0 || state[static_cast<size_t>(root)] == 2) continue;
    stack.push_back({root, 0});
    state[static_cast<size_t>(root)] = 1;
    while (!stack.empty()) {
      auto& [n, k] = stack.back();
      if (k == 2) {
        state[static_cast<size_t>(n)] = 2;
        stack.pop_back();
        continue;
      }
      const int32_t c = k++ == 0 ? f.yes[static_cast<size_t>(n)] : f.no[static_cast<size_t>(n)];
      if (c < 0 || state[static_cast<size_t>(c)] == 2) continue;
      if (state[static_cast<size_t>(c)] == 1)
        cc.fail("the trees hold a cycle (node " + std::to_string(c) + ")");
      state[static_cast<size_t>(c)] = 1;
      stack.push_back({c, 0});
    }
  }
}

/// Shared by the three ops: X as [N, F] doubles, scores per row merged over the trees.
class ForestKernel : public OpKernel {
 protected:
  void set_input(CompileContext& cc) {
    const InputDesc& x = cc.input(0);
    if (x.dtype != DType::f32 && x.dtype != DType::f64 && x.dtype != DType::i64 && x.dtype != DType::i32 &&
        x.dtype != DType::f16)
      cc.unsupported(std::string("X of type ") + dtype_name(x.dtype));
    if (x.shape.empty() || x.shape.size() > 2) cc.fail("X must be [F] or [N, F], got " + shape_str(x.shape));
    rows_ = x.shape.size() == 2 ? x.shape[0] : 1;
    cols_ = x.shape.back();
    if (f_.features > cols_)
      cc.fail("the trees read feature " + std::to_string(f_.features - 1) + " but X has " +
              std::to_string(cols_));
    check_acyclic(cc, f_);
  }
  /// Per-thread buffers: the row as doubles, the merged scores, the finished scores.
  struct Scratch {
    std::vector<double> row, out;
    std::vector<Score> scores;
    bool literal = false;  // the classifier's label is the value 1 / 0 itself (ClassLabels::write)
  };

  /// Merges the leaves row `r` reaches into w.scores (one per target).
  void score_row(const Tensor& x, int64_t r, Scratch& w) const {
    for (int64_t c = 0; c < cols_; ++c) w.row[static_cast<size_t>(c)] = number_at(x, r * cols_ + c);
    for (Score& s : w.scores) s = {};
    for (int32_t root : f_.roots) {
      const int32_t leaf = f_.walk(root, w.row.data());
      for (int32_t k = f_.leaf_begin[static_cast<size_t>(leaf)];
           k < f_.leaf_begin[static_cast<size_t>(leaf) + 1]; ++k) {
        Score& s = w.scores[static_cast<size_t>(f_.target[static_cast<size_t>(k)])];
        const double w = f_.weight[static_cast<size_t>(k)];
        if (agg_ == Agg::min)
          s.v = s.has ? std::min(s.v, w) : w;
        else if (agg_ == Agg::max)
          s.v = s.has ? std::max(s.v, w) : w;
        else
          s.v += w;
        s.has = true;
      }
    }
  }
  void size_buffers(const CompileContext& cc, int64_t targets) {
    scratch_.resize(static_cast<size_t>(std::max(1, cc.threading.threads)));
    for (Scratch& w : scratch_) {
      w.row.assign(static_cast<size_t>(cols_), 0.0);
      w.scores.assign(static_cast<size_t>(targets), Score{});
      w.out.assign(static_cast<size_t>(targets), 0.0);
    }
  }
  /// f(row, scratch) for every row: split over the threads (each with its own scratch) once the walks
  /// outweigh a round of the pool.
  template <class F>
  void for_rows(const RunContext& rc, F&& f) {
    const bool worth = rows_ * static_cast<int64_t>(f_.roots.size()) >= 4096;
    for_rows_with_scratch(rc.threading, rows_, worth, scratch_, f);
  }

  Forest f_;
  Agg agg_ = Agg::sum;
  Post post_ = Post::none;
  std::vector<double> base_;
  int64_t rows_ = 0, cols_ = 0;
  std::vector<Scratch> scratch_;
};

Agg agg_from_name(const CompileContext& cc, const std::string& n) {
  if (n == "SUM") return Agg::sum;
  if (n == "AVERAGE") return Agg::average;
  if (n == "MIN") return Agg::min;
  if (n == "MAX") return Agg::max;
  cc.fail("aggregate_function must be SUM, AVERAGE, MIN or MAX, got '" + n + "'");
}

/// Regressor scores (TreeEnsembleRegressor, TreeEnsemble) finished as ONNX Runtime does.
class Regressor : public ForestKernel {
 public:
  explicit Regressor(bool v5) : v5_(v5) {}
  void compile(CompileContext& cc) override {
    const Attrs& a = cc.attr();
    targets_ = a.get_int("n_targets", 1);
    // Scores are kept per target for every row: a corrupt count must not ask for terabytes.
    if (targets_ < 1 || targets_ > (int64_t{1} << 20))
      cc.fail("n_targets must be in [1, 2^20], got " + std::to_string(targets_));
    if (v5_) {
      f_ = forest_v5(cc, targets_);
      const int64_t ag = a.get_int("aggregate_function", 1), pt = a.get_int("post_transform", 0);
      if (ag < 0 || ag > 3) cc.fail("aggregate_function holds " + std::to_string(ag));
      if (pt < 0 || pt > 4) cc.fail("post_transform holds " + std::to_string(pt));
      agg_ = static_cast<Agg>(ag);
      post_ = static_cast<Post>(pt);
    } else {
      f_ = forest_from_node_table(cc, "target_", targets_);
      agg_ = agg_from_name(cc, a.get_string("aggregate_function", "SUM"));
      post_ = post_from_name(cc, a.get_string("post_transform", "NONE"));
      base_ = doubles_attr(a, "base_values");
    }
    set_input(cc);
    size_buffers(cc, targets_);
    const DType out = v5_ ? cc.input(0).dtype : DType::f32;
    if (v5_ && out != DType::f32 && out != DType::f64 && out != DType::f16)
      cc.unsupported(std::string("X of type ") + dtype_name(out));
    cc.set_output(0, out, {rows_, targets_});
  }
  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    Tensor& y = rc.output(0);
    const double trees = static_cast<double>(f_.roots.size());
    const bool per_target = static_cast<int64_t>(base_.size()) == targets_;
    for_rows(rc, [&](int64_t r, Scratch& w) {
      score_row(x, r, w);
      std::vector<double>& out = w.out;
      for (int64_t t = 0; t < targets_; ++t) {
        const Score& s = w.scores[static_cast<size_t>(t)];
        double v = s.has ? s.v : 0.0;
        if (agg_ == Agg::average) v /= trees;
        if (targets_ == 1)
          v += base_.size() == 1 ? base_[0] : 0.0;
        else if (per_target)
          v += base_[static_cast<size_t>(t)];
        out[static_cast<size_t>(t)] = v;
      }
      if (targets_ == 1) {
        if (post_ == Post::probit) out[0] = probit(out[0]);
      } else {
        post_transform(post_, out);
      }
      for (int64_t t = 0; t < targets_; ++t) {
        const double v = out[static_cast<size_t>(t)];
        const int64_t i = r * targets_ + t;
        if (y.dtype() == DType::f64)
          y.data_as<double>()[i] = v;
        else if (y.dtype() == DType::f16)
          y.data_as<uint16_t>()[i] = f32_to_f16(static_cast<float>(v));
        else
          y.data_as<float>()[i] = static_cast<float>(v);
      }
    });
  }

 private:
  bool v5_;
  int64_t targets_ = 1;
};

/// TreeEnsembleClassifier: labels (int64 or string) and per-class scores.
class Classifier : public ForestKernel {
 public:
  void compile(CompileContext& cc) override {
    const Attrs& a = cc.attr();
    labels_.load(cc, "classlabels_int64s");
    classes_ = labels_.size();
    if (classes_ < 1) cc.fail("has no class labels");
    f_ = forest_from_node_table(cc, "class_", classes_);
    agg_ = Agg::sum;  // classifiers always sum
    post_ = post_from_name(cc, a.get_string("post_transform", "NONE"));
    base_ = doubles_attr(a, "base_values");
    std::vector<bool> seen(static_cast<size_t>(classes_), false);
    int64_t distinct = 0;
    all_positive_ = true;
    for (size_t k = 0; k < f_.target.size(); ++k) {
      if (!seen[static_cast<size_t>(f_.target[k])]) ++distinct;
      seen[static_cast<size_t>(f_.target[k])] = true;
      all_positive_ = all_positive_ && f_.weight[k] >= 0;
    }
    binary_ = classes_ == 2 && distinct == 1;
    if (classes_ == 1) cc.unsupported("a classifier with one class label");
    set_input(cc);
    size_buffers(cc, classes_);
    labels_.declare(cc, rows_);
    cc.set_output(1, DType::f32, {rows_, classes_});
  }
  void run(RunContext& rc) override {
    const Tensor& x = rc.input(0);
    Tensor& labels = labels_.allocate(rc, rows_);
    float* z = rc.output(1).data_as<float>();
    for_rows(rc, [&](int64_t r, Scratch& w) {
      score_row(x, r, w);
      w.literal = false;
      const int64_t label =
          classes_ > 2 ? finish_multi(z + r * classes_, w) : finish_two(z + r * classes_, w);
      labels_.write(labels, r, label, w.literal);
    });
  }

 private:
  /// More than two classes: base values added (a class without a score takes its base value), the label
  /// of the highest score, then the post transform.
  int64_t finish_multi(float* z, Scratch& w) const {
    std::vector<Score>& s = w.scores;
    for (size_t k = 0; k < base_.size() && k < s.size(); ++k) {
      s[k].v = s[k].has ? s[k].v + base_[k] : base_[k];
      s[k].has = true;
    }
    int64_t best = -1;
    for (size_t k = 0; k < s.size(); ++k)
      if (s[k].has && (best < 0 || s[k].v > s[static_cast<size_t>(best)].v)) best = static_cast<int64_t>(k);
    for (size_t k = 0; k < s.size(); ++k) w.out[k] = s[k].v;
    post_transform(post_, w.out);
    for (size_t k = 0; k < s.size(); ++k) z[k] = static_cast<float>(w.out[k]);
    return best < 0 ? 0 : best;
  }

  /// Two classes, as ONNX Runtime's binary path.
  int64_t finish_two(float* z, Scratch& w) const {
    Score s0 = w.scores[0], s1 = w.scores[1];
    bool single = false;  // only the first score goes on
    int add_second = -1;
    if (base_.size() == 2) {
      if (s1.has) {  // base_values[0] is not used
        s1.v = base_[1] + s0.v;
        s0.v = -s1.v;
      } else {
        s1.v += base_[1];
        s0.v += base_[0];
      }
    } else if (base_.size() == 1) {
      s0.v += base_[0];
      single = !s1.has;
    } else if (base_.empty()) {
      add_second = 3;
      single = !s1.has;
    }
    // The label: by the positive class's score (the second, or the first when it is alone).
    const double pos = (!single && s1.has) ? s1.v : (s0.has ? s0.v : 0.0);
    int64_t label;
    if (binary_) {
      if (all_positive_) {
        label = pos > 0.5 ? 1 : 0;
        add_second = pos > 0.5 ? 0 : 1;
      } else {
        label = pos > 0 ? 1 : 0;
        add_second = pos > 0 ? 2 : 3;
      }
    } else {
      // Two labels with weights for both classes but a single score left: ONNX Runtime answers the label
      // value 1 or 0 itself (for string labels, the first or second).
      label = pos > 0 ? 1 : 0;
      w.literal = !labels_.strings;
    }
    if (!single) {  // a class without a score reads 0, whatever base value was added to it
      w.out[0] = s0.has ? s0.v : 0.0;
      w.out[1] = s1.has ? s1.v : 0.0;
      post_transform(post_, w.out);
      z[0] = static_cast<float>(w.out[0]);
      z[1] = static_cast<float>(w.out[1]);
      return label;
    }
    // One score left: the second class's score is made from it. LOGISTIC maps it to a probability p
    // first ([1 - p, p]); SOFTMAX and SOFTMAX_ZERO leave it as it is (ONNX Runtime 1.31, measured).
    const double v = s0.v;
    if (post_ == Post::probit) {
      z[0] = static_cast<float>(probit(v));
      z[1] = 0.f;
    } else if (post_ == Post::logistic && add_second >= 0) {
      z[0] = static_cast<float>(logistic(-v));
      z[1] = static_cast<float>(logistic(v));
    } else if (add_second == 0 || add_second == 1) {
      z[0] = static_cast<float>(1 - v);
      z[1] = static_cast<float>(v);
    } else if (add_second == 2 || add_second == 3) {
      z[0] = static_cast<float>(-v);
      z[1] = static_cast<float>(v);
    } else {
      z[0] = static_cast<float>(v);
      z[1] = 0.f;
    }
    return label;
  }

  bool binary_ = false, all_positive_ = true;
  ClassLabels labels_;
  int64_t classes_ = 0;
};

}  // namespace

void register_tree_ensemble_ops(OpRegistry& r) {
  r.add(kMlDomain, "TreeEnsembleRegressor", 1, kAnyOpset, [] { return std::make_unique<Regressor>(false); });
  r.add(kMlDomain, "TreeEnsembleClassifier", 1, kAnyOpset, [] { return std::make_unique<Classifier>(); });
  r.add(kMlDomain, "TreeEnsemble", 5, kAnyOpset, [] { return std::make_unique<Regressor>(true); });
}

}  // namespace ortkit::ops
