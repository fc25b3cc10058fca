#pragma once
/// @file
/// sum(x): the sum of all elements, as a rank-0 scalar.

#include "strata/autograd/tape.hpp"

namespace strata {

/// The sum of all elements of x as a rank-0 value (Shape{}, one element); 0 for an empty x.
/// Backward: every element of x receives dout.
/// @throws LifetimeError when an input Var is undefined or from before its tape's last rewind.
/// @throws NumericError in anomaly mode (Tape::set_detect_anomaly) when the output holds a NaN or infinity.
template <class T>
Var<T> sum(const Var<T>& x) {
    Tape& tape = x.tape();
    Var<T> out = tape.make_output<T>(Shape{}, tape.needs_grad(x));
    out.mutable_value()[0] = x.value().array().sum();
    if (out.requires_grad())
        tape.record("sum", out, [x, out] {
            const T g = out.grad()[0];
            x.grad().array() += g;
        });
    return out;
}

}  // namespace strata
