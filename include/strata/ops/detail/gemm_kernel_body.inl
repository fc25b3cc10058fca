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
            if constexpr (Simd<T>::transposes_a_panels) {
                if (valid == MR) {  // 8 x 8 blocks transposed in registers, the last columns one by one
                    static_assert(MR == 8, "transpose_a_panel handles 8 rows");
                    const T* src = a + (row0 + r) * lda + col0;
                    index_t p = 0;
                    for (; p + 8 <= depth; p += 8) Simd<T>::transpose_a_panel(src + p, lda, panel + p * MR);
                    for (; p < depth; ++p)
                        for (index_t i = 0; i < MR; ++i) panel[p * MR + i] = src[i * lda + p];
                    continue;
                }
            }
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

/// Where the lanes of one vector of a packed B panel come from when op(B) is an OffsetMatrix. Its offsets are
/// separable (row offset + column offset), so the pattern is the same on every depth row of the panel and is
/// worked out once per panel: one contiguous load, a few masked contiguous loads (runs of consecutive
/// offsets, e.g. the output rows of a stride-1 convolution), or a masked gather.
template <class T>
struct LaneSource {
    using S = Simd<T>;
    using V = typename S::vec;
    static constexpr int W = S::width, R = S::max_runs > 0 ? S::max_runs : 1;
    static_assert(S::max_runs == 0 || S::max_runs == 4, "LaneSource::pack_rows handles up to 4 runs");
    enum Kind { empty, contiguous, runs, gather } kind = empty;
    std::int32_t first = 0;  ///< contiguous: the offset of lane 0
    int run_count = 0;
    std::int32_t run_shift[R] = {};  ///< runs: lane l of run r reads row[run_shift[r] + l]
    typename S::lane_mask run_mask[R];
    typename S::index_vec index;  ///< gather: the offsets, 0 past `valid` lanes
    typename S::lane_mask valid;

    /// Plans a vector whose first `n` lanes (0 <= n <= W) read offsets off[0 .. n); the others are zero.
    STRATA_KERNEL_TARGET void plan(const std::int32_t* off, int n) {
        if (n == 0) {
            kind = empty;
            return;
        }
        int breaks = 0;
        for (int l = 1; l < n; ++l) breaks += off[l] != off[l - 1] + 1;
        if (n == W && breaks == 0) {
            kind = contiguous;
            first = off[0];
            return;
        }
        if constexpr (S::max_runs > 0) {
            if (breaks < S::max_runs) {
                kind = runs;
                run_count = 0;
                int start = 0;
                for (int l = 1; l <= n; ++l)
                    if (l == n || off[l] != off[l - 1] + 1) {
                        run_mask[run_count] = S::lanes(start, l);
                        run_shift[run_count] = off[start] - start;
                        ++run_count;
                        start = l;
                    }
                return;
            }
        }
        kind = gather;
        std::int32_t lanes[W];
        for (int l = 0; l < W; ++l) lanes[l] = l < n ? off[l] : 0;
        index = S::load_index(lanes);
        valid = S::lanes(0, n);
    }

    /// Fills this vector's place in `depth` rows of a packed panel: out[p * stride ...] = its lanes of row p
    /// (at base + row_off[p]). The kind, and the number of runs, is decided once for all rows.
    STRATA_KERNEL_TARGET void pack_rows(const T* base, const std::int32_t* row_off, index_t depth, T* out,
                                        index_t stride) const {
        switch (kind) {
            case contiguous:
                for (index_t p = 0; p < depth; ++p) S::store(out + p * stride, S::loadu(base + row_off[p] + first));
                return;
            case runs:
                if constexpr (S::max_runs == 4) {
                    switch (run_count) {
                        case 1: return pack_runs<1>(base, row_off, depth, out, stride);
                        case 2: return pack_runs<2>(base, row_off, depth, out, stride);
                        case 3: return pack_runs<3>(base, row_off, depth, out, stride);
                        default: return pack_runs<4>(base, row_off, depth, out, stride);
                    }
                }
                return;
            case gather:
                for (index_t p = 0; p < depth; ++p)
                    S::store(out + p * stride, S::gather(base + row_off[p], index, valid));
                return;
            default:
                for (index_t p = 0; p < depth; ++p) S::store(out + p * stride, S::zero());
        }
    }

private:
    /// pack_rows for `Count` runs: independent zero-masked loads or-ed together (their lanes are disjoint).
    /// Merging each run into the vector loaded so far made a chain of dependent loads, the packing's bottleneck
    /// on 7x7 maps.
    template <int Count>
    STRATA_KERNEL_TARGET void pack_runs(const T* base, const std::int32_t* row_off, index_t depth, T* out,
                                        index_t stride) const {
        typename S::lane_mask mask[Count];
        std::int32_t shift[Count];
        for (int r = 0; r < Count; ++r) {
            mask[r] = run_mask[r];
            shift[r] = run_shift[r];
        }
        for (index_t p = 0; p < depth; ++p) {
            const T* row = base + row_off[p];
            V v = S::load_lanes(mask[0], row + shift[0]);
#pragma GCC unroll 4
            for (int r = 1; r < Count; ++r) v = S::merge(v, S::load_lanes(mask[r], row + shift[r]));
            S::store(out + p * stride, v);
        }
    }
};

