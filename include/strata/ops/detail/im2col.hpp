#pragma once
/// @file
/// im2col / col2im for one NCHW image: unfold the kernel_h x kernel_w windows of a [C, H, W] image (stride and
/// zero padding equal in both directions) into the columns of a [C*kh*kw, Ho*Wo] matrix, and fold such a
/// matrix back, accumulating. Both work on a zero-padded copy of the image, so no cell needs bounds logic:
/// by rows of the padded plane at stride 1 on wide maps, else by a table of offsets (small maps, strides).
/// Also the window geometry and argument checks shared by convolution and pooling.

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

/// The gather plan of im2col for one geometry. Kernel taps (i, j) that see only padding at every output
/// position would give all-zero rows; they are left out ("inactive"), so a 3x3 padding-1 kernel on a 1x1 map
/// unfolds to its centre tap only. For each active tap the plan holds the offset of every output position's
/// input cell in the zero-padded [H + 2p, W + 2p] plane (the image itself when p == 0).
struct Im2colPlan {
    Window2d g;
    index_t plane_h = 0, plane_w = 0;      ///< the (padded) plane the offsets index
    index_t taps = 0;                      ///< active taps
    const std::int32_t* tap_ids = nullptr;  ///< [taps]: i*kernel_w + j of each active tap, ascending
    const std::int32_t* offsets = nullptr;  ///< [taps, Ho*Wo]

    /// Number of int32 the plan of `g` needs as storage.
    static index_t storage_size(const Window2d& g) { return g.kernel_h * g.kernel_w * (1 + g.col_cols()); }

    /// Builds the plan of `g` in `storage` (storage_size(g) int32, kept alive by the caller). The padded
    /// plane must have fewer than 2^31 elements.
    Im2colPlan(const Window2d& geometry, std::int32_t* storage)
        : g(geometry), plane_h(geometry.height + 2 * geometry.padding),
          plane_w(geometry.width + 2 * geometry.padding) {
        const index_t P = g.col_cols(), p = g.padding, s = g.stride;
        std::int32_t* ids = storage;
        std::int32_t* offs = storage + g.kernel_h * g.kernel_w;
        for (index_t i = 0; i < g.kernel_h; ++i)
            for (index_t j = 0; j < g.kernel_w; ++j) {
                bool active = false;  // does any output position read a real (unpadded) cell through this tap?
                std::int32_t* o = offs + taps * P;
                for (index_t oh = 0; oh < g.out_h; ++oh)
                    for (index_t ow = 0; ow < g.out_w; ++ow) {
                        const index_t h = oh * s + i, w = ow * s + j;  // in the padded plane
                        active = active || (h >= p && h < p + g.height && w >= p && w < p + g.width);
                        o[oh * g.out_w + ow] = static_cast<std::int32_t>(h * plane_w + w);
                    }
                if (active) ids[taps++] = static_cast<std::int32_t>(i * g.kernel_w + j);
            }
        tap_ids = ids;
        offsets = offs;
    }

    /// Rows of the (compacted) column matrix: channels * active taps.
    index_t rows() const { return g.channels * taps; }
    /// Whether every kernel tap is active (the column matrix then matches the full weight matrix).
    bool all_taps() const { return taps == g.kernel_h * g.kernel_w; }
    /// Elements of the padded-image scratch that im2col and col2im need (0 without padding).
    index_t padded_size() const { return g.padding > 0 ? g.channels * plane_h * plane_w : 0; }
};

/// Copies `image` [C, H, W] into the interior of the zero-padded planes `padded` [C, H+2p, W+2p].
template <class T>
void pad_image(const T* image, const Im2colPlan& plan, T* padded) {
    const Window2d& g = plan.g;
    std::fill(padded, padded + plan.padded_size(), T(0));
    for (index_t c = 0; c < g.channels; ++c)
        for (index_t h = 0; h < g.height; ++h)
            std::copy_n(image + (c * g.height + h) * g.width, g.width,
                        padded + (c * plan.plane_h + h + g.padding) * plan.plane_w + g.padding);
}

