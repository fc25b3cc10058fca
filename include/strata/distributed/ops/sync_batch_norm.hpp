#pragma once
/// @file
/// sync_batch_norm: batch normalisation whose training-mode statistics run over the whole distributed batch
/// (every rank's samples), like torch.nn.SyncBatchNorm. Forward allreduces, per channel, the sum and the sum of
/// squares of the values and the value count; backward allreduces the per-channel sums of dy and dy * xhat.
/// With the local communicator (or one rank) both allreduces are the identity and the op equals batch_norm.

#include <algorithm>
#include <cmath>

#include "strata/autograd/tape.hpp"
#include "strata/core/parallel.hpp"
#include "strata/distributed/communicator.hpp"
#include "strata/ops/batch_norm.hpp"

namespace strata::distributed {

/// Synchronised batch normalisation over the ranks of `comm`.
///
/// Training mode: per channel c, mean[c] and the biased var[c] are taken over the N*H*W values of every rank
/// (sum and sum of squares accumulated in double, then one MPI_Allreduce of 2C+1 doubles), and
/// `y = gamma[c] * (x - mean[c]) / sqrt(var[c] + eps) + beta[c]`; each non-null running statistic is updated
/// with the global statistics (unbiased variance over the global count), so it stays identical on every rank.
/// Evaluation mode is batch_norm's (running statistics, no communication).
///
/// Backward (training): the gradients of gamma and beta are this rank's own sums (sum dy * xhat, sum dy), as in
/// PyTorch, and are averaged later with the other parameters by GradientAverager; the gradient of x uses the
/// global sums (one MPI_Allreduce of 2C doubles), so after averaging every parameter receives the gradient of
/// the mean loss over the global batch when the ranks' batches have equal sizes.
///
/// Collective in training mode: every rank must run the forward, and the backward, of each sync_batch_norm in
/// the same order with the same channel count (the per-rank batch sizes and spatial sizes may differ).
///
/// @param x, gamma, beta, running_mean, running_var, training, momentum, eps  as strata::batch_norm
/// @param comm  the ranks that share statistics
/// @return a value of x's shape; records one node "sync_batch_norm" in training mode when x, gamma or beta
///         needs a gradient (in evaluation mode batch_norm's node).
/// @throws ShapeError and ArgumentError as batch_norm; in training mode the "more than 1 value per channel"
///         check applies to the global count (it is thrown on every rank).
template <class T>
Var<T> sync_batch_norm(const Var<T>& x, const Var<T>& gamma, const Var<T>& beta,
                       Tensor<strata::detail::identity_t<T>>* running_mean,
                       Tensor<strata::detail::identity_t<T>>* running_var, bool training, double momentum,
                       double eps, Communicator comm) {
    if (!training) return batch_norm(x, gamma, beta, running_mean, running_var, false, momentum, eps);
    Tape& tape = x.tape();
    const Shape& shape = x.shape();
    check<ShapeError>(shape.rank() == 2 || shape.rank() == 4,
                      "sync_batch_norm: input must have shape [N, C, H, W] or [N, C], got ", shape);
    strata::detail::BatchNormLayout L;
    L.N = shape[0];
    L.C = shape[1];
    L.S = shape.rank() == 4 ? shape[2] * shape[3] : 1;
    strata::detail::check_channel_var(gamma, tape, L.C, shape, "weight (gamma)");
    strata::detail::check_channel_var(beta, tape, L.C, shape, "bias (beta)");
    strata::detail::check_running_stat(running_mean, L.C, shape, "running_mean");
    strata::detail::check_running_stat(running_var, L.C, shape, "running_var");
    check<ArgumentError>(momentum >= 0.0 && momentum <= 1.0, "sync_batch_norm: momentum must be in [0, 1], got ",
                         momentum);
    check<ArgumentError>(eps >= 0.0, "sync_batch_norm: eps must be >= 0, got ", eps);

    const bool grad = tape.grad_enabled() && (x.requires_grad() || strata::detail::optional_requires_grad(gamma) ||
                                             strata::detail::optional_requires_grad(beta));
    Var<T> out = tape.make_output<T>(shape, grad);
    // stats: [0, C) sums, [C, 2C) sums of squares, [2C] the value count; then mean and inverse std saved for
    // backward; then 2C doubles for backward's sums.
    double* stats = tape.buffer<double>(2 * L.C + 1);
    double* mean = tape.buffer<double>(L.C);
    double* inv_std = tape.buffer<double>(L.C);
    double* grad_sums = grad ? tape.buffer<double>(2 * L.C) : nullptr;

    const T* px = x.value().data();
    const index_t M_local = L.per_channel();
    strata::detail::parallel_for(L.C, M_local * L.C >= 16384, [&](index_t c) {
        double sum = 0, sq = 0;
        for (index_t n = 0; n < L.N; ++n) {
            const T* row = px + (n * L.C + c) * L.S;
            for (index_t s = 0; s < L.S; ++s) {
                const double v = static_cast<double>(row[s]);
                sum += v;
                sq += v * v;
            }
        }
        stats[c] = sum;
        stats[L.C + c] = sq;
    });
    stats[2 * L.C] = static_cast<double>(M_local);
    comm.allreduce_sum(stats, 2 * L.C + 1);
    const double M = stats[2 * L.C];
    check<ShapeError>(M > 1.0, "sync_batch_norm: Expected more than 1 value per channel when training, got ", M,
                      " over ", comm.size(), " rank(s) (this rank's input has shape ", shape, ")");

    T* py = out.mutable_value().data();
    const T* pg = gamma.defined() ? gamma.value().data() : nullptr;
    const T* pb = beta.defined() ? beta.value().data() : nullptr;
    T* prm = running_mean ? running_mean->data() : nullptr;
    T* prv = running_var ? running_var->data() : nullptr;
    strata::detail::parallel_for(L.C, M_local * L.C >= 16384, [&](index_t c) {
        const double m = stats[c] / M;
        const double var = std::max(stats[L.C + c] / M - m * m, 0.0);  // biased; clamp rounding below zero
        if (prm) prm[c] = static_cast<T>((1.0 - momentum) * static_cast<double>(prm[c]) + momentum * m);
        if (prv)
            prv[c] = static_cast<T>((1.0 - momentum) * static_cast<double>(prv[c]) + momentum * var * M / (M - 1));
        const double is = 1.0 / std::sqrt(var + eps);
        mean[c] = m;
        inv_std[c] = is;
        const double scale = (pg ? static_cast<double>(pg[c]) : 1.0) * is;
        const double shift = (pb ? static_cast<double>(pb[c]) : 0.0) - m * scale;
        for (index_t n = 0; n < L.N; ++n) {
            const index_t off = (n * L.C + c) * L.S;
            for (index_t s = 0; s < L.S; ++s)
                py[off + s] = static_cast<T>(scale * static_cast<double>(px[off + s]) + shift);
        }
    });

    if (grad)
        tape.record("sync_batch_norm", out, [x, gamma, beta, out, L, mean, inv_std, grad_sums, M, comm] {
            const bool gx = x.requires_grad();
            const bool gg = strata::detail::optional_requires_grad(gamma);
            const bool gb = strata::detail::optional_requires_grad(beta);
            const T* px = x.value().data();
            const T* pdy = out.grad().data();
            const T* pg = gamma.defined() ? gamma.value().data() : nullptr;
            T* pdx = gx ? x.grad().data() : nullptr;  // allocated here, outside the parallel loops
            T* pdg = gg ? gamma.grad().data() : nullptr;
            T* pdb = gb ? beta.grad().data() : nullptr;
            // This rank's sum(dy) and sum(dy * xhat) per channel.
            strata::detail::parallel_for(L.C, L.per_channel() * L.C >= 16384, [&](index_t c) {
                const double m = mean[c], is = inv_std[c];
                double sum_dy = 0, sum_dy_xhat = 0;
                for (index_t n = 0; n < L.N; ++n) {
                    const index_t off = (n * L.C + c) * L.S;
                    for (index_t s = 0; s < L.S; ++s) {
                        const double dy = static_cast<double>(pdy[off + s]);
                        sum_dy += dy;
                        sum_dy_xhat += dy * (static_cast<double>(px[off + s]) - m) * is;
                    }
                }
                grad_sums[c] = sum_dy;
                grad_sums[L.C + c] = sum_dy_xhat;
                if (pdg) pdg[c] += static_cast<T>(sum_dy_xhat);
                if (pdb) pdb[c] += static_cast<T>(sum_dy);
            });
            if (!pdx) return;  // the same on every rank (same graph), so no rank waits in the allreduce alone
            comm.allreduce_sum(grad_sums, 2 * L.C);
            strata::detail::parallel_for(L.C, L.per_channel() * L.C >= 16384, [&](index_t c) {
                const double m = mean[c], is = inv_std[c];
                const double k = (pg ? static_cast<double>(pg[c]) : 1.0) * is;
                // dx = k * (dy - mean(dy) - xhat * mean(dy * xhat)), means over the global batch.
                const double mean_dy = grad_sums[c] / M, mean_dy_xhat = grad_sums[L.C + c] / M;
                for (index_t n = 0; n < L.N; ++n) {
                    const index_t off = (n * L.C + c) * L.S;
                    for (index_t s = 0; s < L.S; ++s) {
                        const double xhat = (static_cast<double>(px[off + s]) - m) * is;
                        pdx[off + s] += static_cast<T>(
                            k * (static_cast<double>(pdy[off + s]) - mean_dy - xhat * mean_dy_xhat));
                    }
                }
            });
        });
    return out;
}

}  // namespace strata::distributed
