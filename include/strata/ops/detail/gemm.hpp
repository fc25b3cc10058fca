#pragma once
/// @file
/// A row-major GEMM, C = op(A) op(B) or C += op(A) op(B), on raw pointers, with its packing buffers supplied
/// by the caller (from the tape's arena): a steady-state training step must not touch the heap. The kernel is
/// chosen at run time for the CPU (active_isa(), core/cpu_features.hpp): strata's packed kernels compiled for
/// AVX-512 (ops/detail/gemm_kernels_avx512.hpp) or AVX2+FMA (gemm_kernels_avx2.hpp), whatever flags the
/// program is built with, else Eigen's own blocked kernel (the one `MatrixMap * MatrixMap` reaches, compiled
/// for the program's flags) as the portable fallback. Single-threaded, except gemm_with_scratch on large
/// products outside any parallel region, which splits the product over threads itself (the one level of
/// parallelism there).

#include <algorithm>

#include <Eigen/Core>

#include "strata/core/aligned.hpp"
#include "strata/core/cpu_features.hpp"
#include "strata/core/parallel.hpp"
#include "strata/core/shape.hpp"
#include "strata/ops/detail/gemm_kernels_avx2.hpp"
#include "strata/ops/detail/gemm_kernels_avx512.hpp"
#include "strata/ops/detail/offset_matrix.hpp"

namespace strata::detail {

namespace gemm_impl {

/// Cache blocks of strata's packed kernels for one ISA's Simd<T>, clipped to a product's size: A's block
/// [mc x kc] and B's block [kc x nc], mc a multiple of the register tile's rows, nc of its columns.
struct PackedBlocks {
    index_t mc = 0, kc = 0, nc = 0;
};

template <class S>
PackedBlocks packed_blocks(index_t m, index_t n, index_t k) {
    constexpr index_t mr = S::mr, nr = S::nv * S::width;
    PackedBlocks b;
    b.mc = std::min<index_t>(S::mc, std::max<index_t>(1, (m + mr - 1) / mr) * mr);
    b.kc = std::min<index_t>(S::kc, std::max<index_t>(1, k));
    b.nc = std::min<index_t>(S::nc, std::max<index_t>(1, (n + nr - 1) / nr) * nr);
    return b;
}

}  // namespace gemm_impl

/// The cache blocking of one GEMM shape for the kernel family active when it is built, and packing buffers
/// attached to it. Compute it once for the largest shape a loop will multiply, size the scratch with
/// scratch_size(), and attach() a private slice to a copy per thread; smaller products (fewer columns, say)
/// can use the same blocking. gemm() runs the kernel family the blocking was built for, so a set_isa()
/// between building and using a blocking does not change the scratch it needs.
template <class T>
class GemmBlocking : public Eigen::internal::level3_blocking<T, T> {
public:
    /// The blocking of a row-major [m x k] * [k x n] product. Does not throw.
    GemmBlocking(index_t m, index_t n, index_t k) : isa_(active_isa()) {
        if (isa_ == Isa::generic) {
            // Eigen computes a row-major product as the column-major C^T = op(B)^T op(A)^T: n rows, m columns.
            this->m_mc = n;
            this->m_nc = m;
            this->m_kc = k;
            Eigen::internal::computeProductBlockingSizes<T, T, 1>(this->m_kc, this->m_mc, this->m_nc,
                                                                  Eigen::Index{1});
            return;
        }
#if STRATA_X86_KERNELS
        blocks_ = isa_ == Isa::avx512 ? gemm_impl::packed_blocks<avx512::Simd<T>>(m, n, k)
                                      : gemm_impl::packed_blocks<avx2::Simd<T>>(m, n, k);
#endif
    }

    /// The kernel family gemm() runs with this blocking.
    Isa isa() const { return isa_; }

    /// Elements of scratch the two packing buffers need (each rounded to whole 64-byte lines).
    index_t scratch_size() const {
        if (isa_ == Isa::generic)
            return whole_lines<T>(this->m_mc * this->m_kc) +
                   whole_lines<T>(this->m_kc * this->m_nc);
        return whole_lines<T>(blocks_.mc * blocks_.kc) + whole_lines<T>(blocks_.kc * blocks_.nc);
    }

    /// Uses `scratch` (scratch_size() elements, 64-byte aligned, alive while products run) as the packing
    /// buffers. Does not throw.
    void attach(T* scratch) {
        if (isa_ == Isa::generic) {
            this->m_blockA = scratch;
            this->m_blockB = scratch + whole_lines<T>(this->m_mc * this->m_kc);
            return;
        }
        packed_a_ = scratch;
        packed_b_ = scratch + whole_lines<T>(blocks_.mc * blocks_.kc);
    }

