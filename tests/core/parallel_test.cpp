#include <catch2/catch.hpp>

#include <atomic>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "strata/core/parallel.hpp"
#include "strata/core/simd_loop.hpp"

using namespace strata;

namespace {

/// Sets the OpenMP thread count for a scope.
struct SplitTestThreads {
    int saved = 1;
    explicit SplitTestThreads(int n) {
#ifdef _OPENMP
        saved = omp_get_max_threads();
        omp_set_num_threads(n);
#else
        (void)n;
#endif
    }
    ~SplitTestThreads() {
#ifdef _OPENMP
        omp_set_num_threads(saved);
#endif
    }
};

}  // namespace

TEST_CASE("simd_loop visits every index once, in the blocks and in the tail", "[core][parallel]") {
    for (const index_t n : {0, 1, 15, 16, 17, 31, 32, 33, 100}) {
        INFO("n = " << n);
        std::vector<int> seen(static_cast<std::size_t>(n) + 1, 0);  // one past the end stays 0
        int* p = seen.data();
        strata::detail::simd_loop(n, [p](index_t i) { p[i] += 1; });
        for (index_t i = 0; i < n; ++i) CHECK(seen[static_cast<std::size_t>(i)] == 1);
        CHECK(seen.back() == 0);
    }
    // An element-wise update in place, against the same formula applied one by one.
    std::vector<float> w(37), g(37);
    for (std::size_t i = 0; i < w.size(); ++i) {
        w[i] = 0.25f * static_cast<float>(i) - 3.0f;
        g[i] = 1.0f / static_cast<float>(i + 1);
    }
    std::vector<float> expected = w;
    for (std::size_t i = 0; i < w.size(); ++i) expected[i] = expected[i] - 0.5f * g[i];
    float* pw = w.data();
    const float* pg = g.data();
    strata::detail::simd_loop(37, [pw, pg](index_t i) { pw[i] = pw[i] - 0.5f * pg[i]; });
    CHECK(w == expected);
}

TEST_CASE("parallel_split covers the range once, cut on whole lines, one range per thread", "[core][parallel]") {
    const index_t min_per_thread = 1000;
    for (const int threads : {1, 2, 3}) {
        SplitTestThreads scope(threads);
        for (const index_t n : {0, 5, 1999, 2000, 2001, 6007}) {
            INFO("threads " << threads << ", n = " << n);
            std::vector<std::atomic<int>> seen(static_cast<std::size_t>(n));
            std::atomic<int> calls{0};
            std::atomic<bool> bad_cut{false};
            strata::detail::parallel_split(n, min_per_thread, [&](index_t begin, index_t end) {
                ++calls;
                if (begin % 16 != 0 || begin >= end) bad_cut = true;
                for (index_t i = begin; i < end; ++i) ++seen[static_cast<std::size_t>(i)];
            });
            index_t not_once = 0;
            for (index_t i = 0; i < n; ++i) not_once += seen[static_cast<std::size_t>(i)] != 1;
            CHECK(not_once == 0);
            CHECK_FALSE(bad_cut);
            index_t expected_calls = n == 0 ? 0 : 1;
#ifdef _OPENMP
            // As many ranges as threads that get min_per_thread elements each (at least one).
            if (n >= 2 * min_per_thread) expected_calls = std::min<index_t>(threads, n / min_per_thread);
#endif
            CHECK(calls == expected_calls);
        }
    }
}
