#pragma once
/// @file
/// simd_loop: an element-wise loop written so that GCC vectorises it at -O2 as well as at -O3. GCC's -O2 cost
/// model ("very cheap") vectorises a loop only when its trip count is known and no run-time alias check is needed,
/// so a plain `for (i < n)` over pointers stays scalar there (measured: ReLU's backward 11x slower, the SGD update
/// 1.5x, in a -O2 build of a ResNet-18 training step). simd_loop runs the bulk in blocks of a fixed number of
/// elements marked free of loop-carried dependences, and the rest one by one.

#include <cmath>
#include <type_traits>

#include "strata/core/shape.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>  // SSE2: baseline on x86-64, usable in a function compiled for any x86-64 target
#endif

#if defined(__GNUC__) && !defined(__clang__)
/// Tells GCC the next loop has no loop-carried dependence (Clang vectorises such loops at -O2 without it).
#define STRATA_IVDEP _Pragma("GCC ivdep")
/// STRATA_IVDEP, and no complete unrolling before the vectoriser sees the loop: at -O3 GCC unrolls a 16-trip loop
/// with a large body first and then fails to vectorise the straight-line copies (Adam's update stayed scalar).
#define STRATA_IVDEP_NO_UNROLL _Pragma("GCC ivdep") _Pragma("GCC unroll 1")
#else
#define STRATA_IVDEP
#define STRATA_IVDEP_NO_UNROLL
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

/// Replaces each of the simd_block values of `x` by its square root, correctly rounded as std::sqrt (a negative
/// gives NaN), without std::sqrt's errno branch. GCC keeps that branch (a call to sqrtf for a negative argument)
/// unless the program is built with -fno-math-errno, and a loop holding it is never vectorised; SSE2's
/// square-root instructions are part of every x86-64 CPU.
template <class T>
inline void sqrt_block(T* x) {
#if defined(__x86_64__) || defined(_M_X64)
    if constexpr (std::is_same_v<T, float>) {
        for (index_t l = 0; l < simd_block; l += 4) _mm_storeu_ps(x + l, _mm_sqrt_ps(_mm_loadu_ps(x + l)));
        return;
    } else if constexpr (std::is_same_v<T, double>) {
        for (index_t l = 0; l < simd_block; l += 2) _mm_storeu_pd(x + l, _mm_sqrt_pd(_mm_loadu_pd(x + l)));
        return;
    }
#endif
    for (index_t l = 0; l < simd_block; ++l) x[l] = std::sqrt(x[l]);
}

/// simd_loop for a body with one square root in it, split around the root: for every i in [0, n),
/// after(i, sqrt(before(i))). `before(i)` may write element i of its arrays and returns the value whose root
/// `after` needs; `after(i, root)` may read what `before(i)` wrote. Both element-wise, as simd_loop's body. Each
/// block of 16 runs `before` vectorised, the 16 roots (sqrt_block), then `after` vectorised (an optimizer's
/// update with std::sqrt inside stays scalar otherwise: Adam over ResNet-18's weights 49 ms where SGD takes 9).
template <class Before, class After>
inline void simd_loop_sqrt(index_t n, Before before, After after) {
    using T = decltype(before(index_t{0}));
    index_t i = 0;
    for (; i + simd_block <= n; i += simd_block) {
        alignas(64) T root[simd_block];
        STRATA_IVDEP_NO_UNROLL
        for (index_t l = 0; l < simd_block; ++l) root[l] = before(i + l);
        sqrt_block(root);
        STRATA_IVDEP_NO_UNROLL
        for (index_t l = 0; l < simd_block; ++l) after(i + l, root[l]);
    }
    for (; i < n; ++i) after(i, std::sqrt(before(i)));
}

}  // namespace strata::detail
