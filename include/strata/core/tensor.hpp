#pragma once
/// @file
/// Tensor<T>: an owning, contiguous, 64-byte aligned, row-major array (NCHW for images), and TensorView<T>, a
/// non-owning view of the same layout. Both expose Eigen maps for arithmetic.

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <type_traits>

#include "strata/core/aligned.hpp"
#include "strata/core/error.hpp"
#include "strata/core/random.hpp"
#include "strata/core/shape.hpp"

namespace strata {

/// Row-major Eigen matrix of T.
template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
/// Map of a row-major matrix over tensor memory (const-ness follows T).
template <class T>
using MatrixMap = Eigen::Map<std::conditional_t<std::is_const_v<T>, const RowMatrix<std::remove_const_t<T>>,
                                                RowMatrix<std::remove_const_t<T>>>>;
/// Map of a flat coefficient-wise array over tensor memory (const-ness follows T).
template <class T>
using ArrayMap = Eigen::Map<std::conditional_t<std::is_const_v<T>,
                                               const Eigen::Array<std::remove_const_t<T>, Eigen::Dynamic, 1>,
                                               Eigen::Array<std::remove_const_t<T>, Eigen::Dynamic, 1>>>;

/// A non-owning view of contiguous row-major memory with a shape. `T` may be const.
template <class T>
class TensorView {
public:
    TensorView() = default;
    /// A view of `shape.numel()` elements at `data`.
    TensorView(T* data, const Shape& shape) : data_(data), shape_(shape) {}
    /// A const view from a mutable one.
    template <class U, class = std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>>>
    TensorView(const TensorView<U>& other) : data_(other.data()), shape_(other.shape()) {}

    T* data() const { return data_; }
    const Shape& shape() const { return shape_; }
    index_t numel() const { return shape_.numel(); }
    /// Dimension `i` (negative counts from the end).
    /// @throws ArgumentError when `i` is outside [-rank, rank).
    index_t dim(int i) const { return shape_[i]; }
    /// Element `i` of the flat row-major storage.
    T& operator[](index_t i) const { return data_[i]; }

