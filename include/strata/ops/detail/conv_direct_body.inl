// The kernels of the direct 3x3 convolution (conv2d_direct.hpp), no include guard on purpose: included once per
// instruction set by gemm_kernels_avx512.hpp and gemm_kernels_avx2.hpp after gemm_kernel_body.inl, inside that
// ISA's namespace, with STRATA_KERNEL_TARGET and Simd<T> defined as for that file.
//
// Both read a sample's zero-padded image [C, Hp, Wp] in place. On the "row grid" (output position q = h * Wp + w,
// h < H, w < Wp, the last Wp - W columns of each row wasted) the input under tap (i, j) of output q is at
// q + i * Wp + j of the channel's plane, so a tap's inputs for consecutive outputs are consecutive: a GEMM over
// the taps reads its B rows straight from the image (no im2col, no packing), and the weight gradient is a dot
// product of contiguous rows.

/// The [rows x NR] tile (rows <= MR, NR = nv * width) of C = (or +=) packed A panel x B over `depth` steps, B's
/// row p being the NR values at base + row_off[p] (unaligned, read in place); C's rows are `ldc` apart.
template <class T>
STRATA_KERNEL_TARGET void micro_kernel_shifted(index_t depth, const T* ap, const T* base, const std::int32_t* row_off,
                                               T* c, index_t ldc, index_t rows, bool overwrite) {
    using S = Simd<T>;
    using V = typename S::vec;
    constexpr int MR = S::mr, NV = S::nv, W = S::width, NR = NV * W;
    V acc[MR][NV];
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[i][v] = S::zero();
    for (index_t p = 0; p < depth; ++p) {
        const T* bp = base + row_off[p];
        V bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) bv[v] = S::loadu(bp + v * W);
#pragma GCC unroll 32
        for (int i = 0; i < MR; ++i) {
            const V av = S::set1(ap[i]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[i][v] = S::fmadd(av, bv[v], acc[i][v]);
        }
        ap += MR;
    }
    if (rows == MR) {
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
    for (index_t i = 0; i < rows; ++i)
        for (index_t j = 0; j < NR; ++j) c[i * ldc + j] = overwrite ? tile[i * NR + j] : c[i * ldc + j] + tile[i * NR + j];
}

/// C [m x n] (rows `ldc` apart; n a multiple of NR) = A B, A [m x k] prepacked by pack_a_rows() with `kc_max`,
/// B's row p the n values at base + row_off[p] (read in place, up to NR - 1 past the last column's window).
/// Blocked like gemm_blocks(): depth blocks of kc_max, row blocks of mc_max, A's block in L2 while the columns
/// go by.
template <class T>
STRATA_KERNEL_TARGET void gemm_shifted(index_t m, index_t n, index_t k, const T* prepacked_a, const T* base,
                                       const std::int32_t* row_off, T* c, index_t ldc, index_t mc_max, index_t kc_max) {
    constexpr index_t MR = Simd<T>::mr, NR = Simd<T>::nv * Simd<T>::width;
    const index_t a_rows = (m + MR - 1) / MR * MR;
    for (index_t pc = 0; pc < k; pc += kc_max) {
        const index_t kc = std::min(kc_max, k - pc);
        for (index_t ic = 0; ic < m; ic += mc_max) {
            const index_t mc = std::min(mc_max, m - ic);
            const T* ap = prepacked_a + pc * a_rows + ic * kc;
            for (index_t jr = 0; jr < n; jr += NR)
                for (index_t ir = 0; ir < mc; ir += MR)
                    micro_kernel_shifted(kc, ap + ir * kc, base + jr, row_off + pc, c + (ic + ir) * ldc + jr, ldc,
                                         std::min(MR, mc - ir), pc == 0);
        }
    }
}

/// Output channels per register tile of conv_weight_grad_taps: 3 x 9 accumulators of the 32 AVX-512 registers;
/// on AVX2's 16, 2 x 5 and then 2 x 4 (one tap vector loaded per 2 FMAs: 1 x 9 loaded one per FMA and ran at
/// half the speed of the forward's kernel).
template <class T>
inline constexpr int weight_grad_rows = sizeof(typename Simd<T>::vec) == 64 ? 3 : 2;

/// conv_weight_grad_taps for the taps [T0, T0 + TN) and R rows of accumulators (rows <= R used).
template <class T, int R, int T0, int TN>
STRATA_KERNEL_TARGET void conv_weight_grad_tile(index_t count, index_t n, const T* dy, index_t ld_dy,
                                                index_t dy_stride, index_t rows, const T* x, index_t x_stride,
                                                const std::int32_t* tap_off, T* dw, index_t ldw) {
    using S = Simd<T>;
    using V = typename S::vec;
    constexpr int W = S::width;
    V acc[R][TN];
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 9
        for (int t = 0; t < TN; ++t) acc[i][t] = S::zero();
    std::int32_t off[TN];
    for (int t = 0; t < TN; ++t) off[t] = tap_off[T0 + t];
    for (index_t s = 0; s < count; ++s) {
        const T* xs = x + s * x_stride;
        const T* ds = dy + s * dy_stride;
        for (index_t q = 0; q < n; q += W) {
            V d[R];
#pragma GCC unroll 4
            for (int i = 0; i < R; ++i) d[i] = S::loadu(ds + (i < rows ? i : 0) * ld_dy + q);
#pragma GCC unroll 9
            for (int t = 0; t < TN; ++t) {
                V xv = S::loadu(xs + off[t] + q);
#if defined(__GNUC__)
                // Keep the tap's vector in a register: GCC otherwise folds its load into each of the R FMAs,
                // and the loads (most across two cache lines) then bound the loop (measured 80 GFLOP/s).
                __asm__("" : "+v"(xv));
#endif
#pragma GCC unroll 4
                for (int i = 0; i < R; ++i) acc[i][t] = S::fmadd(d[i], xv, acc[i][t]);
            }
        }
    }
    alignas(64) T lanes[W];
    for (index_t i = 0; i < rows; ++i)
        for (int t = 0; t < TN; ++t) {
            S::store(lanes, acc[i][t]);
            T sum = T(0);
            for (int l = 0; l < W; ++l) sum += lanes[l];
            dw[i * ldw + T0 + t] += sum;
        }
}

/// dw[i * ldw + t] += sum over the samples s < count and q < n of dy[s * dy_stride + i * ld_dy + q] *
/// x[s * x_stride + tap_off[t] + q], for the rows i < rows (<= weight_grad_rows) and the 9 taps t; n is a
/// multiple of the vector width. The weight gradient of a 3x3 convolution for one input channel (x its padded
/// plane) and a few output channels, over a chunk of samples (dy on the row grid, zero in the wasted columns).
template <class T>
STRATA_KERNEL_TARGET void conv_weight_grad_taps(index_t count, index_t n, const T* dy, index_t ld_dy,
                                                index_t dy_stride, index_t rows, const T* x, index_t x_stride,
                                                const std::int32_t* tap_off, T* dw, index_t ldw) {
    constexpr int R = weight_grad_rows<T>;
    if constexpr (sizeof(typename Simd<T>::vec) == 64) {
        conv_weight_grad_tile<T, R, 0, 9>(count, n, dy, ld_dy, dy_stride, rows, x, x_stride, tap_off, dw, ldw);
    } else {
        conv_weight_grad_tile<T, R, 0, 5>(count, n, dy, ld_dy, dy_stride, rows, x, x_stride, tap_off, dw, ldw);
        conv_weight_grad_tile<T, R, 5, 4>(count, n, dy, ld_dy, dy_stride, rows, x, x_stride, tap_off, dw, ldw);
    }
}
