#pragma once
/// @file
/// squared_hinge_loss(scores [N,C], labels): the one-vs-all L2-SVM loss of Deeply-Supervised Nets (Lee et al.,
/// 2014), mean over the batch of sum_c max(0, 1 - y_ic * s_ic)^2, fused into one node.

#include <vector>

#include "strata/autograd/tape.hpp"
#include "strata/ops/detail/labels.hpp"

namespace strata {

/// One-vs-all squared hinge loss: `mean_i sum_c max(0, 1 - y[i, c] * scores[i, c])^2` with `y[i, c] = +1` for
/// c == labels[i] and -1 otherwise (PyTorch: `(F.relu(1 - y * s) ** 2).sum(1).mean()`).
/// Backward: `d/ds[i, c] = -2 * y[i, c] * max(0, 1 - y[i, c] * s[i, c]) / N`.
/// @param scores value of shape [N, C] (N > 0)
/// @param labels N class indices in [0, C)
/// @return a rank-0 scalar; records one node "squared_hinge_loss" when scores needs a gradient.
/// @throws ShapeError unless scores has rank 2, N > 0 and labels.size() == N.
/// @throws ArgumentError for a label outside [0, C) (naming the label, its position and C).
/// @throws LifetimeError when an input Var is undefined or from before its tape's last rewind.
/// @throws NumericError in anomaly mode (Tape::set_detect_anomaly) when the output holds a NaN or infinity.
template <class T>
Var<T> squared_hinge_loss(const Var<T>& scores, const std::vector<index_t>& labels) {
    const index_t* y = detail::copy_labels(scores, labels, "squared_hinge_loss");
    Tape& tape = scores.tape();
    const index_t N = scores.dim(0), C = scores.dim(1);
    Var<T> out = tape.make_output<T>(Shape{}, tape.needs_grad(scores));
    const T* ps = scores.value().data();
    double total = 0;
    for (index_t i = 0; i < N; ++i)
        for (index_t j = 0; j < C; ++j) {
            const double sign = j == y[i] ? 1.0 : -1.0;
            const double margin = 1.0 - sign * static_cast<double>(ps[i * C + j]);
            if (margin > 0) total += margin * margin;
        }
    out.mutable_value()[0] = static_cast<T>(total / static_cast<double>(N));
    if (out.requires_grad())
        tape.record("squared_hinge_loss", out, [scores, out, y, N, C] {
            const double g = static_cast<double>(out.grad()[0]) / static_cast<double>(N);
            const T* ps = scores.value().data();
            T* pds = scores.grad().data();
            for (index_t i = 0; i < N; ++i)
                for (index_t j = 0; j < C; ++j) {
                    const double sign = j == y[i] ? 1.0 : -1.0;
                    const double margin = 1.0 - sign * static_cast<double>(ps[i * C + j]);
                    if (margin > 0) pds[i * C + j] += static_cast<T>(-2.0 * sign * margin * g);
                }
        });
    return out;
}

}  // namespace strata
