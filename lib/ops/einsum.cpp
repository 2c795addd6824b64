// Einsum (ai.onnx opset 12+): explicit and implicit outputs, ellipsis (numpy right-aligned, broadcast
// against size 1), repeated indices in one operand (diagonals, traces) and summed indices.
//
// Plan (built in compile from the equation and the shapes): every operand is a strided view with one
// entry per distinct index (a repeated index adds its strides: the diagonal). Operands are folded left
// to right: the running result R and the next operand O are gathered into [batch, left, contract] and
// [batch, contract, right] (indices needed by neither the output nor a later operand are summed while
// gathering), multiplied per batch (kernels::gemm_f32 for float, a plain loop for other types), and the
// product [batch, left, right] becomes R. A final gather sums what is left and orders the output.
// Gathers that would be plain copies are skipped (the view is used in place), and the last product is
// written straight into the output when it already has the output's order.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "ops/op_util.h"
#include "ops/registry.h"
#include "ortkit/kernels/registry.h"

namespace ortkit::ops {
namespace {

using kernels::BDesc;
using kernels::PackedB;

constexpr int kMaxDims = 64;  // distinct indices: 52 letters + ellipsis dims, bounded by tensor ranks

/// A buffer of the plan: an input, a scratch region (byte offset) or the output.
struct Buf {
  enum Kind : uint8_t { input, scratch, output } kind = input;
  int64_t where = 0;  ///< input index or scratch byte offset
};

/// dst[out multi-index] = sum over the summed indices of src[...]; dst is contiguous in `out` order.
struct Gather {
  Buf src, dst;
  std::vector<int64_t> out_sizes, out_strides, sum_sizes, sum_strides;
  bool identity = false;  ///< src already has dst's layout: no copy, use src
};

struct Step {
  Gather ga, gb;
  Buf c;
  int64_t nb = 1, m = 1, k = 1, n = 1;
};

/// One operand as a view: distinct index codes with their strides (element units).
struct View {
  std::vector<int> codes;
  std::vector<int64_t> strides;
  int64_t stride_of(int c) const {
    for (size_t i = 0; i < codes.size(); ++i)
      if (codes[i] == c) return strides[i];
    return 0;
  }
  bool has(int c) const { return std::find(codes.begin(), codes.end(), c) != codes.end(); }
};

template <class T>
void run_gather(const Gather& g, const T* src, T* dst, const kernels::Threading& th) {
  const int ro = static_cast<int>(g.out_sizes.size()), rs = static_cast<int>(g.sum_sizes.size());
  int64_t total = 1, nsum = 1;
  for (int64_t s : g.out_sizes) total *= s;
  for (int64_t s : g.sum_sizes) nsum *= s;
  if (total == 0) return;
  const int64_t inner = ro > 0 ? g.out_sizes[ro - 1] : 1;
  const int64_t inner_stride = ro > 0 ? g.out_strides[ro - 1] : 0;
  const int64_t rows = total / std::max<int64_t>(inner, 1);
  parallel_range(th, rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, inner * nsum)),
                 [&](int64_t r0, int64_t r1) {
                   std::array<int64_t, kMaxDims> idx{};
                   for (int64_t r = r0; r < r1; ++r) {
                     // Offset of row r (all out dims but the last).
                     int64_t rem = r, base = 0;
                     for (int d = ro - 2; d >= 0; --d) {
                       const int64_t q = rem % g.out_sizes[d];
                       rem /= g.out_sizes[d];
                       base += q * g.out_strides[d];
                     }
                     T* out = dst + r * inner;
                     if (nsum == 1) {
                       for (int64_t i = 0; i < inner; ++i) out[i] = src[base + i * inner_stride];
                       continue;
                     }
                     for (int64_t i = 0; i < inner; ++i) out[i] = T(0);
                     if (nsum == 0) continue;
                     std::fill(idx.begin(), idx.begin() + rs, 0);
                     int64_t so = 0;
                     for (int64_t s = 0; s < nsum; ++s) {
                       const T* p = src + base + so;
                       for (int64_t i = 0; i < inner; ++i) out[i] += p[i * inner_stride];
                       for (int d = rs - 1; d >= 0; --d) {  // next summed multi-index
                         so += g.sum_strides[d];
                         if (++idx[d] < g.sum_sizes[d]) break;
                         so -= g.sum_strides[d] * g.sum_sizes[d];
                         idx[d] = 0;
                       }
                     }
                   }
                 });
}

