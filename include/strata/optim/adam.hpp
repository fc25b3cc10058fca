#pragma once
/// @file
/// Adam<T> and AdamW<T>, with the update rules of torch.optim.Adam and torch.optim.AdamW (PyTorch 1.13,
/// single-tensor implementation): bias-corrected moments, optional AMSGrad; Adam adds L2 weight decay to the
/// gradient, AdamW decays the parameter directly (decoupled weight decay).

#include <cmath>
#include <utility>

#include "strata/core/cpu_features.hpp"
#include "strata/core/options.hpp"
#include "strata/core/parallel.hpp"
#include "strata/core/simd_loop.hpp"
#include "strata/optim/optimizer.hpp"

namespace strata::optim {

/// Adam's (beta1, beta2): the decay rates of the first and second moment averages.
using AdamBetas = std::pair<double, double>;

namespace detail {
/// Adam's and AdamW's option checks (PyTorch's), with messages naming `who` and the value.
template <class O>
void validate_adam(const O& o, const char* who) {
    check<ArgumentError>(o.lr() >= 0, who, ": invalid learning rate: ", o.lr());
    check<ArgumentError>(o.eps() >= 0, who, ": invalid epsilon value: ", o.eps());
    check<ArgumentError>(o.betas().first >= 0 && o.betas().first < 1, who,
                         ": invalid beta parameter at index 0: ", o.betas().first, " (must be in [0, 1))");
    check<ArgumentError>(o.betas().second >= 0 && o.betas().second < 1, who,
                         ": invalid beta parameter at index 1: ", o.betas().second, " (must be in [0, 1))");
    check<ArgumentError>(o.weight_decay() >= 0, who, ": invalid weight_decay value: ", o.weight_decay());
}
}  // namespace detail

/// Options of Adam (PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0, no AMSGrad).
struct AdamOptions {
    /// Options with learning rate `lr`.
    explicit AdamOptions(double lr = 1e-3) : lr_(lr) {}
    STRATA_ARG(double, lr);
    STRATA_ARG(AdamBetas, betas) = AdamBetas(0.9, 0.999);
    STRATA_ARG(double, eps) = 1e-8;
    STRATA_ARG(double, weight_decay) = 0.0;
    STRATA_ARG(bool, amsgrad) = false;

public:
    /// Throws ArgumentError naming the value on a negative lr, eps or weight decay or a beta outside [0, 1).
    /// @throws ArgumentError on a negative (or NaN) lr, eps or weight decay or a beta outside [0, 1), naming it.
    void validate() const { detail::validate_adam(*this, "Adam"); }
};

/// Options of AdamW (PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 1e-2, no AMSGrad).
struct AdamWOptions {
    /// Options with learning rate `lr`.
    explicit AdamWOptions(double lr = 1e-3) : lr_(lr) {}
    STRATA_ARG(double, lr);
    STRATA_ARG(AdamBetas, betas) = AdamBetas(0.9, 0.999);
    STRATA_ARG(double, eps) = 1e-8;
    STRATA_ARG(double, weight_decay) = 1e-2;
    STRATA_ARG(bool, amsgrad) = false;

public:
    /// Throws ArgumentError naming the value on a negative lr, eps or weight decay or a beta outside [0, 1).
    /// @throws ArgumentError on a negative (or NaN) lr, eps or weight decay or a beta outside [0, 1), naming it.
    void validate() const { detail::validate_adam(*this, "AdamW"); }
};

/// Per-parameter state of Adam and AdamW (PyTorch's names): the step count and the moment averages.
template <class T>
struct AdamState {
    /// Rank-0 number of steps taken.
    Tensor<T> step;
    /// First moment average m_t.
    Tensor<T> exp_avg;
    /// Second moment average v_t.
    Tensor<T> exp_avg_sq;
    /// Running maximum of v_t (AMSGrad only).
    Tensor<T> max_exp_avg_sq;

