#pragma once
/// @file
/// linear(x, weight, bias) = x weight^T + bias, like torch.nn.functional.linear, as one tape node.

#include "strata/autograd/tape.hpp"
#include "strata/ops/detail/gemm.hpp"

namespace strata {

/// The affine map x weight^T + bias of x [N, in] with weight [out, in] and bias [out] (added to every row),
/// shape [N, out]. Pass an undefined `Var<T>()` (the default) as bias for no bias. Backward:
/// dx += dout weight, dweight += dout^T x, dbias += the column sums of dout. Throws ShapeError naming the
/// shapes when x or weight is not rank 2, their `in` dimensions differ, or bias is not [out]; ArgumentError
/// when the operands live on different tapes.
/// @throws ShapeError when x or weight is not rank 2, their `in` dimensions differ or bias is not [out], naming
/// the shapes.
/// @throws ArgumentError when the operands live on different tapes.
/// @throws LifetimeError when an input Var is undefined or from before its tape's last rewind.
/// @throws NumericError in anomaly mode (Tape::set_detect_anomaly) when the output holds a NaN or infinity.
template <class T>
Var<T> linear(const Var<T>& x, const Var<T>& weight, const Var<T>& bias = Var<T>()) {
    check_same_tape(x, weight, "linear");
    const bool has_bias = bias.defined();
    if (has_bias) check_same_tape(x, bias, "linear");
    check<ShapeError>(x.shape().rank() == 2 && weight.shape().rank() == 2,
                      "linear: needs input [N, in] and weight [out, in], got shapes ", x.shape(), " and ",
                      weight.shape());
    const index_t n = x.dim(0), in = x.dim(1), out_features = weight.dim(0);
    check<ShapeError>(weight.dim(1) == in, "linear: input of shape ", x.shape(), " has ", in,
                      " features but weight of shape ", weight.shape(), " expects ", weight.dim(1));
    if (has_bias)
        check<ShapeError>(bias.shape() == Shape{out_features}, "linear: bias of shape ", bias.shape(),
                          " does not fit weight of shape ", weight.shape(), " (expected [", out_features, "])");

    Tape& tape = x.tape();
    const bool grad = has_bias ? tape.needs_grad(x, weight, bias) : tape.needs_grad(x, weight);
    Var<T> out = tape.make_output<T>(Shape{n, out_features}, grad);
    auto scratch = [&tape](index_t count) { return tape.buffer<T>(count); };
    detail::gemm_with_scratch(false, true, n, out_features, in, x.value().data(), in, weight.value().data(), in,
                              out.mutable_value().data(), out_features, false, scratch);
    if (has_bias) out.mutable_value().matrix(n, out_features).rowwise() += bias.value().matrix(1, out_features).row(0);
    if (grad)
        tape.record("linear", out, [x, weight, bias, out, has_bias, n, in, out_features] {
            const T* g = out.grad().data();
            Tape& tape = out.tape();
            auto scratch = [&tape](index_t count) { return tape.buffer<T>(count); };
            if (x.requires_grad())  // dx [n, in] += g [n, out] weight [out, in]
                detail::gemm_with_scratch(false, false, n, in, out_features, g, out_features, weight.value().data(),
                                          in, x.grad().data(), in, true, scratch);
            if (weight.requires_grad())  // dweight [out, in] += g^T x
                detail::gemm_with_scratch(true, false, out_features, in, n, g, out_features, x.value().data(), in,
                                          weight.grad().data(), in, true, scratch);
            if (has_bias && bias.requires_grad())
                bias.grad().matrix(1, out_features).row(0) += out.grad().matrix(n, out_features).colwise().sum();
        });
    return out;
}

}  // namespace strata
