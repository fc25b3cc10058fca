#pragma once
/// @file
/// strata's packed GEMM compiled for AVX-512 (F, VL, DQ, BW, with FMA), whatever flags the program is built
/// with; called only when the CPU supports it (detail::gemm dispatches on active_isa()). Register tiles:
/// float 8 x 32 (16 zmm accumulators), double 8 x 16.

#include "strata/core/cpu_features.hpp"

#if STRATA_X86_KERNELS
#include <immintrin.h>

#include <algorithm>

#include "strata/core/shape.hpp"

#define STRATA_KERNEL_TARGET \
    STRATA_TARGET_AVX512 inline

namespace strata::detail::avx512 {

template <class T>
struct Simd;

template <>
struct Simd<float> {
    using vec = __m512;
    static constexpr int width = 16, mr = 8, nv = 2;
    static constexpr index_t kc = 256, mc = 192, nc = 1024;
    STRATA_KERNEL_TARGET static vec zero() { return _mm512_setzero_ps(); }
    STRATA_KERNEL_TARGET static vec load(const float* p) { return _mm512_load_ps(p); }
    STRATA_KERNEL_TARGET static vec loadu(const float* p) { return _mm512_loadu_ps(p); }
    STRATA_KERNEL_TARGET static void store(float* p, vec v) { _mm512_store_ps(p, v); }
    STRATA_KERNEL_TARGET static void storeu(float* p, vec v) { _mm512_storeu_ps(p, v); }
    STRATA_KERNEL_TARGET static vec set1(float x) { return _mm512_set1_ps(x); }
    STRATA_KERNEL_TARGET static vec fmadd(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
    STRATA_KERNEL_TARGET static vec add(vec a, vec b) { return _mm512_add_ps(a, b); }
};

template <>
struct Simd<double> {
    using vec = __m512d;
    static constexpr int width = 8, mr = 8, nv = 2;
    static constexpr index_t kc = 256, mc = 96, nc = 512;
    STRATA_KERNEL_TARGET static vec zero() { return _mm512_setzero_pd(); }
    STRATA_KERNEL_TARGET static vec load(const double* p) { return _mm512_load_pd(p); }
    STRATA_KERNEL_TARGET static vec loadu(const double* p) { return _mm512_loadu_pd(p); }
    STRATA_KERNEL_TARGET static void store(double* p, vec v) { _mm512_store_pd(p, v); }
    STRATA_KERNEL_TARGET static void storeu(double* p, vec v) { _mm512_storeu_pd(p, v); }
    STRATA_KERNEL_TARGET static vec set1(double x) { return _mm512_set1_pd(x); }
    STRATA_KERNEL_TARGET static vec fmadd(vec a, vec b, vec c) { return _mm512_fmadd_pd(a, b, c); }
    STRATA_KERNEL_TARGET static vec add(vec a, vec b) { return _mm512_add_pd(a, b); }
};

#include "strata/ops/detail/gemm_kernel_body.inl"

}  // namespace strata::detail::avx512

#undef STRATA_KERNEL_TARGET
#endif
