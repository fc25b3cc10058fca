#pragma once
/// @file
/// Parameter<T>: a trainable tensor with its gradient. Parameters live outside the tape's arena; when a
/// forward pass uses one (Tape::parameter), backward accumulates straight into its `grad`.

#include <algorithm>

#include "strata/core/parallel.hpp"
#include "strata/core/tensor.hpp"

namespace strata {

/// A trainable tensor and the gradient that backward accumulates into (until zero_grad()).
template <class T>
struct Parameter {
    /// The current value.
    Tensor<T> value;
    /// The accumulated gradient, same shape as value.
    Tensor<T> grad;
    /// When false, forward passes treat the parameter as a constant (frozen).
    bool requires_grad = true;

    Parameter() = default;
    /// A parameter holding `initial` with a zero gradient.
    explicit Parameter(Tensor<T> initial) : value(std::move(initial)), grad(value.shape()) {}

    /// Sets the gradient to zero (a large one on all the available threads).
    void zero_grad() {
        T* g = grad.data();
        detail::parallel_split(grad.numel(), detail::elementwise_split_min,
                                [g](index_t b, index_t e) { std::fill(g + b, g + e, T(0)); });
    }
    const Shape& shape() const { return value.shape(); }
    index_t numel() const { return value.numel(); }
};

}  // namespace strata
