#pragma once
/// @file
/// relu(x) = max(x, 0), elementwise.

#include "strata/autograd/tape.hpp"
#include "strata/core/cpu_features.hpp"
#include "strata/core/parallel.hpp"
#include "strata/core/simd_loop.hpp"

namespace strata {

namespace detail {

// The loops take their pointers as parameters: inside a lambda that captures by reference, every access to a
// captured pointer reloads it through the closure (a store to the output might have changed it), and the
// loop stays scalar. simd_loop keeps them vectorised at -O2 too.

/// y[i] = max(x[i], 0); a NaN stays NaN.
template <class T>
inline void relu_forward_loop(const T* x, T* y, index_t n) {
    simd_loop(n, [x, y](index_t i) {
        const T v = x[i];
        y[i] = v < T(0) ? T(0) : v;
    });
}

/// dx[i] += dy[i] where x[i] > 0 (or, with `overwrite`, dx[i] = that term: dx holds no gradient yet).
template <class T>
inline void relu_backward_loop(const T* x, const T* dy, T* dx, index_t n, bool overwrite) {
    // dy is loaded whatever x is, so the select needs no masked load (GCC's -O2 model refuses those).
    if (overwrite)
        simd_loop(n, [x, dy, dx](index_t i) {
            const T g = dy[i];
            dx[i] = x[i] > T(0) ? g : T(0);
        });
    else
        simd_loop(n, [x, dy, dx](index_t i) {
            const T g = dy[i];
            dx[i] += x[i] > T(0) ? g : T(0);
        });
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
        detail::parallel_split(x.numel(), detail::elementwise_split_min, [px, py](index_t b, index_t e) {
            detail::run_for_active_isa([&] { detail::relu_forward_loop(px + b, py + b, e - b); });
        });
    }
    if (out.requires_grad())
        tape.record("relu", out, [x, out] {
            const T* px = x.value().data();
            const T* dy = out.grad().data();
            bool fresh = false;
            T* dx = x.grad_for_write(fresh).data();
            detail::parallel_split(x.numel(), detail::elementwise_split_min, [px, dy, dx, fresh](index_t b, index_t e) {
                detail::run_for_active_isa([&] { detail::relu_backward_loop(px + b, dy + b, dx + b, e - b, fresh); });
            });
        });
    return out;
}

}  // namespace strata
