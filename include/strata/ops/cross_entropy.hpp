#pragma once
/// @file
/// cross_entropy(logits [N,C], labels): the mean over the batch of -log_softmax(logits)[i, label_i], fused
/// into one node (as PyTorch's F.cross_entropy with reduction='mean').

#include <cmath>
#include <vector>

#include "strata/autograd/tape.hpp"
#include "strata/ops/detail/labels.hpp"
#include "strata/ops/log_softmax.hpp"

namespace strata {

/// Softmax cross-entropy loss: `mean_i (log(sum_j exp(logits[i, j])) - logits[i, labels[i]])`, stable for
/// logits of any magnitude (each row's max is subtracted). Backward: `(softmax - onehot(labels)) / N`.
/// @param logits value of shape [N, C] (N > 0)
/// @param labels N class indices in [0, C)
/// @return a rank-0 scalar; records one node "cross_entropy" when logits needs a gradient.
/// @throws ShapeError unless logits has rank 2, N > 0 and labels.size() == N.
/// @throws ArgumentError for a label outside [0, C) (naming the label, its position and C).
/// @throws LifetimeError when an input Var is undefined or from before its tape's last rewind.
/// @throws NumericError in anomaly mode (Tape::set_detect_anomaly) when the output holds a NaN or infinity.
template <class T>
Var<T> cross_entropy(const Var<T>& logits, const std::vector<index_t>& labels) {
    const index_t* y = detail::copy_labels(logits, labels, "cross_entropy");
    Tape& tape = logits.tape();
    const index_t N = logits.dim(0), C = logits.dim(1);
    Var<T> out = tape.make_output<T>(Shape{}, tape.needs_grad(logits));
    // Each row's log-sum-exp, saved for backward when a node is recorded.
    double* lse = out.requires_grad() ? tape.buffer<double>(N) : nullptr;
    const T* px = logits.value().data();
    double total = 0;
    for (index_t i = 0; i < N; ++i) {
        const double l = detail::log_sum_exp(px + i * C, C);
        if (lse) lse[i] = l;
        total += l - static_cast<double>(px[i * C + y[i]]);
    }
    out.mutable_value()[0] = static_cast<T>(total / static_cast<double>(N));
    if (out.requires_grad())
        tape.record("cross_entropy", out, [logits, out, y, lse, N, C] {
            const double g = static_cast<double>(out.grad()[0]) / static_cast<double>(N);
            const T* px = logits.value().data();
            T* pdx = logits.grad().data();
            for (index_t i = 0; i < N; ++i) {
                for (index_t j = 0; j < C; ++j) {
                    const double p = std::exp(static_cast<double>(px[i * C + j]) - lse[i]);
                    pdx[i * C + j] += static_cast<T>(g * (j == y[i] ? p - 1.0 : p));
                }
            }
        });
    return out;
}

}  // namespace strata
