#pragma once
/// @file
/// add(a, b) = a + b, elementwise with NumPy broadcasting (a bias [C] or [1,C,1,1] onto [N,C,H,W]).

#include <algorithm>

#include "strata/autograd/tape.hpp"
#include "strata/core/cpu_features.hpp"
#include "strata/core/parallel.hpp"
#include "strata/core/simd_loop.hpp"
#include "strata/ops/detail/broadcast.hpp"

namespace strata {

namespace detail {

// Pointers as parameters, not captured by reference (see relu.hpp's loops): the loops vectorise.

/// out[i] = a[i] + b[i]; `out` overlaps neither input.
template <class T>
inline void add_loop(const T* a, const T* b, T* out, index_t n) {
    simd_loop(n, [a, b, out](index_t i) { out[i] = a[i] + b[i]; });
}

/// acc[i] += g[i]; `acc` does not overlap `g`.
template <class T>
inline void accumulate_loop(const T* g, T* acc, index_t n) {
    simd_loop(n, [g, acc](index_t i) { acc[i] += g[i]; });
}

}  // namespace detail

/// Elementwise a + b with broadcasting; the gradient of a broadcast operand is summed over its repeats.
/// Throws ShapeError when the shapes cannot be broadcast together.
/// @throws ShapeError when the shapes cannot be broadcast together, naming both.
/// @throws ArgumentError when the operands live on different tapes.
/// @throws LifetimeError when an input Var is undefined or from before its tape's last rewind.
/// @throws NumericError in anomaly mode (Tape::set_detect_anomaly) when the output holds a NaN or infinity.
template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b) {
    check_same_tape(a, b, "add");
    Tape& tape = a.tape();
    const bool grad = tape.needs_grad(a, b);
    if (a.shape() == b.shape()) {
        Var<T> out = tape.make_output<T>(a.shape(), grad);
        {
            const T *pa = a.value().data(), *pb = b.value().data();
            T* po = out.mutable_value().data();
            detail::parallel_split(out.numel(), detail::elementwise_split_min, [pa, pb, po](index_t i, index_t e) {
                detail::run_for_active_isa([&] { detail::add_loop(pa + i, pb + i, po + i, e - i); });
            });
        }
        if (grad)
            tape.record("add", out, [a, b, out] {
                const T* g = out.grad().data();
                const index_t n = out.numel();
                for (const Var<T>* operand : {&a, &b}) {
                    if (!operand->requires_grad()) continue;
                    bool fresh = false;
                    T* d = operand->grad_for_write(fresh).data();
                    detail::parallel_split(n, detail::elementwise_split_min, [g, d, fresh](index_t i, index_t e) {
                        if (fresh) std::copy(g + i, g + e, d + i);  // the first gradient to reach the operand
                        else detail::run_for_active_isa([&] { detail::accumulate_loop(g + i, d + i, e - i); });
                    });
                }
            });
        return out;
    }
    const detail::Broadcast plan(a.shape(), b.shape(), "add");
    Var<T> out = tape.make_output<T>(plan.out, grad);
    {
        const T *pa = a.value().data(), *pb = b.value().data();
        T* po = out.mutable_value().data();
        plan.for_each([&](index_t o, index_t i, index_t j) { po[o] = pa[i] + pb[j]; });
    }
    if (grad)
        tape.record("add", out, [a, b, out, plan] {
            const T* g = out.grad().data();
            T* ga = a.requires_grad() ? a.grad().data() : nullptr;
            T* gb = b.requires_grad() ? b.grad().data() : nullptr;
            plan.for_each([&](index_t o, index_t i, index_t j) {
                if (ga) ga[i] += g[o];
                if (gb) gb[j] += g[o];
            });
        });
    return out;
}

/// a + b.
/// @throws what add() throws.
template <class T>
Var<T> operator+(const Var<T>& a, const Var<T>& b) {
    return add(a, b);
}

}  // namespace strata
