#pragma once
/// @file
/// The pieces conv2d's forward and backward share (ops/conv2d.hpp): how a batch is split into GEMM groups, the
/// epilogue applied to each group's GEMM result, the reorderings between the GEMM's [Cout, samples x positions]
/// layout and NCHW, the weight over the active kernel taps, and the row and column offsets through which the
/// implicit GEMM reads the column matrix from the images.

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "strata/autograd/tape.hpp"
#include "strata/core/aligned.hpp"
#include "strata/core/cpu_features.hpp"
#include "strata/core/parallel.hpp"
#include "strata/core/simd_loop.hpp"
#include "strata/ops/detail/im2col.hpp"

namespace strata::detail {

/// How conv2d splits a batch: `group` samples are unfolded side by side into one GEMM (small feature maps
/// give GEMMs too thin to be efficient one sample at a time), `chunks` = ceil(N / group) GEMM groups are
/// shared out statically among `threads` OpenMP threads. Convolutions too small to repay a parallel region
/// (under `min_flops_per_thread` per thread) run on the calling thread.
struct ConvBatchPlan {
    index_t group = 1;
    index_t chunks = 0;
    int threads = 1;

    /// Columns a GEMM should have at least before samples stop being grouped.
    static constexpr index_t target_cols = 128;
    /// Forward multiply-adds times two that make one more thread worth waking.
    static constexpr double min_flops_per_thread = 1e6;

    /// Columns of the widest register tile of strata's packed kernels (AVX-512 float): a GEMM's columns are
    /// computed in whole tiles, so a chunk of cols columns costs about roundup(cols, tile_cols).
    static constexpr index_t tile_cols = 32;

    ConvBatchPlan(index_t batch, index_t positions, double flops) {
        index_t available = available_threads();
        available = std::max<index_t>(1, std::min(available, static_cast<index_t>(flops / min_flops_per_thread)));
        positions = std::max<index_t>(positions, 1);
        const index_t per_thread = (batch + available - 1) / available;
        const index_t least = std::max<index_t>(1, std::min((target_cols + positions - 1) / positions, per_thread));
        // From the least group that reaches target_cols up to four times it, the group whose busiest thread
        // computes the fewest tile columns (ties: the smaller group). On 7x7 maps (49 positions) the least group,
        // 3 samples, fills 147 of 160 columns; 5 fill 245 of 256.
        index_t best_cost = -1;
        for (index_t g = least; g <= std::max(least, std::min(4 * least, per_thread)); ++g) {
            const index_t cost = busiest_thread_columns(batch, g, positions, available);
            if (best_cost < 0 || cost < best_cost) {
                best_cost = cost;
                group = g;
            }
        }
        chunks = (batch + group - 1) / group;
        threads = static_cast<int>(std::max<index_t>(1, std::min(available, chunks)));
    }

    /// The tile columns of the busiest thread when `batch` samples go in chunks of `group` to `available` threads,
    /// split statically (contiguous runs of chunks, as parallel_for does).
    static index_t busiest_thread_columns(index_t batch, index_t group, index_t positions, index_t available) {
        const index_t n_chunks = (batch + group - 1) / group;
        const index_t used = std::max<index_t>(1, std::min(available, n_chunks));
        const index_t per = (n_chunks + used - 1) / used;
        index_t busiest = 0;
        for (index_t t = 0; t < used; ++t) {
            index_t columns = 0;
            for (index_t c = t * per; c < std::min(n_chunks, (t + 1) * per); ++c) {
                const index_t cols = std::min(group, batch - c * group) * positions;
                columns += (cols + tile_cols - 1) / tile_cols * tile_cols;
            }
            busiest = std::max(busiest, columns);
        }
        return busiest;
    }

