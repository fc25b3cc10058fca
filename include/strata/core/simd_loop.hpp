#pragma once
/// @file
/// simd_loop: an element-wise loop written so that GCC vectorises it at -O2 as well as at -O3. GCC's -O2 cost
/// model ("very cheap") vectorises a loop only when its trip count is known and no run-time alias check is needed,
/// so a plain `for (i < n)` over pointers stays scalar there (measured: ReLU's backward 11x slower, the SGD update
/// 1.5x, in a -O2 build of a ResNet-18 training step). simd_loop runs the bulk in blocks of a fixed number of
/// elements marked free of loop-carried dependences, and the rest one by one.

#include "strata/core/shape.hpp"

#if defined(__GNUC__) && !defined(__clang__)
/// Tells GCC the next loop has no loop-carried dependence (Clang vectorises such loops at -O2 without it).
#define STRATA_IVDEP _Pragma("GCC ivdep")
#else
#define STRATA_IVDEP
#endif

namespace strata::detail {

/// Elements per block of simd_loop: one 512-bit register of floats, two of doubles.
inline constexpr index_t simd_block = 16;

/// Calls body(i) for every i in [0, n), in order of blocks. Only for element-wise bodies: iteration i may read
/// and write element i of its arrays and nothing another iteration writes. Taking the arrays as captured copies
/// (not references) lets the compiler keep them in registers.
template <class Body>
inline void simd_loop(index_t n, Body body) {
    index_t i = 0;
    for (; i + simd_block <= n; i += simd_block) {
        STRATA_IVDEP
        for (index_t l = 0; l < simd_block; ++l) body(i + l);
    }
    for (; i < n; ++i) body(i);
}

}  // namespace strata::detail
