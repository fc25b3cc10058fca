#pragma once
/// @file
/// batch_norm on small feature maps, sample by sample. With few values per channel and image (2x2 or 1x1 maps),
/// walking one channel at a time touches one short run per sample and cache line (on 1x1 maps a line per value,
/// three passes over them); here every loop runs over a whole sample's C*S contiguous values instead, with
/// per-element accumulators and per-element copies of the channel constants. The samples go in fixed blocks, so
/// the sums, and the results, do not depend on the thread count; each thread works on whole samples, the ones
/// the convolutions' batch split gave it.

#include <algorithm>
#include <cmath>

#include "strata/autograd/tape.hpp"
#include "strata/core/cpu_features.hpp"
#include "strata/core/parallel.hpp"
#include "strata/core/simd_loop.hpp"

namespace strata::detail {

/// Spatial sizes (H*W) below which batch_norm goes sample by sample.
inline constexpr index_t bn_rows_below = 8;
/// Samples per block of the per-element partial sums.
inline constexpr index_t bn_rows_block = 16;
/// Values from which the blocks are shared out among threads: on [64, 256, 2, 2] (65,536 values, in cache) the
/// forward took 30 us on one thread and 52 us on two (ops_bench, AMD Zen 5).
inline constexpr index_t bn_rows_parallel_min = index_t{1} << 18;

// Loops with their pointers as parameters (see relu.hpp's loops), over n samples of cs values each.

/// acc[i] += x[j * cs + i] over the samples j, in double.
template <class T>
inline void bn_rows_sum(const T* x, index_t n, index_t cs, double* acc) {
    for (index_t j = 0; j < n; ++j) {
        const T* row = x + j * cs;
        simd_loop(cs, [row, acc](index_t i) { acc[i] += static_cast<double>(row[i]); });
    }
}

/// acc[i] += (x[j * cs + i] - mean[i])^2 over the samples j, in double.
template <class T>
inline void bn_rows_square(const T* x, index_t n, index_t cs, const double* mean, double* acc) {
    for (index_t j = 0; j < n; ++j) {
        const T* row = x + j * cs;
        simd_loop(cs, [row, mean, acc](index_t i) {
            const double d = static_cast<double>(row[i]) - mean[i];
            acc[i] += d * d;
        });
    }
}

/// sum_dy[i] += dy and sum_dy_xc[i] += dy * (x - mean[i]) over the samples, in double.
template <class T>
inline void bn_rows_backward_sums(const T* x, const T* dy, index_t n, index_t cs, const double* mean, double* sum_dy,
                                  double* sum_dy_xc) {
    for (index_t j = 0; j < n; ++j) {
        const T* xr = x + j * cs;
        const T* gr = dy + j * cs;
        simd_loop(cs, [xr, gr, mean, sum_dy, sum_dy_xc](index_t i) {
            const double g = static_cast<double>(gr[i]);
            sum_dy[i] += g;
            sum_dy_xc[i] += g * (static_cast<double>(xr[i]) - mean[i]);
        });
    }
}

/// Per-element copies of the channel constants bn_rows_normalise and bn_rows_backward use ([C*S] each).
template <class T>
struct BatchNormRowConstants {
    T* m_hi;  ///< the mean, high part (in T)
    T* m_lo;  ///< the mean, low part: mean - m_hi
    T* a;     ///< forward: gamma * inv_std; backward: k = gamma * inv_std
    T* b;     ///< forward: beta; backward: inv_std
    T* c;     ///< backward: mean(dy)
    T* d;     ///< backward: mean(dy * xhat)
};

/// y = ((x - m_hi) - m_lo) * a + b over the samples (bn_normalise_channel, element by element).
template <class T>
inline void bn_rows_normalise(const T* x, T* y, index_t n, index_t cs, const BatchNormRowConstants<T>& k) {
    const T *m_hi = k.m_hi, *m_lo = k.m_lo, *a = k.a, *b = k.b;
    for (index_t j = 0; j < n; ++j) {
        const T* xr = x + j * cs;
        T* yr = y + j * cs;
        simd_loop(cs, [=](index_t i) { yr[i] = ((xr[i] - m_hi[i]) - m_lo[i]) * a[i] + b[i]; });
    }
}

/// dx (=, or += unless `overwrite`) a * (dy - c - ((x - m_hi) - m_lo) * b * d) over the samples
/// (bn_backward_channel, element by element).
template <class T>
inline void bn_rows_backward(const T* x, const T* dy, T* dx, index_t n, index_t cs, const BatchNormRowConstants<T>& k,
                             bool overwrite) {
    const T *m_hi = k.m_hi, *m_lo = k.m_lo, *a = k.a, *b = k.b, *c = k.c, *d = k.d;
    for (index_t j = 0; j < n; ++j) {
        const T* xr = x + j * cs;
        const T* gr = dy + j * cs;
        T* o = dx + j * cs;
        if (overwrite)
            simd_loop(cs, [=](index_t i) { o[i] = a[i] * (gr[i] - c[i] - ((xr[i] - m_hi[i]) - m_lo[i]) * b[i] * d[i]); });
        else
            simd_loop(cs, [=](index_t i) { o[i] += a[i] * (gr[i] - c[i] - ((xr[i] - m_hi[i]) - m_lo[i]) * b[i] * d[i]); });
    }
}

/// Runs body(j0, n) over the blocks of bn_rows_block samples (the last shorter), shared out among the available
/// threads when there is enough work (`work` values in all).
template <class Body>
void bn_rows_blocks(index_t N, index_t work, Body&& body) {
    const index_t blocks = (N + bn_rows_block - 1) / bn_rows_block;
    parallel_for(blocks, work >= bn_rows_parallel_min, [&](index_t b) {
        const index_t j0 = b * bn_rows_block;
        body(b, j0, std::min(bn_rows_block, N - j0));
    });
}

/// The per-element sums of the blocks (`parts`, blocks x cs, in block order) added per channel: out[c] = sum over
/// blocks, then over the channel's S positions. Fixed order whatever the thread count.
inline void bn_rows_channel_totals(const double* parts, index_t blocks, index_t C, index_t S, double* out) {
    const index_t cs = C * S;
    for (index_t c = 0; c < C; ++c) {
        double total = 0;
        for (index_t s = 0; s < S; ++s) {
            double v = 0;
            for (index_t b = 0; b < blocks; ++b) v += parts[b * cs + c * S + s];
            total += v;
        }
        out[c] = total;
    }
}

}  // namespace strata::detail