/// pack_b() for op(B) given by offsets: op(B)[row0 .. row0+depth, col0 .. col0+cols] into panels of NR
/// columns (columns past the end are zero).
template <class T>
STRATA_KERNEL_TARGET void pack_b_offsets(const OffsetMatrix<T>& b, index_t row0, index_t depth, index_t col0,
                                         index_t cols, T* out) {
    using S = Simd<T>;
    constexpr index_t W = S::width, NV = S::nv, NR = NV * W;
    for (index_t j = 0; j < cols; j += NR) {
        T* panel = out + j * depth;
        LaneSource<T> lanes[NV];
#pragma GCC unroll 4
        for (index_t v = 0; v < NV; ++v) {
            const index_t first = j + v * W;
            const index_t n = std::max<index_t>(0, std::min<index_t>(W, cols - first));
            lanes[v].plan(b.col_off + col0 + std::min(first, cols), static_cast<int>(n));
        }
        for (index_t v = 0; v < NV; ++v) lanes[v].pack_rows(b.base, b.row_off + row0, depth, panel + v * W, NR);
    }
}

/// The B operands gemm_blocks() packs: a dense row-major matrix (or its transpose), or an OffsetMatrix.
template <class T>
struct DenseB {
    bool trans;
    const T* b;
    index_t ldb;
    STRATA_KERNEL_TARGET void pack(index_t row0, index_t depth, index_t col0, index_t cols, T* out) const {
        pack_b(trans, b, ldb, row0, depth, col0, cols, out);
    }
};

template <class T>
struct OffsetB {
    const OffsetMatrix<T>& b;
    STRATA_KERNEL_TARGET void pack(index_t row0, index_t depth, index_t col0, index_t cols, T* out) const {
        pack_b_offsets(b, row0, depth, col0, cols, out);
    }
};

/// Packs rows [row0, row0 + rows) of op(A) [m x k] (row0 a multiple of MR) into their place in the layout
/// of a whole prepacked A, for products that share it (pack_a's panels, depth block after depth block of
/// kc_max): the block of depth block pc and row block ic is at out + pc * roundup(m, MR) + ic * kc. The whole
/// of `out` holds roundup(m, MR) * k elements; slices of rows can be packed by different threads.
template <class T>
STRATA_KERNEL_TARGET void pack_a_rows(bool trans, const T* a, index_t lda, index_t m, index_t k, index_t kc_max,
                                      index_t row0, index_t rows, T* out) {
    constexpr index_t MR = Simd<T>::mr;
    const index_t a_rows = (m + MR - 1) / MR * MR;
    for (index_t pc = 0; pc < k; pc += kc_max) {
        const index_t kc = std::min(kc_max, k - pc);
        pack_a(trans, a, lda, row0, rows, pc, kc, out + pc * a_rows + row0 * kc);
    }
}

