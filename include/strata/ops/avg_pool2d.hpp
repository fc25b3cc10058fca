#pragma once
/// @file
/// avg_pool2d(x, kernel, stride, padding, count_include_pad): square average pooling over NCHW like
/// torch.nn.functional.avg_pool2d (floor output size, no divisor override).

#include <algorithm>

#include "strata/autograd/tape.hpp"
#include "strata/core/parallel.hpp"
#include "strata/ops/detail/im2col.hpp"

namespace strata {

namespace detail {

/// Calls f(output index, h0, h1, w0, w1, divisor) for each window of one plane: [h0, h1) x [w0, w1) is the
/// part inside the image, divisor is what PyTorch divides the window's sum by.
template <class F>
void for_each_avg_window(const Window2d& g, bool count_include_pad, F&& f) {
    const index_t k = g.kernel_h, s = g.stride, p = g.padding;
    for (index_t oh = 0; oh < g.out_h; ++oh) {
        const index_t hs = oh * s - p, he = std::min(hs + k, g.height + p);
        const index_t h0 = std::max<index_t>(hs, 0), h1 = std::min(he, g.height);
        for (index_t ow = 0; ow < g.out_w; ++ow) {
            const index_t ws = ow * s - p, we = std::min(ws + k, g.width + p);
            const index_t w0 = std::max<index_t>(ws, 0), w1 = std::min(we, g.width);
            const index_t divisor = count_include_pad ? (he - hs) * (we - ws) : (h1 - h0) * (w1 - w0);
            f(oh * g.out_w + ow, h0, h1, w0, w1, divisor);
        }
    }
}

}  // namespace detail

/// Average pooling of `x` [N, C, H, W] over kernel x kernel windows moved by `stride`, with `padding` zeros
/// on every side: output [N, C, Ho, Wo], Ho = (H + 2*padding - kernel) / stride + 1. Each window's sum is
/// divided by kernel*kernel when `count_include_pad` (padding zeros count), else by the number of input
/// cells in the window. The backward spreads each output gradient evenly over the same cells.
/// Throws ShapeError on a rank other than 4 or a kernel larger than the padded input; ArgumentError on
/// kernel < 1, stride < 1, padding < 0 or padding > kernel / 2.
/// @throws ShapeError when x is not rank 4 or the kernel is larger than the padded input, naming the shape.
/// @throws ArgumentError when kernel < 1, stride < 1, padding < 0 or padding > kernel / 2, naming the value.
/// @throws LifetimeError when an input Var is undefined or from before its tape's last rewind.
/// @throws NumericError in anomaly mode (Tape::set_detect_anomaly) when the output holds a NaN or infinity.
template <class T>
Var<T> avg_pool2d(const Var<T>& x, index_t kernel, index_t stride, index_t padding = 0,
                  bool count_include_pad = true) {
    const detail::Window2d g = detail::pool2d_geometry("avg_pool2d", x.shape(), kernel, stride, padding);
    const index_t planes = x.dim(0) * g.channels, in_plane = g.height * g.width, out_plane = g.col_cols();
    Tape& tape = x.tape();
    Var<T> out = tape.make_output<T>(Shape{x.dim(0), g.channels, g.out_h, g.out_w}, tape.needs_grad(x));
    const T* px = x.value().data();
    T* py = out.mutable_value().data();

    detail::parallel_for(planes, planes * out_plane * kernel * kernel >= 65536, [&](index_t pl) {
        const T* in = px + pl * in_plane;
        T* y = py + pl * out_plane;
        detail::for_each_avg_window(g, count_include_pad,
                                    [&](index_t o, index_t h0, index_t h1, index_t w0, index_t w1, index_t div) {
                                        T sum = 0;
                                        for (index_t h = h0; h < h1; ++h)
                                            for (index_t w = w0; w < w1; ++w) sum += in[h * g.width + w];
                                        y[o] = sum / static_cast<T>(div);
                                    });
    });

    if (out.requires_grad())
        tape.record("avg_pool2d", out, [x, out, g, planes, in_plane, out_plane, count_include_pad] {
            const T* py_grad = out.grad().data();
            T* px_grad = x.grad().data();
            detail::parallel_for(planes, planes * out_plane * g.kernel_h * g.kernel_w >= 65536, [&](index_t pl) {
                const T* gy = py_grad + pl * out_plane;
                T* gx = px_grad + pl * in_plane;
                detail::for_each_avg_window(
                    g, count_include_pad, [&](index_t o, index_t h0, index_t h1, index_t w0, index_t w1, index_t div) {
                        const T share = gy[o] / static_cast<T>(div);
                        for (index_t h = h0; h < h1; ++h)
                            for (index_t w = w0; w < w1; ++w) gx[h * g.width + w] += share;
                    });
            });
        });
    return out;
}

}  // namespace strata
