// Row kernels shared by normalization.cpp (which defines them) and the transformer contrib ops
// (skip_layer_norm.cpp, embed_layer_norm.cpp, attention.cpp).
#pragma once
#include <cstdint>

namespace ortkit::ops {

/// LayerNorm of one row: y = (x - mean) / sqrt(var + eps) * scale + bias (scale/bias broadcast when
/// sc1/b1; bias may be null); optionally stores mean and 1/stddev. y may alias x.
void layernorm_row(const float* xr, float* yr, int64_t len, float eps, const float* sc, bool sc1,
                   const float* bias, bool b1, float* mean_out, float* inv_out);

/// Softmax (or log-softmax when lg) of one contiguous row of n values; y may alias x.
void softmax_row(const float* x, float* y, int64_t n, bool lg);

/// One row of attention scores made ready for softmax: row[j] = s(row[j]) + (add ? add[j] : 0) for j in
/// [lo, hi), s(row[j]) - inf outside (hidden keys), where s(x) = x * scale, or with softcap > 0
/// softcap * tanh(x * scale / softcap). Returns whether any key in [lo, hi) has an add other than -inf (a
/// query that sees no key at all gets zeros, not a softmax of -infs).
bool scale_bias_row(float* row, int64_t n, float scale, float softcap, const float* add, int64_t lo,
                    int64_t hi);

/// RMS norm of one row (SimplifiedLayerNormalization, RMSNormalization): y = x / sqrt(mean(x^2) + eps)
/// * scale (broadcast when sc1); optionally stores 1/rms. y may alias x.
void rmsnorm_row(const float* xr, float* yr, int64_t len, float eps, const float* sc, bool sc1,
                 float* inv_out);

}  // namespace ortkit::ops
