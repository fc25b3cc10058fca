#pragma once
/// @file
/// The one level of thread parallelism strata's ops use: a static OpenMP loop over independent items (batch
/// samples, channels, planes) that is entered only when it can use more than one thread. A region of one
/// thread (OpenMP disabled, one thread configured, already inside a parallel region, or too little work)
/// runs the loop directly: libgomp allocates a team on the heap for every one-thread region, and training
/// steps must not touch the heap. Results depend only on the thread count (static schedule).

#include <algorithm>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "strata/core/aligned.hpp"
#include "strata/core/shape.hpp"

namespace strata::detail {

/// Threads a parallel loop started here may use: omp_get_max_threads() outside any parallel region, 1
/// inside one or without OpenMP. Does not throw.
inline int available_threads() {
#ifdef _OPENMP
    return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
    return 1;
#endif
}

/// The calling thread's index in the parallel loop strata runs now (parallel_for), for the per-thread
/// scratch slices an op sizes by that loop's thread count. One slot per thread, 0 outside a parallel_for region.
inline thread_local int parallel_for_thread = 0;

/// The calling thread's index inside the parallel_for region running it: 0 outside one, without OpenMP, and in a
/// loop parallel_for ran on the calling thread, even when that thread belongs to a team the caller started
/// (`#pragma omp parallel` around strata calls: omp_get_thread_num() is then the index in that team, while the
/// op sized its scratch for its own single thread). Does not throw.
inline int thread_index() { return parallel_for_thread; }

/// Runs body(i) for i in [0, n), split statically over min(threads, n) OpenMP threads when `threads` > 1 and
/// `worth_it`, else on the calling thread in order. `body` must not throw (an exception cannot leave an OpenMP
/// region) and iterations must be independent.
template <class Body>
void parallel_for(index_t n, int threads, bool worth_it, Body&& body) {
#ifdef _OPENMP
    const int t = static_cast<int>(std::min<index_t>(threads, n));
    if (worth_it && t > 1) {
#pragma omp parallel num_threads(t)
        {
            parallel_for_thread = omp_get_thread_num();
#pragma omp for schedule(static)
            for (index_t i = 0; i < n; ++i) body(i);
            parallel_for_thread = 0;
        }
        return;
    }
#else
    (void)threads;
    (void)worth_it;
#endif
    for (index_t i = 0; i < n; ++i) body(i);
}

/// Elements per thread from which an element-wise op (ReLU, an addition, an optimizer's update, a fill) is split
/// over threads (parallel_split). A parallel region costs about 4 us; ReLU over 65,536 cached floats takes 2.5 us on one
/// thread and 6.6 us on two, over 200,704 floats 16 us on one and 10 us on two (ops_bench, AMD Zen 5).
inline constexpr index_t elementwise_split_min = index_t{1} << 16;

/// Runs body(begin, end) over [0, n) cut into one contiguous range per thread, the cuts on multiples of 16
/// elements (whole 64-byte lines of floats), using as many of the available threads as get at least
/// `min_per_thread` elements each; on the calling thread as one call when that is one. Contiguous halves of an
/// NCHW activation are the samples the convolutions' batch split gave the same threads, so each thread mostly
/// reads what is already in its own core's cache. For element-wise bodies: the result does not depend on the
/// thread count. `body` must not throw.
template <class Body>
void parallel_split(index_t n, index_t min_per_thread, Body&& body) {
    const index_t t = std::min<index_t>(available_threads(), n / std::max<index_t>(min_per_thread, 1));
    if (t < 2) {
        if (n > 0) body(index_t{0}, n);
        return;
    }
    const index_t per = ((n + t - 1) / t + 15) / 16 * 16;
    parallel_for(t, static_cast<int>(t), true, [&](index_t k) {
        const index_t begin = std::min(n, k * per), end = std::min(n, begin + per);
        if (begin < end) body(begin, end);
    });
}

/// Bytes left unused after each thread's slice of an op's per-thread scratch (thread_scratch_stride). Measured
/// (AMD EPYC Zen 5, 2 vCPUs, conv2d's direct forward on a batch of 64 16-channel 28x28 maps): with the two slices
/// side by side the second thread took 30-50% longer than the first for the same work (its copy into the slice 3x),
/// whichever thread had it and on either core; 16 KB between them cut the loss by half, 64 KB removed it (the
/// forward 0.96-1.15 -> 0.86-0.87 ms). Something on one core reaches into memory the other core is writing (most
/// likely its prefetchers running ahead of its own writes; not measured, this VM has no performance counters).
inline constexpr index_t thread_scratch_gap_bytes = index_t{64} * 1024;

/// Elements between the starts of two threads' slices of per-thread scratch that need `n` elements of T each:
/// whole 64-byte lines, plus thread_scratch_gap_bytes when `threads` > 1.
template <class T>
index_t thread_scratch_stride(index_t n, index_t threads) {
    const index_t lines = whole_lines<T>(n);
    return threads > 1 ? lines + thread_scratch_gap_bytes / static_cast<index_t>(sizeof(T)) : lines;
}

/// parallel_for over all available_threads().
template <class Body>
void parallel_for(index_t n, bool worth_it, Body&& body) {
    parallel_for(n, available_threads(), worth_it, static_cast<Body&&>(body));
}

}  // namespace strata::detail
