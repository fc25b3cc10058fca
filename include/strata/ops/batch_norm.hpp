#pragma once
/// @file
/// batch_norm: PyTorch's F.batch_norm over [N,C,H,W] or [N,C], per channel, in training mode (batch
/// statistics, running statistics updated) and evaluation mode (running statistics), with optional affine
/// gamma/beta. One tape node; backward is the closed form.

#include <cmath>
#include <utility>
#include <cstring>

#include "strata/autograd/tape.hpp"
#include "strata/core/cpu_features.hpp"
#include "strata/core/parallel.hpp"
#include "strata/ops/detail/batch_norm_rows.hpp"

namespace strata {

namespace detail {

/// The per-channel layout of a batch_norm input: element (n, c, s) lives at (n*C + c)*S + s.
struct BatchNormLayout {
    index_t N = 0;  ///< batch size
    index_t C = 0;  ///< channels
    index_t S = 1;  ///< spatial size H*W (1 for [N,C])
    /// Values per channel (N*S), the count the statistics run over.
    index_t per_channel() const { return N * S; }
};

/// Lanes of the double accumulators in the channel sums: independent partial sums, so the loops vectorise
/// (one 512-bit or two 256-bit registers of doubles) without reassociating any one sum; the result is the same
/// on every ISA.
inline constexpr int bn_lanes = 8;

/// Adds the lanes of `acc` in a fixed order.
inline double bn_lane_total(const double* acc) {
    double total = 0;
    for (int l = 0; l < bn_lanes; ++l) total += acc[l];
    return total;
}

// The per-channel loops below run inside run_for_active_isa and take everything as parameters (nothing
// captured by reference, see relu.hpp). A channel is N rows of S values, `stride` apart.

/// The channel's sum of x and then, around its mean, the sum of (x - mean)^2 (two passes, in double).
template <class T>
inline void bn_channel_moments(const T* x, index_t N, index_t stride, index_t S, double& mean, double& sq) {
    double acc[bn_lanes] = {};
    for (index_t n = 0; n < N; ++n) {
        const T* row = x + n * stride;
        index_t s = 0;
        for (; s + bn_lanes <= S; s += bn_lanes)
            for (int l = 0; l < bn_lanes; ++l) acc[l] += static_cast<double>(row[s + l]);
        for (; s < S; ++s) acc[s % bn_lanes] += static_cast<double>(row[s]);
    }
    const double m = bn_lane_total(acc) / static_cast<double>(N * S);
    double dev[bn_lanes] = {};
    for (index_t n = 0; n < N; ++n) {
        const T* row = x + n * stride;
        index_t s = 0;
        for (; s + bn_lanes <= S; s += bn_lanes)
            for (int l = 0; l < bn_lanes; ++l) {
                const double d = static_cast<double>(row[s + l]) - m;
                dev[l] += d * d;
            }
        for (; s < S; ++s) {
            const double d = static_cast<double>(row[s]) - m;
            dev[s % bn_lanes] += d * d;
        }
    }
    mean = m;
    sq = bn_lane_total(dev);
}

/// y = ((x - m_hi) - m_lo) * scale + beta over the channel, in T. Centring first, by the mean split into a high
/// and a low part (x - m_hi is exact near the mean), keeps the digits of inputs far from zero.
template <class T>
inline void bn_normalise_channel(const T* x, T* __restrict y, index_t N, index_t stride, index_t S, T m_hi, T m_lo,
                                 T scale, T beta) {
    for (index_t n = 0; n < N; ++n)
        for (index_t s = 0; s < S; ++s) y[n * stride + s] = ((x[n * stride + s] - m_hi) - m_lo) * scale + beta;
}

/// The channel's sum(dy) and sum(dy * (x - m)), in double.
template <class T>
inline void bn_backward_sums(const T* x, const T* dy, index_t N, index_t stride, index_t S, double m, double& sum_dy,
                             double& sum_dy_xc) {
    double a[bn_lanes] = {}, b[bn_lanes] = {};
    for (index_t n = 0; n < N; ++n) {
        const T* xr = x + n * stride;
        const T* gr = dy + n * stride;
        index_t s = 0;
        for (; s + bn_lanes <= S; s += bn_lanes)
            for (int l = 0; l < bn_lanes; ++l) {
                const double g = static_cast<double>(gr[s + l]);
                a[l] += g;
                b[l] += g * (static_cast<double>(xr[s + l]) - m);
            }
        for (; s < S; ++s) {
            const double g = static_cast<double>(gr[s]);
            a[s % bn_lanes] += g;
            b[s % bn_lanes] += g * (static_cast<double>(xr[s]) - m);
        }
    }
    sum_dy = bn_lane_total(a);
    sum_dy_xc = bn_lane_total(b);
}

/// dx += k * (dy - mean_dy - xhat * mean_dy_xhat) with xhat = ((x - m_hi) - m_lo) * is, over the channel, in T
/// (or, with `overwrite`, dx = that term: dx holds no gradient yet).
template <class T>
inline void bn_backward_channel(const T* x, const T* dy, T* __restrict dx, index_t N, index_t stride, index_t S,
                                T m_hi, T m_lo, T is, T k, T mean_dy, T mean_dy_xhat, bool overwrite) {
    for (index_t n = 0; n < N; ++n) {
        const index_t row = n * stride;
        if (overwrite)
            for (index_t s = 0; s < S; ++s)
                dx[row + s] = k * (dy[row + s] - mean_dy - ((x[row + s] - m_hi) - m_lo) * is * mean_dy_xhat);
        else
            for (index_t s = 0; s < S; ++s)
                dx[row + s] += k * (dy[row + s] - mean_dy - ((x[row + s] - m_hi) - m_lo) * is * mean_dy_xhat);
    }
}

/// Whether an optional operand (gamma/beta) is present and needs a gradient.
template <class T>
bool optional_requires_grad(const Var<T>& v) {
    return v.defined() && v.requires_grad();
}

/// Throws unless `v` (when defined) lives on `tape` and has shape [C].
template <class T>
void check_channel_var(const Var<T>& v, const Tape& tape, index_t C, const Shape& x_shape, const char* what) {
    if (!v.defined()) return;
    check<ArgumentError>(&v.tape() == &tape, "batch_norm: ", what, " lives on a different tape than the input");
    check<ShapeError>(v.shape() == Shape{C}, "batch_norm: ", what, " must have shape [", C, "] for input of shape ",
                      x_shape, ", got ", v.shape());
}

/// Throws unless the running statistic `t` (when non-null) has shape [C].
template <class T>
void check_running_stat(const Tensor<T>* t, index_t C, const Shape& x_shape, const char* what) {
    if (t == nullptr) return;
    check<ShapeError>(t->shape() == Shape{C}, "batch_norm: ", what, " must have shape [", C,
                      "] for input of shape ", x_shape, ", got ", t->shape());
}

}  // namespace detail

/// Batch normalisation, exactly as PyTorch's `F.batch_norm(x, running_mean, running_var, gamma, beta, training,
/// momentum, eps)`.
///
/// Per channel c: `y = gamma[c] * (x - mean[c]) / sqrt(var[c] + eps) + beta[c]`, where in training mode mean
/// and var are the channel's batch mean and biased variance over N*H*W values, and in evaluation mode they are
/// `*running_mean` and `*running_var`. In training mode each non-null running statistic is updated in place
/// (also under NoGradGuard): `running = (1 - momentum) * running + momentum * batch`, using the unbiased
/// variance (times n/(n-1)) for running_var. Statistics and per-channel
/// sums are accumulated in double with a two-pass algorithm; the elementwise maps run in T.
///
/// @param x            input of shape [N,C,H,W] or [N,C]
/// @param gamma        scale of shape [C], or an undefined Var for 1
/// @param beta         shift of shape [C], or an undefined Var for 0
/// @param running_mean running mean [C] or null (required in evaluation mode)
/// @param running_var  running variance [C] or null (required in evaluation mode); T is deduced from x only,
///                     so both may be passed as nullptr
/// @param training     batch statistics (true) or running statistics (false)
/// @param momentum     weight of the batch statistics in the running update, in [0, 1]
/// @param eps          added to the variance, >= 0
/// @return a value of x's shape; records one node "batch_norm" when x, gamma or beta needs a gradient.
/// @throws ShapeError on a rank other than 2 or 4, on gamma/beta/running statistics not of shape [C], and in
///         training mode when a channel has only one value (N*H*W == 1).
/// @throws ArgumentError in evaluation mode without both running statistics, on momentum outside [0, 1], on a
///         negative eps, and when gamma/beta live on another tape.
template <class T>
Var<T> batch_norm(const Var<T>& x, const Var<T>& gamma, const Var<T>& beta,
                  Tensor<detail::identity_t<T>>* running_mean, Tensor<detail::identity_t<T>>* running_var,
                  bool training, double momentum = 0.1, double eps = 1e-5) {
    Tape& tape = x.tape();
    const Shape& shape = x.shape();
    check<ShapeError>(shape.rank() == 2 || shape.rank() == 4,
                      "batch_norm: input must have shape [N, C, H, W] or [N, C], got ", shape);
    detail::BatchNormLayout L;
    L.N = shape[0];
    L.C = shape[1];
    L.S = shape.rank() == 4 ? shape[2] * shape[3] : 1;
    detail::check_channel_var(gamma, tape, L.C, shape, "weight (gamma)");
    detail::check_channel_var(beta, tape, L.C, shape, "bias (beta)");
    detail::check_running_stat(running_mean, L.C, shape, "running_mean");
    detail::check_running_stat(running_var, L.C, shape, "running_var");
    check<ArgumentError>(momentum >= 0.0 && momentum <= 1.0, "batch_norm: momentum must be in [0, 1], got ",
                         momentum);
    check<ArgumentError>(eps >= 0.0, "batch_norm: eps must be >= 0, got ", eps);
    if (training)
        check<ShapeError>(L.per_channel() > 1,
                          "batch_norm: Expected more than 1 value per channel when training, got input of shape ",
                          shape);
    else
        check<ArgumentError>(running_mean != nullptr && running_var != nullptr,
                             "batch_norm: evaluation mode (training = false) needs running_mean and running_var, "
                             "got ", running_mean ? "" : "no running_mean ", running_var ? "" : "no running_var ",
                             "for input of shape ", shape);

    const bool grad = tape.grad_enabled() && (x.requires_grad() || detail::optional_requires_grad(gamma) ||
                                             detail::optional_requires_grad(beta));
    Var<T> out = tape.make_output<T>(shape, grad);
    // Saved for backward: mean[c] and inverse std[c], in double.
    double* mean = tape.buffer<double>(L.C);
    double* inv_std = tape.buffer<double>(L.C);

    const T* px = x.value().data();
    T* py = out.mutable_value().data();
    const T* pg = gamma.defined() ? gamma.value().data() : nullptr;
    const T* pb = beta.defined() ? beta.value().data() : nullptr;
    // Writable (a change: the version advances) only when training updates them; evaluation only reads them,
    // and several threads may serve from one model.
    auto stats = [training](Tensor<T>* t) -> T* {
        if (t == nullptr) return nullptr;
        return training ? t->data() : const_cast<T*>(std::as_const(*t).data());
    };
    T* prm = stats(running_mean);
    T* prv = stats(running_var);
    const index_t M = L.per_channel();

    // A channel's statistics `m` and `sq` (sum of squared deviations; unused in evaluation) into the running
    // statistics, mean[c] and inv_std[c].
    auto channel_stats = [&](index_t c, double m, double sq) {
        double var;
        if (training) {
            var = sq / static_cast<double>(M);
            if (prm) prm[c] = static_cast<T>((1.0 - momentum) * static_cast<double>(prm[c]) + momentum * m);
            if (prv) {
                const double unbiased = sq / static_cast<double>(M - 1);
                prv[c] = static_cast<T>((1.0 - momentum) * static_cast<double>(prv[c]) + momentum * unbiased);
            }
        } else {
            m = static_cast<double>(prm[c]);
            var = static_cast<double>(prv[c]);
        }
        mean[c] = m;
        inv_std[c] = 1.0 / std::sqrt(var + eps);
    };
    // y = (x - mean) * scale + beta with scale = gamma * inv_std, the mean split into a high and a low part.
    auto channel_constants = [&](index_t c, T& m_hi, T& m_lo, T& scale, T& shift) {
        const double m = mean[c];
        scale = static_cast<T>((pg ? static_cast<double>(pg[c]) : 1.0) * inv_std[c]);
        shift = pb ? pb[c] : T(0);
        m_hi = static_cast<T>(m);
        m_lo = static_cast<T>(m - static_cast<double>(m_hi));
    };

    if (L.S < detail::bn_rows_below) {  // small maps: sample by sample (batch_norm_rows.hpp)
        Tape::ScratchScope scratch(tape);
        const index_t cs = L.C * L.S, blocks = (L.N + detail::bn_rows_block - 1) / detail::bn_rows_block;
        double* total = tape.buffer<double>(L.C);
        double* mean_of = training ? tape.buffer<double>(cs) : nullptr;
        if (training) {
            double* parts = tape.buffer<double>(blocks * cs);
            detail::bn_rows_blocks(L.N, L.N * cs, [&](index_t b, index_t j0, index_t n) {
                double* acc = parts + b * cs;
                std::fill_n(acc, cs, 0.0);
                detail::run_for_active_isa([&] { detail::bn_rows_sum(px + j0 * cs, n, cs, acc); });
            });
            detail::bn_rows_channel_totals(parts, blocks, L.C, L.S, total);
            for (index_t i = 0; i < cs; ++i) mean_of[i] = total[i / L.S] / static_cast<double>(M);
            detail::bn_rows_blocks(L.N, L.N * cs, [&](index_t b, index_t j0, index_t n) {
                double* acc = parts + b * cs;
                std::fill_n(acc, cs, 0.0);
                detail::run_for_active_isa([&] { detail::bn_rows_square(px + j0 * cs, n, cs, mean_of, acc); });
            });
            detail::bn_rows_channel_totals(parts, blocks, L.C, L.S, total);
        }
        for (index_t c = 0; c < L.C; ++c) channel_stats(c, training ? mean_of[c * L.S] : 0.0, training ? total[c] : 0.0);
        T* k = tape.buffer<T>(4 * cs);
        const detail::BatchNormRowConstants<T> rc{k, k + cs, k + 2 * cs, k + 3 * cs, nullptr, nullptr};
        for (index_t c = 0; c < L.C; ++c) {
            T m_hi, m_lo, scale, shift;
            channel_constants(c, m_hi, m_lo, scale, shift);
            std::fill_n(rc.m_hi + c * L.S, L.S, m_hi);
            std::fill_n(rc.m_lo + c * L.S, L.S, m_lo);
            std::fill_n(rc.a + c * L.S, L.S, scale);
            std::fill_n(rc.b + c * L.S, L.S, shift);
        }
        detail::bn_rows_blocks(L.N, L.N * cs, [&](index_t, index_t j0, index_t n) {
            detail::run_for_active_isa([&] { detail::bn_rows_normalise(px + j0 * cs, py + j0 * cs, n, cs, rc); });
        });
    } else {
        detail::parallel_for(L.C, M * L.C >= 16384, [&](index_t c) {
            double m = 0, sq = 0;
            if (training)
                detail::run_for_active_isa(
                    [&] { detail::bn_channel_moments(px + c * L.S, L.N, L.C * L.S, L.S, m, sq); });
            channel_stats(c, m, sq);
            T m_hi, m_lo, scale, shift;
            channel_constants(c, m_hi, m_lo, scale, shift);
            const index_t off = c * L.S;
            detail::run_for_active_isa([&] {
                detail::bn_normalise_channel(px + off, py + off, L.N, L.C * L.S, L.S, m_hi, m_lo, scale, shift);
            });
        });
    }

    if (grad)
        tape.record("batch_norm", out, [x, gamma, beta, out, L, mean, inv_std, training] {
            const bool gx = x.requires_grad();
            const bool gg = detail::optional_requires_grad(gamma);
            const bool gb = detail::optional_requires_grad(beta);
            // Gradient buffers are allocated here, outside the parallel loop (the arena is not thread-safe).
            const T* px = x.value().data();
            const T* pdy = out.grad().data();
            const T* pg = gamma.defined() ? gamma.value().data() : nullptr;
            bool dx_fresh = false;  // no gradient reached x yet: write dx instead of adding to it
            T* pdx = gx ? x.grad_for_write(dx_fresh).data() : nullptr;
            T* pdg = gg ? gamma.grad().data() : nullptr;
            T* pdb = gb ? beta.grad().data() : nullptr;
            const index_t M = L.per_channel();
            const double inv_m = 1.0 / static_cast<double>(M);
            // From channel c's sum(dy) and sum(dy * (x - mean)) (in double): the gradients of gamma and beta, and
            // the constants of dx = k * (dy - mean(dy) - xhat * mean(dy * xhat)) in training, k * dy in
            // evaluation, rounded to T for the element-wise pass.
            struct DxConstants {
                T k, is, m_hi, m_lo, mean_dy, mean_dy_xhat;
            };
            auto channel_grads = [&](index_t c, double sum_dy, double sum_dy_xc) {
                const double m = mean[c], is = inv_std[c];
                const double sum_dy_xhat = sum_dy_xc * is;
                if (pdg) pdg[c] += static_cast<T>(sum_dy_xhat);
                if (pdb) pdb[c] += static_cast<T>(sum_dy);
                const double k = (pg ? static_cast<double>(pg[c]) : 1.0) * is;
                const T m_hi = static_cast<T>(m);
                return DxConstants{static_cast<T>(k), static_cast<T>(is), m_hi,
                                   static_cast<T>(m - static_cast<double>(m_hi)),
                                   static_cast<T>(training ? sum_dy * inv_m : 0.0),
                                   static_cast<T>(training ? sum_dy_xhat * inv_m : 0.0)};
            };
            if (L.S < detail::bn_rows_below) {  // small maps: sample by sample (batch_norm_rows.hpp)
                Tape& tape = x.tape();
                Tape::ScratchScope scratch(tape);
                const index_t cs = L.C * L.S, blocks = (L.N + detail::bn_rows_block - 1) / detail::bn_rows_block;
                double* parts = tape.buffer<double>(2 * blocks * cs);
                double* totals = tape.buffer<double>(2 * L.C);
                double* mean_of = tape.buffer<double>(cs);
                for (index_t i = 0; i < cs; ++i) mean_of[i] = mean[i / L.S];
                detail::bn_rows_blocks(L.N, L.N * cs, [&](index_t b, index_t j0, index_t n) {
                    double* a = parts + b * cs;
                    double* d = parts + (blocks + b) * cs;
                    std::fill_n(a, cs, 0.0);
                    std::fill_n(d, cs, 0.0);
                    detail::run_for_active_isa([&] {
                        detail::bn_rows_backward_sums(px + j0 * cs, pdy + j0 * cs, n, cs, mean_of, a, d);
                    });
                });
                detail::bn_rows_channel_totals(parts, blocks, L.C, L.S, totals);
                detail::bn_rows_channel_totals(parts + blocks * cs, blocks, L.C, L.S, totals + L.C);
                T* k = tape.buffer<T>(6 * cs);
                const detail::BatchNormRowConstants<T> rc{k, k + cs, k + 2 * cs, k + 3 * cs, k + 4 * cs, k + 5 * cs};
                for (index_t c = 0; c < L.C; ++c) {
                    const DxConstants dc = channel_grads(c, totals[c], totals[L.C + c]);
                    const index_t at = c * L.S;
                    std::fill_n(rc.m_hi + at, L.S, dc.m_hi);
                    std::fill_n(rc.m_lo + at, L.S, dc.m_lo);
                    std::fill_n(rc.a + at, L.S, dc.k);
                    std::fill_n(rc.b + at, L.S, dc.is);
                    std::fill_n(rc.c + at, L.S, dc.mean_dy);
                    std::fill_n(rc.d + at, L.S, dc.mean_dy_xhat);
                }
                if (pdx)
                    detail::bn_rows_blocks(L.N, L.N * cs, [&](index_t, index_t j0, index_t n) {
                        detail::run_for_active_isa([&] {
                            detail::bn_rows_backward(px + j0 * cs, pdy + j0 * cs, pdx + j0 * cs, n, cs, rc, dx_fresh);
                        });
                    });
                return;
            }
            detail::parallel_for(L.C, M * L.C >= 16384, [&](index_t c) {
                double sum_dy = 0, sum_dy_xc = 0;
                const index_t off = c * L.S;
                detail::run_for_active_isa([&] {
                    detail::bn_backward_sums(px + off, pdy + off, L.N, L.C * L.S, L.S, mean[c], sum_dy, sum_dy_xc);
                });
                const DxConstants dc = channel_grads(c, sum_dy, sum_dy_xc);
                if (!pdx) return;
                detail::run_for_active_isa([&] {
                    detail::bn_backward_channel(px + off, pdy + off, pdx + off, L.N, L.C * L.S, L.S, dc.m_hi, dc.m_lo,
                                                dc.is, dc.k, dc.mean_dy, dc.mean_dy_xhat, dx_fresh);
                });
            });
        });
    return out;
}

}  // namespace strata