    /// Elements of the buffer gemm_pack_a() fills for an [m x k] op(A): whole register-tile panels of rows,
    /// k deep. 0 on the generic kernels, which have no prepacked form.
    index_t packed_a_size(index_t m, index_t k) const {
        if (isa_ == Isa::generic) return 0;
        return whole_lines<T>((m + mr() - 1) / mr() * mr() * k);
    }

    /// Rows of the register tile of strata's packed kernels (1 on the generic kernels).
    index_t mr() const {
#if STRATA_X86_KERNELS
        if (isa_ == Isa::avx512) return avx512::Simd<T>::mr;
        if (isa_ == Isa::avx2) return avx2::Simd<T>::mr;
#endif
        return 1;
    }

    /// strata's packed kernels' blocks (unused by the generic kernels).
    const gemm_impl::PackedBlocks& blocks() const { return blocks_; }
    T* packed_a() const { return packed_a_; }
    T* packed_b() const { return packed_b_; }

private:
    Isa isa_;
    gemm_impl::PackedBlocks blocks_{};
    T* packed_a_ = nullptr;
    T* packed_b_ = nullptr;
};

namespace gemm_impl {

/// C [m x n] (rows `ldc` apart) = 0: what a product with k = 0 gives when not accumulating.
template <class T>
void clear_rows(index_t m, index_t n, T* c, index_t ldc) {
    for (index_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, T(0));
}

template <int LhsOrder, int RhsOrder, class T>
void run(index_t m, index_t n, index_t k, const T* a, index_t lda, const T* b, index_t ldb, T* c, index_t ldc,
         GemmBlocking<T>& blocking) {
    Eigen::internal::general_matrix_matrix_product<index_t, T, LhsOrder, false, T, RhsOrder, false, Eigen::RowMajor,
                                                   1>::run(m, n, k, a, lda, b, ldb, c, 1, ldc, T(1), blocking,
                                                           nullptr);
}

/// op(X) of a row-major [rows x cols] (or, transposed, [cols x rows]) matrix with rows `ld` apart, as an Eigen
/// expression for the threaded fallback.
template <class T>
using StridedMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
                              Eigen::OuterStride<>>;

template <class T>
void run_threaded(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, const T* a, index_t lda, const T* b,
                  index_t ldb, T* c, index_t ldc) {
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0, Eigen::OuterStride<>> out(
        c, m, n, Eigen::OuterStride<>(ldc));
    const StridedMap<T> A(a, trans_a ? k : m, trans_a ? m : k, Eigen::OuterStride<>(lda));
    const StridedMap<T> B(b, trans_b ? n : k, trans_b ? k : n, Eigen::OuterStride<>(ldb));
    if (!trans_a && !trans_b) out.noalias() += A * B;
    else if (!trans_a && trans_b) out.noalias() += A * B.transpose();
    else if (trans_a && !trans_b) out.noalias() += A.transpose() * B;
    else out.noalias() += A.transpose() * B.transpose();
}

}  // namespace gemm_impl

/// C [m x n] (row-major, rows `ldc` apart) = op(A) op(B), or += when `accumulate`, where op(A) is [m x k] and
/// op(B) is [k x n]: A is stored row-major as [m x k] (rows `lda` apart), or as [k x m] when `trans_a` (then
/// op(A) = A^T); likewise B as [k x n], or [n x k] when `trans_b`. `blocking` must have been computed for a
/// product at least this large and have packing buffers attached. Does not throw, does not allocate.
template <class T>
void gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, const T* a, index_t lda, const T* b,
          index_t ldb, T* c, index_t ldc, bool accumulate, GemmBlocking<T>& blocking) {
    if (m == 0 || n == 0) return;
#if STRATA_X86_KERNELS
    if (k > 0 && blocking.isa() != Isa::generic) {
        const gemm_impl::PackedBlocks& blocks = blocking.blocks();
        if (blocking.isa() == Isa::avx512)
            avx512::gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate, blocks.mc, blocks.kc,
                         blocks.nc, blocking.packed_a(), blocking.packed_b());
        else
            avx2::gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate, blocks.mc, blocks.kc,
                       blocks.nc, blocking.packed_a(), blocking.packed_b());
        return;
    }
#endif
    if (!accumulate) gemm_impl::clear_rows(m, n, c, ldc);
    if (k == 0) return;
    constexpr int R = Eigen::RowMajor, C = Eigen::ColMajor;
    if (!trans_a && !trans_b) gemm_impl::run<R, R>(m, n, k, a, lda, b, ldb, c, ldc, blocking);
    else if (!trans_a && trans_b) gemm_impl::run<R, C>(m, n, k, a, lda, b, ldb, c, ldc, blocking);
    else if (trans_a && !trans_b) gemm_impl::run<C, R>(m, n, k, a, lda, b, ldb, c, ldc, blocking);
    else gemm_impl::run<C, C>(m, n, k, a, lda, b, ldb, c, ldc, blocking);
}