    /// Creates the tensors `options` needs (max_exp_avg_sq only with amsgrad).
    template <class O>
    void ensure(const Shape& shape, const O& options) {
        detail::ensure_counter(step);
        detail::ensure_state(exp_avg, shape, true, "exp_avg");
        detail::ensure_state(exp_avg_sq, shape, true, "exp_avg_sq");
        detail::ensure_state(max_exp_avg_sq, shape, options.amsgrad(), "max_exp_avg_sq");
    }
    /// Calls f(name, tensor) for each existing tensor.
    template <class F>
    void visit(F&& f) {
        f("step", step);
        f("exp_avg", exp_avg);
        f("exp_avg_sq", exp_avg_sq);
        if (!max_exp_avg_sq.empty()) f("max_exp_avg_sq", max_exp_avg_sq);
    }
};

namespace detail {

/// The constants of one Adam step, in the parameter's type.
template <class T>
struct AdamStepConstants {
    T b1, b2, keep1, keep2, neg_step_size, bc2_sqrt, eps, wd, shrink;
};

/// Adam's update of `n` weights with the variant fixed at compile time (one branch-free loop per combination,
/// vectorised): AdamW's decoupled decay, Adam's L2 decay, AMSGrad.
template <bool Decoupled, bool L2, bool AmsGrad, class T>
inline void adam_update_loop(T* w, const T* grad, T* m, T* v, T* vmax, index_t n, AdamStepConstants<T> c) {
    // w[i] is read by both halves and written only by the second.
    auto decayed = [=](index_t i) { return Decoupled ? w[i] * c.shrink : w[i]; };
    strata::detail::simd_loop_sqrt(
        n,
        [=](index_t i) {
            const T g = L2 ? grad[i] + c.wd * decayed(i) : grad[i];
            m[i] = m[i] * c.b1 + c.keep1 * g;
            const T vi = v[i] * c.b2 + c.keep2 * g * g;
            v[i] = vi;
            if constexpr (AmsGrad) {
                const T second = vmax[i] < vi ? vi : vmax[i];  // std::max(vmax, v)
                vmax[i] = second;
                return second;
            }
            return vi;
        },
        [=](index_t i, T root) {
            const T denom = root / c.bc2_sqrt + c.eps;
            w[i] = decayed(i) + c.neg_step_size * m[i] / denom;
        });
}

/// adam_update_loop with the variant chosen at run time.
template <class T>
inline void adam_update_range(bool decoupled, bool l2, bool amsgrad, T* w, const T* grad, T* m, T* v, T* vmax,
                              index_t n, const AdamStepConstants<T>& c) {
    if (decoupled) {
        if (amsgrad) adam_update_loop<true, false, true>(w, grad, m, v, vmax, n, c);
        else adam_update_loop<true, false, false>(w, grad, m, v, vmax, n, c);
    } else if (l2) {
        if (amsgrad) adam_update_loop<false, true, true>(w, grad, m, v, vmax, n, c);
        else adam_update_loop<false, true, false>(w, grad, m, v, vmax, n, c);
    } else {
        if (amsgrad) adam_update_loop<false, false, true>(w, grad, m, v, vmax, n, c);
        else adam_update_loop<false, false, false>(w, grad, m, v, vmax, n, c);
    }
}

/// One Adam (decoupled = false) or AdamW (decoupled = true) step, per element:
///   t += 1;  AdamW: p *= 1 - lr * weight_decay;  Adam: g += weight_decay * p;
///   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;  AMSGrad: vmax = max(vmax, v), v := vmax;
///   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
/// Large parameters are shared out among the threads (element-wise, so the result does not depend on their
/// number); the loop is compiled for the CPU's instruction set.
template <class T, class O>
void adam_update(Parameter<T>& p, AdamState<T>& s, const O& o, bool decoupled) {
    s.step[0] += T(1);
    const double step = static_cast<double>(s.step[0]);
    const double beta1 = o.betas().first, beta2 = o.betas().second;
    AdamStepConstants<T> c;
    c.b1 = static_cast<T>(beta1);
    c.b2 = static_cast<T>(beta2);
    c.keep1 = static_cast<T>(1 - beta1);
    c.keep2 = static_cast<T>(1 - beta2);
    c.neg_step_size = static_cast<T>(-(o.lr() / (1 - std::pow(beta1, step))));
    c.bc2_sqrt = static_cast<T>(std::sqrt(1 - std::pow(beta2, step)));
    c.eps = static_cast<T>(o.eps());
    c.wd = static_cast<T>(o.weight_decay());
    c.shrink = static_cast<T>(1 - o.lr() * o.weight_decay());
    const bool l2 = !decoupled && o.weight_decay() != 0, amsgrad = o.amsgrad();
    T* w = p.value.data();
    const T* grad = p.grad().data();
    T* m = s.exp_avg.data();
    T* v = s.exp_avg_sq.data();
    T* vmax = amsgrad ? s.max_exp_avg_sq.data() : nullptr;
    strata::detail::parallel_split(p.numel(), strata::detail::elementwise_split_min, [&](index_t b, index_t e) {
        strata::detail::run_for_active_isa([&] {
            adam_update_range(decoupled, l2, amsgrad, w + b, grad + b, m + b, v + b, vmax ? vmax + b : nullptr, e - b,
                              c);
        });
    });
}

}  // namespace detail

namespace detail {

/// What Adam and AdamW share: the group loop, beta1 as the momentum that one-cycle drives, and the update
/// (`decoupled` picks AdamW's weight decay).
template <class T, class Options, bool decoupled>
class AdamFamily : public Optimizer<T, Options, AdamState<T>> {
    using Base = Optimizer<T, Options, AdamState<T>>;

public:
    bool has_momentum() const override { return true; }
    /// beta1 of group `group` (what one-cycle momentum cycling drives).
    /// @throws ArgumentError when `group` does not exist.
    double momentum(std::size_t group) const override { return this->options(group).betas().first; }
    /// Sets beta1 of group `group`.
    /// @throws ArgumentError when `group` does not exist.
    void set_momentum(std::size_t group, double value) override {
        auto& o = this->options(group);
        o.betas(AdamBetas(value, o.betas().second));
    }

protected:
    explicit AdamFamily(const char* name, const Options& defaults) : Base(name, defaults) {}
    AdamFamily(const char* name, std::vector<Parameter<T>*> params, const Options& options)
        : Base(name, std::move(params), options) {}

