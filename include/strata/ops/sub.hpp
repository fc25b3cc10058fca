#pragma once
/// @file
/// sub(a, b) = a - b, elementwise with NumPy broadcasting (like add), and neg(x) = -x.

#include "strata/autograd/tape.hpp"
#include "strata/ops/detail/broadcast.hpp"

namespace strata {

/// Elementwise a - b with NumPy broadcasting: shapes are aligned from the right and each pair of dimensions
/// must be equal or one of them 1; the output has the broadcast shape. The gradient of a broadcast operand is
/// summed over its repeats (b receives the negated sum). Throws ShapeError naming both shapes when they cannot
/// be broadcast together, ArgumentError when a and b live on different tapes.
/// @throws ShapeError when the shapes cannot be broadcast together, naming both.
/// @throws ArgumentError when the operands live on different tapes.
/// @throws LifetimeError when an input Var is undefined or from before its tape's last rewind.
/// @throws NumericError in anomaly mode (Tape::set_detect_anomaly) when the output holds a NaN or infinity.
template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b) {
    check_same_tape(a, b, "sub");
    Tape& tape = a.tape();
    const bool grad = tape.needs_grad(a, b);
    if (a.shape() == b.shape()) {
        Var<T> out = tape.make_output<T>(a.shape(), grad);
        out.mutable_value().array() = a.value().array() - b.value().array();
        if (grad)
            tape.record("sub", out, [a, b, out] {
                if (a.requires_grad()) a.grad().array() += out.grad().array();
                if (b.requires_grad()) b.grad().array() -= out.grad().array();
            });
        return out;
    }
    const detail::Broadcast plan(a.shape(), b.shape(), "sub");
    Var<T> out = tape.make_output<T>(plan.out, grad);
    {
        const T *pa = a.value().data(), *pb = b.value().data();
        T* po = out.mutable_value().data();
        plan.for_each([&](index_t o, index_t i, index_t j) { po[o] = pa[i] - pb[j]; });
    }
    if (grad)
        tape.record("sub", out, [a, b, out, plan] {
            const T* g = out.grad().data();
            T* ga = a.requires_grad() ? a.grad().data() : nullptr;
            T* gb = b.requires_grad() ? b.grad().data() : nullptr;
            plan.for_each([&](index_t o, index_t i, index_t j) {
                if (ga) ga[i] += g[o];
                if (gb) gb[j] -= g[o];
            });
        });
    return out;
}

/// a - b (see sub()).
/// @throws what sub() throws.
template <class T>
Var<T> operator-(const Var<T>& a, const Var<T>& b) {
    return sub(a, b);
}

/// Elementwise -x, same shape as x.
/// @throws LifetimeError when an input Var is undefined or from before its tape's last rewind.
/// @throws NumericError in anomaly mode (Tape::set_detect_anomaly) when the output holds a NaN or infinity.
template <class T>
Var<T> neg(const Var<T>& x) {
    Tape& tape = x.tape();
    Var<T> out = tape.make_output<T>(x.shape(), tape.needs_grad(x));
    out.mutable_value().array() = -x.value().array();
    if (out.requires_grad()) tape.record("neg", out, [x, out] { x.grad().array() -= out.grad().array(); });
    return out;
}

/// -x (see neg()).
/// @throws what neg() throws.
template <class T>
Var<T> operator-(const Var<T>& x) {
    return neg(x);
}

}  // namespace strata
