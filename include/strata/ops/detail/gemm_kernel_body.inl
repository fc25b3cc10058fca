// The body of strata's packed GEMM (no include guard, on purpose): included once per instruction set by
// gemm_kernels_avx512.hpp and gemm_kernels_avx2.hpp, inside that ISA's namespace, after the includer has
// defined
//   STRATA_KERNEL_TARGET  the function attribute compiling a function for the ISA (target + inline), and
//   Simd<T>               for float and double: vec, width, mr (rows of a micro-tile), nv (vectors per row of a
//                         micro-tile), kc/mc/nc (cache blocks), zero/load/store/set1/fmadd/add, and transpose
//                         (a width x width block, in registers).
// Every function here carries STRATA_KERNEL_TARGET (no lambdas: they would not inherit it), so the whole
// kernel is compiled for the ISA whatever flags the program is built with.
//
// The scheme is the usual one of packed GEMMs (Goto; BLIS): C [m x n] row-major is cut into column blocks
// of nc and depth blocks of kc; op(B)'s [kc x nc] block is packed into panels of NR = nv * width columns
// (each of its kc rows NR contiguous values), op(A)'s [mc x kc] block into panels of MR rows (each of its kc
// columns MR contiguous values), both zero-padded to whole panels; a micro-kernel keeps an MR x NR tile of C
// in registers over the depth, one vector load of B and one broadcast of A per row and step. B's panel
// (kc x NR) stays in L1 while the micro-kernel walks down A's block (in L2).

/// Copies op(A)[row0 .. row0+rows, col0 .. col0+depth] into panels of S::mr rows: for each panel, depth
/// groups of mr values (rows past the end are zero). A is row-major [m x k] (`trans` false) or [k x m].
template <class T>
STRATA_KERNEL_TARGET void pack_a(bool trans, const T* a, index_t lda, index_t row0, index_t rows, index_t col0,
                                 index_t depth, T* out) {
    constexpr index_t MR = Simd<T>::mr;
    for (index_t r = 0; r < rows; r += MR) {
        const index_t valid = std::min(MR, rows - r);
        T* panel = out + r * depth;
        if (!trans) {
            for (index_t i = 0; i < valid; ++i) {
                const T* src = a + (row0 + r + i) * lda + col0;
                for (index_t p = 0; p < depth; ++p) panel[p * MR + i] = src[p];
            }
            for (index_t i = valid; i < MR; ++i)
                for (index_t p = 0; p < depth; ++p) panel[p * MR + i] = T(0);
        } else {
            for (index_t p = 0; p < depth; ++p) {
                const T* src = a + (col0 + p) * lda + row0 + r;
                T* dst = panel + p * MR;
                for (index_t i = 0; i < valid; ++i) dst[i] = src[i];
                for (index_t i = valid; i < MR; ++i) dst[i] = T(0);
            }
        }
    }
}

/// Copies op(B)[row0 .. row0+depth, col0 .. col0+cols] into panels of NR columns: for each panel, depth
/// rows of NR values (columns past the end are zero). B is row-major [k x n] (`trans` false) or [n x k].
template <class T>
STRATA_KERNEL_TARGET void pack_b(bool trans, const T* b, index_t ldb, index_t row0, index_t depth, index_t col0,
                                 index_t cols, T* out) {
    using S = Simd<T>;
    constexpr index_t W = S::width, NR = S::nv * S::width;
    for (index_t j = 0; j < cols; j += NR) {
        const index_t valid = std::min(NR, cols - j);
        T* panel = out + j * depth;
        if (!trans) {
            const T* src = b + row0 * ldb + col0 + j;
            if (valid == NR) {
                for (index_t p = 0; p < depth; ++p)
#pragma GCC unroll 4
                    for (index_t v = 0; v < NR; v += W) S::store(panel + p * NR + v, S::loadu(src + p * ldb + v));
            } else {
                for (index_t p = 0; p < depth; ++p) {
                    for (index_t q = 0; q < valid; ++q) panel[p * NR + q] = src[p * ldb + q];
                    for (index_t q = valid; q < NR; ++q) panel[p * NR + q] = T(0);
                }
            }
        } else if (valid == NR) {  // a whole panel of op(B) = B^T: W x W blocks transposed in registers
            index_t p = 0;
            for (; p + W <= depth; p += W)
                for (index_t v = 0; v < NR; v += W)
                    S::transpose(b + (col0 + j + v) * ldb + row0 + p, ldb, panel + p * NR + v, NR);
            for (; p < depth; ++p)
                for (index_t q = 0; q < NR; ++q) panel[p * NR + q] = b[(col0 + j + q) * ldb + row0 + p];
        } else {
            for (index_t q = 0; q < valid; ++q) {
                const T* src = b + (col0 + j + q) * ldb + row0;
                for (index_t p = 0; p < depth; ++p) panel[p * NR + q] = src[p];
            }
            for (index_t q = valid; q < NR; ++q)
                for (index_t p = 0; p < depth; ++p) panel[p * NR + q] = T(0);
        }
    }
}

