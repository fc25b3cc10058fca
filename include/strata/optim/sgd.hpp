#pragma once
/// @file
/// SGD<T>: stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay, with
/// exactly the update rule of torch.optim.SGD (PyTorch 1.13, single-tensor implementation).

#include "strata/core/cpu_features.hpp"
#include "strata/core/options.hpp"
#include "strata/core/parallel.hpp"
#include "strata/core/simd_loop.hpp"
#include "strata/optim/optimizer.hpp"

namespace strata::optim {

namespace detail {

/// SGD's update of `n` weights with the options fixed at compile time, so that each combination is one
/// branch-free loop the compiler vectorises.
template <bool Decay, bool Momentum, bool First, bool Nesterov, class T>
inline void sgd_update_loop(T* w, const T* grad, T* buf, index_t n, T lr, T wd, T mom, T keep) {
    strata::detail::simd_loop(n, [=](index_t i) {
        T d = grad[i];
        if constexpr (Decay) d = d + wd * w[i];
        if constexpr (Momentum) {
            const T b = First ? d : buf[i] * mom + keep * d;
            buf[i] = b;
            d = Nesterov ? d + mom * b : b;
        }
        w[i] = w[i] + (-lr) * d;
    });
}

/// sgd_update_loop with the options chosen at run time.
template <class T>
inline void sgd_update(bool decay, bool momentum, bool first, bool nesterov, T* w, const T* grad, T* buf, index_t n,
                       T lr, T wd, T mom, T keep) {
    if (!momentum) {
        if (decay) sgd_update_loop<true, false, false, false>(w, grad, buf, n, lr, wd, mom, keep);
        else sgd_update_loop<false, false, false, false>(w, grad, buf, n, lr, wd, mom, keep);
    } else if (first) {
        if (nesterov) {
            if (decay) sgd_update_loop<true, true, true, true>(w, grad, buf, n, lr, wd, mom, keep);
            else sgd_update_loop<false, true, true, true>(w, grad, buf, n, lr, wd, mom, keep);
        } else {
            if (decay) sgd_update_loop<true, true, true, false>(w, grad, buf, n, lr, wd, mom, keep);
            else sgd_update_loop<false, true, true, false>(w, grad, buf, n, lr, wd, mom, keep);
        }
    } else if (nesterov) {
        if (decay) sgd_update_loop<true, true, false, true>(w, grad, buf, n, lr, wd, mom, keep);
        else sgd_update_loop<false, true, false, true>(w, grad, buf, n, lr, wd, mom, keep);
    } else {
        if (decay) sgd_update_loop<true, true, false, false>(w, grad, buf, n, lr, wd, mom, keep);
        else sgd_update_loop<false, true, false, false>(w, grad, buf, n, lr, wd, mom, keep);
    }
}

}  // namespace detail

/// Options of SGD (PyTorch's defaults: momentum 0, dampening 0, weight decay 0, no Nesterov; lr is required).
struct SGDOptions {
    /// Options with learning rate `lr`.
    explicit SGDOptions(double lr) : lr_(lr) {}
    STRATA_ARG(double, lr);
    STRATA_ARG(double, momentum) = 0.0;
    STRATA_ARG(double, dampening) = 0.0;
    STRATA_ARG(double, weight_decay) = 0.0;
    STRATA_ARG(bool, nesterov) = false;

public:
    /// Throws ArgumentError, naming the value, on a negative (or NaN) lr, momentum or weight decay, and on
    /// Nesterov without momentum or with dampening (PyTorch's checks).
    /// @throws ArgumentError on a negative (or NaN) lr, momentum or weight decay, or Nesterov without momentum or
    /// with dampening, naming the value.
    void validate() const {
        check<ArgumentError>(lr_ >= 0, "SGD: invalid learning rate: ", lr_);
        check<ArgumentError>(momentum_ >= 0, "SGD: invalid momentum value: ", momentum_);
        check<ArgumentError>(weight_decay_ >= 0, "SGD: invalid weight_decay value: ", weight_decay_);
        check<ArgumentError>(!nesterov_ || (momentum_ > 0 && dampening_ == 0),
                             "SGD: Nesterov momentum requires a momentum and zero dampening, got momentum ",
                             momentum_, " and dampening ", dampening_);
    }
};

/// Per-parameter state of SGD: the momentum buffer (only while momentum is non-zero) and how many steps have
/// updated it (0 means the next step initialises it with the gradient, as PyTorch's absent buffer).
template <class T>
struct SGDState {
    /// Velocity b_t, shape of the parameter.
    Tensor<T> momentum_buffer;
    /// Rank-0 count of steps that updated momentum_buffer.
    Tensor<T> momentum_steps;

