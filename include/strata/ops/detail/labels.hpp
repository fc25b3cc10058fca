#pragma once
/// @file
/// Class-label validation shared by the classification losses.

#include <vector>

#include "strata/autograd/tape.hpp"

namespace strata {

namespace detail {

/// Validates class labels against an [N,C] input and copies them into arena memory (backward lambdas cannot own
/// a std::vector). Throws ShapeError unless `input` has rank 2 with N == labels.size() and N > 0, and
/// ArgumentError naming the label, its position and C for a label outside [0, C).
template <class T>
const index_t* copy_labels(const Var<T>& input, const std::vector<index_t>& labels, const char* op) {
    const Shape& shape = input.shape();
    check<ShapeError>(shape.rank() == 2, op, ": input must have shape [N, C], got ", shape);
    const index_t N = shape[0], C = shape[1];
    check<ShapeError>(static_cast<index_t>(labels.size()) == N, op, ": input of shape ", shape, " needs ", N,
                      " labels, got ", labels.size());
    check<ShapeError>(N > 0, op, ": empty batch (input of shape ", shape, ")");
    index_t* copy = input.tape().template buffer<index_t>(N);
    for (index_t i = 0; i < N; ++i) {
        const index_t y = labels[static_cast<std::size_t>(i)];
        check<ArgumentError>(y >= 0 && y < C, op, ": label ", y, " at position ", i, " is outside [0, ", C,
                             ") for input of shape ", shape);
        copy[i] = y;
    }
    return copy;
}

}  // namespace detail

}  // namespace strata
