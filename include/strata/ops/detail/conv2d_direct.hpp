#pragma once
/// @file
/// The direct 3x3 convolution (stride 1, padding 1) on strata's packed kernels, for maps wide enough: the
/// forward (and so the input gradient, a convolution of the output gradient) as a GEMM whose B rows are read
/// in place from the padded image on the row grid, and the weight gradient as dot products of the output
/// gradient's rows with the image's shifted rows (kernels in conv_direct_body.inl). Neither unfolds nor packs
/// the image: with the 16-64 channels of the thin CIFAR-style nets a packed column served too few weight rows
/// to pay for its gathering.
///
/// The row grid of an H x W map padded to Hp x Wp = (H + 2) x (W + 2): output (h, w) at q = h * Wp + w; the
/// columns w = W, W + 1 of each row are computed and dropped (a W / (W + 2) efficiency: 93% on 28x28, 88% on
/// 14x14). The input under tap (i, j) of output q is at q + i * Wp + j of the padded plane.

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "strata/autograd/tape.hpp"
#include "strata/core/cpu_features.hpp"
#include "strata/core/parallel.hpp"
#include "strata/ops/detail/conv2d_parts.hpp"
#include "strata/ops/detail/gemm.hpp"
#include "strata/ops/detail/im2col.hpp"

