#pragma once
/// @file
/// Shape: the dimensions of a tensor, up to Shape::max_rank of them, stored inline (no heap).

#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>

#include "strata/core/error.hpp"

namespace strata {

/// Index and size type used throughout strata.
using index_t = std::int64_t;

/// The dimensions of a row-major tensor, e.g. {N, C, H, W}. Rank 0 is a scalar with one element.
class Shape {
public:
    /// The largest rank a Shape can hold.
    static constexpr int max_rank = 6;

    /// A scalar shape (rank 0, one element).
    Shape() = default;

    /// A shape from its dimensions; throws ArgumentError on a negative dimension or more than max_rank.
    /// @throws ArgumentError on a negative dimension or more than max_rank dimensions.
    Shape(std::initializer_list<index_t> dims) { assign(dims.begin(), dims.end()); }

    /// A shape from any iterator range of dimensions.
    /// @throws ArgumentError on a negative dimension or more than max_rank dimensions.
    template <class It>
    Shape(It first, It last) {
        assign(first, last);
    }

    /// Number of dimensions.
    int rank() const { return rank_; }

    /// Dimension `i`; negative `i` counts from the end (-1 is the last). Throws ArgumentError out of range.
    /// @throws ArgumentError when `i` is outside [-rank(), rank()).
    index_t operator[](int i) const {
        const int j = i < 0 ? i + rank_ : i;
        check<ArgumentError>(j >= 0 && j < rank_, "dimension index ", i, " out of range for shape ", *this);
        return dims_[static_cast<std::size_t>(j)];
    }

    /// Product of the dimensions (1 for a scalar).
    index_t numel() const {
        index_t n = 1;
        for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
        return n;
    }

    /// Pointer to the dimensions (rank() of them).
    const index_t* begin() const { return dims_.data(); }
    /// One past the last dimension.
    const index_t* end() const { return dims_.data() + rank_; }

    /// "[2, 3, 4]".
    std::string to_string() const {
        std::string s = "[";
        for (int i = 0; i < rank_; ++i) {
            if (i) s += ", ";
            s += std::to_string(dims_[static_cast<std::size_t>(i)]);
        }
        return s + "]";
    }

    friend bool operator==(const Shape& a, const Shape& b) {
        if (a.rank_ != b.rank_) return false;
        for (int i = 0; i < a.rank_; ++i)
            if (a.dims_[static_cast<std::size_t>(i)] != b.dims_[static_cast<std::size_t>(i)]) return false;
        return true;
    }
    friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }
    friend std::ostream& operator<<(std::ostream& out, const Shape& s) { return out << s.to_string(); }

private:
    template <class It>
    void assign(It first, It last) {
        rank_ = 0;
        for (; first != last; ++first) {
            check<ArgumentError>(rank_ < max_rank, "shape has more than ", max_rank, " dimensions");
            const auto d = static_cast<index_t>(*first);
            check<ArgumentError>(d >= 0, "negative dimension ", d, " in shape");
            dims_[static_cast<std::size_t>(rank_++)] = d;
        }
    }

    std::array<index_t, max_rank> dims_{};
    int rank_ = 0;
};

/// Throws ShapeError naming `what` and both shapes unless `actual == expected`.
/// @throws ShapeError "<what>: expected shape [..], got [..]" when the shapes differ.
inline void check_shape(const Shape& actual, const Shape& expected, const char* what) {
    check<ShapeError>(actual == expected, what, ": expected shape ", expected, ", got ", actual);
}

}  // namespace strata
