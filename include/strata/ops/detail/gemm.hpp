#pragma once
/// @file
/// A row-major GEMM, C = op(A) op(B) or C += op(A) op(B), on raw pointers through Eigen's own blocked kernel
/// (the one `MatrixMap * MatrixMap` reaches), but with its packing buffers supplied by the caller (from the
/// tape's arena) instead of allocated: Eigen takes large packing buffers from the heap on every product
/// (above EIGEN_STACK_ALLOCATION_LIMIT), and a steady-state training step must not touch the heap.
/// Single-threaded, except gemm_with_scratch on large products outside any parallel region, which lets Eigen
/// thread the product itself (the one level of parallelism there).

#include <algorithm>

#include <Eigen/Core>

#include "strata/core/aligned.hpp"
#include "strata/core/parallel.hpp"
#include "strata/core/shape.hpp"

namespace strata::detail {

/// Eigen's cache blocking of one GEMM shape, and packing buffers attached to it. Compute it once for the
/// largest shape a loop will multiply, size the scratch with scratch_size(), and attach() a private slice
/// to a copy per thread; smaller products (fewer columns, say) can use the same blocking.
template <class T>
class GemmBlocking : public Eigen::internal::level3_blocking<T, T> {
public:
    /// The blocking of a row-major [m x k] * [k x n] product. Does not throw.
    GemmBlocking(index_t m, index_t n, index_t k) {
        // Eigen computes a row-major product as the column-major C^T = op(B)^T op(A)^T: n rows, m columns.
        this->m_mc = n;
        this->m_nc = m;
        this->m_kc = k;
        Eigen::internal::computeProductBlockingSizes<T, T, 1>(this->m_kc, this->m_mc, this->m_nc, Eigen::Index{1});
    }

    /// Elements of scratch the two packing buffers need (each rounded to whole 64-byte lines).
    index_t scratch_size() const { return lines(this->m_mc * this->m_kc) + lines(this->m_kc * this->m_nc); }

    /// Uses `scratch` (scratch_size() elements, 64-byte aligned, alive while products run) as the packing
    /// buffers. Does not throw.
    void attach(T* scratch) {
        this->m_blockA = scratch;
        this->m_blockB = scratch + lines(this->m_mc * this->m_kc);
    }

private:
    static index_t lines(index_t n) {
        const auto per_line = static_cast<index_t>(alignment / sizeof(T));
        return (n + per_line - 1) / per_line * per_line;
    }
};

namespace gemm_impl {

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
    if (!accumulate)
        for (index_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, T(0));
    if (k == 0) return;
    constexpr int R = Eigen::RowMajor, C = Eigen::ColMajor;
    if (!trans_a && !trans_b) gemm_impl::run<R, R>(m, n, k, a, lda, b, ldb, c, ldc, blocking);
    else if (!trans_a && trans_b) gemm_impl::run<R, C>(m, n, k, a, lda, b, ldb, c, ldc, blocking);
    else if (trans_a && !trans_b) gemm_impl::run<C, R>(m, n, k, a, lda, b, ldb, c, ldc, blocking);
    else gemm_impl::run<C, C>(m, n, k, a, lda, b, ldb, c, ldc, blocking);
}

/// Multiply-adds from which gemm_with_scratch lets Eigen thread a product (when more than one thread is
/// available): below it, waking threads costs more than it saves.
inline constexpr double gemm_threading_threshold = 1 << 22;

/// gemm() with a blocking of its own whose packing buffers come from `scratch(count)` (a callable returning
/// `count` 64-byte-aligned T, e.g. the tape's arena). A product of at least gemm_threading_threshold
/// multiply-adds started outside a parallel region with more than one OpenMP thread available goes to Eigen's
/// threaded product instead, which may allocate its buffers on the heap. Does not throw unless `scratch` does.
template <class T, class Scratch>
void gemm_with_scratch(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, const T* a, index_t lda,
                       const T* b, index_t ldb, T* c, index_t ldc, bool accumulate, Scratch&& scratch) {
    const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
    if (work >= gemm_threading_threshold && available_threads() > 1) {
        if (!accumulate)
            for (index_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, T(0));
        gemm_impl::run_threaded(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
        return;
    }
    GemmBlocking<T> blocking(m, n, k);
    blocking.attach(scratch(blocking.scratch_size()));
    gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate, blocking);
}

}  // namespace strata::detail

#ifdef STRATA_EXTERN_TEMPLATES  // float and double instantiated once (strata/detail/extern_templates.hpp)
#include "strata/detail/extern_templates.hpp"
namespace strata::detail {
#define STRATA_INSTANTIATE_(T) \
    STRATA_EXPLICIT_TEMPLATE class GemmBlocking<T>; \
    STRATA_EXPLICIT_TEMPLATE void gemm<T>(bool, bool, index_t, index_t, index_t, const T*, index_t, const T*, \
        index_t, T*, index_t, bool, GemmBlocking<T>&); \
    STRATA_EXPLICIT_TEMPLATE void gemm_impl::run_threaded<T>(bool, bool, index_t, index_t, index_t, const T*, \
        index_t, const T*, index_t, T*, index_t);
STRATA_FOR_EACH_SCALAR(STRATA_INSTANTIATE_)
#undef STRATA_INSTANTIATE_
}  // namespace strata::detail
#endif