    /// The elements as a flat Eigen array.
    ArrayMap<T> array() const { return ArrayMap<T>(data_, numel()); }
    /// The elements as a rows x cols row-major matrix; throws ShapeError unless rows * cols == numel().
    /// @throws ShapeError when rows * cols != numel(), naming the shape.
    MatrixMap<T> matrix(index_t rows, index_t cols) const {
        check<ShapeError>(rows * cols == numel(), "cannot view tensor of shape ", shape_, " as a ", rows, "x",
                          cols, " matrix");
        return MatrixMap<T>(data_, rows, cols);
    }
    /// The tensor as a matrix with dim(0) rows (a rank-1 tensor is one row).
    MatrixMap<T> matrix() const {
        const index_t rows = shape_.rank() >= 2 ? shape_[0] : 1;
        return matrix(rows, rows == 0 ? 0 : numel() / rows);
    }

private:
    T* data_ = nullptr;
    Shape shape_;
};

namespace detail {

/// A number no other tensor storage of this process has had (never 0).
inline std::uint64_t new_storage_id() {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace detail

/// An owning, contiguous, 64-byte aligned, row-major tensor of float or double.
///
/// Copies are explicit (`clone()`); moves are cheap. New tensors are zero-filled.
///
/// Every tensor carries a (storage_id(), version()) stamp: the storage id is unique to the allocation, and the
/// version counts the calls of the mutable accessors (non-const data(), operator[], at(), view(), array(),
/// matrix(), and fill, copy_from, reshape). Whatever is derived from the elements and kept (the packed weights
/// of ConvWeightCache) is still valid while the stamp is unchanged. A write through a pointer or view kept from
/// earlier is not seen: take the pointer again, or call mark_modified() after such a write.
template <class T>
class Tensor {
    static_assert(std::is_floating_point_v<T>, "Tensor<T> needs a floating-point T (float or double)");

public:
    using value_type = T;

    /// An empty tensor (rank 0 shape but no storage; numel() is 0).
    Tensor() = default;
    /// A zero-filled tensor of the given shape.
    explicit Tensor(const Shape& shape) : Tensor(shape, T(0)) {}
    /// A tensor of the given shape filled with `value`.
    Tensor(const Shape& shape, T value) : shape_(shape), size_(shape.numel()), storage_id_(detail::new_storage_id()) {
        data_ = detail::make_aligned_buffer<T>(static_cast<std::size_t>(size_));
        std::fill_n(data_.get(), size_, value);
    }
    /// A tensor of the given shape with the given elements in row-major order; throws ShapeError on a count
    /// mismatch.
    /// @throws ShapeError when the number of values differs from shape.numel().
    Tensor(const Shape& shape, std::initializer_list<T> values) : Tensor(shape) {
        check<ShapeError>(static_cast<index_t>(values.size()) == size_, "tensor of shape ", shape, " needs ",
                          size_, " values, got ", values.size());
        std::copy(values.begin(), values.end(), data_.get());
    }
    /// A copy of a view's elements.
    static Tensor from(TensorView<const T> view) {
        Tensor t(view.shape());
        std::copy_n(view.data(), t.size_, t.data_.get());
        return t;
    }

    /// Takes `other`'s storage and stamp; `other` is left empty.
    Tensor(Tensor&& other) noexcept { swap(other); }
    /// Takes `other`'s storage and stamp; `other` is left empty.
    Tensor& operator=(Tensor&& other) noexcept {
        Tensor taken(std::move(other));
        swap(taken);
        return *this;
    }
    Tensor(const Tensor&) = delete;
    Tensor& operator=(const Tensor&) = delete;

    /// An explicit deep copy.
    Tensor clone() const { return from(view()); }

    const Shape& shape() const { return shape_; }
    index_t numel() const { return size_; }
    /// Dimension `i` (negative counts from the end).
    /// @throws ArgumentError when `i` is outside [-rank(), rank()).
    index_t dim(int i) const { return shape_[i]; }
    int rank() const { return shape_.rank(); }
    bool empty() const { return size_ == 0; }

    /// The elements, writable: counts as a change (version() goes up).
    T* data() {
        touch();
        return data_.get();
    }
    const T* data() const { return data_.get(); }
    T& operator[](index_t i) {
        touch();
        return data_[static_cast<std::size_t>(i)];
    }
    const T& operator[](index_t i) const { return data_[static_cast<std::size_t>(i)]; }

    /// Element at a multi-index, bounds-checked (for tests and tools, not inner loops).
    /// @throws ShapeError when the index has the wrong rank or an index is out of range, naming the shape.
    template <class... I>
    T& at(I... idx) {
        touch();
        return data_[static_cast<std::size_t>(offset({static_cast<index_t>(idx)...}))];
    }
    template <class... I>
    const T& at(I... idx) const {
        return data_[static_cast<std::size_t>(offset({static_cast<index_t>(idx)...}))];
    }

    TensorView<T> view() { return {data(), shape_}; }
    TensorView<const T> view() const { return {data(), shape_}; }

    /// The storage's process-unique id (0 for a default-constructed tensor); kept by moves, new for clone().
    std::uint64_t storage_id() const { return storage_id_; }
    /// How many times the elements may have been changed through this tensor's mutable accessors.
    std::uint64_t version() const { return version_.load(std::memory_order_relaxed); }
    /// Counts as a change (version() goes up): call it after writing through a pointer or view kept from earlier.
    void mark_modified() { touch(); }
    ArrayMap<T> array() { return view().array(); }
    ArrayMap<const T> array() const { return view().array(); }
    MatrixMap<T> matrix(index_t rows, index_t cols) { return view().matrix(rows, cols); }
    MatrixMap<const T> matrix(index_t rows, index_t cols) const { return view().matrix(rows, cols); }
    MatrixMap<T> matrix() { return view().matrix(); }
    MatrixMap<const T> matrix() const { return view().matrix(); }

    /// Same elements, new shape; throws ShapeError if the element counts differ.
    /// @throws ShapeError when shape.numel() differs from numel(), naming both shapes.
    Tensor& reshape(const Shape& shape) {
        check<ShapeError>(shape.numel() == size_, "cannot reshape tensor of shape ", shape_, " to ", shape);
        shape_ = shape;
        touch();
        return *this;
    }

    /// Sets every element to `value`.
    Tensor& fill(T value) {
        touch();
        std::fill_n(data_.get(), size_, value);
        return *this;
    }
    /// Fills with normal deviates N(mean, stddev^2) from `gen`.
    Tensor& fill_normal(Generator& gen, double mean = 0.0, double stddev = 1.0) {
        touch();
        for (index_t i = 0; i < size_; ++i) data_[static_cast<std::size_t>(i)] = static_cast<T>(gen.normal(mean, stddev));
        return *this;
    }
    /// Fills with uniform deviates in [lo, hi) from `gen`.
    Tensor& fill_uniform(Generator& gen, double lo = 0.0, double hi = 1.0) {
        touch();
        for (index_t i = 0; i < size_; ++i) data_[static_cast<std::size_t>(i)] = static_cast<T>(gen.uniform(lo, hi));
        return *this;
    }
    /// Copies the elements of `src` (same shape required; throws ShapeError naming both shapes).
    /// @throws ShapeError when the shapes differ, naming both.
    Tensor& copy_from(TensorView<const T> src) {
        check_shape(src.shape(), shape_, "Tensor::copy_from");
        touch();
        std::copy_n(src.data(), size_, data_.get());
        return *this;
    }

    /// A copy converted to another element type.
    template <class U>
    Tensor<U> cast() const {
        Tensor<U> out(shape_);
        for (index_t i = 0; i < size_; ++i) out[i] = static_cast<U>((*this)[i]);
        return out;
    }

private:
    // A relaxed atomic load and store (plain moves, no locked instruction): several threads reading one tensor
    // through mutable accessors is then no data race, and the version still moves on.
    void touch() { version_.store(version_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
    void swap(Tensor& other) noexcept {
        std::swap(shape_, other.shape_);
        std::swap(size_, other.size_);
        std::swap(data_, other.data_);
        std::swap(storage_id_, other.storage_id_);
        const std::uint64_t mine = version_.load(std::memory_order_relaxed);
        version_.store(other.version_.load(std::memory_order_relaxed), std::memory_order_relaxed);
        other.version_.store(mine, std::memory_order_relaxed);
    }

    index_t offset(std::initializer_list<index_t> idx) const {
        check<ShapeError>(static_cast<int>(idx.size()) == shape_.rank(), "index of rank ", idx.size(),
                          " into tensor of shape ", shape_);
        index_t off = 0;
        int d = 0;
        for (index_t i : idx) {
            check<ShapeError>(i >= 0 && i < shape_[d], "index ", i, " out of range in dimension ", d,
                              " of shape ", shape_);
            off = off * shape_[d++] + i;
        }
        return off;
    }

    Shape shape_;
    index_t size_ = 0;
    detail::AlignedBuffer<T> data_;
    std::uint64_t storage_id_ = 0;
    std::atomic<std::uint64_t> version_{0};
};

}  // namespace strata