class Einsum : public OpKernel {
 public:
  void compile(CompileContext& ctx) override {
    dtype_ = ctx.input(0).dtype;
    if (dtype_ != DType::f32 && dtype_ != DType::f64 && dtype_ != DType::i32 && dtype_ != DType::i64)
      ctx.unsupported(std::string("Einsum of ") + dtype_name(dtype_));
    const size_t nin = ctx.num_inputs();
    for (size_t i = 0; i < nin; ++i)
      if (ctx.input(i).dtype != dtype_) ctx.fail("all inputs must have the same dtype");
    std::string eq;
    for (char ch : ctx.attr().get_string("equation"))
      if (ch != ' ' && ch != '\t') eq.push_back(ch);

    // Split "lhs->rhs" and the operand terms.
    const size_t arrow = eq.find("->");
    const std::string lhs = arrow == std::string::npos ? eq : eq.substr(0, arrow);
    std::vector<std::string> terms(1);
    for (char ch : lhs) {
      if (ch == ',')
        terms.emplace_back();
      else
        terms.back().push_back(ch);
    }
    if (terms.size() != nin)
      ctx.fail("equation '" + eq + "' has " + std::to_string(terms.size()) + " operands, node has " +
               std::to_string(nin) + " inputs");
    // Parse a term into codes: letters as their char, ellipsis as -1 (expanded below).
    auto parse = [&](const std::string& t) {
      std::vector<int> codes;
      bool ell = false;
      for (size_t i = 0; i < t.size(); ++i) {
        if (t.compare(i, 3, "...") == 0) {
          if (ell) ctx.fail("more than one ellipsis in '" + t + "'");
          ell = true;
          codes.push_back(-1);
          i += 2;
        } else if (std::isalpha(static_cast<unsigned char>(t[i]))) {
          codes.push_back(static_cast<unsigned char>(t[i]));
        } else {
          ctx.fail("bad character '" + std::string(1, t[i]) + "' in equation '" + eq + "'");
        }
      }
      return codes;
    };
    // Ellipsis rank: the largest over the operands; each operand's ellipsis dims are right-aligned.
    std::vector<std::vector<int>> in_codes(nin);
    int64_t erank = 0;
    bool any_ell = false;
    for (size_t i = 0; i < nin; ++i) {
      std::vector<int> c = parse(terms[i]);
      const int64_t rank = static_cast<int64_t>(ctx.input(i).shape.size());
      const bool ell = std::find(c.begin(), c.end(), -1) != c.end();
      const int64_t letters = static_cast<int64_t>(c.size()) - (ell ? 1 : 0);
      if (ell ? rank < letters : rank != letters)
        ctx.fail("operand " + std::to_string(i) + " '" + terms[i] + "' does not match its rank " +
                 std::to_string(rank));
      if (ell) erank = std::max(erank, rank - letters), any_ell = true;
      in_codes[i] = std::move(c);
    }
    auto expand = [&](const std::vector<int>& c, int64_t rank) {
      std::vector<int> out;
      const int64_t letters = static_cast<int64_t>(c.size()) - 1;
      for (int code : c) {
        if (code != -1) {
          out.push_back(code);
          continue;
        }
        const int64_t e = rank - letters;  // this operand's ellipsis dims
        for (int64_t j = 0; j < e; ++j) out.push_back(static_cast<int>(256 + erank - e + j));
      }
      return out;
    };
    std::vector<int64_t> size(256 + erank, -1);
    std::vector<int> count(256 + erank, 0);
    std::vector<View> views(nin);
    for (size_t i = 0; i < nin; ++i) {
      const Shape& s = ctx.input(i).shape;
      const std::vector<int> codes = expand(in_codes[i], static_cast<int64_t>(s.size()));
      for (size_t d = 0; d < codes.size(); ++d) {
        const int c = codes[d];
        ++count[c];
        if (size[c] == -1 || size[c] == 1)
          size[c] = s[d];
        else if (s[d] != size[c] && s[d] != 1)
          ctx.fail("index '" + code_name(c) + "' has sizes " + std::to_string(size[c]) + " and " +
                   std::to_string(s[d]));
      }
    }
    for (size_t i = 0; i < nin; ++i) {
      const Shape& s = ctx.input(i).shape;
      const std::vector<int> codes = expand(in_codes[i], static_cast<int64_t>(s.size()));
      const std::vector<int64_t> st = strides_of(s);
      View& v = views[i];
      for (size_t d = 0; d < codes.size(); ++d) {
        const int c = codes[d];
        // Broadcast a size-1 dim against the index size (stride 0).
        const int64_t stride = s[d] == 1 && size[c] != 1 ? 0 : st[d];
        auto it = std::find(v.codes.begin(), v.codes.end(), c);
        if (it == v.codes.end()) {
          v.codes.push_back(c);
          v.strides.push_back(stride);
        } else {
          if (s[d] != size[c]) ctx.fail("repeated index '" + code_name(c) + "' has different sizes");
          v.strides[it - v.codes.begin()] += stride;  // diagonal
        }
      }
    }
    // Output indices.
    std::vector<int> out_codes;
    if (arrow != std::string::npos) {
      for (int c : parse(eq.substr(arrow + 2))) {
        if (c == -1) {
          for (int64_t j = 0; j < erank; ++j) out_codes.push_back(static_cast<int>(256 + j));
          continue;
        }
        if (count[c] == 0) ctx.fail("output index '" + code_name(c) + "' is not in any input");
        if (std::find(out_codes.begin(), out_codes.end(), c) != out_codes.end())
          ctx.fail("output index '" + code_name(c) + "' repeated");
        out_codes.push_back(c);
      }
    } else {
      if (any_ell)
        for (int64_t j = 0; j < erank; ++j) out_codes.push_back(static_cast<int>(256 + j));
      for (int c = 0; c < 256; ++c)
        if (count[c] == 1) out_codes.push_back(c);
    }
    Shape out_shape;
    for (int c : out_codes) out_shape.push_back(size[c]);
    ctx.set_output(0, dtype_, out_shape);

    // Fold plan.
    const size_t esz = dtype_size(dtype_);
    int64_t off = 0;
    auto alloc = [&](int64_t elems) {
      Buf b{Buf::scratch, off};
      off += (elems * static_cast<int64_t>(esz) + 63) / 64 * 64;
      return b;
    };
    auto in_output = [&](int c) {
      return std::find(out_codes.begin(), out_codes.end(), c) != out_codes.end();
    };
    steps_.clear();
    max_batch_ = 0;
    View cur = views[0];
    Buf cur_buf{Buf::input, 0};
    for (size_t i = 1; i < nin; ++i) {
      const View& o = views[i];
      auto keep = [&](int c) {
        if (in_output(c)) return true;
        for (size_t j = i + 1; j < nin; ++j)
          if (views[j].has(c)) return true;
        return false;
      };
      std::vector<int> batch, left, contract, right;
      for (int c : cur.codes) {
        if (o.has(c))
          (keep(c) ? batch : contract).push_back(c);
        else if (keep(c))
          left.push_back(c);
      }
      for (int c : o.codes)
        if (!cur.has(c) && keep(c)) right.push_back(c);
      Step st;
      auto prod = [&](const std::vector<int>& cs) {
        int64_t p = 1;
        for (int c : cs) p *= size[c];
        return p;
      };
      st.nb = prod(batch), st.m = prod(left), st.k = prod(contract), st.n = prod(right);
      auto cat = [](std::vector<int> a, const std::vector<int>& b) {
        a.insert(a.end(), b.begin(), b.end());
        return a;
      };
      st.ga = make_gather(cur, cur_buf, cat(cat(batch, left), contract), size);
      st.gb =
          make_gather(o, Buf{Buf::input, static_cast<int64_t>(i)}, cat(cat(batch, contract), right), size);
      if (!st.ga.identity) st.ga.dst = alloc(st.nb * st.m * st.k);
      if (!st.gb.identity) st.gb.dst = alloc(st.nb * st.k * st.n);
      st.c = alloc(st.nb * st.m * st.n);
      max_batch_ = std::max(max_batch_, st.nb);
      cur.codes = cat(cat(batch, left), right);
      cur.strides = strides_of(sizes_of(cur.codes, size));
      cur_buf = st.c;
      steps_.push_back(std::move(st));
    }
    final_ = make_gather(cur, cur_buf, out_codes, size);
    final_.dst = Buf{Buf::output, 0};
    // The last product already in output order: write it there directly.
    if (!steps_.empty() && final_.identity) {
      steps_.back().c = Buf{Buf::output, 0};
      final_.src = steps_.back().c;
    }
    ctx.scratch_bytes = static_cast<size_t>(off);
    kind_ = ctx.float_gemm_kind();
    if (dtype_ == DType::f32 && packs_.size() < static_cast<size_t>(max_batch_))
      packs_.resize(static_cast<size_t>(max_batch_));
  }

