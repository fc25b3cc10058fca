#pragma once
/// @file
/// conv2d_affine(x, weight, scale, shift, params, residual, relu): a convolution followed by a per-channel affine
/// map, an optional residual add and an optional ReLU, all applied to each chunk of the output right after its
/// GEMM while it is in cache: y = act(conv2d(x, weight) * scale[c] + shift[c] + residual). An eval-mode
/// batch-norm after a convolution is such a map (scale = gamma / sqrt(running_var + eps), shift = beta -
/// running_mean * scale), so a ResNet block's conv-BN-ReLU and conv-BN-add-ReLU each become one pass over
/// memory instead of three or four. Forward and backward side by side; one tape node.

#include "strata/ops/conv2d.hpp"

namespace strata {

namespace detail {

/// Throws unless the optional per-channel operand `v` lives on `tape` and has shape [cout].
template <class T>
void check_conv_affine_channel(const Var<T>& v, const Tape& tape, index_t cout, const char* what) {
    if (!v.defined()) return;
    check<ArgumentError>(&v.tape() == &tape, "conv2d_affine: ", what, " lives on a different tape than the input");
    check<ShapeError>(v.shape() == Shape{cout}, "conv2d_affine: ", what, " must have shape [", cout,
                      "] (the weight's output channels), got ", v.shape());
}

/// Whether an optional operand is present and requires a gradient.
template <class T>
bool conv_affine_needs_grad(const Var<T>& v) {
    return v.defined() && v.requires_grad();
}

}  // namespace detail

/// y = act(conv2d(x, weight, params) * scale[c] + shift[c] + residual), with act = ReLU when `relu`, else the
/// identity. `scale` and `shift` are [Cout] (an undefined Var stands for 1 and 0: conv2d_affine(x, w, {}, b) is
/// conv2d(x, w, b)); `residual`, when defined, has the output's shape [N, Cout, Ho, Wo]. The epilogue runs on
/// each sample group right after its GEMM. Every operand may require a gradient; the backward is that of the
/// composition (the ReLU's gradient at 0 is 0, as PyTorch's).
/// With a `cache` for the weight, a call that records nothing (inference) reuses its packed weights, as conv2d().
/// @throws what conv2d() throws for x and weight; ShapeError when scale or shift is not [Cout] or the residual
/// does not have the output's shape, naming the shapes; ArgumentError for operands on different tapes or a cache
/// made for another tensor.
template <class T>
Var<T> conv2d_affine(const Var<T>& x, const Var<T>& weight, const Var<T>& scale, const Var<T>& shift,
                     Conv2dParams params = {}, const Var<T>& residual = Var<T>(), bool relu = false,
                     ConvWeightCache<T>* cache = nullptr) {
    check_same_tape(x, weight, "conv2d_affine");
    detail::check_weight_cache(weight, cache, "conv2d_affine");
    Tape& tape = x.tape();
    const detail::Window2d g = detail::conv2d_geometry(x.shape(), weight.shape(), nullptr, params);
    const index_t N = x.dim(0), Cout = weight.dim(0);
    const Shape out_shape{N, Cout, g.out_h, g.out_w};
    detail::check_conv_affine_channel(scale, tape, Cout, "scale");
    detail::check_conv_affine_channel(shift, tape, Cout, "shift");
    if (residual.defined()) {
        check<ArgumentError>(&residual.tape() == &tape, "conv2d_affine: residual lives on a different tape");
        check<ShapeError>(residual.shape() == out_shape, "conv2d_affine: residual of shape ", residual.shape(),
                          " does not match the convolution's output shape ", out_shape);
    }
    const bool grad = tape.needs_grad(x, weight) ||
                      (tape.grad_enabled() && (detail::conv_affine_needs_grad(scale) ||
                                               detail::conv_affine_needs_grad(shift) ||
                                               detail::conv_affine_needs_grad(residual)));
    Var<T> out = tape.make_output<T>(out_shape, grad);
    detail::ConvEpilogue<T> e;
    e.scale = scale.defined() ? scale.value().data() : nullptr;
    e.shift = shift.defined() ? shift.value().data() : nullptr;
    e.residual = residual.defined() ? residual.value().data() : nullptr;
    e.relu = relu;
    // The raw convolution is kept only for the scale's gradient.
    const bool keep_raw = grad && detail::conv_affine_needs_grad(scale);
    T* raw = keep_raw ? tape.buffer<T>(out_shape.numel()) : nullptr;
    e.raw = raw;
    const detail::ConvForward<T> f = detail::conv2d_forward(tape, x.value().data(), N, weight.value().data(), Cout,
                                                            g, e, out.mutable_value().data(), grad ? nullptr : cache);
    if (grad)
        tape.record("conv2d_affine", out, [x, weight, scale, shift, residual, out, f, raw, relu] {
            const index_t C = f.Cout, P = f.P, n = f.N * C * P;
            const T* dy = out.grad().data();
            const T* y = out.value().data();
            Tape& tape = out.tape();
            // g = dy masked by the ReLU: the gradient of the pre-activation sum.
            const T* gsum = dy;
            if (relu) {
                T* masked = tape.buffer<T>(n);
                for (index_t i = 0; i < n; ++i) masked[i] = y[i] > T(0) ? dy[i] : T(0);
                gsum = masked;
            }
            if (detail::conv_affine_needs_grad(residual)) {
                T* dr = residual.grad().data();
                for (index_t i = 0; i < n; ++i) dr[i] += gsum[i];
            }
            T* dshift = detail::conv_affine_needs_grad(shift) ? shift.grad().data() : nullptr;
            T* dscale = detail::conv_affine_needs_grad(scale) ? scale.grad().data() : nullptr;
            for (index_t s = 0; s < f.N; ++s)
                for (index_t c = 0; c < C; ++c) {
                    const T* gr = gsum + (s * C + c) * P;
                    if (dshift) dshift[c] += ArrayMap<const T>(gr, P).sum();
                    if (dscale) dscale[c] += (ArrayMap<const T>(gr, P) * ArrayMap<const T>(raw + (s * C + c) * P, P)).sum();
                }
            if (!x.requires_grad() && !weight.requires_grad()) return;
            const T* dacc = gsum;  // the gradient of the raw convolution: g * scale
            if (scale.defined()) {
                const T* sc = scale.value().data();
                T* scaled = tape.buffer<T>(n);
                for (index_t s = 0; s < f.N; ++s)
                    for (index_t c = 0; c < C; ++c)
                        for (index_t q = 0; q < P; ++q) {
                            const index_t i = (s * C + c) * P + q;
                            scaled[i] = gsum[i] * sc[c];
                        }
                dacc = scaled;
            }
            detail::conv2d_backward(x, weight, dacc, f);
        });
    return out;
}

}  // namespace strata
