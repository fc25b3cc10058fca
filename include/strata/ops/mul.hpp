#pragma once
/// @file
/// mul(a, b) = a * b, elementwise (Hadamard) with NumPy broadcasting (like add).

#include "strata/autograd/tape.hpp"
#include "strata/ops/detail/broadcast.hpp"

namespace strata {

/// Elementwise a * b with NumPy broadcasting: shapes are aligned from the right and each pair of dimensions
/// must be equal or one of them 1; the output has the broadcast shape. Backward: da += dout * b and
/// db += dout * a, the gradient of a broadcast operand summed over its repeats. Throws ShapeError naming both
/// shapes when they cannot be broadcast together, ArgumentError when a and b live on different tapes.
/// @throws ShapeError when the shapes cannot be broadcast together, naming both.
/// @throws ArgumentError when the operands live on different tapes.
/// @throws LifetimeError when an input Var is undefined or from before its tape's last rewind.
/// @throws NumericError in anomaly mode (Tape::set_detect_anomaly) when the output holds a NaN or infinity.
template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b) {
    check_same_tape(a, b, "mul");
    Tape& tape = a.tape();
    const bool grad = tape.needs_grad(a, b);
    if (a.shape() == b.shape()) {
        Var<T> out = tape.make_output<T>(a.shape(), grad);
        out.mutable_value().array() = a.value().array() * b.value().array();
        if (grad)
            tape.record("mul", out, [a, b, out] {
                if (a.requires_grad()) a.grad().array() += out.grad().array() * b.value().array();
                if (b.requires_grad()) b.grad().array() += out.grad().array() * a.value().array();
            });
        return out;
    }
    const detail::Broadcast plan(a.shape(), b.shape(), "mul");
    Var<T> out = tape.make_output<T>(plan.out, grad);
    {
        const T *pa = a.value().data(), *pb = b.value().data();
        T* po = out.mutable_value().data();
        plan.for_each([&](index_t o, index_t i, index_t j) { po[o] = pa[i] * pb[j]; });
    }
    if (grad)
        tape.record("mul", out, [a, b, out, plan] {
            const T* g = out.grad().data();
            const T *pa = a.value().data(), *pb = b.value().data();
            T* ga = a.requires_grad() ? a.grad().data() : nullptr;
            T* gb = b.requires_grad() ? b.grad().data() : nullptr;
            plan.for_each([&](index_t o, index_t i, index_t j) {
                if (ga) ga[i] += g[o] * pb[j];
                if (gb) gb[j] += g[o] * pa[i];
            });
        });
    return out;
}

/// a * b elementwise (see mul()); for a matrix product use matmul().
/// @throws what mul() throws.
template <class T>
Var<T> operator*(const Var<T>& a, const Var<T>& b) {
    return mul(a, b);
}

}  // namespace strata