/// The [rows x cols] corner (rows <= MR, cols <= NR) of C = (or +=) packed A panel x packed B panel over
/// `depth` steps; C's rows are `ldc` apart.
template <class T>
STRATA_KERNEL_TARGET void micro_kernel(index_t depth, const T* ap, const T* bp, T* c, index_t ldc, index_t rows,
                                       index_t cols, bool overwrite) {
    using S = Simd<T>;
    using V = typename S::vec;
    constexpr int MR = S::mr, NV = S::nv, W = S::width, NR = NV * W;
    V acc[MR][NV];
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[i][v] = S::zero();
    for (index_t p = 0; p < depth; ++p) {
        V bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) bv[v] = S::load(bp + v * W);
#pragma GCC unroll 32
        for (int i = 0; i < MR; ++i) {
            const V av = S::set1(ap[i]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[i][v] = S::fmadd(av, bv[v], acc[i][v]);
        }
        ap += MR;
        bp += NR;
    }
    if (rows == MR && cols == NR) {
#pragma GCC unroll 32
        for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) {
                T* dst = c + i * ldc + v * W;
                S::storeu(dst, overwrite ? acc[i][v] : S::add(S::loadu(dst), acc[i][v]));
            }
        return;
    }
    alignas(64) T tile[MR * NR];
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) S::store(tile + i * NR + v * W, acc[i][v]);
    for (index_t i = 0; i < rows; ++i) {
        T* dst = c + i * ldc;
        const T* src = tile + i * NR;
        if (overwrite)
            for (index_t j = 0; j < cols; ++j) dst[j] = src[j];
        else
            for (index_t j = 0; j < cols; ++j) dst[j] += src[j];
    }
}

/// C [m x n] (row-major, rows `ldc` apart) = op(A) op(B), or += when `accumulate`, as in detail::gemm();
/// k >= 1. `packed` holds mc_max * kc_max + kc_max * nc_max elements, 64-byte aligned, the first part for
/// A's block, the second (at `packed_b`) for B's; mc_max is a multiple of Simd<T>::mr, nc_max of its NR.
template <class T>
STRATA_KERNEL_TARGET void gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, const T* a, index_t lda,
                               const T* b, index_t ldb, T* c, index_t ldc, bool accumulate, index_t mc_max,
                               index_t kc_max, index_t nc_max, T* packed_a, T* packed_b) {
    constexpr index_t MR = Simd<T>::mr, NR = Simd<T>::nv * Simd<T>::width;
    for (index_t jc = 0; jc < n; jc += nc_max) {
        const index_t nc = std::min(nc_max, n - jc);
        for (index_t pc = 0; pc < k; pc += kc_max) {
            const index_t kc = std::min(kc_max, k - pc);
            const bool overwrite = pc == 0 && !accumulate;
            pack_b(trans_b, b, ldb, pc, kc, jc, nc, packed_b);
            for (index_t ic = 0; ic < m; ic += mc_max) {
                const index_t mc = std::min(mc_max, m - ic);
                pack_a(trans_a, a, lda, ic, mc, pc, kc, packed_a);
                for (index_t jr = 0; jr < nc; jr += NR) {
                    const index_t cols = std::min(NR, nc - jr);
                    for (index_t ir = 0; ir < mc; ir += MR)
                        micro_kernel(kc, packed_a + ir * kc, packed_b + jr * kc, c + (ic + ir) * ldc + jc + jr, ldc,
                                     std::min(MR, mc - ir), cols, overwrite);
                }
            }
        }
    }
}
