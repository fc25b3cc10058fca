#pragma once
/// @file
/// matmul(a, b): the matrix product of a [m, k] and b [k, n], with Eigen's GEMM.

#include "strata/autograd/tape.hpp"

namespace strata {

/// The matrix product a b of a [m, k] and b [k, n], shape [m, n]. Backward: da += dout b^T and
/// db += a^T dout. Throws ShapeError naming both shapes when either operand is not rank 2 or the inner
/// dimensions differ, ArgumentError when a and b live on different tapes.
template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b) {
    check_same_tape(a, b, "matmul");
    check<ShapeError>(a.shape().rank() == 2 && b.shape().rank() == 2,
                      "matmul: needs two rank-2 matrices, got shapes ", a.shape(), " and ", b.shape());
    const index_t m = a.dim(0), k = a.dim(1), n = b.dim(1);
    check<ShapeError>(b.dim(0) == k, "matmul: inner dimensions differ: ", a.shape(), " x ", b.shape(), " (", k,
                      " vs ", b.dim(0), ")");
    Tape& tape = a.tape();
    Var<T> out = tape.make_output<T>(Shape{m, n}, tape.needs_grad(a, b));
    out.mutable_value().matrix(m, n).noalias() = a.value().matrix(m, k) * b.value().matrix(k, n);
    if (out.requires_grad())
        tape.record("matmul", out, [a, b, out, m, k, n] {
            const MatrixMap<T> g = out.grad().matrix(m, n);
            if (a.requires_grad()) a.grad().matrix(m, k).noalias() += g * b.value().matrix(k, n).transpose();
            if (b.requires_grad()) b.grad().matrix(k, n).noalias() += a.value().matrix(m, k).transpose() * g;
        });
    return out;
}

}  // namespace strata
