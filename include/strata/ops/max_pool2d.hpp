#pragma once
/// @file
/// max_pool2d(x, kernel, stride, padding): square max pooling over NCHW like torch.nn.functional.max_pool2d
/// (padding counts as -infinity, floor output size, no dilation); backward routes each output gradient to
/// the input element that won its window.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "strata/autograd/tape.hpp"
#include "strata/core/parallel.hpp"
#include "strata/ops/detail/im2col.hpp"

namespace strata {

namespace detail {

/// The larger of `m` and `v`, or `v` when it is NaN (a NaN wins its window, as in PyTorch). Branch-free.
template <class T>
inline T max_or_nan(T m, T v) {
    return (v > m) | (v != v) ? v : m;
}

/// Max pooling of one [H, W] plane `in` into `out` [Ho, Wo] without winner indices (inference): for each
/// output row the elementwise maximum of its input rows first (whole rows, vectorised), then the maximum of
/// each window's columns in that row. `rows` is scratch of W elements.
template <class T>
void max_pool_plane(const T* __restrict in, const Window2d& g, T* __restrict rows, T* __restrict out) {
    const index_t W = g.width, k = g.kernel_h, s = g.stride, p = g.padding;
    for (index_t oh = 0; oh < g.out_h; ++oh) {
        const index_t h0 = std::max<index_t>(oh * s - p, 0), h1 = std::min<index_t>(oh * s - p + k, g.height);
        const T* first = in + h0 * W;
        for (index_t w = 0; w < W; ++w) rows[w] = first[w];
        for (index_t h = h0 + 1; h < h1; ++h) {
            const T* row = in + h * W;
            for (index_t w = 0; w < W; ++w) rows[w] = max_or_nan(rows[w], row[w]);
        }
        T* o = out + oh * g.out_w;
        for (index_t ow = 0; ow < g.out_w; ++ow) {
            const index_t w0 = std::max<index_t>(ow * s - p, 0), w1 = std::min<index_t>(ow * s - p + k, W);
            T m = rows[w0];
            for (index_t w = w0 + 1; w < w1; ++w) m = max_or_nan(m, rows[w]);
            o[ow] = m;
        }
    }
}

}  // namespace detail

/// Max pooling of `x` [N, C, H, W] over kernel x kernel windows moved by `stride`, with `padding` cells of
/// -infinity on every side: output [N, C, Ho, Wo], Ho = (H + 2*padding - kernel) / stride + 1. Like PyTorch,
/// among equal maxima the first in row-major scan order wins and a NaN wins its window (the last NaN, as in
/// PyTorch's CPU kernel); the gradient of each output flows to the winner (indices are kept in the arena).
/// Throws ShapeError on a rank other than 4 or a kernel larger than the padded input; ArgumentError on
/// kernel < 1, stride < 1, padding < 0 or padding > kernel / 2.
template <class T>
Var<T> max_pool2d(const Var<T>& x, index_t kernel, index_t stride, index_t padding = 0) {
    const detail::Window2d g = detail::pool2d_geometry("max_pool2d", x.shape(), kernel, stride, padding);
    const index_t planes = x.dim(0) * g.channels, in_plane = g.height * g.width, out_plane = g.col_cols();
    check<ShapeError>(in_plane <= std::numeric_limits<std::int32_t>::max(), "max_pool2d: input plane ",
                      g.height, "x", g.width, " has too many elements for 32-bit indices");
    Tape& tape = x.tape();
    const bool grad = tape.needs_grad(x);
    Var<T> out = tape.make_output<T>(Shape{x.dim(0), g.channels, g.out_h, g.out_w}, grad);
    std::int32_t* argmax = grad ? tape.buffer<std::int32_t>(planes * out_plane) : nullptr;
    const T* px = x.value().data();
    T* py = out.mutable_value().data();
    const bool worth_threads = planes * out_plane * kernel * kernel >= 65536;

    if (!grad) {  // values only: separable, vectorised over rows
        const int threads = worth_threads ? detail::available_threads() : 1;
        const index_t row_stride = (g.width + 15) / 16 * 16;  // whole 64-byte lines per thread
        T* rows = tape.buffer<T>(threads * row_stride);
        detail::parallel_for(planes, threads, worth_threads, [&](index_t pl) {
            detail::max_pool_plane(px + pl * in_plane, g, rows + detail::thread_index() * row_stride,
                                   py + pl * out_plane);
        });
        return out;
    }

    detail::parallel_for(planes, planes * out_plane * kernel * kernel >= 65536, [&](index_t pl) {
        const T* in = px + pl * in_plane;
        for (index_t oh = 0; oh < g.out_h; ++oh) {
            const index_t h0 = std::max<index_t>(oh * stride - padding, 0);
            const index_t h1 = std::min<index_t>(oh * stride - padding + kernel, g.height);
            for (index_t ow = 0; ow < g.out_w; ++ow) {
                const index_t w0 = std::max<index_t>(ow * stride - padding, 0);
                const index_t w1 = std::min<index_t>(ow * stride - padding + kernel, g.width);
                index_t best_at = h0 * g.width + w0;  // padding <= kernel/2: every window holds an input cell
                T best = -std::numeric_limits<T>::infinity();
                for (index_t h = h0; h < h1; ++h)
                    for (index_t w = w0; w < w1; ++w) {
                        const T v = in[h * g.width + w];
                        const bool take = (v > best) | (v != v);  // branch-free: v is larger, or NaN
                        best = take ? v : best;
                        best_at = take ? h * g.width + w : best_at;
                    }
                const index_t o = pl * out_plane + oh * g.out_w + ow;
                py[o] = best;
                if (argmax) argmax[o] = static_cast<std::int32_t>(best_at);
            }
        }
    });

    if (grad)
        tape.record("max_pool2d", out, [x, out, argmax, planes, in_plane, out_plane] {
            const T* gy = out.grad().data();
            T* gx = x.grad().data();
            detail::parallel_for(planes, planes * out_plane >= 65536, [&](index_t pl) {
                for (index_t o = pl * out_plane; o < (pl + 1) * out_plane; ++o) gx[pl * in_plane + argmax[o]] += gy[o];
            });
        });
    return out;
}

}  // namespace strata

#ifdef STRATA_EXTERN_TEMPLATES  // float and double instantiated once (strata/detail/extern_templates.hpp)
#include "strata/detail/extern_templates.hpp"
namespace strata {
#define STRATA_INSTANTIATE_(T) \
    STRATA_EXPLICIT_TEMPLATE Var<T> max_pool2d<T>(const Var<T>&, index_t, index_t, index_t);
STRATA_FOR_EACH_SCALAR(STRATA_INSTANTIATE_)
#undef STRATA_INSTANTIATE_
}  // namespace strata
#endif
