#pragma once
/// @file
/// relu(x) = max(x, 0), elementwise.

#include "strata/autograd/tape.hpp"
#include "strata/core/cpu_features.hpp"

namespace strata {

namespace detail {

// The loops take their pointers as parameters: inside a lambda that captures by reference, every access to a
// captured pointer reloads it through the closure (a store to the output might have changed it), and the
// loop stays scalar. __restrict: the output never overlaps the inputs (distinct tensors of the tape).

/// y[i] = max(x[i], 0); a NaN stays NaN.
template <class T>
inline void relu_forward_loop(const T* x, T* __restrict y, index_t n) {
    for (index_t i = 0; i < n; ++i) y[i] = x[i] < T(0) ? T(0) : x[i];
}

/// dx[i] += dy[i] where x[i] > 0 (or, with `overwrite`, dx[i] = that term: dx holds no gradient yet).
template <class T>
inline void relu_backward_loop(const T* x, const T* dy, T* __restrict dx, index_t n, bool overwrite) {
    if (overwrite)
        for (index_t i = 0; i < n; ++i) dx[i] = x[i] > T(0) ? dy[i] : T(0);
    else
        for (index_t i = 0; i < n; ++i) dx[i] += x[i] > T(0) ? dy[i] : T(0);
}

}  // namespace detail

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
        detail::run_for_active_isa([&] { detail::relu_forward_loop(px, py, n); });
    }
    if (out.requires_grad())
        tape.record("relu", out, [x, out] {
            const T* px = x.value().data();
            const T* dy = out.grad().data();
            bool fresh = false;
            T* dx = x.grad_for_write(fresh).data();
            const index_t n = x.numel();
            detail::run_for_active_isa([&] { detail::relu_backward_loop(px, dy, dx, n, fresh); });
        });
    return out;
}

}  // namespace strata
