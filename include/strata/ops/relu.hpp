#pragma once
/// @file
/// relu(x) = max(x, 0), elementwise.

#include "strata/autograd/tape.hpp"
#include "strata/core/cpu_features.hpp"

namespace strata {

/// Elementwise max(x, 0), same shape as x. Backward passes dout where x > 0 and 0 elsewhere (the gradient at
/// x == 0 is 0, as in PyTorch).
template <class T>
Var<T> relu(const Var<T>& x) {
    Tape& tape = x.tape();
    Var<T> out = tape.make_output<T>(x.shape(), tape.needs_grad(x));
    {
        const T* px = x.value().data();
        T* py = out.mutable_value().data();
        const index_t n = x.numel();
        detail::run_for_active_isa([&] {  // plain loops, vectorised for the CPU's ISA
            for (index_t i = 0; i < n; ++i) py[i] = px[i] < T(0) ? T(0) : px[i];  // NaN stays NaN
        });
    }
    if (out.requires_grad())
        tape.record("relu", out, [x, out] {
            const T* px = x.value().data();
            const T* dy = out.grad().data();
            T* dx = x.grad().data();
            const index_t n = x.numel();
            detail::run_for_active_isa([&] {
                for (index_t i = 0; i < n; ++i) dx[i] += px[i] > T(0) ? dy[i] : T(0);
            });
        });
    return out;
}

}  // namespace strata
