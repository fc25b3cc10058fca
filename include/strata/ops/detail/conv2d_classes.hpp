#pragma once
/// @file
/// Convolution on small feature maps without multiplying padding. On a 2x2 map with a 3x3 kernel and padding 1
/// each output position reads real input through only 4 of the 9 taps, so an implicit GEMM over all taps spends
/// 56% of its multiply-adds on zeros (30% on 4x4 maps, 18% on 7x7). Output positions whose windows cover the same
/// kernel taps form a class; each class is one GEMM over just those taps (its own packed weights, row and column
/// offsets), and its results are scattered into the output positions of the class.

#include <algorithm>
#include <cstdint>

#include "strata/ops/detail/conv2d_parts.hpp"
#include "strata/ops/detail/gemm.hpp"

namespace strata::detail {

/// The output positions of a convolution grouped by the kernel taps through which they read real (unpadded)
/// input. The valid kernel rows of an output row form an interval; output rows with the same interval form a
/// row class, and likewise for columns. Class (r, c) holds the positions of row class r and column class c,
/// and its taps are row interval r times column interval c (every one of them active).
struct ConvTapClasses {
    static constexpr int max_intervals = 4;  ///< per direction; beyond this the geometry is not split
    static constexpr index_t max_outputs = 64;  ///< per direction
    struct Interval {
        index_t lo = 0, hi = -1;       ///< valid kernel rows (or columns), inclusive
        index_t first = 0, count = 0;  ///< into row_outputs (col_outputs): this class's output rows (columns)
    };
    Interval rows[max_intervals], cols[max_intervals];
    int n_rows = 0, n_cols = 0;
    std::int32_t row_outputs[max_outputs] = {}, col_outputs[max_outputs] = {};
    bool usable = false;  ///< few enough intervals in both directions
    double useful = 1;    ///< fraction of the all-active-taps GEMM's multiply-adds that read real input

    /// The classes of `plan`'s geometry.
    explicit ConvTapClasses(const Im2colPlan& plan) {
        const Window2d& g = plan.g;
        if (g.out_h > max_outputs || g.out_w > max_outputs) return;
        if (!intervals(g.out_h, g.kernel_h, g.height, g.stride, g.padding, rows, n_rows, row_outputs)) return;
        if (!intervals(g.out_w, g.kernel_w, g.width, g.stride, g.padding, cols, n_cols, col_outputs)) return;
        double read = 0;
        for (int r = 0; r < n_rows; ++r)
            for (int c = 0; c < n_cols; ++c) read += static_cast<double>(positions(r, c) * taps(r, c));
        useful = read / (static_cast<double>(g.col_cols()) * static_cast<double>(plan.taps));
        usable = true;
    }