    /// The first sample of chunk `c` and the number of samples in it.
    index_t first(index_t c) const { return c * group; }
    index_t size(index_t c, index_t batch) const { return std::min(group, batch - c * group); }
};

/// Number of T in a per-thread scratch slice of `n` elements, rounded up to whole 64-byte lines.
template <class T>
index_t conv_scratch_stride(index_t n) {
    return whole_lines<T>(n);
}

/// Unfolds samples [n0, n0 + count) of `x` side by side into `col` ([K, count*P]) and returns it, or returns
/// the sample itself when it already is its column matrix (one sample, 1x1 kernel, stride 1, no padding).
template <class T>
const T* conv_unfold(const T* x, const Im2colPlan& plan, index_t n0, index_t count, T* padded, T* col) {
    const Window2d& g = plan.g;
    const index_t image = g.channels * g.height * g.width, P = g.col_cols();
    if (count == 1 && g.is_identity()) return x + n0 * image;
    for (index_t j = 0; j < count; ++j) im2col(x + (n0 + j) * image, plan, padded, col + j * P, count * P);
    return col;
}

/// What conv2d's forward does to every output element right after the GEMM, while the chunk is in cache:
/// out = act(acc * scale[c] + shift[c] + residual), where acc is the convolution's sum and each part is
/// optional (a null scale is 1, a null shift 0, a null residual 0, act the identity unless `relu`). Plain
/// conv2d uses shift = bias; the fused eval path of conv + batch-norm (+ residual add) (+ ReLU) uses the
/// batch-norm's per-channel scale and shift (see conv2d_affine).
template <class T>
struct ConvEpilogue {
    const T* scale = nullptr;     ///< [Cout] or null
    const T* shift = nullptr;     ///< [Cout] or null
    const T* residual = nullptr;  ///< [N, Cout, Ho, Wo] (the output's layout) or null
    bool relu = false;            ///< clamp at 0 last
    T* raw = nullptr;             ///< when not null, receives acc ([N, Cout, Ho, Wo]) before the epilogue
    bool accumulate = false;      ///< out += acc instead (the parts above must then all be unset)
};

/// One output row of `n` elements: out[q] = act(acc[q] * s + b (+ res[q])). `acc` may equal `out` (in place).
template <class T>
void conv_epilogue_row(const T* acc, index_t n, T s, T b, const T* res, bool relu, T* out) {
    if (res) {
        if (relu)
            simd_loop(n, [=](index_t q) {
                const T v = acc[q] * s + b + res[q];
                out[q] = v > T(0) ? v : T(0);
            });
        else
            simd_loop(n, [=](index_t q) { out[q] = acc[q] * s + b + res[q]; });
    } else if (relu) {
        simd_loop(n, [=](index_t q) {
            const T v = acc[q] * s + b;
            out[q] = v > T(0) ? v : T(0);
        });
    } else if (s != T(1)) {
        simd_loop(n, [=](index_t q) { out[q] = acc[q] * s + b; });
    } else if (b != T(0) || acc != out) {
        simd_loop(n, [=](index_t q) { out[q] = acc[q] + b; });
    }
}

/// Finishes a chunk of `count` samples: the GEMM result `y` (element (co, j, q) at y[co*ld + j*P + q]) goes
/// through the epilogue `e` into the NCHW output `out` (sample j, channel co at out[(j*cout + co)*P]); `y`
/// may be `out` itself (count == 1, ld == P; when accumulating, the GEMM has then added into it already).
/// `residual` and `raw` of `e` are offset like `out`.
template <class T>
void conv_finish(const T* y, index_t ld, index_t count, index_t cout, index_t P, const ConvEpilogue<T>& e,
                 index_t offset, T* out) {
    for (index_t j = 0; j < count; ++j)
        for (index_t co = 0; co < cout; ++co) {
            const T* acc = y + co * ld + j * P;
            const index_t at = offset + (j * cout + co) * P;
            if (e.accumulate) {  // the GEMM accumulated into `out` itself when y is out
                if (acc != out + at) ArrayMap<T>(out + at, P) += ArrayMap<const T>(acc, P);
                continue;
            }
            if (e.raw) std::copy_n(acc, P, e.raw + at);
            conv_epilogue_row(acc, P, e.scale ? e.scale[co] : T(1), e.shift ? e.shift[co] : T(0),
                              e.residual ? e.residual + at : nullptr, e.relu, out + at);
        }
}

/// Output positions per sample below which conv_finish_gathered finishes a group of samples: there a channel's
/// outputs are rows too short to vectorise (1, 4 or 9 elements on ResNet-18's small maps).
inline constexpr index_t conv_gathered_finish_below = 16;

/// The epilogue's per-channel scale and shift spread over each channel's P outputs (`sc` and `sh`, [Cout * P]
/// each; 1 and 0 where the epilogue has none), for conv_finish_gathered.
template <class T>
void conv_gather_constants(const ConvEpilogue<T>& e, index_t cout, index_t P, T* sc, T* sh) {
    for (index_t co = 0; co < cout; ++co) {
        std::fill_n(sc + co * P, P, e.scale ? e.scale[co] : T(1));
        std::fill_n(sh + co * P, P, e.shift ? e.shift[co] : T(0));
    }
}

/// One sample's `cp` = Cout * P outputs gathered from a GEMM result `y`: out[i] = act(y[from[i] + n * step[i]] *
/// sc[i] + sh[i] (+ res[i])) for sample n of the result. A loop over the whole sample (gathered loads,
/// contiguous stores). Pointers as parameters (see relu.hpp's loops).
template <bool Residual, bool Relu, class T>
inline void conv_gather_loop(const T* y, const std::int32_t* from, const std::int32_t* step, std::int32_t n,
                             index_t cp, const T* sc, const T* sh, const T* res, T* out) {
    simd_loop(cp, [=](index_t i) {
        T v = y[from[i] + n * step[i]] * sc[i] + sh[i];
        if constexpr (Residual) v += res[i];
        if constexpr (Relu) v = v > T(0) ? v : T(0);
        out[i] = v;
    });
}

/// conv_finish sample by sample, for small maps: samples [n0, n1) of a GEMM result `y` whose element i = co * P +
/// p of sample n is y[from[i] + n * step[i]], through the epilogue `e` (its scale and shift spread into `sc`
/// and `sh` by conv_gather_constants) into the NCHW output `out` at offset + n * cp, cp = Cout * P; the
/// epilogue's residual and raw are offset alike. When `e` accumulates, the result is added to `out`.
template <class T>
void conv_finish_gathered(const T* y, const std::int32_t* from, const std::int32_t* step, index_t n0, index_t n1,
                          index_t cp, const T* sc, const T* sh, const ConvEpilogue<T>& e, index_t offset, T* out) {
    for (index_t n = n0; n < n1; ++n) {
        const auto j = static_cast<std::int32_t>(n);
        const index_t at = offset + n * cp;
        T* o = out + at;
        if (e.accumulate) {
            simd_loop(cp, [=](index_t i) { o[i] += y[from[i] + j * step[i]]; });
            continue;
        }
        if (e.raw) {
            T* raw = e.raw + at;
            simd_loop(cp, [=](index_t i) { raw[i] = y[from[i] + j * step[i]]; });
        }
        const T* res = e.residual ? e.residual + at : nullptr;
        if (res && e.relu) conv_gather_loop<true, true>(y, from, step, j, cp, sc, sh, res, o);
        else if (res) conv_gather_loop<true, false>(y, from, step, j, cp, sc, sh, res, o);
        else if (e.relu) conv_gather_loop<false, true>(y, from, step, j, cp, sc, sh, res, o);
        else conv_gather_loop<false, false>(y, from, step, j, cp, sc, sh, res, o);
    }
}

/// The inverse reordering: NCHW samples `nchw` [count, Cout, P] into `y` [Cout, count*P].
template <class T>
void conv_from_nchw(const T* nchw, index_t count, index_t cout, index_t P, T* y) {
    if (P == 1) {
        MatrixMap<T>(y, cout, count) = MatrixMap<const T>(nchw, count, cout).transpose();
        return;
    }
    for (index_t j = 0; j < count; ++j)
        for (index_t co = 0; co < cout; ++co) {
            const T* from = nchw + (j * cout + co) * P;
            T* to = y + co * count * P + j * P;
            for (index_t q = 0; q < P; ++q) to[q] = from[q];
        }
}

/// Calls f(std::integral_constant<int, n>{}) for the common tap counts n (1, 2, 3, 4, 6, 9), so that loops over
/// a weight row's taps unroll, and f(std::integral_constant<int, 0>{}) for any other count.
template <class F>
void with_tap_count(index_t taps, F&& f) {
    switch (taps) {
        case 1: return f(std::integral_constant<int, 1>{});
        case 2: return f(std::integral_constant<int, 2>{});
        case 3: return f(std::integral_constant<int, 3>{});
        case 4: return f(std::integral_constant<int, 4>{});
        case 6: return f(std::integral_constant<int, 6>{});
        case 9: return f(std::integral_constant<int, 9>{});
        default: return f(std::integral_constant<int, 0>{});
    }
}

/// out [rows, ld] = the `taps` elements at tap[0..taps) of each of `rows` rows of `w`, `kk` apart (Taps: the
/// tap count as a constant, or 0 for `taps`).
template <int Taps, class T, class I>
void gather_weight_taps(const T* w, index_t rows, index_t kk, const I* tap, index_t taps, T* out, index_t ld) {
    const index_t n = Taps > 0 ? Taps : taps;
    for (index_t r = 0; r < rows; ++r, w += kk, out += ld)
        for (index_t t = 0; t < n; ++t) out[t] = w[tap[t]];
}

/// The inverse for gradients: each of `rows` rows of dw (`kk` apart) gets a[r, t] + b[r, t] (or a[r, t] without
/// `b`; a and b [rows, taps]) added at its taps tap[0..taps); with `assign` each row is first set to zero (dw
/// held no gradient). Rows go in blocks small enough to stay in L1 between the zeroing and the taps.
template <int Taps, class T, class I>
void scatter_weight_taps(const T* a, const T* b, index_t rows, index_t kk, const I* tap, index_t taps, T* dw,
                         bool assign) {
    const index_t n = Taps > 0 ? Taps : taps;
    constexpr index_t block = 256;
    for (index_t r0 = 0; r0 < rows; r0 += block) {
        const index_t r1 = std::min(rows, r0 + block);
        if (assign) std::fill(dw + r0 * kk, dw + r1 * kk, T(0));
        if (b) {
            for (index_t r = r0; r < r1; ++r)
                for (index_t t = 0; t < n; ++t) dw[r * kk + tap[t]] += a[r * n + t] + b[r * n + t];
        } else {
            for (index_t r = r0; r < r1; ++r)
                for (index_t t = 0; t < n; ++t) dw[r * kk + tap[t]] += a[r * n + t];
        }
    }
}

/// The weight [Cout, Cin, kh, kw] as the [Cout, Cin * taps] matrix of the plan's active taps: the weight
/// itself when every tap is active, else a compacted copy in the tape's arena.
/// Shared out among `threads` OpenMP threads (by output channel) when there is more than one.
template <class T>
const T* conv_active_weight(Tape& tape, const T* w, index_t cout, const Im2colPlan& plan, int threads = 1) {
    if (plan.all_taps()) return w;
    const index_t kk = plan.g.kernel_h * plan.g.kernel_w, cin = plan.g.channels, K = plan.rows();
    T* wk = tape.buffer<T>(cout * K);
    with_tap_count(plan.taps, [&](auto taps) {
        parallel_for(cout, threads, threads > 1, [&](index_t co) {
            gather_weight_taps<decltype(taps)::value>(w + co * cin * kk, cin, kk, plan.tap_ids, plan.taps,
                                                      wk + co * K, plan.taps);
        });
    });
    return wk;
}

/// acc[i] += a[i] + b[i], or acc[i] += a[i] without `b` (pointers as parameters: see relu.hpp's loops); with
/// `assign`, acc[i] = a[i] + b[i] (or a[i]) instead.
template <class T>
inline void accumulate_sum_loop(const T* a, const T* b, T* acc, index_t n, bool assign) {
    if (assign) {
        if (b) simd_loop(n, [a, b, acc](index_t i) { acc[i] = a[i] + b[i]; });
        else simd_loop(n, [a, acc](index_t i) { acc[i] = a[i]; });
    } else {
        if (b) simd_loop(n, [a, b, acc](index_t i) { acc[i] += a[i] + b[i]; });
        else simd_loop(n, [a, acc](index_t i) { acc[i] += a[i]; });
    }
}

/// dw [Cout, Cin, kh, kw] += the sum of the `count` partial gradients parts[t] + offset ([Cout, Cin * taps]
/// each, over the plan's active taps), added in order, two per pass over dw. With `overwrite` dw holds no
/// gradient yet: the first pass writes every element (zero at the inactive taps) instead of adding, and with
/// no partial at all dw is zero-filled.
template <class T>
void conv_add_weight_grad_parts(T* dw, T* const* parts, int count, index_t offset, index_t cout,
                                const Im2colPlan& plan, bool overwrite = false) {
    const index_t kk = plan.g.kernel_h * plan.g.kernel_w, cin = plan.g.channels, K = plan.rows();
    if (count == 0 && overwrite) std::fill_n(dw, cout * cin * kk, T(0));
    for (int t = 0; t < count; t += 2) {
        const T* p0 = parts[t] + offset;
        const T* p1 = t + 1 < count ? parts[t + 1] + offset : nullptr;
        const bool assign = overwrite && t == 0;
        if (plan.all_taps()) {
            run_for_active_isa([&] { accumulate_sum_loop(p0, p1, dw, cout * K, assign); });
            continue;
        }
        with_tap_count(plan.taps, [&](auto taps) {
            scatter_weight_taps<decltype(taps)::value>(p0, p1, cout * cin, kk, plan.tap_ids, plan.taps, dw, assign);
        });
    }
}

/// What conv2d's forward hands to its backward: the unfolding plan, the batch split and the weight matrix
/// over the active taps (all in the tape's arena, trivially destructible).
template <class T>
struct ConvForward {
    Im2colPlan unfold;
    ConvBatchPlan plan;
    const T* wk;  ///< [Cout, K] weight over the active taps
    index_t N, Cout, K, P, image;
};

/// The row offsets of the column matrix of `plan` read from an image (padded when the plan pads):
/// row c * taps + a (channel c, active tap a = (i, j)) starts at c * plane + i * plane_w + j.
inline void conv_row_offsets(const Im2colPlan& plan, std::int32_t* out) {
    const index_t plane = plan.plane_h * plan.plane_w;
    for (index_t c = 0; c < plan.g.channels; ++c)
        for (index_t a = 0; a < plan.taps; ++a) {
            const index_t i = plan.tap_ids[a] / plan.g.kernel_w, j = plan.tap_ids[a] % plan.g.kernel_w;
            out[c * plan.taps + a] = static_cast<std::int32_t>(c * plane + i * plan.plane_w + j);
        }
}

/// The column offsets of `count` samples' column matrices side by side, the samples' (padded) images
/// `image_stride` apart: column n * P + oh * Wo + ow at n * image_stride + oh * stride * plane_w + ow * stride.
inline void conv_col_offsets(const Im2colPlan& plan, index_t count, index_t image_stride, std::int32_t* out) {
    const Window2d& g = plan.g;
    for (index_t n = 0; n < count; ++n)
        for (index_t oh = 0; oh < g.out_h; ++oh)
            for (index_t ow = 0; ow < g.out_w; ++ow)
                *out++ = static_cast<std::int32_t>(n * image_stride + oh * g.stride * plan.plane_w + ow * g.stride);
}

}  // namespace strata::detail
