#pragma once
/// @file
/// max_pool2d(x, kernel, stride, padding): square max pooling over NCHW like torch.nn.functional.max_pool2d
/// (padding counts as -infinity, floor output size, no dilation); backward routes each output gradient to
/// the input element that won its window.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <limits>

#include "strata/autograd/tape.hpp"
#include "strata/core/cpu_features.hpp"
#include "strata/core/parallel.hpp"
#include "strata/ops/detail/im2col.hpp"
#include "strata/ops/detail/max_pool_lanes.hpp"

namespace strata {

namespace detail {

/// Whether `v` takes over from the window's best so far `m`: it is larger, or it is NaN (a NaN wins its window,
/// the last one, as in PyTorch). Branch-free.
template <class T>
inline bool takes_over(T v, T m) {
    return (v > m) | (v != v);
}

/// The larger of `m` and `v`, or `v` when it is NaN. Branch-free.
template <class T>
inline T max_or_nan(T m, T v) {
    return takes_over(v, m) ? v : m;
}

/// Elements of scratch max_pool_plane needs for geometry `g`: two buffers of one row per window start row,
/// ((Ho - 1) * stride + 1) * W each.
inline index_t max_pool_scratch_size(const Window2d& g) {
    return g.out_h > 0 ? 2 * ((g.out_h - 1) * g.stride + 1) * g.width : 0;
}

/// Max pooling of one [H, W] plane `in` into `out` [Ho, Wo] without winner indices (inference), in passes
/// over long contiguous runs (vectorisable even on small maps): `rows` gets, for every window start row r in
/// [-p, (Ho-1)*s - p], the maximum over the window's rows (kernel passes over whole runs of rows); `cols` gets
/// the maximum of `rows` over kernel consecutive elements of the flattened buffer (kernel passes again), which
/// is the window's maximum wherever the window lies inside the row; the output picks those and recomputes the
/// few windows that touch the left or right padding. Padding never wins (-infinity); a NaN wins its window.
/// `scratch` holds max_pool_scratch_size(g) elements.
template <class T>
void max_pool_plane(const T* __restrict in, const Window2d& g, T* __restrict scratch, T* __restrict out) {
    const index_t W = g.width, H = g.height, k = g.kernel_h, s = g.stride, p = g.padding;
    const index_t R = (g.out_h - 1) * s + 1, n = R * W;
    T* __restrict rows = scratch;
    T* __restrict cols = scratch + n;
    for (index_t t = 0; t < n; ++t) rows[t] = -std::numeric_limits<T>::infinity();
    for (index_t i = 0; i < k; ++i) {
        // window start rows r = j - p (j in [0, R)) read input row r + i when 0 <= r + i < H
        const index_t j0 = std::max<index_t>(0, p - i), j1 = std::min<index_t>(R, H + p - i);
        if (j1 <= j0) continue;
        const T* src = in + (j0 - p + i) * W;
        T* dst = rows + j0 * W;
        const index_t m = (j1 - j0) * W;
        for (index_t t = 0; t < m; ++t) dst[t] = max_or_nan(dst[t], src[t]);
    }
    // cols[t] = max(rows[t - p .. t - p + k)) for the t where that run lies inside the buffer.
    const index_t t0 = p, t1 = n - (k - 1 - p);
    for (index_t t = t0; t < t1; ++t) cols[t] = rows[t - p];
    for (index_t j = 1; j < k; ++j) {
        const T* src = rows - p + j;
        for (index_t t = t0; t < t1; ++t) cols[t] = max_or_nan(cols[t], src[t]);
    }
    for (index_t oh = 0; oh < g.out_h; ++oh) {
        const T* row = rows + oh * s * W;
        const T* full = cols + oh * s * W;
        T* o = out + oh * g.out_w;
        for (index_t ow = 0; ow < g.out_w; ++ow) {
            const index_t w0 = ow * s - p, w1 = ow * s - p + k;
            if (w0 >= 0 && w1 <= W) {
                o[ow] = full[ow * s];
            } else {  // the window touches the padding
                T m = -std::numeric_limits<T>::infinity();
                for (index_t w = std::max<index_t>(w0, 0); w < std::min<index_t>(w1, W); ++w) m = max_or_nan(m, row[w]);
                o[ow] = m;
            }
        }
    }
}

/// `take ? a : b` through integer masks: GCC compiles a scalar floating-point select into a branch, which
/// mispredicts on the random comparisons of a max.
template <class T>
inline T select_without_branch(bool take, T a, T b) {
    using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    Bits ia, ib;
    std::memcpy(&ia, &a, sizeof(T));
    std::memcpy(&ib, &b, sizeof(T));
    const Bits mask = Bits(0) - static_cast<Bits>(take);
    const Bits r = (ia & mask) | (ib & ~mask);
    T out;
    std::memcpy(&out, &r, sizeof(T));
    return out;
}

/// Elements of value scratch (and as many int32 of index scratch) max_pool_plane_indexed needs: a plane and a
/// row.
inline index_t max_pool_indexed_scratch_size(const Window2d& g) { return (g.height + 1) * g.width; }

/// Max pooling of one [H, W] plane `in` into `out` [Ho, Wo] with each window's winner (`argmax`: its index
/// in the plane), PyTorch's rule: the first maximum in row-major scan order, or the last NaN; a window of
/// -infinity only gives its first in-bounds cell. Two passes, the first vectorisable: `hv`/`hi` get, for every
/// flattened position t, the maximum and its index over the kernel cells t - p .. t - p + k - 1 of the
/// flattened plane (a window row wherever that run lies inside one row; first cell on ties, last NaN); the
/// second takes, per output row and for every interior window start column at once (vectorisable), the best of
/// the window's rows (first row on ties, last NaN), so the winner is the first in row-major order. Windows that
/// touch the left or right padding are scanned directly.
/// `hv` and `hi` hold max_pool_indexed_scratch_size(g) elements each.
template <class T>
void max_pool_plane_indexed(const T* __restrict in, const Window2d& g, T* __restrict hv, std::int32_t* __restrict hi,
                            T* __restrict out, std::int32_t* __restrict argmax) {
    const index_t W = g.width, H = g.height, k = g.kernel_h, s = g.stride, p = g.padding;
    // position t's run starts at cell t - p
    const std::int32_t p32 = static_cast<std::int32_t>(p), t1 = static_cast<std::int32_t>(H * W - (k - 1 - p));
    for (std::int32_t t = p32; t < t1; ++t) {
        hv[t] = in[t - p32];
        hi[t] = t - p32;
    }
    for (std::int32_t j = 1; j < k; ++j)
        for (std::int32_t t = p32; t < t1; ++t) {
            const T v = in[t - p32 + j];
            const bool take = takes_over(v, hv[t]);
            hv[t] = take ? v : hv[t];
            hi[t] = take ? t - p32 + j : hi[t];
        }
    // interior windows start at columns c - p, c in [p, W - k + p]: the best of their rows, vectorised over c
    const index_t c0 = p, c1 = W - k + p + 1;
    T* __restrict vb = hv + H * W;  // the row after the plane's
    std::int32_t* __restrict vi = hi + H * W;
    for (index_t oh = 0; oh < g.out_h; ++oh) {
        const index_t h0 = std::max<index_t>(oh * s - p, 0), h1 = std::min<index_t>(oh * s - p + k, H);
        if (c1 > c0) {
            for (index_t c = c0; c < c1; ++c) {
                vb[c] = hv[h0 * W + c];
                vi[c] = hi[h0 * W + c];
            }
            for (index_t h = h0 + 1; h < h1; ++h)
                for (index_t c = c0; c < c1; ++c) {
                    const T v = hv[h * W + c];
                    const bool take = takes_over(v, vb[c]);
                    vb[c] = take ? v : vb[c];
                    vi[c] = take ? hi[h * W + c] : vi[c];
                }
        }
        for (index_t ow = 0; ow < g.out_w; ++ow) {
            const index_t w0 = ow * s - p, w1 = ow * s - p + k;
            T best;
            std::int32_t best_at;
            if (w0 >= 0 && w1 <= W) {
                best = vb[ow * s];
                best_at = vi[ow * s];
            } else {  // the window touches the left or right padding
                best = -std::numeric_limits<T>::infinity();
                best_at = static_cast<std::int32_t>(h0 * W + std::max<index_t>(w0, 0));
                for (index_t h = h0; h < h1; ++h)
                    for (index_t w = std::max<index_t>(w0, 0); w < std::min<index_t>(w1, W); ++w) {
                        const T v = in[h * W + w];
                        const bool take = takes_over(v, best);
                        best = select_without_branch(take, v, best);
                        best_at = take ? static_cast<std::int32_t>(h * W + w) : best_at;
                    }
            }
            out[oh * g.out_w + ow] = best;
            argmax[oh * g.out_w + ow] = best_at;
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

    if (in_plane <= detail::max_pool_lanes_max_plane) {  // small planes: simd_block planes at a time
        Tape::ScratchScope scratch(tape);
        const index_t blocks = (planes + detail::simd_block - 1) / detail::simd_block;
        const int threads = worth_threads ? detail::available_threads() : 1;
        const index_t value_stride =
            detail::thread_scratch_stride<T>(detail::max_pool_lanes_scratch_size(g), threads);
        const index_t winner_stride =
            grad ? detail::thread_scratch_stride<std::int32_t>(out_plane * detail::simd_block, threads) : 0;
        T* values = tape.buffer<T>(threads * value_stride);
        std::int32_t* winners = grad ? tape.buffer<std::int32_t>(threads * winner_stride) : nullptr;
        detail::parallel_for(blocks, threads, worth_threads, [&](index_t b) {
            const int me = detail::thread_index();
            const index_t first = b * detail::simd_block, count = std::min(detail::simd_block, planes - first);
            T* scratch_values = values + me * value_stride;
            detail::run_for_active_isa([&] {
                if (grad)
                    detail::max_pool_lane_block<T, true>(px + first * in_plane, count, g, scratch_values,
                                                         winners + me * winner_stride, py + first * out_plane,
                                                         argmax + first * out_plane);
                else
                    detail::max_pool_lane_block<T, false>(px + first * in_plane, count, g, scratch_values, nullptr,
                                                          py + first * out_plane, nullptr);
            });
        });
    } else if (!grad) {  // values only: separable, vectorised over rows
        const int threads = worth_threads ? detail::available_threads() : 1;
        const index_t row_stride = detail::thread_scratch_stride<T>(detail::max_pool_scratch_size(g), threads);
        T* rows = tape.buffer<T>(threads * row_stride);
        detail::parallel_for(planes, threads, worth_threads, [&](index_t pl) {
            T* scratch = rows + detail::thread_index() * row_stride;
            detail::run_for_active_isa(
                [&] { detail::max_pool_plane(px + pl * in_plane, g, scratch, py + pl * out_plane); });
        });
    } else {  // with winner indices (training): vectorised over the flattened plane, see max_pool_plane_indexed
        Tape::ScratchScope scratch(tape);
        const int threads = worth_threads ? detail::available_threads() : 1;
        // (in elements of T and of int32 alike: whole lines of both)
        const index_t stride_elems =
            detail::thread_scratch_stride<float>(detail::max_pool_indexed_scratch_size(g), threads);
        T* hv = tape.buffer<T>(threads * stride_elems);
        std::int32_t* hi = tape.buffer<std::int32_t>(threads * stride_elems);
        detail::parallel_for(planes, threads, worth_threads, [&](index_t pl) {
            const index_t at = detail::thread_index() * stride_elems;
            detail::run_for_active_isa([&] {
                detail::max_pool_plane_indexed(px + pl * in_plane, g, hv + at, hi + at, py + pl * out_plane,
                                               argmax + pl * out_plane);
            });
        });
    }

    if (!grad) return out;
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
