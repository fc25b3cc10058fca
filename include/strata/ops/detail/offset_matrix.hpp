#pragma once
/// @file
/// A matrix operand given by offsets instead of a leading dimension: element (p, q) at
/// base[row_off[p] + col_off[q]]. A convolution's unfolded input (the im2col matrix) is one, read straight
/// from the (padded) image: row p = (channel, kernel tap) gives the tap's offset in the image, column
/// q = (sample, output position) the window's corner. The packed GEMM kernels pack such an operand directly
/// (detail::gemm_offsets), so the column matrix never has to be written out.

#include <cstdint>

namespace strata::detail {

/// op(B)[p][q] = base[row_off[p] + col_off[q]]; the offsets are element counts, each sum a valid index.
template <class T>
struct OffsetMatrix {
    const T* base = nullptr;
    const std::int32_t* row_off = nullptr;  ///< [rows]
    const std::int32_t* col_off = nullptr;  ///< [cols]
};

}  // namespace strata::detail
