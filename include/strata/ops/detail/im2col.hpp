#pragma once
/// @file
/// im2col / col2im for one NCHW image: unfold the kernel_h x kernel_w windows of a [C, H, W] image (stride and
/// zero padding equal in both directions) into the columns of a [C*kh*kw, Ho*Wo] matrix, and fold such a
/// matrix back, accumulating. Both work on whole rows of output positions: the range of positions that read
/// the image is computed once per kernel tap, so there is no per-element bounds logic and no padded copy.
/// Also the window geometry and argument checks shared by
/// convolution and pooling.

#include <algorithm>
#include <cstdint>

#include "strata/core/error.hpp"
#include "strata/core/shape.hpp"

namespace strata::detail {

/// Output length of a sliding window: floor((in + 2*padding - kernel) / stride) + 1, or 0 when the kernel
/// does not fit in the padded input. `stride` must be >= 1.
inline index_t window_output_size(index_t in, index_t kernel, index_t stride, index_t padding) {
    const index_t span = in + 2 * padding - kernel;
    return span < 0 ? 0 : span / stride + 1;
}

/// The geometry of a sliding window over one [channels, height, width] image.
struct Window2d {
    index_t channels = 0, height = 0, width = 0;  ///< input image
    index_t kernel_h = 1, kernel_w = 1;           ///< window size
    index_t stride = 1, padding = 0;              ///< the same in both directions
    index_t out_h = 0, out_w = 0;                 ///< number of window positions

    /// A window geometry with the output size computed from the others.
    Window2d(index_t c, index_t h, index_t w, index_t kh, index_t kw, index_t s, index_t p)
        : channels(c), height(h), width(w), kernel_h(kh), kernel_w(kw), stride(s), padding(p),
          out_h(window_output_size(h, kh, s, p)), out_w(window_output_size(w, kw, s, p)) {}

    /// Rows of the column matrix: channels * kernel_h * kernel_w.
    index_t col_rows() const { return channels * kernel_h * kernel_w; }
    /// Columns of the column matrix (one per window position): out_h * out_w.
    index_t col_cols() const { return out_h * out_w; }
    /// True when the column matrix is the image itself (1x1 kernel, stride 1, no padding).
    bool is_identity() const { return kernel_h == 1 && kernel_w == 1 && stride == 1 && padding == 0; }
};

/// Validates the arguments shared by max_pool2d and avg_pool2d (PyTorch's rules) and returns the geometry.
/// Throws ShapeError on a rank other than 4 or an input smaller than the kernel; ArgumentError on
/// kernel < 1, stride < 1, padding < 0 or padding > kernel / 2.
inline Window2d pool2d_geometry(const char* op, const Shape& x, index_t kernel, index_t stride, index_t padding) {
    check<ShapeError>(x.rank() == 4, op, ": input must have rank 4 [N, C, H, W], got shape ", x);
    check<ArgumentError>(kernel >= 1, op, ": kernel must be >= 1, got ", kernel);
    check<ArgumentError>(stride >= 1, op, ": stride must be >= 1, got ", stride);
    check<ArgumentError>(padding >= 0 && padding <= kernel / 2, op, ": padding must be between 0 and kernel / 2 = ",
                         kernel / 2, ", got padding ", padding, " with kernel ", kernel);
    check<ShapeError>(kernel <= x[2] + 2 * padding && kernel <= x[3] + 2 * padding, op, ": kernel ", kernel,
                      " is larger than the padded input ", x[2] + 2 * padding, "x", x[3] + 2 * padding,
                      " (input shape ", x, ", padding ", padding, ")");
    return Window2d(x[1], x[2], x[3], kernel, kernel, stride, padding);
}

/// The output positions o in [lo, hi) whose input coordinate o*stride + k - padding lies inside [0, in):
/// the part of a row (or column) of output positions that kernel offset k reads from the image, the rest
/// reading padding. Empty (lo == hi) when none does.
struct ValidRange {
    index_t lo = 0, hi = 0;
    ValidRange(index_t k, index_t in, index_t out, index_t stride, index_t padding) {
        const index_t last = in - 1 + padding - k;  // o*stride <= last
        hi = last < 0 ? 0 : std::min(out, last / stride + 1);
        lo = std::min(hi, k >= padding ? index_t{0} : (padding - k + stride - 1) / stride);
    }
};

/// The unfolding plan of im2col for one geometry. Kernel taps (i, j) that see only padding at every output
/// position would give all-zero rows; they are left out ("inactive"), so a 3x3 padding-1 kernel on a 1x1 map
/// unfolds to its centre tap only.
struct Im2colPlan {
    Window2d g;
    index_t taps = 0;                       ///< active taps
    const std::int32_t* tap_ids = nullptr;  ///< [taps]: i*kernel_w + j of each active tap, ascending