    /// Creates the buffer and its counter when `options` has momentum.
    void ensure(const Shape& shape, const SGDOptions& options) {
        const bool needed = options.momentum() != 0;
        detail::ensure_state(momentum_buffer, shape, needed, "momentum_buffer");
        if (needed) detail::ensure_counter(momentum_steps);
    }
    /// Calls f(name, tensor) for each existing tensor.
    template <class F>
    void visit(F&& f) {
        if (!momentum_buffer.empty()) f("momentum_buffer", momentum_buffer);
        if (!momentum_steps.empty()) f("momentum_steps", momentum_steps);
    }
};

/// Stochastic gradient descent, per element (g the gradient, p the parameter, b the momentum buffer):
///   g += weight_decay * p;                                  (if weight_decay != 0)
///   b = first step ? g : momentum * b + (1 - dampening) * g; (if momentum != 0)
///   g = nesterov ? g + momentum * b : b;                    (if momentum != 0)
///   p -= lr * g.
template <class T>
class SGD : public Optimizer<T, SGDOptions, SGDState<T>> {
    using Base = Optimizer<T, SGDOptions, SGDState<T>>;

public:
    /// An SGD without groups (add them with add_param_group); throws ArgumentError on bad defaults.
    /// @throws ArgumentError on invalid defaults (see SGDOptions::validate).
    explicit SGD(const SGDOptions& defaults) : Base("SGD", defaults) {}
    /// An SGD over one group of `params`; throws ArgumentError on bad options or an empty list.
    /// @throws ArgumentError on invalid options, an empty list, a null or repeated parameter.
    SGD(std::vector<Parameter<T>*> params, const SGDOptions& options) : Base("SGD", std::move(params), options) {}

    bool has_momentum() const override { return true; }
    /// The momentum of group `group`.
    /// @throws ArgumentError when `group` does not exist.
    double momentum(std::size_t group) const override { return this->options(group).momentum(); }
    /// Sets the momentum of group `group` (the buffer is created at the next step if needed).
    /// @throws ArgumentError when `group` does not exist.
    void set_momentum(std::size_t group, double value) override { this->options(group).momentum(value); }

protected:
    void update(Parameter<T>& p, SGDState<T>& s, const SGDOptions& o) override {
        const T lr = static_cast<T>(o.lr()), wd = static_cast<T>(o.weight_decay());
        const T mom = static_cast<T>(o.momentum()), keep = static_cast<T>(1.0 - o.dampening());
        const bool decay = o.weight_decay() != 0, use_momentum = o.momentum() != 0, nesterov = o.nesterov();
        const bool first = use_momentum && s.momentum_steps[0] == T(0);
        T* w = p.value.data();
        const T* grad = p.grad().data();
        T* buf = use_momentum ? s.momentum_buffer.data() : nullptr;
        // Element-wise, so large parameters are shared out among the threads with the same result.
        strata::detail::parallel_split(p.numel(), strata::detail::elementwise_split_min, [&](index_t b, index_t e) {
            strata::detail::run_for_active_isa([&] {  // compiled for the CPU's ISA
                detail::sgd_update(decay, use_momentum, first, nesterov, w + b, grad + b, buf ? buf + b : nullptr,
                                   e - b, lr, wd, mom, keep);
            });
        });
        if (use_momentum) s.momentum_steps[0] += T(1);
    }
};

}  // namespace strata::optim
