#pragma once
/// @file
/// strata's packed GEMM compiled for AVX-512 (F, VL, DQ, BW, with FMA), whatever flags the program is built
/// with; called only when the CPU supports it (detail::gemm dispatches on active_isa()). Register tiles:
/// float 8 x 32 (16 zmm accumulators), double 8 x 16.

#include "strata/core/cpu_features.hpp"

#if STRATA_X86_KERNELS
#include <immintrin.h>

#include <algorithm>

#include <cstdint>

#include "strata/core/shape.hpp"
#include "strata/ops/detail/gemm_kernels_avx2.hpp"
#include "strata/ops/detail/offset_matrix.hpp"

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
    // Lane-wise loads for operands given by offsets (pack_b_offsets): index vectors, lane masks, a masked
    // gather, and zero-masked contiguous loads (up to max_runs of them, or-ed together, fill one vector).
    using index_vec = __m512i;
    using lane_mask = __mmask16;
    static constexpr int max_runs = 4;
    /// pack_a's full panels: mr (= 8) rows of 8 columns at src (rows `ld` apart) into dst as 8 groups of the
    /// 8 rows' values (dst[p * 8 + i] = src[i * ld + p]), transposed in 256-bit registers.
    static constexpr bool transposes_a_panels = true;
    STRATA_KERNEL_TARGET static void transpose_a_panel(const float* src, index_t ld, float* dst) {
        avx2::Simd<float>::transpose(src, ld, dst, 8);  // AVX2 code runs on every AVX-512 CPU
    }
    STRATA_KERNEL_TARGET static index_vec load_index(const std::int32_t* p) { return _mm512_loadu_si512(p); }
    STRATA_KERNEL_TARGET static lane_mask lanes(int first, int end) {
        return static_cast<lane_mask>(((1u << end) - 1u) & ~((1u << first) - 1u));
    }
    STRATA_KERNEL_TARGET static vec gather(const float* base, index_vec idx, lane_mask m) {
        return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, base, 4);
    }
    /// The lanes `m` from p, the others zero (a zero-masked load: no fault on the masked-off lanes).
    STRATA_KERNEL_TARGET static vec load_lanes(lane_mask m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
    /// The bitwise or of two vectors: merges loads of disjoint lanes.
    STRATA_KERNEL_TARGET static vec merge(vec a, vec b) {
        return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
    }
    /// dst row p (rows `dld` apart) = column p of the width x width block at src (rows `ld` apart).
    /// (The zero-masked forms of the shuffles with a full mask: the plain ones make GCC 12 warn about the
    /// undefined vector they merge into.)
    STRATA_KERNEL_TARGET static void transpose(const float* src, index_t ld, float* dst, index_t dld) {
        constexpr __mmask16 all16 = 0xFFFF;
        __m512 r[16], t[16], u[16], v[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * ld);
#pragma GCC unroll 8
        for (int i = 0; i < 16; i += 2) {  // t[i], t[i+1]: rows i, i+1 interleaved within each 128-bit lane
            t[i] = _mm512_maskz_unpacklo_ps(all16, r[i], r[i + 1]);
            t[i + 1] = _mm512_maskz_unpackhi_ps(all16, r[i], r[i + 1]);
        }
#pragma GCC unroll 4
        for (int g = 0; g < 16; g += 4) {  // u[g+k], lane L: column 4L+k of rows g..g+3
            u[g] = _mm512_shuffle_ps(t[g], t[g + 2], 0x44);
            u[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], 0xEE);
            u[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
            u[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
        }
#pragma GCC unroll 8
        for (int g = 0; g < 8; ++g) {  // pair the lanes of rows h..h+3 with those of rows h+4..h+7
            const int h = g / 4 * 8, k = g % 4;
            v[h + k] = _mm512_maskz_shuffle_f32x4(all16, u[h + k], u[h + 4 + k], 0x88);
            v[h + 4 + k] = _mm512_maskz_shuffle_f32x4(all16, u[h + k], u[h + 4 + k], 0xDD);
        }
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) {
            _mm512_storeu_ps(dst + k * dld, _mm512_maskz_shuffle_f32x4(all16, v[k], v[8 + k], 0x88));
            _mm512_storeu_ps(dst + (k + 8) * dld, _mm512_maskz_shuffle_f32x4(all16, v[k], v[8 + k], 0xDD));
        }
    }
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
    using index_vec = __m256i;
    using lane_mask = __mmask8;
    static constexpr int max_runs = 4;
    /// pack_a's full panels: mr (= 8 = width) rows of 8 columns, transposed by transpose() below.
    static constexpr bool transposes_a_panels = true;
    STRATA_KERNEL_TARGET static void transpose_a_panel(const double* src, index_t ld, double* dst) {
        transpose(src, ld, dst, 8);
    }
    STRATA_KERNEL_TARGET static index_vec load_index(const std::int32_t* p) {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    }
    STRATA_KERNEL_TARGET static lane_mask lanes(int first, int end) {
        return static_cast<lane_mask>(((1u << end) - 1u) & ~((1u << first) - 1u));
    }
    STRATA_KERNEL_TARGET static vec gather(const double* base, index_vec idx, lane_mask m) {
        return _mm512_mask_i32gather_pd(_mm512_setzero_pd(), m, idx, base, 8);
    }
    STRATA_KERNEL_TARGET static vec load_lanes(lane_mask m, const double* p) { return _mm512_maskz_loadu_pd(m, p); }
    STRATA_KERNEL_TARGET static vec merge(vec a, vec b) {
        return _mm512_castsi512_pd(_mm512_or_si512(_mm512_castpd_si512(a), _mm512_castpd_si512(b)));
    }
    /// dst row p (rows `dld` apart) = column p of the width x width block at src (rows `ld` apart).
    STRATA_KERNEL_TARGET static void transpose(const double* src, index_t ld, double* dst, index_t dld) {
        constexpr __mmask8 all8 = 0xFF;
        __m512d r[8], t[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; ++i) r[i] = _mm512_loadu_pd(src + i * ld);
#pragma GCC unroll 4
        for (int i = 0; i < 8; i += 2) {  // t[i + e], lane L: column 2L+e of rows i, i+1
            t[i] = _mm512_maskz_unpacklo_pd(all8, r[i], r[i + 1]);
            t[i + 1] = _mm512_maskz_unpackhi_pd(all8, r[i], r[i + 1]);
        }
#pragma GCC unroll 2
        for (int e = 0; e < 2; ++e) {
            const __m512d w88 = _mm512_maskz_shuffle_f64x2(all8, t[e], t[2 + e], 0x88);
            const __m512d wdd = _mm512_maskz_shuffle_f64x2(all8, t[e], t[2 + e], 0xDD);
            const __m512d x88 = _mm512_maskz_shuffle_f64x2(all8, t[4 + e], t[6 + e], 0x88);
            const __m512d xdd = _mm512_maskz_shuffle_f64x2(all8, t[4 + e], t[6 + e], 0xDD);
            _mm512_storeu_pd(dst + e * dld, _mm512_maskz_shuffle_f64x2(all8, w88, x88, 0x88));
            _mm512_storeu_pd(dst + (4 + e) * dld, _mm512_maskz_shuffle_f64x2(all8, w88, x88, 0xDD));
            _mm512_storeu_pd(dst + (2 + e) * dld, _mm512_maskz_shuffle_f64x2(all8, wdd, xdd, 0x88));
            _mm512_storeu_pd(dst + (6 + e) * dld, _mm512_maskz_shuffle_f64x2(all8, wdd, xdd, 0xDD));
        }
    }
};

#include "strata/ops/detail/gemm_kernel_body.inl"
#include "strata/ops/detail/conv_direct_body.inl"

}  // namespace strata::detail::avx512

#undef STRATA_KERNEL_TARGET
#endif