    int count() const { return n_rows * n_cols; }
    /// Kernel taps of class (r, c).
    index_t taps(int r, int c) const { return (rows[r].hi - rows[r].lo + 1) * (cols[c].hi - cols[c].lo + 1); }
    /// The fewest output positions of any class.
    index_t fewest_positions() const {
        index_t fewest = rows[0].count * cols[0].count;
        for (int r = 0; r < n_rows; ++r)
            for (int c = 0; c < n_cols; ++c) fewest = std::min(fewest, positions(r, c));
        return fewest;
    }
    /// Output positions of class (r, c).
    index_t positions(int r, int c) const { return rows[r].count * cols[c].count; }
    /// The output position (oh * out_w + ow) of the q-th position of class (r, c), rows outer.
    index_t position(int r, int c, index_t q, index_t out_w) const {
        return row_outputs[rows[r].first + q / cols[c].count] * out_w + col_outputs[cols[c].first + q % cols[c].count];
    }

private:
    /// Groups `outputs` output rows by their valid kernel rows: i with 0 <= o * stride - padding + i < size.
    /// False when there are more than max_intervals groups.
    static bool intervals(index_t outputs, index_t kernel, index_t size, index_t stride, index_t padding,
                          Interval* out, int& n, std::int32_t* order) {
        n = 0;
        index_t written = 0;
        auto lo_of = [&](index_t o) { return std::max<index_t>(0, padding - o * stride); };
        auto hi_of = [&](index_t o) { return std::min<index_t>(kernel - 1, size - 1 + padding - o * stride); };
        for (index_t o = 0; o < outputs; ++o) {
            bool seen = false;
            for (int k = 0; k < n; ++k) seen = seen || (out[k].lo == lo_of(o) && out[k].hi == hi_of(o));
            if (seen) continue;
            if (n == max_intervals) return false;
            Interval& in = out[n++];
            in.lo = lo_of(o);
            in.hi = hi_of(o);
            in.first = written;
            for (index_t p = o; p < outputs; ++p)
                if (lo_of(p) == in.lo && hi_of(p) == in.hi) order[written++] = static_cast<std::int32_t>(p);
            in.count = written - in.first;
        }
        return true;
    }
};

/// conv2d's inference splits a geometry into tap classes (on strata's packed kernels) when at least a quarter of
/// the implicit GEMM's multiply-adds would read padding.
inline constexpr double conv_class_split_below = 0.75;

/// Columns (samples times positions) the smallest class's GEMM must have for the split to pay: on fewer, most of
/// the kernels' 32-column register tiles would be empty. ResNet-18 inference at batch 1 (1 and 4 columns on its
/// 2x2 and 4x4 maps) took 3.75 ms with the split and 1.90 ms without (AMD Zen 5, 1 thread).
inline constexpr index_t conv_class_min_columns = 32;

/// Samples per block of a tap-class convolution: each class's GEMM output is scratch, so a huge batch goes
/// through in blocks.
inline constexpr index_t conv_class_block_samples = 256;

/// The weight [Cout, Cin, kh, kw] over the taps of class (r, c) as a [Cout, Cin * taps] matrix (channel outer,
/// taps in row-major kernel order), into `out`: one pass over the weight per 64 taps.
template <class T>
void conv_class_weight(const T* w, index_t cout, const Window2d& g, const ConvTapClasses& k, int r, int c, T* out) {
    const index_t kk = g.kernel_h * g.kernel_w, rows = cout * g.channels;
    const auto& rs = k.rows[r];
    const auto& cs = k.cols[c];
    const index_t taps = (rs.hi - rs.lo + 1) * (cs.hi - cs.lo + 1), width = cs.hi - cs.lo + 1;
    constexpr index_t listed = 64;
    index_t tap[listed];
    for (index_t t0 = 0; t0 < taps; t0 += listed) {
        const index_t n = std::min(listed, taps - t0);
        for (index_t t = 0; t < n; ++t)
            tap[t] = (rs.lo + (t0 + t) / width) * g.kernel_w + cs.lo + (t0 + t) % width;
        with_tap_count(n == taps ? n : 0, [&](auto count) {
            gather_weight_taps<decltype(count)::value>(w, rows, kk, tap, n, out + t0, taps);
        });
    }
}

/// Row offsets of class (r, c)'s column matrix in an unpadded image of `plan` (channel outer, taps row-major):
/// ch * H * W + i * W + j. Every tap of a class reads real input at every position of the class, so the class
/// GEMMs need no padded copy of the images.
inline void conv_class_row_offsets(const Im2colPlan& plan, const ConvTapClasses& k, int r, int c,
                                   std::int32_t* out) {
    const Window2d& g = plan.g;
    const index_t plane = g.height * g.width;
    for (index_t ch = 0; ch < g.channels; ++ch)
        for (index_t i = k.rows[r].lo; i <= k.rows[r].hi; ++i)
            for (index_t j = k.cols[c].lo; j <= k.cols[c].hi; ++j)
                *out++ = static_cast<std::int32_t>(ch * plane + i * g.width + j);
}

/// Column offsets of class (r, c) for `count` unpadded images side by side, `image_stride` apart: column
/// n * positions + q reads the window of the class's q-th position (oh, ow) in sample n, whose top-left corner
/// is at n * image_stride + (oh * stride - padding) * W + ow * stride - padding. That corner may lie in the
/// padding (negative in sample 0), but row offset + column offset is a real input element for every tap of
/// the class. count * image_stride must fit in 31 bits.
inline void conv_class_col_offsets(const Im2colPlan& plan, const ConvTapClasses& k, int r, int c, index_t count,
                                   index_t image_stride, std::int32_t* out) {
    const Window2d& g = plan.g;
    const index_t positions = k.positions(r, c);
    for (index_t n = 0; n < count; ++n)
        for (index_t q = 0; q < positions; ++q) {
            const index_t p = k.position(r, c, q, g.out_w), oh = p / g.out_w, ow = p % g.out_w;
            *out++ = static_cast<std::int32_t>(n * image_stride + (oh * g.stride - g.padding) * g.width +
                                               ow * g.stride - g.padding);
        }
}

/// Where conv2d_forward_by_class's class GEMMs leave a block's results, and how its outputs gather them: class k
/// = (r, c) writes its [Cout, count * positions] result into columns from seg[k] of one [Cout, ld] matrix, and
/// element i = co * P + p of a sample's [Cout, P] output is element from[i] + n * step[i] of it for sample n of
/// the block (step[i] is the positions of p's class).
inline void conv_class_gather_offsets(const ConvTapClasses& k, index_t cout, index_t out_w, index_t P,
                                      const index_t* seg, index_t ld, std::int32_t* from, std::int32_t* step) {
    for (int r = 0; r < k.n_rows; ++r)
        for (int c = 0; c < k.n_cols; ++c) {
            const index_t positions = k.positions(r, c), start = seg[r * k.n_cols + c];
            for (index_t q = 0; q < positions; ++q) {
                const index_t p = k.position(r, c, q, out_w);
                for (index_t co = 0; co < cout; ++co) {
                    from[co * P + p] = static_cast<std::int32_t>(co * ld + start + q);
                    step[co * P + p] = static_cast<std::int32_t>(positions);
                }
            }
        }
}

}  // namespace strata::detail
