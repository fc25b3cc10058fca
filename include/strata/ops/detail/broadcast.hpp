#pragma once
/// @file
/// NumPy-style broadcasting of two shapes, and a loop over the broadcast elements with each operand's offset.

#include <array>

#include "strata/core/shape.hpp"

namespace strata::detail {

/// The broadcast of two shapes: dimensions aligned from the right, each pair equal or one of them 1.
struct Broadcast {
    Shape out;
    int rank = 0;
    std::array<index_t, Shape::max_rank> dims{};
    std::array<index_t, Shape::max_rank> stride_a{};  ///< 0 where a is broadcast
    std::array<index_t, Shape::max_rank> stride_b{};

    /// Plans the broadcast of `a` and `b`; throws ShapeError naming `op` and both shapes when they do not fit.
    Broadcast(const Shape& a, const Shape& b, const char* op) {
        rank = a.rank() > b.rank() ? a.rank() : b.rank();
        std::array<index_t, Shape::max_rank> da{}, db{};
        for (int i = 0; i < rank; ++i) {
            const int ia = i - (rank - a.rank()), ib = i - (rank - b.rank());
            da[static_cast<std::size_t>(i)] = ia >= 0 ? a[ia] : 1;
            db[static_cast<std::size_t>(i)] = ib >= 0 ? b[ib] : 1;
            const index_t x = da[static_cast<std::size_t>(i)], y = db[static_cast<std::size_t>(i)];
            check<ShapeError>(x == y || x == 1 || y == 1, op, ": shapes ", a, " and ", b,
                              " cannot be broadcast together (dimension ", i, ": ", x, " vs ", y, ")");
            dims[static_cast<std::size_t>(i)] = x == 1 ? y : x;
        }
        out = Shape(dims.begin(), dims.begin() + rank);
        index_t sa = 1, sb = 1;
        for (int i = rank - 1; i >= 0; --i) {
            const auto u = static_cast<std::size_t>(i);
            stride_a[u] = da[u] == 1 ? 0 : sa;
            stride_b[u] = db[u] == 1 ? 0 : sb;
            sa *= da[u];
            sb *= db[u];
        }
    }

    /// Calls f(i_out, i_a, i_b) for every output element in row-major order.
    template <class F>
    void for_each(F&& f) const {
        const index_t total = out.numel();
        if (total == 0) return;
        if (rank == 0) {
            f(index_t{0}, index_t{0}, index_t{0});
            return;
        }
        const auto last = static_cast<std::size_t>(rank - 1);
        const index_t inner = dims[last], sa = stride_a[last], sb = stride_b[last];
        std::array<index_t, Shape::max_rank> idx{};
        index_t oa = 0, ob = 0;
        for (index_t o = 0; o < total; o += inner) {
            for (index_t j = 0; j < inner; ++j) f(o + j, oa + j * sa, ob + j * sb);
            // advance the outer multi-index (all dimensions but the last)
            for (int d = rank - 2; d >= 0; --d) {
                const auto u = static_cast<std::size_t>(d);
                oa += stride_a[u];
                ob += stride_b[u];
                if (++idx[u] < dims[u]) break;
                oa -= stride_a[u] * dims[u];
                ob -= stride_b[u] * dims[u];
                idx[u] = 0;
            }
        }
    }
};

}  // namespace strata::detail