    /// Number of int32 the plan of `g` needs as storage.
    static index_t storage_size(const Window2d& g) { return g.kernel_h * g.kernel_w; }

    /// Builds the plan of `g` in `storage` (storage_size(g) int32, kept alive by the caller).
    Im2colPlan(const Window2d& geometry, std::int32_t* storage) : g(geometry) {
        for (index_t i = 0; i < g.kernel_h; ++i) {
            const ValidRange rows(i, g.height, g.out_h, g.stride, g.padding);
            for (index_t j = 0; j < g.kernel_w; ++j) {
                const ValidRange cols(j, g.width, g.out_w, g.stride, g.padding);
                if (rows.lo < rows.hi && cols.lo < cols.hi)
                    storage[taps++] = static_cast<std::int32_t>(i * g.kernel_w + j);
            }
        }
        tap_ids = storage;
    }

    /// Rows of the (compacted) column matrix: channels * active taps.
    index_t rows() const { return g.channels * taps; }
    /// Whether every kernel tap is active (the column matrix then matches the full weight matrix).
    bool all_taps() const { return taps == g.kernel_h * g.kernel_w; }
};

/// Unfolds `image` [C, H, W] into `col` [C * taps, Ho*Wo]: row c*taps + a, column oh*Wo + ow holds the input
/// cell under active tap a of channel c at output position (oh, ow), 0 in the padding. Rows of `col` are
/// `ld` elements apart (ld >= Ho*Wo), so several images can be unfolded side by side into one wider matrix.
/// Works row by row: a stride-1 row segment is one contiguous copy, padding is written as zeros directly.
template <class T>
void im2col(const T* image, const Im2colPlan& plan, T* col, index_t ld) {
    const Window2d& g = plan.g;
    const index_t s = g.stride, p = g.padding, Wo = g.out_w;
    for (index_t a = 0; a < plan.taps; ++a) {
        const index_t i = plan.tap_ids[a] / g.kernel_w, j = plan.tap_ids[a] % g.kernel_w;
        const ValidRange rows(i, g.height, g.out_h, s, p), cols(j, g.width, Wo, s, p);
        for (index_t c = 0; c < g.channels; ++c) {
            const T* plane = image + c * g.height * g.width;
            T* dst = col + (c * plan.taps + a) * ld;
            std::fill(dst, dst + rows.lo * Wo, T(0));
            for (index_t oh = rows.lo; oh < rows.hi; ++oh) {
                T* d = dst + oh * Wo;
                const T* src = plane + (oh * s + i - p) * g.width;  // the input row; column ow*s + j - p
                std::fill(d, d + cols.lo, T(0));
                if (s == 1)
                    std::copy(src + (cols.lo + j - p), src + (cols.hi + j - p), d + cols.lo);
                else
                    for (index_t ow = cols.lo; ow < cols.hi; ++ow) d[ow] = src[ow * s + j - p];
                std::fill(d + cols.hi, d + Wo, T(0));
            }
            std::fill(dst + rows.hi * Wo, dst + g.out_h * Wo, T(0));
        }
    }
}

/// The adjoint of im2col: adds every element of `col` (layout as im2col writes it) to the image cell it was
/// read from (`image` += fold(col)); padding cells are dropped, overlapping windows accumulate.
template <class T>
void col2im(const T* col, index_t ld, const Im2colPlan& plan, T* image) {
    const Window2d& g = plan.g;
    const index_t s = g.stride, p = g.padding, Wo = g.out_w;
    for (index_t c = 0; c < g.channels; ++c) {
        T* plane = image + c * g.height * g.width;
        for (index_t a = 0; a < plan.taps; ++a) {
            const index_t i = plan.tap_ids[a] / g.kernel_w, j = plan.tap_ids[a] % g.kernel_w;
            const ValidRange rows(i, g.height, g.out_h, s, p), cols(j, g.width, Wo, s, p);
            const T* from = col + (c * plan.taps + a) * ld;
            for (index_t oh = rows.lo; oh < rows.hi; ++oh) {
                const T* f = from + oh * Wo;
                T* dst = plane + (oh * s + i - p) * g.width;
                if (s == 1) {
                    for (index_t ow = cols.lo; ow < cols.hi; ++ow) dst[ow + j - p] += f[ow];
                } else {
                    for (index_t ow = cols.lo; ow < cols.hi; ++ow) dst[ow * s + j - p] += f[ow];
                }
            }
        }
    }
}

}  // namespace strata::detail
