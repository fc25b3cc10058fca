#pragma once
/// @file
/// scale(x, factor) = factor * x for a constant scalar factor.

#include "strata/autograd/tape.hpp"
#include "strata/core/cpu_features.hpp"

namespace strata {

namespace detail {

// Pointers as parameters, not captured by reference (see relu.hpp's loops): the loops vectorise.

/// y[i] = x[i] * factor; `y` does not overlap `x`.
template <class T>
inline void scale_loop(const T* x, T factor, T* __restrict y, index_t n) {
    for (index_t i = 0; i < n; ++i) y[i] = x[i] * factor;
}

/// dx[i] += dy[i] * factor; `dx` does not overlap `dy`.
template <class T>
inline void scale_accumulate_loop(const T* dy, T factor, T* __restrict dx, index_t n) {
    for (index_t i = 0; i < n; ++i) dx[i] += dy[i] * factor;
}

}  // namespace detail

/// Elementwise factor * x, same shape as x; `factor` is a constant (it receives no gradient).
/// Backward: dx += factor * dout.
/// @throws LifetimeError when an input Var is undefined or from before its tape's last rewind.
/// @throws NumericError in anomaly mode (Tape::set_detect_anomaly) when the output holds a NaN or infinity.
template <class T>
Var<T> scale(const Var<T>& x, detail::identity_t<T> factor) {
    Tape& tape = x.tape();
    Var<T> out = tape.make_output<T>(x.shape(), tape.needs_grad(x));
    {
        const T* px = x.value().data();
        T* py = out.mutable_value().data();
        const index_t n = x.numel();
        detail::run_for_active_isa([&] { detail::scale_loop(px, factor, py, n); });
    }
    if (out.requires_grad())
        tape.record("scale", out, [x, out, factor] {
            const T* dy = out.grad().data();
            T* dx = x.grad().data();
            const index_t n = x.numel();
            detail::run_for_active_isa([&] { detail::scale_accumulate_loop(dy, factor, dx, n); });
        });
    return out;
}

/// factor * x (see scale()).
/// @throws what scale() throws.
template <class T>
Var<T> operator*(detail::identity_t<T> factor, const Var<T>& x) {
    return scale(x, factor);
}

/// x * factor (see scale()).
/// @throws what scale() throws.
template <class T>
Var<T> operator*(const Var<T>& x, detail::identity_t<T> factor) {
    return scale(x, factor);
}

}  // namespace strata
