#pragma once
/// @file
/// reshape(x, shape) and flatten(x): the same elements in row-major order under a new shape. The output
/// shares x's value memory (no copy); its gradient is a buffer of its own that backward adds into x's.

#include "strata/autograd/tape.hpp"

namespace strata {
namespace detail {

/// A new Var on x's tape whose value is x's value memory viewed with `shape` (same numel). Its gradient, if
/// any, is allocated separately on first use like any other Var's.
/// Records the backward of a reshape-like op: x's gradient receives out's gradient element by element.
template <class T>
void record_reshape(const char* name, const Var<T>& x, const Var<T>& out) {
    x.tape().record(name, out, [x, out] { x.grad().array() += out.grad().array(); });
}

}  // namespace detail

/// x's elements in row-major order viewed with `shape` (no copy: the output shares x's value memory).
/// Throws ShapeError naming both shapes when their element counts differ.
/// @throws ShapeError when the element counts differ, naming both shapes.
/// @throws LifetimeError when an input Var is undefined or from before its tape's last rewind.
/// @throws NumericError in anomaly mode (Tape::set_detect_anomaly) when the output holds a NaN or infinity.
template <class T>
Var<T> reshape(const Var<T>& x, const Shape& shape) {
    check<ShapeError>(shape.numel() == x.numel(), "reshape: cannot reshape shape ", x.shape(), " (", x.numel(),
                      " elements) to shape ", shape, " (", shape.numel(), " elements)");
    Var<T> out = x.tape().alias(x, shape, x.tape().needs_grad(x));
    if (out.requires_grad()) detail::record_reshape("reshape", x, out);
    return out;
}

/// x of shape [N, d1, ..., dk] viewed as [N, d1*...*dk] (a rank-1 [N] becomes [N, 1]); no copy, like
/// reshape(). Throws ShapeError for a rank-0 x.
/// @throws ShapeError when x has rank 0.
/// @throws LifetimeError when an input Var is undefined or from before its tape's last rewind.
/// @throws NumericError in anomaly mode (Tape::set_detect_anomaly) when the output holds a NaN or infinity.
template <class T>
Var<T> flatten(const Var<T>& x) {
    const Shape& in = x.shape();
    check<ShapeError>(in.rank() >= 1, "flatten: needs at least one dimension (the batch), got shape ", in);
    index_t cols = 1;
    for (int i = 1; i < in.rank(); ++i) cols *= in[i];
    Var<T> out = x.tape().alias(x, Shape{in[0], cols}, x.tape().needs_grad(x));
    if (out.requires_grad()) detail::record_reshape("flatten", x, out);
    return out;
}

}  // namespace strata
