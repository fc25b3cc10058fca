#pragma once
/// @file
/// matmul(a, b): the matrix product of a [m, k] and b [k, n], with Eigen's GEMM kernel (detail/gemm.hpp).

#include "strata/autograd/tape.hpp"
#include "strata/ops/detail/gemm.hpp"

namespace strata {

/// The matrix product a b of a [m, k] and b [k, n], shape [m, n]. Backward: da += dout b^T and
/// db += a^T dout. Throws ShapeError naming both shapes when either operand is not rank 2 or the inner
/// dimensions differ, ArgumentError when a and b live on different tapes.
/// @throws ShapeError when an operand is not rank 2 or the inner dimensions differ, naming both shapes.
/// @throws ArgumentError when the operands live on different tapes.
/// @throws LifetimeError when an input Var is undefined or from before its tape's last rewind.
/// @throws NumericError in anomaly mode (Tape::set_detect_anomaly) when the output holds a NaN or infinity.
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
    auto scratch = [&tape](index_t count) { return tape.buffer<T>(count); };
    detail::gemm_with_scratch(false, false, m, n, k, a.value().data(), k, b.value().data(), n,
                              out.mutable_value().data(), n, false, scratch);
    if (out.requires_grad())
        tape.record("matmul", out, [a, b, out, m, k, n] {
            const T* g = out.grad().data();
            Tape& tape = out.tape();
            auto scratch = [&tape](index_t count) { return tape.buffer<T>(count); };
            if (a.requires_grad())  // da [m, k] += g [m, n] b^T
                detail::gemm_with_scratch(false, true, m, k, n, g, n, b.value().data(), n, a.grad().data(), k, true,
                                          scratch);
            if (b.requires_grad())  // db [k, n] += a^T g
                detail::gemm_with_scratch(true, false, k, n, m, a.value().data(), k, g, n, b.grad().data(), n, true,
                                          scratch);
        });
    return out;
}

}  // namespace strata