  void run(RunContext& ctx) override {
    switch (dtype_) {
      case DType::f32: run_t<float>(ctx); break;
      case DType::f64: run_t<double>(ctx); break;
      case DType::i32: run_t<int32_t>(ctx); break;
      case DType::i64: run_t<int64_t>(ctx); break;
      default: ctx.fail("unexpected dtype");
    }
  }

  std::vector<std::string> kernels_used() const override {
    if (dtype_ != DType::f32 || steps_.empty()) return {};
    const kernels::GemmKernel* kn = kernels::dispatched(kind_);
    return kn ? std::vector<std::string>{kn->name} : std::vector<std::string>{};
  }

 private:
  static std::string code_name(int c) {
    return c < 256 ? std::string(1, static_cast<char>(c)) : "...(" + std::to_string(c - 256) + ")";
  }
  static Shape sizes_of(const std::vector<int>& codes, const std::vector<int64_t>& size) {
    Shape s;
    for (int c : codes) s.push_back(size[c]);
    return s;
  }

  /// Gather of view v (in buffer src) into `order`, summing v's other indices.
  static Gather make_gather(const View& v, Buf src, const std::vector<int>& order,
                            const std::vector<int64_t>& size) {
    Gather g;
    g.src = src;
    for (int c : order) {
      g.out_sizes.push_back(size[c]);
      g.out_strides.push_back(v.stride_of(c));
    }
    bool sums = false;
    for (size_t i = 0; i < v.codes.size(); ++i) {
      if (std::find(order.begin(), order.end(), v.codes[i]) != order.end()) continue;
      g.sum_sizes.push_back(size[v.codes[i]]);
      g.sum_strides.push_back(v.strides[i]);
      sums = sums || size[v.codes[i]] != 1;
    }
    // Identity: no real sums and the strides of every non-trivial dim are the contiguous ones.
    bool id = !sums;
    int64_t expect = 1;
    for (int d = static_cast<int>(order.size()) - 1; d >= 0 && id; --d) {
      if (g.out_sizes[d] == 1) continue;
      id = g.out_strides[d] == expect;
      expect *= g.out_sizes[d];
    }
    g.identity = id;
    return g;
  }

