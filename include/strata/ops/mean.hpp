#pragma once
/// @file
/// mean(x): the mean of all elements, as a rank-0 scalar.

#include "strata/autograd/tape.hpp"

namespace strata {

/// The mean of all elements of x as a rank-0 value (Shape{}, one element). Backward: every element of x
/// receives dout / numel. Throws ShapeError naming the shape when x has no elements.
/// @throws ShapeError when x has no elements, naming its shape.
/// @throws LifetimeError when an input Var is undefined or from before its tape's last rewind.
/// @throws NumericError in anomaly mode (Tape::set_detect_anomaly) when the output holds a NaN or infinity.
template <class T>
Var<T> mean(const Var<T>& x) {
    const index_t n = x.numel();
    check<ShapeError>(n > 0, "mean: input of shape ", x.shape(), " has no elements");
    Tape& tape = x.tape();
    Var<T> out = tape.make_output<T>(Shape{}, tape.needs_grad(x));
    out.mutable_value()[0] = x.value().array().sum() / static_cast<T>(n);
    if (out.requires_grad())
        tape.record("mean", out, [x, out, n] {
            const T g = out.grad()[0] / static_cast<T>(n);
            x.grad().array() += g;
        });
    return out;
}

}  // namespace strata
