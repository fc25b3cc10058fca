#pragma once
/// @file
/// Parameter<T>: a trainable tensor with its gradient. Parameters live outside the tape's arena; when a
/// forward pass uses one (Tape::parameter), backward accumulates straight into its gradient.

#include <algorithm>

#include "strata/core/parallel.hpp"
#include "strata/core/tensor.hpp"

namespace strata {

class Tape;

/// A trainable tensor and the gradient that backward accumulates into (until zero_grad()).
///
/// zero_grad() only marks the gradient as cleared; the first reader or writer settles it. Backward's first
/// write to a cleared gradient overwrites it (so a training step streams no separate pass of zeros over the
/// weights), and grad() fills it with zeros first when nothing wrote it since. Either way every read through
/// grad() sees what PyTorch's zero_grad(set_to_none=False) would leave. Because the first read may write (the
/// zero-fill), two threads must not make the first read of a cleared gradient at once (threads that only serve
/// from a model never read gradients).
template <class T>
class Parameter {
public:
    /// The current value.
    Tensor<T> value;
    /// When false, forward passes treat the parameter as a constant (frozen).
    bool requires_grad = true;

    Parameter() = default;
    /// A parameter holding `initial` with a zero gradient.
    explicit Parameter(Tensor<T> initial) : value(std::move(initial)), grad_(value.shape()) {}

    /// The accumulated gradient, same shape as value (zero-filled first when zero_grad() deferred the clearing).
    /// The reference stays valid until the gradient is assigned a new tensor.
    Tensor<T>& grad() {
        settle();
        return grad_;
    }
    /// The accumulated gradient (zero-filled first when zero_grad() deferred the clearing).
    const Tensor<T>& grad() const {
        settle();
        return grad_;
    }
    /// Clears the gradient: the next backward's first write overwrites it, and grad() reads zeros until then.
    void zero_grad() { cleared_ = true; }
    /// Whether zero_grad() was called and nothing has written the gradient since (its memory is stale).
    bool grad_cleared() const { return cleared_; }
    const Shape& shape() const { return value.shape(); }
    index_t numel() const { return value.numel(); }

private:
    friend class Tape;
    template <class>
    friend class Var;
    /// For backward's first write (Var::grad_for_write): whether the gradient was cleared, marking it written.
    bool take_cleared() const {
        const bool was = cleared_;
        cleared_ = false;
        return was;
    }
    /// Fills a cleared gradient with zeros (a large one on all the available threads).
    void settle() const {
        if (!cleared_) return;
        T* g = grad_.data();
        detail::parallel_split(grad_.numel(), detail::elementwise_split_min,
                                [g](index_t b, index_t e) { std::fill(g + b, g + e, T(0)); });
        cleared_ = false;
    }

    mutable Tensor<T> grad_;
    mutable bool cleared_ = false;  ///< zero_grad() deferred: grad_'s contents are stale
};

}  // namespace strata