/// Output widths from which a stride-1 im2col/col2im walks whole rows of the padded plane instead of going
/// through the offset table: a row of a 3x3 window's tap is then a contiguous run (a vector copy or add), but
/// each costs a call or a loop start, which on 7-wide and smaller maps cost more than the table saves.
inline constexpr index_t unfold_row_min_width = 12;

/// Whether im2col/col2im of `g` go by rows (stride 1, rows of at least unfold_row_min_width positions).
inline bool unfold_by_rows(const Window2d& g) { return g.stride == 1 && g.out_w >= unfold_row_min_width; }

/// Unfolds `image` [C, H, W] into `col` [C * taps, Ho*Wo]: row c*taps + a, column oh*Wo + ow holds the input
/// cell under active tap a of channel c at output position (oh, ow), 0 in the padding. Rows of `col` are
/// `ld` elements apart (ld >= Ho*Wo), so several images can be unfolded side by side into one wider matrix.
/// `padded` is scratch of plan.padded_size() elements.
template <class T>
void im2col(const T* image, const Im2colPlan& plan, T* padded, T* col, index_t ld) {
    const Window2d& g = plan.g;
    const index_t P = g.col_cols(), plane = plan.plane_h * plan.plane_w;
    const T* src = image;
    if (g.padding > 0) {
        pad_image(image, plan, padded);
        src = padded;
    }
    const bool by_rows = unfold_by_rows(g);
    for (index_t c = 0; c < g.channels; ++c, src += plane)
        for (index_t a = 0; a < plan.taps; ++a) {
            T* dst = col + (c * plan.taps + a) * ld;
            if (by_rows) {  // tap (i, j) at output row oh reads the plane's row oh + i from column j on
                const T* from = src + plan.tap_ids[a] / g.kernel_w * plan.plane_w + plan.tap_ids[a] % g.kernel_w;
                for (index_t oh = 0; oh < g.out_h; ++oh)
                    std::copy_n(from + oh * plan.plane_w, g.out_w, dst + oh * g.out_w);
                continue;
            }
            const std::int32_t* off = plan.offsets + a * P;
            for (index_t q = 0; q < P; ++q) dst[q] = src[off[q]];
        }
}

/// The adjoint of im2col: adds every element of `col` (layout as im2col writes it) to the image cell it was
/// read from (`image` += fold(col)); padding cells are dropped, overlapping windows accumulate.
/// `padded` is scratch of plan.padded_size() elements.
template <class T>
void col2im(const T* col, index_t ld, const Im2colPlan& plan, T* padded, T* image) {
    const Window2d& g = plan.g;
    const index_t P = g.col_cols(), plane = plan.plane_h * plan.plane_w;
    T* dst = g.padding > 0 ? padded : image;
    if (g.padding > 0) std::fill(padded, padded + plan.padded_size(), T(0));
    const bool by_rows = unfold_by_rows(g);
    for (index_t c = 0; c < g.channels; ++c)
        for (index_t a = 0; a < plan.taps; ++a) {
            const T* from = col + (c * plan.taps + a) * ld;
            T* to = dst + c * plane;
            if (by_rows) {  // the rows im2col copied, added back (no two cells of one row coincide)
                T* base = to + plan.tap_ids[a] / g.kernel_w * plan.plane_w + plan.tap_ids[a] % g.kernel_w;
                for (index_t oh = 0; oh < g.out_h; ++oh) {
                    T* row = base + oh * plan.plane_w;
                    const T* part = from + oh * g.out_w;
                    for (index_t ow = 0; ow < g.out_w; ++ow) row[ow] += part[ow];
                }
                continue;
            }
            const std::int32_t* off = plan.offsets + a * P;
            for (index_t q = 0; q < P; ++q) to[off[q]] += from[q];
        }
    if (g.padding > 0)
        for (index_t c = 0; c < g.channels; ++c)
            for (index_t h = 0; h < g.height; ++h) {
                const T* from = padded + (c * plan.plane_h + h + g.padding) * plan.plane_w + g.padding;
                T* to = image + (c * g.height + h) * g.width;
                for (index_t w = 0; w < g.width; ++w) to[w] += from[w];
            }
}

}  // namespace strata::detail