/// The blocked product behind gemm() and gemm_offsets(): C [m x n] = (or +=) op(A) op(B), with op(A) either
/// packed here block by block (`prepacked_a` null) or taken from a `prepacked_a` filled by pack_a_rows() (with
/// the same kc_max), and op(B)'s blocks packed by `b`.
template <class T, class PackB>
STRATA_KERNEL_TARGET void gemm_blocks(bool trans_a, index_t m, index_t n, index_t k, const T* a, index_t lda,
                                      const T* prepacked_a, const PackB& b, T* c, index_t ldc, bool accumulate,
                                      index_t mc_max, index_t kc_max, index_t nc_max, T* packed_a, T* packed_b) {
    constexpr index_t MR = Simd<T>::mr, NR = Simd<T>::nv * Simd<T>::width;
    const index_t a_rows = (m + MR - 1) / MR * MR;
    for (index_t jc = 0; jc < n; jc += nc_max) {
        const index_t nc = std::min(nc_max, n - jc);
        for (index_t pc = 0; pc < k; pc += kc_max) {
            const index_t kc = std::min(kc_max, k - pc);
            const bool overwrite = pc == 0 && !accumulate;
            b.pack(pc, kc, jc, nc, packed_b);
            for (index_t ic = 0; ic < m; ic += mc_max) {
                const index_t mc = std::min(mc_max, m - ic);
                const T* ap = packed_a;
                if (prepacked_a) ap = prepacked_a + pc * a_rows + ic * kc;
                else pack_a(trans_a, a, lda, ic, mc, pc, kc, packed_a);
                for (index_t jr = 0; jr < nc; jr += NR) {
                    const index_t cols = std::min(NR, nc - jr);
                    for (index_t ir = 0; ir < mc; ir += MR)
                        micro_kernel(kc, ap + ir * kc, packed_b + jr * kc, c + (ic + ir) * ldc + jc + jr, ldc,
                                     std::min(MR, mc - ir), cols, overwrite);
                }
            }
        }
    }
}

/// C [m x n] (row-major, rows `ldc` apart) = op(A) op(B), or += when `accumulate`, as in detail::gemm();
/// k >= 1. `packed` holds mc_max * kc_max + kc_max * nc_max elements, 64-byte aligned, the first part for
/// A's block, the second (at `packed_b`) for B's; mc_max is a multiple of Simd<T>::mr, nc_max of its NR.
template <class T>
STRATA_KERNEL_TARGET void gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, const T* a, index_t lda,
                               const T* b, index_t ldb, T* c, index_t ldc, bool accumulate, index_t mc_max,
                               index_t kc_max, index_t nc_max, T* packed_a, T* packed_b) {
    gemm_blocks(trans_a, m, n, k, a, lda, static_cast<const T*>(nullptr), DenseB<T>{trans_b, b, ldb}, c, ldc,
                accumulate, mc_max, kc_max, nc_max, packed_a, packed_b);
}

/// C [m x n] = (or +=) op(A) B with B [k x n] an OffsetMatrix, and op(A) [m x k] either prepacked by
/// pack_a_rows() (same kc_max; `a` unused) or, when `prepacked_a` is null, packed here from `a` block by block
/// into `packed_a`; k >= 1. `packed_b` holds kc_max * nc_max elements, 64-byte aligned.
template <class T>
STRATA_KERNEL_TARGET void gemm_offsets(bool trans_a, index_t m, index_t n, index_t k, const T* a, index_t lda,
                                       const T* prepacked_a, const OffsetMatrix<T>& b, T* c, index_t ldc,
                                       bool accumulate, index_t mc_max, index_t kc_max, index_t nc_max, T* packed_a,
                                       T* packed_b) {
    gemm_blocks(trans_a, m, n, k, a, lda, prepacked_a, OffsetB<T>{b}, c, ldc, accumulate, mc_max, kc_max, nc_max,
                packed_a, packed_b);
}

/// C [m x n] = (or +=) A op(B), A [m x k] prepacked by pack_a_rows() (same kc_max), op(B) dense as in gemm();
/// k >= 1.
template <class T>
STRATA_KERNEL_TARGET void gemm_prepacked_a(index_t m, index_t n, index_t k, const T* prepacked_a, bool trans_b,
                                           const T* b, index_t ldb, T* c, index_t ldc, bool accumulate, index_t mc_max,
                                           index_t kc_max, index_t nc_max, T* packed_b) {
    gemm_blocks(false, m, n, k, static_cast<const T*>(nullptr), 0, prepacked_a, DenseB<T>{trans_b, b, ldb}, c, ldc,
                accumulate, mc_max, kc_max, nc_max, static_cast<T*>(nullptr), packed_b);
}