/// An op(A) packed once by gemm_pack_a() for many products with it (a convolution's weights, shared by its
/// sample groups and threads).
template <class T>
struct PackedA {
    const T* data = nullptr;
    index_t m = 0, k = 0;
};

/// Packs op(A) [m x k] (A row-major [m x k], rows `lda` apart, or [k x m] when `trans_a`) into `out`
/// (blocking.packed_a_size(m, k) elements, 64-byte aligned) for gemm_offsets() and gemm_prepacked_a() with
/// the same blocking, or one computed for the same ISA and depth. The blocking must be for strata's packed
/// kernels (not Isa::generic). With `threads` > 1 (outside a parallel region) the row panels are shared out
/// among that many OpenMP threads. Does not throw, does not allocate.
template <class T>
PackedA<T> gemm_pack_a(bool trans_a, index_t m, index_t k, const T* a, index_t lda, const GemmBlocking<T>& blocking,
                       T* out, int threads = 1) {
#if STRATA_X86_KERNELS
    const Isa isa = blocking.isa();
    const index_t kc = blocking.blocks().kc;
    const index_t mr = blocking.mr();
    const index_t panels = (m + mr - 1) / mr;
    const index_t slices = std::max<index_t>(1, std::min<index_t>(threads, panels));
    const index_t per_slice = (panels + slices - 1) / slices * mr;
    parallel_for(slices, static_cast<int>(slices), slices > 1, [&](index_t s) {
        const index_t row0 = s * per_slice, rows = std::min(per_slice, m - row0);
        if (rows <= 0) return;
        if (isa == Isa::avx512) avx512::pack_a_rows(trans_a, a, lda, m, k, kc, row0, rows, out);
        else if (isa == Isa::avx2) avx2::pack_a_rows(trans_a, a, lda, m, k, kc, row0, rows, out);
    });
#else
    (void)trans_a, (void)a, (void)lda, (void)blocking, (void)threads;
#endif
    return PackedA<T>{out, m, k};
}

/// C [a.m x n] (row-major, rows `ldc` apart) = A op(B), or += when `accumulate`: gemm() with A from
/// gemm_pack_a() (packed once for many products) and op(B) [a.k x n] dense (B row-major [k x n], rows `ldb`
/// apart, or [n x k] when `trans_b`). The blocking must be the one A was packed with, with its buffers
/// attached. Does not throw, does not allocate.
template <class T>
void gemm_prepacked_a(const PackedA<T>& a, bool trans_b, index_t n, const T* b, index_t ldb, T* c, index_t ldc,
                      bool accumulate, GemmBlocking<T>& blocking) {
    if (a.m == 0 || n == 0) return;
    if (a.k == 0) {
        if (!accumulate) gemm_impl::clear_rows(a.m, n, c, ldc);
        return;
    }
#if STRATA_X86_KERNELS
    const gemm_impl::PackedBlocks& blocks = blocking.blocks();
    if (blocking.isa() == Isa::avx512)
        avx512::gemm_prepacked_a(a.m, n, a.k, a.data, trans_b, b, ldb, c, ldc, accumulate, blocks.mc, blocks.kc,
                                 blocks.nc, blocking.packed_b());
    else if (blocking.isa() == Isa::avx2)
        avx2::gemm_prepacked_a(a.m, n, a.k, a.data, trans_b, b, ldb, c, ldc, accumulate, blocks.mc, blocks.kc,
                               blocks.nc, blocking.packed_b());
#else
    (void)trans_b, (void)b, (void)ldb, (void)c, (void)ldc, (void)accumulate, (void)blocking;
#endif
}

namespace gemm_impl {

template <class T>
void run_offsets(bool trans_a, index_t m, index_t n, index_t k, const T* a, index_t lda, const T* prepacked_a,
                 const OffsetMatrix<T>& b, T* c, index_t ldc, bool accumulate, GemmBlocking<T>& blocking) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
        if (!accumulate) clear_rows(m, n, c, ldc);
        return;
    }
#if STRATA_X86_KERNELS
    const PackedBlocks& blocks = blocking.blocks();
    if (blocking.isa() == Isa::avx512)
        avx512::gemm_offsets(trans_a, m, n, k, a, lda, prepacked_a, b, c, ldc, accumulate, blocks.mc, blocks.kc,
                             blocks.nc, blocking.packed_a(), blocking.packed_b());
    else if (blocking.isa() == Isa::avx2)
        avx2::gemm_offsets(trans_a, m, n, k, a, lda, prepacked_a, b, c, ldc, accumulate, blocks.mc, blocks.kc,
                           blocks.nc, blocking.packed_a(), blocking.packed_b());