  template <class T>
  T* ptr(RunContext& ctx, const Buf& b) {
    switch (b.kind) {
      case Buf::input: return const_cast<T*>(ctx.input(static_cast<size_t>(b.where)).template data_as<T>());
      case Buf::scratch: return reinterpret_cast<T*>(static_cast<char*>(ctx.scratch) + b.where);
      case Buf::output: return ctx.output(0).data_as<T>();
    }
    return nullptr;
  }

  template <class T>
  void run_t(RunContext& ctx) {
    for (const Step& st : steps_) {
      const T* a = ptr<T>(ctx, st.ga.src);
      if (!st.ga.identity) {
        T* d = ptr<T>(ctx, st.ga.dst);
        run_gather<T>(st.ga, a, d, ctx.threading);
        a = d;
      }
      const T* b = ptr<T>(ctx, st.gb.src);
      if (!st.gb.identity) {
        T* d = ptr<T>(ctx, st.gb.dst);
        run_gather<T>(st.gb, b, d, ctx.threading);
        b = d;
      }
      T* c = ptr<T>(ctx, st.c);
      matmul<T>(st, a, b, c, ctx.threading);
    }
    if (steps_.empty() || !final_.identity)
      run_gather<T>(final_, ptr<T>(ctx, final_.src), ptr<T>(ctx, final_.dst), ctx.threading);
  }

  template <class T>
  void matmul(const Step& st, const T* a, const T* b, T* c, const kernels::Threading& th) {
    const int64_t m = st.m, k = st.k, n = st.n, nb = st.nb;
    if (nb * m * n == 0) return;
    if (k == 0) {
      std::fill(c, c + nb * m * n, T(0));
      return;
    }
    if constexpr (std::is_same_v<T, float>) {
      const kernels::GemmKind kind = kind_;
      auto one = [&](int64_t i, const kernels::Threading& t) {
        kernels::pack_b(packs_[i], kind, BDesc{b + i * k * n, k, n, n, false});
        kernels::gemm_f32(m, a + i * m * k, k, packs_[i], c + i * m * n, n, {}, t);
      };
      if (nb >= th.threads)
        parallel_for(th, nb, [&](int64_t i) { one(i, kernels::Threading{}); });
      else
        for (int64_t i = 0; i < nb; ++i) one(i, th);
    } else {
      parallel_for(th, nb, [&](int64_t bi) {
        const T* pa = a + bi * m * k;
        const T* pb = b + bi * k * n;
        T* pc = c + bi * m * n;
        for (int64_t i = 0; i < m; ++i) {
          T* row = pc + i * n;
          std::fill(row, row + n, T(0));
          for (int64_t kk = 0; kk < k; ++kk) {
            const T av = pa[i * k + kk];
            const T* br = pb + kk * n;
            for (int64_t j = 0; j < n; ++j) row[j] += av * br[j];
          }
        }
      });
    }
  }

  DType dtype_ = DType::f32;
  std::vector<Step> steps_;
  Gather final_;
  int64_t max_batch_ = 0;
  kernels::GemmKind kind_ = kernels::GemmKind::f32;
  std::vector<PackedB> packs_;
};

}  // namespace

void register_einsum_ops(OpRegistry& r) {
  r.add(kOnnxDomain, "Einsum", 12, kAnyOpset, [] { return std::make_unique<Einsum>(); });
}

}  // namespace ortkit::ops
