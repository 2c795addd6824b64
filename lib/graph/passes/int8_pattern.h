// Pattern helpers for the int8 fusion passes (dynquant_*_fusion.cpp, qdq_*_fusion.cpp).
#pragma once
#include <string>
#include <vector>

#include "graph/graph.h"

namespace ortkit::graph::int8 {

/// A constant integer (u8/s8) weight matrix [K, N].
bool is_int8_matrix(const Tensor* t);
/// A constant float tensor of 1 value or (when n > 0) n values shaped [n] or [1, n].
bool is_per_column_f32(const Tensor* t, int64_t n);
/// A constant (u8/s8/i32) tensor of 1 or n values; an absent one ("") is accepted.
bool is_per_column_int(const Graph& g, const std::string& v, int64_t n);
/// If the sole consumer of `v` is Add(v, c) / Add(c, v) with c a float constant of n values: its index,
/// and the constant's name in `bias`; else -1. c may also be DequantizeLinear of constants (the int32
/// bias of the QDQ form): it is folded into a new initializer.
int bias_add_after(Graph& g, const std::string& v, int64_t n, std::string& bias);
/// `v` itself when it is a constant; else, when `v` is made by a DequantizeLinear of constants only,
/// the name of a new initializer holding its value; else "".
std::string constant_or_folded_dq(Graph& g, const std::string& v);
/// A float constant of n values shaped [n] or [1, n] (a bias).
bool is_bias(const Tensor* t, int64_t n);
/// Drop trailing "" inputs.
void trim_inputs(Node& n);
/// After a pass fused nodes: erase the `dead` ones, then the quantize / dequantize / scale nodes that
/// nothing reads any more, and restore topological order.
void erase_fused(Graph& g, const std::vector<bool>& dead);

}  // namespace ortkit::graph::int8
