#pragma once
/// @file
/// strata's packed GEMM compiled for AVX2 and FMA, whatever flags the program is built
/// with; called only when the CPU supports it (detail::gemm dispatches on active_isa()). Register tiles:
/// float 6 x 16 (12 ymm accumulators), double 6 x 8.

#include "strata/core/cpu_features.hpp"

#if STRATA_X86_KERNELS
#include <immintrin.h>

#include <algorithm>

#include <cstdint>

#include "strata/core/shape.hpp"
#include "strata/ops/detail/offset_matrix.hpp"

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
    // Lane-wise loads for operands given by offsets (pack_b_offsets): index vectors, lane masks, a masked
    // gather, and zero-masked contiguous loads (up to max_runs of them, or-ed together, fill one vector).
    using index_vec = __m256i;
    using lane_mask = __m256;
    static constexpr int max_runs = 4;
    /// The lanes `m` from p, the others zero (vmaskmov: no fault on the masked-off lanes).
    STRATA_KERNEL_TARGET static vec load_lanes(lane_mask m, const float* p) {
        return _mm256_maskload_ps(p, _mm256_castps_si256(m));
    }
    /// The bitwise or of two vectors: merges loads of disjoint lanes.
    STRATA_KERNEL_TARGET static vec merge(vec a, vec b) { return _mm256_or_ps(a, b); }
    static constexpr bool transposes_a_panels = false;  // mr = 6: pack_a copies element by element
    STRATA_KERNEL_TARGET static index_vec load_index(const std::int32_t* p) {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    }
    STRATA_KERNEL_TARGET static lane_mask lanes(int first, int end) {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i in = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(first), lane),
                                               _mm256_cmpgt_epi32(_mm256_set1_epi32(end), lane));
        return _mm256_castsi256_ps(in);
    }
    STRATA_KERNEL_TARGET static vec gather(const float* base, index_vec idx, lane_mask m) {
        return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base, idx, m, 4);
    }
    /// dst row p (rows `dld` apart) = column p of the width x width block at src (rows `ld` apart).
    STRATA_KERNEL_TARGET static void transpose(const float* src, index_t ld, float* dst, index_t dld) {
        __m256 r[8], t[8], u[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * ld);
#pragma GCC unroll 4
        for (int i = 0; i < 8; i += 2) {
            t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
            t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
        }
#pragma GCC unroll 2
        for (int g = 0; g < 8; g += 4) {  // u[g+k], lane L: column 4L+k of rows g..g+3
            u[g] = _mm256_shuffle_ps(t[g], t[g + 2], 0x44);
            u[g + 1] = _mm256_shuffle_ps(t[g], t[g + 2], 0xEE);
            u[g + 2] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0x44);
            u[g + 3] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
        }
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
            _mm256_storeu_ps(dst + k * dld, _mm256_permute2f128_ps(u[k], u[4 + k], 0x20));
            _mm256_storeu_ps(dst + (k + 4) * dld, _mm256_permute2f128_ps(u[k], u[4 + k], 0x31));
        }
    }
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
    using index_vec = __m128i;
    using lane_mask = __m256d;
    static constexpr int max_runs = 4;
    STRATA_KERNEL_TARGET static vec load_lanes(lane_mask m, const double* p) {
        return _mm256_maskload_pd(p, _mm256_castpd_si256(m));
    }
    STRATA_KERNEL_TARGET static vec merge(vec a, vec b) { return _mm256_or_pd(a, b); }
    static constexpr bool transposes_a_panels = false;  // mr = 6: pack_a copies element by element
    STRATA_KERNEL_TARGET static index_vec load_index(const std::int32_t* p) {
        return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    }
    STRATA_KERNEL_TARGET static lane_mask lanes(int first, int end) {
        const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
        const __m256i in = _mm256_andnot_si256(_mm256_cmpgt_epi64(_mm256_set1_epi64x(first), lane),
                                               _mm256_cmpgt_epi64(_mm256_set1_epi64x(end), lane));
        return _mm256_castsi256_pd(in);
    }
    STRATA_KERNEL_TARGET static vec gather(const double* base, index_vec idx, lane_mask m) {
        return _mm256_mask_i32gather_pd(_mm256_setzero_pd(), base, idx, m, 8);
    }
    /// dst row p (rows `dld` apart) = column p of the width x width block at src (rows `ld` apart).
    STRATA_KERNEL_TARGET static void transpose(const double* src, index_t ld, double* dst, index_t dld) {
        const __m256d r0 = _mm256_loadu_pd(src), r1 = _mm256_loadu_pd(src + ld);
        const __m256d r2 = _mm256_loadu_pd(src + 2 * ld), r3 = _mm256_loadu_pd(src + 3 * ld);
        const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
        const __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
        _mm256_storeu_pd(dst, _mm256_permute2f128_pd(t0, t2, 0x20));
        _mm256_storeu_pd(dst + dld, _mm256_permute2f128_pd(t1, t3, 0x20));
        _mm256_storeu_pd(dst + 2 * dld, _mm256_permute2f128_pd(t0, t2, 0x31));
        _mm256_storeu_pd(dst + 3 * dld, _mm256_permute2f128_pd(t1, t3, 0x31));
    }
};

#include "strata/ops/detail/gemm_kernel_body.inl"
#include "strata/ops/detail/conv_direct_body.inl"

}  // namespace strata::detail::avx2

#undef STRATA_KERNEL_TARGET
#endif
