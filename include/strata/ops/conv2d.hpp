#pragma once
/// @file
/// conv2d(x, weight, bias, {stride, padding}): 2-D cross-correlation over NCHW batches like
/// torch.nn.functional.conv2d (no dilation, no groups), as a GEMM of the weights with the unfolded input,
/// parallel over the batch. On strata's packed kernels (AVX-512, AVX2) the GEMM reads the unfolded input
/// straight from the padded images (an implicit GEMM), and a 3x3 stride-1 padding-1 convolution on maps 8 or more
/// wide runs direct (conv2d_direct.hpp: no unfolding and no packing of the images at all); on the generic kernels
/// the input is unfolded by im2col first.

#include <algorithm>
#include <cstdint>

#include "strata/autograd/tape.hpp"
#include "strata/core/cpu_features.hpp"
#include "strata/core/parallel.hpp"
#include "strata/ops/conv_weight_cache.hpp"
#include "strata/ops/detail/conv2d_classes.hpp"
#include "strata/ops/detail/conv2d_direct.hpp"
#include "strata/ops/detail/conv2d_parts.hpp"
#include "strata/ops/detail/gemm.hpp"
#include "strata/ops/detail/im2col.hpp"

namespace strata {

/// Stride and zero padding of conv2d, the same in both spatial directions.
struct Conv2dParams {
    index_t stride = 1;   ///< step between window positions, >= 1
    index_t padding = 0;  ///< zeros added on every side, >= 0
};

namespace detail {

/// Validates conv2d's arguments and returns the per-image geometry; throws ShapeError / ArgumentError.
inline Window2d conv2d_geometry(const Shape& x, const Shape& w, const Shape* bias, const Conv2dParams& p) {
    check<ShapeError>(x.rank() == 4, "conv2d: input must have rank 4 [N, Cin, H, W], got shape ", x);
    check<ShapeError>(w.rank() == 4, "conv2d: weight must have rank 4 [Cout, Cin, kH, kW], got shape ", w);
    check<ShapeError>(x[1] == w[1], "conv2d: input shape ", x, " has ", x[1], " channels but weight shape ", w,
                      " expects ", w[1]);
    check<ShapeError>(w[2] >= 1 && w[3] >= 1, "conv2d: weight shape ", w, " has an empty kernel");
    if (bias)
        check<ShapeError>(bias->rank() == 1 && (*bias)[0] == w[0], "conv2d: bias must have shape [", w[0],
                          "] (Cout of weight shape ", w, "), got shape ", *bias);
    check<ArgumentError>(p.stride >= 1, "conv2d: stride must be >= 1, got ", p.stride);
    check<ArgumentError>(p.padding >= 0, "conv2d: padding must be >= 0, got ", p.padding);
    check<ShapeError>(w[2] <= x[2] + 2 * p.padding && w[3] <= x[3] + 2 * p.padding, "conv2d: kernel ", w[2], "x",
                      w[3], " (weight shape ", w, ") is larger than the padded input ", x[2] + 2 * p.padding, "x",
                      x[3] + 2 * p.padding, " (input shape ", x, ", padding ", p.padding, ")");
    check<ShapeError>((x[2] + 2 * p.padding) * (x[3] + 2 * p.padding) < (index_t{1} << 31), "conv2d: padded input ",
                      x[2] + 2 * p.padding, "x", x[3] + 2 * p.padding, " is too large for 32-bit offsets");
    return Window2d(x[1], x[2], x[3], w[2], w[3], p.stride, p.padding);
}

/// Throws ArgumentError unless `cache` is null or made for the tensor `weight` views.
template <class T>
void check_weight_cache(const Var<T>& weight, const ConvWeightCache<T>* cache, const char* op) {
    if (cache == nullptr) return;
    check<ArgumentError>(cache->source().data() == weight.value().data() &&
                             cache->source().shape() == weight.shape(),
                         op, ": the weight cache was made for a tensor of shape ", cache->source().shape(),
                         " that is not the weight (shape ", weight.shape(), ")");
}

/// conv2d_forward on strata's packed kernels for a geometry split into tap classes (conv2d_classes.hpp): for
/// each block of samples, one implicit GEMM per class over that class's taps and all the block's samples, side
/// by side in one result matrix; then every output gathers its class's result through the epilogue. The
/// classes, not the samples, are shared out among `threads` for the GEMMs (largest first, each to the least
/// loaded thread): on small maps the weights outweigh the samples, and this way every thread streams only its
/// own classes' weights. With fewer classes than threads each class's columns (its samples) are cut into runs
/// of whole register tiles, shared out the same way. The gathering is shared out by samples, so each thread
/// writes whole samples (a 2x2 map's four outputs, one per class, share a cache line). The weights are packed per
/// class (once into `cache` when given, else first, one class per thread). Each class is computed alike on any
/// thread count.
/// The caller makes sure Cout * (P + 16 * classes) < 2^31 (32-bit offsets into the result matrix).
template <class T>
void conv2d_forward_by_class(Tape& tape, const T* px, index_t N, const T* w, index_t Cout, const Im2colPlan& unfold,
                             const ConvTapClasses& classes, int threads, const ConvEpilogue<T>& e, T* py,
                             ConvWeightCache<T>* cache) {
    constexpr int max_classes = ConvTapClasses::max_intervals * ConvTapClasses::max_intervals;
    const Window2d& g = unfold.g;
    const index_t P = g.col_cols(), image = g.channels * g.height * g.width, kk = g.kernel_h * g.kernel_w;
    const int count = classes.count();
    // The column offsets of a block of samples, and the offsets into its class results, are 32-bit.
    const index_t limit = (index_t{1} << 31) - 1;
    const index_t block = std::max<index_t>(
        1, std::min<index_t>({N, conv_class_block_samples, limit / std::max<index_t>(1, image),
                              (limit / Cout - 16 * count) / P}));
    // Class k is (row interval k / n_cols, column interval k % n_cols).
    index_t positions[max_classes], taps[max_classes], most_positions = 0, most_taps = 0;
    for (int k = 0; k < count; ++k) {
        positions[k] = classes.positions(k / classes.n_cols, k % classes.n_cols);
        taps[k] = classes.taps(k / classes.n_cols, k % classes.n_cols);
        most_positions = std::max(most_positions, positions[k]);
        most_taps = std::max(most_taps, taps[k]);
    }
    const GemmBlocking<T> blocking(Cout, block * most_positions, g.channels * most_taps);
    // The GEMMs' work items: each class, or with fewer classes than threads (a 2x2 map's four classes on 8
    // threads) each class's columns cut into `parts` runs of whole register tiles. A column's result does not
    // depend on the cut.
    const int parts = count < threads ? std::max(1, std::min(threads, max_classes) / count) : 1;
    const int items = count * parts;  // item i: class i / parts, part i % parts
    // Owners: items by decreasing work (positions x taps), each to the thread with the least so far.
    const int used = std::max(1, std::min(threads, items));
    int owner[max_classes];
    {
        double load[max_classes] = {};
        bool placed[max_classes] = {};
        auto work = [&](int i) { return positions[i / parts] * taps[i / parts]; };
        for (int n = 0; n < items; ++n) {
            int next = -1;
            for (int i = 0; i < items; ++i)
                if (!placed[i] && (next < 0 || work(i) > work(next))) next = i;
            int least = 0;
            for (int t = 1; t < used; ++t)
                if (load[t] < load[least]) least = t;
            placed[next] = true;
            owner[next] = least;
            load[least] += static_cast<double>(work(next));
        }
    }
    // The packed weights: class k at panel_at[k], in the cache or in the arena.
    index_t panel_at[max_classes + 1];
    panel_at[0] = 0;
    for (int k = 0; k < count; ++k)
        panel_at[k + 1] = panel_at[k] + blocking.packed_a_size(Cout, g.channels * taps[k]);
    auto pack_class = [&](int k, T* packed, T* tmp) {
        conv_class_weight(w, Cout, g, classes, k / classes.n_cols, k % classes.n_cols, tmp);
        gemm_pack_a(false, Cout, g.channels * taps[k], tmp, g.channels * taps[k], blocking, packed + panel_at[k]);
    };
    std::shared_lock<std::shared_mutex> cache_reader;  // keeps the cached weights valid until return
    const T* packed = nullptr;
    if (cache != nullptr) {
        const typename ConvWeightCache<T>::Key key{cache->source().storage_id(), cache->source().version(),
                                                   blocking.isa(), g.height, g.width, g.stride, g.padding,
                                                   blocking.blocks().kc};
        packed = cache->acquire(
            key, panel_at[count],
            [&](T* out) {
                T* tmp = tape.buffer<T>(Cout * g.channels * kk);
                for (int k = 0; k < count; ++k) pack_class(k, out, tmp);
            },
            cache_reader);
    }
    T* own_packed = packed == nullptr ? tape.buffer<T>(panel_at[count]) : nullptr;
    // Offsets of every class: rows (channel, tap) once, columns for a block of samples.
    std::int32_t* row_off[max_classes];
    std::int32_t* col_off[max_classes];
    for (int k = 0; k < count; ++k) {
        row_off[k] = tape.buffer<std::int32_t>(g.channels * taps[k]);
        col_off[k] = tape.buffer<std::int32_t>(block * positions[k]);
        conv_class_row_offsets(unfold, classes, k / classes.n_cols, k % classes.n_cols, row_off[k]);
        conv_class_col_offsets(unfold, classes, k / classes.n_cols, k % classes.n_cols, block, image, col_off[k]);
    }
    // The block's class results side by side in y [Cout, ld], class k from column seg[k] (whole lines, so the
    // threads owning the classes write no line in common), and where each output gathers its result from.
    index_t seg[max_classes + 1];
    seg[0] = 0;
    for (int k = 0; k < count; ++k) seg[k + 1] = seg[k] + conv_scratch_stride<T>(block * positions[k]);
    const index_t ld = seg[count], cp = Cout * P;
    T* y = tape.buffer<T>(Cout * ld);
    std::int32_t* from = tape.buffer<std::int32_t>(cp);
    std::int32_t* step = tape.buffer<std::int32_t>(cp);
    conv_class_gather_offsets(classes, Cout, g.out_w, P, seg, ld, from, step);
    T* sc = tape.buffer<T>(cp);  // the epilogue's scale and shift, per output element of a sample
    T* sh = tape.buffer<T>(cp);
    conv_gather_constants(e, Cout, P, sc, sh);
    const index_t tmp_stride = own_packed ? conv_scratch_stride<T>(Cout * g.channels * most_taps) : 0;
    const index_t per_thread = thread_scratch_stride<T>(tmp_stride + blocking.scratch_size(), used);
    T* scratch = tape.buffer<T>(used * per_thread);
    if (own_packed) {  // each class's weights packed once, by one thread, before any GEMM reads them
        const int packers = std::max(1, std::min(threads, count));
        parallel_for(count, packers, packers > 1, [&](index_t k) {
            pack_class(static_cast<int>(k), own_packed, scratch + thread_index() * per_thread);
        });
    }
    constexpr index_t tile = ConvBatchPlan::tile_cols;
    for (index_t n0 = 0; n0 < N; n0 += block) {
        const index_t n = std::min(block, N - n0);
        const T* base = px + n0 * image;  // the classes read no padding: no padded copy
        parallel_for(used, used, used > 1, [&](index_t t) {
            T* mine = scratch + t * per_thread;
            GemmBlocking<T> packing = blocking;
            packing.attach(mine + tmp_stride);
            for (int i = 0; i < items; ++i) {
                if (owner[i] != t) continue;
                const int k = i / parts, q = i % parts;
                const index_t cols = n * positions[k], tiles = (cols + tile - 1) / tile;
                const index_t c0 = std::min(cols, q * tiles / parts * tile);
                const index_t c1 = std::min(cols, (q + 1) * tiles / parts * tile);
                if (c0 >= c1) continue;
                const PackedA<T> a{(packed ? packed : own_packed) + panel_at[k], Cout, g.channels * taps[k]};
                gemm_offsets(a, c1 - c0, OffsetMatrix<T>{base, row_off[k], col_off[k] + c0}, y + seg[k] + c0, ld,
                             false, packing);
            }
        });
        const index_t parts = std::max<index_t>(1, std::min<index_t>(threads, n));
        parallel_for(parts, static_cast<int>(parts), parts > 1, [&](index_t s) {
            const index_t first = s * n / parts, last = (s + 1) * n / parts;
            run_for_active_isa([&] { conv_finish_gathered(y, from, step, first, last, cp, sc, sh, e, n0 * cp, py); });
        });
    }
}

/// The forward of a convolution of `x` [N, Cin, H, W] (geometry `g`) with `w` [Cout, Cin, kh, kw] into `py`
/// [N, Cout, Ho, Wo], each chunk finished by the epilogue `e` right after its GEMM. On strata's packed kernels
/// the weights are packed once for all chunks and the GEMM packs its B operand straight from the (padded)
/// images through row and column offsets (an implicit GEMM: no column matrix); on the generic kernels each
/// chunk is unfolded by im2col first. The unfolding plan, the batch split and the weight matrix over the
/// active taps go to the tape's arena (the backward needs them), all else is scratch released on return.
/// With a `cache` (for `w`; only when the call records nothing, since the backward needs the weight matrix)
/// the packed weights come from it, packed only when it holds another weight version or geometry, and the
/// result's weight matrix is null.
template <class T>
ConvForward<T> conv2d_forward(Tape& tape, const T* px, index_t N, const T* w, index_t Cout, const Window2d& g,
                              const ConvEpilogue<T>& e, T* py, ConvWeightCache<T>* cache = nullptr) {
    const index_t P = g.col_cols(), image = g.channels * g.height * g.width;
    const Im2colPlan unfold(g, tape.buffer<std::int32_t>(Im2colPlan::storage_size(g)));
    const index_t K = unfold.rows();
    const ConvBatchPlan plan(N, P, 2.0 * static_cast<double>(N) * static_cast<double>(Cout * K * P));
    const GemmBlocking<T> blocking(Cout, plan.group * P, K);
    const bool padded = g.padding > 0;
    const index_t image_stride = padded ? unfold.padded_size() : image;
    const bool implicit = blocking.isa() != Isa::generic && plan.group * image_stride < (index_t{1} << 31);
    // 3x3 stride-1 convolutions on maps 8 or more wide: direct, reading the padded images in place.
    const bool direct = implicit && conv_direct_applies(g);
    // Tap classes only when nothing is recorded (inference): there the per-class weights are packed once into
    // the cache. Training would pack them every step, and a ResNet-18 batch-64 step on 1 thread measured 3% slower
    // with them (convolution forwards 26.4 -> 27.7 ms, backwards with their transposed input gradients 53.4 -> 55.4).
    if (implicit && !direct && !tape.grad_enabled() && !e.accumulate && e.raw == nullptr) {
        const ConvTapClasses classes(unfold);
        if (classes.usable && classes.useful < conv_class_split_below &&
            N * classes.fewest_positions() >= conv_class_min_columns &&
            static_cast<double>(Cout) * static_cast<double>(P + 16 * classes.count()) < 2147483647.0) {
            Tape::ScratchScope scratch_scope(tape);
            conv2d_forward_by_class(tape, px, N, w, Cout, unfold, classes, plan.threads, e, py, cache);
            return ConvForward<T>{unfold, plan, nullptr, N, Cout, K, P, image};  // records nothing: no weight matrix
        }
    }
    const bool cached = cache != nullptr && implicit;
    const T* wk = cached ? nullptr : conv_active_weight(tape, w, Cout, unfold, plan.threads);
    const ConvForward<T> result{unfold, plan, wk, N, Cout, K, P, image};

    Tape::ScratchScope scratch_scope(tape);
    const index_t y_stride = plan.group > 1 ? conv_scratch_stride<T>(Cout * plan.group * P) : 0;
    // On small maps a chunk of several samples is finished sample by sample, gathering from its GEMM result
    // (rows group * P apart): element co * P + p of sample n at co * group * P + p + n * P.
    const index_t cp = Cout * P, ld_y = plan.group * P;
    const bool gathered = plan.group > 1 && P < conv_gathered_finish_below &&
                          static_cast<double>(Cout) * static_cast<double>(ld_y) < 2147483647.0;
    std::int32_t* from = gathered ? tape.buffer<std::int32_t>(cp) : nullptr;
    std::int32_t* step = gathered ? tape.buffer<std::int32_t>(cp) : nullptr;
    T* sc = gathered ? tape.buffer<T>(cp) : nullptr;
    T* sh = gathered ? tape.buffer<T>(cp) : nullptr;
    if (gathered) {
        for (index_t i = 0; i < cp; ++i) {
            from[i] = static_cast<std::int32_t>(i / P * ld_y + i % P);
            step[i] = static_cast<std::int32_t>(P);
        }
        conv_gather_constants(e, Cout, P, sc, sh);
    }
    // The GEMM result of a chunk of `count` samples: its rows' stride, and its finish into py.
    auto result_ld = [&](index_t count) { return count > 1 && gathered ? ld_y : count * P; };
    auto finish = [&](const T* y, index_t count, index_t n0) {
        if (count > 1 && gathered)
            run_for_active_isa([&] { conv_finish_gathered(y, from, step, 0, count, cp, sc, sh, e, n0 * cp, py); });
        else
            run_for_active_isa([&] { conv_finish(y, count * P, count, Cout, P, e, n0 * cp, py); });
    };
    if (implicit) {
        auto pack_weights = [&](T* out) {
            const T* active = wk ? wk : conv_active_weight(tape, w, Cout, unfold, plan.threads);
            return gemm_pack_a(false, Cout, K, active, K, blocking, out, plan.threads);
        };
        const index_t packed_size = blocking.packed_a_size(Cout, K);
        std::shared_lock<std::shared_mutex> cache_reader;  // keeps the cached weights valid until return
        PackedA<T> a{nullptr, Cout, K};
        if (cached) {
            const typename ConvWeightCache<T>::Key key{cache->source().storage_id(), cache->source().version(),
                                                       blocking.isa(), g.height, g.width, g.stride, g.padding,
                                                       blocking.blocks().kc};
            a.data = cache->acquire(key, packed_size, pack_weights, cache_reader);
        }
        if (a.data == nullptr) a = pack_weights(tape.buffer<T>(packed_size));
        std::int32_t* row_off = tape.buffer<std::int32_t>(K);
        conv_row_offsets(unfold, row_off);  // the padded plane is the direct path's too
        if (direct) {
            conv2d_forward_direct(tape, px, N, a, g, row_off, blocking, plan.threads, e, py);
            return result;
        }
        std::int32_t* col_off = tape.buffer<std::int32_t>(plan.group * P);
        conv_col_offsets(unfold, plan.group, image_stride, col_off);
        const index_t pad_stride = padded ? conv_scratch_stride<T>(plan.group * image_stride) : 0;
        const index_t per_thread =
            thread_scratch_stride<T>(pad_stride + y_stride + blocking.scratch_size(), plan.threads);
        T* scratch = tape.buffer<T>(plan.threads * per_thread);
        auto forward_chunk = [&](index_t c) {
            const index_t n0 = plan.first(c), count = plan.size(c, N), cols = count * P;
            T* mine = scratch + thread_index() * per_thread;
            GemmBlocking<T> packing = blocking;
            packing.attach(mine + pad_stride + y_stride);
            const T* base = px + n0 * image;
            if (padded) {
                for (index_t j = 0; j < count; ++j) pad_image(px + (n0 + j) * image, unfold, mine + j * image_stride);
                base = mine;
            }
            T* y = count == 1 ? py + n0 * Cout * P : mine + pad_stride;
            gemm_offsets(a, cols, OffsetMatrix<T>{base, row_off, col_off}, y, result_ld(count),
                         count == 1 && e.accumulate, packing);
            finish(y, count, n0);
        };
        parallel_for(plan.chunks, plan.threads, plan.threads > 1, [&](index_t c) { forward_chunk(c); });
        return result;
    }

    const index_t pad_stride = conv_scratch_stride<T>(unfold.padded_size());
    const index_t col_stride = conv_scratch_stride<T>(K * plan.group * P);
    const index_t per_thread =
        thread_scratch_stride<T>(pad_stride + col_stride + y_stride + blocking.scratch_size(), plan.threads);
    T* scratch = tape.buffer<T>(plan.threads * per_thread);
    auto forward_chunk = [&](index_t c) {
        const index_t n0 = plan.first(c), count = plan.size(c, N), cols = count * P;
        T* mine = scratch + thread_index() * per_thread;
        GemmBlocking<T> packing = blocking;
        packing.attach(mine + pad_stride + col_stride + y_stride);
        const T* col = conv_unfold(px, unfold, n0, count, mine, mine + pad_stride);
        T* y = count == 1 ? py + n0 * Cout * P : mine + pad_stride + col_stride;
        gemm(false, false, Cout, cols, K, wk, K, col, cols, y, result_ld(count), count == 1 && e.accumulate,
             packing);
        finish(y, count, n0);
    };
    parallel_for(plan.chunks, plan.threads, plan.threads > 1, [&](index_t c) { forward_chunk(c); });
    return result;
}

/// Output positions per sample from which the weight gradient reads its operand through offsets rather than
/// from an unfolded copy. The offset pack gathers 16 channel-taps at a time; on 2x2 maps that measured 2-8%
/// slower than im2col + the transposing pack, on 7x7 and larger 10-15% faster (conv2d_bench, AMD Zen 5).
inline constexpr index_t conv_implicit_dw_min_positions = 16;

/// Whether the input gradient of a convolution whose forward was `f` is computed as a convolution of the output
/// gradient (conv2d_input_grad_transposed): on strata's packed kernels, at stride 1, with a square kernel, padding
/// under the kernel size and every tap active (on 1x1 maps, where most taps see only padding, the column-matrix
/// path computes over the active taps alone).
template <class T>
bool conv_transposed_input_grad(const ConvForward<T>& f) {
    const Window2d& g = f.unfold.g;
    return active_isa() != Isa::generic && g.stride == 1 && g.kernel_h == g.kernel_w && g.padding < g.kernel_h &&
           f.unfold.all_taps();
}

/// dx [N, Cin, H, W] += (with `overwrite`: =) the input gradient of the stride-1 convolution `f` for the output
/// gradient `dy`: the convolution of dy (padded by kernel - 1 - padding) with the weight's channels swapped and its
/// taps reversed, wt[c, co, kh-1-i, kw-1-j] = w[co, c, i, j]. It runs as conv2d's forward (an implicit GEMM that
/// reads dy in place and adds into, or writes, dx), so no column matrix is written and no col2im folds it back.
template <class T>
void conv2d_input_grad_transposed(Tape& tape, const T* dy, const ConvForward<T>& f, T* dx, bool overwrite) {
    const Window2d& g = f.unfold.g;
    const index_t kk = g.kernel_h * g.kernel_w, cin = g.channels, cout = f.Cout;
    T* wt = tape.buffer<T>(cin * cout * kk);
    parallel_for(cin, f.plan.threads, f.plan.threads > 1, [&](index_t c) {
        for (index_t co = 0; co < cout; ++co) {
            const T* from = f.wk + (co * cin + c) * kk;
            T* to = wt + (c * cout + co) * kk;
            for (index_t t = 0; t < kk; ++t) to[kk - 1 - t] = from[t];
        }
    });
    const Window2d back(cout, g.out_h, g.out_w, g.kernel_h, g.kernel_w, 1, g.kernel_h - 1 - g.padding);
    ConvEpilogue<T> add_to_dx;
    add_to_dx.accumulate = !overwrite;
    conv2d_forward(tape, dy, f.N, wt, cin, back, add_to_dx, dx);
}

/// The input and weight gradients of a convolution whose forward was `f`, for the output gradient `dy`
/// [N, Cout, Ho, Wo]: accumulated into x.grad() and weight.grad() where they require one. Scratch from the tape.
template <class T>
void conv2d_backward(const Var<T>& x, const Var<T>& weight, const T* dy, const ConvForward<T>& f) {
    const bool wants_dw = weight.requires_grad();
    const bool direct_dw = wants_dw && conv_direct_applies(f.unfold.g);
    const bool need_dw = wants_dw && !direct_dw;  // by a GEMM with the column matrix
    const bool transposed_dx = x.requires_grad() && conv_transposed_input_grad(f);
    const bool need_dx = x.requires_grad() && !transposed_dx;  // by the column matrix and col2im
    if (!wants_dw && !x.requires_grad()) return;
    const Im2colPlan& unfold = f.unfold;
    const ConvBatchPlan& plan = f.plan;
    const index_t N = f.N, Cout = f.Cout, K = f.K, P = f.P, image = f.image;
    Tape& tape = x.tape();
    const T* px = x.value().data();
    // The gradient buffers first: made on first use, they must not come from the scratch scope below.
    // The input gradient is written (not added to) when nothing reached it yet and the transposed convolution
    // computes it (every element); the other paths add into grad(), zeroed on first use.
    bool dx_fresh = false;
    T* dx_all = !x.requires_grad() ? nullptr : transposed_dx ? x.grad_for_write(dx_fresh).data() : x.grad().data();
    T* dx = need_dx ? dx_all : nullptr;
    bool dw_fresh = false;  // dw holds no gradient yet (new, or cleared by zero_grad()): write it, do not add
    T* dw_all = wants_dw ? weight.grad_for_write(dw_fresh).data() : nullptr;
    T* dw = need_dw ? dw_all : nullptr;
    const index_t cols_max = plan.group * P;
    Tape::ScratchScope scratch_scope(tape);
    if (transposed_dx) conv2d_input_grad_transposed(tape, dy, f, dx_all, dx_fresh);
    if (direct_dw) conv2d_weight_grad_direct(tape, px, dy, N, Cout, unfold.g, plan.threads, dw_all, dw_fresh);
    if (!need_dw && !need_dx) return;
    // Per-thread scratch: [weight-gradient partial] [padded image] [col] [dcol] [gathered dY] [packing].
    const bool partial_dw = need_dw && (plan.threads > 1 || !unfold.all_taps());
    const index_t dw_stride = partial_dw ? conv_scratch_stride<T>(Cout * K) : 0;
    // On strata's packed kernels and maps of conv_implicit_dw_min_positions or more, the weight gradient's GEMM
    // reads the chunk's (padded) images through offsets (the transposed column matrix as an OffsetMatrix)
    // instead of unfolding them first.
    const GemmBlocking<T> dw_blocking(Cout, K, cols_max), dx_blocking(K, cols_max, Cout);
    const bool padded_input = unfold.g.padding > 0;
    const index_t image_stride = padded_input ? unfold.padded_size() : image;
    const bool implicit_dw = need_dw && dw_blocking.isa() != Isa::generic && P >= conv_implicit_dw_min_positions &&
                             plan.group * image_stride < (index_t{1} << 31);
    std::int32_t* row_off = implicit_dw ? tape.buffer<std::int32_t>(K) : nullptr;
    std::int32_t* col_off = implicit_dw ? tape.buffer<std::int32_t>(cols_max) : nullptr;
    if (implicit_dw) {
        conv_row_offsets(unfold, row_off);
        conv_col_offsets(unfold, plan.group, image_stride, col_off);
    }
    const index_t pad_stride =
        conv_scratch_stride<T>(implicit_dw && padded_input ? plan.group * image_stride : unfold.padded_size());
    const index_t col_stride = need_dw && !implicit_dw ? conv_scratch_stride<T>(K * cols_max) : 0;
    const index_t dcol_stride = need_dx ? conv_scratch_stride<T>(K * cols_max) : 0;
    const index_t dy_stride = plan.group > 1 ? conv_scratch_stride<T>(Cout * cols_max) : 0;
    const index_t packing_size =
        std::max(need_dw ? dw_blocking.scratch_size() : 0, need_dx ? dx_blocking.scratch_size() : 0);
    const index_t per_thread = thread_scratch_stride<T>(
        dw_stride + pad_stride + col_stride + dcol_stride + dy_stride + packing_size, plan.threads);
    T* scratch = tape.buffer<T>(plan.threads * per_thread);
    // The input gradient's A operand (the weight matrix transposed) is packed once for all chunks on strata's
    // packed kernels.
    PackedA<T> wt;
    if (need_dx && dx_blocking.isa() != Isa::generic)
        wt = gemm_pack_a(true, K, Cout, f.wk, K, dx_blocking, tape.buffer<T>(dx_blocking.packed_a_size(K, Cout)),
                         plan.threads);
    // A thread's partial weight gradient is written (not added to) by its first chunk, so it needs no clearing;
    // so is dw itself on one thread when it holds no gradient yet (`dw_pending`: no chunk has written it).
    std::int32_t* started = partial_dw ? tape.buffer<std::int32_t>(plan.threads) : nullptr;
    if (started) std::fill_n(started, plan.threads, 0);
    bool dw_pending = need_dw && !partial_dw && dw_fresh;  // only one thread then runs the chunks

    auto backward_chunk = [&](index_t c) {
        const index_t n0 = plan.first(c), count = plan.size(c, N), cols = count * P;
        const int me = thread_index();
        T* mine = scratch + me * per_thread;
        T* dw_acc = partial_dw ? mine : dw;
        // false: the chunk's product overwrites the partial (or dw, on one thread, when it holds no gradient yet)
        const bool dw_add = started ? started[me] != 0 : !dw_pending;
        if (started) started[me] = 1;
        else if (dw_pending) dw_pending = false;
        T* padded = mine + dw_stride;
        T* col_buf = padded + pad_stride;
        T* dcol = col_buf + col_stride;
        T* dy_buf = dcol + dcol_stride;
        const T* dyc = dy + n0 * Cout * P;
        if (count > 1) {  // gather the chunk's output gradients into [Cout, count*P]
            conv_from_nchw(dyc, count, Cout, P, dy_buf);
            dyc = dy_buf;
        }
        T* packing_buf = dy_buf + dy_stride;
        if (dw_acc) {
            GemmBlocking<T> packing = dw_blocking;
            packing.attach(packing_buf);
            if (implicit_dw) {
                const T* base = px + n0 * image;
                if (padded_input) {
                    for (index_t j = 0; j < count; ++j) pad_image(px + (n0 + j) * image, unfold, padded + j * image_stride);
                    base = padded;
                }
                // dW [Cout, K] += dY [Cout, cols] col^T, col^T (position, row) at base + col_off + row_off
                gemm_offsets(false, Cout, K, cols, dyc, cols, OffsetMatrix<T>{base, col_off, row_off}, dw_acc, K,
                             dw_add, packing);
            } else {
                const T* col = conv_unfold(px, unfold, n0, count, padded, col_buf);
                gemm(false, true, Cout, K, cols, dyc, cols, col, cols, dw_acc, K, dw_add, packing);
            }
        }
        if (dx) {
            GemmBlocking<T> packing = dx_blocking;
            packing.attach(packing_buf);
            auto dx_gemm = [&](T* c, bool accumulate) {  // c [K, cols] (=, or += when accumulating) W^T dY
                if (wt.data) gemm_prepacked_a(wt, false, cols, dyc, cols, c, cols, accumulate, packing);
                else gemm(true, false, K, cols, Cout, f.wk, K, dyc, cols, c, cols, accumulate, packing);
            };
            if (count == 1 && unfold.g.is_identity()) {
                dx_gemm(dx + n0 * image, true);
            } else {
                dx_gemm(dcol, false);
                run_for_active_isa([&] {
                    for (index_t j = 0; j < count; ++j)
                        col2im(dcol + j * P, cols, unfold, padded, dx + (n0 + j) * image);
                });
            }
        }
    };
    parallel_for(plan.chunks, plan.threads, plan.threads > 1, [&](index_t c) { backward_chunk(c); });
    if (dw_pending) std::fill_n(dw, Cout * unfold.g.channels * unfold.g.kernel_h * unfold.g.kernel_w, T(0));

    if (partial_dw) {  // add the partial weight gradients in thread order, output channels shared out
        // Only the partials of threads that ran a chunk hold one (OpenMP may give a region fewer threads).
        T** parts = tape.buffer<T*>(plan.threads);
        int count = 0;
        for (int t = 0; t < plan.threads; ++t)
            if (started[t]) parts[count++] = scratch + t * per_thread;
        parallel_for(plan.threads, plan.threads, plan.threads > 1, [&](index_t s) {
            const index_t per = (Cout + plan.threads - 1) / plan.threads, co0 = s * per;
            const index_t rows = std::min(per, Cout - co0);
            if (rows <= 0) return;
            conv_add_weight_grad_parts(dw + co0 * unfold.g.channels * unfold.g.kernel_h * unfold.g.kernel_w, parts,
                                       count, co0 * K, rows, unfold, dw_fresh);
        });
    }
}

}  // namespace detail

/// 2-D convolution (cross-correlation, as in PyTorch) of `x` [N, Cin, H, W] with `weight` [Cout, Cin, kH, kW]
/// plus an optional `bias` [Cout] (pass `Var<T>()` for none), giving [N, Cout, Ho, Wo] with
/// Ho = (H + 2*padding - kH) / stride + 1 (and Wo likewise). The weight viewed as a [Cout, Cin*kH*kW] matrix
/// multiplies the unfolded samples (kernel taps that only ever see padding are skipped); small feature maps
/// go several samples per GEMM. Sample groups are spread over OpenMP threads
/// and results are deterministic for a given thread count.
/// With a `cache` for the weight (nn::Conv2d passes its own), a call that records nothing on the tape
/// (inference) takes the packed weights from it instead of packing them again.
/// Throws ShapeError on a rank other than 4, a channel mismatch, a bias that is not [Cout] or a kernel larger
/// than the padded input; ArgumentError on stride < 1 or padding < 0, operands on different tapes, or a cache
/// made for another tensor than the weight.
template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, Conv2dParams params = {},
              ConvWeightCache<T>* cache = nullptr) {
    check_same_tape(x, weight, "conv2d");
    detail::check_weight_cache(weight, cache, "conv2d");
    const bool has_bias = bias.defined();
    if (has_bias) check_same_tape(x, bias, "conv2d");
    const Shape bias_shape = has_bias ? bias.shape() : Shape{};
    const detail::Window2d g =
        detail::conv2d_geometry(x.shape(), weight.shape(), has_bias ? &bias_shape : nullptr, params);
    const index_t N = x.dim(0), Cout = weight.dim(0);

    Tape& tape = x.tape();
    const bool grad = tape.needs_grad(x, weight) || (tape.grad_enabled() && has_bias && bias.requires_grad());
    Var<T> out = tape.make_output<T>(Shape{N, Cout, g.out_h, g.out_w}, grad);
    detail::ConvEpilogue<T> e;
    e.shift = has_bias ? bias.value().data() : nullptr;
    const detail::ConvForward<T> f = detail::conv2d_forward(tape, x.value().data(), N, weight.value().data(), Cout, g,
                                                            e, out.mutable_value().data(), grad ? nullptr : cache);
    if (grad)
        tape.record("conv2d", out, [x, weight, bias, out, f, has_bias] {
            const T* dy = out.grad().data();
            if (has_bias && bias.requires_grad()) {
                T* db = bias.grad().data();
                for (index_t n = 0; n < f.N; ++n)
                    for (index_t co = 0; co < f.Cout; ++co)
                        db[co] += ArrayMap<const T>(dy + (n * f.Cout + co) * f.P, f.P).sum();
            }
            detail::conv2d_backward(x, weight, dy, f);
        });
    return out;
}

/// conv2d without a bias.
template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& weight, Conv2dParams params = {}) {
    return conv2d(x, weight, Var<T>(), params);
}

}  // namespace strata