    void update(Parameter<T>& p, AdamState<T>& s, const Options& o) override { adam_update(p, s, o, decoupled); }
};

}  // namespace detail

/// Adam with optional L2 weight decay (added to the gradient) and AMSGrad, as torch.optim.Adam.
template <class T>
class Adam : public detail::AdamFamily<T, AdamOptions, false> {
public:
    /// An Adam without groups (add them with add_param_group); throws ArgumentError on bad defaults.
    /// @throws ArgumentError on invalid defaults (see AdamOptions::validate).
    explicit Adam(const AdamOptions& defaults = AdamOptions()) : detail::AdamFamily<T, AdamOptions, false>("Adam", defaults) {}
    /// An Adam over one group of `params`; throws ArgumentError on bad options or an empty list.
    /// @throws ArgumentError on invalid options, an empty list, a null or repeated parameter.
    Adam(std::vector<Parameter<T>*> params, const AdamOptions& options = AdamOptions())
        : detail::AdamFamily<T, AdamOptions, false>("Adam", std::move(params), options) {}
};

/// Adam with decoupled weight decay (p *= 1 - lr * weight_decay before the Adam step), as torch.optim.AdamW.
template <class T>
class AdamW : public detail::AdamFamily<T, AdamWOptions, true> {
public:
    /// An AdamW without groups (add them with add_param_group); throws ArgumentError on bad defaults.
    /// @throws ArgumentError on invalid defaults (see AdamWOptions::validate).
    explicit AdamW(const AdamWOptions& defaults = AdamWOptions())
        : detail::AdamFamily<T, AdamWOptions, true>("AdamW", defaults) {}
    /// An AdamW over one group of `params`; throws ArgumentError on bad options or an empty list.
    /// @throws ArgumentError on invalid options, an empty list, a null or repeated parameter.
    AdamW(std::vector<Parameter<T>*> params, const AdamWOptions& options = AdamWOptions())
        : detail::AdamFamily<T, AdamWOptions, true>("AdamW", std::move(params), options) {}
};

}  // namespace strata::optim