namespace strata::detail {

/// Output width from which a 3x3 stride-1 padding-1 convolution runs direct on strata's packed kernels. On 7x7
/// maps the grid wastes 2 of 9 columns and a sample is 63 positions: conv2d_bench (AMD Zen 5, 64 channels, batch
/// 64) measured the direct path 1.22x (forward) and 1.42x (forward + backward) the time of the implicit GEMM.
inline constexpr index_t conv_direct_min_width = 8;

/// Columns of the GEMM register tile and the vector width of strata's packed kernels for `isa` (0 on generic).
template <class T>
struct DirectLanes {
    index_t nr = 0, width = 0;
    explicit DirectLanes(Isa isa) {
#if STRATA_X86_KERNELS
        if (isa == Isa::avx512) nr = avx512::Simd<T>::nv * avx512::Simd<T>::width, width = avx512::Simd<T>::width;
        if (isa == Isa::avx2) nr = avx2::Simd<T>::nv * avx2::Simd<T>::width, width = avx2::Simd<T>::width;
#else
        (void)isa;
#endif
    }
};

/// The row grid of a 3x3 padding-1 convolution over `g`, its columns rounded up to whole multiples of `lanes`.
struct ConvRowGrid {
    index_t plane_w = 0, plane = 0;  ///< padded row and plane
    index_t used = 0, cols = 0;      ///< grid positions H * plane_w, and rounded up
    index_t image = 0;               ///< elements per padded image, with the tail read past its last plane
    ConvRowGrid(const Window2d& g, index_t lanes)
        : plane_w(g.width + 2), plane((g.height + 2) * (g.width + 2)), used(g.out_h * (g.width + 2)),
          cols((used + lanes - 1) / lanes * lanes), image(g.channels * plane + (cols - used) + 2) {}
};

/// Whether conv2d runs `g` direct: strata's packed kernels, a 3x3 kernel at stride 1 with padding 1, outputs
/// at least conv_direct_min_width wide, at least 2 rows (so every tap reads the image somewhere: the weight
/// matrix is the whole weight), and every offset within 32 bits.
inline bool conv_direct_applies(const Window2d& g) {
    if (active_isa() == Isa::generic) return false;
    if (g.stride != 1 || g.kernel_h != 3 || g.kernel_w != 3 || g.padding != 1 || g.out_w < conv_direct_min_width ||
        g.height < 2)
        return false;
    const ConvRowGrid grid(g, 64);
    return static_cast<double>(grid.image) < 2147483647.0;
}

/// dst[0, n) = src[0, n) for n >= 8 in blocks of 8 (the last one overlapping the one before): rows of 8-28
/// elements without the scalar tail a loop leaves (on 14-wide rows all of it). Fixed-size memcpy compiles to
/// vector moves.
template <class T>
inline void conv_direct_copy_row(const T* src, T* dst, index_t n) {
    constexpr index_t B = 8;
    index_t i = 0;
    for (; i + B <= n; i += B) std::memcpy(dst + i, src + i, B * sizeof(T));
    if (i < n) std::memcpy(dst + n - B, src + n - B, B * sizeof(T));
}

/// `image` [C, H, W] (W >= 8) zero-padded by 1 into `padded` (grid.image elements: the planes, then zeros read
/// past them).
template <class T>
void conv_direct_pad(const T* image, index_t channels, index_t h, index_t w, const ConvRowGrid& grid, T* padded) {
    const index_t pw = grid.plane_w;
    for (index_t c = 0; c < channels; ++c) {
        T* plane = padded + c * grid.plane;
        std::fill_n(plane, pw + 1, T(0));  // the top row and the first row's left pad
        for (index_t r = 0; r < h; ++r) {
            T* row = plane + (r + 1) * pw;
            conv_direct_copy_row(image + (c * h + r) * w, row + 1, w);
            row[w + 1] = T(0);
            row[pw] = T(0);  // the next row's left pad (the bottom row's first element after the last)
        }
        std::fill_n(plane + (h + 1) * pw, pw, T(0));
    }
    std::fill(padded + channels * grid.plane, padded + grid.image, T(0));
}

/// A sample's output gradient `dy` [cout, ho, wo] (wo >= 8) on the row grid `d` [cout, grid.cols]: each row
/// followed by zeros in the dropped columns, zeros after the last row.
template <class T>
void conv_direct_grid(const T* dy, index_t cout, index_t ho, index_t wo, const ConvRowGrid& grid, T* d) {
    const index_t pw = grid.plane_w;
    for (index_t co = 0; co < cout; ++co) {
        T* out = d + co * grid.cols;
        for (index_t r = 0; r < ho; ++r) {
            T* row = out + r * pw;
            conv_direct_copy_row(dy + (co * ho + r) * wo, row, wo);
            row[wo] = T(0);
            row[wo + 1] = T(0);
        }
        std::fill(out + ho * pw, out + grid.cols, T(0));
    }
}

/// Finishes one sample's GEMM result `y` [cout, grid.cols] (on the row grid) through the epilogue `e` into the
/// NCHW output at `out` + offset (`residual` and `raw` of `e` offset alike): each channel's rows copied together
/// (into `tmp`, ho * wo elements, when accumulating), then the epilogue over the whole channel.
template <class T>
void conv_finish_grid(const T* y, const ConvRowGrid& grid, index_t cout, index_t ho, index_t wo,
                      const ConvEpilogue<T>& e, index_t offset, T* out, T* tmp) {
    const index_t P = ho * wo;
    for (index_t co = 0; co < cout; ++co) {
        const T* acc = y + co * grid.cols;
        T* dst = out + offset + co * P;
        T* compact = e.accumulate ? tmp : dst;
        for (index_t h = 0; h < ho; ++h) conv_direct_copy_row(acc + h * grid.plane_w, compact + h * wo, wo);
        if (e.accumulate) {
            simd_loop(P, [dst, compact](index_t q) { dst[q] += compact[q]; });
            continue;
        }
        if (e.raw) std::copy_n(dst, P, e.raw + offset + co * P);
        conv_epilogue_row(dst, P, e.scale ? e.scale[co] : T(1), e.shift ? e.shift[co] : T(0),
                          e.residual ? e.residual + offset + co * P : nullptr, e.relu, dst);
    }
}

/// The forward of a 3x3 stride-1 padding-1 convolution of `x` [N, Cin, H, W] into `py` [N, Cout, H, W] through
/// the epilogue `e`, with the weights `a` prepacked by gemm_pack_a() with `blocking` (made for this ISA), the
/// samples shared out among `threads`. `row_off` [Cin * 9]: conv_row_offsets() of the padded plane. Scratch
/// from the tape (the caller's scratch scope).
template <class T>
void conv2d_forward_direct(Tape& tape, const T* px, index_t N, const PackedA<T>& a, const Window2d& g,
                           const std::int32_t* row_off, const GemmBlocking<T>& blocking, int threads,
                           const ConvEpilogue<T>& e, T* py) {
    const Isa isa = blocking.isa();
    const ConvRowGrid grid(g, DirectLanes<T>(isa).nr);
    const index_t Cout = a.m, K = a.k, P = g.col_cols(), image = g.channels * g.height * g.width;
    const index_t pad_stride = conv_scratch_stride<T>(grid.image), y_stride = conv_scratch_stride<T>(Cout * grid.cols);
    const index_t tmp_stride = e.accumulate ? conv_scratch_stride<T>(P) : 0;
    const index_t per_thread = thread_scratch_stride<T>(pad_stride + y_stride + tmp_stride, threads);
    T* scratch = tape.buffer<T>(threads * per_thread);
    const index_t mc = blocking.blocks().mc, kc = blocking.blocks().kc;
    parallel_for(N, threads, threads > 1, [&](index_t n) {
        T* padded = scratch + thread_index() * per_thread;
        T* y = padded + pad_stride;
        T* tmp = y + y_stride;
        run_for_active_isa([&] { conv_direct_pad(px + n * image, g.channels, g.height, g.width, grid, padded); });
#if STRATA_X86_KERNELS
        if (isa == Isa::avx512) avx512::gemm_shifted(Cout, grid.cols, K, a.data, padded, row_off, y, grid.cols, mc, kc);
        else avx2::gemm_shifted(Cout, grid.cols, K, a.data, padded, row_off, y, grid.cols, mc, kc);
#else
        (void)mc, (void)kc, (void)row_off;
#endif
        run_for_active_isa([&] { conv_finish_grid(y, grid, Cout, g.out_h, g.out_w, e, n * Cout * P, py, tmp); });
    });
}

/// Bytes of a chunk's operands the weight gradient keeps in L2 while its register tiles sweep them.
inline constexpr index_t conv_direct_dw_chunk_bytes = 256 * 1024;

/// dw [Cout, Cin * 9] += the weight gradient of a 3x3 stride-1 padding-1 convolution of `x` [N, Cin, H, W] for
/// the output gradient `dy` [N, Cout, H, W]. The samples are split into `threads` runs, each summed into a
/// partial (or straight into dw on one thread) in chunks that fit in L2: the chunk's images padded and its
/// output gradients on the row grid (zero in the dropped columns), then, for each few output channels and each
/// input channel, the nine taps' dot products over the whole chunk in registers. The partials are added in
/// thread order. With `overwrite` dw holds no gradient yet and is written instead of added to. Scratch from the
/// tape (the caller's scratch scope).
template <class T>
void conv2d_weight_grad_direct(Tape& tape, const T* px, const T* dy, index_t N, index_t Cout, const Window2d& g,
                               int threads, T* dw, bool overwrite = false) {
    const Isa isa = active_isa();
    const ConvRowGrid grid(g, DirectLanes<T>(isa).width);
    const index_t Cin = g.channels, K = Cin * 9, P = g.col_cols(), image = Cin * g.height * g.width;
    const index_t x_stride = conv_scratch_stride<T>(grid.image), dy_stride = conv_scratch_stride<T>(Cout * grid.cols);
    const index_t per_sample = (x_stride + dy_stride) * static_cast<index_t>(sizeof(T));
    const index_t chunk = std::max<index_t>(1, std::min<index_t>(N, conv_direct_dw_chunk_bytes / per_sample));
    const int parts = static_cast<int>(std::max<index_t>(1, std::min<index_t>(threads, N)));
    const index_t part_stride = parts > 1 ? conv_scratch_stride<T>(Cout * K) : 0;
    const index_t per_thread = thread_scratch_stride<T>(part_stride + chunk * (x_stride + dy_stride), parts);
    T* scratch = tape.buffer<T>(parts * per_thread);
    std::int32_t tap_off[9];
    for (int t = 0; t < 9; ++t) tap_off[t] = static_cast<std::int32_t>(t / 3 * grid.plane_w + t % 3);
    parallel_for(parts, parts, parts > 1, [&](index_t s) {
        T* mine = scratch + s * per_thread;
        T* acc = parts > 1 ? mine : dw;
        if (parts > 1 || overwrite) std::fill_n(acc, Cout * K, T(0));
        T* xs = mine + part_stride;
        T* dys = xs + chunk * x_stride;
        const index_t first = s * N / parts, last = (s + 1) * N / parts;
        for (index_t n0 = first; n0 < last; n0 += chunk) {
            const index_t count = std::min(chunk, last - n0);
            run_for_active_isa([&] {
                for (index_t j = 0; j < count; ++j) {
                    conv_direct_pad(px + (n0 + j) * image, Cin, g.height, g.width, grid, xs + j * x_stride);
                    conv_direct_grid(dy + (n0 + j) * Cout * P, Cout, g.out_h, g.out_w, grid, dys + j * dy_stride);
                }
            });
#if STRATA_X86_KERNELS
            const index_t R = isa == Isa::avx512 ? avx512::weight_grad_rows<T> : avx2::weight_grad_rows<T>;
            for (index_t co = 0; co < Cout; co += R)
                for (index_t c = 0; c < Cin; ++c) {
                    const index_t rows = std::min(R, Cout - co);
                    T* out = acc + co * K + c * 9;
                    const T* d = dys + co * grid.cols;
                    const T* x = xs + c * grid.plane;
                    if (isa == Isa::avx512)
                        avx512::conv_weight_grad_taps(count, grid.cols, d, grid.cols, dy_stride, rows, x, x_stride,
                                                      tap_off, out, K);
                    else
                        avx2::conv_weight_grad_taps(count, grid.cols, d, grid.cols, dy_stride, rows, x, x_stride,
                                                    tap_off, out, K);
                }
#endif
        }
    });
    if (parts > 1) {  // dw += the partials in thread order, the weights shared out
        const index_t total = Cout * K;
        parallel_for(parts, parts, true, [&](index_t s) {
            const index_t begin = s * total / parts, end = (s + 1) * total / parts;
            for (int t = 0; t < parts; ++t) {
                const T* part = scratch + t * per_thread;
                if (t == 0 && overwrite)
                    std::copy(part + begin, part + end, dw + begin);
                else
                    for (index_t i = begin; i < end; ++i) dw[i] += part[i];
            }
        });
    }
}

}  // namespace strata::detail
