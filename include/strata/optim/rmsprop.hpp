#pragma once
/// @file
/// RMSprop<T>: with optional momentum, centering and L2 weight decay, with the update rule of
/// torch.optim.RMSprop (PyTorch 1.13, single-tensor implementation).

#include <cmath>

#include "strata/core/cpu_features.hpp"
#include "strata/core/options.hpp"
#include "strata/core/parallel.hpp"
#include "strata/core/simd_loop.hpp"
#include "strata/optim/optimizer.hpp"

namespace strata::optim {

namespace detail {

/// The constants of one RMSprop step, in the parameter's type.
template <class T>
struct RMSpropStepConstants {
    T lr, wd, alpha, keep, eps, mom;
};

/// RMSprop's update of `n` weights with the variant fixed at compile time (one branch-free loop per
/// combination, vectorised).
template <bool Decay, bool Centered, bool Momentum, class T>
inline void rmsprop_update_loop(T* w, const T* grad, T* sq, T* ga, T* buf, index_t n, RMSpropStepConstants<T> c) {
    auto gradient = [=](index_t i) { return Decay ? grad[i] + c.wd * w[i] : grad[i]; };
    strata::detail::simd_loop_sqrt(
        n,
        [=](index_t i) {
            const T g = gradient(i);
            const T s = sq[i] * c.alpha + c.keep * g * g;
            sq[i] = s;
            if constexpr (Centered) {
                const T a = ga[i] * c.alpha + c.keep * g;
                ga[i] = a;
                return s + T(-1) * a * a;
            }
            return s;
        },
        [=](index_t i, T root) {
            const T g = gradient(i);  // w[i] is written below, after its last read
            const T avg = root + c.eps;
            if constexpr (Momentum) {
                const T b = buf[i] * c.mom + g / avg;
                buf[i] = b;
                w[i] = w[i] + (-c.lr) * b;
            } else {
                w[i] = w[i] + (-c.lr) * g / avg;
            }
        });
}

/// rmsprop_update_loop with the variant chosen at run time.
template <class T>
inline void rmsprop_update_range(bool decay, bool centered, bool momentum, T* w, const T* grad, T* sq, T* ga, T* buf,
                                 index_t n, const RMSpropStepConstants<T>& c) {
    if (centered) {
        if (momentum) {
            if (decay) rmsprop_update_loop<true, true, true>(w, grad, sq, ga, buf, n, c);
            else rmsprop_update_loop<false, true, true>(w, grad, sq, ga, buf, n, c);
        } else {
            if (decay) rmsprop_update_loop<true, true, false>(w, grad, sq, ga, buf, n, c);
            else rmsprop_update_loop<false, true, false>(w, grad, sq, ga, buf, n, c);
        }
    } else if (momentum) {
        if (decay) rmsprop_update_loop<true, false, true>(w, grad, sq, ga, buf, n, c);
        else rmsprop_update_loop<false, false, true>(w, grad, sq, ga, buf, n, c);
    } else {
        if (decay) rmsprop_update_loop<true, false, false>(w, grad, sq, ga, buf, n, c);
        else rmsprop_update_loop<false, false, false>(w, grad, sq, ga, buf, n, c);
    }
}

}  // namespace detail

/// Options of RMSprop (PyTorch's defaults: lr 1e-2, alpha 0.99, eps 1e-8, weight decay 0, momentum 0, not
/// centered).
struct RMSpropOptions {
    /// Options with learning rate `lr`.
    explicit RMSpropOptions(double lr = 1e-2) : lr_(lr) {}
    STRATA_ARG(double, lr);
    STRATA_ARG(double, alpha) = 0.99;
    STRATA_ARG(double, eps) = 1e-8;
    STRATA_ARG(double, weight_decay) = 0.0;
    STRATA_ARG(double, momentum) = 0.0;
    STRATA_ARG(bool, centered) = false;

public:
    /// Throws ArgumentError naming the value on a negative (or NaN) lr, eps, momentum, weight decay or alpha
    /// (PyTorch's checks).
    /// @throws ArgumentError on a negative (or NaN) lr, eps, momentum, weight decay or alpha, naming it.
    void validate() const {
        check<ArgumentError>(lr_ >= 0, "RMSprop: invalid learning rate: ", lr_);
        check<ArgumentError>(eps_ >= 0, "RMSprop: invalid epsilon value: ", eps_);
        check<ArgumentError>(momentum_ >= 0, "RMSprop: invalid momentum value: ", momentum_);
        check<ArgumentError>(weight_decay_ >= 0, "RMSprop: invalid weight_decay value: ", weight_decay_);
        check<ArgumentError>(alpha_ >= 0, "RMSprop: invalid alpha value: ", alpha_);
    }
};

/// Per-parameter state of RMSprop (PyTorch's names).
template <class T>
struct RMSpropState {
    /// Rank-0 number of steps taken (kept for parity with PyTorch; the update does not use it).
    Tensor<T> step;
    /// Running average of the squared gradient.
    Tensor<T> square_avg;
    /// Momentum buffer (only with momentum > 0).
    Tensor<T> momentum_buffer;
    /// Running average of the gradient (only when centered).
    Tensor<T> grad_avg;

