#pragma once
/// @file
/// subsample_pad_channels: the parameter-free "option A" shortcut of He et al. 2016 (CIFAR nets): take every
/// stride-th pixel and zero-pad the channels, half before and half after (as common CIFAR ResNet reproductions do).

#include "strata/autograd/tape.hpp"

namespace strata {

/// [N, C, H, W] -> [N, out_channels, ceil(H/stride), ceil(W/stride)]: y[n, c + (out_channels-C)/2, i, j] =
/// x[n, c, i*stride, j*stride], other channels zero. Throws ArgumentError if stride < 1 or out_channels < C,
/// ShapeError unless x has rank 4.
/// @throws ShapeError when x is not rank 4, naming its shape.
/// @throws ArgumentError when stride < 1 or out_channels < C, naming the values.
/// @throws LifetimeError when an input Var is undefined or from before its tape's last rewind.
/// @throws NumericError in anomaly mode (Tape::set_detect_anomaly) when the output holds a NaN or infinity.
template <class T>
Var<T> subsample_pad_channels(const Var<T>& x, index_t stride, index_t out_channels) {
    check<ShapeError>(x.shape().rank() == 4, "subsample_pad_channels: expected [N, C, H, W], got ", x.shape());
    const index_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
    check<ArgumentError>(stride >= 1, "subsample_pad_channels: stride must be >= 1, got ", stride);
    check<ArgumentError>(out_channels >= c, "subsample_pad_channels: out_channels ", out_channels,
                         " is smaller than the input's ", c, " channels");
    const index_t ho = (h + stride - 1) / stride, wo = (w + stride - 1) / stride;
    const index_t front = (out_channels - c) / 2;
    Tape& tape = x.tape();
    Var<T> out = tape.make_output<T>(Shape{n, out_channels, ho, wo}, tape.needs_grad(x));
    T* y = out.mutable_value().data();
    const T* xv = x.value().data();
    std::fill_n(y, out.numel(), T(0));
    auto for_each = [=](auto&& f) {
        for (index_t b = 0; b < n; ++b)
            for (index_t ch = 0; ch < c; ++ch)
                for (index_t i = 0; i < ho; ++i)
                    for (index_t j = 0; j < wo; ++j)
                        f(((b * out_channels + ch + front) * ho + i) * wo + j, ((b * c + ch) * h + i * stride) * w + j * stride);
    };
    for_each([&](index_t yo, index_t xi) { y[yo] = xv[xi]; });
    if (out.requires_grad())
        tape.record("subsample_pad_channels", out, [x, out, for_each] {
            const T* g = out.grad().data();
            T* gx = x.grad().data();
            for_each([&](index_t yo, index_t xi) { gx[xi] += g[yo]; });
        });
    return out;
}

}  // namespace strata
