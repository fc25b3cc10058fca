#pragma once
/// @file
/// Max pooling of small planes in blocks of simd_block planes side by side ("lanes"): the block is first
/// interleaved so that each position's values of the block's planes are contiguous, then every window is a
/// scan of whole vectors (one per cell, simd_block planes at once), and the results are spread back to their
/// planes. On the small maps of a CIFAR- or MNIST-sized ResNet (a 14x14 plane: rows of 14, 7 outputs per row)
/// the per-plane passes of max_pool2d.hpp run mostly in scalar remainders; this path has no remainder but the
/// block's unused lanes.

#include <algorithm>
#include <cstdint>
#include <limits>

#include "strata/core/simd_loop.hpp"
#include "strata/ops/detail/im2col.hpp"

namespace strata::detail {

/// Largest plane (elements) max_pool2d pools through max_pool_lane_block: a block of simd_block such planes is
/// then at most 64 KB of floats (128 KB of doubles), in L1 or L2 while its windows are scanned. Larger planes have
/// rows long enough for the per-plane passes to vectorise.
inline constexpr index_t max_pool_lanes_max_plane = 1024;

/// Values of scratch max_pool_lane_block needs for geometry `g`: the interleaved block and its results.
inline index_t max_pool_lanes_scratch_size(const Window2d& g) {
    return (g.height * g.width + g.col_cols()) * simd_block;
}

/// Max pooling of `count` (1 to simd_block) consecutive [H, W] planes `in` into `out` [Ho, Wo] each, with each
/// window's winner (its index in the plane) in `argmax` when `Indexed`. PyTorch's rule: the first maximum in
/// row-major scan order, or the last NaN; a window of -infinity only gives its first in-bounds cell. `scratch`
/// holds max_pool_lanes_scratch_size(g) values, `winners` (when `Indexed`) Ho * Wo * simd_block int32.
/// Each window's running maximum and winner stay in scratch (one line each, in L1): a 16-lane loop over locals
/// is unrolled into scalars by GCC before its vectoriser sees it.
template <class T, bool Indexed>
void max_pool_lane_block(const T* __restrict in, index_t count, const Window2d& g, T* __restrict scratch,
                         std::int32_t* __restrict winners, T* __restrict out, std::int32_t* __restrict argmax) {
    constexpr index_t L = simd_block;
    const index_t H = g.height, W = g.width, k = g.kernel_h, s = g.stride, p = g.padding;
    const index_t plane = H * W, P = g.col_cols();
    T* __restrict block = scratch;                // [plane][L]: position i of lane l at i * L + l
    T* __restrict best_of = scratch + plane * L;  // [P][L]
    for (index_t l = 0; l < count; ++l) {
        const T* src = in + l * plane;
        for (index_t i = 0; i < plane; ++i) block[i * L + l] = src[i];
    }
    for (index_t l = count; l < L; ++l)  // unused lanes: any number will do, zero keeps them defined
        for (index_t i = 0; i < plane; ++i) block[i * L + l] = T(0);
    for (index_t oh = 0; oh < g.out_h; ++oh) {
        const index_t h0 = std::max<index_t>(oh * s - p, 0), h1 = std::min<index_t>(oh * s - p + k, H);
        for (index_t ow = 0; ow < g.out_w; ++ow) {
            const index_t w0 = std::max<index_t>(ow * s - p, 0), w1 = std::min<index_t>(ow * s - p + k, W);
            T* __restrict best = best_of + (oh * g.out_w + ow) * L;
            std::int32_t* __restrict at = Indexed ? winners + (oh * g.out_w + ow) * L : nullptr;
            const std::int32_t first = static_cast<std::int32_t>(h0 * W + w0);
            STRATA_IVDEP_NO_UNROLL
            for (index_t l = 0; l < L; ++l) {
                best[l] = -std::numeric_limits<T>::infinity();
                if constexpr (Indexed) at[l] = first;
            }
            for (index_t h = h0; h < h1; ++h)
                for (index_t w = w0; w < w1; ++w) {
                    const T* __restrict v = block + (h * W + w) * L;
                    const std::int32_t cell = static_cast<std::int32_t>(h * W + w);
                    STRATA_IVDEP_NO_UNROLL
                    for (index_t l = 0; l < L; ++l) {
                        const bool take = (v[l] > best[l]) | (v[l] != v[l]);  // larger, or NaN
                        best[l] = take ? v[l] : best[l];
                        if constexpr (Indexed) at[l] = take ? cell : at[l];
                    }
                }
        }
    }
    for (index_t l = 0; l < count; ++l) {
        T* dst = out + l * P;
        for (index_t o = 0; o < P; ++o) dst[o] = best_of[o * L + l];
        if constexpr (Indexed) {
            std::int32_t* to = argmax + l * P;
            for (index_t o = 0; o < P; ++o) to[o] = winners[o * L + l];
        }
    }
}

}  // namespace strata::detail