    /// Creates the tensors `options` needs.
    void ensure(const Shape& shape, const RMSpropOptions& options) {
        detail::ensure_counter(step);
        detail::ensure_state(square_avg, shape, true, "square_avg");
        detail::ensure_state(momentum_buffer, shape, options.momentum() > 0, "momentum_buffer");
        detail::ensure_state(grad_avg, shape, options.centered(), "grad_avg");
    }
    /// Calls f(name, tensor) for each existing tensor.
    template <class F>
    void visit(F&& f) {
        f("step", step);
        f("square_avg", square_avg);
        if (!momentum_buffer.empty()) f("momentum_buffer", momentum_buffer);
        if (!grad_avg.empty()) f("grad_avg", grad_avg);
    }
};

/// RMSprop, per element (g the gradient, p the parameter):
///   g += weight_decay * p;  s = alpha s + (1 - alpha) g^2;
///   centered: a = alpha a + (1 - alpha) g, avg = sqrt(s - a^2) + eps;  else avg = sqrt(s) + eps;
///   momentum > 0: b = momentum b + g / avg, p -= lr b;  else p -= lr g / avg.
template <class T>
class RMSprop : public Optimizer<T, RMSpropOptions, RMSpropState<T>> {
    using Base = Optimizer<T, RMSpropOptions, RMSpropState<T>>;

public:
    /// An RMSprop without groups (add them with add_param_group); throws ArgumentError on bad defaults.
    /// @throws ArgumentError on invalid defaults (see RMSpropOptions::validate).
    explicit RMSprop(const RMSpropOptions& defaults = RMSpropOptions()) : Base("RMSprop", defaults) {}
    /// An RMSprop over one group of `params`; throws ArgumentError on bad options or an empty list.
    /// @throws ArgumentError on invalid options, an empty list, a null or repeated parameter.
    RMSprop(std::vector<Parameter<T>*> params, const RMSpropOptions& options = RMSpropOptions())
        : Base("RMSprop", std::move(params), options) {}

    bool has_momentum() const override { return true; }
    /// The momentum of group `group`.
    /// @throws ArgumentError when `group` does not exist.
    double momentum(std::size_t group) const override { return this->options(group).momentum(); }
    /// Sets the momentum of group `group` (the buffer is created, zero, at the next step if needed).
    /// @throws ArgumentError when `group` does not exist.
    void set_momentum(std::size_t group, double value) override { this->options(group).momentum(value); }

protected:
    void update(Parameter<T>& p, RMSpropState<T>& s, const RMSpropOptions& o) override {
        s.step[0] += T(1);
        detail::RMSpropStepConstants<T> c;
        c.lr = static_cast<T>(o.lr());
        c.wd = static_cast<T>(o.weight_decay());
        c.alpha = static_cast<T>(o.alpha());
        c.keep = static_cast<T>(1 - o.alpha());
        c.eps = static_cast<T>(o.eps());
        c.mom = static_cast<T>(o.momentum());
        const bool decay = o.weight_decay() != 0, centered = o.centered(), use_momentum = o.momentum() > 0;
        T* w = p.value.data();
        const T* grad = p.grad().data();
        T* sq = s.square_avg.data();
        T* ga = centered ? s.grad_avg.data() : nullptr;
        T* buf = use_momentum ? s.momentum_buffer.data() : nullptr;
        // Element-wise, so large parameters are shared out among the threads with the same result.
        strata::detail::parallel_split(p.numel(), strata::detail::elementwise_split_min, [&](index_t b, index_t e) {
            strata::detail::run_for_active_isa([&] {  // compiled for the CPU's ISA
                detail::rmsprop_update_range(decay, centered, use_momentum, w + b, grad + b, sq + b,
                                             ga ? ga + b : nullptr, buf ? buf + b : nullptr, e - b, c);
            });
        });
    }
};

}  // namespace strata::optim
