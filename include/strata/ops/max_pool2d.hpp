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
