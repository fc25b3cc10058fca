#pragma once
/// @file
/// log_softmax(x) over dim 1 of an [N,C] value, numerically stable (each row's max is subtracted first).

#include <algorithm>
#include <cmath>

#include "strata/autograd/tape.hpp"

namespace strata {

namespace detail {

/// log(sum_j exp(row[j])) of a row of `n` values, computed as max + log(sum exp(row - max)) (accumulated in
/// double). Returns -inf for an empty row.
template <class T>
double log_sum_exp(const T* row, index_t n) {
    if (n == 0) return -INFINITY;
    double mx = static_cast<double>(row[0]);
    for (index_t j = 1; j < n; ++j) mx = std::max(mx, static_cast<double>(row[j]));
    if (std::isinf(mx)) return mx;  // all -inf (-> -inf) or some +inf (-> +inf)
    double sum = 0;
    for (index_t j = 0; j < n; ++j) sum += std::exp(static_cast<double>(row[j]) - mx);
    return mx + std::log(sum);
}

}  // namespace detail

/// Row-wise log-softmax: `out[i, j] = x[i, j] - log(sum_k exp(x[i, k]))`, stable for logits of any magnitude.
/// Backward: `dx[i, j] = dy[i, j] - softmax[i, j] * sum_k dy[i, k]`, with
/// the softmax recomputed from x and the saved row log-sum-exp.
/// @param x value of shape [N, C]
/// @return a value of shape [N, C]; records one node "log_softmax" when x needs a gradient.
/// @throws ShapeError unless x has rank 2.
/// @throws LifetimeError when an input Var is undefined or from before its tape's last rewind.
/// @throws NumericError in anomaly mode (Tape::set_detect_anomaly) when the output holds a NaN or infinity.
template <class T>
Var<T> log_softmax(const Var<T>& x) {
    check<ShapeError>(x.shape().rank() == 2, "log_softmax: input must have shape [N, C], got ", x.shape());
    Tape& tape = x.tape();
    const index_t N = x.dim(0), C = x.dim(1);
    Var<T> out = tape.make_output<T>(x.shape(), tape.needs_grad(x));
    const T* px = x.value().data();
    T* py = out.mutable_value().data();
    // Each row's log-sum-exp, saved (in double) for backward when a node is recorded.
    double* saved = out.requires_grad() ? tape.buffer<double>(N) : nullptr;
    for (index_t i = 0; i < N; ++i) {
        const double lse = detail::log_sum_exp(px + i * C, C);
        if (saved) saved[i] = lse;
        for (index_t j = 0; j < C; ++j) py[i * C + j] = static_cast<T>(static_cast<double>(px[i * C + j]) - lse);
    }
    if (out.requires_grad())
        tape.record("log_softmax", out, [x, out, saved, N, C] {
            const T* px = x.value().data();
            const T* pdy = out.grad().data();
            T* pdx = x.grad().data();
            for (index_t i = 0; i < N; ++i) {
                double sum_dy = 0;
                for (index_t j = 0; j < C; ++j) sum_dy += static_cast<double>(pdy[i * C + j]);
                for (index_t j = 0; j < C; ++j) {
                    const double p = std::exp(static_cast<double>(px[i * C + j]) - saved[i]);
                    pdx[i * C + j] += static_cast<T>(static_cast<double>(pdy[i * C + j]) - p * sum_dy);
                }
            }
        });
    return out;
}

}  // namespace strata