#else
    (void)trans_a, (void)a, (void)lda, (void)prepacked_a, (void)b, (void)blocking;
#endif
}

}  // namespace gemm_impl

/// C [a.m x n] (row-major, rows `ldc` apart) = A B, or += when `accumulate`, with A from gemm_pack_a() and B
/// [a.k x n] an OffsetMatrix (a convolution's column matrix read from its image: no im2col pass). The
/// blocking must be the one A was packed with (strata's packed kernels) with its buffers attached. Does not
/// throw, does not allocate.
template <class T>
void gemm_offsets(const PackedA<T>& a, index_t n, const OffsetMatrix<T>& b, T* c, index_t ldc, bool accumulate,
                  GemmBlocking<T>& blocking) {
    gemm_impl::run_offsets(false, a.m, n, a.k, static_cast<const T*>(nullptr), 0, a.data, b, c, ldc, accumulate,
                           blocking);
}

/// C [m x n] = op(A) B, or += when `accumulate`: gemm() with B [k x n] an OffsetMatrix (e.g. the transposed
/// column matrix of a convolution's weight gradient, read from its images). A is row-major [m x k] (rows `lda`
/// apart), or [k x m] when `trans_a`. The blocking must be for strata's packed kernels, computed for a product
/// at least this large, with its buffers attached. Does not throw, does not allocate.
template <class T>
void gemm_offsets(bool trans_a, index_t m, index_t n, index_t k, const T* a, index_t lda, const OffsetMatrix<T>& b,
                  T* c, index_t ldc, bool accumulate, GemmBlocking<T>& blocking) {
    gemm_impl::run_offsets(trans_a, m, n, k, a, lda, static_cast<const T*>(nullptr), b, c, ldc, accumulate, blocking);
}

/// Multiply-adds from which gemm_with_scratch threads a product (when more than one thread is available):
/// below it, waking threads costs more than it saves.
inline constexpr double gemm_threading_threshold = 1 << 22;

/// gemm() with a blocking of its own whose packing buffers come from `scratch(count)` (a callable returning
/// `count` 64-byte-aligned T, e.g. the tape's arena; called once, on the calling thread). A product of at least
/// gemm_threading_threshold multiply-adds started outside a parallel region with more than one OpenMP thread
/// available is split over the threads: with strata's kernels into slices of C's rows or columns, each with
/// its own packing buffers from `scratch`; with the generic kernels by Eigen's threaded product, which may
/// allocate its buffers on the heap. Does not throw unless `scratch` does.
template <class T, class Scratch>
void gemm_with_scratch(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, const T* a, index_t lda,
                       const T* b, index_t ldb, T* c, index_t ldc, bool accumulate, Scratch&& scratch) {
    const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
    const int threads = available_threads();
    if (work >= gemm_threading_threshold && threads > 1) {
        if (active_isa() == Isa::generic) {
            if (!accumulate) gemm_impl::clear_rows(m, n, c, ldc);
            gemm_impl::run_threaded(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
            return;
        }
        // Slices of 64 columns (or rows) at least, so each keeps whole register tiles.
        const bool by_columns = n >= m;
        const index_t extent = by_columns ? n : m;
        const index_t slice = (extent + threads - 1) / threads;
        const index_t step = (slice + 63) / 64 * 64;
        const index_t slices = (extent + step - 1) / step;
        const GemmBlocking<T> blocking(by_columns ? m : step, by_columns ? step : n, k);
        const index_t per_slice = blocking.scratch_size();
        T* buffers = scratch(per_slice * slices);
        parallel_for(slices, threads, slices > 1, [&](index_t s) {
            GemmBlocking<T> mine = blocking;
            mine.attach(buffers + s * per_slice);
            const index_t first = s * step, count = std::min(step, extent - first);
            if (by_columns)
                gemm(trans_a, trans_b, m, count, k, a, lda, trans_b ? b + first * ldb : b + first, ldb, c + first,
                     ldc, accumulate, mine);
            else
                gemm(trans_a, trans_b, count, n, k, trans_a ? a + first : a + first * lda, lda, b, ldb,
                     c + first * ldc, ldc, accumulate, mine);
        });
        return;
    }
    GemmBlocking<T> blocking(m, n, k);
    blocking.attach(scratch(blocking.scratch_size()));
    gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate, blocking);
}

}  // namespace strata::detail
