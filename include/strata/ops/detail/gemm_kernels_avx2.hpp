#pragma once
/// @file
/// strata's packed GEMM compiled for AVX2 and FMA, whatever flags the program is built
/// with; called only when the CPU supports it (detail::gemm dispatches on active_isa()). Register tiles:
/// float 6 x 16 (12 ymm accumulators), double 6 x 8.

#include "strata/core/cpu_features.hpp"

#if STRATA_X86_KERNELS
#include <immintrin.h>

#include <algorithm>

#include "strata/core/shape.hpp"

#define STRATA_KERNEL_TARGET \
    STRATA_TARGET_AVX2 inline

namespace strata::detail::avx2 {

template <class T>
struct Simd;

template <>
struct Simd<float> {
    using vec = __m256;
    static constexpr int width = 8, mr = 6, nv = 2;
    static constexpr index_t kc = 256, mc = 192, nc = 1024;
    STRATA_KERNEL_TARGET static vec zero() { return _mm256_setzero_ps(); }
    STRATA_KERNEL_TARGET static vec load(const float* p) { return _mm256_load_ps(p); }
    STRATA_KERNEL_TARGET static vec loadu(const float* p) { return _mm256_loadu_ps(p); }
    STRATA_KERNEL_TARGET static void store(float* p, vec v) { _mm256_store_ps(p, v); }
    STRATA_KERNEL_TARGET static void storeu(float* p, vec v) { _mm256_storeu_ps(p, v); }
    STRATA_KERNEL_TARGET static vec set1(float x) { return _mm256_set1_ps(x); }
    STRATA_KERNEL_TARGET static vec fmadd(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
    STRATA_KERNEL_TARGET static vec add(vec a, vec b) { return _mm256_add_ps(a, b); }
};

template <>
struct Simd<double> {
    using vec = __m256d;
    static constexpr int width = 4, mr = 6, nv = 2;
    static constexpr index_t kc = 256, mc = 96, nc = 512;
    STRATA_KERNEL_TARGET static vec zero() { return _mm256_setzero_pd(); }
    STRATA_KERNEL_TARGET static vec load(const double* p) { return _mm256_load_pd(p); }
    STRATA_KERNEL_TARGET static vec loadu(const double* p) { return _mm256_loadu_pd(p); }
    STRATA_KERNEL_TARGET static void store(double* p, vec v) { _mm256_store_pd(p, v); }
    STRATA_KERNEL_TARGET static void storeu(double* p, vec v) { _mm256_storeu_pd(p, v); }
    STRATA_KERNEL_TARGET static vec set1(double x) { return _mm256_set1_pd(x); }
    STRATA_KERNEL_TARGET static vec fmadd(vec a, vec b, vec c) { return _mm256_fmadd_pd(a, b, c); }
    STRATA_KERNEL_TARGET static vec add(vec a, vec b) { return _mm256_add_pd(a, b); }
};

#include "strata/ops/detail/gemm_kernel_body.inl"

}  // namespace strata::detail::avx2

#undef STRATA_KERNEL_TARGET
#endif
