#pragma once
/// @file
/// scale(x, factor) = factor * x for a constant scalar factor.

#include "strata/autograd/tape.hpp"
#include "strata/core/cpu_features.hpp"

namespace strata {

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
        detail::run_for_active_isa([&] {  // a plain loop, vectorised for the CPU's ISA
            for (index_t i = 0; i < n; ++i) py[i] = px[i] * factor;
        });
    }
    if (out.requires_grad())
        tape.record("scale", out, [x, out, factor] {
            const T* dy = out.grad().data();
            T* dx = x.grad().data();
            const index_t n = x.numel();
            detail::run_for_active_isa([&] {
                for (index_t i = 0; i < n; ++i) dx[i] += dy[i] * factor;
            });
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
